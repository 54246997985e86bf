//! The blocking and the async client against a real Mosquitto, over plain TCP: the same
//! scenarios, written once, run through both drivers.

#[macro_use]
mod support;

use std::time::{Duration, Instant as StdInstant};

use embedded_mqtts::host::TcpTransport;
use embedded_mqtts::{ConnectOptions, Connection, Error, QoS, Will};
use support::{dial, leaked_connection, messages, vanish, Broker, BrokerConfig, Seen, Subscriber};

both_drivers! {
    /// A client over TCP to `port` with a connection of its own (a device that starts afresh).
    fn new_client(port: u16) -> Client<'static, 'static, TcpTransport> {
        client(dial(port), leaked_connection())
    }

    #[test]
    fn pubsub_at_every_qos() {
        let broker = Broker::start(BrokerConfig::new());
        let mut sub = new_client(broker.port());
        let mut publisher = new_client(broker.port());
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
            let topic = format!("t/{i}");
            if let Some(pid) =
                call!(publisher.publish(&topic, payload.as_bytes(), qos, false)).unwrap()
            {
                acked.push(pid);
            }
        }
        let mut delivered = collect_until!(publisher, |s| {
            s.iter().filter(|e| matches!(e, Seen::Delivered(_))).count() == 2
        })
        .into_iter()
        .filter_map(|e| match e {
            Seen::Delivered(pid) => Some(pid),
            _ => None,
        })
        .collect::<Vec<_>>();
        delivered.sort();
        acked.sort();
        assert_eq!(delivered, acked);
        let got = collect_until!(sub, |s| messages(s).len() == 3);
        assert_eq!(
            messages(&got),
            vec![
                ("t/0".into(), b"message 0".to_vec(), QoS::AtMostOnce, false),
                ("t/1".into(), b"message 1".to_vec(), QoS::AtLeastOnce, false),
                ("t/2".into(), b"message 2".to_vec(), QoS::ExactlyOnce, false),
            ]
        );
        call!(sub.disconnect()).unwrap();
        call!(publisher.disconnect()).unwrap();
    }

    #[test]
    fn retained_message_reaches_a_later_subscriber() {
        let broker = Broker::start(BrokerConfig::new());
        let mut publisher = new_client(broker.port());
        call!(publisher.connect(&ConnectOptions::new("pub"))).unwrap();
        call!(publisher.publish("state/door", b"open", QoS::AtLeastOnce, true)).unwrap();
        collect_until!(publisher, |s| s
            .iter()
            .any(|e| matches!(e, Seen::Delivered(_))));
        let mut sub = new_client(broker.port());
        call!(sub.connect(&ConnectOptions::new("late"))).unwrap();
        call!(sub.subscribe(&[("state/+", QoS::AtLeastOnce)])).unwrap();
        let got = collect_until!(sub, |s| !messages(s).is_empty());
        assert_eq!(
            messages(&got),
            vec![(
                "state/door".into(),
                b"open".to_vec(),
                QoS::AtLeastOnce,
                true
            )]
        );
    }

    #[test]
    fn will_is_published_when_the_client_vanishes() {
        let broker = Broker::start(BrokerConfig::new());
        let watcher = Subscriber::spawn(broker.port(), "status/dev", 1, None);
        let mut device = new_client(broker.port());
        let mut options = ConnectOptions::new("dev");
        options.will = Some(Will {
            topic: "status/dev",
            payload: b"offline",
            qos: QoS::AtLeastOnce,
            retain: false,
        });
        call!(device.connect(&options)).unwrap();
        vanish(device);
        let got = watcher.wait();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].topic, "status/dev");
        assert_eq!(got[0].text(), "offline");
    }

    #[test]
    fn persistent_session_gets_what_was_queued_while_offline() {
        let broker = Broker::start(BrokerConfig::new());
        let mut options = ConnectOptions::new("sleepy");
        options.clean_session = false;
        let mut device = new_client(broker.port());
        assert!(!call!(device.connect(&options)).unwrap().session_present);
        subscribe!(device, "cmd/#", QoS::AtLeastOnce);
        call!(device.disconnect()).unwrap();
        vanish(device);

        for i in 0..3 {
            support::publish(
                broker.port(),
                &format!("cmd/{i}"),
                format!("queued {i}"),
                1,
                false,
            );
        }

        let mut device = new_client(broker.port());
        let connected = call!(device.connect(&options)).unwrap();
        assert!(connected.session_present, "the broker kept the session");
        let got = collect_until!(device, |s| messages(s).len() == 3);
        let payloads: Vec<_> = messages(&got).into_iter().map(|m| m.1).collect();
        assert_eq!(
            payloads,
            vec![
                b"queued 0".to_vec(),
                b"queued 1".to_vec(),
                b"queued 2".to_vec()
            ]
        );
        call!(device.disconnect()).unwrap();

        // A clean session afterwards says the session is gone.
        let mut device = new_client(broker.port());
        let connected = call!(device.connect(&ConnectOptions::new("sleepy"))).unwrap();
        assert!(!connected.session_present);
    }

    /// A backlog of QoS 2 messages larger than the session's `INBOUND` (32), sent at once by
    /// a broker without an in-flight limit: the ones beyond it are deferred (neither delivered
    /// nor acknowledged), the client ends the connection once the broker has released the
    /// others, and on the resumed session the broker sends them again. Every message arrives
    /// once, in order.
    #[test]
    fn qos2_backlog_beyond_inbound_arrives_once_in_order() {
        const COUNT: usize = 60;
        let broker = Broker::start(BrokerConfig::new().line("max_inflight_messages 0"));
        let mut options = ConnectOptions::new("backlog");
        options.clean_session = false;
        let conn: &mut Connection<'_> = leaked_connection();
        {
            let mut device = client(dial(broker.port()), conn);
            call!(device.connect(&options)).unwrap();
            subscribe!(device, "backlog/#", QoS::ExactlyOnce);
            call!(device.disconnect()).unwrap();
        }
        for i in 0..COUNT {
            support::publish(broker.port(), "backlog/m", i.to_string(), 2, false);
        }

        let deadline = StdInstant::now() + Duration::from_secs(20);
        let mut order = Vec::new();
        let (mut sessions, mut deferred, mut ended) = (0, 0, Vec::new());
        while order.len() < COUNT {
            assert!(StdInstant::now() < deadline, "got {order:?}");
            let mut device = client(dial(broker.port()), conn);
            assert!(call!(device.connect(&options)).unwrap().session_present);
            sessions += 1;
            while order.len() < COUNT {
                match next_event!(device) {
                    Ok(Some(Seen::Message { payload, .. })) => {
                        let text = String::from_utf8(payload).unwrap();
                        order.push(text.parse::<usize>().unwrap());
                    }
                    Ok(Some(Seen::Other(event))) if event.starts_with("Deferred") => deferred += 1,
                    Ok(_) => assert!(StdInstant::now() < deadline, "got {order:?}"),
                    Err(e @ Error::InboundQos2Full { .. }) => {
                        ended.push(e.to_string());
                        break;
                    }
                    Err(e) => panic!("{e} after {order:?}"),
                }
            }
        }
        println!(
            "{DRIVER:?}: {COUNT} QoS 2 messages in {sessions} sessions, {deferred} deferred; \
             connections ended: {ended:?}"
        );
        assert!(
            deferred > 0 && !ended.is_empty(),
            "the backlog never went past INBOUND: this run proves nothing"
        );
        assert_eq!(order, (0..COUNT).collect::<Vec<_>>(), "once each, in order");
    }

    #[test]
    fn our_messages_reach_an_independent_client() {
        let broker = Broker::start(BrokerConfig::new());
        let watcher = Subscriber::spawn(broker.port(), "interop/#", 2, None);
        let mut publisher = new_client(broker.port());
        call!(publisher.connect(&ConnectOptions::new("pub"))).unwrap();
        call!(publisher.publish("interop/a", b"\x00binary\xff", QoS::ExactlyOnce, false)).unwrap();
        call!(publisher.publish("interop/b", &[b'x'; 3000], QoS::AtLeastOnce, false)).unwrap();
        collect_until!(publisher, |s| {
            s.iter().filter(|e| matches!(e, Seen::Delivered(_))).count() == 2
        });
        let mut got = watcher.wait();
        // QoS 1 and QoS 2 flows may overtake each other: order by topic.
        got.sort_by(|a, b| a.topic.cmp(&b.topic));
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].payload, b"\x00binary\xff");
        assert!(
            got[1].payload == [b'x'; 3000],
            "payload of {} bytes",
            got[1].payload.len()
        );
    }

    /// A message larger than the 4 KiB receive buffer comes in pieces, acknowledged after
    /// its end; one whose head (its topic) alone is larger is reported and skipped, and the
    /// connection goes on.
    #[test]
    fn a_message_larger_than_the_buffer_is_streamed() {
        let broker = Broker::start(BrokerConfig::new());
        let mut sub = new_client(broker.port());
        call!(sub.connect(&ConnectOptions::new("small"))).unwrap();
        subscribe!(sub, "big/#", QoS::AtLeastOnce);
        let image: Vec<u8> = (0..100_000u32).map(|i| (i % 253) as u8).collect();
        support::publish(broker.port(), "big/1", image.clone(), 1, false);
        let long_topic = format!("big/{}", "t".repeat(5000));
        support::publish(broker.port(), &long_topic, "skipped", 0, false);
        support::publish(broker.port(), "big/2", "fits", 1, false);
        let deadline = StdInstant::now() + Duration::from_secs(10);
        let (mut seen, mut too_large) = (Vec::new(), None);
        loop {
            assert!(StdInstant::now() < deadline, "saw {} events", seen.len());
            match next_event!(sub) {
                Err(Error::PacketTooLarge { size, capacity }) => too_large = Some((size, capacity)),
                Err(e) => panic!("{e}"),
                Ok(Some(Seen::Message { payload, .. })) if payload == b"fits" => break,
                Ok(Some(event)) => seen.push(event),
                Ok(None) => {}
            }
        }
        let Some(Seen::Start(topic, qos, len)) = seen.first() else {
            panic!("no start: {:?}", seen.first());
        };
        assert_eq!((topic.as_str(), *qos, *len), ("big/1", QoS::AtLeastOnce, 100_000));
        assert!(matches!(seen.last(), Some(Seen::End(Some(_)))));
        let payload: Vec<u8> = seen[1..seen.len() - 1]
            .iter()
            .flat_map(|event| match event {
                Seen::Part(part) => part.clone(),
                other => panic!("{other:?} inside the message"),
            })
            .collect();
        assert!(payload == image, "payload of {} bytes", payload.len());
        // 7 bytes of payload, the topic with its length, a 3-byte fixed header.
        assert_eq!(too_large, Some((3 + 2 + long_topic.len() + 7, 4096)));
    }

    /// A broker that stops answering (SIGSTOP: the TCP connection stays up) is declared dead
    /// within two keep-alive periods of the last packet received from it.
    #[test]
    fn a_silent_broker_is_dead_within_two_keep_alive_periods() {
        let broker = Broker::start(BrokerConfig::new());
        let mut c = new_client(broker.port());
        let mut options = ConnectOptions::new("silent");
        options.keep_alive_secs = 2;
        call!(c.connect(&options)).unwrap();
        // One PINGRESP first: the link works, and its arrival is the last packet received.
        let deadline = StdInstant::now() + Duration::from_secs(10);
        let last_received = loop {
            assert!(StdInstant::now() < deadline, "no PINGRESP");
            if let Some(Seen::Other(event)) = next_event!(c).unwrap() {
                if event == "Pong" {
                    break StdInstant::now();
                }
            }
        };
        broker.freeze();
        let error = loop {
            assert!(
                last_received.elapsed() < Duration::from_secs(10),
                "still alive 10 s after the broker froze"
            );
            if let Err(e) = call!(c.wait_event(50)) {
                break e;
            }
        };
        let took = last_received.elapsed();
        broker.thaw();
        assert_eq!(
            error,
            Error::Timeout(embedded_mqtts::error::Timeout::Pingresp { waited_ms: 2_000 })
        );
        eprintln!("keep-alive 2 s: declared dead {took:?} after the last packet received");
        // 2 x keep-alive, and half a second for a loaded test machine.
        assert!(took <= Duration::from_millis(4_500), "{took:?}");
    }

    /// A broker that sends acknowledgements for packet ids the client never used (duplicates
    /// after a resume or a retry): warnings, not the end of the connection; a stray PUBREC is
    /// released with PUBREL. A scripted broker, since Mosquitto does not misbehave on purpose.
    #[test]
    fn stray_acknowledgements_do_not_end_the_connection() {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let broker = std::thread::spawn(move || {
            let (mut socket, _) = listener.accept().unwrap();
            socket
                .set_read_timeout(Some(Duration::from_secs(10)))
                .unwrap();
            let mut connect = [0u8; 64];
            let n = socket.read(&mut connect).unwrap();
            assert_eq!(connect[0], 0x10, "CONNECT first: {:?}", &connect[..n]);
            let mut script = vec![0x20, 2, 0, 0]; // CONNACK
            script.extend([0x40, 2, 0x10, 0x92]); // PUBACK 4242
            script.extend([0x50, 2, 0, 7]); // PUBREC 7
            script.extend([0x70, 2, 0, 8]); // PUBCOMP 8
            script.extend([0x30, 5, 0, 1, b't', b'o', b'k']); // PUBLISH "ok" on "t"
            socket.write_all(&script).unwrap();
            let mut pubrel = [0u8; 4];
            socket.read_exact(&mut pubrel).unwrap();
            pubrel
        });
        let mut c = new_client(port);
        call!(c.connect(&ConnectOptions::new("stray"))).unwrap();
        let seen = collect_until!(c, |s| s.iter().any(|e| matches!(e, Seen::Message { .. })));
        assert_eq!(
            seen[..3],
            [
                Seen::Other("StrayAck { ack: Puback, pid: 4242 }".into()),
                Seen::Other("StrayAck { ack: Pubrec, pid: 7 }".into()),
                Seen::Other("StrayAck { ack: Pubcomp, pid: 8 }".into()),
            ]
        );
        assert!(c.connection().is_connected());
        // The PUBREL for the stray PUBREC went out with the next call.
        assert_eq!(broker.join().unwrap(), [0x62, 2, 0, 7]);
    }

    /// The broker goes away: the client says so, and every call after says the same.
    #[test]
    fn a_broker_that_goes_away_is_reported() {
        let mut broker = Broker::start(BrokerConfig::new());
        let mut c = new_client(broker.port());
        call!(c.connect(&ConnectOptions::new("c"))).unwrap();
        broker.stop();
        let deadline = StdInstant::now() + Duration::from_secs(10);
        let err = loop {
            assert!(StdInstant::now() < deadline);
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

#[test]
fn refused_connection_names_the_reason() {
    let broker = Broker::start(BrokerConfig::new().line("allow_anonymous false"));

    let mut c = support::blocking_driver::client(dial(broker.port()), leaked_connection());
    let err = c.connect(&ConnectOptions::new("anon")).unwrap_err();
    assert_eq!(
        err,
        Error::Refused(embedded_mqtts::packet::ConnectReturnCode::NotAuthorized)
    );
    assert_eq!(
        err.to_string(),
        format!(
            "broker refused the connection: {}",
            embedded_mqtts::packet::ConnectReturnCode::NotAuthorized
        )
    );
}
