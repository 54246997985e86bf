//! One connection to the broker: TCP to 10.0.2.2:`port`, TLS 1.3 with the broker verified
//! against the pinned CA, then the MQTT work of [`mqtt::serve`]; and the loop that connects
//! again after a failure, with the same MQTT state.

use core::cell::RefCell;

use embassy_futures::select::select;
use embassy_net::Stack;
use embassy_net::tcp::TcpSocket;
use embassy_time::{Duration, Instant as EmbassyInstant, Timer, with_timeout};
use embedded_mqtts::asynch::{Client, Idle};
use embedded_mqtts::tls::connection::{read_buffer_for, write_buffer_for};
use embedded_mqtts::tls::{
    AsyncTlsStream, MaxFragmentLength, Pin, PinnedProvider, TlsOptions, TlsSocket, ValidityTime,
    VerifyOptions,
};
use embedded_mqtts::{Instant, tls};
use firmware_net::claim::ClaimOnce;
use rand_chacha::ChaCha20Rng;

use crate::args::Args;
use crate::clock::EmbassyClock;
use crate::link::{SharedSocket, TcpLink, readable_or_closed};
use crate::mqtt::{self, MQTT_TX, MqttState, Progress};
use crate::{Failure, host, net};

/// TCP buffers: the receive side holds a whole TLS record of [`FRAGMENT`] bytes.
const TCP_RX: usize = 4608;
const TCP_TX: usize = 2048;
/// A connection attempt, or data the broker does not acknowledge, ends after this long.
const TCP_TIMEOUT: Duration = Duration::from_secs(10);
/// How long to let TCP send the last bytes (and FIN or RST) before the run ends.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);
/// Failed connections in a row (none reached CONNACK) before the run gives up.
const ATTEMPTS: u32 = 20;
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

/// Connects until the run is complete or a failure is final (see [`Failure::is_final`]).
pub async fn run(broker: &mut Broker<'_>) -> Result<Progress, Failure> {
    let io = IO.claim().expect("the I/O buffers are claimed once");
    let mqtt = MQTT.claim().expect("the MQTT state is claimed once");
    let mut progress = Progress::default();
    let mut failed_in_a_row = 0;
    loop {
        let connections = progress.connections;
        let failure = match connect_and_serve(broker, io, mqtt, &mut progress).await {
            Ok(()) => return Ok(progress),
            Err(failure) => failure,
        };
        if failure.is_final() {
            return Err(failure);
        }
        if progress.connections > connections {
            failed_in_a_row = 0;
        }
        failed_in_a_row += 1;
        if failed_in_a_row >= ATTEMPTS {
            say!("giving up after {ATTEMPTS} failed connections in a row");
            return Err(failure);
        }
        say!("connection failed: {failure}; connecting again");
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
) -> Result<(), Failure> {
    let mut socket = TcpSocket::new(broker.stack, &mut io.tcp_rx, &mut io.tcp_tx);
    socket.set_timeout(Some(TCP_TIMEOUT));
    socket
        .connect((net::HOST, broker.args.port))
        .await
        .map_err(Failure::Tcp)?;
    let shared = RefCell::new(socket);
    let result = tls_and_mqtt(
        broker,
        &shared,
        &mut io.tls_read,
        &mut io.tls_write,
        mqtt,
        progress,
    )
    .await;
    let mut socket = shared.into_inner();
    match result {
        Ok(()) => socket.close(),
        Err(_) => socket.abort(),
    }
    // Waits until the broker acknowledged everything, FIN included (or the RST is out).
    let _ = with_timeout(CLOSE_TIMEOUT, socket.flush()).await;
    result
}

async fn tls_and_mqtt(
    broker: &mut Broker<'_>,
    socket: &SharedSocket<'_>,
    tls_read: &mut [u8],
    tls_write: &mut [u8],
    mqtt: &mut MqttState,
    progress: &mut Progress,
) -> Result<(), Failure> {
    let tls_socket = TlsSocket::new(TcpLink::new(socket, broker.args.flush));
    let now = host::unix_time();
    let mut provider = PinnedProvider::new(
        &mut broker.rng,
        broker.pins,
        VerifyOptions::new(ValidityTime::UnixSeconds(now)),
    );
    let mut options = TlsOptions::new(broker.args.server_name);
    options.max_fragment_length = Some(FRAGMENT);
    let started = EmbassyInstant::now();
    let stream = AsyncTlsStream::connect(&tls_socket, tls_read, tls_write, &options, &mut provider)
        .await
        .map_err(Failure::Tls)?;
    let verified = stream.verified();
    say!(
        "TLS 1.3 up in {} ms; broker {:?} verified against the pinned CA at unix time {}",
        started.elapsed().as_millis(),
        verified.server_name().unwrap_or("?"),
        now
    );
    let mut idle = SocketIdle(socket);
    let mut client = Client::new(stream, mqtt, EmbassyClock, idle);
    mqtt::serve(&mut client, &mut idle, &broker.args, progress).await?;
    // close_notify; the run is complete whatever the broker makes of it.
    if let Err(e) = client.into_transport().close().await {
        say!("TLS close: {e}");
    }
    Ok(())
}

/// The MQTT client's idle wait: until the socket has bytes, the broker closed it, or the
/// deadline.
#[derive(Clone, Copy)]
struct SocketIdle<'s, 'd>(&'s SharedSocket<'d>);

impl Idle for SocketIdle<'_, '_> {
    async fn idle(&mut self, deadline: Option<Instant>) {
        match deadline {
            Some(deadline) => {
                let at = EmbassyClock::deadline(deadline);
                select(readable_or_closed(self.0), Timer::at(at)).await;
            }
            None => readable_or_closed(self.0).await,
        }
    }
}

impl Failure {
    /// A failure that another connection would not cure: the broker's certificate refused
    /// (an impostor), CONNECT or the subscription refused, or the run stuck.
    pub fn is_final(&self) -> bool {
        match self {
            Failure::Tls(tls::ConnectError::Verify(_)) => true,
            Failure::Mqtt(embedded_mqtts::Error::Refused(_)) => true,
            Failure::Mqtt(e) => !e.is_fatal(),
            Failure::SubscriptionRefused | Failure::NoAnswer { .. } => true,
            _ => false,
        }
    }
}
