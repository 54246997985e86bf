//! A full TLS 1.3 handshake with the broker verified against a pinned CA, then MQTT CONNECT /
//! CONNACK, in memory: this crate's client (`TlsStream::connect`, then
//! `blocking::Client::connect`) against an in-process server made of rustls 0.23 (ring
//! provider, TLS 1.3 only) and a minimal MQTT responder that answers a CONNECT with an
//! accepting CONNACK. No sockets and no threads: the client's transport is a pipe that hands
//! every byte the client writes to the server at once and queues the server's answer for the
//! client's next read, so one iteration is deterministic and single-threaded.
//!
//! Per chain two figures:
//! - `both_sides`: wall time of the iteration, client and server work together.
//! - `client_only`: the same iteration with the time spent inside rustls and the responder
//!   (measured around every server call) subtracted: what the client itself costs, including
//!   ECDHE (P-256 key share), the chain verification and the CertificateVerify check.
//!
//! Chains (the server sends leaf and intermediates; the client pins the root):
//! - `p256`: `certs/p256-root` → `certs/p256-leaf` (ECDSA P-256; CertificateVerify
//!   ecdsa_secp256r1_sha256).
//! - `rsa2048`: `benches/data/rsa2048-root` → `-int` → `-leaf`, all RSA-2048
//!   (CertificateVerify rsa_pss_rsae_sha256).
//! - `rsa4096_root`: `certs/rsa-root` (RSA-4096) → `rsa-int` → `rsa-leaf` (RSA-2048), the
//!   chain the demo broker and the firmware use.
//!
//! The server sends no session tickets (`send_tls13_tickets = 0`) and ignores
//! max_fragment_length (rustls does not implement it), so the client uses 16,640-byte read
//! buffers. Each chain's exchange is run once and checked before it is measured.

#![allow(clippy::result_large_err)]

use std::convert::Infallible;
use std::hint::black_box;
use std::io::{Read as _, Write as _};
use std::sync::Arc;
use std::time::{Duration, Instant as StdInstant, SystemTime};

use criterion::{criterion_group, criterion_main, Criterion};
use embedded_io::{ErrorType, ReadReady};
use embedded_mqtts::tls::{self, Pin, PinnedProvider, TlsOptions, TlsSocket, ValidityTime};
use embedded_mqtts::tls::{write_buffer_for, READ_BUFFER};
use embedded_mqtts::{ConnectOptions, Connection, Instant, Storage};
use rand::rngs::StdRng;
use rand::SeedableRng;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::{ServerConfig, ServerConnection};

type SessionStorage = Storage<4, 512, 1024, 1024>;

/// What the in-process broker answers to a CONNECT: CONNACK, session not present, accepted.
const CONNACK: [u8; 4] = [0x20, 0x02, 0x00, 0x00];

/// The server's half of the pipe: rustls plus the MQTT responder, and the bytes on their way
/// to the client.
struct Pipe {
    server: ServerConnection,
    /// TLS bytes from the server, not yet read by the client.
    to_client: Vec<u8>,
    /// Decrypted bytes from the client that do not make a whole MQTT packet yet.
    mqtt_in: Vec<u8>,
    connects: usize,
    /// Time spent in the server's code.
    server_time: Duration,
}

impl Pipe {
    fn new(config: &Arc<ServerConfig>) -> Self {
        Pipe {
            server: ServerConnection::new(config.clone()).expect("rustls server"),
            to_client: Vec::with_capacity(8192),
            mqtt_in: Vec::new(),
            connects: 0,
            server_time: Duration::ZERO,
        }
    }

    /// The server takes `bytes` from the client and produces its answer.
    fn serve(&mut self, mut bytes: &[u8]) {
        let started = StdInstant::now();
        while !bytes.is_empty() {
            self.server.read_tls(&mut bytes).expect("rustls read_tls");
            self.server.process_new_packets().expect("rustls handshake");
        }
        let mut plain = [0u8; 512];
        loop {
            match self.server.reader().read(&mut plain) {
                Ok(0) => break,
                Ok(n) => self.mqtt_in.extend_from_slice(&plain[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) => panic!("rustls reader: {e}"),
            }
        }
        self.respond();
        while self.server.wants_write() {
            self.server
                .write_tls(&mut self.to_client)
                .expect("rustls write_tls");
        }
        self.server_time += started.elapsed();
    }

    /// Answers every whole CONNECT in `mqtt_in` with CONNACK (remaining length < 128 here).
    fn respond(&mut self) {
        while self.mqtt_in.len() >= 2 && self.mqtt_in.len() >= 2 + self.mqtt_in[1] as usize {
            let len = 2 + self.mqtt_in[1] as usize;
            let kind = self.mqtt_in[0] >> 4;
            self.mqtt_in.drain(..len);
            if kind == 1 {
                self.connects += 1;
                self.server.writer().write_all(&CONNACK).expect("CONNACK");
            }
        }
    }
}

impl ErrorType for Pipe {
    type Error = Infallible;
}

impl embedded_io::Read for Pipe {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Infallible> {
        // Every answer is produced when the client writes, so an empty pipe here would mean
        // a client waiting for something the server will never send.
        assert!(
            !self.to_client.is_empty(),
            "client reads, server has nothing to send"
        );
        let n = buf.len().min(self.to_client.len());
        buf[..n].copy_from_slice(&self.to_client[..n]);
        self.to_client.drain(..n);
        Ok(n)
    }
}

impl embedded_io::Write for Pipe {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Infallible> {
        self.serve(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> Result<(), Infallible> {
        Ok(())
    }
}

impl ReadReady for Pipe {
    fn read_ready(&mut self) -> Result<bool, Infallible> {
        Ok(!self.to_client.is_empty())
    }
}

struct Case {
    name: &'static str,
    /// The pinned root (DER).
    root: Vec<u8>,
    /// What the server sends: leaf first.
    chain: Vec<Vec<u8>>,
    /// The leaf's key, PKCS#8 DER.
    key: Vec<u8>,
}

fn pem_der(pem: &[u8]) -> Vec<u8> {
    let mut buf = vec![0u8; pem.len()];
    let (_label, der) = pem_rfc7468::decode(pem, &mut buf).expect("PEM");
    der.to_vec()
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "p256",
            root: include_bytes!("../certs/p256-root.der").to_vec(),
            chain: vec![include_bytes!("../certs/p256-leaf.der").to_vec()],
            key: pem_der(include_bytes!("../certs/p256-leaf.key")),
        },
        Case {
            name: "rsa2048",
            root: include_bytes!("data/rsa2048-root.der").to_vec(),
            chain: vec![
                include_bytes!("data/rsa2048-leaf.der").to_vec(),
                include_bytes!("data/rsa2048-int.der").to_vec(),
            ],
            key: include_bytes!("data/rsa2048-leaf.key.der").to_vec(),
        },
        Case {
            name: "rsa4096_root",
            root: include_bytes!("../certs/rsa-root.der").to_vec(),
            chain: vec![
                include_bytes!("../certs/rsa-leaf.der").to_vec(),
                include_bytes!("../certs/rsa-int.der").to_vec(),
            ],
            key: pem_der(include_bytes!("../certs/rsa-leaf.key")),
        },
    ]
}

fn server_config(case: &Case) -> Arc<ServerConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let chain = case
        .chain
        .iter()
        .map(|der| CertificateDer::from(der.clone()))
        .collect();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(case.key.clone()));
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .expect("TLS 1.3")
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .expect("server certificate and key");
    config.send_tls13_tickets = 0;
    Arc::new(config)
}

/// Client buffers, allocated once per chain.
struct Buffers {
    read: Vec<u8>,
    write: Vec<u8>,
    storage: Box<SessionStorage>,
}

/// One whole exchange; returns the time the server's side took.
fn exchange(
    case: &Case,
    config: &Arc<ServerConfig>,
    buffers: &mut Buffers,
    rng: &mut StdRng,
) -> Duration {
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs();
    let cas = [case.root.as_slice()];
    let pins = [Pin::Ca(&cas)];
    let mut provider = PinnedProvider::new(StdRng::from_rng(&mut *rng).expect("rng"), &pins);
    let socket = TlsSocket::new(Pipe::new(config));
    let mut conn = Connection::new(buffers.storage.buffers());
    let started = StdInstant::now();
    let clock = move || Instant::from_millis(started.elapsed().as_millis() as u32);
    let (client, connected) = tls::connect(
        &socket,
        &mut buffers.read,
        &mut buffers.write,
        &TlsOptions::new("localhost", ValidityTime::UnixSeconds(now)),
        &mut provider,
        &mut conn,
        clock,
        &ConnectOptions::new("bench"),
    )
    .unwrap_or_else(|e| panic!("{}: handshake and CONNECT: {e}", case.name));
    black_box(&connected);
    drop(client);
    let pipe = socket.into_inner();
    assert_eq!(pipe.connects, 1, "{}: one CONNECT", case.name);
    pipe.server_time
}

fn handshake(c: &mut Criterion) {
    let mut group = c.benchmark_group("handshake_connect");
    let mut rng = StdRng::seed_from_u64(1);
    for case in cases() {
        let config = server_config(&case);
        let mut buffers = Buffers {
            read: vec![0; READ_BUFFER],
            write: vec![0; write_buffer_for(1024)],
            storage: Box::default(),
        };
        exchange(&case, &config, &mut buffers, &mut rng);
        group.bench_function(format!("{}/both_sides", case.name), |b| {
            b.iter(|| black_box(exchange(&case, &config, &mut buffers, &mut rng)))
        });
        group.bench_function(format!("{}/client_only", case.name), |b| {
            b.iter_custom(|iterations| {
                let mut client = Duration::ZERO;
                for _ in 0..iterations {
                    let started = StdInstant::now();
                    let server = exchange(&case, &config, &mut buffers, &mut rng);
                    client += started.elapsed().saturating_sub(server);
                }
                client
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = handshake
}
criterion_main!(benches);
