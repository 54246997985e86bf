//! The RSA verifier against the `rsa` crate 0.9 (its accept/reject is the bar) on fixed
//! openssl-made keys (`tests/data/rsassa/`), and against Wycheproof's RSA PKCS#1 v1.5 and PSS
//! verification vectors.

use super::*;
use rand::{Rng, SeedableRng};
use rsa::pkcs8::DecodePrivateKey;
use rsa::traits::PublicKeyParts;
use rsa::{BigUint, Pkcs1v15Sign, Pss, RsaPrivateKey, RsaPublicKey};
use std::vec::Vec;

const HASHES: [HashAlg; 3] = [HashAlg::Sha256, HashAlg::Sha384, HashAlg::Sha512];

/// The fixed keys: name and PKCS#8 DER (tests/data/rsassa/make.sh).
fn keys() -> [(&'static str, RsaPrivateKey); 4] {
    let key = |der: &[u8]| RsaPrivateKey::from_pkcs8_der(der).unwrap();
    [
        (
            "RSA-2048",
            key(include_bytes!(
                "../../../tests/data/rsassa/rsa-2048.pk8.der"
            )),
        ),
        (
            "RSA-2048, e = 3",
            key(include_bytes!(
                "../../../tests/data/rsassa/rsa-2048-e3.pk8.der"
            )),
        ),
        (
            "RSA-3072",
            key(include_bytes!(
                "../../../tests/data/rsassa/rsa-3072.pk8.der"
            )),
        ),
        (
            "RSA-4096",
            key(include_bytes!(
                "../../../tests/data/rsassa/rsa-4096.pk8.der"
            )),
        ),
    ]
}

fn hashed(hash: HashAlg, message: &[u8]) -> Vec<u8> {
    HashValue::of(hash, message).as_slice().to_vec()
}

/// The `rsa` crate's verdict on the same question.
fn theirs(
    n: &[u8],
    e: &[u8],
    hash: HashAlg,
    padding: Padding,
    hashed: &[u8],
    signature: &[u8],
) -> bool {
    use sha2::{Sha256, Sha384, Sha512};
    let Ok(key) = RsaPublicKey::new(BigUint::from_bytes_be(n), BigUint::from_bytes_be(e)) else {
        return false;
    };
    let result = match (padding, hash) {
        (Padding::Pkcs1v15, HashAlg::Sha256) => {
            key.verify(Pkcs1v15Sign::new::<Sha256>(), hashed, signature)
        }
        (Padding::Pkcs1v15, HashAlg::Sha384) => {
            key.verify(Pkcs1v15Sign::new::<Sha384>(), hashed, signature)
        }
        (Padding::Pkcs1v15, HashAlg::Sha512) => {
            key.verify(Pkcs1v15Sign::new::<Sha512>(), hashed, signature)
        }
        (Padding::Pss { salt_len }, HashAlg::Sha256) => {
            key.verify(Pss::new_with_salt::<Sha256>(salt_len), hashed, signature)
        }
        (Padding::Pss { salt_len }, HashAlg::Sha384) => {
            key.verify(Pss::new_with_salt::<Sha384>(salt_len), hashed, signature)
        }
        (Padding::Pss { salt_len }, HashAlg::Sha512) => {
            key.verify(Pss::new_with_salt::<Sha512>(salt_len), hashed, signature)
        }
    };
    result.is_ok()
}

fn sign(
    key: &RsaPrivateKey,
    rng: &mut rand::rngs::StdRng,
    hash: HashAlg,
    padding: Padding,
    hashed: &[u8],
) -> Vec<u8> {
    use sha2::{Sha256, Sha384, Sha512};
    match (padding, hash) {
        (Padding::Pkcs1v15, HashAlg::Sha256) => key.sign(Pkcs1v15Sign::new::<Sha256>(), hashed),
        (Padding::Pkcs1v15, HashAlg::Sha384) => key.sign(Pkcs1v15Sign::new::<Sha384>(), hashed),
        (Padding::Pkcs1v15, HashAlg::Sha512) => key.sign(Pkcs1v15Sign::new::<Sha512>(), hashed),
        (Padding::Pss { salt_len }, HashAlg::Sha256) => {
            key.sign_with_rng(rng, Pss::new_with_salt::<Sha256>(salt_len), hashed)
        }
        (Padding::Pss { salt_len }, HashAlg::Sha384) => {
            key.sign_with_rng(rng, Pss::new_with_salt::<Sha384>(salt_len), hashed)
        }
        (Padding::Pss { salt_len }, HashAlg::Sha512) => {
            key.sign_with_rng(rng, Pss::new_with_salt::<Sha512>(salt_len), hashed)
        }
    }
    .unwrap()
}

/// Ours and theirs on one question; both verdicts must be equal. Returns the verdict.
fn agree(
    what: &str,
    n: &[u8],
    e: &[u8],
    hash: HashAlg,
    padding: Padding,
    hashed: &[u8],
    signature: &[u8],
) -> bool {
    let ours = verify(n, e, hash, padding, hashed, signature);
    let theirs = theirs(n, e, hash, padding, hashed, signature);
    assert_eq!(
        ours.is_ok(),
        theirs,
        "{what}: ours {ours:?}, rsa crate {theirs}, {hash:?} {padding:?}"
    );
    theirs
}

#[test]
fn agrees_with_the_rsa_crate_on_good_and_tampered_signatures() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(12);
    let mut checked = 0;
    for (name, key) in keys() {
        let n = key.n().to_bytes_be();
        let e = key.e().to_bytes_be();
        for hash in HASHES {
            let h_len = hash.len();
            for padding in [
                Padding::Pkcs1v15,
                Padding::Pss { salt_len: h_len },
                Padding::Pss { salt_len: 0 },
                Padding::Pss {
                    salt_len: rng.gen_range(1..=n.len() - h_len - 2),
                },
            ] {
                let message: Vec<u8> = (0..rng.gen_range(0..200)).map(|_| rng.gen()).collect();
                let good = hashed(hash, &message);
                let signature = sign(&key, &mut rng, hash, padding, &good);
                let agree = |what: &str, padding, hashed: &[u8], signature: &[u8]| {
                    agree(
                        &std::format!("{name} {what}"),
                        &n,
                        &e,
                        hash,
                        padding,
                        hashed,
                        signature,
                    )
                };
                assert!(agree("good", padding, &good, &signature));

                // One bit of the signature flipped.
                let mut bad = signature.clone();
                let bit = rng.gen_range(0..bad.len() * 8);
                bad[bit / 8] ^= 1 << (bit % 8);
                assert!(!agree("signature bit flipped", padding, &good, &bad));
                // Another message.
                let mut other = message.clone();
                other.push(rng.gen());
                assert!(!agree(
                    "other message",
                    padding,
                    &hashed(hash, &other),
                    &signature
                ));
                // Another salt length, the other padding, a byte more or less.
                let other_padding = match padding {
                    Padding::Pkcs1v15 => Padding::Pss { salt_len: h_len },
                    Padding::Pss { salt_len } => {
                        assert!(!agree(
                            "salt length + 1",
                            Padding::Pss {
                                salt_len: salt_len + 1
                            },
                            &good,
                            &signature
                        ));
                        if salt_len > 0 {
                            assert!(!agree(
                                "salt length - 1",
                                Padding::Pss {
                                    salt_len: salt_len - 1
                                },
                                &good,
                                &signature
                            ));
                        }
                        Padding::Pkcs1v15
                    }
                };
                assert!(!agree("other padding", other_padding, &good, &signature));
                let mut longer = std::vec![0];
                longer.extend_from_slice(&signature);
                assert!(!agree("a zero byte more", padding, &good, &longer));
                assert!(!agree("a byte less", padding, &good, &signature[1..]));
                // Random bytes, and the modulus itself.
                let random: Vec<u8> = (0..n.len()).map(|_| rng.gen()).collect();
                assert!(!agree("random signature", padding, &good, &random));
                assert!(!agree("the modulus", padding, &good, &n));
                checked += 9;
            }
        }
    }
    assert!(checked > 400, "{checked}");
}

#[test]
fn refuses_keys_as_the_rsa_crate_does() {
    let (_, key) = &keys()[0];
    let n = key.n().to_bytes_be();
    let hash = HashAlg::Sha256;
    let good = hashed(hash, b"key checks");
    let signature = key
        .sign(Pkcs1v15Sign::new::<sha2::Sha256>(), &good)
        .unwrap();
    let mut even_n = n.clone();
    *even_n.last_mut().unwrap() ^= 1;
    let mut too_long = std::vec![0x80];
    too_long.extend_from_slice(&n);
    let cases: [(&str, &[u8], &[u8]); 13] = [
        ("e = 65537", &n, &[1, 0, 1]),
        ("e = 65537 with a leading zero", &n, &[0, 1, 0, 1]),
        ("e = 1", &n, &[1]),
        ("e = 2", &n, &[2]),
        ("e = 3", &n, &[3]),
        ("e = 0", &n, &[0]),
        ("e empty", &n, &[]),
        ("e = 65536", &n, &[1, 0, 0]),
        ("e = 2^33 - 1", &n, &[1, 0xff, 0xff, 0xff, 0xff]),
        ("e = 2^33 + 1", &n, &[2, 0, 0, 0, 1]),
        ("e of 9 bytes", &n, &[1, 0, 0, 0, 0, 0, 0, 0, 1]),
        ("n even", &even_n, &[1, 0, 1]),
        ("n of 4104 bits", &too_long, &[1, 0, 1]),
    ];
    for (what, n, e) in cases {
        let ours = verify(n, e, hash, Padding::Pkcs1v15, &good, &signature);
        let theirs_key = RsaPublicKey::new(BigUint::from_bytes_be(n), BigUint::from_bytes_be(e));
        assert_eq!(
            matches!(ours, Err(RsaRefusal::Key(_))),
            theirs_key.is_err(),
            "{what}: ours {ours:?}, rsa crate {theirs_key:?}"
        );
        agree(what, n, e, hash, Padding::Pkcs1v15, &good, &signature);
    }
    // A small modulus with an exponent above it.
    assert!(matches!(
        verify(
            &[0x01, 0x01],
            &[1, 0, 1],
            hash,
            Padding::Pkcs1v15,
            &good,
            &[1, 0]
        ),
        Err(RsaRefusal::Key(_))
    ));
}

/// The one deliberate difference: RFC 8017 §5.2.2 step 1 refuses a signature representative
/// not below the modulus; the `rsa` crate 0.9 refuses it for PKCS#1 v1.5 but reduces it for
/// PSS, so s + n (when it still fits in k bytes) passes there.
#[test]
fn a_pss_signature_plus_the_modulus_is_refused_unlike_the_rsa_crate() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(5);
    let (_, key) = &keys()[0];
    let n = key.n().to_bytes_be();
    let e = key.e().to_bytes_be();
    let hash = HashAlg::Sha256;
    let padding = Padding::Pss { salt_len: 32 };
    let limit = BigUint::from(1u8) << (n.len() * 8);
    let mut found = 0;
    for round in 0..200 {
        let good = hashed(hash, &[round as u8]);
        let signature = sign(key, &mut rng, hash, padding, &good);
        let plus_n = BigUint::from_bytes_be(&signature) + key.n();
        if plus_n >= limit {
            continue;
        }
        let plus_n = plus_n.to_bytes_be();
        assert!(theirs(&n, &e, hash, padding, &good, &plus_n));
        assert_eq!(
            verify(&n, &e, hash, padding, &good, &plus_n),
            Err(RsaRefusal::Invalid)
        );
        assert!(!theirs(&n, &e, hash, Padding::Pkcs1v15, &good, &plus_n));
        found += 1;
        if found == 3 {
            return;
        }
    }
    panic!("no signature s with s + n below 2^(8k) in 200 rounds");
}

fn hash_of(hash: &wycheproof::HashFunction) -> Option<HashAlg> {
    match hash {
        wycheproof::HashFunction::Sha2_256 => Some(HashAlg::Sha256),
        wycheproof::HashFunction::Sha2_384 => Some(HashAlg::Sha384),
        wycheproof::HashFunction::Sha2_512 => Some(HashAlg::Sha512),
        _ => None,
    }
}

/// Counts of one Wycheproof run.
#[derive(Default, Debug)]
struct Tally {
    valid: usize,
    invalid: usize,
    acceptable_accepted: usize,
    acceptable_refused: usize,
    large_key_refused: usize,
    groups_skipped: usize,
}

/// One Wycheproof case, in the groups this verifier covers (SHA-256/384/512, MGF1 with the
/// message hash): ours must be the expected result; "acceptable" cases must be judged as the
/// `rsa` crate judges them (counted both ways). A key above 4096 bits must be refused as a key.
/// (Asking the `rsa` crate about every case too would double the time of a debug test run;
/// the differential test above does that on random and tampered inputs.)
#[allow(clippy::too_many_arguments)]
fn wycheproof_check(
    tally: &mut Tally,
    what: &str,
    n: &[u8],
    e: &[u8],
    hash: HashAlg,
    padding: Padding,
    message: &[u8],
    signature: &[u8],
    expected: &wycheproof::TestResult,
) {
    let hashed = hashed(hash, message);
    let ours = verify(n, e, hash, padding, &hashed, signature);
    if strip_leading_zeros(n).len() > MAX_MODULUS_BYTES {
        assert!(matches!(ours, Err(RsaRefusal::Key(_))), "{what}: {ours:?}");
        tally.large_key_refused += 1;
        return;
    }
    match expected {
        wycheproof::TestResult::Valid => {
            assert!(ours.is_ok(), "{what}: valid, ours {ours:?}");
            tally.valid += 1;
        }
        wycheproof::TestResult::Invalid => {
            assert!(ours.is_err(), "{what}: invalid, accepted");
            tally.invalid += 1;
        }
        wycheproof::TestResult::Acceptable => {
            if agree(what, n, e, hash, padding, &hashed, signature) {
                tally.acceptable_accepted += 1;
            } else {
                tally.acceptable_refused += 1;
            }
        }
    }
}

#[test]
fn wycheproof_pkcs1v15_vectors() {
    use wycheproof::rsa_pkcs1_verify::{TestName, TestSet};
    let mut tally = Tally::default();
    for name in TestName::all() {
        let set = TestSet::load(name).unwrap();
        for group in &set.test_groups {
            let Some(hash) = hash_of(&group.hash) else {
                tally.groups_skipped += 1;
                continue;
            };
            for test in &group.tests {
                wycheproof_check(
                    &mut tally,
                    &std::format!("{name:?} tcId {} ({})", test.tc_id, test.comment),
                    &group.key.n,
                    &group.key.e,
                    hash,
                    Padding::Pkcs1v15,
                    &test.msg,
                    &test.sig,
                    &test.result,
                );
            }
        }
    }
    std::println!("Wycheproof RSASSA-PKCS1-v1_5: {tally:?}");
    assert!(tally.valid > 50 && tally.invalid > 2000, "{tally:?}");
}

#[test]
fn wycheproof_pss_vectors() {
    use wycheproof::rsa_pss_verify::{TestName, TestSet};
    let mut tally = Tally::default();
    for name in TestName::all() {
        let set = TestSet::load(name).unwrap();
        for group in &set.test_groups {
            let hash = hash_of(&group.hash);
            let mgf1_same_hash = matches!(group.mgf, wycheproof::Mgf::Mgf1)
                && group.mgf_hash.as_ref().and_then(hash_of) == hash;
            let Some(hash) = hash.filter(|_| mgf1_same_hash) else {
                tally.groups_skipped += 1;
                continue;
            };
            for test in &group.tests {
                wycheproof_check(
                    &mut tally,
                    &std::format!("{name:?} tcId {} ({})", test.tc_id, test.comment),
                    &group.key.n,
                    &group.key.e,
                    hash,
                    Padding::Pss {
                        salt_len: group.salt_size,
                    },
                    &test.msg,
                    &test.sig,
                    &test.result,
                );
            }
        }
    }
    std::println!("Wycheproof RSASSA-PSS: {tally:?}");
    assert!(tally.valid > 50 && tally.invalid > 100, "{tally:?}");
}

/// RSAVP1 against num-bigint-dig's `modpow` (the `rsa` crate's integers) on random odd moduli
/// of every length up to 64 bytes and some up to 512: limb counts that are not a power of two
/// (R² mod n with c ≠ 1), moduli with few top bits, exponents from 3 to 2^33 − 1.
#[test]
fn the_public_operation_agrees_with_modpow() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(8017);
    let lengths = (1..=64).chain([65, 127, 200, 256, 257, 384, 385, 511, 512]);
    let mut checked = 0;
    for len in lengths {
        let mut n: Vec<u8> = (0..len).map(|_| rng.gen()).collect();
        n[0] = n[0].max(1) >> rng.gen_range(0..8);
        n[0] = n[0].max(1);
        n[len - 1] |= 1;
        let big_n = BigUint::from_bytes_be(&n);
        let exponent = match rng.gen_range(0..3) {
            0 => 3,
            1 => 65537,
            _ => rng.gen_range(3..=MAX_EXPONENT) | 1,
        };
        for _ in 0..3 {
            let s =
                BigUint::from_bytes_be(&(0..len).map(|_| rng.gen()).collect::<Vec<u8>>()) % &big_n;
            let mut signature = std::vec![0u8; len];
            let bytes = s.to_bytes_be();
            signature[len - bytes.len()..].copy_from_slice(&bytes);
            let mut em = std::vec![0u8; len];
            public_operation(&n, exponent, &signature, &mut em).unwrap();
            let expected = s.modpow(&BigUint::from(exponent), &big_n);
            assert_eq!(
                BigUint::from_bytes_be(&em),
                expected,
                "n {n:02x?} e {exponent}"
            );
            checked += 1;
        }
        // The modulus itself and anything above it are refused.
        let mut em = std::vec![0u8; len];
        assert_eq!(
            public_operation(&n, exponent, &n, &mut em),
            Err(RsaRefusal::Invalid)
        );
    }
    assert_eq!(checked, 3 * 73);
}
