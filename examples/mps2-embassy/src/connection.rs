//! One connection to the broker: TCP to 10.0.2.2:`port`, TLS 1.3 with the broker verified
//! against the pinned CA, then the MQTT work of [`Session::work`]; and the loop that connects
//! again after a failure, with the same MQTT state.

use core::cell::RefCell;

use embassy_net::Stack;
use embassy_net::tcp::TcpSocket;
use embassy_time::{Duration, Instant as EmbassyInstant, Timer, with_timeout};
use embedded_mqtts::asynch::Client;
use embedded_mqtts::tls;
use embedded_mqtts::tls::connection::{read_buffer_for, write_buffer_for};
use embedded_mqtts::tls::{
    AsyncTlsStream, MaxFragmentLength, Pin, PinnedProvider, TlsOptions, TlsSocket, ValidityTime,
    VerifyOptions,
};
use firmware_net::claim::ClaimOnce;
use rand_chacha::ChaCha20Rng;

use crate::args::Args;
use crate::clock::EmbassyClock;
use crate::link::{SharedSocket, SocketIdle, TcpLink};
use crate::mqtt::{MQTT_TX, MqttState, Progress, STALL, Session};
use crate::{Failure, host, net};

/// TCP buffers: the receive side holds a whole TLS record of [`FRAGMENT`] bytes.
const TCP_RX: usize = 4608;
const TCP_TX: usize = 2048;
/// A connection attempt, or data the broker does not acknowledge, ends after this long.
const TCP_TIMEOUT: Duration = Duration::from_secs(10);
/// How long to let TCP send the last bytes (and FIN or RST) before the run ends.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);
/// Connections one run may open before it gives up.
const MAX_CONNECTIONS: u32 = 20;
/// The pause between two attempts.
const RECONNECT_PAUSE: Duration = Duration::from_millis(500);

/// Records of at most 4 KiB (RFC 6066 max_fragment_length, which Mosquitto honours): the TLS
/// read buffer is 4,352 bytes instead of 16,640.
const FRAGMENT: MaxFragmentLength = MaxFragmentLength::Bits12;
const TLS_READ: usize = read_buffer_for(FRAGMENT);
const TLS_WRITE: usize = write_buffer_for(MQTT_TX);

/// The socket and TLS buffers, all zero at start (so in `.bss`).
struct IoBuffers {
    tcp_rx: [u8; TCP_RX],
    tcp_tx: [u8; TCP_TX],
    tls_read: [u8; TLS_READ],
    tls_write: [u8; TLS_WRITE],
}

static IO: ClaimOnce<IoBuffers> = ClaimOnce::new(IoBuffers {
    tcp_rx: [0; TCP_RX],
    tcp_tx: [0; TCP_TX],
    tls_read: [0; TLS_READ],
    tls_write: [0; TLS_WRITE],
});
static MQTT: ClaimOnce<MqttState> = ClaimOnce::new(MqttState::new());

/// What a connection needs that does not change between connections.
pub struct Broker<'a> {
    pub stack: Stack<'static>,
    pub args: Args<'a>,
    pub pins: &'a [Pin<'a>],
    pub rng: ChaCha20Rng,
}

/// Connects until the run is complete, a failure is final (see [`Failure::is_final`]), or
/// the run's time (`timeout=`) or [`MAX_CONNECTIONS`] are used up.
pub async fn run(broker: &mut Broker<'_>, progress: &mut Progress) -> Result<(), Failure> {
    let io = IO.claim().expect("the I/O buffers are claimed once");
    let mqtt = MQTT.claim().expect("the MQTT state is claimed once");
    let deadline = EmbassyInstant::now() + Duration::from_secs(u64::from(broker.args.timeout_secs));
    loop {
        progress.connections += 1;
        let failure = match connect_and_serve(broker, io, mqtt, progress, deadline).await {
            Ok(()) => return Ok(()),
            Err(failure) => failure,
        };
        if failure.is_final()
            || progress.connections >= MAX_CONNECTIONS
            || EmbassyInstant::now() >= deadline
        {
            return Err(failure);
        }
        say!(
            "connection {} lost: {}; reconnecting",
            progress.connections,
            failure
        );
        Timer::after(RECONNECT_PAUSE).await;
    }
}

/// One connection, from TCP to DISCONNECT. The socket is closed (FIN) after a complete run,
/// reset (RST) after a failure.
async fn connect_and_serve(
    broker: &mut Broker<'_>,
    io: &mut IoBuffers,
    mqtt: &mut MqttState,
    progress: &mut Progress,
    deadline: EmbassyInstant,
) -> Result<(), Failure> {
    let mut socket = TcpSocket::new(broker.stack, &mut io.tcp_rx, &mut io.tcp_tx);
    socket.set_timeout(Some(TCP_TIMEOUT));
    // Each MQTT packet is one TLS record, handed over whole; Nagle would hold small records
    // until the previous ones are acknowledged, and the peer delays its ACKs (README.md).
    socket.set_nagle_enabled(false);
    socket
        .connect((net::HOST, broker.args.port))
        .await
        .map_err(Failure::Tcp)?;
    let shared = RefCell::new(socket);
    let result = {
        let tls_socket = TlsSocket::new(TcpLink::new(&shared));
        let tls = TlsResources {
            tls_socket: &tls_socket,
            tls_read: &mut io.tls_read,
            tls_write: &mut io.tls_write,
        };
        tls.serve(broker, &shared, mqtt, progress, deadline).await
    };
    let mut socket = shared.into_inner();
    match result {
        Ok(()) => socket.close(),
        Err(_) => socket.abort(),
    }
    // Waits until the broker acknowledged everything, FIN included (or the RST is out).
    let _ = with_timeout(CLOSE_TIMEOUT, socket.flush()).await;
    result
}

/// What the TLS stream of one connection borrows: the socket under it and its buffers.
struct TlsResources<'c, 's, 'd> {
    tls_socket: &'c TlsSocket<TcpLink<'s, 'd>>,
    tls_read: &'c mut [u8],
    tls_write: &'c mut [u8],
}

impl<'c, 's, 'd> TlsResources<'c, 's, 'd> {
    /// The TLS handshake, verified against the pins at the host's time, then the MQTT work.
    async fn serve(
        self,
        broker: &mut Broker<'_>,
        socket: &'s SharedSocket<'d>,
        mqtt: &'c mut MqttState,
        progress: &mut Progress,
        deadline: EmbassyInstant,
    ) -> Result<(), Failure> {
        // Emulator only: the time comes from the host (see host.rs).
        let now = host::unix_time();
        let mut provider = PinnedProvider::new(
            &mut broker.rng,
            broker.pins,
            VerifyOptions::new(ValidityTime::UnixSeconds(now)),
        );
        let mut options = TlsOptions::new(broker.args.name);
        options.max_fragment_length = Some(FRAGMENT);
        let started = EmbassyInstant::now();
        // A handshake that stalls is dropped with its connection (see mqtt.rs).
        let handshake = AsyncTlsStream::connect(
            self.tls_socket,
            self.tls_read,
            self.tls_write,
            &options,
            &mut provider,
        );
        let stream = with_timeout(STALL, handshake)
            .await
            .map_err(|_| Failure::Stalled("the TLS handshake"))?
            .map_err(Failure::Tls)?;
        say!(
            "TLS 1.3 up in {} ms; broker {:?} verified against the pinned CA at unix time {}",
            started.elapsed().as_millis(),
            stream.verified().server_name().unwrap_or("?"),
            now
        );
        let idle = SocketIdle(socket);
        let mut session = Session {
            client: Client::new(stream, mqtt, EmbassyClock, idle),
            idle,
            args: &broker.args,
            progress,
            deadline,
        };
        session.work().await?;
        // close_notify; the run is complete whatever the broker makes of it.
        if let Err(e) = session.client.into_transport().close().await {
            say!("closing TLS after DISCONNECT: {}", e);
        }
        Ok(())
    }
}

impl Failure {
    /// A failure that another connection would not cure: the broker's certificate refused
    /// (an impostor), CONNECT, the client certificate or the subscription refused, an error
    /// of this firmware's use of the client, or the run's time up.
    pub fn is_final(&self) -> bool {
        use embedded_mqtts::Error;
        match self {
            Failure::Tls(tls::ConnectError::Verify(_)) => true,
            Failure::Mqtt(Error::Refused(_) | Error::ClientCertificateRefused) => true,
            Failure::Mqtt(e) => !e.is_fatal(),
            Failure::SubscriptionRefused | Failure::Unfinished(..) => true,
            _ => false,
        }
    }
}
