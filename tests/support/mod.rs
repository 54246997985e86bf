//! Test support shared by the integration tests: a real Mosquitto broker per test, an
//! independent MQTT client (Debian's `mosquitto_sub` / `mosquitto_pub`) to check what our
//! client sends and to send it messages, and paths to the test PKI in `certs/`.
//!
//! Include it with `mod support;` at the top of a file in `tests/`. Each test file is its own
//! crate and uses only part of this module, hence the `dead_code` and `unused_imports` allowance.
//!
//! Needs `mosquitto`, `mosquitto-clients`, coreutils' `stdbuf` and (optionally) `openssl`:
//! `scripts/setup.sh` installs them on Debian, and amqtt (from PyPI, for `second_broker`) in a
//! venv under `~/.cache/embedded-mqtts/`.
#![allow(dead_code, unused_imports, unused_macros)]

mod broker;
mod certs;
pub mod console;
#[macro_use]
mod drivers;
mod examples;
mod executor;
mod firmware;
mod held_writes;
mod host_client;
pub mod rustls_server;
pub mod second_broker;
mod seen;
mod stops_writing;

pub use broker::{Broker, BrokerConfig, TlsListener};
pub use certs::{cert_path, certs_dir, read_cert};
pub use drivers::{
    async_driver, blocking_driver, dial, events_for, events_until, expect_suback,
    leaked_connection, messages, tcp_transport, vanish, Driver, Received, TestStorage,
};
pub use examples::{example_binary, run_example, without_package_env};
pub use executor::{block_on, idle, Idle};
pub use firmware::{build_firmware, build_firmware_variant, wait_or_kill};
pub use held_writes::{HeldWrites, ResetSwitch};
pub use host_client::{publish, publish_tls, try_publish, Message, Subscriber};
pub use rustls_server::{
    BadSignature, ClientAnswer, Misbehaviour, Omitted, RustlsServer, ServerReport,
};
pub use second_broker::SecondBroker;
pub use seen::{own, Seen};
pub use stops_writing::{StopsWriting, WriteBudget};

use std::path::PathBuf;

/// Where the program `name` is: `/usr/sbin`, `/usr/bin` (Debian's mosquitto packages) or PATH.
/// Panics with a hint to run `scripts/setup.sh` if it is nowhere.
fn find_program(name: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    ["/usr/sbin", "/usr/bin"]
        .into_iter()
        .map(PathBuf::from)
        .chain(std::env::split_paths(&path))
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| panic!("{name} is not installed (run scripts/setup.sh)"))
}

/// The wall-clock time in UNIX seconds: the time certificates are checked at.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_secs()
}
