//! The P-256 fast path of thumbv7em (`src/tls/cortex_m4_p256.rs` on p256-cm4's assembly)
//! against RustCrypto's `p256`, on an emulated Cortex-M4: the firmware in `examples/p256-diff`
//! (QEMU `mps2-an386`) compares both backends on Wycheproof's ECDSA P-256 (SHA-256) and ECDH
//! secp256r1 vectors and on random inputs, and exits 0 only if they agree on every one (and
//! with Wycheproof). Any disagreement is printed by the firmware and fails this test.
//!
//! Needs `qemu-system-arm` and the Rust target `thumbv7em-none-eabihf`, like `tests/qemu.rs`.
//! About 15 s of emulation after the build.

mod support;

use std::io::Read;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// How long the run may take before it is killed and the test fails.
const RUN_TIMEOUT: Duration = Duration::from_secs(180);

/// The counts the firmware must report: every vector of both Wycheproof files (484 ECDSA
/// P-256 SHA-256, 355 ECDH secp256r1 SEC1 point), so that an empty table cannot pass.
const PASS_LINE: &str = "p256-diff: PASS ecdsa_vectors=484 ecdh_vectors=355 random_rounds=";

#[test]
fn cortex_m4_p256_agrees_with_rustcrypto_on_wycheproof_and_random_inputs() {
    let elf = support::build_firmware("p256-diff", "p256-diff");
    let started = Instant::now();
    let mut child = Command::new("qemu-system-arm")
        .args(["-M", "mps2-an386", "-nographic", "-monitor", "none"])
        .args(["-semihosting-config", "enable=on,target=native"])
        .arg("-kernel")
        .arg(&elf)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run qemu-system-arm");
    let mut stdout = child.stdout.take().expect("piped stdout");
    let reader = thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });
    let status = support::wait_or_kill(&mut child, started, RUN_TIMEOUT);
    let output = reader.join().unwrap_or_default();
    eprintln!(
        "--- qemu: {status:?} after {:.1} s ---\n{output}",
        started.elapsed().as_secs_f64()
    );
    let mismatches: Vec<&str> = output
        .lines()
        .filter(|line| line.contains("MISMATCH"))
        .collect();
    assert!(
        mismatches.is_empty(),
        "the backends disagree:\n{}",
        mismatches.join("\n")
    );
    assert_eq!(
        status.and_then(|s| s.code()),
        Some(0),
        "the firmware failed: {:?}",
        support::console::failure(&output, "p256-diff: FAIL: ")
    );
    assert!(output.contains(PASS_LINE), "{output}");
}
