//! TLS and MQTT in one call: the handshake with the broker verified against the pin, then
//! CONNECT, with one error type for both ([`ClientError`]).
//!
//! This is also where a broker's refusal of the client certificate is recognised: TLS 1.3
//! brings the broker's verdict only after the handshake, on the first read or write of the
//! MQTT CONNECT, and only the TLS stream knows that its failure there was that verdict. The
//! MQTT client reports every transport failure as
//! [`Error::Transport`](crate::Error::Transport) without interpreting it; [`connect`] asks the
//! stream and turns such a failure into [`ClientError::ClientCertificateRefused`].

use core::fmt;

use embedded_io::ReadReady;

use super::{
    AsyncTlsStream, ClientCertificateRefused, ConnectError, MaybeClientIdentity, PinnedProvider,
    StreamError, TlsFailure, TlsOptions, TlsSocket, TlsStream,
};
use crate::asynch::Idle;
use crate::client::{asynch, blocking, Connected, Connection};
use crate::error::Error;
use crate::session::ConnectOptions;
use crate::time::Clock;

/// Why a TLS client failed: the handshake (the broker's certificate refused, with its
/// reason), the broker's refusal of our certificate, or MQTT. `?` converts both the TLS and
/// the MQTT errors into it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ClientError {
    /// The TLS handshake failed or the broker was refused.
    Tls(ConnectError),
    /// The broker refused the client certificate (or its absence) right after the handshake.
    ClientCertificateRefused(ClientCertificateRefused),
    /// The TLS stream failed after the handshake: an alert, a record that does not decrypt,
    /// a handshake message the broker must not send then, the connection closed without
    /// close_notify, ...
    Stream(TlsFailure),
    /// MQTT failed (CONNACK refusal, timeout, transport error, ...).
    Mqtt(Error),
}

impl From<ConnectError> for ClientError {
    fn from(e: ConnectError) -> Self {
        match e {
            ConnectError::ClientCertificateRefused(refusal) => {
                ClientError::ClientCertificateRefused(refusal)
            }
            other => ClientError::Tls(other),
        }
    }
}

impl From<Error> for ClientError {
    fn from(e: Error) -> Self {
        ClientError::Mqtt(e)
    }
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::Tls(e) => e.fmt(f),
            ClientError::ClientCertificateRefused(e) => e.fmt(f),
            ClientError::Stream(e) => write!(f, "TLS stream failed: {e}"),
            ClientError::Mqtt(e) => e.fmt(f),
        }
    }
}

impl core::error::Error for ClientError {}

impl ClientError {
    /// The most precise error for `error`, an MQTT failure over a TLS stream whose own first
    /// failure is `stream_failure` (`stream.failure()`): a transport error there is what the
    /// stream knows of it (the broker refusing our certificate, an alert, a bad record, ...).
    /// [`connect`] does this for CONNECT; call it with any later error of the client:
    /// `ClientError::over_tls(e, client.transport().failure())`.
    pub fn over_tls(error: Error, stream_failure: Option<StreamError>) -> Self {
        match (error, stream_failure) {
            (Error::Transport(_), Some(StreamError::ClientCertificateRefused(refusal))) => {
                ClientError::ClientCertificateRefused(refusal)
            }
            (Error::Transport(_), Some(StreamError::Tls(failure))) => ClientError::Stream(failure),
            (error, _) => ClientError::Mqtt(error),
        }
    }
}

/// The blocking client over TLS, as [`connect`] returns it.
pub type TlsClient<'s, 'c, 'b, S, C> = blocking::Client<'c, 'b, TlsStream<'s, S>, C>;

/// The async client over TLS, as [`connect_async`] returns it.
pub type AsyncTlsClient<'s, 'c, 'b, S, C, I> = asynch::Client<'c, 'b, AsyncTlsStream<'s, S>, C, I>;

/// Run the TLS handshake over `socket` (the broker verified against `provider`'s pins, at
/// the time `tls` gives), then MQTT CONNECT on `conn`: a blocking client that is connected.
///
/// The buffers hold one TLS record each way (see [`TlsStream::connect`]).
#[allow(clippy::too_many_arguments)] // each is a different thing the caller owns
pub fn connect<'s, 'c, 'b, S, R, I, C>(
    socket: &'s TlsSocket<S>,
    read_buffer: &'s mut [u8],
    write_buffer: &'s mut [u8],
    tls: &TlsOptions<'_>,
    provider: &mut PinnedProvider<'_, R, I>,
    conn: &'c mut Connection<'b>,
    clock: C,
    options: &ConnectOptions<'_>,
) -> Result<(TlsClient<'s, 'c, 'b, S, C>, Connected), ClientError>
where
    S: embedded_io::Read + embedded_io::Write + ReadReady,
    R: rand_core::CryptoRngCore,
    I: MaybeClientIdentity,
    C: Clock,
{
    let stream = TlsStream::connect(socket, read_buffer, write_buffer, tls, provider)?;
    let mut client = blocking::Client::new(stream, conn, clock);
    match client.connect(options) {
        Ok(connected) => Ok((client, connected)),
        Err(e) => Err(ClientError::over_tls(e, client.transport().failure())),
    }
}

/// [`connect`] for the async client, which waits with `idle` while nothing is readable.
#[allow(clippy::too_many_arguments)] // each is a different thing the caller owns
pub async fn connect_async<'s, 'c, 'b, S, R, I, C, W>(
    socket: &'s TlsSocket<S>,
    read_buffer: &'s mut [u8],
    write_buffer: &'s mut [u8],
    tls: &TlsOptions<'_>,
    provider: &mut PinnedProvider<'_, R, I>,
    conn: &'c mut Connection<'b>,
    clock: C,
    idle: W,
    options: &ConnectOptions<'_>,
) -> Result<(AsyncTlsClient<'s, 'c, 'b, S, C, W>, Connected), ClientError>
where
    S: embedded_io_async::Read + embedded_io_async::Write + ReadReady,
    R: rand_core::CryptoRngCore,
    I: MaybeClientIdentity,
    C: Clock,
    W: Idle,
{
    let stream = AsyncTlsStream::connect(socket, read_buffer, write_buffer, tls, provider).await?;
    let mut client = asynch::Client::new(stream, conn, clock, idle);
    match client.connect(options).await {
        Ok(connected) => Ok((client, connected)),
        Err(e) => Err(ClientError::over_tls(e, client.transport().failure())),
    }
}
