//! Paths to the test PKI made by `certs/make.sh` (see `certs/README.md` for the list).

use std::path::{Path, PathBuf};

/// The `certs/` directory of this crate.
pub fn certs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("certs")
}

/// The path of a file in `certs/`, e.g. `cert_path("rsa-root.crt")` or
/// `cert_path("seed/m2mqtt_srv.der")`. An absolute path is returned unchanged.
pub fn cert_path(name: &str) -> PathBuf {
    certs_dir().join(name)
}

/// The bytes of a file in `certs/` (PEM or DER, as named). Panics with the path if it is missing.
pub fn read_cert(name: &str) -> Vec<u8> {
    let path = cert_path(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}
