//! RSASSA signature verification without a heap: RSASSA-PKCS1-v1_5 (RFC 8017 §8.2.2) and
//! RSASSA-PSS with MGF1 over the message hash (RFC 8017 §9.1.2), for SHA-256/384/512 and
//! moduli of up to 4096 bits.
//!
//! RSAVP1 (RFC 8017 §5.2.2) is one modular exponentiation with the public exponent, done by
//! square-and-multiply with Montgomery multiplication over 32-bit limbs, all on the stack (four
//! 512-byte integers at most). The exponent is public, so its bits may steer the loop and
//! nothing needs to be constant-time.
//!
//! Why not crypto-bigint (already in the tree through elliptic-curve): measured on the RSA
//! handshake of `scripts/handshake-cost.sh` (RSA-2048 leaf and intermediate, RSA-4096 root),
//! its `DynResidueParams` takes 158 M instructions (R² mod n by bit-serial division); its
//! `mul_wide` + `montgomery_reduction` with 2048/3072/4096-bit monomorphs 21.8 M instructions,
//! a 29.7 KB stack peak and 5.5 KB more flash on the FRDM-K64F than this one non-generic
//! function (19.6 M, 22.0 KB).
//!
//! The bar is the `rsa` crate 0.9's accept/reject on every input (proven by the differential
//! and Wycheproof tests in `rsassa/tests.rs`), with one deliberate difference: a PSS
//! signature representative not below the modulus is refused, as RFC 8017 §5.2.2 step 1
//! requires (the `rsa` crate checks it for PKCS#1 v1.5 only and reduces it for PSS).

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
    public_operation(n, exponent, signature, em)?;
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

/// Limbs of the largest modulus.
const MAX_LIMBS: usize = MAX_MODULUS_BYTES / 4;

/// `em` = `signature`^`exponent` mod `n` (RSAVP1), big-endian in `em.len()` bytes. Refuses a
/// signature that is not below `n` and a modulus that is even.
///
/// Never inlined: its integers (4 × 512 bytes for RSA-4096) are on the stack only while an
/// RSA signature is checked, not in every caller of `sig::verify`.
#[inline(never)]
fn public_operation(
    n: &[u8],
    exponent: u64,
    signature: &[u8],
    em: &mut [u8],
) -> Result<(), RsaRefusal> {
    let mut modulus = [0u32; MAX_LIMBS];
    let len = limbs_from_be(n, &mut modulus).ok_or(RsaRefusal::Invalid)?;
    let modulus = modulus.get(..len).ok_or(RsaRefusal::Invalid)?;
    let field = Montgomery::new(modulus).ok_or(RsaRefusal::Key("RSA modulus that is even"))?;
    let mut buffers = [[0u32; MAX_LIMBS]; 3];
    let [s, base, x] = buffers
        .each_mut()
        .map(|b| b.get_mut(..len).unwrap_or(&mut []));
    limbs_from_be(signature, s).ok_or(RsaRefusal::Invalid)?;
    if !is_below(s, 0, modulus) {
        return Err(RsaRefusal::Invalid);
    }
    // base = s·R mod n; x = base.
    field.r_squared(x);
    field.mul(base, s, x);
    x.copy_from_slice(base);
    // Left to right: the top bit of the exponent is the starting `base`.
    let top = u64::BITS - exponent.leading_zeros();
    for bit in (0..top.saturating_sub(1)).rev() {
        s.copy_from_slice(x);
        field.mul(x, s, s);
        if exponent >> bit & 1 == 1 {
            s.copy_from_slice(x);
            field.mul(x, s, base);
        }
    }
    // Out of the Montgomery form: x·1·R⁻¹.
    s.fill(0);
    if let Some(one) = s.first_mut() {
        *one = 1;
    }
    field.mul(base, x, s);
    be_from_limbs(base, em)
}

/// Montgomery multiplication modulo an odd `modulus` of 32-bit little-endian limbs, with
/// R = 2^(32 × limbs): operands and results are slices of the modulus's length, on the caller's
/// stack, so the frames stay small.
struct Montgomery<'a> {
    modulus: &'a [u32],
    /// −modulus⁻¹ mod 2^32.
    neg_inv: u32,
}

impl<'a> Montgomery<'a> {
    /// `None` unless `modulus` is odd.
    fn new(modulus: &'a [u32]) -> Option<Self> {
        let low = *modulus.first()?;
        if low % 2 == 0 {
            return None;
        }
        // Newton's iteration: each step doubles the correct low bits of low⁻¹ (3 from `low`).
        let mut inv = low;
        for _ in 0..4 {
            inv = inv.wrapping_mul(2u32.wrapping_sub(low.wrapping_mul(inv)));
        }
        Some(Self {
            modulus,
            neg_inv: inv.wrapping_neg(),
        })
    }

    /// `out` = a·b·R⁻¹ mod n, for a, b < n (CIOS: Koç, Acar and Kaliski, "Analyzing and
    /// comparing Montgomery multiplication algorithms", 1996). `out` must not be `a` or `b`.
    fn mul(&self, out: &mut [u32], a: &[u32], b: &[u32]) {
        // out holds t's low limbs; `high` and `top` its two extra limbs.
        out.fill(0);
        let mut high = 0u32;
        for b_i in b {
            // t += a·b_i
            let mut carry = 0u64;
            for (t, a_j) in out.iter_mut().zip(a) {
                let v = u64::from(*t) + u64::from(*a_j) * u64::from(*b_i) + carry;
                *t = v as u32;
                carry = v >> 32;
            }
            let v = u64::from(high) + carry;
            high = v as u32;
            let top = (v >> 32) as u32;
            // t = (t + m·n) / 2^32, with m making the low limb zero.
            let Some((t_0, rest)) = out.split_first_mut() else {
                return;
            };
            let Some((n_0, n_rest)) = self.modulus.split_first() else {
                return;
            };
            let m = t_0.wrapping_mul(self.neg_inv);
            let mut carry = (u64::from(*t_0) + u64::from(m) * u64::from(*n_0)) >> 32;
            let mut previous = t_0;
            for (t, n_j) in rest.iter_mut().zip(n_rest) {
                let v = u64::from(*t) + u64::from(m) * u64::from(*n_j) + carry;
                *previous = v as u32;
                carry = v >> 32;
                previous = t;
            }
            let v = u64::from(high) + carry;
            *previous = v as u32;
            high = top.wrapping_add((v >> 32) as u32);
        }
        if !is_below(out, high, self.modulus) {
            subtract(out, self.modulus);
        }
    }

    /// `out` = R² mod n, the factor into the Montgomery form. With R = 2^W and W = c·2^j
    /// (c odd): 2^(W + c) mod n = Mont(2^c) by doubling 2^(bits(n) − 1) < n, then j Montgomery
    /// squarings give Mont(2^(c·2^j)) = Mont(R) = R² mod n. A few doublings and log2(W)
    /// squarings for a modulus that fills its limbs.
    fn r_squared(&self, out: &mut [u32]) {
        let w = self.modulus.len() * 32;
        let j = w.trailing_zeros();
        let c = w >> j;
        let top_limb = self.modulus.last().copied().unwrap_or(0);
        let bits = w - top_limb.leading_zeros() as usize;
        // 2^(bits − 1)
        out.fill(0);
        if let Some(limb) = out.last_mut() {
            *limb = 1 << (31 - top_limb.leading_zeros().min(31));
        }
        for _ in bits - 1..w + c {
            // out = 2·out mod n
            let mut carry = 0u32;
            for limb in out.iter_mut() {
                let next = *limb >> 31;
                *limb = *limb << 1 | carry;
                carry = next;
            }
            if !is_below(out, carry, self.modulus) {
                subtract(out, self.modulus);
            }
        }
        let mut scratch = [0u32; MAX_LIMBS];
        let scratch = scratch.get_mut(..out.len()).unwrap_or(&mut []);
        for _ in 0..j {
            scratch.copy_from_slice(out);
            self.mul(out, scratch, scratch);
        }
    }
}

/// Whether `high`·2^(32 × limbs) + `x` is below `n` (as long as `x`).
fn is_below(x: &[u32], high: u32, n: &[u32]) -> bool {
    if high != 0 {
        return false;
    }
    for (x, n) in x.iter().rev().zip(n.iter().rev()) {
        if x != n {
            return x < n;
        }
    }
    false
}

/// `x` −= `n`, modulo 2^(32 × limbs) (the borrow out of the top limb is dropped: it cancels the
/// high limb of a caller's value that was not below `n`).
fn subtract(x: &mut [u32], n: &[u32]) {
    let mut borrow = 0u64;
    for (x, n) in x.iter_mut().zip(n) {
        let v = u64::from(*x)
            .wrapping_sub(u64::from(*n))
            .wrapping_sub(borrow);
        *x = v as u32;
        borrow = v >> 63;
    }
}

/// A big-endian number into little-endian limbs; its length in limbs (at least 1), or `None`
/// if it does not fit.
fn limbs_from_be(bytes: &[u8], limbs: &mut [u32]) -> Option<usize> {
    limbs.fill(0);
    for (i, b) in bytes.iter().rev().enumerate() {
        let limb = limbs.get_mut(i / 4)?;
        *limb |= u32::from(*b) << (8 * (i % 4));
    }
    Some(bytes.len().div_ceil(4).max(1))
}

/// Writes `x` big-endian into all of `out`; refused if `x` does not fit.
fn be_from_limbs(x: &[u32], out: &mut [u8]) -> Result<(), RsaRefusal> {
    let mut bytes = x.iter().flat_map(|w| w.to_le_bytes());
    for o in out.iter_mut().rev() {
        *o = bytes.next().unwrap_or(0);
    }
    if bytes.any(|b| b != 0) {
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
