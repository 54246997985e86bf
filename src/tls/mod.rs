//! TLS 1.3 to the broker, and the trust policy that decides whether it is the broker.
//!
//! The common case in four steps: pin the broker's CA ([`Pin`], compiled in), make one
//! [`PinnedProvider`] for the device's lifetime, and for each connection run [`connect`] (TLS
//! and MQTT CONNECT; or [`TlsStream::connect`] for the stream alone) with [`TlsOptions`] that
//! carry the server name and the time the certificates are checked at; then loop on the
//! client's events.
//!
//! # Layers
//! Each module uses only the ones before it:
//!
//! | module | what | its error |
//! | --- | --- | --- |
//! | `text`, `pem` | bounded text for refusals; PEM to DER | (`pem`: crate-private) |
//! | `x509` | DER / X.509 parsing, borrowed, no heap | [`ParseError`] |
//! | `sig`, `name` | signatures; host names and name constraints | crate-private, worded by `verify` |
//! | `pin`, `summary` | what is pinned; a certificate in words | [`PinError`] |
//! | `verify` | the policy: path, dates, names; the proof tokens [`VerifiedChain`], [`ServerVerified`] | [`VerifyError`] |
//! | `identity` | the client certificate and its signer | [`IdentityError`], [`SignerError`] |
//! | `provider` | embedded-tls glue: [`PinnedProvider`], [`PinnedVerifier`] | (reports [`VerifyError`]) |
//! | `connection` | the streams: [`TlsStream`], [`AsyncTlsStream`], [`TlsSocket`] | [`ConnectError`], [`StreamError`], [`TlsFailure`] |
//! | `client` | TLS and MQTT CONNECT in one call: [`connect`], [`connect_async`] | [`ClientError`] |
//!
//! Every type is reachable at one path: `embedded_mqtts::tls::Name`.
//!
//! # Pins
//! A client trusts a broker because of something compiled into it, never by default. There are
//! three kinds of [`Pin`]:
//!
//! - [`Pin::Ca`]: one or several CA certificates. The server's chain is validated up to one of
//!   them (signatures, validity dates, CA constraints, key usage, path length, name constraints)
//!   and its certificate must be for the expected host name. This is what
//!   `mosquitto_sub --cafile ca.crt` does.
//! - [`Pin::Certificate`]: the server's exact certificate, for self-signed brokers. The
//!   certificate the server presents must be byte-for-byte this one; its validity dates are
//!   still checked, its host name is not (the pin already names one server).
//! - [`Pin::SpkiSha256`]: the SHA-256 of the server certificate's SubjectPublicKeyInfo (the
//!   value `openssl x509 -pubkey -noout | openssl pkey -pubin -outform DER | sha256sum`
//!   prints). It survives certificate renewal with the same key. Dates are checked as for an
//!   exact certificate; the host name is not.
//!
//! Whatever the pin, the server must then prove with its CertificateVerify that it holds the
//! private key of the certificate it presented (see [the handshake](#the-handshake-both-checks-or-no-stream)).
//!
//! There is no pin that trusts everything. Pins are plain data and can live in `static`s:
//! DER files with `include_bytes!`, SPKI hashes with the `const fn`
//! [`Pin::spki_sha256_hex`]. PEM text is turned into DER, without a heap, by [`pem_to_der`] and
//! [`pem_certificates_to_der`].
//!
//! # What is verified
//! Server certificates are verified against [`Pin`]s: path building and the checks of RFC 5280
//! §6 that matter for a TLS server, with no heap (except inside RSA, see
//! [the signature algorithms](#signature-algorithms)).
//!
//! ## With a CA pin
//! The path is built from the server's certificate upwards through the intermediates the
//! server sent — in any order, unrelated extras ignored, each used at most once — to one of the
//! pinned CA certificates. The search backtracks (a name can be shared by several CAs, as with
//! cross-signing), keeps to [`MAX_PATH_LEN`] certificates and to
//! [`VerifyOptions::max_chain_depth`] intermediates (self-issued ones not counted), and cannot
//! loop. Pinned CAs are tried before intermediates at every step.
//!
//! One verification has a work budget: [`SIGNATURE_BUDGET`] signature checks and
//! [`NAME_CONSTRAINT_BUDGET`] name comparisons (one name against one name-constraint subtree,
//! or a commonName against a subjectAltName). Beyond either the certificate is refused
//! ([`VerifyError::LimitReached`]), so a server cannot make a device spend minutes on a crafted
//! chain (x509-limbo's `pathological::nc-dos-*`: 2,048 names against 4,097 constraints). Name
//! constraints, the unbounded part, are applied only to a complete path whose every signature
//! has been checked.
//!
//! Along the path:
//!
//! - every signature is checked ([the signature algorithms](#signature-algorithms) lists the algorithms; SHA-1 and MD5 are
//!   refused);
//! - every certificate, *the pinned CA included*, must be within its validity dates at the
//!   caller's time. webpki treats a trust anchor as a bare key and name and ignores its dates;
//!   this crate follows OpenSSL, and so Mosquitto, instead: the pinned CA is a certificate the
//!   firmware author chose, its expiry is a fact the device should report, and the broker's own
//!   OpenSSL refuses an expired CA too;
//! - every issuer must be a CA: X.509 v3 with basicConstraints cA set. A pinned CA that is an
//!   X.509 v1 certificate (no extensions at all, as old `openssl x509 -req` set-ups made) is
//!   accepted as a CA because the pin itself is the out-of-band assurance RFC 5280 §6.1.4(k)
//!   asks for; a v1 intermediate is refused;
//! - an issuer's keyUsage, where present, must include keyCertSign; its pathLenConstraint
//!   limits the non-self-issued intermediates below it; its extendedKeyUsage, where present,
//!   must allow serverAuth; its nameConstraints apply to the names of the server certificate
//!   and of the intermediates below it that are not self-issued (RFC 5280 §4.2.1.10, §6.1.3);
//! - a path may have at most [`VerifyOptions::max_chain_depth`] intermediates that are not
//!   self-issued;
//! - a critical extension other than basicConstraints, keyUsage, extendedKeyUsage,
//!   subjectAltName and nameConstraints refuses the certificate;
//! - the server certificate must be an end-entity certificate: not a CA, no keyCertSign,
//!   digitalSignature where keyUsage is present (TLS 1.3 servers sign), serverAuth where
//!   extendedKeyUsage is present, no nameConstraints, X.509 v1 or v3 (not v2);
//! - its key must be one the CertificateVerify can be checked with, at a strength accepted
//!   here: RSA of 2048 to 4096 bits in whole bytes, ECDSA P-256, or P-384 with the `p384`
//!   feature (P-192, RSA-1024 or an RSA modulus of 2047 bits are refused with the chain, not
//!   only later by the CertificateVerify);
//! - and, unless the caller chose [`HostCheck::SkipHostName`], it must be for the expected
//!   host name or IP address.
//!
//! Rules that RFC 5280 and the CA/Browser Forum put on the *issuing CAs* are enforced too, as
//! [`VerifyError::ProfileViolation`], because the x509-limbo suite expects a validator to
//! refuse such certificates:
//! - a serial number that is a positive number of at most 20 octets, except in the pinned CA
//!   (roots in use have serial 0);
//! - an authorityKeyIdentifier (with keyIdentifier) on every v3 certificate that is not
//!   self-issued, a pinned cross-signed CA included; no authorityCertIssuer, and a
//!   keyIdentifier equal to the subjectKeyIdentifier, in a self-issued pinned CA;
//! - on every CA a subjectKeyIdentifier, and basicConstraints, nameConstraints and
//!   policyConstraints marked critical; no dNSName constraint with a leading period (the URI
//!   and email form); no extendedKeyUsage in a self-issued pinned CA (a root);
//! - in a v3 server certificate an extendedKeyUsage, not critical, with serverAuth and without
//!   anyExtendedKeyUsage (CA/Browser Forum 7.1.2.7.6, 7.1.2.7.10);
//! - no critical subjectAltName next to a subject;
//! - a commonName written like an IP address is an address in canonical text (dotted decimal,
//!   RFC 5952); a commonName naming a host (an address, or a name with a dot) in a certificate
//!   with subjectAltNames of that kind is one of them, byte for byte (CA/Browser Forum
//!   7.1.4.3; a commonName of a kind the certificate has no SAN of is not held against it).
//!
//! X.509 v1 certificates, which cannot carry extensions, are exempt from the extension rules:
//! a v1 CA and a v1 server certificate verify with every check on. Private CAs made with
//! OpenSSL's defaults break some of these rules (no authorityKeyIdentifier, no
//! extendedKeyUsage): [`VerifyOptions::allow_legacy_profile`] accepts them (everything else is
//! still checked).
//!
//! ## With a certificate or SPKI pin
//! Only the server certificate matters: it must equal the pinned DER, or its SPKI must hash to
//! the pinned SHA-256, and be within its validity dates. Its host name is not checked, nor are
//! intermediates.
//!
//! In every case the result, [`VerifiedChain`], keeps a copy of the server's
//! SubjectPublicKeyInfo for the CertificateVerify check that must follow; only a chain and a
//! CertificateVerify that verifies with its key make a [`ServerVerified`].
//!
//! ## Refusals
//! Every refusal is one [`VerifyError`] variant that carries the facts a person reading a log
//! needs without openssl at hand: the date a certificate expired, the name that was expected
//! and the one that was found, the issuer that is not trusted, both SPKI hashes of a pin
//! mismatch. The type needs no heap: names are kept in bounded [`heapless::String`]s and cut
//! (with `...`) when longer. The layers below report in their own terms (a [`ParseError`] for
//! DER, a signature error, a name that does not match) and the verifier words the refusal.
//!
//! ## Signature algorithms
//! Accepted certificate signature algorithms (RFC 4055, RFC 5758):
//! - `sha{256,384,512}WithRSAEncryption` (RSASSA-PKCS1-v1_5), parameters NULL (or absent);
//! - `id-RSASSA-PSS` with explicit parameters: hash SHA-256/384/512, MGF1 with the same hash,
//!   any salt length the signature was made with, trailer field 1;
//! - `ecdsa-with-SHA256` and `ecdsa-with-SHA384` by a P-256 key, and with the `p384` feature by
//!   a P-384 key.
//!
//! SHA-1 and MD5 (and MD2) signatures are refused with [`VerifyError::WeakAlgorithm`], and so
//! are RSA keys shorter than 2048 bits; RSA keys longer than 4096 bits, P-521, Ed25519 and,
//! without the `p384` feature, P-384 are [`VerifyError::UnsupportedAlgorithm`] (they cost
//! heap, flash or a dependency: P-384 adds about 100 KB of field arithmetic to a Cortex-M4
//! firmware, see the README's conformance section). A signature algorithm that does not fit the key type is
//! [`VerifyError::SignatureKeyMismatch`]; nothing here panics on any input.
//!
//! The TLS 1.3 CertificateVerify (RFC 8446 §4.4.3) is a signature by the server certificate's
//! key over 64 bytes of 0x20, the context string `TLS 1.3, server CertificateVerify`, a zero
//! byte, and the transcript hash up to and including the Certificate message. Accepted schemes:
//! `rsa_pss_rsae_sha256/384/512` (salt length = hash length, as RFC 8446 requires),
//! `ecdsa_secp256r1_sha256` with a P-256 key and, with the `p384` feature,
//! `ecdsa_secp384r1_sha384` with a P-384 key. RSASSA-PKCS1-v1_5 is forbidden in
//! CertificateVerify by RFC 8446 and refused.
//!
//! ### No heap
//! Nothing in the verifier allocates: ECDSA never did, and RSA (feature `rsa`) is verified on
//! the stack by `rsassa.rs` (RSAVP1 with Montgomery multiplication, at most four 512-byte
//! integers for RSA-4096). `tests/verify.rs` checks it with a counting global allocator.
//!
//! ## Host names and name constraints
//! Host names are matched as RFC 6125 and RFC 5280 §4.2.1.6 say, name constraints as RFC 5280
//! §4.2.1.10 does.
//!
//! ### Host names
//! The expected name comes from the client's configuration. When it parses as an IPv4 or IPv6
//! address it is compared with the certificate's iPAddress SANs only (byte for byte); otherwise
//! it must be a DNS name in preferred name syntax (letters, digits and hyphens, labels of 1 to
//! 63 characters, at most 253 in all; one trailing dot is ignored) and is compared with the
//! dNSName SANs, ignoring ASCII case. Names with underscores or non-ASCII characters are not
//! DNS names (RFC 5280 requires IDNs in their `xn--` form) and never match.
//!
//! A wildcard is only the whole leftmost label, `*.example.com`: it matches exactly one label
//! (`a.example.com`, not `example.com` nor `a.b.example.com`), never a partial label such as
//! `f*.example.com` (RFC 6125 §6.4.3 allows clients to refuse those, and this one does), and it
//! needs at least two labels after it (`*.com` matches nothing).
//!
//! The subject commonName is read only when the caller opts in (for the X.509 v1 certificates
//! of many Mosquitto set-ups), and then only if the certificate has no SAN of the expected
//! kind (no dNSName for a DNS name, no iPAddress for an address), with the same rules.
//!
//! ### Name constraints
//! A CA's nameConstraints are applied to the server certificate's names: its dNSName and
//! iPAddress SANs, and its commonName when that is used as its host name. A dNSName constraint
//! `example.com` permits `example.com` and every name below it; `.example.com` only names below
//! it; an empty one everything. An iPAddress constraint is an address and a mask of the same
//! family. Permitted subtrees of a kind require every name of that kind to be inside one of
//! them; no name may be inside an excluded subtree; a wildcard name is treated as excluded when
//! its domain overlaps an excluded subtree. Constraints on other name kinds (email, URI,
//! directory names, otherName) are not evaluated: RFC 5280 §4.2.1.10 asks a validator to
//! process them or refuse only where the server certificate has a name of that kind, so such a
//! CA is refused when it does (every non-empty subject is a directory name; an emailAddress
//! attribute is an email) rather than half-checked, and accepted when it has none.
//!
//! # The handshake: both checks, or no stream
//! [`PinnedProvider`] is embedded-tls's [`CryptoProvider`](embedded_tls::CryptoProvider); its
//! [`TlsVerifier`](embedded_tls::TlsVerifier), a [`PinnedVerifier`], checks the pins.
//!
//! embedded-tls calls its verifier only for the messages that arrive. The repository's fork of
//! it checks their order (RFC 8446 §4: EncryptedExtensions, CertificateRequest if any,
//! Certificate, CertificateVerify, Finished), so a server (or a man in the middle) that sends
//! no Certificate, or no CertificateVerify, is refused when its Finished (or a
//! CertificateVerify without Certificate) arrives, before the client sends its own Finished. The
//! [`PinnedVerifier`] does not rely on that alone: it records what ran and what passed, and
//! [`PinnedVerifier::outcome`] gives a [`ServerVerified`] only when *both* the certificate check
//! and the CertificateVerify check ran and passed. The client must ask after `open()` and
//! refuse the connection otherwise:
//!
//! ```ignore
//! let mut provider = PinnedProvider::new(rng, PINS);
//! provider.set_validity_time(ValidityTime::UnixSeconds(now)); // before every handshake
//! tls.open(TlsContext::new(&config, &mut provider))?;
//! let verified = provider.verifier_outcome()?; // MissingCertificateVerify, Expired, ...
//! ```
//!
//! embedded-tls reports a refusal as a bare `TlsError`; the verifier keeps the first
//! [`VerifyError`] (they are sticky: nothing after a failure can turn it into a success), which
//! `outcome` returns so the client can say why.
//!
//! ## Alerts: the broker learns why
//! Every refusal ends the handshake with the fatal alert RFC 8446 §6.2 names for it, sent
//! before the connection closes (under the handshake keys once the ServerHello is processed),
//! so that the broker's log says why the device left (Mosquitto logs OpenSSL's words, e.g.
//! `sslv3 alert certificate expired`). The verifier's refusals: `certificate_expired` (outside
//! the validity dates), `unknown_ca` (no path to a pinned CA, or not the pinned certificate or
//! key), `unsupported_certificate` (a key, algorithm, critical extension or name constraint the
//! verifier does not handle; no serverAuth), `bad_certificate` (any other fault of a
//! certificate, the host name included), `decode_error` (an empty Certificate message),
//! `decrypt_error` (a CertificateVerify that does not verify), `illegal_parameter` (a
//! CertificateVerify scheme that does not fit the key or was not offered),
//! `unexpected_message` (a message missing, repeated or out of place), `internal_error` (the
//! client's own configuration). embedded-tls's own refusals: `decrypt_error` for a server
//! Finished that does not verify, `illegal_parameter` for a ServerHello field the client did
//! not offer, `decode_error` for a malformed message, `bad_record_mac` for a record that does
//! not decrypt. The alert is best effort: the refusal the application gets is the same
//! whether it could be sent or not.
//!
//! ## What the ClientHello offers
//! Its `signature_algorithms` are exactly the schemes the verifier checks, each once, so that
//! a broker that picks an offered scheme is never refused for it: `ecdsa_secp256r1_sha256`;
//! with the `rsa` feature `rsa_pss_rsae_sha256/384/512` and `rsa_pkcs1_sha256/384/512` (the
//! latter name certificate signatures only: RFC 8446 forbids them in a CertificateVerify);
//! `ecdsa_secp384r1_sha384` with the `p384` feature.
//!
//! The time certificates are checked at belongs to each handshake, not to the provider:
//! [`TlsOptions::new`] takes it and the streams' `connect` hands it to the provider before
//! `open()`, so a provider kept across reconnections checks each broker certificate at the time
//! of its own handshake. The certificate check takes the time it was given: a handshake for
//! which none was given is refused ([`VerifyError::NoValidityTime`]), never checked against an
//! older one.
//!
//! The CertificateRef given to `verify_certificate` borrows embedded-tls's read buffer, so the
//! server's SubjectPublicKeyInfo is copied (into [`VerifiedChain`]) together with a clone of the
//! transcript hash, which at that point covers the Certificate message; `verify_signature`
//! finalises that clone for the CertificateVerify content.
//!
//! ## Client certificates
//!
//! With a [`ClientIdentity`] ([`PinnedProvider::with_client_identity`]) the provider answers a
//! broker's CertificateRequest: embedded-tls asks it for the certificate (`client_cert`) and
//! then for a signer (`signer`) for the CertificateVerify. Without one, a broker that asks gets
//! an empty Certificate message (RFC 8446 §4.4.2), which a broker that *requires* a certificate
//! refuses. [`PinnedProvider::client_auth`] tells what happened in the last handshake.
//!
//! embedded-tls signs with `SignerMut::sign`, which panics when signing fails; the provider's
//! signer therefore never fails: it records the [`SignerError`], returns an empty signature
//! (which the broker refuses), and [`TlsStream::connect`] reports
//! the error as [`ConnectError::ClientSigner`] before any
//! MQTT byte is sent.
//!
//! # Streams
//! [`TlsStream`] (blocking) and [`AsyncTlsStream`] run embedded-tls's handshake with our
//! [`PinnedProvider`], and then refuse the connection unless the verifier both checked the
//! certificate chain *and* the server's CertificateVerify signature: upstream embedded-tls 0.19
//! completes `open()` even when a server sent neither (the fork refuses such a flight), so "no
//! error" is not taken as "verified". The proof is a [`ServerVerified`] value that only the
//! verifier can make; a stream exists only with one.
//!
//! The streams implement the client's transport contract: `Read + Write` and
//! [`ReadReady`](embedded_io::ReadReady). Ready means decrypted bytes are buffered, or the
//! socket has bytes (a TLS record has begun to arrive, so a read completes it). The socket is
//! shared with the TLS connection through a [`RefCell`](core::cell::RefCell) that the caller
//! owns ([`TlsSocket`]), so that readiness can be asked without tearing a record, and so that
//! an idle hook can wait on the socket between reads ([`TlsSocket::get`]).
//!
//! Each record written is followed by the socket's `flush` unless [`TlsOptions::flush_policy`]
//! says [`FlushPolicy::Relaxed`], which embassy-net wants (its `flush` waits for the peer's
//! ACK).
//!
//! ## Buffer sizes
//!
//! The read buffer must hold one whole TLS record: 16,384 bytes of plaintext plus 256 of
//! overhead, so [`READ_BUFFER`] = 16,640 bytes, unless the broker agrees to a smaller
//! max_fragment_length ([`TlsOptions::max_fragment_length`]): then MFL + 256 (4,352 bytes for
//! 4096). The write buffer holds the largest record we send: the largest MQTT packet plus 133
//! bytes, and at least the ClientHello (about 300 bytes). The server's whole Certificate message
//! must fit in one record: with MFL 2^12 a two-certificate chain fits; 2^9 is too small.
//!
//! ## Client certificates: the broker's verdict comes later
//!
//! In TLS 1.3 the client's certificate, CertificateVerify and Finished are its last handshake
//! flight, and the server does not answer it: `open()` returns as soon as they are sent. A
//! broker that refuses the certificate (or its absence) says so with a fatal alert
//! (`bad_certificate`, `unknown_ca`, `certificate_expired`, `certificate_required`, ...) that
//! the client reads only after it has sent its first bytes, the MQTT CONNECT. So after a
//! handshake in which the broker asked for a certificate, the stream watches the first read
//! and write: until the first application byte arrives, an alert or a closed or reset
//! connection is reported as [`StreamError::ClientCertificateRefused`], whose
//! [`embedded_io::Error::kind`] is
//! [`PermissionDenied`](embedded_io::ErrorKind::PermissionDenied). The MQTT client's
//! `connect` then fails with [`Error::ClientCertificateRefused`](crate::Error), and
//! [`TlsStream::client_auth_refusal`] (through `Client::transport()`) gives the details.
//! The refusal names the alert the broker sent, by its name and code point ("broker refused
//! the client certificate: it sent alert UnknownCa (48)"; Mosquitto 2.0 with OpenSSL 3.0 sends
//! `CertificateRequired (116)` when no certificate is presented, `UnknownCa (48)` and
//! `CertificateExpired (45)`), when the client read it. It may not: the broker closes the
//! connection right after its alert, and if the client was still writing its last handshake
//! records then, the write fails and the refusal says "it closed the connection (BrokenPipe)"
//! (the alert is under keys the client derives only after those records). When the
//! CONNECT's flush is what fails, the stream reads the alert that waits in the socket, with
//! the `std` feature (the host's sockets; on a microcontroller that read would cost 144 to
//! 336 B of flash).
//!
//! # Client certificates (mutual TLS)
//! A broker that authenticates devices (Mosquitto's `require_certificate true`, AWS IoT Core,
//! Azure IoT Hub) sends a CertificateRequest in the TLS 1.3 handshake. The client answers with
//! its Certificate and a CertificateVerify: an ECDSA signature, made with the certificate's
//! private key, over
//! `64 × 0x20 ‖ "TLS 1.3, client CertificateVerify" ‖ 0x00 ‖ transcript hash`
//! (RFC 8446 §4.4.3). A [`ClientIdentity`] holds what that needs, and is given to the
//! [`PinnedProvider`] with
//! [`with_client_identity`](PinnedProvider::with_client_identity).
//!
//! The private key comes from one of two places:
//!
//! - **Flash**: [`ClientIdentity::from_p256_key_der`] / [`from_p256_key_pem`]
//!   (PKCS#8 `PRIVATE KEY` or SEC1 `EC PRIVATE KEY`). The key is checked against the
//!   certificate's public key once, here, so that a mismatch is a local error instead of a
//!   broker's refusal.
//! - **A secure element or HSM**: implement [`ClientSigner`] and use
//!   [`ClientIdentity::with_signer`]. The crate hands the signer the 32-byte SHA-256 digest to
//!   sign and never sees the key. Each signature is checked against the certificate's public key
//!   before it is sent (one ECDSA verification, about the cost of the server's), so that a
//!   signer using the wrong key slot is reported as such ([`SignerError`] in
//!   [`ConnectError::ClientSigner`]).
//!
//! Only ECDSA P-256 with SHA-256 (`ecdsa_secp256r1_sha256`) is supported: it is the device key
//! type of secure elements and cloud IoT brokers. RSA client keys would need RSASSA-PSS signing
//! (TLS 1.3 allows nothing else for RSA in CertificateVerify) and the RSA private-key code.
//!
//! embedded-tls 0.19 sends exactly one certificate: the device's own. The broker must trust
//! the CA that issued it directly, or already hold any intermediate CA.
//!
//! [`from_p256_key_pem`]: ClientIdentity::from_p256_key_pem

mod calendar;
mod client;
mod connection;
#[cfg(p256_cm4)]
mod cortex_m4_p256;
mod identity;
mod ip;
mod name;
mod oid;
mod pem;
mod pin;
mod provider;
mod reason;
#[cfg(feature = "rsa")]
mod rsassa;
mod sig;
mod summary;
mod text;
mod verify;
mod x509;

pub use client::{connect, connect_async, AsyncTlsClient, ClientError, TlsClient};
pub use connection::{
    read_buffer_for, write_buffer_for, AsyncTlsStream, ClientCertificateRefused, ConnectError,
    FlushPolicy, MaxFragmentLength, SocketBusy, StreamError, TlsFailure, TlsOptions, TlsSocket,
    TlsStream, READ_BUFFER,
};
pub use identity::{
    ClientIdentity, ClientSignature, ClientSigner, IdentityError, MaybeClientIdentity,
    NoClientIdentity, SignerError,
};
pub use name::NAME_CONSTRAINT_BUDGET;
pub use pin::{pem_certificates_to_der, pem_to_der, spki_sha256, Pin, PinError};
pub use provider::{ClientAuth, PinnedProvider, PinnedVerifier};
pub use summary::{AltName, CertificateSummary, Date};
pub use text::{DnText, NameText};
pub use verify::{
    verify_certificate_verify, verify_server_certificate, HostCheck, ServerVerified, ValidityTime,
    VerifiedChain, VerifyError, VerifyOptions, MAX_CHAIN_DEPTH, MAX_LEAF_SPKI_LEN, MAX_PATH_LEN,
    MAX_SERVER_NAME_LEN, SIGNATURE_BUDGET,
};
pub use x509::ParseError;
