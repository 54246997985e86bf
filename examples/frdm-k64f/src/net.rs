//! The board's network: the shared smoltcp layer of `../firmware-net` (interface, DHCP with
//! the static fallback, the blocking TCP stream; the same lines the emulated board's firmware
//! runs in CI) on this board's ENET MAC and KSZ8081 PHY, with the PIT uptime as its clock and
//! the addressing of `config.rs`.

use crate::enet::{Counters, Enet, Link, MdioTimeout};
use crate::{config, ksz8081, uptime};
use core::cell::RefCell;
use firmware_net::net::{self, Nic, Settings, Uptime};

pub use firmware_net::net::{
    Addressing, ConnectError, NetError, StreamError, TCP_RX_SIZE, TCP_TIMEOUT_MS, TCP_TX_SIZE,
};

/// The network layer on this board.
pub type Net = net::Net<Enet, PitUptime>;
/// A copyable handle to the one [`Net`].
pub type NetHandle = net::NetHandle<Enet, PitUptime>;
/// The TCP connection to the broker.
pub type TcpStream = net::TcpStream<Enet, PitUptime>;
/// Something the console should tell the user about.
pub type NetEvent = net::Event<Enet>;
/// A snapshot for the `status` command.
pub type NetStatus = net::NetStatus<Link>;

/// DHCP timeout and static fallback from `config.rs`.
const SETTINGS: Settings = Settings {
    dhcp_timeout_ms: config::DHCP_TIMEOUT_MS,
    static_address: config::STATIC_ADDRESS,
    static_gateway: config::STATIC_GATEWAY,
};

/// The PIT's time since boot ([`uptime`]), as the network layer's clock.
#[derive(Clone, Copy, Debug)]
pub struct PitUptime;

impl Uptime for PitUptime {
    fn micros(&self) -> u64 {
        uptime::micros()
    }
}

impl Nic for Enet {
    type Link = Link;
    type LinkError = MdioTimeout;

    fn mac_address(&self) -> [u8; 6] {
        Enet::mac_address(self)
    }

    fn link(&mut self) -> Result<Option<Link>, MdioTimeout> {
        ksz8081::link(self)
    }

    fn link_changed(&mut self, link: Link) {
        self.set_link(link);
    }

    fn counters(&self) -> Counters {
        Enet::counters(self)
    }
}

/// Builds the network on `enet` and keeps it in a static. `random` seeds smoltcp (TCP
/// sequence numbers) and the first ephemeral port; take it from the RNGA.
pub fn start(enet: Enet, random: u64) -> Result<NetHandle, NetError> {
    let net = Net::new(enet, PitUptime, SETTINGS, random)?;
    let cell =
        cortex_m::singleton!(: RefCell<Net> = RefCell::new(net)).ok_or(NetError::AlreadyStarted)?;
    Ok(NetHandle::new(cell))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn static_fallback_is_a_usable_unicast_address() {
        let address = config::STATIC_ADDRESS.address();
        assert!(!address.is_unspecified() && !address.is_multicast());
        assert!(!address.is_broadcast() && !address.is_loopback());
        assert!(config::STATIC_ADDRESS.prefix_len() <= 30);
        if let Some(gateway) = config::STATIC_GATEWAY {
            assert!(
                config::STATIC_ADDRESS.contains_addr(&gateway),
                "gateway on-link"
            );
            assert_ne!(gateway, address);
        }
    }
}
