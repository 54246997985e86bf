//! One connection to the broker: TCP to 10.0.2.2:`port`, TLS 1.3 with the broker verified
//! against the pinned CA, MQTT CONNECT, then the MQTT work of
//! [`Session::work`]; and the loop that connects again after a failure, over the same
//! [`Connection`] (the persistent session: what is in flight is re-sent).

use embassy_net::Stack;
use embassy_net::tcp::TcpSocket;
use embassy_time::{Duration, Instant as EmbassyInstant, Timer, with_timeout};
use embedded_mqtts::asynch::Client;
use embedded_mqtts::tls::{
    AsyncTlsStream, ClientError, ConnectError, FlushPolicy, MaxFragmentLength, PinnedProvider,
    TlsOptions, TlsSocket, ValidityTime, read_buffer_for, write_buffer_for,
};
use embedded_mqtts::{ConnectOptions, Connection, Error};
use firmware_net::claim::ClaimOnce;

use crate::args::Args;
use crate::clock::EmbassyClock;
use crate::idle::{Socket, SocketIdle};
use crate::mqtt::{Download, MQTT_TX, MqttStorage, Progress, STALL, Session};
use crate::rng::CtrRng;
use crate::{Failure, PINS, host, net};

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

/// Each TLS record is handed to the socket's `write`; its `flush` would wait for the broker's
/// TCP acknowledgement, a round trip per MQTT packet (README.md). The feature `strict-flush`
/// restores that wait, to measure it.
pub const FLUSH_POLICY: FlushPolicy = if cfg!(feature = "strict-flush") {
    FlushPolicy::Strict
} else {
    FlushPolicy::Relaxed
};

/// The client identifier: the same on every connection, so the session resumes.
const CLIENT_ID: &str = "mps2-embassy";
/// How long CONNACK, SUBACK and PINGRESP may take.
const RESPONSE_TIMEOUT_MS: u32 = 10_000;

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
/// The MQTT connection's memory: it outlives every TCP connection of the run.
static MQTT: ClaimOnce<MqttStorage> = ClaimOnce::new(MqttStorage::new());

/// What a connection needs that does not change between connections.
pub struct Broker<'a> {
    pub stack: Stack<'static>,
    pub args: Args<'a>,
    pub rng: CtrRng,
}

/// Connects until the run is complete, a failure is final (see [`Failure::is_final`]), or
/// the run's time (`timeout=`) or [`MAX_CONNECTIONS`] are used up.
pub async fn run(broker: &mut Broker<'_>, progress: &mut Progress) -> Result<(), Failure> {
    let io = IO.claim().expect("the I/O buffers are claimed once");
    let storage = MQTT.claim().expect("the MQTT storage is claimed once");
    let mut conn = Connection::new(storage.buffers());
    let deadline = EmbassyInstant::now() + Duration::from_secs(u64::from(broker.args.timeout_secs));
    loop {
        progress.connections += 1;
        let failure = match connect_and_serve(broker, io, &mut conn, progress, deadline).await {
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
    conn: &mut Connection<'_>,
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
    let socket = TlsSocket::new(socket);
    let result = serve(
        broker,
        &socket,
        (&mut io.tls_read, &mut io.tls_write),
        conn,
        progress,
        deadline,
    )
    .await;
    let mut socket = socket.into_inner();
    match result {
        Ok(()) => socket.close(),
        Err(_) => socket.abort(),
    }
    // Waits until the broker acknowledged everything, FIN included (or the RST is out).
    let _ = with_timeout(CLOSE_TIMEOUT, socket.flush()).await;
    result
}

/// The TLS handshake (the broker verified against the pins at the host's time) and CONNECT,
/// then the MQTT work, then close_notify.
async fn serve(
    broker: &mut Broker<'_>,
    socket: &Socket<'_>,
    (tls_read, tls_write): (&mut [u8], &mut [u8]),
    conn: &mut Connection<'_>,
    progress: &mut Progress,
    deadline: EmbassyInstant,
) -> Result<(), Failure> {
    // Emulator only: the time comes from the host (see host.rs).
    let now = host::unix_time();
    let mut provider = PinnedProvider::new(&mut broker.rng, PINS);
    let mut tls_options = TlsOptions::new(broker.args.name, ValidityTime::UnixSeconds(now))
        .flush_policy(FLUSH_POLICY);
    tls_options.max_fragment_length = Some(FRAGMENT);
    let mut options = ConnectOptions::new(CLIENT_ID);
    options.clean_session = false;
    options.keep_alive_secs = broker.args.keep_alive_secs;
    options.response_timeout_ms = RESPONSE_TIMEOUT_MS;
    let started = EmbassyInstant::now();
    // `tls::connect_async(..)` is these two steps in one call with one error; written out, the
    // deepest stack of the run is 7.7 KB less (25,120 bytes against 32,832: README.md). A step
    // that stalls is dropped with its connection (see mqtt.rs).
    let handshake =
        AsyncTlsStream::connect(socket, tls_read, tls_write, &tls_options, &mut provider);
    let stream = with_timeout(STALL, handshake)
        .await
        .map_err(|_| Failure::Stalled("the TLS handshake"))?
        .map_err(|e| Failure::Client(e.into()))?;
    say!(
        "TLS 1.3 up in {} ms; broker '{}' verified against the pinned CA at unix time {}",
        started.elapsed().as_millis(),
        stream.verified().server_name().unwrap_or("?"),
        now
    );
    let mut client = Client::new(stream, conn, EmbassyClock, SocketIdle(socket));
    let connected = match with_timeout(STALL, client.connect(&options)).await {
        Err(_) => return Err(Failure::Stalled("CONNACK")),
        Ok(Err(e)) => {
            return Err(Failure::Client(ClientError::over_tls(
                e,
                client.transport().failure(),
            )));
        }
        Ok(Ok(connected)) => connected,
    };
    say!(
        "connected (connection {}, session present {}, re-sending {})",
        progress.connections,
        connected.session_present,
        connected.resending
    );
    let mut session = Session {
        client,
        args: &broker.args,
        progress,
        deadline,
        download: Download::new(),
    };
    session.work(connected).await?;
    // close_notify; the run is complete whatever the broker makes of it.
    if let Err(e) = session.client.into_transport().close().await {
        say!("closing TLS after DISCONNECT: {}", e);
    }
    Ok(())
}

impl Failure {
    /// A failure that another connection would not cure: the broker's certificate refused
    /// (an impostor), CONNECT, the client certificate or the subscription refused, an error
    /// of this firmware's use of the client, or the run's time up.
    pub fn is_final(&self) -> bool {
        match self {
            Failure::Client(ClientError::Tls(ConnectError::Verify(_))) => true,
            Failure::Client(ClientError::ClientCertificateRefused(_)) => true,
            Failure::Client(ClientError::Mqtt(Error::Refused(_))) => true,
            Failure::Client(ClientError::Mqtt(e)) => !e.is_fatal(),
            Failure::SubscriptionRefused | Failure::Unfinished(..) => true,
            _ => false,
        }
    }
}
