//! `mqtt`: a command-line MQTT 3.1.1 client on embedded-mqtts, with the flags of
//! `mosquitto_pub` and `mosquitto_sub`, so that people and scripts who know those tools can
//! use it at once.
//!
//! ```text
//! mqtt sub -h broker -t 'sensors/#' -v -q 1
//! mqtt pub -h broker -t sensors/42/cmd -m ping -q 2
//! seq 100 | mqtt pub -t counter -l -q 1 --reconnect
//! ```
//!
//! `mqtt pub --help` and `mqtt sub --help` list the options. The work is done by the blocking
//! client over any `embedded_io` transport ([`link::OverTransport`]); [`open_transport`] is
//! the one place that makes the transport (TCP, or TLS 1.3 over TCP with `--cafile`,
//! `--pin-cert` or `--pin-spki`).
//!
//! Run with `cargo run --features std --example mqtt -- sub -t '#' -v`.

#[path = "mqtt/args.rs"]
mod args;
#[path = "mqtt/failure.rs"]
mod failure;
#[path = "mqtt/link.rs"]
mod link;
#[path = "mqtt/packet_log.rs"]
mod packet_log;
#[path = "mqtt/publish.rs"]
mod publish;
#[path = "mqtt/subscribe.rs"]
mod subscribe;
#[path = "mqtt/tls.rs"]
mod tls;

use std::io::Write as _;
use std::process::ExitCode;
use std::time::Duration;

use embedded_mqtts::host::TcpTransport;

use args::{Command, ConnectionArgs, UsageError};
use failure::Failure;
use link::OverTransport;

/// `--reconnect` gives up after this many attempts in a row without an accepted connection.
const RECONNECT_TRIES: u32 = 5;
/// The pause before the first reconnect attempt; it doubles with each attempt.
const FIRST_PAUSE: Duration = Duration::from_secs(1);

fn main() -> ExitCode {
    let words: Result<Vec<String>, _> = std::env::args_os()
        .skip(1)
        .map(|arg| arg.into_string())
        .collect();
    let result = match words {
        Ok(words) => run(words),
        Err(arg) => Err(Failure::Usage(UsageError {
            reason: format!("argument {arg:?} is not valid UTF-8"),
            command: "mqtt",
        })),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("mqtt: {failure}");
            ExitCode::from(failure.exit_status())
        }
    }
}

fn run(words: Vec<String>) -> Result<(), Failure> {
    match args::parse(words)? {
        Command::Help(text) => {
            // `mqtt --help | head` closes the pipe early: that is not a failure.
            let _ = writeln!(std::io::stdout(), "{text}");
            Ok(())
        }
        Command::Publish(args) => {
            let mut job = publish::Publisher::new(&args)?;
            run_with_reconnect(&args.connection, &mut job)
        }
        Command::Subscribe(args) => {
            let mut job = subscribe::Subscriber::new(&args);
            run_with_reconnect(&args.connection, &mut job)
        }
    }
}

/// Run `job` over a new connection; with `--reconnect`, open another after a connection
/// loss, pausing 1 s and doubling, and give up after [`RECONNECT_TRIES`] attempts in a row
/// that did not get a connection accepted.
fn run_with_reconnect(args: &ConnectionArgs, job: &mut impl OverTransport) -> Result<(), Failure> {
    let mut tries = 0;
    let mut pause = FIRST_PAUSE;
    let mut accepted = job.accepted_connections();
    loop {
        let failure = match open_transport(args, job) {
            Ok(()) => return Ok(()),
            Err(failure) if args.reconnect && failure.is_connection_loss() => failure,
            Err(failure) => return Err(failure),
        };
        if job.accepted_connections() > accepted {
            // The last connection worked for a while: this is a new loss, not a streak.
            accepted = job.accepted_connections();
            tries = 0;
            pause = FIRST_PAUSE;
        }
        if tries == RECONNECT_TRIES {
            return Err(Failure::GaveUp {
                tries,
                last: Box::new(failure),
            });
        }
        tries += 1;
        eprintln!(
            "mqtt: {failure}; reconnecting in {} s (attempt {tries} of {RECONNECT_TRIES})",
            pause.as_secs()
        );
        std::thread::sleep(pause);
        pause *= 2;
    }
}

/// Open a connection to the broker and run `job` over it: the one place that knows which
/// transport is used. The job is passed in (rather than the transport returned) so that a
/// transport borrowing buffers from this stack frame, as a TLS stream does, can be used.
fn open_transport(args: &ConnectionArgs, job: &mut impl OverTransport) -> Result<(), Failure> {
    let port = args.port();
    let transport = TcpTransport::connect((args.host.as_str(), port)).map_err(|error| {
        Failure::Unreachable {
            address: format!("{}:{port}", args.host),
            error,
        }
    })?;
    match &args.tls {
        Some(tls) => tls::run_over_tls(args, tls, transport, job),
        None => job.run(transport),
    }
}
