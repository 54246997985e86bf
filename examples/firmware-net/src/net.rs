//! IPv4 networking on any smoltcp device: link tracking, DHCP with a static fallback, and one
//! TCP connection as a blocking `embedded_io` stream. The FRDM-K64F (ENET MAC, KSZ8081 PHY)
//! and the emulated `mps2-an386` board (LAN9118) run these same lines.
//!
//! What a board supplies: its Ethernet driver as a [`Nic`] (a smoltcp `phy::Device` that also
//! tells its MAC address, link and frame counters), a clock since boot as an [`Uptime`], and
//! the [`Settings`] (DHCP timeout, static fallback address).
//!
//! [`Net`] owns the device, the smoltcp interface and two sockets (DHCPv4 and TCP). The board
//! puts it in a `static` behind a `RefCell`; [`NetHandle`] is a copyable `&'static` to it, so
//! a main loop and a [`TcpStream`] held by the MQTT client can both reach it. Every operation
//! borrows it for one poll and lets go, so nothing is held across calls.
//!
//! Addressing: the DHCP client runs from the first link-up. If it has no lease
//! [`Settings::dhcp_timeout_ms`] after the link came up, the static address is used; a lease
//! that arrives later replaces it. A link change restarts DHCP discovery. The driver is asked
//! for the link once a second ([`Nic::link`]), and told when it changes ([`Nic::link_changed`]).
//!
//! The stream is blocking in the `embedded_io` sense: [`TcpStream`]'s `read` polls the
//! interface until at least one byte arrives (or the connection ends), `write` until some
//! bytes fit the socket buffer and then polls once more so that they leave at once (a TLS
//! record written without a flush still goes out); `flush` polls once more and does not
//! wait for the peer's acknowledgement. A caller that must not block (MQTT keep-alive) asks
//! `read_ready` first. A peer that stops acknowledging is detected by smoltcp's
//! retransmission timeout ([`TCP_TIMEOUT_MS`]), after which every call returns
//! [`StreamError::NotConnected`]; a peer that acknowledges but stops sending (a broker stuck
//! in the TLS handshake, a TLS record cut short) is caught by the read timeout
//! ([`TcpStream::set_read_timeout`], none by default): `read` then returns
//! [`StreamError::TimedOut`].
//!
//! There is one TCP socket: a new [`NetHandle::connect`] aborts the previous connection,
//! and streams of the previous connection then fail with [`StreamError::Replaced`] rather
//! than read the new connection's bytes.

use crate::claim::ClaimOnce;
use crate::Counters;
use core::cell::RefCell;
use core::fmt;
use core::mem::MaybeUninit;
use smoltcp::iface::{Config, Interface, SocketHandle, SocketSet, SocketStorage};
use smoltcp::phy::Device;
use smoltcp::socket::{dhcpv4, tcp};
use smoltcp::time::{Duration, Instant};
use smoltcp::wire::{EthernetAddress, HardwareAddress, IpCidr, Ipv4Address, Ipv4Cidr};

/// What the network layer needs from a board's Ethernet driver besides smoltcp's `Device`.
pub trait Nic: Device {
    /// What the PHY reports when the link is up (speed and duplex, or just "up").
    type Link: Copy + PartialEq + fmt::Debug + fmt::Display;
    /// Why the PHY could not be asked.
    type LinkError: Copy + PartialEq + fmt::Debug + fmt::Display;

    /// The MAC address.
    fn mac_address(&self) -> [u8; 6];
    /// Asks the PHY for the link: `None` while it is down. Called once a second.
    fn link(&mut self) -> Result<Option<Self::Link>, Self::LinkError>;
    /// The link came up as `link`: set the MAC to match (speed, duplex). Nothing by default.
    fn link_changed(&mut self, link: Self::Link) {
        let _ = link;
    }
    /// Frames received, dropped and sent.
    fn counters(&self) -> Counters;
}

/// Monotonic time since boot, as the board counts it.
pub trait Uptime {
    /// Microseconds since boot (must not wrap in the device's lifetime).
    fn micros(&self) -> u64;

    /// Milliseconds since boot.
    fn millis(&self) -> u64 {
        self.micros() / 1000
    }

    /// The time as smoltcp wants it.
    fn instant(&self) -> Instant {
        // Below 2^63 microseconds for 290,000 years.
        Instant::from_micros(self.micros() as i64)
    }
}

/// Addressing settings of a board.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Settings {
    /// How long DHCP may take after link-up before the static address is used.
    pub dhcp_timeout_ms: u64,
    /// Static fallback address and prefix (a unicast address: smoltcp refuses others).
    pub static_address: Ipv4Cidr,
    /// Static fallback gateway.
    pub static_gateway: Option<Ipv4Address>,
}

/// TCP receive buffer (also the largest window advertised). The TLS layer asks the broker for
/// records of at most 4 KiB and reads them as they come, so one record's worth is enough.
pub const TCP_RX_SIZE: usize = 4096;
/// TCP send buffer: one MSS (1,460 bytes on Ethernet) and a little more. The largest TLS record
/// the firmwares send is 1,157 bytes (a 1 KiB MQTT packet, `write_buffer_for`), so a record
/// fits whole; `write` waits for acknowledgements when the previous one is still unacknowledged.
pub const TCP_TX_SIZE: usize = 1536;
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

/// Socket slots. An empty slot is not all-zero bytes, so a static initialised with empty slots
/// would go to `.data`, whose 680 bytes of initial values are kept in flash; uninitialised it
/// goes to `.bss`, and [`Net::new`] writes the empty slots when it claims them (352 bytes of
/// flash less on mps2-eth, the code and constant that write them counted).
static SOCKET_STORAGE: ClaimOnce<MaybeUninit<[SocketStorage<'static>; 2]>> =
    ClaimOnce::new(MaybeUninit::uninit());

/// Where the interface's address came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Addressing {
    /// No address yet; waiting for DHCP since this uptime (ms), or for a link (`None`).
    Waiting(Option<u64>),
    /// A DHCP lease.
    Dhcp(Ipv4Cidr),
    /// The static fallback of [`Settings`].
    Static(Ipv4Cidr),
}

/// Something the console should tell the user about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NetEvent<L, E> {
    /// The PHY reports a link; the MAC was set to match.
    LinkUp(L),
    /// The link went down.
    LinkDown,
    /// The PHY did not answer.
    PhyUnreachable(E),
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
    StaticFallback {
        /// The static address.
        address: Ipv4Cidr,
        /// How long DHCP had.
        after_ms: u64,
    },
}

impl<L: fmt::Display, E: fmt::Display> fmt::Display for NetEvent<L, E> {
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
            NetEvent::StaticFallback { address, after_ms } => write!(
                f,
                "no DHCP answer within {} s: static address {address}",
                after_ms / 1000
            ),
        }
    }
}

/// A snapshot for the `status` command.
#[derive(Clone, Copy, Debug)]
pub struct NetStatus<L> {
    /// The MAC address.
    pub mac: EthernetAddress,
    /// The link, if up.
    pub link: Option<L>,
    /// The address and where it came from.
    pub addressing: Addressing,
    /// The default gateway.
    pub gateway: Option<Ipv4Address>,
    /// The TCP socket's state.
    pub tcp: tcp::State,
    /// Frame counters.
    pub frames: Counters,
}

impl<L: fmt::Display> fmt::Display for NetStatus<L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "  MAC       : {}\r\n  link      : ", self.mac)?;
        match &self.link {
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
    /// [`Net::new`] was called before: there is one interface (its socket buffers are statics).
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

/// A [`NetEvent`] of the device `N`.
pub type Event<N> = NetEvent<<N as Nic>::Link, <N as Nic>::LinkError>;

/// The network interface and its sockets, on the device `N` with the clock `C`.
pub struct Net<N: Nic, C: Uptime> {
    nic: N,
    uptime: C,
    settings: Settings,
    iface: Interface,
    sockets: SocketSet<'static>,
    dhcp: SocketHandle,
    tcp: SocketHandle,
    link: Option<N::Link>,
    addressing: Addressing,
    gateway: Option<Ipv4Address>,
    next_link_check_ms: u64,
    phy_error_reported: bool,
    generation: u32,
    next_port: u16,
    events: heapless::Deque<Event<N>, 8>,
}

/// A shared reference to the one [`Net`].
pub struct NetHandle<N: Nic + 'static, C: Uptime + 'static>(&'static RefCell<Net<N, C>>);

impl<N: Nic, C: Uptime> Clone for NetHandle<N, C> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<N: Nic, C: Uptime> Copy for NetHandle<N, C> {}

impl<N: Nic, C: Uptime> Net<N, C> {
    /// Builds the interface on `nic`. `random` seeds smoltcp (TCP sequence numbers) and the
    /// first ephemeral port: take it from a hardware random generator. Put the result in a
    /// `static` and make a [`NetHandle`] of it; there is one per program (the socket buffers
    /// are statics of this module).
    pub fn new(mut nic: N, uptime: C, settings: Settings, random: u64) -> Result<Self, NetError> {
        let buffers = TCP_BUFFERS.claim().ok_or(NetError::AlreadyStarted)?;
        let storage = SOCKET_STORAGE
            .claim()
            .ok_or(NetError::AlreadyStarted)?
            .write([SocketStorage::EMPTY, SocketStorage::EMPTY]);
        let mut iface_config = Config::new(HardwareAddress::Ethernet(EthernetAddress(
            nic.mac_address(),
        )));
        iface_config.random_seed = random;
        let iface = Interface::new(iface_config, &mut nic, uptime.instant());
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
        Ok(Net {
            nic,
            uptime,
            settings,
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
        })
    }

    /// The device, e.g. for its interrupts.
    pub fn nic(&mut self) -> &mut N {
        &mut self.nic
    }

    fn tcp_socket(&mut self) -> &mut tcp::Socket<'static> {
        self.sockets.get_mut::<tcp::Socket>(self.tcp)
    }

    fn report(&mut self, event: Event<N>) {
        if self.events.is_full() {
            self.events.pop_front(); // the oldest goes
        }
        let _ = self.events.push_back(event); // there is room now
    }

    /// Moves frames, runs timers, follows the link and DHCP.
    fn poll(&mut self) {
        let now_ms = self.uptime.millis();
        if now_ms >= self.next_link_check_ms {
            self.next_link_check_ms = now_ms + LINK_CHECK_INTERVAL_MS;
            self.check_link(now_ms);
        }
        let now = self.uptime.instant();
        self.iface.poll(now, &mut self.nic, &mut self.sockets);
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
                // smoltcp also says so when discovery restarts without a lease (link-up).
                let had_lease = matches!(self.addressing, Addressing::Dhcp(_));
                self.set_address(None, None);
                self.addressing = Addressing::Waiting(Some(now_ms));
                if had_lease {
                    self.report(NetEvent::DhcpLost);
                }
            }
            None => {}
        }
        if let Addressing::Waiting(Some(since)) = self.addressing {
            let Settings {
                dhcp_timeout_ms,
                static_address: address,
                static_gateway,
            } = self.settings;
            if now_ms.saturating_sub(since) >= dhcp_timeout_ms {
                self.set_address(Some(address), static_gateway);
                self.addressing = Addressing::Static(address);
                self.report(NetEvent::StaticFallback {
                    address,
                    after_ms: dhcp_timeout_ms,
                });
            }
        }
    }

    fn check_link(&mut self, now_ms: u64) {
        let link = match self.nic.link() {
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
                self.nic.link_changed(link);
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

    fn status(&mut self) -> NetStatus<N::Link> {
        NetStatus {
            mac: EthernetAddress(self.nic.mac_address()),
            link: self.link,
            addressing: self.addressing,
            gateway: self.gateway,
            tcp: self.tcp_socket().state(),
            frames: self.nic.counters(),
        }
    }
}

impl<N: Nic, C: Uptime> NetHandle<N, C> {
    /// A handle to `net`, which lives in a `static`.
    pub fn new(net: &'static RefCell<Net<N, C>>) -> Self {
        NetHandle(net)
    }

    /// Milliseconds since boot, from the board's clock; `None` while the network is borrowed
    /// (re-entrant use).
    fn millis(self) -> Option<u64> {
        Some(self.0.try_borrow().ok()?.uptime.millis())
    }

    /// Polls the interface once (call it from the main loop).
    pub fn poll(self) {
        if let Ok(mut net) = self.0.try_borrow_mut() {
            net.poll();
        }
    }

    /// The next thing worth printing, if any.
    pub fn take_event(self) -> Option<Event<N>> {
        self.0.try_borrow_mut().ok()?.events.pop_front()
    }

    /// A snapshot for the `status` command (`None` if the network is busy).
    pub fn status(self) -> Option<NetStatus<N::Link>> {
        Some(self.0.try_borrow_mut().ok()?.status())
    }

    /// Opens a TCP connection to `remote`, waiting at most `timeout_ms` for the handshake.
    /// Aborts the previous connection, if any.
    pub fn connect(
        self,
        remote: (Ipv4Address, u16),
        timeout_ms: u64,
    ) -> Result<TcpStream<N, C>, ConnectError> {
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
        let deadline = self
            .millis()
            .ok_or(ConnectError::Busy)?
            .saturating_add(timeout_ms);
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
                _ if net.uptime.millis() > deadline => {
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
pub struct TcpStream<N: Nic + 'static, C: Uptime + 'static> {
    net: NetHandle<N, C>,
    generation: u32,
    read_timeout_ms: Option<u64>,
}

/// What one attempt at an operation found.
enum Attempt<T> {
    Done(T),
    Again,
}

impl<N: Nic, C: Uptime> TcpStream<N, C> {
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
        let now = |net: NetHandle<N, C>| net.millis().ok_or(StreamError::Busy);
        let deadline = match timeout_ms {
            Some(after_ms) => Some((now(self.net)?.saturating_add(after_ms), after_ms)),
            None => None,
        };
        loop {
            if let Attempt::Done(value) = self.try_once(&mut attempt)? {
                return Ok(value);
            }
            if let Some((deadline, after_ms)) = deadline {
                if now(self.net)? >= deadline {
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

impl<N: Nic, C: Uptime> Drop for TcpStream<N, C> {
    fn drop(&mut self) {
        if let Ok(mut net) = self.net.0.try_borrow_mut() {
            if net.generation == self.generation {
                net.tcp_socket().close();
                net.poll();
            }
        }
    }
}

impl<N: Nic, C: Uptime> embedded_io::ErrorType for TcpStream<N, C> {
    type Error = StreamError;
}

impl<N: Nic, C: Uptime> embedded_io::Read for TcpStream<N, C> {
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

impl<N: Nic, C: Uptime> embedded_io::ReadReady for TcpStream<N, C> {
    fn read_ready(&mut self) -> Result<bool, StreamError> {
        self.until_done(|socket| Attempt::Done(Ok(socket.can_recv() || !socket.may_recv())))
    }
}

impl<N: Nic, C: Uptime> embedded_io::Write for TcpStream<N, C> {
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

    /// Hands what was written to the network and returns: it polls the interface once more
    /// (`write` already did, so the bytes are on their way as far as the peer's window lets
    /// them) and does not wait for the peer's acknowledgement. Retransmission is smoltcp's
    /// job; a connection that breaks meanwhile fails the next call. Waiting for the ACK (as
    /// this did before) costs a round trip per flush on a real link, and the TLS and MQTT
    /// layers flush after every record and packet; under QEMU, whose user-mode TCP answers at
    /// once, both ways measured the same (50 QoS 2 messages in 1.0 s after the handshake).
    fn flush(&mut self) -> Result<(), StreamError> {
        self.until_done(|socket| {
            if socket.is_active() {
                Attempt::Done(Ok(()))
            } else {
                Attempt::Done(Err(not_connected(socket)))
            }
        })
    }
}

impl<N: Nic, C: Uptime> embedded_io::WriteReady for TcpStream<N, C> {
    fn write_ready(&mut self) -> Result<bool, StreamError> {
        self.until_done(|socket| Attempt::Done(Ok(socket.can_send() || !socket.may_send())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A link as a test PHY would report it.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    struct Up;

    impl fmt::Display for Up {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("up")
        }
    }

    #[test]
    fn events_read_as_sentences() {
        let event: NetEvent<Up, Up> = NetEvent::DhcpConfigured {
            address: Ipv4Cidr::new(Ipv4Address::new(192, 168, 0, 50), 24),
            router: Some(Ipv4Address::new(192, 168, 0, 1)),
        };
        assert_eq!(
            format!("{event}"),
            "DHCP: address 192.168.0.50/24, gateway 192.168.0.1"
        );
        let fallback: NetEvent<Up, Up> = NetEvent::StaticFallback {
            address: Ipv4Cidr::new(Ipv4Address::new(10, 0, 2, 15), 24),
            after_ms: 10_000,
        };
        assert_eq!(
            format!("{fallback}"),
            "no DHCP answer within 10 s: static address 10.0.2.15/24"
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
