//! IPv4 networking on the ENET with smoltcp: link tracking, DHCP with a static fallback, and
//! one TCP connection as a blocking `embedded_io` stream.
//!
//! [`Net`] owns the device, the smoltcp interface and two sockets (DHCPv4 and TCP). It lives
//! in a `static` behind a `RefCell`; [`NetHandle`] is a copyable `&'static` to it, so the
//! console loop and a [`TcpStream`] held by the MQTT client can both reach it. Every
//! operation borrows it for one poll and lets go, so nothing is held across calls.
//!
//! Addressing: the DHCP client runs from the first link-up. If it has no lease
//! [`config::DHCP_TIMEOUT_MS`] after the link came up, the static address from `config.rs`
//! is used; a lease that arrives later replaces it. A link change restarts DHCP discovery.
//! The PHY is asked for the link once a second, and the MAC follows its speed and duplex.
//!
//! The stream is blocking in the `embedded_io` sense: [`TcpStream`]'s `read` polls the
//! interface until at least one byte arrives (or the connection ends), `write` until some
//! bytes fit the socket buffer, `flush` until the peer acknowledged everything. A caller that
//! must not block (MQTT keep-alive) asks `read_ready` first. A peer that stops acknowledging
//! is detected by smoltcp's retransmission timeout ([`TCP_TIMEOUT_MS`]), after which every
//! call returns [`StreamError::NotConnected`]; a peer that acknowledges but stops sending (a
//! broker stuck in the TLS handshake, a TLS record cut short) is caught by the read timeout
//! ([`TcpStream::set_read_timeout`], none by default): `read` then returns
//! [`StreamError::TimedOut`].
//!
//! There is one TCP socket: a new [`NetHandle::connect`] aborts the previous connection,
//! and streams of the previous connection then fail with [`StreamError::Replaced`] rather
//! than read the new connection's bytes.

use crate::claim::ClaimOnce;
use crate::config;
use crate::enet::{Counters, Enet, Link, MdioTimeout};
use crate::ksz8081;
use crate::uptime;
use core::cell::RefCell;
use core::fmt;
use smoltcp::iface::{Config, Interface, SocketHandle, SocketSet, SocketStorage};
use smoltcp::socket::{dhcpv4, tcp};
use smoltcp::time::Duration;
use smoltcp::wire::{EthernetAddress, HardwareAddress, IpCidr, Ipv4Address, Ipv4Cidr};

/// TCP receive buffer (also the largest window advertised). The TLS layer asks the broker for
/// records of at most 4 KiB and reads them as they come, so one record's worth is enough.
pub const TCP_RX_SIZE: usize = 4096;
/// TCP send buffer: the largest TLS record sent is 1,157 bytes (`mqtt::TLS_WRITE`).
pub const TCP_TX_SIZE: usize = 2048;
/// A connection whose sent data stays unacknowledged this long is reset.
pub const TCP_TIMEOUT_MS: u64 = 20_000;
const LINK_CHECK_INTERVAL_MS: u64 = 1000;
const EPHEMERAL_PORTS: core::ops::RangeInclusive<u16> = 49152..=65535;

/// The TCP socket's buffers: all zero, so they go to `.bss`.
struct TcpBuffers {
    rx: [u8; TCP_RX_SIZE],
    tx: [u8; TCP_TX_SIZE],
}

static TCP_BUFFERS: ClaimOnce<TcpBuffers> = ClaimOnce::new(TcpBuffers {
    rx: [0; TCP_RX_SIZE],
    tx: [0; TCP_TX_SIZE],
});

/// Socket slots (an empty slot is not all-zero bytes, so these are kept apart from the
/// buffers: only they cost flash for `.data`).
static SOCKET_STORAGE: ClaimOnce<[SocketStorage<'static>; 2]> =
    ClaimOnce::new([SocketStorage::EMPTY, SocketStorage::EMPTY]);

/// Where the interface's address came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Addressing {
    /// No address yet; waiting for DHCP since this uptime (ms), or for a link (`None`).
    Waiting(Option<u64>),
    /// A DHCP lease.
    Dhcp(Ipv4Cidr),
    /// The static fallback from `config.rs`.
    Static(Ipv4Cidr),
}

/// Something the console should tell the user about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NetEvent {
    /// The PHY reports a link; the MAC was set to match.
    LinkUp(Link),
    /// The link went down.
    LinkDown,
    /// The PHY did not answer.
    PhyUnreachable(MdioTimeout),
    /// DHCP gave an address.
    DhcpConfigured {
        /// Address and prefix.
        address: Ipv4Cidr,
        /// Default gateway, if the server named one.
        router: Option<Ipv4Address>,
    },
    /// The DHCP lease was lost.
    DhcpLost,
    /// No DHCP answer in time: the static address is in use.
    StaticFallback(Ipv4Cidr),
}

impl fmt::Display for NetEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NetEvent::LinkUp(link) => write!(f, "link up, {link}"),
            NetEvent::LinkDown => f.write_str("link down"),
            NetEvent::PhyUnreachable(error) => write!(f, "PHY unreachable: {error}"),
            NetEvent::DhcpConfigured { address, router } => {
                write!(f, "DHCP: address {address}")?;
                match router {
                    Some(router) => write!(f, ", gateway {router}"),
                    None => f.write_str(", no gateway"),
                }
            }
            NetEvent::DhcpLost => f.write_str("DHCP lease lost"),
            NetEvent::StaticFallback(address) => write!(
                f,
                "no DHCP answer within {} s: static address {address}",
                config::DHCP_TIMEOUT_MS / 1000
            ),
        }
    }
}

/// A snapshot for the `status` command.
#[derive(Clone, Copy, Debug)]
pub struct NetStatus {
    /// The MAC address.
    pub mac: EthernetAddress,
    /// The link, if up.
    pub link: Option<Link>,
    /// The address and where it came from.
    pub addressing: Addressing,
    /// The default gateway.
    pub gateway: Option<Ipv4Address>,
    /// The TCP socket's state.
    pub tcp: tcp::State,
    /// Frame counters.
    pub frames: Counters,
}

impl fmt::Display for NetStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "  MAC       : {}\r\n  link      : ", self.mac)?;
        match self.link {
            Some(link) => write!(f, "{link}\r\n")?,
            None => f.write_str("down\r\n")?,
        }
        f.write_str("  IPv4      : ")?;
        match self.addressing {
            Addressing::Waiting(Some(_)) => f.write_str("none yet (DHCP running)\r\n")?,
            Addressing::Waiting(None) => f.write_str("none (no link yet)\r\n")?,
            Addressing::Dhcp(address) => write!(f, "{address} (DHCP)\r\n")?,
            Addressing::Static(address) => write!(f, "{address} (static fallback)\r\n")?,
        }
        match self.gateway {
            Some(gateway) => write!(f, "  gateway   : {gateway}\r\n")?,
            None => f.write_str("  gateway   : none\r\n")?,
        }
        write!(
            f,
            "  TCP       : {}\r\n  frames    : {} received, {} dropped, {} sent\r\n",
            self.tcp, self.frames.received, self.frames.receive_errors, self.frames.sent
        )
    }
}

/// Why setting up the network failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NetError {
    /// [`Net::start`] was called before; there is one interface.
    AlreadyStarted,
}

impl fmt::Display for NetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NetError::AlreadyStarted => f.write_str("the network is already started"),
        }
    }
}

impl core::error::Error for NetError {}

/// Why a TCP connection could not be opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnectError {
    /// The Ethernet link is down.
    NoLink,
    /// The interface has no IPv4 address yet (DHCP still running).
    NoAddress,
    /// smoltcp refused the endpoint (port 0 or address 0.0.0.0).
    Unaddressable,
    /// The peer answered with a reset, or the handshake was abandoned.
    Refused {
        /// The peer.
        remote: (Ipv4Address, u16),
    },
    /// No answer in time.
    TimedOut {
        /// The peer.
        remote: (Ipv4Address, u16),
        /// How long we waited.
        after_ms: u64,
    },
    /// The network is being used by another call (re-entrant use).
    Busy,
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnectError::NoLink => f.write_str("cannot connect: Ethernet link is down"),
            ConnectError::NoAddress => f.write_str("cannot connect: no IPv4 address yet"),
            ConnectError::Unaddressable => {
                f.write_str("cannot connect: broker address or port is zero")
            }
            ConnectError::Refused { remote: (ip, port) } => {
                write!(f, "connection to {ip}:{port} refused or reset")
            }
            ConnectError::TimedOut {
                remote: (ip, port),
                after_ms,
            } => write!(f, "no answer from {ip}:{port} within {after_ms} ms"),
            ConnectError::Busy => f.write_str("the network is busy (re-entrant call)"),
        }
    }
}

impl core::error::Error for ConnectError {}

/// Why a stream operation failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamError {
    /// The connection is not open (reset by the peer, timed out, or closed).
    NotConnected {
        /// The socket's state at the time.
        state: tcp::State,
    },
    /// A newer [`NetHandle::connect`] took the socket.
    Replaced,
    /// The network is being used by another call (re-entrant use).
    Busy,
    /// `read` waited longer than the read timeout for a byte.
    TimedOut {
        /// The timeout.
        after_ms: u64,
    },
}

impl fmt::Display for StreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StreamError::NotConnected { state } => {
                write!(f, "TCP connection is not open (state {state})")
            }
            StreamError::Replaced => f.write_str("TCP connection was replaced by a newer one"),
            StreamError::Busy => f.write_str("the network is busy (re-entrant call)"),
            StreamError::TimedOut { after_ms } => {
                write!(f, "no data from the peer within {after_ms} ms")
            }
        }
    }
}

impl core::error::Error for StreamError {}

impl embedded_io::Error for StreamError {
    fn kind(&self) -> embedded_io::ErrorKind {
        match self {
            StreamError::NotConnected { .. } | StreamError::Replaced => {
                embedded_io::ErrorKind::NotConnected
            }
            StreamError::Busy => embedded_io::ErrorKind::Other,
            StreamError::TimedOut { .. } => embedded_io::ErrorKind::TimedOut,
        }
    }
}

/// The network interface and its sockets.
pub struct Net {
    enet: Enet,
    iface: Interface,
    sockets: SocketSet<'static>,
    dhcp: SocketHandle,
    tcp: SocketHandle,
    link: Option<Link>,
    addressing: Addressing,
    gateway: Option<Ipv4Address>,
    next_link_check_ms: u64,
    phy_error_reported: bool,
    generation: u32,
    next_port: u16,
    events: heapless::Deque<NetEvent, 8>,
}

/// A shared reference to the one [`Net`].
#[derive(Clone, Copy)]
pub struct NetHandle(&'static RefCell<Net>);

impl Net {
    /// Builds the interface on `enet`. `random` seeds smoltcp (TCP sequence numbers) and the
    /// first ephemeral port; take it from the RNGA.
    pub fn start(enet: Enet, random: u64) -> Result<NetHandle, NetError> {
        let buffers = TCP_BUFFERS.claim().ok_or(NetError::AlreadyStarted)?;
        let storage = SOCKET_STORAGE.claim().ok_or(NetError::AlreadyStarted)?;
        let mut enet = enet;
        let mut iface_config = Config::new(HardwareAddress::Ethernet(EthernetAddress(
            enet.mac_address(),
        )));
        iface_config.random_seed = random;
        let iface = Interface::new(iface_config, &mut enet, uptime::now());
        let mut sockets = SocketSet::new(&mut storage[..]);
        let dhcp = sockets.add(dhcpv4::Socket::new());
        let mut socket = tcp::Socket::new(
            tcp::SocketBuffer::new(&mut buffers.rx[..]),
            tcp::SocketBuffer::new(&mut buffers.tx[..]),
        );
        socket.set_timeout(Some(Duration::from_millis(TCP_TIMEOUT_MS)));
        socket.set_nagle_enabled(false); // MQTT packets are small and each is awaited
        let tcp = sockets.add(socket);
        let span = EPHEMERAL_PORTS.end() - EPHEMERAL_PORTS.start();
        // The remainder is below `span`, so it fits u16.
        let next_port = EPHEMERAL_PORTS.start() + (random % u64::from(span)) as u16;
        let net = Net {
            enet,
            iface,
            sockets,
            dhcp,
            tcp,
            link: None,
            addressing: Addressing::Waiting(None),
            gateway: None,
            next_link_check_ms: 0,
            phy_error_reported: false,
            generation: 0,
            next_port,
            events: heapless::Deque::new(),
        };
        let cell = cortex_m::singleton!(: RefCell<Net> = RefCell::new(net))
            .ok_or(NetError::AlreadyStarted)?;
        Ok(NetHandle(cell))
    }

    fn tcp_socket(&mut self) -> &mut tcp::Socket<'static> {
        self.sockets.get_mut::<tcp::Socket>(self.tcp)
    }

    fn report(&mut self, event: NetEvent) {
        if self.events.is_full() {
            self.events.pop_front(); // the oldest goes
        }
        let _ = self.events.push_back(event); // there is room now
    }

    /// Moves frames, runs timers, follows the link and DHCP.
    fn poll(&mut self) {
        let now_ms = uptime::millis();
        if now_ms >= self.next_link_check_ms {
            self.next_link_check_ms = now_ms + LINK_CHECK_INTERVAL_MS;
            self.check_link(now_ms);
        }
        self.iface
            .poll(uptime::now(), &mut self.enet, &mut self.sockets);
        let lease = match self.sockets.get_mut::<dhcpv4::Socket>(self.dhcp).poll() {
            None => None,
            Some(dhcpv4::Event::Configured(lease)) => Some(Some((lease.address, lease.router))),
            Some(dhcpv4::Event::Deconfigured) => Some(None),
        };
        match lease {
            Some(Some((address, router))) => {
                self.set_address(Some(address), router);
                self.addressing = Addressing::Dhcp(address);
                self.report(NetEvent::DhcpConfigured { address, router });
            }
            Some(None) => {
                self.set_address(None, None);
                self.addressing = Addressing::Waiting(Some(now_ms));
                self.report(NetEvent::DhcpLost);
            }
            None => {}
        }
        if let Addressing::Waiting(Some(since)) = self.addressing {
            if now_ms.saturating_sub(since) >= config::DHCP_TIMEOUT_MS {
                let address = config::STATIC_ADDRESS;
                self.set_address(Some(address), config::STATIC_GATEWAY);
                self.addressing = Addressing::Static(address);
                self.report(NetEvent::StaticFallback(address));
            }
        }
    }

    fn check_link(&mut self, now_ms: u64) {
        let link = match ksz8081::link(&self.enet) {
            Ok(link) => link,
            Err(error) => {
                if !core::mem::replace(&mut self.phy_error_reported, true) {
                    self.report(NetEvent::PhyUnreachable(error));
                }
                return;
            }
        };
        if link == self.link {
            return;
        }
        self.link = link;
        match link {
            Some(link) => {
                self.enet.set_link(link);
                self.sockets.get_mut::<dhcpv4::Socket>(self.dhcp).reset();
                if let Addressing::Waiting(_) = self.addressing {
                    self.addressing = Addressing::Waiting(Some(now_ms));
                }
                self.report(NetEvent::LinkUp(link));
            }
            None => self.report(NetEvent::LinkDown),
        }
    }

    fn set_address(&mut self, address: Option<Ipv4Cidr>, router: Option<Ipv4Address>) {
        self.iface.update_ip_addrs(|addresses| {
            addresses.clear();
            if let Some(address) = address {
                // Capacity is at least one: cannot fail after `clear`.
                let _ = addresses.push(IpCidr::Ipv4(address));
            }
        });
        let routes = self.iface.routes_mut();
        match router {
            // The table holds at least the default route: cannot fail.
            Some(router) => {
                let _ = routes.add_default_ipv4_route(router);
            }
            None => {
                let _ = routes.remove_default_ipv4_route();
            }
        }
        self.gateway = router;
    }

    fn status(&mut self) -> NetStatus {
        NetStatus {
            mac: EthernetAddress(self.enet.mac_address()),
            link: self.link,
            addressing: self.addressing,
            gateway: self.gateway,
            tcp: self.tcp_socket().state(),
            frames: self.enet.counters(),
        }
    }
}

impl NetHandle {
    /// Polls the interface once (call it from the main loop).
    pub fn poll(self) {
        if let Ok(mut net) = self.0.try_borrow_mut() {
            net.poll();
        }
    }

    /// The next thing worth printing, if any.
    pub fn take_event(self) -> Option<NetEvent> {
        self.0.try_borrow_mut().ok()?.events.pop_front()
    }

    /// A snapshot for the `status` command (`None` if the network is busy).
    pub fn status(self) -> Option<NetStatus> {
        Some(self.0.try_borrow_mut().ok()?.status())
    }

    /// Opens a TCP connection to `remote`, waiting at most `timeout_ms` for the handshake.
    /// Aborts the previous connection, if any.
    pub fn connect(
        self,
        remote: (Ipv4Address, u16),
        timeout_ms: u64,
    ) -> Result<TcpStream, ConnectError> {
        let generation = {
            let mut net = self.0.try_borrow_mut().map_err(|_| ConnectError::Busy)?;
            net.poll();
            if net.link.is_none() {
                return Err(ConnectError::NoLink);
            }
            if net.iface.ipv4_addr().is_none() {
                return Err(ConnectError::NoAddress);
            }
            if net.tcp_socket().is_open() {
                net.tcp_socket().abort();
                net.poll();
            }
            net.generation = net.generation.wrapping_add(1);
            let port = net.next_port;
            net.next_port = if port == *EPHEMERAL_PORTS.end() {
                *EPHEMERAL_PORTS.start()
            } else {
                port + 1
            };
            let Net {
                iface,
                sockets,
                tcp,
                ..
            } = &mut *net;
            sockets
                .get_mut::<tcp::Socket>(*tcp)
                .connect(iface.context(), remote, port)
                .map_err(|_| ConnectError::Unaddressable)?;
            net.generation
        };
        let deadline = uptime::millis() + timeout_ms;
        loop {
            let mut net = self.0.try_borrow_mut().map_err(|_| ConnectError::Busy)?;
            net.poll();
            match net.tcp_socket().state() {
                tcp::State::Established => {
                    return Ok(TcpStream {
                        net: self,
                        generation,
                        read_timeout_ms: None,
                    })
                }
                tcp::State::Closed => return Err(ConnectError::Refused { remote }),
                _ if uptime::millis() > deadline => {
                    net.tcp_socket().abort();
                    return Err(ConnectError::TimedOut {
                        remote,
                        after_ms: timeout_ms,
                    });
                }
                _ => {}
            }
        }
    }
}

/// The open TCP connection, as a blocking `embedded_io` stream. Dropping it closes the
/// connection gracefully (FIN; the main loop's polls finish the exchange).
pub struct TcpStream {
    net: NetHandle,
    generation: u32,
    read_timeout_ms: Option<u64>,
}

/// What one attempt at an operation found.
enum Attempt<T> {
    Done(T),
    Again,
}

impl TcpStream {
    /// Polls once, then runs `attempt` on the socket if it still belongs to this stream.
    fn try_once<T>(
        &mut self,
        attempt: impl FnOnce(&mut tcp::Socket<'static>) -> Attempt<Result<T, StreamError>>,
    ) -> Result<Attempt<T>, StreamError> {
        let mut net = self.net.0.try_borrow_mut().map_err(|_| StreamError::Busy)?;
        net.poll();
        if net.generation != self.generation {
            return Err(StreamError::Replaced);
        }
        match attempt(net.tcp_socket()) {
            Attempt::Done(result) => result.map(Attempt::Done),
            Attempt::Again => Ok(Attempt::Again),
        }
    }

    /// Repeats [`Self::try_once`] until the attempt is done, or fails with
    /// [`StreamError::TimedOut`] after `timeout_ms`.
    fn until_done_within<T>(
        &mut self,
        timeout_ms: Option<u64>,
        mut attempt: impl FnMut(&mut tcp::Socket<'static>) -> Attempt<Result<T, StreamError>>,
    ) -> Result<T, StreamError> {
        let deadline =
            timeout_ms.map(|after_ms| (uptime::millis().saturating_add(after_ms), after_ms));
        loop {
            if let Attempt::Done(value) = self.try_once(&mut attempt)? {
                return Ok(value);
            }
            if let Some((deadline, after_ms)) = deadline {
                if uptime::millis() >= deadline {
                    return Err(StreamError::TimedOut { after_ms });
                }
            }
        }
    }

    /// Repeats [`Self::try_once`] until the attempt is done.
    fn until_done<T>(
        &mut self,
        attempt: impl FnMut(&mut tcp::Socket<'static>) -> Attempt<Result<T, StreamError>>,
    ) -> Result<T, StreamError> {
        self.until_done_within(None, attempt)
    }

    /// How long `read` waits for a byte before it fails with [`StreamError::TimedOut`];
    /// `None` (the default) waits for as long as the connection lasts.
    pub fn set_read_timeout(&mut self, timeout_ms: Option<u64>) {
        self.read_timeout_ms = timeout_ms;
    }

    /// The remote endpoint and local port, while connected.
    pub fn endpoints(&mut self) -> Option<(smoltcp::wire::IpEndpoint, u16)> {
        let generation = self.generation;
        let mut net = self.net.0.try_borrow_mut().ok()?;
        if net.generation != generation {
            return None;
        }
        let socket = net.tcp_socket();
        Some((socket.remote_endpoint()?, socket.local_endpoint()?.port))
    }
}

fn not_connected(socket: &tcp::Socket<'_>) -> StreamError {
    StreamError::NotConnected {
        state: socket.state(),
    }
}

impl Drop for TcpStream {
    fn drop(&mut self) {
        if let Ok(mut net) = self.net.0.try_borrow_mut() {
            if net.generation == self.generation {
                net.tcp_socket().close();
                net.poll();
            }
        }
    }
}

impl embedded_io::ErrorType for TcpStream {
    type Error = StreamError;
}

impl embedded_io::Read for TcpStream {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, StreamError> {
        if buf.is_empty() {
            return Ok(0);
        }
        self.until_done_within(self.read_timeout_ms, |socket| {
            if socket.can_recv() || !socket.may_recv() {
                // With data: some bytes. Without, after the peer's FIN: `Finished` (EOF);
                // otherwise (reset, timeout): not connected.
                Attempt::Done(match socket.recv_slice(buf) {
                    Ok(count) => Ok(count),
                    Err(tcp::RecvError::Finished) => Ok(0),
                    Err(tcp::RecvError::InvalidState) => Err(not_connected(socket)),
                })
            } else {
                Attempt::Again
            }
        })
    }
}

impl embedded_io::ReadReady for TcpStream {
    fn read_ready(&mut self) -> Result<bool, StreamError> {
        self.until_done(|socket| Attempt::Done(Ok(socket.can_recv() || !socket.may_recv())))
    }
}

impl embedded_io::Write for TcpStream {
    fn write(&mut self, buf: &[u8]) -> Result<usize, StreamError> {
        if buf.is_empty() {
            return Ok(0);
        }
        let written = self.until_done(|socket| {
            if socket.can_send() {
                Attempt::Done(socket.send_slice(buf).map_err(|_| not_connected(socket)))
            } else if !socket.may_send() {
                Attempt::Done(Err(not_connected(socket)))
            } else {
                Attempt::Again
            }
        })?;
        self.net.poll(); // send it now rather than at the next call
        Ok(written)
    }

    fn flush(&mut self) -> Result<(), StreamError> {
        self.until_done(|socket| {
            if socket.send_queue() == 0 {
                Attempt::Done(Ok(()))
            } else if !socket.is_active() {
                Attempt::Done(Err(not_connected(socket)))
            } else {
                Attempt::Again
            }
        })
    }
}

impl embedded_io::WriteReady for TcpStream {
    fn write_ready(&mut self) -> Result<bool, StreamError> {
        self.until_done(|socket| Attempt::Done(Ok(socket.can_send() || !socket.may_send())))
    }
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

    #[test]
    fn events_read_as_sentences() {
        let event = NetEvent::DhcpConfigured {
            address: Ipv4Cidr::new(Ipv4Address::new(192, 168, 0, 50), 24),
            router: Some(Ipv4Address::new(192, 168, 0, 1)),
        };
        assert_eq!(
            format!("{event}"),
            "DHCP: address 192.168.0.50/24, gateway 192.168.0.1"
        );
        let timeout = ConnectError::TimedOut {
            remote: (Ipv4Address::new(192, 168, 0, 111), 8883),
            after_ms: 10_000,
        };
        assert_eq!(
            format!("{timeout}"),
            "no answer from 192.168.0.111:8883 within 10000 ms"
        );
    }
}
