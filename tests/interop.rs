//! The pub/sub scenarios of `tests/clients.rs` against a second, independently written broker:
//! amqtt (an MQTT 3.1.1 broker in Python, from PyPI; `tests/support/second_broker.rs` starts
//! it), over TLS 1.3 with the broker's CA pinned, through the blocking and the async client.
//! Our client is both the publisher and the subscriber; `mosquitto_sub` / `mosquitto_pub`
//! check one exchange from a client we did not write.
//!
//! Where amqtt legitimately differs from Mosquitto the tests accept both, citing the MQTT 3.1.1
//! section that allows it; the broker's own packet log (`SecondBroker::packet_log`) backs the
//! assertions on what it sent.

// VerifyError carries its facts inline (no heap on the device side).
#![allow(clippy::result_large_err)]

#[macro_use]
mod support;

use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant as StdInstant};

use embedded_mqtts::host::TcpTransport;
use embedded_mqtts::session::Granted;
use embedded_mqtts::tls::{
    write_buffer_for, Pin, PinnedProvider, TlsOptions, TlsSocket, ValidityTime, READ_BUFFER,
};
use embedded_mqtts::{ConnectOptions, Error, QoS, Will};
use support::{
    dial, leaked_connection, messages, read_cert, tcp_transport, unix_now, SecondBroker, Seen,
    Subscriber,
};

/// The largest packet we send (the `TX` of [`support::TestStorage`]).
const TX: usize = 4096;

/// The certificate the TLS scenarios are served, and the CA they pin.
const SERVED: &str = "rsa-leaf";
const CA: &str = "rsa-root.der";

/// How a client reaches the broker.
#[derive(Clone, Copy, Debug)]
enum Link {
    /// Plain MQTT on the broker's `default` listener.
    Plain,
    /// TLS 1.3 to the listener serving the certificate `served`, pinning the CA file `ca`.
    Tls {
        served: &'static str,
        ca: &'static str,
    },
}

const TLS: Link = Link::Tls {
    served: SERVED,
    ca: CA,
};

/// The QoS amqtt 0.12 delivers a message with: the subscription's, whatever the publisher
/// chose (`Broker._run_broadcast` uses the subscription's QoS when the message has none of its
/// own, and a PUBLISH never gives one). MQTT 3.1.1 section 3.8.4 says the minimum of the two
/// [MQTT-3.8.4-6], which is what Mosquitto sends: a QoS 0 message to a QoS 2 subscription goes
/// out as QoS 2 from amqtt, as QoS 0 from Mosquitto. A spec violation, and harmless to our
/// client, which completes whatever flow the broker starts. (Retained messages sent on
/// subscription and wills do not take this path.)
fn amqtt_delivery_qos(_published: QoS, granted: QoS) -> QoS {
    granted
}

/// A leaked buffer: the TLS stream and the client borrow it for the rest of the test.
fn leaked_buffer(len: usize) -> &'static mut [u8] {
    vec![0; len].leak()
}

/// Drops `client` and its TCP connection without DISCONNECT (the broker sees it vanish).
fn vanish<C>(client: C, tcp: TcpStream) {
    drop(client);
    let _ = tcp.shutdown(Shutdown::Both);
}

fn delivered(seen: &[Seen]) -> Vec<u16> {
    let mut pids: Vec<u16> = seen
        .iter()
        .filter_map(|s| match s {
            Seen::Delivered(pid) => Some(*pid),
            _ => None,
        })
        .collect();
    pids.sort_unstable();
    pids
}

both_drivers! {
    /// A client of `broker` over TLS to the listener serving `served`, pinning the CA file `ca`
    /// (the handshake is done, not yet MQTT-connected), and its TCP socket (to vanish). The
    /// socket, buffers and connection are leaked: a test makes a handful.
    fn tls_client(
        broker: &SecondBroker,
        served: &str,
        ca: &str,
    ) -> (Client<'static, 'static, Tls<'static>>, TcpStream) {
        let (transport, tcp) = tcp_transport(broker.tls_port(served));
        let ca_der: &'static [u8] = read_cert(ca).leak();
        let cas = [ca_der];
        let pins = [Pin::Ca(&cas)];
        let mut provider = PinnedProvider::new(rand_core::OsRng, &pins);
        let socket: &'static TlsSocket<TcpTransport> =
            Box::leak(Box::new(TlsSocket::new(transport)));
        let stream = call!(Tls::connect(
            socket,
            leaked_buffer(READ_BUFFER),
            leaked_buffer(write_buffer_for(TX)),
            &TlsOptions::new("localhost", ValidityTime::UnixSeconds(unix_now())),
            &mut provider,
        ))
        .unwrap_or_else(|e| panic!("TLS handshake with amqtt: {e}"));
        (client(stream, leaked_connection()), tcp)
    }

    /// Publishes and waits until the broker acknowledged it (QoS 1 and 2).
    fn publish_acked<T: Transport>(
        c: &mut Client<'_, '_, T>,
        topic: &str,
        payload: &[u8],
        qos: QoS,
        retain: bool,
    ) {
        let pid = call!(c.publish(topic, payload, qos, retain)).unwrap();
        if let Some(pid) = pid {
            collect_until!(c, |s| s.contains(&Seen::Delivered(pid)));
        }
    }

    /// QoS 0, 1 and 2 from one of our clients to another through amqtt.
    #[test]
    fn pubsub_at_every_qos() {
        pubsub_over(TLS);
    }

    /// [`pubsub_at_every_qos`] over `link`.
    pub(super) fn pubsub_over(link: Link) {
        let broker = SecondBroker::start(&[SERVED, "p256-leaf"]);
        match link {
            Link::Plain => pubsub_through(|| client(dial(broker.port()), leaked_connection())),
            Link::Tls { served, ca } => pubsub_through(|| tls_client(&broker, served, ca).0),
        }
    }

    /// The exchange of [`pubsub_at_every_qos`] between two clients from `new_client`.
    fn pubsub_through<T: Transport>(mut new_client: impl FnMut() -> Client<'static, 'static, T>) {
        let mut sub = new_client();
        let mut publisher = new_client();
        let connected = call!(sub.connect(&ConnectOptions::new("sub"))).unwrap();
        assert!(!connected.session_present);
        call!(publisher.connect(&ConnectOptions::new("pub"))).unwrap();
        subscribe!(sub, "t/#", QoS::ExactlyOnce);

        let mut acked = Vec::new();
        for (i, qos) in [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce]
            .into_iter()
            .enumerate()
        {
            let payload = format!("message {i}");
            if let Some(pid) =
                call!(publisher.publish(&format!("t/{i}"), payload.as_bytes(), qos, false)).unwrap()
            {
                acked.push(pid);
            }
        }
        let seen = collect_until!(publisher, |s| delivered(s).len() == 2);
        acked.sort_unstable();
        assert_eq!(delivered(&seen), acked);
        let mut got = messages(&collect_until!(sub, |s| messages(s).len() == 3));
        // Three topics: MQTT 3.1.1 section 4.6 orders messages per topic (and per QoS), not
        // across topics, and the QoS 1 and QoS 2 flows may finish in either order.
        got.sort();
        let granted = QoS::ExactlyOnce;
        assert_eq!(
            got,
            vec![
                (
                    "t/0".into(),
                    b"message 0".to_vec(),
                    amqtt_delivery_qos(QoS::AtMostOnce, granted),
                    false
                ),
                (
                    "t/1".into(),
                    b"message 1".to_vec(),
                    amqtt_delivery_qos(QoS::AtLeastOnce, granted),
                    false
                ),
                (
                    "t/2".into(),
                    b"message 2".to_vec(),
                    amqtt_delivery_qos(QoS::ExactlyOnce, granted),
                    false
                ),
            ]
        );
        // Nothing arrives twice.
        assert_eq!(messages(&collect_for!(sub, Duration::from_millis(300))), []);
        call!(sub.disconnect()).unwrap();
        call!(publisher.disconnect()).unwrap();
    }

    #[test]
    fn retained_message_reaches_a_later_subscriber() {
        let broker = SecondBroker::start(&[SERVED]);
        // Subscribed before the retained message is published: it gets it as a live message.
        let mut early = tls_client(&broker, SERVED, CA).0;
        call!(early.connect(&ConnectOptions::new("early"))).unwrap();
        subscribe!(early, "state/#", QoS::AtLeastOnce);

        let mut publisher = tls_client(&broker, SERVED, CA).0;
        call!(publisher.connect(&ConnectOptions::new("pub"))).unwrap();
        publish_acked(
            &mut publisher,
            "state/door",
            b"open",
            QoS::AtLeastOnce,
            true,
        );

        // MQTT 3.1.1 section 3.3.1.3: a message sent because it matches an established
        // subscription goes out with RETAIN 0, whatever the publisher set.
        let live = collect_until!(early, |s| !messages(s).is_empty());
        assert_eq!(
            messages(&live),
            vec![(
                "state/door".into(),
                b"open".to_vec(),
                QoS::AtLeastOnce,
                false
            )]
        );

        // A later subscriber gets the stored message at once, with RETAIN 1 (section 3.3.1.3),
        // at the minimum of its QoS and the subscription's (section 3.8.4).
        let stored = |qos| ("state/door".to_owned(), b"open".to_vec(), qos, true);
        let mut late = tls_client(&broker, SERVED, CA).0;
        call!(late.connect(&ConnectOptions::new("late"))).unwrap();
        let pid = call!(late.subscribe(&[("state/+", QoS::AtLeastOnce)])).unwrap();
        let got = collect_until!(late, |s| {
            s.contains(&Seen::Subscribed(pid, vec![Granted::Qos(QoS::AtLeastOnce)]))
                && messages(s).contains(&stored(QoS::AtLeastOnce))
        });
        let mut got = messages(&got);
        got.extend(messages(&collect_for!(late, Duration::from_millis(300))));
        // amqtt 0.12 also sends it once more, with QoS 0, right after CONNACK, before this client
        // subscribed to anything: on every CONNECT, `Broker._handle_client_session` sends the
        // retained messages matching *any* client's subscription (here `early`'s `state/#`) to the new
        // client. Its packet log shows `late -out-> PublishPacket(... flags=1 ...
        // topic=state/door, packet_id=None)` before `late <-in-- SubscribePacket`. MQTT 3.1.1
        // sends a message only to clients with a matching subscription (sections 3.3.5 and
        // 4.5 [MQTT-4.5.0-1]): a violation. Our client delivers it like any other message.
        assert_eq!(got, vec![stored(QoS::AtMostOnce), stored(QoS::AtLeastOnce)]);
        // In amqtt's log: one QoS 0 copy (flags=1: RETAIN, QoS 0) and one QoS 1 copy (flags=3).
        let is_sent = |line: &String| line.starts_with("late -out-> PublishPacket");
        let sent: Vec<String> = broker
            .packet_log_when(|log| log.iter().filter(|l| is_sent(l)).count() >= 2)
            .into_iter()
            .filter(is_sent)
            .collect();
        assert_eq!(sent.len(), 2, "{sent:#?}");
        assert!(
            sent[0].contains("flags=1,") && sent[1].contains("flags=3,"),
            "{sent:#?}"
        );

        // An empty retained message clears it (section 3.3.1.3): the next subscriber gets nothing.
        publish_acked(&mut publisher, "state/door", b"", QoS::AtLeastOnce, true);
        let mut after = tls_client(&broker, SERVED, CA).0;
        call!(after.connect(&ConnectOptions::new("after"))).unwrap();
        subscribe!(after, "state/+", QoS::AtLeastOnce);
        assert_eq!(
            messages(&collect_for!(after, Duration::from_millis(500))),
            []
        );
        for mut c in [early, publisher, late, after] {
            call!(c.disconnect()).unwrap();
        }
    }

    #[test]
    fn will_is_published_when_the_client_vanishes() {
        let broker = SecondBroker::start(&[SERVED]);
        let mut watcher = tls_client(&broker, SERVED, CA).0;
        call!(watcher.connect(&ConnectOptions::new("watcher"))).unwrap();
        subscribe!(watcher, "status/+", QoS::AtLeastOnce);

        let will = |payload: &'static [u8]| Will {
            topic: "status/dev",
            payload,
            qos: QoS::AtLeastOnce,
            retain: false,
        };
        // A client that says DISCONNECT leaves no will (sections 3.1.2.5 and 3.14.4).
        let mut polite = tls_client(&broker, SERVED, CA).0;
        let mut options = ConnectOptions::new("polite");
        options.will = Some(will(b"polite went away"));
        call!(polite.connect(&options)).unwrap();
        call!(polite.disconnect()).unwrap();

        let (mut device, tcp) = tls_client(&broker, SERVED, CA);
        let mut options = ConnectOptions::new("dev");
        options.will = Some(will(b"offline"));
        call!(device.connect(&options)).unwrap();
        vanish(device, tcp);

        let got = collect_until!(watcher, |s| !messages(s).is_empty());
        let more = collect_for!(watcher, Duration::from_millis(500));
        let mut all = messages(&got);
        all.extend(messages(&more));
        assert_eq!(
            all,
            vec![(
                "status/dev".into(),
                b"offline".to_vec(),
                QoS::AtLeastOnce,
                false
            )]
        );
        call!(watcher.disconnect()).unwrap();
    }

    #[test]
    fn persistent_session_gets_what_was_queued_while_offline() {
        // amqtt keeps sessions only for clients it did not let in anonymously: see
        // `anonymous_persistent_session_is_dropped_by_amqtt`.
        let broker = SecondBroker::start_authenticated(&[SERVED]);
        let mut options = ConnectOptions::new("sleepy");
        options.clean_session = false;
        options.username = Some("sleepy-user");
        let (mut device, tcp) = tls_client(&broker, SERVED, CA);
        assert!(!call!(device.connect(&options)).unwrap().session_present);
        subscribe!(device, "cmd/sleepy", QoS::AtLeastOnce);
        call!(device.disconnect()).unwrap();
        vanish(device, tcp);

        // Queued while the device is away, published by another of our clients.
        let mut publisher = tls_client(&broker, SERVED, CA).0;
        let mut commander = ConnectOptions::new("commander");
        commander.username = Some("commander-user");
        call!(publisher.connect(&commander)).unwrap();
        for i in 0..3 {
            publish_acked(
                &mut publisher,
                "cmd/sleepy",
                format!("queued {i}").as_bytes(),
                QoS::AtLeastOnce,
                false,
            );
        }
        call!(publisher.disconnect()).unwrap();

        let mut device = tls_client(&broker, SERVED, CA).0;
        let connected = call!(device.connect(&options)).unwrap();
        assert!(connected.session_present, "amqtt kept the session");
        let got = collect_until!(device, |s| messages(s).len() == 3);
        // One topic, one QoS: section 4.6 keeps them in the order they were published.
        // amqtt 0.12 sends messages queued for an absent client with RETAIN 1
        // (`Broker._publish_session_retained_messages` passes `retain=True`; its log shows
        // `sleepy -out-> PublishPacket(... flags=3 ...)`: QoS 1, RETAIN 1). MQTT 3.1.1 section
        // 3.3.1.3 [MQTT-3.3.1-9]: a message sent because it matches an established subscription
        // has RETAIN 0 (Mosquitto sends 0). A violation; our client reports the flag as received.
        let amqtt_retain = true;
        assert_eq!(
            messages(&got),
            (0..3)
                .map(|i| (
                    "cmd/sleepy".to_owned(),
                    format!("queued {i}").into_bytes(),
                    QoS::AtLeastOnce,
                    amqtt_retain
                ))
                .collect::<Vec<_>>()
        );
        call!(device.disconnect()).unwrap();

        // A clean session afterwards: section 3.2.2.2, session present is 0.
        let mut device = tls_client(&broker, SERVED, CA).0;
        let mut clean = ConnectOptions::new("sleepy");
        clean.username = Some("sleepy-user");
        assert!(!call!(device.connect(&clean)).unwrap().session_present);
        call!(device.disconnect()).unwrap();
        // What amqtt said on the wire: CONNACK with session present only on the resumption.
        let is_connack = |line: &String| line.starts_with("sleepy -out-> ConnackPacket");
        let connacks: Vec<String> = broker
            .packet_log_when(|log| log.iter().filter(|l| is_connack(l)).count() == 3)
            .into_iter()
            .filter(is_connack)
            .collect();
        assert_eq!(connacks.len(), 3, "{connacks:#?}");
        let present: Vec<bool> = connacks
            .iter()
            .map(|line| line.contains("session_parent=0x1"))
            .collect();
        assert_eq!(present, [false, true, false], "{connacks:#?}");
    }

    /// amqtt 0.12 keeps no session for a client it let in anonymously (every client, when the
    /// broker allows anonymous access, user name or not): nothing is queued for it while it is
    /// away (`Broker._run_broadcast` skips `is_anonymous` sessions), and its session is deleted
    /// within a second of the disconnection (`Broker._session_monitor`, every second). MQTT 3.1.1
    /// section 3.1.2.4 says a CleanSession 0 session is kept after the disconnection, with its
    /// subscriptions and its QoS 1 and 2 messages [MQTT-3.1.2-4, MQTT-3.1.2-5]: a violation,
    /// which the broker reports honestly with session present 0 (section 3.2.2.2). Our client
    /// passes that on, and a device that re-subscribes when `session_present` is false (the
    /// pattern of the crate's example) gets its messages again.
    #[test]
    fn anonymous_persistent_session_is_dropped_by_amqtt() {
        let broker = SecondBroker::start(&[SERVED]);
        let mut options = ConnectOptions::new("forgotten");
        options.clean_session = false;
        let (mut device, tcp) = tls_client(&broker, SERVED, CA);
        assert!(!call!(device.connect(&options)).unwrap().session_present);
        subscribe!(device, "cmd/forgotten", QoS::AtLeastOnce);
        call!(device.disconnect()).unwrap();
        vanish(device, tcp);

        let mut publisher = tls_client(&broker, SERVED, CA).0;
        call!(publisher.connect(&ConnectOptions::new("commander"))).unwrap();
        publish_acked(
            &mut publisher,
            "cmd/forgotten",
            b"lost",
            QoS::AtLeastOnce,
            false,
        );
        // Until the broker's session sweep (once a second) has deleted the session: amqtt
        // logs it from `Broker._cleanup_session`, which only the sweep and shutdown call.
        let deleted = "Clearing all subscriptions for session forgotten";
        let deadline = StdInstant::now() + Duration::from_secs(10);
        while !broker.log().contains(deleted) {
            assert!(
                StdInstant::now() < deadline,
                "amqtt did not delete the session within 10 s:\n{}",
                broker.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }

        let mut device = tls_client(&broker, SERVED, CA).0;
        let connected = call!(device.connect(&options)).unwrap();
        assert!(
            !connected.session_present,
            "amqtt 0.12 deletes anonymous sessions"
        );
        // Nothing was kept: no message comes.
        assert_eq!(
            messages(&collect_for!(device, Duration::from_millis(500))),
            []
        );
        // Re-subscribing, as a device does when the session is gone, works.
        subscribe!(device, "cmd/forgotten", QoS::AtLeastOnce);
        publish_acked(
            &mut publisher,
            "cmd/forgotten",
            b"again",
            QoS::AtLeastOnce,
            false,
        );
        let got = collect_until!(device, |s| !messages(s).is_empty());
        assert_eq!(
            messages(&got),
            vec![(
                "cmd/forgotten".into(),
                b"again".to_vec(),
                QoS::AtLeastOnce,
                false
            )]
        );
        call!(device.disconnect()).unwrap();
        call!(publisher.disconnect()).unwrap();
    }

    #[test]
    fn independent_clients_exchange_with_ours() {
        let broker = SecondBroker::start(&[SERVED]);
        let port = broker.tls_port(SERVED);
        // mosquitto_sub, over TLS through amqtt, gets what our client publishes.
        let watcher = Subscriber::spawn(port, "interop/#", 2, Some("rsa-root.crt"));
        let mut publisher = tls_client(&broker, SERVED, CA).0;
        call!(publisher.connect(&ConnectOptions::new("pub"))).unwrap();
        call!(publisher.publish("interop/a", b"\x00binary\xff", QoS::ExactlyOnce, false)).unwrap();
        call!(publisher.publish("interop/b", &[b'x'; 3000], QoS::AtLeastOnce, false)).unwrap();
        collect_until!(publisher, |s| delivered(s).len() == 2);
        let mut got = watcher.wait();
        // QoS 1 and QoS 2 flows may overtake each other: order by topic.
        got.sort_by(|a, b| a.topic.cmp(&b.topic));
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(got[0].payload, b"\x00binary\xff");
        assert_eq!(got[0].qos, 2);
        assert!(
            got[1].payload == [b'x'; 3000],
            "payload of {} bytes",
            got[1].payload.len()
        );
        // Published with QoS 1 to mosquitto_sub's QoS 2 subscription: amqtt upgrades it.
        assert_eq!(
            got[1].qos,
            amqtt_delivery_qos(QoS::AtLeastOnce, QoS::ExactlyOnce) as u8
        );

        // And our subscriber gets what mosquitto_pub publishes.
        let mut sub = tls_client(&broker, SERVED, CA).0;
        call!(sub.connect(&ConnectOptions::new("sub"))).unwrap();
        subscribe!(sub, "from/mosquitto", QoS::ExactlyOnce);
        support::publish_tls(port, "rsa-root.crt", "from/mosquitto", "hello", 2, false);
        let got = collect_until!(sub, |s| !messages(s).is_empty());
        assert_eq!(
            messages(&got),
            vec![(
                "from/mosquitto".into(),
                b"hello".to_vec(),
                QoS::ExactlyOnce,
                false
            )]
        );
        call!(publisher.disconnect()).unwrap();
        call!(sub.disconnect()).unwrap();
    }

    #[test]
    fn keep_alive_pings_are_answered() {
        let broker = SecondBroker::start(&[SERVED]);
        let mut c = tls_client(&broker, SERVED, CA).0;
        let mut options = ConnectOptions::new("pinger");
        options.keep_alive_secs = 1;
        options.response_timeout_ms = 2_000;
        call!(c.connect(&options)).unwrap();
        // Idle for 3.5 keep-alive periods: the client pings, amqtt answers, nobody gives up.
        let seen = collect_for!(c, Duration::from_millis(3_500));
        let pongs = seen
            .iter()
            .filter(|s| **s == Seen::Other("Pong".into()))
            .count();
        assert!(pongs >= 2, "{pongs} PINGRESP in 3.5 s; saw {seen:?}");
        let log = broker.packet_log_when(|log| {
            log.iter()
                .filter(|l| l.contains("-out-> PingRespPacket"))
                .count()
                >= pongs
        });
        let pings = log
            .iter()
            .filter(|l| l.contains("<-in-- PingReqPacket"))
            .count();
        let answers = log
            .iter()
            .filter(|l| l.contains("-out-> PingRespPacket"))
            .count();
        assert!(pings >= pongs && answers >= pongs, "{log:#?}");
        // Still connected: a QoS 1 publish is acknowledged.
        publish_acked(&mut c, "still/here", b"yes", QoS::AtLeastOnce, false);
        call!(c.disconnect()).unwrap();
    }

    /// The broker goes away: the client says so, and every call after says the same.
    #[test]
    fn a_broker_that_goes_away_is_reported() {
        let mut broker = SecondBroker::start(&[SERVED]);
        let mut c = tls_client(&broker, SERVED, CA).0;
        call!(c.connect(&ConnectOptions::new("c"))).unwrap();
        broker.stop();
        let deadline = StdInstant::now() + Duration::from_secs(10);
        let err = loop {
            assert!(StdInstant::now() < deadline, "the client did not notice");
            if let Err(e) = call!(c.wait_event(50)) {
                break e;
            }
        };
        assert!(
            matches!(err, Error::ConnectionClosed | Error::Transport(_)),
            "{err}"
        );
        // Sticky: the next call says the same.
        assert_eq!(call!(c.publish("x", b"", QoS::AtMostOnce, false)), Err(err));
    }
}

/// The same exchange over an ECDSA P-256 certificate (the other key type the crate verifies).
#[test]
fn pubsub_over_p256_certificate() {
    blocking_client::pubsub_over(Link::Tls {
        served: "p256-leaf",
        ca: "p256-root.der",
    });
}

/// And over plain MQTT, the baseline that tells a TLS problem from an MQTT one.
#[test]
fn pubsub_over_plain_tcp() {
    async_client::pubsub_over(Link::Plain);
}
