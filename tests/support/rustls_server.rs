//! A TLS 1.3 server made of rustls 0.23 (ring), for one handshake on 127.0.0.1, that can
//! misbehave the ways a forger or a broken broker would, and reports what it saw of the
//! client: the signature schemes its ClientHello offered, and how the client answered the
//! server's flight (its Finished, or the alert it sent, as rustls or the server's own
//! decryption reads it).
//!
//! - [`Misbehaviour::Signer`]: the CertificateVerify is made by another key, over another
//!   transcript, with the client's context string, or under a scheme that does not fit the
//!   key or was not offered. rustls signs whatever the [`SigningKey`] given to it returns.
//! - [`Misbehaviour::Omit`]: the Certificate and/or CertificateVerify are taken out of the
//!   server's flight after rustls wrote it, and the server's Finished is computed again over
//!   what is left: what a man in the middle without the broker's key, terminating TLS itself,
//!   can send. The flight is decrypted and encrypted again with the handshake traffic secrets
//!   rustls hands to its [`KeyLog`]; the client's answer is decrypted the same way (rustls can
//!   no longer read it: its transcript is not the client's).
//! - The chain and the key are independent: the server can present any certificate (the
//!   client refuses a bad one before it looks at the CertificateVerify).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::Aes128Gcm;
use hmac::{Hmac, Mac};
use rustls::crypto::ring::sign::any_supported_type;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs1KeyDer, PrivateSec1KeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::{CertifiedKey, Signer, SigningKey};
use rustls::{
    AlertDescription, Error, KeyLog, ServerConfig, ServerConnection, SignatureAlgorithm,
    SignatureScheme,
};
use sha2::{Digest, Sha256};

/// How long the server waits for the client before it gives up.
const TIMEOUT: Duration = Duration::from_secs(10);

/// A key the server can sign with: DER in `tests/data/verify/` (`NAME.sec1.der` for P-256,
/// `NAME.pkcs1.der` for RSA).
pub fn key(file: &str) -> PrivateKeyDer<'static> {
    let path = format!("{}/tests/data/verify/{file}", env!("CARGO_MANIFEST_DIR"));
    let der = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    if file.ends_with(".pkcs1.der") {
        PrivateKeyDer::Pkcs1(PrivatePkcs1KeyDer::from(der))
    } else {
        PrivateKeyDer::Sec1(PrivateSec1KeyDer::from(der))
    }
}

/// What is wrong with the server's CertificateVerify.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BadSignature {
    /// Signed by the key given as `other` to [`RustlsServer::start`].
    OtherKey,
    /// Over a transcript hash with one bit changed.
    OtherTranscript,
    /// With the context string `TLS 1.3, client CertificateVerify`.
    ClientContext,
    /// Labelled with this scheme, whatever the key (signed as the key's own scheme).
    Scheme(SignatureScheme),
}

/// Which of the server's authentication messages are left out of its flight.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Omitted {
    /// The Certificate.
    pub certificate: bool,
    /// The CertificateVerify.
    pub certificate_verify: bool,
}

/// How the server misbehaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Misbehaviour {
    /// It does not: a correct TLS 1.3 server.
    None,
    /// It signs its CertificateVerify under this scheme, when the client offered it (and
    /// fails the handshake when not): a correct server with a preference.
    Picks(SignatureScheme),
    /// Its CertificateVerify is wrong.
    Signer(BadSignature),
    /// Messages are taken out of its flight (with `Omitted` all false: the flight is only
    /// re-encrypted, with its Finished computed again, which shows the rewriting is right).
    Omit(Omitted),
}

/// How the client answered the server's flight.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientAnswer {
    /// The handshake completed: the client sent a Finished that verified.
    Finished,
    /// The client sent its Finished (seen by the server's own decryption).
    SentFinished,
    /// The client sent this alert (level, description).
    Alert(AlertDescription),
    /// The client closed the connection without an alert.
    Closed,
    /// Anything else: rustls's error or what the decryption found.
    Other(String),
}

/// What the server saw.
#[derive(Clone, Debug)]
pub struct ServerReport {
    /// The `signature_algorithms` of the client's ClientHello, in its order.
    pub offered: Vec<SignatureScheme>,
    /// How the client answered the server's flight.
    pub answer: ClientAnswer,
}

/// One rustls server, serving one connection in a thread.
pub struct RustlsServer {
    port: u16,
    thread: JoinHandle<ServerReport>,
}

impl RustlsServer {
    /// A server presenting `chain` (leaf first, DER) and signing with `key`, misbehaving as
    /// `how` says; `other` is the key of [`BadSignature::OtherKey`].
    pub fn start(
        chain: Vec<Vec<u8>>,
        key: PrivateKeyDer<'static>,
        other: Option<PrivateKeyDer<'static>>,
        how: Misbehaviour,
    ) -> RustlsServer {
        let real = any_supported_type(&key).expect("a key rustls can sign with");
        let other = other.map(|k| any_supported_type(&k).expect("a key rustls can sign with"));
        let signing_key: Arc<dyn SigningKey> = match how {
            Misbehaviour::Signer(bad) => Arc::new(MisbehavingKey { real, other, bad }),
            Misbehaviour::Picks(scheme) => Arc::new(PickingKey { real, scheme }),
            Misbehaviour::None | Misbehaviour::Omit(_) => real,
        };
        let chain = chain.into_iter().map(CertificateDer::from).collect();
        let resolver = Arc::new(Resolver {
            key: Arc::new(CertifiedKey::new(chain, signing_key)),
            offered: Mutex::new(Vec::new()),
        });
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13])
            .expect("TLS 1.3")
            .with_no_client_auth()
            .with_cert_resolver(resolver.clone());
        config.send_tls13_tickets = 0;
        let secrets = Arc::new(Secrets::default());
        config.key_log = secrets.clone();
        let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
        let port = listener.local_addr().expect("its address").port();
        let config = Arc::new(config);
        let thread = std::thread::spawn(move || {
            let (tcp, _) = listener.accept().expect("the client connects");
            tcp.set_read_timeout(Some(TIMEOUT)).expect("a timeout");
            let answer = serve(tcp, config, how, &secrets);
            let offered = resolver.offered.lock().expect("not poisoned").clone();
            ServerReport { offered, answer }
        });
        RustlsServer { port, thread }
    }

    /// The port it listens on, on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Waits for the connection to end and says what the server saw.
    pub fn report(self) -> ServerReport {
        self.thread
            .join()
            .expect("the server thread does not panic")
    }
}

/// Serves one connection; how the client answered the server's flight.
fn serve(
    mut tcp: TcpStream,
    config: Arc<ServerConfig>,
    how: Misbehaviour,
    secrets: &Secrets,
) -> ClientAnswer {
    let mut conn = ServerConnection::new(config).expect("a server connection");
    let mut client_hello = Vec::new();
    let mut buf = vec![0; 32 * 1024];
    loop {
        let n = match tcp.read(&mut buf) {
            Ok(0) | Err(_) => return ClientAnswer::Closed,
            Ok(n) => n,
        };
        // Everything before the server's flight: the ClientHello's records.
        client_hello.extend_from_slice(&buf[..n]);
        let mut incoming = &buf[..n];
        while !incoming.is_empty() {
            if conn.read_tls(&mut incoming).is_err() {
                return ClientAnswer::Other("unreadable TLS".into());
            }
            if let Err(e) = conn.process_new_packets() {
                let _ = conn.write_tls(&mut tcp);
                return match e {
                    Error::AlertReceived(alert) => ClientAnswer::Alert(alert),
                    other => ClientAnswer::Other(other.to_string()),
                };
            }
        }
        let mut out = Vec::new();
        while conn.wants_write() {
            conn.write_tls(&mut out).expect("writes to memory");
        }
        if let Misbehaviour::Omit(omitted) = how {
            if !out.is_empty() {
                let flight = rewrite_flight(&client_hello, &out, omitted, secrets);
                tcp.write_all(&flight).expect("the client reads the flight");
                return client_answer(&mut tcp, secrets);
            }
        }
        tcp.write_all(&out).expect("the client reads");
        if !conn.is_handshaking() {
            return ClientAnswer::Finished;
        }
    }
}

/// Keeps the handshake traffic secrets rustls logs (one connection).
#[derive(Debug, Default)]
struct Secrets {
    logged: Mutex<Vec<(String, Vec<u8>)>>,
}

impl KeyLog for Secrets {
    fn log(&self, label: &str, _client_random: &[u8], secret: &[u8]) {
        let mut logged = self.logged.lock().expect("not poisoned");
        logged.push((label.to_owned(), secret.to_vec()));
    }

    fn will_log(&self, _label: &str) -> bool {
        true
    }
}

impl Secrets {
    fn get(&self, label: &str) -> Vec<u8> {
        let logged = self.logged.lock().expect("not poisoned");
        let found = logged.iter().find(|(l, _)| l == label);
        found
            .unwrap_or_else(|| panic!("rustls logged no {label}"))
            .1
            .clone()
    }
}

/// Records the client's offer and presents the configured chain and key.
#[derive(Debug)]
struct Resolver {
    key: Arc<CertifiedKey>,
    offered: Mutex<Vec<SignatureScheme>>,
}

impl ResolvesServerCert for Resolver {
    fn resolve(&self, client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        *self.offered.lock().expect("not poisoned") = client_hello.signature_schemes().to_vec();
        Some(self.key.clone())
    }
}

/// A key that signs under one scheme only.
#[derive(Debug)]
struct PickingKey {
    real: Arc<dyn SigningKey>,
    scheme: SignatureScheme,
}

impl SigningKey for PickingKey {
    fn choose_scheme(&self, offered: &[SignatureScheme]) -> Option<Box<dyn Signer>> {
        if offered.contains(&self.scheme) {
            self.real.choose_scheme(&[self.scheme])
        } else {
            None
        }
    }

    fn algorithm(&self) -> SignatureAlgorithm {
        self.real.algorithm()
    }
}

#[derive(Debug)]
struct MisbehavingKey {
    real: Arc<dyn SigningKey>,
    other: Option<Arc<dyn SigningKey>>,
    bad: BadSignature,
}

impl SigningKey for MisbehavingKey {
    fn choose_scheme(&self, offered: &[SignatureScheme]) -> Option<Box<dyn Signer>> {
        let key = match (self.bad, &self.other) {
            (BadSignature::OtherKey, Some(other)) => other,
            (BadSignature::OtherKey, None) => panic!("OtherKey needs another key"),
            _ => &self.real,
        };
        let signer = key.choose_scheme(offered)?;
        Some(Box::new(MisbehavingSigner {
            signer,
            bad: self.bad,
        }))
    }

    fn algorithm(&self) -> SignatureAlgorithm {
        self.real.algorithm()
    }
}

#[derive(Debug)]
struct MisbehavingSigner {
    signer: Box<dyn Signer>,
    bad: BadSignature,
}

impl Signer for MisbehavingSigner {
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Error> {
        let mut message = message.to_vec();
        match self.bad {
            BadSignature::OtherTranscript => {
                let last = message.len() - 1;
                message[last] ^= 1;
            }
            BadSignature::ClientContext => {
                // 64 spaces, then "TLS 1.3, server CertificateVerify".
                assert_eq!(&message[64 + 9..64 + 15], b"server");
                message[64 + 9..64 + 15].copy_from_slice(b"client");
            }
            BadSignature::OtherKey | BadSignature::Scheme(_) => {}
        }
        self.signer.sign(&message)
    }

    fn scheme(&self) -> SignatureScheme {
        match self.bad {
            BadSignature::Scheme(scheme) => scheme,
            _ => self.signer.scheme(),
        }
    }
}

/// HKDF-Expand-Label with SHA-256 and an empty context (RFC 8446 §7.1).
fn expand_label(secret: &[u8], label: &str, len: usize) -> Vec<u8> {
    let full = format!("tls13 {label}");
    let mut info = (len as u16).to_be_bytes().to_vec();
    info.push(full.len() as u8);
    info.extend_from_slice(full.as_bytes());
    info.push(0);
    let hkdf = hkdf::Hkdf::<Sha256>::from_prk(secret).expect("a 32-byte secret");
    let mut out = vec![0; len];
    hkdf.expand(&info, &mut out).expect("a short output");
    out
}

/// The AEAD of one direction's handshake traffic, from its secret; sequence numbers from 0.
struct TrafficKeys {
    cipher: Aes128Gcm,
    iv: Vec<u8>,
    sequence: u64,
}

impl TrafficKeys {
    fn new(secret: &[u8]) -> Self {
        TrafficKeys {
            cipher: Aes128Gcm::new_from_slice(&expand_label(secret, "key", 16)).expect("16 bytes"),
            iv: expand_label(secret, "iv", 12),
            sequence: 0,
        }
    }

    fn nonce(&mut self) -> aes_gcm::Nonce<aes_gcm::aead::consts::U12> {
        let mut nonce = self.iv.clone();
        for (n, s) in nonce[4..].iter_mut().zip(self.sequence.to_be_bytes()) {
            *n ^= s;
        }
        self.sequence += 1;
        *aes_gcm::Nonce::from_slice(&nonce)
    }

    /// `TLSInnerPlaintext` (content, then its type) of one encrypted record.
    fn open(&mut self, header: &[u8], body: &[u8]) -> Option<Vec<u8>> {
        let mut plaintext = body.to_vec();
        let nonce = self.nonce();
        self.cipher
            .decrypt_in_place(&nonce, header, &mut plaintext)
            .ok()?;
        while plaintext.last() == Some(&0) {
            plaintext.pop();
        }
        Some(plaintext)
    }

    /// One encrypted record of `content` of type `content_type`.
    fn seal(&mut self, content_type: u8, content: &[u8]) -> Vec<u8> {
        let mut inner = [content, &[content_type]].concat();
        let len = (inner.len() + 16) as u16;
        let header = [23, 3, 3, (len >> 8) as u8, len as u8];
        let nonce = self.nonce();
        self.cipher
            .encrypt_in_place(&nonce, &header, &mut inner)
            .expect("encrypts");
        [&header[..], &inner].concat()
    }
}

/// Splits TLS records: (content type, header, body); an incomplete last record is left out.
fn records(mut bytes: &[u8]) -> Vec<(u8, Vec<u8>, Vec<u8>)> {
    let mut out = Vec::new();
    while bytes.len() >= 5 {
        let len = u16::from_be_bytes([bytes[3], bytes[4]]) as usize;
        if bytes.len() < 5 + len {
            break;
        }
        let (record, rest) = bytes.split_at(5 + len);
        out.push((record[0], record[..5].to_vec(), record[5..].to_vec()));
        bytes = rest;
    }
    out
}

/// Splits handshake messages: (type, whole message).
fn messages(mut bytes: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut out = Vec::new();
    while bytes.len() >= 4 {
        let len = u32::from_be_bytes([0, bytes[1], bytes[2], bytes[3]]) as usize;
        let (message, rest) = bytes.split_at(4 + len);
        out.push((message[0], message.to_vec()));
        bytes = rest;
    }
    out
}

/// rustls's flight without the `omitted` messages, its Finished computed again over what is
/// left, all encrypted messages in one record.
fn rewrite_flight(
    client_hello_records: &[u8],
    flight: &[u8],
    omitted: Omitted,
    secrets: &Secrets,
) -> Vec<u8> {
    let server_secret = secrets.get("SERVER_HANDSHAKE_TRAFFIC_SECRET");
    let mut keys = TrafficKeys::new(&server_secret);
    let mut transcript = Sha256::new();
    for (_, _, body) in records(client_hello_records) {
        transcript.update(&body);
    }
    let mut out = Vec::new();
    let mut encrypted = Vec::new();
    for (content_type, header, body) in records(flight) {
        match content_type {
            // ServerHello: in the transcript, passed on as it is.
            22 => {
                transcript.update(&body);
                out.extend_from_slice(&[header, body].concat());
            }
            20 => out.extend_from_slice(&[header, body].concat()),
            23 => {
                let mut inner = keys.open(&header, &body).expect("rustls's own record");
                assert_eq!(inner.pop(), Some(22), "a handshake record");
                encrypted.extend_from_slice(&inner);
            }
            other => panic!("record type {other} in the server's flight"),
        }
    }
    let mut kept = Vec::new();
    for (message_type, message) in messages(&encrypted) {
        let leave_out = (message_type == 11 && omitted.certificate)
            || (message_type == 15 && omitted.certificate_verify);
        match message_type {
            _ if leave_out => {}
            20 => {
                let finished_key = expand_label(&server_secret, "finished", 32);
                let mut hmac =
                    <Hmac<Sha256> as Mac>::new_from_slice(&finished_key).expect("any key size");
                hmac.update(&transcript.clone().finalize());
                let verify_data = hmac.finalize().into_bytes();
                kept.extend_from_slice(&[&[20, 0, 0, 32][..], &verify_data].concat());
            }
            _ => {
                transcript.update(&message);
                kept.extend_from_slice(&message);
            }
        }
    }
    let mut rewriter = TrafficKeys::new(&server_secret);
    out.extend_from_slice(&rewriter.seal(22, &kept));
    out
}

/// The client's first encrypted record after the rewritten flight, decrypted with its
/// handshake traffic secret.
fn client_answer(tcp: &mut TcpStream, secrets: &Secrets) -> ClientAnswer {
    let mut keys = TrafficKeys::new(&secrets.get("CLIENT_HANDSHAKE_TRAFFIC_SECRET"));
    let mut received = Vec::new();
    let mut buf = [0; 4096];
    loop {
        for (content_type, header, body) in records(&received) {
            match content_type {
                20 => continue,
                21 => return ClientAnswer::Other(format!("plaintext alert {body:?}")),
                23 => {}
                other => return ClientAnswer::Other(format!("record type {other}")),
            }
            let Some(mut inner) = keys.open(&header, &body) else {
                return ClientAnswer::Other("a record that does not decrypt".into());
            };
            return match (inner.pop(), inner.as_slice()) {
                (Some(21), [2, description]) => {
                    ClientAnswer::Alert(AlertDescription::from(*description))
                }
                (Some(22), [20, ..]) => ClientAnswer::SentFinished,
                other => ClientAnswer::Other(format!("{other:?}")),
            };
        }
        match tcp.read(&mut buf) {
            Ok(0) | Err(_) => return ClientAnswer::Closed,
            Ok(n) => received.extend_from_slice(&buf[..n]),
        }
    }
}
