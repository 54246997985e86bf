//! TLS 1.3 over any embedded-io stream, with the broker verified against the pin.
//!
//! [`TlsStream`] (blocking) and [`AsyncTlsStream`] run embedded-tls's handshake with our
//! [`PinnedProvider`], and then refuse the connection unless the verifier both checked the
//! certificate chain *and* the server's CertificateVerify signature: embedded-tls 0.19 completes
//! `open()` even when a server sent neither, so "no error" is not "verified". The proof is a
//! [`ServerVerified`] value that only the verifier can make; a stream exists only with one.
//!
//! The streams implement the client's transport contract: `Read + Write` and
//! [`ReadReady`]. Ready means decrypted bytes are buffered, or the socket has bytes (a TLS
//! record has begun to arrive, so a read completes it). The socket is shared with the TLS
//! connection through a [`RefCell`] that the caller owns ([`TlsSocket`]), so that readiness can
//! be asked without tearing a record.
//!
//! # Buffer sizes
//!
//! The read buffer must hold one whole TLS record: 16,384 bytes of plaintext plus 256 of
//! overhead, so [`READ_BUFFER`] = 16,640 bytes, unless the broker agrees to a smaller
//! max_fragment_length ([`TlsOptions::max_fragment_length`]): then MFL + 256 (4,352 bytes for
//! 4096). The write buffer holds the largest record we send: the largest MQTT packet plus 133
//! bytes, and at least the ClientHello (about 300 bytes). The server's whole Certificate message
//! must fit in one record: with MFL 2^12 a two-certificate chain fits; 2^9 is too small.
//!
//! # Client certificates: the broker's verdict comes later
//!
//! In TLS 1.3 the client's certificate, CertificateVerify and Finished are its last handshake
//! flight, and the server does not answer it: `open()` returns as soon as they are sent. A
//! broker that refuses the certificate (or its absence) says so with a fatal alert
//! (`bad_certificate`, `unknown_ca`, `certificate_expired`, `certificate_required`, ...) that
//! the client reads only after it has sent its first bytes, the MQTT CONNECT. So after a
//! handshake in which the broker asked for a certificate, the stream watches the first read
//! and write: until the first application byte arrives, an alert or a closed or reset
//! connection is reported as [`StreamError::ClientCertificateRefused`], whose
//! [`embedded_io::Error::kind`] is [`ErrorKind::PermissionDenied`]. The MQTT client's
//! `connect` then fails with [`Error::ClientCertificateRefused`](crate::Error), and
//! [`TlsStream::client_auth_refusal`] (through `Client::transport()`) gives the details.
//! embedded-tls 0.19 reports every alert but close_notify as `TlsError::InternalError`, so
//! *which* alert the broker sent is not known; that it came right after a handshake that asked
//! for a certificate, and before any MQTT byte, is.

use core::cell::RefCell;

use embedded_io::{ErrorKind, ErrorType, ReadReady};
use embedded_tls::{Aes128GcmSha256, TlsConfig, TlsContext, TlsError};

pub use embedded_tls::MaxFragmentLength;

use super::identity::{MaybeClientIdentity, SignerError};
use super::provider::{ClientAuth, PinnedProvider, ServerVerified};
use super::VerifyError;

/// Read buffer for full-size records (no max_fragment_length).
pub const READ_BUFFER: usize = 16_640;

/// Read buffer needed for a given max_fragment_length.
pub const fn read_buffer_for(mfl: MaxFragmentLength) -> usize {
    fragment_bytes(mfl) + 256
}

/// Write buffer needed to send MQTT packets of up to `largest_packet` bytes.
pub const fn write_buffer_for(largest_packet: usize) -> usize {
    let needed = largest_packet + 133;
    if needed < 512 {
        512
    } else {
        needed
    }
}

const fn fragment_bytes(mfl: MaxFragmentLength) -> usize {
    match mfl {
        MaxFragmentLength::Bits9 => 512,
        MaxFragmentLength::Bits10 => 1024,
        MaxFragmentLength::Bits11 => 2048,
        MaxFragmentLength::Bits12 => 4096,
    }
}

/// Why a TLS connection failed, below the certificate checks.
#[derive(Clone, Copy, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct TlsFailure(pub TlsError);

impl PartialEq for TlsFailure {
    fn eq(&self, other: &Self) -> bool {
        core::mem::discriminant(&self.0) == core::mem::discriminant(&other.0)
    }
}

impl Eq for TlsFailure {}

impl core::fmt::Display for TlsFailure {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.0 {
            TlsError::HandshakeAborted(level, description) => write!(
                f,
                "broker sent alert {description:?} ({level:?}) during the handshake"
            ),
            TlsError::InsufficientSpace => f.write_str("a TLS record does not fit the read buffer"),
            TlsError::Io(kind) => write!(f, "transport error during TLS: {kind:?}"),
            // embedded-tls 0.19 raises it only when a read returns 0 bytes.
            TlsError::IoError => {
                f.write_str("the connection closed without close_notify, in or before a TLS record")
            }
            // From the fork of embedded-tls (third_party/embedded-tls/FORK.md).
            TlsError::UnexpectedHandshakeMessage(message) => {
                write!(
                    f,
                    "broker sent an unexpected TLS handshake message: {message:?}"
                )
            }
            TlsError::InvalidKeyUpdate => f.write_str("broker sent a malformed TLS KeyUpdate"),
            other => write!(f, "TLS error: {other:?}"),
        }
    }
}

/// Why [`TlsStream::connect`] failed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ConnectError {
    /// The broker's certificate or signature was refused: the facts are in the error.
    Verify(VerifyError),
    /// The handshake failed for another reason.
    Tls(TlsFailure),
    /// The socket is borrowed elsewhere (a [`TlsSocket`] used by two streams at once).
    SocketBusy,
    /// The broker asked for the client certificate and the client could not sign its
    /// CertificateVerify (the [`ClientSigner`](super::ClientSigner) failed, or its signature
    /// does not match the certificate). Nothing was sent after the handshake.
    ClientSigner(SignerError),
    /// The broker asked for a client certificate and refused it (or its absence) already
    /// during the handshake: it closed the connection while the client was still sending its
    /// last handshake records. (It may also refuse on the first read or write after the
    /// handshake: [`StreamError::ClientCertificateRefused`].)
    ClientCertificateRefused(ClientCertificateRefused),
}

impl core::fmt::Display for ConnectError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ConnectError::Verify(e) => write!(f, "broker certificate refused: {e}"),
            ConnectError::Tls(e) => e.fmt(f),
            ConnectError::SocketBusy => f.write_str("socket already in use by another stream"),
            ConnectError::ClientSigner(e) => {
                write!(f, "cannot prove possession of the client key: {e}")
            }
            ConnectError::ClientCertificateRefused(e) => e.fmt(f),
        }
    }
}

impl core::error::Error for ConnectError {}

/// What the handshake needs besides the socket and buffers.
#[derive(Clone, Copy, Debug)]
pub struct TlsOptions<'a> {
    /// The broker's host name: sent as SNI, and the name its certificate must carry (unless
    /// the provider's policy skips the host-name check).
    pub server_name: &'a str,
    /// Ask the broker for smaller records (RFC 6066), to shrink the read buffer.
    pub max_fragment_length: Option<MaxFragmentLength>,
    /// Application-Layer Protocol Negotiation (RFC 7301): the protocol names offered in the
    /// ClientHello, most preferred first. Cloud brokers that serve MQTT on port 443 next to
    /// HTTPS pick the service by it (AWS IoT Core: `x-amzn-mqtt-ca`); Mosquitto 2.0 ignores it.
    /// `None` (the default) sends no ALPN extension.
    pub alpn: Option<&'a [&'a [u8]]>,
}

impl<'a> TlsOptions<'a> {
    /// Full-size records, `server_name` for SNI and the host-name check, no ALPN.
    pub const fn new(server_name: &'a str) -> Self {
        TlsOptions {
            server_name,
            max_fragment_length: None,
            alpn: None,
        }
    }

    /// The same options, offering `protocols` by ALPN (e.g. `&[b"mqtt"]`).
    ///
    /// embedded-tls 0.19 does not read the broker's choice back: a broker that accepts none of
    /// them answers with a `no_application_protocol` alert and the handshake fails.
    #[must_use]
    pub const fn alpn(mut self, protocols: &'a [&'a [u8]]) -> Self {
        self.alpn = Some(protocols);
        self
    }

    fn config(&self) -> TlsConfig<'a> {
        let config = TlsConfig::new().with_server_name(self.server_name);
        #[cfg(feature = "rsa")]
        let config = config.enable_rsa_signatures();
        let config = match self.alpn {
            Some(protocols) => config.with_alpn(protocols),
            None => config,
        };
        match self.max_fragment_length {
            Some(mfl) => config.with_max_fragment_length(mfl),
            None => config,
        }
    }
}

/// The socket under a TLS stream, owned by the caller so that the stream can borrow it.
#[derive(Debug)]
pub struct TlsSocket<S> {
    cell: RefCell<S>,
}

impl<S> TlsSocket<S> {
    /// Wrap a connected socket.
    pub const fn new(socket: S) -> Self {
        TlsSocket {
            cell: RefCell::new(socket),
        }
    }

    /// Unwrap the socket (after the stream is gone).
    pub fn into_inner(self) -> S {
        self.cell.into_inner()
    }
}

/// The socket as embedded-tls sees it: a shared borrow of the caller's cell.
struct Shared<'a, S>(&'a RefCell<S>);

/// The broker refused the client's certificate, or its absence: see the
/// [module documentation](self).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ClientCertificateRefused {
    /// Whether a certificate was presented; `false`: the broker asked for one and no
    /// [`ClientIdentity`](super::ClientIdentity) is configured.
    pub presented: bool,
    /// What the stream saw: a TLS alert (`TLS error: InternalError`, embedded-tls 0.19 does not
    /// say which alert), or the connection closed or reset by the broker.
    pub cause: TlsFailure,
}

impl core::fmt::Display for ClientCertificateRefused {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        if self.presented {
            f.write_str("broker refused the client certificate")?;
        } else {
            f.write_str("broker requires a client certificate and none is configured")?;
        }
        match self.cause.0 {
            TlsError::InternalError => f.write_str(": it ended the connection with a TLS alert"),
            TlsError::ConnectionClosed => f.write_str(": it ended the connection (close_notify)"),
            TlsError::Io(kind) => write!(f, ": it closed the connection ({kind:?})"),
            _ => f.write_str(": it closed the connection"),
        }
    }
}

/// Error of a [`TlsStream`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum StreamError {
    /// The TLS record layer or the socket under it failed.
    Tls(TlsFailure),
    /// The broker refused the client certificate (or its absence): its first answer after a
    /// handshake that asked for one was an alert or the end of the connection. The kind is
    /// [`ErrorKind::PermissionDenied`].
    ClientCertificateRefused(ClientCertificateRefused),
}

impl StreamError {
    fn tls(error: TlsError) -> Self {
        StreamError::Tls(TlsFailure(error))
    }
}

impl core::fmt::Display for StreamError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            StreamError::Tls(e) => e.fmt(f),
            StreamError::ClientCertificateRefused(e) => e.fmt(f),
        }
    }
}

impl core::error::Error for StreamError {}

impl embedded_io::Error for StreamError {
    fn kind(&self) -> ErrorKind {
        match self {
            StreamError::Tls(TlsFailure(TlsError::Io(kind))) => *kind,
            // close_notify, or the socket ended (embedded-tls's `IoError`: a read returned 0).
            StreamError::Tls(TlsFailure(TlsError::ConnectionClosed | TlsError::IoError)) => {
                ErrorKind::ConnectionAborted
            }
            StreamError::Tls(_) => ErrorKind::InvalidData,
            StreamError::ClientCertificateRefused(_) => ErrorKind::PermissionDenied,
        }
    }
}

/// Watches for the broker's verdict on the client certificate (see the module documentation).
#[derive(Clone, Copy, Debug)]
struct ClientAuthWatch {
    /// What happened to client authentication in the handshake.
    auth: ClientAuth,
    /// The broker asked for a certificate and no application byte has arrived yet.
    awaiting_verdict: bool,
    /// The refusal, once seen (sticky).
    refusal: Option<ClientCertificateRefused>,
}

impl ClientAuthWatch {
    fn new(auth: ClientAuth) -> Self {
        ClientAuthWatch {
            auth,
            awaiting_verdict: auth.requested(),
            refusal: None,
        }
    }

    /// Application data arrived: the broker accepted the handshake.
    fn accepted(&mut self) {
        self.awaiting_verdict = false;
    }

    /// Turns a failure of the stream into the most precise error.
    fn error(&mut self, error: TlsError) -> StreamError {
        if let Some(refusal) = self.refusal {
            return StreamError::ClientCertificateRefused(refusal);
        }
        if !(self.awaiting_verdict && is_refusal(error)) {
            return StreamError::tls(error);
        }
        let refusal = ClientCertificateRefused {
            presented: self.auth == ClientAuth::Presented,
            cause: TlsFailure(error),
        };
        self.refusal = Some(refusal);
        StreamError::ClientCertificateRefused(refusal)
    }
}

impl<S> ErrorType for Shared<'_, S>
where
    S: ErrorType,
{
    type Error = SocketError<S::Error>;
}

/// A socket error, or the socket cell found borrowed (never happens in single-threaded use).
#[derive(Debug)]
pub enum SocketError<E> {
    /// The socket's own error.
    Io(E),
    /// The cell was borrowed elsewhere.
    Busy,
}

impl<E: embedded_io::Error> core::fmt::Display for SocketError<E> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            SocketError::Io(e) => write!(f, "{:?}", e.kind()),
            SocketError::Busy => f.write_str("socket busy"),
        }
    }
}

impl<E: embedded_io::Error> core::error::Error for SocketError<E> {}

impl<E: embedded_io::Error> embedded_io::Error for SocketError<E> {
    fn kind(&self) -> ErrorKind {
        match self {
            SocketError::Io(e) => e.kind(),
            SocketError::Busy => ErrorKind::Other,
        }
    }
}

impl<S: ErrorType> Shared<'_, S> {
    fn with<R>(
        &mut self,
        op: impl FnOnce(&mut S) -> Result<R, S::Error>,
    ) -> Result<R, SocketError<S::Error>> {
        let mut socket = self.0.try_borrow_mut().map_err(|_| SocketError::Busy)?;
        op(&mut socket).map_err(SocketError::Io)
    }
}

impl<S: embedded_io::Read> embedded_io::Read for Shared<'_, S> {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        self.with(|s| s.read(buf))
    }
}

impl<S: embedded_io::Write> embedded_io::Write for Shared<'_, S> {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        self.with(|s| s.write(buf))
    }
    fn flush(&mut self) -> Result<(), Self::Error> {
        self.with(|s| s.flush())
    }
}

// The cell's borrow is held across the socket's await on purpose: the stream is `&mut` for the
// whole operation, so nothing else can reach the cell meanwhile; a readiness check that found
// it borrowed would get `SocketError::Busy`, never a panic.
#[allow(clippy::await_holding_refcell_ref)]
impl<S: embedded_io_async::Read> embedded_io_async::Read for Shared<'_, S> {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        let mut socket = self.0.try_borrow_mut().map_err(|_| SocketError::Busy)?;
        socket.read(buf).await.map_err(SocketError::Io)
    }
}

#[allow(clippy::await_holding_refcell_ref)]
impl<S: embedded_io_async::Write> embedded_io_async::Write for Shared<'_, S> {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        let mut socket = self.0.try_borrow_mut().map_err(|_| SocketError::Busy)?;
        socket.write(buf).await.map_err(SocketError::Io)
    }
    async fn flush(&mut self) -> Result<(), Self::Error> {
        let mut socket = self.0.try_borrow_mut().map_err(|_| SocketError::Busy)?;
        socket.flush().await.map_err(SocketError::Io)
    }
}

/// Turn a failed handshake into the most precise error: the verifier's refusal if it made
/// one (embedded-tls itself reports only "invalid certificate"/"invalid signature").
fn handshake_error<R, I>(provider: &PinnedProvider<'_, R, I>, error: TlsError) -> ConnectError
where
    R: rand_core::CryptoRngCore,
    I: MaybeClientIdentity,
{
    match provider.verifier_outcome() {
        // The handshake broke before the verifier saw everything: the TLS error is the news.
        Ok(_) | Err(VerifyError::MissingCertificate | VerifyError::MissingCertificateVerify) => {}
        Err(refusal) => return ConnectError::Verify(refusal),
    }
    match provider.client_auth() {
        // Our own failure, whatever the broker made of the empty signature.
        ClientAuth::SignerFailed(e) => ConnectError::ClientSigner(e),
        // A broker checks the client's Certificate as soon as it arrives and, refusing it,
        // closes the connection while the client still writes its last handshake records.
        auth if auth.requested() && is_refusal(error) => {
            ConnectError::ClientCertificateRefused(ClientCertificateRefused {
                presented: auth == ClientAuth::Presented,
                cause: TlsFailure(error),
            })
        }
        _ => ConnectError::Tls(TlsFailure(error)),
    }
}

/// Whether `error` is how a broker's refusal of the client certificate shows: an alert
/// (embedded-tls's `InternalError` for any alert but close_notify), close_notify, or the
/// connection ended or reset.
fn is_refusal(error: TlsError) -> bool {
    matches!(
        error,
        TlsError::InternalError
            | TlsError::ConnectionClosed
            // The socket ended (0 bytes read).
            | TlsError::IoError
            | TlsError::Io(
                ErrorKind::ConnectionReset
                    | ErrorKind::ConnectionAborted
                    | ErrorKind::BrokenPipe
                    | ErrorKind::NotConnected
            )
    )
}

/// After a completed handshake: a signer failure is the caller's news (the broker will refuse
/// the empty signature); otherwise start watching for the broker's verdict.
fn client_auth_after_open<R, I>(
    provider: &PinnedProvider<'_, R, I>,
) -> Result<ClientAuthWatch, ConnectError>
where
    R: rand_core::CryptoRngCore,
    I: MaybeClientIdentity,
{
    match provider.client_auth() {
        ClientAuth::SignerFailed(e) => Err(ConnectError::ClientSigner(e)),
        auth => Ok(ClientAuthWatch::new(auth)),
    }
}

fn socket_ready<S>(socket: &RefCell<S>) -> Result<bool, StreamError>
where
    S: ReadReady,
{
    let mut socket = socket
        .try_borrow_mut()
        .map_err(|_| StreamError::tls(TlsError::InternalError))?;
    socket
        .read_ready()
        .map_err(|e| StreamError::tls(TlsError::Io(embedded_io::Error::kind(&e))))
}

macro_rules! tls_stream {
    ($(#[$doc:meta])* $name:ident, $conn:path, $Read:path, $Write:path, $($await:tt)*) => {
        $(#[$doc])*
        pub struct $name<'a, S>
        where
            S: $Read + $Write + ReadReady + 'a,
        {
            conn: $conn,
            socket: &'a RefCell<S>,
            /// Decrypted bytes are waiting in the TLS read buffer.
            buffered: bool,
            verified: ServerVerified,
            client_auth: ClientAuthWatch,
        }

        impl<'a, S> $name<'a, S>
        where
            S: $Read + $Write + ReadReady + 'a,
        {
            /// The facts the verifier established about the broker.
            pub fn verified(&self) -> &ServerVerified {
                &self.verified
            }

            /// What became of client authentication in the handshake: whether the broker
            /// asked for a certificate, and whether one was presented.
            pub fn client_auth(&self) -> ClientAuth {
                self.client_auth.auth
            }

            /// The broker's refusal of the client certificate (or of its absence), once a
            /// read or write has seen it: see the [module documentation](self).
            pub fn client_auth_refusal(&self) -> Option<ClientCertificateRefused> {
                self.client_auth.refusal
            }
        }

        impl<'a, S> ErrorType for $name<'a, S>
        where
            S: $Read + $Write + ReadReady + 'a,
        {
            type Error = StreamError;
        }

        impl<'a, S> ReadReady for $name<'a, S>
        where
            S: $Read + $Write + ReadReady + 'a,
        {
            fn read_ready(&mut self) -> Result<bool, StreamError> {
                Ok(self.buffered || socket_ready(self.socket)?)
            }
        }
    };
}

tls_stream!(
    /// A TLS 1.3 connection whose server passed the pinned verification (blocking).
    TlsStream,
    embedded_tls::blocking::TlsConnection<'a, Shared<'a, S>, Aes128GcmSha256>,
    embedded_io::Read,
    embedded_io::Write,
);

tls_stream!(
    /// A TLS 1.3 connection whose server passed the pinned verification (async).
    AsyncTlsStream,
    embedded_tls::TlsConnection<'a, Shared<'a, S>, Aes128GcmSha256>,
    embedded_io_async::Read,
    embedded_io_async::Write,
);

impl<'a, S> TlsStream<'a, S>
where
    S: embedded_io::Read + embedded_io::Write + ReadReady + 'a,
{
    /// Run the handshake over `socket` and verify the broker with `provider`'s pin. Only a
    /// broker that proved both its chain and its key gets a stream.
    pub fn connect<R, I>(
        socket: &'a TlsSocket<S>,
        read_buffer: &'a mut [u8],
        write_buffer: &'a mut [u8],
        options: &TlsOptions<'_>,
        provider: &mut PinnedProvider<'_, R, I>,
    ) -> Result<Self, ConnectError>
    where
        R: rand_core::CryptoRngCore,
        I: MaybeClientIdentity,
    {
        let config = options.config();
        let mut conn = embedded_tls::blocking::TlsConnection::new(
            Shared(&socket.cell),
            read_buffer,
            write_buffer,
        );
        if let Err(e) = conn.open(TlsContext::new(&config, &mut *provider)) {
            return Err(handshake_error(provider, e));
        }
        let verified = provider.verifier_outcome().map_err(ConnectError::Verify)?;
        let client_auth = client_auth_after_open(provider)?;
        Ok(TlsStream {
            conn,
            socket: &socket.cell,
            buffered: false,
            verified,
            client_auth,
        })
    }

    /// Send close_notify and give the stream up.
    pub fn close(self) -> Result<(), StreamError> {
        self.conn
            .close()
            .map(drop)
            .map_err(|(_, e)| StreamError::tls(e))
    }
}

impl<'a, S> embedded_io::Read for TlsStream<'a, S>
where
    S: embedded_io::Read + embedded_io::Write + ReadReady + 'a,
{
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, StreamError> {
        let watch = &mut self.client_auth;
        let mut decrypted = self.conn.read_buffered().map_err(|e| watch.error(e))?;
        let n = decrypted.pop_into(buf);
        self.buffered = !decrypted.is_empty();
        watch.accepted();
        Ok(n)
    }
}

impl<'a, S> embedded_io::Write for TlsStream<'a, S>
where
    S: embedded_io::Read + embedded_io::Write + ReadReady + 'a,
{
    fn write(&mut self, buf: &[u8]) -> Result<usize, StreamError> {
        let watch = &mut self.client_auth;
        self.conn.write(buf).map_err(|e| watch.error(e))
    }
    fn flush(&mut self) -> Result<(), StreamError> {
        let watch = &mut self.client_auth;
        self.conn.flush().map_err(|e| watch.error(e))
    }
}

impl<'a, S> AsyncTlsStream<'a, S>
where
    S: embedded_io_async::Read + embedded_io_async::Write + ReadReady + 'a,
{
    /// Run the handshake over `socket` and verify the broker with `provider`'s pin. Only a
    /// broker that proved both its chain and its key gets a stream.
    pub async fn connect<R, I>(
        socket: &'a TlsSocket<S>,
        read_buffer: &'a mut [u8],
        write_buffer: &'a mut [u8],
        options: &TlsOptions<'_>,
        provider: &mut PinnedProvider<'_, R, I>,
    ) -> Result<Self, ConnectError>
    where
        R: rand_core::CryptoRngCore,
        I: MaybeClientIdentity,
    {
        let config = options.config();
        let mut conn =
            embedded_tls::TlsConnection::new(Shared(&socket.cell), read_buffer, write_buffer);
        if let Err(e) = conn.open(TlsContext::new(&config, &mut *provider)).await {
            return Err(handshake_error(provider, e));
        }
        let verified = provider.verifier_outcome().map_err(ConnectError::Verify)?;
        let client_auth = client_auth_after_open(provider)?;
        Ok(AsyncTlsStream {
            conn,
            socket: &socket.cell,
            buffered: false,
            verified,
            client_auth,
        })
    }

    /// Send close_notify and give the stream up.
    pub async fn close(self) -> Result<(), StreamError> {
        self.conn
            .close()
            .await
            .map(drop)
            .map_err(|(_, e)| StreamError::tls(e))
    }
}

impl<'a, S> embedded_io_async::Read for AsyncTlsStream<'a, S>
where
    S: embedded_io_async::Read + embedded_io_async::Write + ReadReady + 'a,
{
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, StreamError> {
        let watch = &mut self.client_auth;
        let mut decrypted = self
            .conn
            .read_buffered()
            .await
            .map_err(|e| watch.error(e))?;
        let n = decrypted.pop_into(buf);
        self.buffered = !decrypted.is_empty();
        watch.accepted();
        Ok(n)
    }
}

impl<'a, S> embedded_io_async::Write for AsyncTlsStream<'a, S>
where
    S: embedded_io_async::Read + embedded_io_async::Write + ReadReady + 'a,
{
    async fn write(&mut self, buf: &[u8]) -> Result<usize, StreamError> {
        let watch = &mut self.client_auth;
        self.conn.write(buf).await.map_err(|e| watch.error(e))
    }
    async fn flush(&mut self) -> Result<(), StreamError> {
        let watch = &mut self.client_auth;
        self.conn.flush().await.map_err(|e| watch.error(e))
    }
}
