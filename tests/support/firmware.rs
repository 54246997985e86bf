//! Firmware for the emulated Cortex-M4 (`examples/<folder>`), built for the QEMU tests.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use super::without_package_env;

/// The firmwares' Rust target.
const TARGET: &str = "thumbv7em-none-eabihf";

/// Builds the firmware in `examples/<folder>` (release, its own target directory, without
/// the variables of this `cargo test`; see `support::without_package_env`) and returns its
/// ELF. Panics with cargo's output if the build fails.
pub fn build_firmware(folder: &str, binary: &str) -> PathBuf {
    build_firmware_variant(folder, binary, None, &[])
}

/// As [`build_firmware`], with build-time variables `env` (such as `QEMU_MPS2_CA`), in the
/// target directory `target/firmware/<folder>-<variant>` of this crate so that it does not
/// rebuild the default one back and forth.
///
/// The variant's directory is never inside the folder's own `target`: cargo creates a missing
/// target directory by renaming a fresh temporary one into place, and a build of the default
/// firmware starting at the same moment (tests run in parallel) would replace a `target` that
/// a nested variant's cargo had just created its own temporary directory in.
pub fn build_firmware_variant(
    folder: &str,
    binary: &str,
    variant: Option<&str>,
    env: &[(&str, &str)],
) -> PathBuf {
    let qemu = Command::new("qemu-system-arm").arg("--version").output();
    assert!(
        qemu.is_ok_and(|out| out.status.success()),
        "qemu-system-arm is not installed: run scripts/setup.sh (Debian package qemu-system-arm)"
    );
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(folder);
    let target_dir = match variant {
        Some(variant) => Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("target")
            .join("firmware")
            .join(format!("{folder}-{variant}")),
        None => dir.join("target"),
    };
    let mut build = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    build
        .args(["build", "--release"])
        .current_dir(&dir)
        .env("CARGO_TARGET_DIR", &target_dir)
        .env_remove("BROKER_CA") // the default pin: the test CA
        .env_remove("CARGO_BUILD_TARGET")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .envs(env.iter().copied())
        .stdin(Stdio::null());
    without_package_env(&mut build);
    let started = Instant::now();
    let out = build.output().expect("run cargo to build the firmware");
    assert!(
        out.status.success(),
        "building the firmware in {} failed ({}); is the target installed \
         (rustup target add {TARGET})?\n{}",
        dir.display(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let elf = target_dir.join(TARGET).join("release").join(binary);
    assert!(elf.is_file(), "the build made no {}", elf.display());
    eprintln!(
        "{folder} built in {:.1} s: {}",
        started.elapsed().as_secs_f64(),
        elf.display()
    );
    elf
}

/// Waits for an emulator (`child`, started at `started`) to exit, at most `timeout` from its
/// start; then kills it and returns `None`.
pub fn wait_or_kill(child: &mut Child, started: Instant, timeout: Duration) -> Option<ExitStatus> {
    loop {
        if let Some(status) = child.try_wait().expect("wait for qemu-system-arm") {
            return Some(status);
        }
        if started.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        thread::sleep(Duration::from_millis(10));
    }
}
