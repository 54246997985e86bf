//! The faults over TLS: the proxy cuts, resets and stalls the encrypted byte stream in the
//! middle of the handshake and in the middle of TLS records carrying MQTT packets. A broken
//! handshake is a clean `ConnectError` (never a verification verdict, never a panic or a
//! hang), and the next handshake succeeds; a record cut mid-stream is a transport error, and
//! the persistent session resumes over a new handshake with nothing lost or doubled.

use std::time::{Duration, Instant};

use embedded_mqtts::host::TcpTransport;
use embedded_mqtts::time::StdClock;
use embedded_mqtts::tls::write_buffer_for;
use embedded_mqtts::tls::{
    ConnectError, Pin, PinnedProvider, TlsOptions, TlsSocket, TlsStream, ValidityTime, READ_BUFFER,
};
use embedded_mqtts::{blocking, Connection, QoS};

use super::proxy::{Direction, Fault, Proxy};
use super::support::{read_cert, unix_now, Broker, TlsListener};
use super::traffic::{assert_complete, dial, PubStorage, Publisher, Subscriber};

/// The certificate the broker serves (leaf and intermediate), and the CA the client pins.
pub(super) const SERVED: &str = "rsa-leaf";
pub(super) const CA: &str = "rsa-root.der";

/// Our publisher's client over TLS.
type TlsClient<'c, 'b, 'a> = blocking::Client<'c, 'b, TlsStream<'a, TcpTransport>, StdClock>;

/// Mosquitto with a plain listener (for the subscriber) and a TLS one serving [`SERVED`].
pub(super) fn tls_broker() -> Broker {
    Broker::start(super::stream_broker().tls(TlsListener::serving(SERVED)))
}

/// One TLS connection to 127.0.0.1:`port` (the broker verified against [`CA`]), with `work`
/// done on a client over it if the handshake succeeded. `read_timeout` bounds each read of
/// the socket during the handshake (a host's way to bound a stalled one; the MQTT client's
/// own waits take over afterwards).
// ConnectError carries the verifier's facts inline (no heap on the device side).
#[allow(clippy::result_large_err)]
fn over_tls<R>(
    port: u16,
    conn: &mut Connection<'_>,
    read_timeout: Option<Duration>,
    work: impl FnOnce(&mut TlsClient<'_, '_, '_>) -> R,
) -> Result<R, ConnectError> {
    let transport = dial(port);
    transport
        .stream()
        .set_read_timeout(read_timeout)
        .expect("set the read timeout");
    let socket = TlsSocket::new(transport);
    let mut read_buffer = vec![0; READ_BUFFER];
    let mut write_buffer = vec![0; write_buffer_for(4096)];
    let ca = read_cert(CA);
    let cas = [ca.as_slice()];
    let pins = [Pin::Ca(&cas)];
    let mut provider = PinnedProvider::new(rand_core::OsRng, &pins);
    let stream = TlsStream::connect(
        &socket,
        &mut read_buffer,
        &mut write_buffer,
        &TlsOptions::new("localhost", ValidityTime::UnixSeconds(unix_now())),
        &mut provider,
    )?;
    let mut client = blocking::Client::new(stream, conn, StdClock::new());
    Ok(work(&mut client))
}

#[test]
fn a_tls_handshake_cut_reset_or_stalled_is_a_clean_error_and_the_next_succeeds() {
    let broker = tls_broker();
    let proxy = Proxy::start(broker.tls_port(SERVED));
    let faults = [
        // Inside the ClientHello.
        Fault::Cut {
            direction: Direction::ToBroker,
            after: 10,
        },
        Fault::Reset {
            direction: Direction::ToBroker,
            after: 100,
        },
        // Inside the ServerHello, then inside the broker's Certificate record.
        Fault::Cut {
            direction: Direction::ToClient,
            after: 50,
        },
        Fault::Reset {
            direction: Direction::ToClient,
            after: 1_000,
        },
        Fault::Cut {
            direction: Direction::ToClient,
            after: 1_500,
        },
        // Nothing more after part of the Certificate: the read timeout ends the wait.
        Fault::Stall {
            direction: Direction::ToClient,
            after: 700,
        },
    ];
    proxy.plan(move |n| faults.get(n).copied().unwrap_or(Fault::None));
    let mut storage = PubStorage::new();
    let mut conn = Connection::new(storage.buffers());
    for fault in faults {
        let started = Instant::now();
        let outcome = over_tls(
            proxy.port(),
            &mut conn,
            Some(Duration::from_secs(1)),
            |_| (),
        );
        let took = started.elapsed();
        let error = match outcome {
            Err(e) => e,
            Ok(()) => panic!("the handshake survived {fault:?}"),
        };
        println!("TLS handshake with {fault:?}: {error} after {took:?}");
        assert!(
            matches!(error, ConnectError::Tls(_)),
            "{fault:?}: a broken link is not a verdict on the certificate: {error:?}"
        );
        let line = error.to_string();
        assert!(!line.contains('\n'), "{line}");
        // Each says what happened to the link. (A reset may reach the client as the end of
        // the stream, depending on what the kernel had already delivered.)
        let said = match fault {
            Fault::Cut { .. } => line.contains("connection closed"),
            Fault::Reset { .. } => line.contains("ConnectionReset") || line.contains("closed"),
            _ => line.contains("TimedOut"),
        };
        assert!(said, "{fault:?}: {line}");
        assert!(took < Duration::from_secs(3), "{fault:?} took {took:?}");
    }
    let published = over_tls(proxy.port(), &mut conn, None, |client| {
        let mut publisher =
            Publisher::new("tls-handshake", "faults/tls-handshake", QoS::AtLeastOnce, 1);
        assert!(publisher.run(client, &mut |_| {}), "MQTT after the faults");
        publisher.finish()
    })
    .expect("the next handshake succeeds");
    assert_eq!(published.delivered, 1);
    assert_eq!(proxy.fired().len(), faults.len());
}

#[test]
fn tls_records_cut_and_reset_mid_stream_lose_nothing() {
    const COUNT: usize = 300;
    let broker = tls_broker();
    let proxy = Proxy::start(broker.tls_port(SERVED));
    // Past the handshake (under 1 KB towards the broker, about 4 KB towards us with the
    // RSA chain), so that each lands inside a record of MQTT traffic.
    let faults = [
        Fault::Reset {
            direction: Direction::ToBroker,
            after: 4_000,
        },
        Fault::Cut {
            direction: Direction::ToClient,
            after: 5_500,
        },
        Fault::Cut {
            direction: Direction::ToBroker,
            after: 7_001,
        },
        Fault::Reset {
            direction: Direction::ToClient,
            after: 6_003,
        },
    ];
    proxy.plan(move |n| faults.get(n).copied().unwrap_or(Fault::None));
    let sub = Subscriber::spawn(
        broker.port(),
        "sub-tls",
        "faults/tls",
        QoS::ExactlyOnce,
        COUNT,
    );
    let mut storage = Box::new(PubStorage::new());
    let mut conn = Connection::new(storage.buffers());
    let mut publisher = Publisher::new("pub-tls", "faults/tls", QoS::ExactlyOnce, COUNT);
    let mut handshakes_failed = Vec::new();
    let published = loop {
        publisher.check_deadline();
        match over_tls(proxy.port(), &mut conn, None, |client| {
            publisher.run(client, &mut |_| {})
        }) {
            Ok(true) => break publisher.finish(),
            Ok(false) => {}
            Err(e) => {
                assert!(matches!(e, ConnectError::Tls(_)), "{e:?}");
                handshakes_failed.push(e.to_string());
            }
        }
    };
    let received = sub.finish();
    println!(
        "tls: {COUNT} messages at ExactlyOnce; faults {:?}; publisher sessions {}, failures \
         {:?}, resent {}, handshakes failed {handshakes_failed:?}; received {} distinct, {} \
         duplicates",
        proxy.fired().iter().map(|f| f.fault).collect::<Vec<_>>(),
        published.sessions,
        published.failures,
        published.resent,
        COUNT - received.missing().len(),
        received.duplicates(),
    );
    assert_eq!(proxy.fired().len(), faults.len(), "every fault fired");
    let failures = format!("{:?}", published.failures);
    assert!(
        !failures.contains("InvalidData"),
        "a cut link is reported as a cut link: {failures}"
    );
    assert!(
        published.sessions > faults.len() - handshakes_failed.len(),
        "the faults ended MQTT sessions"
    );
    assert_complete(QoS::ExactlyOnce, COUNT, &published, &received, &conn);
}
