//! The verification matrix on openssl-made certificates (`tests/data/verify/make.sh`): every
//! refusal asserts its exact variant. Also the CertificateVerify forgery, the embedded-tls
//! verifier's bookkeeping, the seed article's certificates, and that nothing allocates.

#![cfg(feature = "rsa")]
// VerifyError carries its facts inline (no heap), as the library allows crate-wide.
#![allow(clippy::result_large_err)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use embedded_mqtts::tls::{
    spki_sha256, verify_certificate_verify, verify_server_certificate, CertificateSummary, Pin,
    PinnedProvider, PinnedVerifier, ValidityTime, VerifiedChain, VerifyError, VerifyOptions,
};
use embedded_tls::{
    Aes128GcmSha256, CertificateEntryRef, CertificateRef, CertificateVerifyRef, CryptoProvider,
    SignatureScheme, TlsVerifier,
};
use sha2::{Digest, Sha256};

macro_rules! der {
    ($name:literal) => {
        include_bytes!(concat!("data/verify/", $name, ".der")).as_slice()
    };
}

/// 2030-01-01 00:00:00 UTC: inside every good certificate's validity.
const T2030: u64 = 1_893_456_000;

const RSA_ROOT: &[&[u8]] = &[der!("rsa-root")];
const P256_ROOT: &[&[u8]] = &[der!("p256-root")];

/// The time every check here is made at unless it says otherwise.
const AT_2030: ValidityTime = ValidityTime::UnixSeconds(T2030);

/// Every check on.
const STRICT: VerifyOptions = VerifyOptions::new();

fn verify(
    cas: &[&[u8]],
    leaf: &[u8],
    intermediates: &[&[u8]],
    name: &str,
) -> Result<VerifiedChain, VerifyError> {
    verify_server_certificate(
        &[Pin::Ca(cas)],
        leaf,
        intermediates,
        Some(name),
        AT_2030,
        &STRICT,
    )
}

fn text<const N: usize>(s: &heapless::String<N>) -> &str {
    s.as_str()
}

#[test]
fn rsa_chain_via_intermediate_in_any_order_with_unrelated_extras() {
    let leaf = der!("rsa-leaf");
    let pools: [&[&[u8]]; 3] = [
        &[der!("rsa-int")],
        &[
            der!("other-root"),
            der!("rsa-sub-int"),
            der!("rsa-int"),
            der!("p256-root"),
        ],
        &[der!("rsa-int"), der!("other-leaf"), der!("rsa-root")],
    ];
    for pool in pools {
        let chain = verify(RSA_ROOT, leaf, pool, "broker.example").unwrap();
        assert_eq!(chain.leaf_spki_sha256(), spki_sha256(leaf).unwrap());
    }
    assert!(matches!(
        verify(RSA_ROOT, leaf, &[], "broker.example"),
        Err(VerifyError::UnknownIssuer { issuer }) if text(&issuer) == "CN=Verify RSA intermediate, O=embedded-mqtts test"
    ));
}

#[test]
fn rsa_pss_signed_certificate() {
    verify(
        RSA_ROOT,
        der!("rsa-pss-leaf"),
        &[der!("rsa-int")],
        "broker.example",
    )
    .unwrap();
}

#[test]
fn p256_chains_with_sha256_and_sha384() {
    verify(P256_ROOT, der!("p256-leaf"), &[], "broker.example").unwrap();
    verify(P256_ROOT, der!("p256-sha384-leaf"), &[], "broker.example").unwrap();
}

#[test]
fn exact_certificate_pin() {
    let pins = [Pin::Certificate(der!("p256-leaf"))];
    let any_name = Some("not-checked.example");
    verify_server_certificate(&pins, der!("p256-leaf"), &[], any_name, AT_2030, &STRICT).unwrap();
    let wrong =
        verify_server_certificate(&pins, der!("other-leaf"), &[], any_name, AT_2030, &STRICT);
    let Err(VerifyError::CertificateMismatch {
        expected,
        presented,
    }) = wrong
    else {
        panic!("{wrong:?}")
    };
    assert_eq!(
        expected,
        <[u8; 32]>::from(Sha256::digest(der!("p256-leaf")))
    );
    assert_eq!(
        presented,
        <[u8; 32]>::from(Sha256::digest(der!("other-leaf")))
    );
}

#[test]
fn spki_pin_and_mismatch_shows_both_hashes() {
    let good = spki_sha256(der!("p256-leaf")).unwrap();
    let pins = [Pin::SpkiSha256(good)];
    verify_server_certificate(&pins, der!("p256-leaf"), &[], None, AT_2030, &STRICT).unwrap();
    let err = verify_server_certificate(&pins, der!("other-leaf"), &[], None, AT_2030, &STRICT)
        .unwrap_err();
    let other = spki_sha256(der!("other-leaf")).unwrap();
    assert_eq!(
        err,
        VerifyError::PinMismatch {
            expected: good,
            presented: other
        }
    );
    let shown = err.to_string();
    let hex = |h: [u8; 32]| h.iter().map(|b| format!("{b:02x}")).collect::<String>();
    assert!(
        shown.contains(&hex(good)) && shown.contains(&hex(other)),
        "{shown}"
    );
    // Dates still count for SPKI pins.
    let expired = [Pin::SpkiSha256(spki_sha256(der!("expired")).unwrap())];
    assert!(matches!(
        verify_server_certificate(&expired, der!("expired"), &[], None, AT_2030, &STRICT),
        Err(VerifyError::Expired { .. })
    ));
}

#[test]
fn expired_and_not_yet_valid_give_their_dates() {
    let err = verify(P256_ROOT, der!("expired"), &[], "broker.example").unwrap_err();
    assert!(
        matches!(
            &err,
            VerifyError::Expired {
                not_after: 1_609_459_200,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("2021-01-01 00:00:00 UTC"), "{err}");
    let err = verify(P256_ROOT, der!("not-yet-valid"), &[], "broker.example").unwrap_err();
    assert!(
        matches!(
            err,
            VerifyError::NotYetValid {
                not_before: 2_208_988_800,
                ..
            }
        ),
        "{err:?}"
    );
    // Only an explicit choice skips the dates.
    let unknown = ValidityTime::UnknownSkipDateChecks;
    let pins = [Pin::Ca(P256_ROOT)];
    let leaf = der!("expired");
    verify_server_certificate(&pins, leaf, &[], Some("broker.example"), unknown, &STRICT).unwrap();
}

#[test]
fn wrong_host_names_expected_and_presented() {
    let err = verify(P256_ROOT, der!("p256-leaf"), &[], "other.example").unwrap_err();
    let VerifyError::NameMismatch {
        expected,
        presented,
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(
        (text(expected), text(presented)),
        ("other.example", "broker.example")
    );
    assert_eq!(
        err.to_string(),
        "certificate is not for 'other.example' (it names 'broker.example')"
    );
}

#[test]
fn ip_sans_and_wildcards_match_exactly() {
    let (leaf, pool): (&[u8], &[&[u8]]) = (der!("rsa-leaf"), &[der!("rsa-int")]);
    // The SANs are broker.example, *.wild.example, 192.0.2.10 and 2001:db8::1.
    let good = [
        "192.0.2.10",
        "2001:db8::1",
        "a.wild.example",
        "A.Wild.Example",
    ];
    for name in good {
        verify(RSA_ROOT, leaf, pool, name).unwrap();
    }
    let wrong = [
        "192.0.2.11",
        "2001:db8::2",
        "wild.example",
        "a.b.wild.example",
    ];
    for name in wrong {
        assert!(matches!(
            verify(RSA_ROOT, leaf, pool, name),
            Err(VerifyError::NameMismatch { .. })
        ));
    }
    assert!(matches!(
        verify(RSA_ROOT, leaf, pool, "bad_name.example"),
        Err(VerifyError::InvalidServerName { .. })
    ));
}

#[test]
fn other_ca_and_self_signed_leaf_name_the_untrusted_issuer() {
    let err = verify(P256_ROOT, der!("other-leaf"), &[], "broker.example").unwrap_err();
    assert!(
        matches!(&err, VerifyError::UnknownIssuer { issuer } if text(issuer) == "CN=Verify other root, O=embedded-mqtts test"),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "issuer 'CN=Verify other root, O=embedded-mqtts test' is not a pinned CA"
    );
    let err = verify(P256_ROOT, der!("self-signed"), &[], "broker.example").unwrap_err();
    assert!(
        matches!(&err, VerifyError::UnknownIssuer { issuer } if text(issuer) == "CN=broker.example, O=embedded-mqtts test"),
        "{err:?}"
    );
}

#[test]
fn ca_constraints_are_enforced() {
    let err = verify(
        P256_ROOT,
        der!("under-not-ca"),
        &[der!("int-not-ca")],
        "broker.example",
    );
    assert!(
        matches!(&err, Err(VerifyError::NotCa { subject }) if text(subject).starts_with("CN=Verify not a CA")),
        "{err:?}"
    );
    let pool: &[&[u8]] = &[der!("rsa-sub-int"), der!("rsa-int")];
    let err = verify(RSA_ROOT, der!("rsa-sub-leaf"), pool, "broker.example");
    assert!(
        matches!(&err, Err(VerifyError::PathLenExceeded { path_len: 0, .. })),
        "{err:?}"
    );
    assert!(matches!(
        verify(P256_ROOT, der!("leaf-is-ca"), &[], "broker.example"),
        Err(VerifyError::LeafIsCa { .. })
    ));
}

#[test]
fn leaf_usages_are_enforced() {
    assert!(matches!(
        verify(P256_ROOT, der!("client-eku"), &[], "broker.example"),
        Err(VerifyError::ExtendedKeyUsage { .. })
    ));
    assert!(matches!(
        verify(P256_ROOT, der!("no-sign-ku"), &[], "broker.example"),
        Err(VerifyError::KeyUsage { .. })
    ));
}

#[test]
fn sha1_signatures_are_weak() {
    let err = verify(
        RSA_ROOT,
        der!("rsa-sha1-leaf"),
        &[der!("rsa-int")],
        "broker.example",
    );
    assert!(
        matches!(err, Err(VerifyError::WeakAlgorithm { .. })),
        "{err:?}"
    );
}

#[test]
fn unknown_critical_extension_is_refused() {
    let err = verify(P256_ROOT, der!("critical-ext"), &[], "broker.example");
    assert!(
        matches!(&err, Err(VerifyError::UnknownCriticalExtension { oid, .. }) if text(oid) == "1.3.6.1.4.1.55555.1"),
        "{err:?}"
    );
}

#[test]
fn name_constraints_of_an_intermediate() {
    let pool: &[&[u8]] = &[der!("nc-int")];
    verify(P256_ROOT, der!("nc-allowed"), pool, "a.allowed.example").unwrap();
    let err = verify(P256_ROOT, der!("nc-excluded"), pool, "bad.allowed.example");
    assert!(
        matches!(&err, Err(VerifyError::NameConstraintViolation { name, .. }) if text(name) == "bad.allowed.example"),
        "{err:?}"
    );
}

/// RFC 5280 §6.1.3: a CA's name constraints bind the intermediates below it too, not only the
/// server certificate.
#[test]
fn name_constraints_bind_the_intermediates_below() {
    let pool: &[&[u8]] = &[der!("nc-san-int"), der!("nc-int")];
    let err = verify(P256_ROOT, der!("nc-san-leaf"), pool, "a.allowed.example");
    assert!(
        matches!(&err, Err(VerifyError::NameConstraintViolation { name, .. }) if text(name) == "bad.allowed.example"),
        "{err:?}"
    );
}

/// A dNSName constraint with a leading period is the URI and email form, not RFC 5280's DNS
/// form: refused under the certificate profile, read as "below the domain" under the legacy
/// one.
#[test]
fn a_leading_period_in_a_dns_constraint_is_a_profile_violation() {
    let pool: &[&[u8]] = &[der!("nc-dot-int")];
    let err = verify(P256_ROOT, der!("nc-dot-leaf"), pool, "a.allowed.example");
    assert!(
        matches!(&err, Err(VerifyError::ProfileViolation { what, .. }) if what.contains("leading period")),
        "{err:?}"
    );
    let legacy = VerifyOptions::new().allow_legacy_profile();
    let pins = [Pin::Ca(P256_ROOT)];
    let name = Some("a.allowed.example");
    verify_server_certificate(&pins, der!("nc-dot-leaf"), pool, name, AT_2030, &legacy).unwrap();
}

#[test]
fn common_name_only_when_opted_in() {
    for leaf in [der!("cn-only"), der!("cn-v1")] {
        let err = verify(P256_ROOT, leaf, &[], "broker.example").unwrap_err();
        let VerifyError::NameMismatch { presented, .. } = &err else {
            panic!("{err:?}")
        };
        assert_eq!(text(presented), "no SAN, CN=broker.example");
        let options = VerifyOptions::new().allow_common_name();
        let pins = [Pin::Ca(P256_ROOT)];
        verify_server_certificate(&pins, leaf, &[], Some("broker.example"), AT_2030, &options)
            .unwrap();
        let other =
            verify_server_certificate(&pins, leaf, &[], Some("x.example"), AT_2030, &options);
        assert!(matches!(other, Err(VerifyError::NameMismatch { .. })));
    }
}

#[test]
fn skipping_the_host_name_still_verifies_the_chain() {
    let pins = [Pin::Ca(P256_ROOT)];
    let insecure = VerifyOptions::new().skip_host_name_check();
    let leaf = der!("p256-leaf");
    verify_server_certificate(&pins, leaf, &[], Some("other.example"), AT_2030, &insecure).unwrap();
    verify_server_certificate(&pins, leaf, &[], None, AT_2030, &insecure).unwrap();
    assert!(matches!(
        verify_server_certificate(&pins, der!("other-leaf"), &[], None, AT_2030, &insecure),
        Err(VerifyError::UnknownIssuer { .. })
    ));
    assert_eq!(
        verify_server_certificate(&pins, leaf, &[], None, AT_2030, &STRICT),
        Err(VerifyError::MissingServerName)
    );
}

#[test]
fn tampered_signature_and_garbage_are_refused() {
    let mut leaf = der!("p256-leaf").to_vec();
    let last = leaf.len() - 3;
    leaf[last] ^= 0x01;
    assert!(matches!(
        verify(P256_ROOT, &leaf, &[], "broker.example"),
        Err(VerifyError::BadSignature { .. })
    ));
    assert!(matches!(
        verify(P256_ROOT, b"\x30\x03\x02\x01\x00", &[], "broker.example"),
        Err(VerifyError::Malformed { .. })
    ));
}

#[test]
fn every_single_bit_flip_is_refused_without_panic() {
    // Each byte of the leaf, and of the intermediate of an RSA chain, with one bit flipped:
    // every part of a certificate is either signed or compared with a signed copy.
    let mut leaf = der!("p256-leaf").to_vec();
    for i in 0..leaf.len() {
        leaf[i] ^= 0x04;
        assert!(
            verify(P256_ROOT, &leaf, &[], "broker.example").is_err(),
            "byte {i}"
        );
        leaf[i] ^= 0x04;
    }
    let mut int = der!("rsa-int").to_vec();
    for i in 0..int.len() {
        int[i] ^= 0x10;
        let result = verify(RSA_ROOT, der!("rsa-leaf"), &[&int], "broker.example");
        assert!(result.is_err(), "byte {i}");
        int[i] ^= 0x10;
    }
}

#[test]
fn seed_article_certificates_parse_and_pin() {
    // SHA-256 of the SPKI shared by both seed certificates, as openssl computes it:
    // openssl x509 -in seed-srv.crt -pubkey -noout | openssl pkey -pubin -outform DER | sha256sum
    const SEED_SPKI: &str = "11019cc10973f22aad90f274fe480ffb1394a90865388309ca87914108cbfad1";
    let Ok(Pin::SpkiSha256(hash)) = Pin::spki_sha256_hex(SEED_SPKI) else {
        panic!("hex")
    };
    let (srv, ca) = (der!("seed-srv"), der!("seed-ca"));
    assert_eq!(spki_sha256(srv).unwrap(), hash);
    assert_eq!(spki_sha256(ca).unwrap(), hash);
    // 2020-01-01, inside 2017-04-23 .. 2027-04-21.
    let in_2020 = ValidityTime::UnixSeconds(1_577_836_800);
    for pin in [Pin::SpkiSha256(hash), Pin::Certificate(srv)] {
        verify_server_certificate(&[pin], srv, &[], None, in_2020, &STRICT).unwrap();
        assert!(matches!(
            verify_server_certificate(&[pin], srv, &[], None, AT_2030, &STRICT),
            Err(VerifyError::Expired { .. })
        ));
    }
    // Neither certificate's own signature verifies with the shared key (openssl agrees:
    // `openssl verify -check_ss_sig -CAfile seed-srv.crt seed-srv.crt`), so they cannot stand
    // as a CA pin for themselves: only the certificate and SPKI pins fit them.
    let options = VerifyOptions::new().skip_host_name_check();
    for cert in [srv, ca] {
        let own_ca: &[&[u8]] = &[cert];
        assert!(matches!(
            verify_server_certificate(&[Pin::Ca(own_ca)], cert, &[], None, in_2020, &options),
            Err(VerifyError::BadSignature { .. })
        ));
    }
}

/// The signed content of a server CertificateVerify.
fn certificate_verify_content(transcript_hash: &[u8]) -> Vec<u8> {
    let mut content = vec![0x20; 64];
    content.extend_from_slice(b"TLS 1.3, server CertificateVerify\0");
    content.extend_from_slice(transcript_hash);
    content
}

fn p256_key(sec1: &[u8]) -> p256::ecdsa::SigningKey {
    // SEC1 ECPrivateKey: 30 77 02 01 01 04 20 <32-byte scalar> ...
    assert_eq!(&sec1[..7], &[0x30, 0x77, 0x02, 0x01, 0x01, 0x04, 0x20]);
    p256::ecdsa::SigningKey::from_slice(&sec1[7..39]).unwrap()
}

fn p256_sign(sec1: &[u8], message: &[u8]) -> Vec<u8> {
    use p256::ecdsa::signature::Signer;
    let signature: p256::ecdsa::Signature = p256_key(sec1).sign(message);
    signature.to_der().as_bytes().to_vec()
}

fn rsa_pss_sign(message: &[u8]) -> Vec<u8> {
    use rsa::pkcs1::DecodeRsaPrivateKey;
    use rsa::signature::{RandomizedSigner, SignatureEncoding};
    let key = rsa::RsaPrivateKey::from_pkcs1_der(der!("rsa-leaf.pkcs1")).unwrap();
    let signer = rsa::pss::BlindedSigningKey::<Sha256>::new(key);
    signer
        .sign_with_rng(&mut rand::thread_rng(), message)
        .to_vec()
}

fn leaf_spki(cert: &[u8]) -> Vec<u8> {
    let chain =
        verify_server_certificate(&[Pin::Certificate(cert)], cert, &[], None, AT_2030, &STRICT)
            .unwrap();
    chain.leaf_spki().to_vec()
}

#[test]
fn certificate_verify_by_the_right_key_only() {
    let hash = Sha256::digest(b"ClientHello..Certificate");
    let content = certificate_verify_content(&hash);
    let spki = leaf_spki(der!("p256-leaf"));
    let good = p256_sign(der!("p256-leaf.sec1"), &content);
    verify_certificate_verify(&spki, 0x0403, &good, &hash).unwrap();
    let forged = p256_sign(der!("other-leaf.sec1"), &content);
    assert_eq!(
        verify_certificate_verify(&spki, 0x0403, &forged, &hash),
        Err(VerifyError::CertificateVerifyFailed)
    );
    let other_hash = Sha256::digest(b"another transcript");
    assert_eq!(
        verify_certificate_verify(&spki, 0x0403, &good, &other_hash),
        Err(VerifyError::CertificateVerifyFailed)
    );

    let rsa_spki = leaf_spki(der!("rsa-leaf"));
    let rsa_good = rsa_pss_sign(&content);
    verify_certificate_verify(&rsa_spki, 0x0804, &rsa_good, &hash).unwrap();
    assert_eq!(
        verify_certificate_verify(&rsa_spki, 0x0804, &rsa_good, &other_hash),
        Err(VerifyError::CertificateVerifyFailed)
    );
    assert!(matches!(
        verify_certificate_verify(&rsa_spki, 0x0401, &rsa_good, &hash),
        Err(VerifyError::UnsupportedAlgorithm { .. })
    ));
    assert!(matches!(
        verify_certificate_verify(&rsa_spki, 0x0403, &good, &hash),
        Err(VerifyError::SignatureKeyMismatch { .. })
    ));
}

/// Drives a PinnedVerifier the way embedded-tls does.
struct Handshake {
    transcript: Sha256,
}

impl Handshake {
    fn new() -> Self {
        let mut transcript = Sha256::new();
        transcript.update(b"ClientHello ServerHello EncryptedExtensions Certificate");
        Self { transcript }
    }

    fn certificate(&self, verifier: &mut PinnedVerifier<'_>, chain: &[&[u8]]) -> bool {
        let mut cert = CertificateRef::with_context(&[]);
        for der in chain {
            cert.add(CertificateEntryRef::X509(der)).unwrap();
        }
        TlsVerifier::<Aes128GcmSha256>::verify_certificate(verifier, &self.transcript, cert).is_ok()
    }

    fn certificate_verify(&self, verifier: &mut PinnedVerifier<'_>, key_sec1: &[u8]) -> bool {
        let hash = self.transcript.clone().finalize();
        let signature = p256_sign(key_sec1, &certificate_verify_content(&hash));
        let verify = CertificateVerifyRef {
            signature_scheme: SignatureScheme::EcdsaSecp256r1Sha256,
            signature: &signature,
        };
        TlsVerifier::<Aes128GcmSha256>::verify_signature(verifier, verify).is_ok()
    }
}

const P256_PINS: &[Pin<'static>] = &[Pin::Ca(P256_ROOT)];

fn pinned_verifier() -> PinnedVerifier<'static> {
    let mut verifier = PinnedVerifier::new(P256_PINS);
    verifier.set_validity_time(AT_2030);
    TlsVerifier::<Aes128GcmSha256>::set_hostname_verification(&mut verifier, "broker.example")
        .unwrap();
    verifier
}

#[test]
fn pinned_verifier_needs_both_checks() {
    let hs = Handshake::new();
    let (leaf, key) = (der!("p256-leaf"), der!("p256-leaf.sec1"));

    let mut verifier = pinned_verifier();
    assert!(hs.certificate(&mut verifier, &[leaf]));
    assert!(hs.certificate_verify(&mut verifier, key));
    let verified = verifier.outcome().unwrap();
    assert_eq!(verified.leaf_spki_sha256(), spki_sha256(leaf).unwrap());
    assert_eq!(verified.server_name(), Some("broker.example"));

    // CertificateVerify never came.
    let mut verifier = pinned_verifier();
    assert!(hs.certificate(&mut verifier, &[leaf]));
    assert_eq!(
        verifier.outcome(),
        Err(VerifyError::MissingCertificateVerify)
    );

    // Certificate never came (also when a CertificateVerify did).
    let verifier = pinned_verifier();
    assert_eq!(verifier.outcome(), Err(VerifyError::MissingCertificate));
    let mut verifier = pinned_verifier();
    assert!(!hs.certificate_verify(&mut verifier, key));
    assert_eq!(verifier.outcome(), Err(VerifyError::MissingCertificate));

    // An empty Certificate message.
    let mut verifier = pinned_verifier();
    assert!(!hs.certificate(&mut verifier, &[]));
    assert_eq!(verifier.outcome(), Err(VerifyError::MissingCertificate));
}

#[test]
fn pinned_verifier_refuses_a_forged_certificate_verify_and_stays_refused() {
    let hs = Handshake::new();
    let mut verifier = pinned_verifier();
    assert!(hs.certificate(&mut verifier, &[der!("p256-leaf")]));
    assert!(!hs.certificate_verify(&mut verifier, der!("other-leaf.sec1")));
    assert_eq!(
        verifier.outcome(),
        Err(VerifyError::CertificateVerifyFailed)
    );
    // Nothing that follows turns the failure into a success.
    assert!(!hs.certificate_verify(&mut verifier, der!("p256-leaf.sec1")));
    assert!(!hs.certificate(&mut verifier, &[der!("p256-leaf")]));
    assert_eq!(
        verifier.outcome(),
        Err(VerifyError::CertificateVerifyFailed)
    );

    // A chain refusal is kept with its facts.
    let mut verifier = pinned_verifier();
    assert!(!hs.certificate(&mut verifier, &[der!("other-leaf")]));
    assert!(matches!(
        verifier.outcome(),
        Err(VerifyError::UnknownIssuer { .. })
    ));
}

#[test]
fn pinned_verifier_checks_each_handshake_at_the_time_given_for_it() {
    let hs = Handshake::new();
    let leaf = der!("p256-leaf");
    let mut verifier = pinned_verifier();
    assert!(hs.certificate(&mut verifier, &[leaf]));
    // The next handshake was given no time: it is refused, not checked at the old one.
    verifier.start_handshake();
    assert!(!hs.certificate(&mut verifier, &[leaf]));
    assert_eq!(verifier.outcome(), Err(VerifyError::NoValidityTime));
    // The one after that, at a time past the certificate's notAfter, is refused as expired.
    verifier.start_handshake();
    let not_after = CertificateSummary::parse(leaf).unwrap().not_after().0;
    verifier.set_validity_time(ValidityTime::UnixSeconds(not_after + 1));
    assert!(!hs.certificate(&mut verifier, &[leaf]));
    assert!(
        matches!(verifier.outcome(), Err(VerifyError::Expired { not_after: n, .. }) if n == not_after),
        "{:?}",
        verifier.outcome()
    );
    // And one at its own, good time passes again.
    verifier.start_handshake();
    verifier.set_validity_time(AT_2030);
    assert!(hs.certificate(&mut verifier, &[leaf]));
}

#[test]
fn pinned_provider_forgets_the_last_handshake_when_a_new_one_starts() {
    let hs = Handshake::new();
    let mut provider = PinnedProvider::new(rand::thread_rng(), P256_PINS);
    provider.set_validity_time(AT_2030);
    let verifier = provider.verifier().unwrap();
    verifier
        .set_hostname_verification("broker.example")
        .unwrap();
    let mut cert = CertificateRef::with_context(&[]);
    cert.add(CertificateEntryRef::X509(der!("p256-leaf")))
        .unwrap();
    verifier.verify_certificate(&hs.transcript, cert).unwrap();
    assert_eq!(
        provider.verifier_outcome(),
        Err(VerifyError::MissingCertificateVerify)
    );
    let _ = provider.rng();
    assert_eq!(
        provider.verifier_outcome(),
        Err(VerifyError::MissingCertificate)
    );
}

/// Counts heap bytes in use per thread, and the peak.
struct CountingAllocator;

thread_local! {
    static IN_USE: Cell<usize> = const { Cell::new(0) };
    static PEAK: Cell<usize> = const { Cell::new(0) };
    static COUNT: Cell<usize> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = IN_USE.try_with(|u| {
            u.set(u.get() + layout.size());
            let _ = PEAK.try_with(|p| p.set(p.get().max(u.get())));
            let _ = COUNT.try_with(|c| c.set(c.get() + 1));
        });
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let _ = IN_USE.try_with(|u| u.set(u.get().saturating_sub(layout.size())));
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// Peak heap bytes, allocation count and bytes left allocated while `f` runs on this thread.
fn heap_use(f: impl FnOnce()) -> (usize, usize, usize) {
    let start = IN_USE.with(Cell::get);
    PEAK.with(|p| p.set(start));
    COUNT.with(|c| c.set(0));
    f();
    let peak = PEAK.with(Cell::get) - start;
    let left = IN_USE.with(Cell::get).saturating_sub(start);
    (peak, COUNT.with(Cell::get), left)
}

#[test]
fn verification_allocates_nothing_rsa_included() {
    // RSA-2048: one CertificateVerify by the RSA leaf's key.
    let hash = Sha256::digest(b"transcript");
    let spki = leaf_spki(der!("rsa-leaf"));
    let signature = rsa_pss_sign(&certificate_verify_content(&hash));
    let rsa_2048 = heap_use(|| {
        verify_certificate_verify(&spki, 0x0804, &signature, &hash).unwrap();
    });
    // RSA-4096: the chain, whose intermediate is signed by the RSA-4096 root, and the leaf's
    // RSA-2048 signature.
    let rsa_4096 = heap_use(|| {
        verify(
            RSA_ROOT,
            der!("rsa-leaf"),
            &[der!("rsa-int")],
            "broker.example",
        )
        .unwrap();
    });
    let ecdsa = heap_use(|| {
        verify(P256_ROOT, der!("p256-leaf"), &[], "broker.example").unwrap();
    });
    // (peak bytes, allocations, bytes left): none, for RSA as for ECDSA.
    assert_eq!(rsa_2048, (0, 0, 0));
    assert_eq!(rsa_4096, (0, 0, 0));
    assert_eq!(ecdsa, (0, 0, 0));
}

#[test]
fn a_v3_server_certificate_needs_server_auth_and_v1_ones_are_exempt() {
    let err = verify(P256_ROOT, der!("no-eku"), &[], "broker.example");
    assert!(
        matches!(&err, Err(VerifyError::ProfileViolation { what, .. }) if what.contains("extendedKeyUsage")),
        "{err:?}"
    );
    // OpenSSL's defaults make such certificates: the legacy profile accepts them.
    let pins = [Pin::Ca(P256_ROOT)];
    let legacy = VerifyOptions::new().allow_legacy_profile();
    let name = Some("broker.example");
    verify_server_certificate(&pins, der!("no-eku"), &[], name, AT_2030, &legacy).unwrap();
    // An X.509 v1 CA and a v1 server certificate (no extensions at all, as the seed article's
    // Mosquitto set-up) verify with every check on but the common name allowed.
    let v1_root: &[&[u8]] = &[der!("v1-root")];
    let options = VerifyOptions::new().allow_common_name();
    let v1 = [Pin::Ca(v1_root)];
    verify_server_certificate(&v1, der!("v1-leaf"), &[], name, AT_2030, &options).unwrap();
}

#[test]
fn the_number_of_intermediates_is_an_option() {
    let pool: &[&[u8]] = &[der!("rsa-int")];
    let pins = [Pin::Ca(RSA_ROOT)];
    let with_depth = |depth| {
        let options = VerifyOptions::new().with_max_chain_depth(depth);
        let name = Some("broker.example");
        verify_server_certificate(&pins, der!("rsa-leaf"), pool, name, AT_2030, &options)
    };
    with_depth(1).unwrap();
    let err = with_depth(0);
    assert!(
        matches!(&err, Err(VerifyError::LimitReached { limit: 0, .. })),
        "{err:?}"
    );
    assert_eq!(
        err.unwrap_err().to_string(),
        "verification stopped at its limit of 0 intermediate CAs (max_chain_depth)"
    );
}

/// A P-384 root and server key (openssl-made, and its CertificateVerify signed by openssl):
/// verified with the `p384` feature, refused as unsupported without it.
#[test]
fn p384_chain_and_certificate_verify() {
    let root: &[&[u8]] = &[der!("p384-root")];
    let chain = verify(root, der!("p384-leaf"), &[], "broker.example");
    let hash = sha2::Sha384::digest(b"ClientHello..Certificate");
    let signature = der!("p384-leaf.cv");
    if cfg!(feature = "p384") {
        let spki = chain.unwrap().leaf_spki().to_vec();
        verify_certificate_verify(&spki, 0x0503, signature, &hash).unwrap();
        assert_eq!(
            verify_certificate_verify(&spki, 0x0503, signature, &[0; 48]),
            Err(VerifyError::CertificateVerifyFailed)
        );
        assert!(matches!(
            verify_certificate_verify(&spki, 0x0403, signature, &hash),
            Err(VerifyError::SignatureKeyMismatch { .. })
        ));
    } else {
        assert!(
            matches!(&chain, Err(VerifyError::UnsupportedAlgorithm { what }) if what.contains("P-384")),
            "{chain:?}"
        );
    }
}

/// 70 commonNames and 70 SANs: comparing them all (4,900) would exceed the name budget, and
/// the server certificate's signature is not checked yet, so it is refused at the budget.
#[test]
fn common_names_against_sans_spend_the_name_budget() {
    let err = verify(P256_ROOT, der!("many-names"), &[], "n1.example");
    assert_eq!(
        err,
        Err(VerifyError::LimitReached {
            what: "name comparisons",
            limit: embedded_mqtts::tls::NAME_CONSTRAINT_BUDGET
        })
    );
    assert_eq!(
        err.unwrap_err().to_string(),
        "verification stopped at its limit of 4096 name comparisons"
    );
}
