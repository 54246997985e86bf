//! Runs the x509-limbo path-validation cases against the verifier.
//!
//! `cargo run --release --example limbo -- PATH.json`
//!
//! Prints one line per disagreement (case id, expected result, the verifier's answer), then as
//! its last line `limbo: A agree, D disagree, F false-accepts, S skipped` (skipped: CLIENT
//! validation and CRL cases only). Exits with status 1 when any FAILURE case was accepted.

#[path = "limbo/harness.rs"]
mod harness;

fn main() {
    let Some(path) = std::env::args_os().nth(1) else {
        eprintln!("usage: limbo PATH.json");
        std::process::exit(2);
    };
    match harness::run(std::path::Path::new(&path)) {
        Ok(summary) => {
            for line in &summary.disagreements {
                println!("{line}");
            }
            println!("{}", summary.line());
            if summary.false_accepts > 0 {
                std::process::exit(1);
            }
        }
        Err(e) => {
            eprintln!("limbo: {e}");
            std::process::exit(2);
        }
    }
}
