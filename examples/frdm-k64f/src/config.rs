//! Build-time settings: edit them here and rebuild.
//!
//! The broker's certificate pin is not a constant here: `build.rs` embeds the DER file
//! `certs/rsa-root.der` of the repository (or the file named by the `BROKER_CA` environment
//! variable at build time, DER or PEM), see [`crate::mqtt`].

use embedded_mqtts::QoS;
use smoltcp::wire::{Ipv4Address, Ipv4Cidr};

/// The MQTT broker's IPv4 address (the seed firmware used 192.168.0.111).
pub const BROKER_IP: Ipv4Address = Ipv4Address::new(192, 168, 0, 111);
/// MQTT over TLS.
pub const BROKER_PORT: u16 = 8883;
/// The name the broker's certificate must carry (TLS SNI and certificate name check).
pub const BROKER_NAME: &str = "localhost";
/// MQTT client identifier.
pub const CLIENT_ID: &str = "FRDM-K64F";
/// Topic for `mqtt publish` and `mqtt subscribe` (the seed's).
pub const TOPIC: &str = "HSLU/test";
/// MQTT keep-alive interval.
pub const KEEP_ALIVE_SECS: u16 = 60;
/// `false`: ask the broker to keep the session (subscriptions, queued QoS 1 messages) across
/// connections, and re-send unacknowledged messages after a reconnect (the seed's
/// `mosquitto_sub -c`). `true`: start afresh on every `mqtt connect`.
pub const CLEAN_SESSION: bool = false;
/// QoS of `mqtt publish` (QoS 1: the broker answers with PUBACK).
pub const PUBLISH_QOS: QoS = QoS::AtLeastOnce;
/// Maximum QoS asked for by `mqtt subscribe`.
pub const SUBSCRIBE_QOS: QoS = QoS::AtLeastOnce;
/// How long `mqtt connect` waits for the TCP handshake.
pub const CONNECT_TIMEOUT_MS: u64 = 10_000;
/// How long to wait for the broker: each read during the TLS handshake and of a TLS record
/// that has begun to arrive, CONNACK, and PINGRESP.
pub const RESPONSE_TIMEOUT_MS: u32 = 10_000;

/// Console baud rate (8N1).
pub const CONSOLE_BAUD: u32 = 115_200;

/// How long DHCP may take after link-up before the static address below is used.
pub const DHCP_TIMEOUT_MS: u64 = 10_000;
/// Static fallback address and prefix.
pub const STATIC_ADDRESS: Ipv4Cidr = Ipv4Cidr::new(Ipv4Address::new(192, 168, 0, 200), 24);
/// Static fallback gateway.
pub const STATIC_GATEWAY: Option<Ipv4Address> = Some(Ipv4Address::new(192, 168, 0, 1));
/// MAC address; `None` derives a locally administered one from the MCU's unique id.
pub const MAC_ADDRESS: Option<[u8; 6]> = None;

// smoltcp refuses (panics on) a multicast MAC address or a non-unicast interface address:
// check the settings above when compiling.
const _: () = {
    if let Some(mac) = MAC_ADDRESS {
        assert!(mac[0] & 1 == 0, "MAC_ADDRESS must be a unicast address");
    }
    let [first, .., last] = STATIC_ADDRESS.address().octets();
    assert!(
        first != 0 && first != 127 && first < 224,
        "STATIC_ADDRESS must be unicast"
    );
    assert!(
        last != 0 && last != 255,
        "STATIC_ADDRESS must not be a network or broadcast address"
    );
    assert!(BROKER_PORT != 0, "BROKER_PORT must not be 0");
};
