//! The crate's examples as programs for the tests (examples have no `CARGO_BIN_EXE_*`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

/// Builds `examples/NAME.rs` (feature `std`, the test's own profile) once per test process and
/// returns its path: `target/<profile>/examples/NAME`.
pub fn example_binary(name: &str) -> PathBuf {
    static BUILT: Mutex<Option<HashMap<String, PathBuf>>> = Mutex::new(None);
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    let built = built.get_or_insert_with(HashMap::new);
    if let Some(path) = built.get(name) {
        return path.clone();
    }
    let exe = std::env::current_exe().expect("path of the test binary");
    // target/<profile>/deps/<test>-<hash>
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("the test binary is in target/<profile>/deps");
    let mut build = Command::new(env!("CARGO"));
    build
        .args(["build", "--example", name, "--features", "std"])
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    // `cargo test` gives this process the package's own variables (CARGO_MANIFEST_DIR,
    // CARGO_PKG_*, ...). Build scripts that watch them (ring's does) would see a change and
    // rebuild half the tree, ~30 s inside some test's time-out, instead of finding the
    // example `cargo test` has already built.
    without_package_env(&mut build);
    if profile_dir.file_name().is_some_and(|p| p == "release") {
        build.arg("--release");
    }
    let status = build.status().expect("run cargo build");
    assert!(status.success(), "cargo build --example {name} failed");
    let path = profile_dir.join("examples").join(name);
    built.insert(name.to_owned(), path.clone());
    path
}

/// Removes from `command`'s environment the variables cargo set for this package's test run
/// (see [`example_binary`] for why), so that a `cargo build` it runs sees only the user's.
pub fn without_package_env(command: &mut Command) {
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        if is_package_variable(&key) {
            command.env_remove(&*key);
        }
    }
}

/// A variable cargo sets for a package's own build or test run, not one the user set for cargo.
fn is_package_variable(key: &str) -> bool {
    const PREFIXES: [&str; 5] = [
        "CARGO_MANIFEST_",
        "CARGO_PKG_",
        "CARGO_CRATE_",
        "CARGO_BIN_",
        "CARGO_PRIMARY_PACKAGE",
    ];
    key == "CARGO_TARGET_TMPDIR" || PREFIXES.iter().any(|p| key.starts_with(p))
}

/// Runs example `name` with `args` and no stdin; returns (success, stdout, stderr).
pub fn run_example(name: &str, args: &[&str]) -> (bool, String, String) {
    let output = Command::new(example_binary(name))
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("run {name}: {e}"));
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}
