//! Arbitrary bytes from a "server": frame them with `scan`, decode each packet with `decode`.
//!
//! Properties: nothing panics; `scan`, `frame` and `decode` agree on framing (`frame` sizes
//! whatever `scan` sizes, and refuses only a malformed remaining length); an accepted packet means
//! the same to mqttrs's own decoder (where that decoder can hold it); a decoded PUBLISH
//! re-encodes to bytes that decode to the same fields, at the size `publish_len` predicts.
#![no_main]

use embedded_mqtts::packet::{self, DecodeError, Inbound, Publish};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut rest = data;
    loop {
        let framed = packet::frame(rest);
        match framed {
            Err(e) => assert_eq!(e, DecodeError::MalformedRemainingLength),
            Ok(None) => assert!(rest.len() < 5),
            Ok(Some(_)) => {}
        }
        let frame = match packet::scan(rest) {
            Ok(Some(frame)) => {
                assert_eq!(framed, Ok(Some(frame)));
                frame
            }
            Ok(None) => {
                if !rest.is_empty() {
                    assert_eq!(packet::decode(rest), Err(DecodeError::IncompleteHeader));
                }
                return;
            }
            Err(e) => {
                assert_eq!(packet::decode(rest).err(), Some(e));
                return;
            }
        };
        assert!((2..=5).contains(&frame.header_len));
        assert!(frame.total_len >= frame.header_len);
        let Some(bytes) = rest.get(..frame.total_len) else {
            let truncated = DecodeError::Truncated {
                needed: frame.total_len,
                available: rest.len(),
            };
            assert_eq!(packet::decode(rest), Err(truncated));
            return;
        };
        if let Ok(inbound) = packet::decode(bytes) {
            agrees_with_mqttrs(bytes, &inbound);
            if let Inbound::Publish(publish) = inbound {
                round_trip(&publish);
            }
        }
        rest = &rest[frame.total_len..];
    }
});

/// mqttrs's decoder panics on some short bodies, so it only sees packets we accepted.
fn agrees_with_mqttrs(bytes: &[u8], inbound: &Inbound<'_>) {
    use mqttrs::Packet;
    if let Inbound::Suback { return_codes, .. } = inbound {
        if return_codes.len() > 5 {
            return; // mqttrs without std holds at most five.
        }
    }
    let theirs = mqttrs::decode_slice(bytes).expect("mqttrs refused a packet we accepted");
    let theirs = theirs.expect("mqttrs wants more bytes of a whole packet");
    match (inbound, theirs) {
        (
            Inbound::Connack {
                session_present,
                code,
            },
            Packet::Connack(c),
        ) => {
            assert_eq!(*session_present, c.session_present);
            assert_eq!(*code as u8, connack_code(c.code));
        }
        (Inbound::Publish(ours), Packet::Publish(p)) => {
            assert_eq!(ours.dup, p.dup);
            assert_eq!(ours.retain, p.retain);
            assert_eq!(ours.topic, p.topic_name);
            assert_eq!(ours.payload, p.payload);
            assert_eq!(ours.pid, p.qospid.pid().map(|pid| pid.get()));
            assert_eq!(ours.qos as u8, p.qospid.qos() as u8);
        }
        (Inbound::Puback(a), Packet::Puback(b))
        | (Inbound::Pubrec(a), Packet::Pubrec(b))
        | (Inbound::Pubrel(a), Packet::Pubrel(b))
        | (Inbound::Pubcomp(a), Packet::Pubcomp(b))
        | (Inbound::Unsuback(a), Packet::Unsuback(b)) => assert_eq!(*a, b.get()),
        (Inbound::Suback { pid, return_codes }, Packet::Suback(s)) => {
            assert_eq!(*pid, s.pid.get());
            assert_eq!(return_codes.len(), s.return_codes.len());
        }
        (Inbound::Pingresp, Packet::Pingresp) => {}
        (ours, theirs) => panic!("we decoded {ours:?}, mqttrs decoded {theirs:?}"),
    }
}

fn connack_code(code: mqttrs::ConnectReturnCode) -> u8 {
    use mqttrs::ConnectReturnCode as C;
    match code {
        C::Accepted => 0,
        C::RefusedProtocolVersion => 1,
        C::RefusedIdentifierRejected => 2,
        C::ServerUnavailable => 3,
        C::BadUsernamePassword => 4,
        C::NotAuthorized => 5,
    }
}

fn round_trip(publish: &Publish<'_>) {
    let len = packet::publish_len(publish.topic, publish.payload.len(), publish.qos)
        .expect("a decoded PUBLISH has a size");
    let mut out = vec![0u8; len];
    assert_eq!(packet::encode_publish(publish, &mut out), Ok(len));
    assert_eq!(packet::decode(&out), Ok(Inbound::Publish(*publish)));
    // A resend marks DUP at QoS 1 and 2 and changes nothing else.
    packet::set_dup(&mut out);
    let expected = Publish {
        dup: publish.pid.is_some(),
        ..*publish
    };
    assert_eq!(packet::decode(&out), Ok(Inbound::Publish(expected)));
}
