//! RSASSA signature verification without a heap: RSASSA-PKCS1-v1_5 (RFC 8017 §8.2.2) and
//! RSASSA-PSS with MGF1 over the message hash (RFC 8017 §9.1.2), for SHA-256/384/512 and
//! moduli of up to 4096 bits.
//!
//! RSAVP1 (RFC 8017 §5.2.2) is one modular exponentiation with the public exponent, done by
//! square-and-multiply in Montgomery form on crypto-bigint's integers, all on the stack. The
//! exponent is public, so its bits may steer the loop. The modulus picks the integer size:
//! 2048, 3072 or 4096 bits.
//!
//! The bar is the `rsa` crate 0.9's accept/reject on every input (proven by the differential
//! and Wycheproof tests in `rsassa/tests.rs`), with one deliberate difference: a PSS
//! signature representative not below the modulus is refused, as RFC 8017 §5.2.2 step 1
//! requires (the `rsa` crate checks it for PKCS#1 v1.5 only and reduces it for PSS).

use crypto_bigint::modular::montgomery_reduction;
use crypto_bigint::{Limb, Uint, Word, U2048, U3072, U4096};

use super::sig::{HashAlg, HashValue};

/// The largest modulus checked, in bytes (4096 bits, as the `rsa` crate's `MAX_SIZE`).
const MAX_MODULUS_BYTES: usize = 512;

/// The smallest public exponent accepted (`rsa::RsaPublicKey::MIN_PUB_EXPONENT` is 2, and an
/// exponent must be odd).
const MIN_EXPONENT: u64 = 3;

/// The largest public exponent accepted: 2^33 − 1, as `rsa::RsaPublicKey::MAX_PUB_EXPONENT`.
const MAX_EXPONENT: u64 = (1 << 33) - 1;

/// The padding of a signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Padding {
    /// RSASSA-PKCS1-v1_5: EM = 0x00 0x01 FF…FF 0x00 DigestInfo.
    Pkcs1v15,
    /// RSASSA-PSS, MGF1 with the message hash, exactly this many bytes of salt.
    Pss {
        /// Salt length in bytes.
        salt_len: usize,
    },
}

/// Why a signature was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RsaRefusal {
    /// The public key is not one the `rsa` crate would build; the rule it breaks.
    Key(&'static str),
    /// The signature does not verify: wrong length, not below the modulus, or the padding or
    /// hash inside it is not the expected one.
    Invalid,
}

/// Checks an RSA signature over the message hash `hashed` (the output of `hash`).
///
/// `n` and `e` are the modulus and public exponent, big-endian (leading zero bytes are
/// ignored). The key is refused as the `rsa` crate's `RsaPublicKey::new` does: modulus odd and
/// at most 4096 bits, exponent odd, 3 ≤ e ≤ 2^33 − 1 and below the modulus.
///
/// Never inlined, so that its buffer is on the stack only while RSA is checked (inlined into
/// `sig::verify`, it cost the P-256 handshake 328 bytes of stack).
#[inline(never)]
pub(crate) fn verify(
    n: &[u8],
    e: &[u8],
    hash: HashAlg,
    padding: Padding,
    hashed: &[u8],
    signature: &[u8],
) -> Result<(), RsaRefusal> {
    let n = strip_leading_zeros(n);
    let exponent = public_exponent(e)?;
    if n.len() > MAX_MODULUS_BYTES {
        return Err(RsaRefusal::Key("RSA modulus longer than 4096 bits"));
    }
    if n.last().is_none_or(|b| b % 2 == 0) {
        return Err(RsaRefusal::Key("RSA modulus that is even"));
    }
    if u64_from_be(n).is_some_and(|n| exponent >= n) {
        return Err(RsaRefusal::Key("RSA public exponent not below the modulus"));
    }
    if hashed.len() != hash.len() {
        return Err(RsaRefusal::Invalid);
    }
    // RSAVP1 (RFC 8017 §5.2.2): the signature is as long as the modulus, and below it.
    let k = n.len();
    if signature.len() != k {
        return Err(RsaRefusal::Invalid);
    }
    let mut em = [0u8; MAX_MODULUS_BYTES];
    let em = em.get_mut(..k).ok_or(RsaRefusal::Invalid)?;
    if k <= 256 {
        public_operation::<{ U2048::LIMBS }>(n, exponent, signature, em)?;
    } else if k <= 384 {
        public_operation::<{ U3072::LIMBS }>(n, exponent, signature, em)?;
    } else {
        public_operation::<{ U4096::LIMBS }>(n, exponent, signature, em)?;
    }
    let modulus_bits = k * 8 - n.first().map_or(8, |b| b.leading_zeros() as usize);
    match padding {
        Padding::Pkcs1v15 => pkcs1v15_check(hash, hashed, em),
        Padding::Pss { salt_len } => pss_check(hash, hashed, em, modulus_bits, salt_len),
    }
}

/// The public exponent as a number, refused as `rsa::key::check_public` does.
fn public_exponent(e: &[u8]) -> Result<u64, RsaRefusal> {
    let exponent = u64_from_be(strip_leading_zeros(e))
        .ok_or(RsaRefusal::Key("RSA public exponent above 2^33 - 1"))?;
    if exponent % 2 == 0 {
        return Err(RsaRefusal::Key("RSA public exponent that is even"));
    }
    if exponent < MIN_EXPONENT {
        return Err(RsaRefusal::Key("RSA public exponent below 3"));
    }
    if exponent > MAX_EXPONENT {
        return Err(RsaRefusal::Key("RSA public exponent above 2^33 - 1"));
    }
    Ok(exponent)
}

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    bytes.get(start..).unwrap_or(&[])
}

/// A big-endian number of at most 8 bytes.
fn u64_from_be(bytes: &[u8]) -> Option<u64> {
    if bytes.len() > 8 {
        return None;
    }
    Some(bytes.iter().fold(0, |acc, b| acc << 8 | u64::from(*b)))
}

/// `em` = `signature`^`exponent` mod `n` (RSAVP1), big-endian in `em.len()` bytes, with `n`
/// in `LIMBS` limbs. Refuses a signature that is not below `n` and a modulus that is even.
///
/// Never inlined: its integers (up to 4 × 512 bytes, and the products' frames below it) are on
/// the stack only while an RSA signature is checked, not in every caller of `sig::verify`.
#[inline(never)]
fn public_operation<const LIMBS: usize>(
    n: &[u8],
    exponent: u64,
    signature: &[u8],
    em: &mut [u8],
) -> Result<(), RsaRefusal> {
    let modulus = uint_from_be::<LIMBS>(n).ok_or(RsaRefusal::Invalid)?;
    let s = uint_from_be::<LIMBS>(signature).ok_or(RsaRefusal::Invalid)?;
    if s >= modulus {
        return Err(RsaRefusal::Invalid);
    }
    let field = Montgomery::new(modulus).ok_or(RsaRefusal::Key("RSA modulus that is even"))?;
    let base = field.mul(&s, &field.r_squared());
    // Left to right: the top bit of the exponent is the starting `base`.
    let top = u64::BITS - exponent.leading_zeros();
    let mut x = base;
    for bit in (0..top.saturating_sub(1)).rev() {
        x = field.square(&x);
        if exponent >> bit & 1 == 1 {
            x = field.mul(&x, &base);
        }
    }
    be_from_uint(&field.retrieve(&x), em)
}

/// Montgomery arithmetic modulo an odd `modulus` below R = 2^(`LIMBS` × word bits), on
/// crypto-bigint's products and `montgomery_reduction`. Its `DynResidueParams` would do the
/// same, but builds R² mod n by a bit-serial division of a 2 × `LIMBS`-limb number, which costs
/// more than the whole exponentiation (see `r_squared`).
struct Montgomery<const LIMBS: usize> {
    modulus: Uint<LIMBS>,
    /// −modulus⁻¹ mod 2^(word bits).
    neg_inv: Limb,
}

impl<const LIMBS: usize> Montgomery<LIMBS> {
    /// `None` unless `modulus` is odd and above 1.
    fn new(modulus: Uint<LIMBS>) -> Option<Self> {
        let low = modulus.as_words().first().copied()?;
        if low % 2 == 0 || modulus.bits_vartime() < 2 {
            return None;
        }
        let inv = Uint::<1>::from_words([low]).inv_mod2k_vartime(Limb::BITS);
        let neg_inv = Limb(Word::MIN.wrapping_sub(inv.as_words().first().copied()?));
        Some(Self { modulus, neg_inv })
    }

    /// a·b·R⁻¹ mod n.
    fn mul(&self, a: &Uint<LIMBS>, b: &Uint<LIMBS>) -> Uint<LIMBS> {
        montgomery_reduction(&a.mul_wide(b), &self.modulus, self.neg_inv)
    }

    /// a²·R⁻¹ mod n, as a product: crypto-bigint's `square_wide` halves the multiplications
    /// but its frame is 5.6 KB for 4096 bits (measured on the RSA handshake of
    /// `scripts/handshake-cost.sh`: 17.0 M instructions and 33.0 KB of stack with it, 21.8 M
    /// and 29.4 KB without; the stack is what the 64 KiB RAM budget of the boards needs).
    fn square(&self, a: &Uint<LIMBS>) -> Uint<LIMBS> {
        self.mul(a, a)
    }

    /// a·R⁻¹ mod n: out of the Montgomery form.
    fn retrieve(&self, a: &Uint<LIMBS>) -> Uint<LIMBS> {
        montgomery_reduction(&(*a, Uint::ZERO), &self.modulus, self.neg_inv)
    }

    /// R² mod n, the factor into the Montgomery form. With R = 2^W and W = c·2^j (c odd):
    /// 2^(W + c) mod n = Mont(2^c) by doubling 2^(bits(n) − 1) < n, then j Montgomery squarings
    /// give Mont(2^(c·2^j)) = Mont(R) = R² mod n. A few doublings and log2(W) squarings for a
    /// modulus that fills its limbs.
    fn r_squared(&self) -> Uint<LIMBS> {
        let w = LIMBS * Limb::BITS;
        let j = w.trailing_zeros();
        let c = w >> j;
        let top = self.modulus.bits_vartime() - 1;
        let mut x = Uint::ONE.shl_vartime(top);
        for _ in top..w + c {
            x = x.add_mod(&x, &self.modulus);
        }
        for _ in 0..j {
            x = self.square(&x);
        }
        x
    }
}

/// A big-endian number as a `LIMBS`-limb integer; `None` if it does not fit.
fn uint_from_be<const LIMBS: usize>(bytes: &[u8]) -> Option<Uint<LIMBS>> {
    let mut words: [Word; LIMBS] = [0; LIMBS];
    for (i, b) in bytes.iter().rev().enumerate() {
        let word = words.get_mut(i / Limb::BYTES)?;
        *word |= Word::from(*b) << (8 * (i % Limb::BYTES));
    }
    Some(Uint::from_words(words))
}

/// Writes `x` big-endian into all of `out`; refused if `x` does not fit.
fn be_from_uint<const LIMBS: usize>(x: &Uint<LIMBS>, out: &mut [u8]) -> Result<(), RsaRefusal> {
    let mut bytes = x
        .as_words()
        .iter()
        .flat_map(|w| w.to_le_bytes())
        .chain(core::iter::repeat(0));
    for o in out.iter_mut().rev() {
        *o = bytes.next().unwrap_or(0);
    }
    if bytes.take(LIMBS * Limb::BYTES).any(|b| b != 0) {
        return Err(RsaRefusal::Invalid);
    }
    Ok(())
}

/// The DER DigestInfo before the hash value (RFC 8017 §9.2, note 1).
fn digest_info_prefix(hash: HashAlg) -> &'static [u8] {
    match hash {
        HashAlg::Sha256 => &[
            0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x01, 0x05, 0x00, 0x04, 0x20,
        ],
        HashAlg::Sha384 => &[
            0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x02, 0x05, 0x00, 0x04, 0x30,
        ],
        HashAlg::Sha512 => &[
            0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x03, 0x05, 0x00, 0x04, 0x40,
        ],
    }
}

/// EMSA-PKCS1-v1_5 (RFC 8017 §9.2) compared, not parsed: `em` must equal
/// 0x00 0x01 PS 0x00 DigestInfo with PS all 0xFF and at least 8 bytes long.
fn pkcs1v15_check(hash: HashAlg, hashed: &[u8], em: &[u8]) -> Result<(), RsaRefusal> {
    let prefix = digest_info_prefix(hash);
    let t_len = prefix.len() + hashed.len();
    let ps_len = em
        .len()
        .checked_sub(t_len + 3)
        .filter(|len| *len >= 8)
        .ok_or(RsaRefusal::Invalid)?;
    let expected = [0x00, 0x01]
        .iter()
        .chain(core::iter::repeat_n(&0xff, ps_len))
        .chain(&[0x00])
        .chain(prefix)
        .chain(hashed);
    let difference = em
        .iter()
        .zip(expected)
        .fold(0u8, |acc, (got, want)| acc | (got ^ want));
    if difference == 0 {
        Ok(())
    } else {
        Err(RsaRefusal::Invalid)
    }
}

/// EMSA-PSS-VERIFY (RFC 8017 §9.1.2) on the RSAVP1 output `em_full` (as long as the modulus,
/// whose bit length is `modulus_bits`), with MGF1 over `hash` and exactly `salt_len` bytes of
/// salt. Unmasks the data block in place.
fn pss_check(
    hash: HashAlg,
    hashed: &[u8],
    em_full: &mut [u8],
    modulus_bits: usize,
    salt_len: usize,
) -> Result<(), RsaRefusal> {
    let h_len = hash.len();
    let em_bits = modulus_bits.checked_sub(1).ok_or(RsaRefusal::Invalid)?;
    let em_len = em_bits.div_ceil(8);
    // EM = I2OSP(m, emLen) (§8.1.2 step 2c): a byte the modulus has and EM does not is zero.
    let (high, em) = em_full
        .split_at_mut_checked(em_full.len().saturating_sub(em_len))
        .ok_or(RsaRefusal::Invalid)?;
    if high.iter().any(|b| *b != 0) || em.len() != em_len {
        return Err(RsaRefusal::Invalid);
    }
    // Step 3.
    let db_len = salt_len
        .checked_add(h_len + 2)
        .filter(|min| em_len >= *min)
        .map(|_| em_len - h_len - 1)
        .ok_or(RsaRefusal::Invalid)?;
    // Step 4: the trailer.
    let (trailer, rest) = em.split_last_mut().ok_or(RsaRefusal::Invalid)?;
    if *trailer != 0xbc {
        return Err(RsaRefusal::Invalid);
    }
    // Step 5: maskedDB and H.
    let (db, h) = rest
        .split_at_mut_checked(db_len)
        .ok_or(RsaRefusal::Invalid)?;
    // Step 6: the bits above emBits are zero.
    let unused_bits = 8 * em_len - em_bits;
    let top_mask = 0xffu8 >> unused_bits;
    let first = db.first_mut().ok_or(RsaRefusal::Invalid)?;
    if *first & !top_mask != 0 {
        return Err(RsaRefusal::Invalid);
    }
    // Steps 7 to 9: DB = maskedDB xor MGF1(H), its top bits cleared.
    mgf1_xor(hash, h, db)?;
    if let Some(first) = db.first_mut() {
        *first &= top_mask;
    }
    // Step 10: DB = PS (zeros) || 0x01 || salt.
    let (ps_and_one, salt) = db
        .split_at_checked(db_len - salt_len)
        .ok_or(RsaRefusal::Invalid)?;
    let (one, ps) = ps_and_one.split_last().ok_or(RsaRefusal::Invalid)?;
    if *one != 0x01 || ps.iter().any(|b| *b != 0) {
        return Err(RsaRefusal::Invalid);
    }
    // Steps 12 to 14: H = Hash(M'), M' = 0x00 × 8 || mHash || salt.
    let expected = hash_of_parts(hash, &[hashed, salt], 8)?;
    if expected.as_slice() == &h[..] {
        Ok(())
    } else {
        Err(RsaRefusal::Invalid)
    }
}

/// `out` ^= MGF1(`seed`) with `hash` (RFC 8017 §B.2.1).
fn mgf1_xor(hash: HashAlg, seed: &[u8], out: &mut [u8]) -> Result<(), RsaRefusal> {
    for (counter, chunk) in (0u32..).zip(out.chunks_mut(hash.len())) {
        let mask = hash_of_parts(hash, &[seed, &counter.to_be_bytes()], 0)?;
        for (o, m) in chunk.iter_mut().zip(mask.as_slice()) {
            *o ^= m;
        }
    }
    Ok(())
}

/// The hash of `zeros` zero bytes followed by `parts`, concatenated in a buffer on the stack
/// (M' of PSS is at most 8 + 64 + 510 bytes): the one-shot hash the verifier already has.
fn hash_of_parts(hash: HashAlg, parts: &[&[u8]], zeros: usize) -> Result<HashValue, RsaRefusal> {
    let mut buffer = [0u8; 8 + 64 + MAX_MODULUS_BYTES];
    let mut len = zeros;
    for part in parts {
        let end = len.checked_add(part.len()).ok_or(RsaRefusal::Invalid)?;
        buffer
            .get_mut(len..end)
            .ok_or(RsaRefusal::Invalid)?
            .copy_from_slice(part);
        len = end;
    }
    let message = buffer.get(..len).ok_or(RsaRefusal::Invalid)?;
    Ok(HashValue::of(hash, message))
}

#[cfg(test)]
mod tests;
