//! The README's demo (run it with `bash scripts/demo.sh`, which starts the brokers).
//!
//! Connects to a Mosquitto over TLS 1.3 with the test CA pinned, subscribes, publishes a QoS 1
//! message to itself and receives it; then connects to an impostor broker whose certificate has
//! the right names but comes from another CA, and shows that it is refused, and why.
//!
//! `cargo run --features std --example demo -- --port P --impostor-port Q --cafile certs/rsa-root.crt`

// `ConnectError` carries the refusal's facts inline (no heap on the device side).
#![allow(clippy::result_large_err)]

use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use embedded_mqtts::host::TcpTransport;
use embedded_mqtts::time::StdClock;
use embedded_mqtts::tls::{
    pem_to_der, ConnectError, Pin, PinnedProvider, TlsOptions, TlsSocket, TlsStream, ValidityTime,
    READ_BUFFER,
};
use embedded_mqtts::{blocking, ConnectOptions, Connection, Event, QoS, Storage};

struct Args {
    port: u16,
    impostor_port: u16,
    cafile: String,
}

fn parse_args() -> Result<Args, String> {
    let mut port = None;
    let mut impostor_port = None;
    let mut cafile = String::from("certs/rsa-root.crt");
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--port" => port = Some(value()?.parse().map_err(|e| format!("--port: {e}"))?),
            "--impostor-port" => {
                impostor_port = Some(
                    value()?
                        .parse()
                        .map_err(|e| format!("--impostor-port: {e}"))?,
                )
            }
            "--cafile" => cafile = value()?,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(Args {
        port: port.ok_or("--port is required (scripts/demo.sh starts the brokers)")?,
        impostor_port: impostor_port.ok_or("--impostor-port is required")?,
        cafile,
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// One TLS connection over `socket` to a broker that must prove it is "localhost", its
/// certificates checked at the clock's time of this handshake.
fn open<'a>(
    socket: &'a TlsSocket<TcpTransport>,
    read_buffer: &'a mut [u8],
    write_buffer: &'a mut [u8],
    provider: &mut PinnedProvider<'_, rand_core::OsRng>,
) -> Result<TlsStream<'a, TcpTransport>, ConnectError> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let options = TlsOptions::new("localhost", ValidityTime::UnixSeconds(now));
    TlsStream::connect(socket, read_buffer, write_buffer, &options, provider)
}

fn run(args: &Args) -> Result<(), String> {
    let pem = std::fs::read(&args.cafile).map_err(|e| format!("{}: {e}", args.cafile))?;
    let mut der_buffer = [0u8; 4096];
    let ca = pem_to_der(&pem, &mut der_buffer).map_err(|e| format!("{}: {e}", args.cafile))?;
    let cas = [ca];
    let pins = [Pin::Ca(&cas)];
    let mut provider = PinnedProvider::new(rand_core::OsRng, &pins);
    let mut read_buffer = vec![0u8; READ_BUFFER];
    let mut write_buffer = vec![0u8; 4096];

    println!(
        "1. The real broker, 127.0.0.1:{} — pinned CA: {}",
        args.port, args.cafile
    );
    let socket =
        TlsSocket::new(TcpTransport::connect(("127.0.0.1", args.port)).map_err(|e| e.to_string())?);
    let started = Instant::now();
    let stream = open(&socket, &mut read_buffer, &mut write_buffer, &mut provider)
        .map_err(|e| format!("connecting to the real broker failed: {e}"))?;
    println!(
        "   TLS 1.3 handshake done in {:.1} ms; chain verified up to the pinned CA, host name \
         'localhost' matched, CertificateVerify checked",
        started.elapsed().as_secs_f64() * 1000.0
    );
    println!(
        "   broker key SPKI SHA-256: {}",
        hex(&stream.verified().leaf_spki_sha256())
    );

    let mut storage: Box<Storage<8, 4096, 4096, 4096>> = Box::default();
    let mut conn = Connection::new(storage.buffers());
    let mut client = blocking::Client::new(stream, &mut conn, StdClock::new());
    let connected = client
        .connect(&ConnectOptions::new("embedded-mqtts-demo"))
        .map_err(|e| format!("CONNECT: {e}"))?;
    println!(
        "   CONNACK: accepted (session present: {})",
        connected.session_present
    );
    client
        .subscribe(&[("demo/#", QoS::AtLeastOnce)])
        .map_err(|e| format!("SUBSCRIBE: {e}"))?;
    let payload = b"hello from embedded-mqtts, over a verified TLS 1.3 link";
    let pid = client
        .publish("demo/hello", payload, QoS::AtLeastOnce, false)
        .map_err(|e| format!("PUBLISH: {e}"))?;
    println!(
        "   SUBSCRIBE demo/#, PUBLISH demo/hello (QoS 1, packet id {})",
        pid.unwrap_or(0)
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    let (mut delivered, mut received) = (false, false);
    while !(delivered && received) {
        if Instant::now() > deadline {
            return Err("no message within 10 s".into());
        }
        match client.wait_event(100).map_err(|e| e.to_string())? {
            Some(Event::Subscribed { granted, .. }) => {
                println!(
                    "   SUBACK: granted {:?}",
                    granted.iter().collect::<Vec<_>>()
                )
            }
            Some(Event::Delivered { pid }) => {
                println!("   PUBACK for packet id {pid}: the broker has it");
                delivered = true;
            }
            Some(Event::Message(m)) => {
                println!(
                    "   received on '{}': \"{}\"",
                    m.topic,
                    String::from_utf8_lossy(m.payload)
                );
                received = true;
            }
            _ => {}
        }
    }
    client.disconnect().map_err(|e| e.to_string())?;
    client.into_transport().close().map_err(|e| e.to_string())?;
    println!("   DISCONNECT\n");

    println!(
        "2. The impostor, 127.0.0.1:{} — same names (localhost, 127.0.0.1), another CA",
        args.impostor_port
    );
    let socket = TlsSocket::new(
        TcpTransport::connect(("127.0.0.1", args.impostor_port)).map_err(|e| e.to_string())?,
    );
    match open(&socket, &mut read_buffer, &mut write_buffer, &mut provider) {
        Ok(_) => Err("the impostor was accepted: this must never happen".into()),
        Err(ConnectError::Verify(reason)) => {
            println!("   refused before any MQTT byte was sent: {reason}");
            Ok(())
        }
        Err(other) => Err(format!("the impostor failed for another reason: {other}")),
    }
}

fn main() -> ExitCode {
    let result = parse_args().and_then(|args| run(&args));
    match result {
        Ok(()) => {
            println!("\nDemo complete: the pinned broker talked, the impostor did not.");
            ExitCode::SUCCESS
        }
        Err(reason) => {
            eprintln!("demo: {reason}");
            ExitCode::FAILURE
        }
    }
}
