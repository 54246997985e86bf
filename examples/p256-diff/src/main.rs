//! Differential test on an emulated Cortex-M4 (QEMU `mps2-an386`): embedded-mqtts's P-256 on
//! the assembly of `p256-cm4` (`src/tls/cortex_m4_p256.rs`, compiled here as it is) against
//! RustCrypto's `p256`, the reference:
//!
//! - **Wycheproof ECDSA P-256 with SHA-256** (DER signatures): the verifier's steps (the key
//!   from SEC1, the signature from DER, the check of the SHA-256 prehash) on both backends;
//!   the same accept/reject on every vector, and Wycheproof's own verdict (valid accepted,
//!   invalid refused).
//! - **Wycheproof ECDH secp256r1** (SEC1 points, as a TLS key share): the embedded-tls fork's
//!   `EcdheP256::diffie_hellman` of both backends; the same refusals, the same shared secrets,
//!   and Wycheproof's.
//! - **Random inputs** (ChaCha20 from a fixed seed, printed): key pairs from the same random
//!   bytes (the same public keys), shared secrets both ways, RFC 6979 signatures (the same
//!   bytes), verification of good and altered signatures, digests of 32, 48 and 64 bytes and
//!   digests at or above the group order, point encodings (compressed, compact, hybrid,
//!   identity, off the curve).
//!
//! Each disagreement prints a `p256-diff: MISMATCH` line; the run ends with
//! `p256-diff: PASS ...` and QEMU exit status 0, or `p256-diff: FAIL: N mismatches` and 1.
//! Run by `tests/qemu_p256_diff.rs`; by hand: `cargo run --release` here.

#![no_std]
#![no_main]

#[path = "../../../src/tls/cortex_m4_p256.rs"]
#[allow(dead_code)]
mod cortex_m4_p256;

use core::sync::atomic::{AtomicU32, Ordering};

use cortex_m_rt::entry;
use cortex_m_semihosting::{debug, hprintln};
use embedded_tls::{EcdheP256, EphemeralKeyPair, EphemeralScalar, RustCryptoP256};
use p256::ecdsa::signature::hazmat::{PrehashSigner, PrehashVerifier};
use p256::ecdsa::Signature;
use p256::elliptic_curve::sec1::ToEncodedPoint;
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use sha2::{Digest, Sha256};

use cortex_m4_p256::Cm4Ecdhe;

/// Wycheproof's verdict on a vector.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Expected {
    Valid,
    Invalid,
    /// Either verdict is allowed (both backends must still agree).
    Acceptable,
}

/// An ECDSA verification vector.
struct EcdsaVector {
    id: u32,
    key: &'static [u8],
    msg: &'static [u8],
    sig: &'static [u8],
    expected: Expected,
}

/// An ECDH vector (private key: 32 bytes, big-endian).
struct EcdhVector {
    id: u32,
    private: &'static [u8],
    public: &'static [u8],
    shared: &'static [u8],
    expected: Expected,
}

mod vectors {
    use super::{EcdhVector, EcdsaVector, Expected};
    include!(concat!(env!("OUT_DIR"), "/vectors.rs"));
}

/// The seed of the random inputs.
const SEED: u64 = 0x5eed_0015;
/// Rounds of random inputs (each: two key pairs per backend, three shared secrets, a
/// signature and four verifications, on both).
const RANDOM_ROUNDS: u32 = 12;

/// Disagreements found.
static MISMATCHES: AtomicU32 = AtomicU32::new(0);

/// Records a disagreement (printed with its facts) unless `agree`.
macro_rules! check {
    ($agree:expr, $($what:tt)*) => {
        if !$agree {
            MISMATCHES.fetch_add(1, Ordering::Relaxed);
            hprintln!("p256-diff: MISMATCH {}", format_args!($($what)*));
        }
    };
}

/// Whether `verdict` (accepted or not) is what Wycheproof expects.
fn as_expected(expected: Expected, accepted: bool) -> bool {
    match expected {
        Expected::Valid => accepted,
        Expected::Invalid => !accepted,
        Expected::Acceptable => true,
    }
}

/// The verifier's steps with RustCrypto: key, DER signature, prehash.
fn verify_portable(key: &[u8], der: &[u8], prehash: &[u8]) -> bool {
    let Ok(key) = p256::ecdsa::VerifyingKey::from_sec1_bytes(key) else {
        return false;
    };
    let Ok(signature) = Signature::from_der(der) else {
        return false;
    };
    key.verify_prehash(prehash, &signature).is_ok()
}

/// The same steps on the fast path.
fn verify_cm4(key: &[u8], der: &[u8], prehash: &[u8]) -> bool {
    let Ok(key) = cortex_m4_p256::VerifyingKey::from_sec1_bytes(key) else {
        return false;
    };
    let Ok(signature) = Signature::from_der(der) else {
        return false;
    };
    key.verify_prehash(prehash, &signature).is_ok()
}

fn wycheproof_ecdsa() -> usize {
    for v in vectors::ECDSA {
        let prehash = Sha256::digest(v.msg);
        let portable = verify_portable(v.key, v.sig, &prehash);
        let cm4 = verify_cm4(v.key, v.sig, &prehash);
        check!(
            portable == cm4,
            "ECDSA tcId {}: p256 {} p256-cm4 {}",
            v.id,
            portable,
            cm4
        );
        check!(
            as_expected(v.expected, cm4),
            "ECDSA tcId {}: Wycheproof {:?}, both {}",
            v.id,
            v.expected,
            cm4
        );
    }
    vectors::ECDSA.len()
}

/// A shared secret as bytes, or `None` for a refusal.
fn shared<E: EcdheP256>(private: &[u8; 32], public: &[u8]) -> Option<[u8; 32]> {
    let mut bytes = *private;
    let scalar = EphemeralScalar::new(&mut bytes);
    let secret = E::diffie_hellman(&scalar, public).ok()?;
    secret.raw_secret_bytes().try_into().ok()
}

fn wycheproof_ecdh() -> usize {
    for v in vectors::ECDH {
        let Ok(private) = <[u8; 32]>::try_from(v.private) else {
            check!(false, "ECDH tcId {}: private key not 32 bytes", v.id);
            continue;
        };
        let portable = shared::<RustCryptoP256>(&private, v.public);
        let cm4 = shared::<Cm4Ecdhe>(&private, v.public);
        check!(
            portable == cm4,
            "ECDH tcId {}: p256 {:02x?} p256-cm4 {:02x?}",
            v.id,
            portable,
            cm4
        );
        let right = match v.expected {
            Expected::Valid => cm4.is_some_and(|s| s[..] == *v.shared),
            Expected::Invalid => cm4.is_none(),
            Expected::Acceptable => cm4.is_none_or(|s| s[..] == *v.shared),
        };
        check!(
            right,
            "ECDH tcId {}: Wycheproof {:?} {:02x?}, both {:02x?}",
            v.id,
            v.expected,
            v.shared,
            cm4
        );
    }
    vectors::ECDH.len()
}

/// Other encodings of the same point, and points that are not valid: both backends must give
/// the same verdict and secret for each.
fn point_encodings(round: u32, private: &[u8; 32], public: &p256::PublicKey) {
    let compressed = public.to_encoded_point(true);
    let uncompressed = public.to_encoded_point(false);
    let mut hybrid = [0u8; 65];
    hybrid.copy_from_slice(uncompressed.as_bytes());
    hybrid[0] = 6 | (hybrid[64] & 1);
    let mut compact = [0u8; 33];
    compact.copy_from_slice(compressed.as_bytes());
    compact[0] = 5;
    let mut off_curve = [0u8; 65];
    off_curve.copy_from_slice(uncompressed.as_bytes());
    off_curve[64] ^= 1;
    let mut x_too_large = [0xffu8; 65];
    x_too_large[0] = 4;
    let cases: [(&str, &[u8]); 7] = [
        ("compressed", compressed.as_bytes()),
        ("compact", &compact),
        ("hybrid", &hybrid),
        ("off the curve", &off_curve),
        ("coordinates of 2^256-1", &x_too_large),
        ("identity", &[0]),
        ("truncated", &uncompressed.as_bytes()[..64]),
    ];
    for (what, bytes) in cases {
        let portable = shared::<RustCryptoP256>(private, bytes);
        let cm4 = shared::<Cm4Ecdhe>(private, bytes);
        check!(
            portable == cm4,
            "round {round}: ECDH with a {what} point: p256 {:?} p256-cm4 {:?}",
            portable.is_some(),
            cm4.is_some()
        );
        // The same verdict, and for a point that passes the same point as its uncompressed
        // form (re-encoded by p256, decoded by p256-cm4).
        let portable = p256::ecdsa::VerifyingKey::from_sec1_bytes(bytes)
            .ok()
            .map(|key| key.to_encoded_point(false));
        let portable = portable
            .and_then(|point| cortex_m4_p256::VerifyingKey::from_sec1_bytes(point.as_bytes()).ok());
        let cm4 = cortex_m4_p256::VerifyingKey::from_sec1_bytes(bytes).ok();
        check!(
            portable == cm4,
            "round {round}: ECDSA key as a {what} point: p256 {:?} p256-cm4 {:?}",
            portable.is_some(),
            cm4.is_some()
        );
    }
}

/// One round of ECDHE on random inputs.
fn random_ecdhe(round: u32, rng: &mut ChaCha20Rng) {
    let mut rng_cm4 = rng.clone();
    let client = EphemeralKeyPair::generate::<RustCryptoP256>(rng);
    let client_cm4 = EphemeralKeyPair::generate::<Cm4Ecdhe>(&mut rng_cm4);
    check!(
        client.public_key() == client_cm4.public_key(),
        "round {round}: key shares from the same random bytes differ"
    );
    let server = EphemeralKeyPair::generate::<RustCryptoP256>(rng);
    let a = client.shared_secret(server.public_key()).ok();
    let b = client_cm4.shared_secret(server.public_key()).ok();
    let c = server.shared_secret(client_cm4.public_key()).ok();
    let raw = |s: Option<embedded_tls::SharedSecret>| -> Option<[u8; 32]> {
        s.and_then(|s| s.raw_secret_bytes().try_into().ok())
    };
    let (a, b, c) = (raw(a), raw(b), raw(c));
    check!(
        a.is_some() && a == b && b == c,
        "round {round}: shared secrets p256 {a:02x?} p256-cm4 {b:02x?} server's {c:02x?}"
    );

    let mut private = [0u8; 32];
    loop {
        rng.fill_bytes(&mut private);
        if let Ok(key) = p256::SecretKey::from_slice(&private) {
            point_encodings(round, &private, &key.public_key());
            break;
        }
    }
}

/// One round of ECDSA on random inputs.
fn random_ecdsa(round: u32, rng: &mut ChaCha20Rng) {
    let secret = p256::SecretKey::random(rng);
    let portable = p256::ecdsa::SigningKey::from(&secret);
    let Ok(cm4) = cortex_m4_p256::SigningKey::from_secret_key(&secret) else {
        check!(false, "round {round}: p256-cm4 refused a valid private key");
        return;
    };
    let point = portable.verifying_key().to_encoded_point(false);
    check!(
        cortex_m4_p256::VerifyingKey::from_sec1_bytes(point.as_bytes()).ok()
            == Some(*cm4.verifying_key()),
        "round {round}: public keys of the same private key differ"
    );
    let mut digest = [0u8; 32];
    rng.fill_bytes(&mut digest);
    let a: Option<Signature> = portable.sign_prehash(&digest).ok();
    let b: Option<Signature> = cm4.sign_prehash(&digest).ok();
    check!(
        a.is_some() && a == b,
        "round {round}: RFC 6979 signatures differ: p256 {a:?} p256-cm4 {b:?}"
    );
    let Some(signature) = a else { return };
    let der = signature.to_der();
    let good = verify_portable(point.as_bytes(), der.as_bytes(), &digest);
    let fast = verify_cm4(point.as_bytes(), der.as_bytes(), &digest);
    check!(
        good && fast,
        "round {round}: a good signature: p256 {good} p256-cm4 {fast}"
    );
    let mut altered = digest;
    altered[(round as usize) % 32] ^= 0x10;
    let portable_altered = verify_portable(point.as_bytes(), der.as_bytes(), &altered);
    let cm4_altered = verify_cm4(point.as_bytes(), der.as_bytes(), &altered);
    check!(
        !portable_altered && !cm4_altered,
        "round {round}: another digest: p256 {portable_altered} p256-cm4 {cm4_altered}"
    );
    let (r, s) = signature.split_bytes();
    let mut s = s;
    s[31] ^= 1;
    if let Ok(other) = Signature::from_scalars(r, s) {
        let der = other.to_der();
        let p = verify_portable(point.as_bytes(), der.as_bytes(), &digest);
        let c = verify_cm4(point.as_bytes(), der.as_bytes(), &digest);
        check!(
            !p && !c,
            "round {round}: an altered s: p256 {p} p256-cm4 {c}"
        );
    }
    // Longer digests (SHA-384, SHA-512 in certificates): the leftmost 256 bits count.
    let mut long = [0u8; 64];
    rng.fill_bytes(&mut long);
    for len in [48, 64] {
        let prehash = &long[..len];
        let Ok(signature) = portable.sign_prehash(prehash) else {
            check!(false, "round {round}: p256 cannot sign a {len}-byte digest");
            continue;
        };
        let der: Signature = signature;
        let der = der.to_der();
        let p = verify_portable(point.as_bytes(), der.as_bytes(), prehash);
        let c = verify_cm4(point.as_bytes(), der.as_bytes(), prehash);
        check!(
            p && c,
            "round {round}: a {len}-byte digest: p256 {p} p256-cm4 {c}"
        );
    }
}

/// Digests at and above the group order n (reduced mod n by ECDSA), and of the smallest
/// length RustCrypto accepts (16 bytes) and below.
fn edge_digests(rng: &mut ChaCha20Rng) {
    const N: [u8; 32] = [
        0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63,
        0x25, 0x51,
    ];
    let mut n_plus_1 = N;
    n_plus_1[31] += 1;
    let mut n_minus_1 = N;
    n_minus_1[31] -= 1;
    let secret = p256::SecretKey::random(rng);
    let portable = p256::ecdsa::SigningKey::from(&secret);
    let Ok(cm4) = cortex_m4_p256::SigningKey::from_secret_key(&secret) else {
        check!(false, "edge digests: p256-cm4 refused a valid private key");
        return;
    };
    let point = portable.verifying_key().to_encoded_point(false);
    for (what, digest) in [
        ("n", N),
        ("n + 1", n_plus_1),
        ("n - 1", n_minus_1),
        ("2^256 - 1", [0xff; 32]),
        ("0", [0; 32]),
    ] {
        let a: Option<Signature> = portable.sign_prehash(&digest).ok();
        let b: Option<Signature> = cm4.sign_prehash(&digest).ok();
        check!(
            a.is_some() && a == b,
            "digest {what}: signatures p256 {a:?} p256-cm4 {b:?}"
        );
        if let Some(signature) = a {
            let der = signature.to_der();
            let p = verify_portable(point.as_bytes(), der.as_bytes(), &digest);
            let c = verify_cm4(point.as_bytes(), der.as_bytes(), &digest);
            check!(p && c, "digest {what}: verification p256 {p} p256-cm4 {c}");
        }
    }
    let short = [0x42u8; 16];
    let Ok(signature) = portable.sign_prehash(&short) else {
        check!(false, "p256 cannot sign a 16-byte digest");
        return;
    };
    let signature: Signature = signature;
    let der = signature.to_der();
    for len in [16, 15] {
        let p = verify_portable(point.as_bytes(), der.as_bytes(), &short[..len]);
        let c = verify_cm4(point.as_bytes(), der.as_bytes(), &short[..len]);
        check!(p == c, "a {len}-byte digest: p256 {p} p256-cm4 {c}");
    }
}

#[entry]
fn main() -> ! {
    hprintln!("p256-diff: seed {:#x}", SEED);
    let ecdsa = wycheproof_ecdsa();
    hprintln!(
        "p256-diff: Wycheproof ECDSA P-256 SHA-256: {} vectors",
        ecdsa
    );
    let ecdh = wycheproof_ecdh();
    hprintln!(
        "p256-diff: Wycheproof ECDH secp256r1 (SEC1 points): {} vectors",
        ecdh
    );
    let mut rng = ChaCha20Rng::seed_from_u64(SEED);
    for round in 0..RANDOM_ROUNDS {
        random_ecdhe(round, &mut rng);
        random_ecdsa(round, &mut rng);
    }
    edge_digests(&mut rng);
    let mismatches = MISMATCHES.load(Ordering::Relaxed);
    if mismatches == 0 {
        hprintln!(
            "p256-diff: PASS ecdsa_vectors={} ecdh_vectors={} random_rounds={}",
            ecdsa,
            ecdh,
            RANDOM_ROUNDS
        );
        debug::exit(debug::EXIT_SUCCESS);
    } else {
        hprintln!("p256-diff: FAIL: {} mismatches", mismatches);
        debug::exit(debug::EXIT_FAILURE);
    }
    loop {
        cortex_m::asm::wfi();
    }
}

#[cortex_m_rt::exception]
unsafe fn HardFault(frame: &cortex_m_rt::ExceptionFrame) -> ! {
    hprintln!("p256-diff: FAIL: HardFault at {:#x}", frame.pc());
    debug::exit(debug::EXIT_FAILURE);
    loop {
        cortex_m::asm::wfi();
    }
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    hprintln!("p256-diff: FAIL: panic: {}", info);
    debug::exit(debug::EXIT_FAILURE);
    loop {
        cortex_m::asm::wfi();
    }
}
