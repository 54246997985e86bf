//! The blocking and the async client against a real Mosquitto, over plain TCP: the same
//! scenarios, written once, run through both drivers.

#[macro_use]
mod support;

use std::time::{Duration, Instant as StdInstant};

use embedded_mqtts::{ConnectOptions, Error, QoS, Will};
use support::{
    collect_until, messages, plain_client, subscribe, Broker, BrokerConfig, Driver, Seen,
    Subscriber, TestClient, TestState,
};

/// A client with a state of its own (a device that starts afresh).
fn client(driver: Driver, port: u16) -> Box<dyn TestClient> {
    plain_client(driver, port, Box::leak(Box::default()))
}

fn pubsub_at_every_qos(driver: Driver) {
    let broker = Broker::start(BrokerConfig::new());
    let mut sub = client(driver, broker.port());
    let mut publisher = client(driver, broker.port());
    let connected = sub.connect(&ConnectOptions::new("sub")).unwrap();
    assert!(!connected.session_present);
    publisher.connect(&ConnectOptions::new("pub")).unwrap();
    subscribe(&mut *sub, "t/#", QoS::ExactlyOnce);

    let mut acked = Vec::new();
    for (i, qos) in [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce]
        .into_iter()
        .enumerate()
    {
        let payload = format!("message {i}");
        if let Some(pid) = publisher
            .publish(&format!("t/{i}"), payload.as_bytes(), qos, false)
            .unwrap()
        {
            acked.push(pid);
        }
    }
    let mut delivered = collect_until(&mut *publisher, |s| {
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
    let got = collect_until(&mut *sub, |s| messages(s).len() == 3);
    assert_eq!(
        messages(&got),
        vec![
            ("t/0".into(), b"message 0".to_vec(), QoS::AtMostOnce, false),
            ("t/1".into(), b"message 1".to_vec(), QoS::AtLeastOnce, false),
            ("t/2".into(), b"message 2".to_vec(), QoS::ExactlyOnce, false),
        ]
    );
    sub.disconnect().unwrap();
    publisher.disconnect().unwrap();
}

fn retained_message_reaches_a_later_subscriber(driver: Driver) {
    let broker = Broker::start(BrokerConfig::new());
    let mut publisher = client(driver, broker.port());
    publisher.connect(&ConnectOptions::new("pub")).unwrap();
    publisher
        .publish("state/door", b"open", QoS::AtLeastOnce, true)
        .unwrap();
    collect_until(&mut *publisher, |s| {
        s.iter().any(|e| matches!(e, Seen::Delivered(_)))
    });
    let mut sub = client(driver, broker.port());
    sub.connect(&ConnectOptions::new("late")).unwrap();
    sub.subscribe(&[("state/+", QoS::AtLeastOnce)]).unwrap();
    let got = collect_until(&mut *sub, |s| !messages(s).is_empty());
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

fn will_is_published_when_the_client_vanishes(driver: Driver) {
    let broker = Broker::start(BrokerConfig::new());
    let watcher = Subscriber::spawn(broker.port(), "status/dev", 1, None);
    let mut device = client(driver, broker.port());
    let mut options = ConnectOptions::new("dev");
    options.will = Some(Will {
        topic: "status/dev",
        payload: b"offline",
        qos: QoS::AtLeastOnce,
        retain: false,
    });
    device.connect(&options).unwrap();
    device.vanish();
    let got = watcher.wait();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].topic, "status/dev");
    assert_eq!(got[0].text(), "offline");
}

fn persistent_session_gets_what_was_queued_while_offline(driver: Driver) {
    let broker = Broker::start(BrokerConfig::new());
    let mut options = ConnectOptions::new("sleepy");
    options.clean_session = false;
    let mut device = client(driver, broker.port());
    assert!(!device.connect(&options).unwrap().session_present);
    subscribe(&mut *device, "cmd/#", QoS::AtLeastOnce);
    device.disconnect().unwrap();
    device.vanish();

    for i in 0..3 {
        support::publish(
            broker.port(),
            &format!("cmd/{i}"),
            format!("queued {i}"),
            1,
            false,
        );
    }

    let mut device = client(driver, broker.port());
    let connected = device.connect(&options).unwrap();
    assert!(connected.session_present, "the broker kept the session");
    let got = collect_until(&mut *device, |s| messages(s).len() == 3);
    let payloads: Vec<_> = messages(&got).into_iter().map(|m| m.1).collect();
    assert_eq!(
        payloads,
        vec![
            b"queued 0".to_vec(),
            b"queued 1".to_vec(),
            b"queued 2".to_vec()
        ]
    );
    device.disconnect().unwrap();

    // A clean session afterwards says the session is gone.
    let mut device = client(driver, broker.port());
    assert!(
        !device
            .connect(&ConnectOptions::new("sleepy"))
            .unwrap()
            .session_present
    );
}

/// A backlog of QoS 2 messages larger than the session's `INBOUND` (32), sent at once by a
/// broker without an in-flight limit: the ones beyond it are deferred (neither delivered nor
/// acknowledged), the client ends the connection once the broker has released the others, and
/// on the resumed session the broker sends them again. Every message arrives once, in order.
fn qos2_backlog_beyond_inbound_arrives_once_in_order(driver: Driver) {
    const COUNT: usize = 60;
    let broker = Broker::start(BrokerConfig::new().line("max_inflight_messages 0"));
    let mut options = ConnectOptions::new("backlog");
    options.clean_session = false;
    let mut state = Box::new(TestState::new());
    {
        let mut device = plain_client(driver, broker.port(), &mut state);
        device.connect(&options).unwrap();
        subscribe(&mut *device, "backlog/#", QoS::ExactlyOnce);
        device.disconnect().unwrap();
    }
    for i in 0..COUNT {
        support::publish(broker.port(), "backlog/m", i.to_string(), 2, false);
    }

    let deadline = StdInstant::now() + Duration::from_secs(20);
    let mut order = Vec::new();
    let (mut sessions, mut deferred, mut ended) = (0, 0, Vec::new());
    while order.len() < COUNT {
        assert!(StdInstant::now() < deadline, "got {order:?}");
        let mut device = plain_client(driver, broker.port(), &mut state);
        assert!(device.connect(&options).unwrap().session_present);
        sessions += 1;
        while order.len() < COUNT {
            match device.next() {
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
        "{driver:?}: {COUNT} QoS 2 messages in {sessions} sessions, {deferred} deferred; \
         connections ended: {ended:?}"
    );
    assert!(
        deferred > 0 && !ended.is_empty(),
        "the backlog never went past INBOUND: this run proves nothing"
    );
    assert_eq!(order, (0..COUNT).collect::<Vec<_>>(), "once each, in order");
}

fn our_messages_reach_an_independent_client(driver: Driver) {
    let broker = Broker::start(BrokerConfig::new());
    let watcher = Subscriber::spawn(broker.port(), "interop/#", 2, None);
    let mut publisher = client(driver, broker.port());
    publisher.connect(&ConnectOptions::new("pub")).unwrap();
    publisher
        .publish("interop/a", b"\x00binary\xff", QoS::ExactlyOnce, false)
        .unwrap();
    publisher
        .publish("interop/b", &[b'x'; 3000], QoS::AtLeastOnce, false)
        .unwrap();
    collect_until(&mut *publisher, |s| {
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

fn oversize_packet_is_reported_and_skipped(driver: Driver) {
    let broker = Broker::start(BrokerConfig::new());
    let mut sub = client(driver, broker.port());
    sub.connect(&ConnectOptions::new("small")).unwrap();
    subscribe(&mut *sub, "big/#", QoS::AtMostOnce);
    support::publish(broker.port(), "big/1", vec![b'y'; 10_000], 0, false);
    support::publish(broker.port(), "big/2", "fits", 0, false);
    let deadline = StdInstant::now() + Duration::from_secs(10);
    let mut too_large = None;
    loop {
        assert!(StdInstant::now() < deadline);
        match sub.next() {
            Err(Error::PacketTooLarge { size, capacity }) => too_large = Some((size, capacity)),
            Err(e) => panic!("{e}"),
            Ok(Some(Seen::Message { payload, .. })) => {
                assert_eq!(payload, b"fits");
                break;
            }
            Ok(_) => {}
        }
    }
    // 10,000 bytes of payload, a 5-byte topic with its length, and a 3-byte fixed header.
    assert_eq!(too_large, Some((10_010, 4096)));
}

both_drivers!(
    pubsub_at_every_qos,
    retained_message_reaches_a_later_subscriber,
    will_is_published_when_the_client_vanishes,
    persistent_session_gets_what_was_queued_while_offline,
    qos2_backlog_beyond_inbound_arrives_once_in_order,
    our_messages_reach_an_independent_client,
    oversize_packet_is_reported_and_skipped,
);

#[test]
fn refused_connection_names_the_reason() {
    let broker = Broker::start(BrokerConfig::new().line("allow_anonymous false"));
    let mut c = client(Driver::Blocking, broker.port());
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

#[test]
fn a_broker_that_goes_away_is_reported() {
    let mut broker = Broker::start(BrokerConfig::new());
    let mut c = client(Driver::Blocking, broker.port());
    c.connect(&ConnectOptions::new("c")).unwrap();
    broker.stop();
    let deadline = StdInstant::now() + Duration::from_secs(10);
    let err = loop {
        assert!(StdInstant::now() < deadline);
        if let Err(e) = c.next() {
            break e;
        }
    };
    assert!(
        matches!(err, Error::ConnectionClosed | Error::Transport(_)),
        "{err}"
    );
    // Sticky: the next call says the same.
    assert_eq!(c.publish("x", b"", QoS::AtMostOnce, false), Err(err));
}
