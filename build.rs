//! Sets `cfg(p256_cm4)`, the switch of `src/tls/cortex_m4_p256.rs`: P-256 goes through the
//! Cortex-M4 assembly of `p256-cm4` on `thumbv7em-none-eabi[hf]` (Cortex-M4/M7, which have
//! the DSP instructions it uses), unless the `portable-p256` feature asks for RustCrypto's
//! `p256` there too. Cargo.toml makes `p256-cm4` a dependency of the same targets.

fn main() {
    println!("cargo:rustc-check-cfg=cfg(p256_cm4)");
    println!("cargo:rerun-if-changed=build.rs");
    let target = std::env::var("TARGET").unwrap_or_default();
    let thumbv7em = target == "thumbv7em-none-eabi" || target == "thumbv7em-none-eabihf";
    if thumbv7em && std::env::var_os("CARGO_FEATURE_PORTABLE_P256").is_none() {
        println!("cargo:rustc-cfg=p256_cm4");
    }
}
