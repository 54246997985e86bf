//! TLS 1.3 over any embedded-io stream, with the broker verified against the pin: the
//! blocking and async streams, their options and errors.
//!
//! User documentation: the `tls` module, section "Streams".

use core::cell::{Ref, RefCell};

use crate::error::io_kind_name;

use embedded_io::{ErrorKind, ErrorType, ReadReady};
use embedded_tls::alert::{AlertDescription, AlertLevel};
use embedded_tls::{Aes128GcmSha256, HandshakeType, TlsConfig, TlsContext, TlsError};

pub use embedded_tls::{FlushPolicy, MaxFragmentLength};

use super::identity::{MaybeClientIdentity, SignerError};
use super::provider::{ClientAuth, PinnedProvider, OFFERED_SIGNATURE_SCHEMES};
use super::reason::{AlertText, TlsErrorText};
use super::verify::{ServerVerified, ValidityTime, VerifyError};

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

/// Equal when the errors are the same with the same facts: the I/O error kind, the alert's
/// level and description, the kind of parse error (embedded-tls's types do not compare
/// themselves).
impl PartialEq for TlsFailure {
    fn eq(&self, other: &Self) -> bool {
        let alert =
            |level: AlertLevel, description: AlertDescription| (level as u8, description as u8);
        match (self.0, other.0) {
            (TlsError::Io(a), TlsError::Io(b)) => a == b,
            (TlsError::HandshakeAborted(l, d), TlsError::HandshakeAborted(m, e))
            | (TlsError::AbortHandshake(l, d), TlsError::AbortHandshake(m, e))
            | (TlsError::AlertReceived(l, d), TlsError::AlertReceived(m, e)) => {
                alert(l, d) == alert(m, e)
            }
            (TlsError::ParseError(a), TlsError::ParseError(b)) => {
                core::mem::discriminant(&a) == core::mem::discriminant(&b)
            }
            (a, b) => core::mem::discriminant(&a) == core::mem::discriminant(&b),
        }
    }
}

impl Eq for TlsFailure {}

impl core::fmt::Display for TlsFailure {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.0 {
            TlsError::HandshakeAborted(_, description) => write!(
                f,
                "broker sent alert {} during the handshake",
                AlertText(description)
            ),
            // From the fork of embedded-tls: the alert that ended the connection.
            TlsError::AlertReceived(_, description) => {
                write!(f, "broker sent alert {}", AlertText(description))
            }
            TlsError::InsufficientSpace => f.write_str("a TLS record does not fit the read buffer"),
            TlsError::Io(kind) => write!(f, "transport error during TLS: {}", io_kind_name(kind)),
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
            other => write!(f, "TLS error: {}", TlsErrorText(&other)),
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
    /// The socket was in use when the handshake began: a guard from [`TlsSocket::get`] still
    /// held, or a read or write of another stream over the same [`TlsSocket`] in progress.
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
            ConnectError::SocketBusy => f.write_str(
                "socket in use (by a TlsSocket::get guard or another stream) when the handshake began",
            ),
            ConnectError::ClientSigner(e) => {
                write!(f, "cannot prove possession of the client key: {e}")
            }
            ConnectError::ClientCertificateRefused(e) => e.fmt(f),
        }
    }
}

impl core::error::Error for ConnectError {}

/// What one handshake needs besides the socket, the buffers and the provider's pins: the
/// broker's name, the time, and how records are sent.
#[derive(Clone, Copy, Debug)]
pub struct TlsOptions<'a> {
    /// The broker's host name: sent as SNI, and the name its certificate must carry (unless
    /// the provider's policy skips the host-name check).
    pub server_name: &'a str,
    /// The time the broker's certificates are checked at, for this handshake: take it from
    /// the clock (RTC, SNTP, GNSS) each time you connect.
    pub validity: ValidityTime,
    /// Ask the broker for smaller records (RFC 6066), to shrink the read buffer.
    pub max_fragment_length: Option<MaxFragmentLength>,
    /// Application-Layer Protocol Negotiation (RFC 7301): the protocol names offered in the
    /// ClientHello, most preferred first. Cloud brokers that serve MQTT on port 443 next to
    /// HTTPS pick the service by it (AWS IoT Core: `x-amzn-mqtt-ca`); Mosquitto 2.0 ignores it.
    /// `None` (the default) sends no ALPN extension.
    pub alpn: Option<&'a [&'a [u8]]>,
    /// Whether each record written is followed by the socket's `flush`
    /// ([`FlushPolicy::Strict`], the default) or only handed to its `write`
    /// ([`FlushPolicy::Relaxed`]); see [`flush_policy`](Self::flush_policy).
    pub flush_policy: FlushPolicy,
}

impl<'a> TlsOptions<'a> {
    /// `server_name` for SNI and the host-name check, certificates checked at `validity`;
    /// full-size records, no ALPN, each record flushed ([`FlushPolicy::Strict`]).
    pub const fn new(server_name: &'a str, validity: ValidityTime) -> Self {
        TlsOptions {
            server_name,
            validity,
            max_fragment_length: None,
            alpn: None,
            flush_policy: FlushPolicy::Strict,
        }
    }

    /// The same options, with `policy` for the records the stream writes.
    ///
    /// [`FlushPolicy::Strict`] (the default) calls the socket's `flush` after handing it each
    /// record; [`FlushPolicy::Relaxed`] hands each record to the socket's `write` and does not
    /// call its `flush`. Choose `Relaxed` on embassy-net: its `TcpSocket::flush` waits until the
    /// peer has acknowledged every byte, one round trip per packet sent otherwise. The TCP stack
    /// still sends the bytes; the stream's own `flush` (which the MQTT client calls after each
    /// packet) then hands the record over without waiting for the ACK.
    #[must_use]
    pub const fn flush_policy(mut self, policy: FlushPolicy) -> Self {
        self.flush_policy = policy;
        self
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

    /// embedded-tls's configuration for these options.
    fn config(&self) -> TlsConfig<'a> {
        let config = TlsConfig::new()
            .with_server_name(self.server_name)
            .with_signature_schemes(OFFERED_SIGNATURE_SCHEMES);
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

    /// The socket, while a stream over it is between reads and writes: for an idle hook that
    /// waits on the socket itself, such as embassy-net's `TcpSocket::wait_read_ready`, so that
    /// a task sleeps until bytes arrive instead of polling the stream.
    ///
    /// The stream borrows the socket only inside its own reads and writes (an async read keeps
    /// it across its awaits), so between them this succeeds. Drop the returned guard before
    /// the stream's next read or write: a stream that finds the socket borrowed fails that
    /// operation (never panics).
    ///
    /// # Errors
    /// [`SocketBusy`] while a read or write of the stream is in progress.
    pub fn get(&self) -> Result<Ref<'_, S>, SocketBusy> {
        self.cell.try_borrow().map_err(|_| SocketBusy)
    }

    /// Refuses a handshake over a socket someone holds: embedded-tls would see only an I/O
    /// error of kind `Other`.
    fn check_free(&self) -> Result<(), ConnectError> {
        match self.cell.try_borrow_mut() {
            Ok(_) => Ok(()),
            Err(_) => Err(ConnectError::SocketBusy),
        }
    }
}

/// The socket under a TLS stream is in use by one of the stream's reads or writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SocketBusy;

impl core::fmt::Display for SocketBusy {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("socket in use by a read or write of the TLS stream")
    }
}

impl core::error::Error for SocketBusy {}

/// The socket as embedded-tls sees it: a shared borrow of the caller's cell.
struct Shared<'a, S>(&'a RefCell<S>);

/// The broker refused the client's certificate, or its absence: see the
/// [`tls` module documentation](crate::tls#client-certificates-the-brokers-verdict-comes-later).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ClientCertificateRefused {
    /// Whether a certificate was presented; `false`: the broker asked for one and no
    /// [`ClientIdentity`](super::ClientIdentity) is configured.
    pub presented: bool,
    /// What the stream saw: the broker's TLS alert (`TlsError::AlertReceived`, e.g.
    /// `CertificateRequired`, `UnknownCa`, `CertificateExpired`), close_notify, or the
    /// connection closed or reset by the broker.
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
            TlsError::AlertReceived(_, description) => {
                write!(f, ": it sent alert {}", AlertText(description))
            }
            TlsError::ConnectionClosed => f.write_str(": it ended the connection (close_notify)"),
            TlsError::Io(kind) => write!(f, ": it closed the connection ({})", io_kind_name(kind)),
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

/// Watches the stream: the broker's verdict on the client certificate (see the module
/// documentation), and the first failure in full.
#[derive(Clone, Copy, Debug)]
struct ClientAuthWatch {
    /// What happened to client authentication in the handshake.
    auth: ClientAuth,
    /// The broker asked for a certificate and no application byte has arrived yet.
    awaiting_verdict: bool,
    /// The refusal, once seen (sticky).
    refusal: Option<ClientCertificateRefused>,
    /// The first failure of the stream, in full (the MQTT client keeps only its kind).
    failure: Option<StreamError>,
}

impl ClientAuthWatch {
    fn new(auth: ClientAuth) -> Self {
        ClientAuthWatch {
            auth,
            awaiting_verdict: auth.requested(),
            refusal: None,
            failure: None,
        }
    }

    /// Application data arrived: the broker accepted the handshake.
    fn accepted(&mut self) {
        self.awaiting_verdict = false;
    }

    /// Whether a flush that failed with `error` may have an alert behind it, unread: before the
    /// verdict, a broker that refuses the client certificate sends its alert and closes the
    /// connection, and the client's next write (its CONNECT) finds it reset (the broker closed
    /// with the client's records unread), while the alert still waits in the socket's receive
    /// queue, readable. The connection is gone, so a read returns at once.
    ///
    /// With the `std` feature only (the host's sockets, where flash is cheap): the read in the
    /// flush measured +144 B of flash in the blocking P-256 firmware and +336 B in the embassy
    /// one (2026-12-07). Without it, such a refusal says "it closed the connection (...)".
    #[cfg(feature = "std")]
    fn alert_may_wait(&self, error: TlsError) -> bool {
        self.awaiting_verdict
            && self.refusal.is_none()
            && matches!(
                error,
                TlsError::Io(
                    ErrorKind::ConnectionReset
                        | ErrorKind::ConnectionAborted
                        | ErrorKind::BrokenPipe
                        | ErrorKind::NotConnected
                )
            )
    }

    /// Turns a failure of the stream into the most precise error, and keeps the first.
    fn error(&mut self, error: TlsError) -> StreamError {
        let failure = self.classify(error);
        *self.failure.get_or_insert(failure)
    }

    fn classify(&mut self, error: TlsError) -> StreamError {
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
pub(crate) enum SocketError<E> {
    /// The socket's own error.
    Io(E),
    /// The cell was borrowed elsewhere.
    Busy,
}

impl<E: embedded_io::Error> core::fmt::Display for SocketError<E> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            SocketError::Io(e) => f.write_str(io_kind_name(e.kind())),
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
/// one (embedded-tls itself reports only the alert it sent for it).
fn handshake_error<R, I>(provider: &mut PinnedProvider<'_, R, I>, error: TlsError) -> ConnectError
where
    R: rand_core::CryptoRngCore,
    I: MaybeClientIdentity,
{
    // The verifier refused (embedded-tls sent the alert it gave), or the server's Finished (or
    // CertificateVerify) came before a message the verifier needed, which embedded-tls refused
    // before the client's Finished: the verifier says which one is missing.
    let verifier_spoke = matches!(
        error,
        TlsError::AbortHandshake(..)
            | TlsError::UnexpectedHandshakeMessage(
                HandshakeType::Finished | HandshakeType::CertificateVerify
            )
    );
    match provider.take_verifier_outcome() {
        Err(refusal) if verifier_spoke => return ConnectError::Verify(refusal),
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

/// Whether `error` is how a broker's refusal of the client certificate shows: an alert,
/// close_notify, or the connection ended or reset.
fn is_refusal(error: TlsError) -> bool {
    matches!(
        error,
        TlsError::AlertReceived(..)
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
            /// read or write has seen it: see the
            /// [`tls` module documentation](crate::tls#client-certificates-the-brokers-verdict-comes-later).
            pub fn client_auth_refusal(&self) -> Option<ClientCertificateRefused> {
                self.client_auth.refusal
            }

            /// The first failure of the stream, in full: an MQTT client over it reports only
            /// its [`ErrorKind`] ([`Error::Transport`](crate::Error::Transport)), so this is
            /// where to read which alert, which unexpected message, which record; see
            /// [`ClientError::over_tls`](super::ClientError::over_tls).
            pub fn failure(&self) -> Option<StreamError> {
                self.client_auth.failure
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
    /// Run the handshake over `socket` and verify the broker with `provider`'s pins, its
    /// certificates at `options.validity`. Only a broker that proved both its chain and its key
    /// gets a stream.
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
        socket.check_free()?;
        let config = options.config();
        let mut conn = embedded_tls::blocking::TlsConnection::new(
            Shared(&socket.cell),
            read_buffer,
            write_buffer,
        );
        conn.set_flush_policy(options.flush_policy);
        provider.set_validity_time(options.validity);
        if let Err(e) = conn.open(TlsContext::new(&config, &mut *provider)) {
            return Err(handshake_error(provider, e));
        }
        let verified = provider
            .take_verifier_outcome()
            .map_err(ConnectError::Verify)?;
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
        let result = self.conn.flush();
        #[cfg(feature = "std")]
        if let Err(error) = result {
            if self.client_auth.alert_may_wait(error) {
                // Its error, the alert, becomes the stream's failure, repeated by every later
                // error (`ClientAuthWatch::error`); data, if any came, stays buffered.
                embedded_io::Read::read(self, &mut []).ok();
            }
        }
        let watch = &mut self.client_auth;
        result.map_err(|e| watch.error(e))
    }
}

impl<'a, S> AsyncTlsStream<'a, S>
where
    S: embedded_io_async::Read + embedded_io_async::Write + ReadReady + 'a,
{
    /// Run the handshake over `socket` and verify the broker with `provider`'s pins, its
    /// certificates at `options.validity`. Only a broker that proved both its chain and its key
    /// gets a stream.
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
        socket.check_free()?;
        let config = options.config();
        let mut conn =
            embedded_tls::TlsConnection::new(Shared(&socket.cell), read_buffer, write_buffer);
        conn.set_flush_policy(options.flush_policy);
        provider.set_validity_time(options.validity);
        if let Err(e) = conn.open(TlsContext::new(&config, &mut *provider)).await {
            return Err(handshake_error(provider, e));
        }
        let verified = provider
            .take_verifier_outcome()
            .map_err(ConnectError::Verify)?;
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
        let result = self.conn.flush().await;
        #[cfg(feature = "std")]
        if let Err(error) = result {
            if self.client_auth.alert_may_wait(error) {
                // As the blocking stream's `flush`.
                embedded_io_async::Read::read(self, &mut []).await.ok();
            }
        }
        let watch = &mut self.client_auth;
        result.map_err(|e| watch.error(e))
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::string::ToString;

    use super::*;

    #[test]
    fn the_socket_is_reachable_between_operations_and_busy_during_one() {
        let socket = TlsSocket::new(42u8);
        assert_eq!(socket.get().map(|s| *s), Ok(42));
        let operation = socket.cell.borrow_mut();
        assert_eq!(socket.get().map(|s| *s), Err(SocketBusy));
        drop(operation);
        assert_eq!(socket.get().map(|s| *s), Ok(42));
    }

    /// A socket that is never read or written.
    struct Idle;

    impl ErrorType for Idle {
        type Error = ErrorKind;
    }

    impl embedded_io::Read for Idle {
        fn read(&mut self, _buf: &mut [u8]) -> Result<usize, ErrorKind> {
            Err(ErrorKind::Unsupported)
        }
    }

    impl embedded_io::Write for Idle {
        fn write(&mut self, _buf: &[u8]) -> Result<usize, ErrorKind> {
            Err(ErrorKind::Unsupported)
        }
        fn flush(&mut self) -> Result<(), ErrorKind> {
            Ok(())
        }
    }

    impl ReadReady for Idle {
        fn read_ready(&mut self) -> Result<bool, ErrorKind> {
            Ok(false)
        }
    }

    #[test]
    fn a_handshake_over_a_held_socket_is_socket_busy() {
        let socket = TlsSocket::new(Idle);
        let mut provider = PinnedProvider::new(rand_core::OsRng, &[]);
        let (mut read, mut write) = ([0u8; 1024], [0u8; 1024]);
        let options = TlsOptions::new("broker.example", ValidityTime::UnknownSkipDateChecks);
        let held = socket.get();
        let refused = TlsStream::connect(&socket, &mut read, &mut write, &options, &mut provider);
        assert_eq!(refused.err(), Some(ConnectError::SocketBusy));
        drop(held);
        // Free again: the handshake starts (and fails on the socket, not before it).
        let failed = TlsStream::connect(&socket, &mut read, &mut write, &options, &mut provider);
        assert!(matches!(failed.err(), Some(ConnectError::Tls(_))));
    }

    #[test]
    fn tls_failures_compare_their_facts() {
        let io = |kind| TlsFailure(TlsError::Io(kind));
        assert_eq!(io(ErrorKind::TimedOut), io(ErrorKind::TimedOut));
        assert_ne!(io(ErrorKind::TimedOut), io(ErrorKind::ConnectionReset));
        let alert =
            |description| TlsFailure(TlsError::HandshakeAborted(AlertLevel::Fatal, description));
        assert_eq!(
            alert(AlertDescription::UnknownCa),
            alert(AlertDescription::UnknownCa)
        );
        assert_ne!(
            alert(AlertDescription::UnknownCa),
            alert(AlertDescription::BadCertificate)
        );
        assert_eq!(
            TlsFailure(TlsError::InternalError),
            TlsFailure(TlsError::InternalError)
        );
        assert_ne!(
            TlsFailure(TlsError::InternalError),
            TlsFailure(TlsError::IoError)
        );
        let received = |level| {
            TlsFailure(TlsError::AlertReceived(
                level,
                AlertDescription::CertificateRequired,
            ))
        };
        assert_eq!(received(AlertLevel::Fatal), received(AlertLevel::Fatal));
        assert_ne!(received(AlertLevel::Fatal), received(AlertLevel::Warning));
        assert_ne!(
            received(AlertLevel::Fatal),
            TlsFailure(TlsError::HandshakeAborted(
                AlertLevel::Fatal,
                AlertDescription::CertificateRequired
            ))
        );
    }

    #[test]
    fn a_refusal_names_the_alert_the_broker_sent() {
        let refused = |presented, error| {
            ClientCertificateRefused {
                presented,
                cause: TlsFailure(error),
            }
            .to_string()
        };
        let alert = |description| TlsError::AlertReceived(AlertLevel::Fatal, description);
        assert_eq!(
            refused(false, alert(AlertDescription::CertificateRequired)),
            "broker requires a client certificate and none is configured: \
             it sent alert CertificateRequired (116)"
        );
        assert_eq!(
            refused(true, alert(AlertDescription::UnknownCa)),
            "broker refused the client certificate: it sent alert UnknownCa (48)"
        );
        assert_eq!(
            refused(true, TlsError::ConnectionClosed),
            "broker refused the client certificate: it ended the connection (close_notify)"
        );
        assert_eq!(
            TlsFailure(alert(AlertDescription::DecodeError)).to_string(),
            "broker sent alert DecodeError (50)"
        );
        assert_eq!(
            TlsFailure(TlsError::HandshakeAborted(
                AlertLevel::Warning,
                AlertDescription::HandshakeFailure
            ))
            .to_string(),
            "broker sent alert HandshakeFailure (40) during the handshake"
        );
    }
}
