//! PEM text (RFC 7468) to DER without a heap: the one reader behind certificate pins
//! ([`pem_to_der`](super::pem_to_der)) and client keys
//! ([`ClientIdentity::from_p256_key_pem`](super::ClientIdentity::from_p256_key_pem)).
//!
//! A block is found by its boundary lines (text around it, CRLF line ends and other blocks
//! are fine) and decoded by `pem-rfc7468`, which checks the base64 and that both boundaries
//! carry the same label.

/// The boundary lines of one PEM label.
pub(crate) struct Label {
    begin: &'static [u8],
    end: &'static [u8],
}

/// `CERTIFICATE`: an X.509 certificate.
pub(crate) const CERTIFICATE: Label = Label {
    begin: b"-----BEGIN CERTIFICATE-----",
    end: b"-----END CERTIFICATE-----",
};

/// `PRIVATE KEY`: a PKCS#8 private key.
pub(crate) const PRIVATE_KEY: Label = Label {
    begin: b"-----BEGIN PRIVATE KEY-----",
    end: b"-----END PRIVATE KEY-----",
};

/// `EC PRIVATE KEY`: a SEC1 elliptic-curve private key.
pub(crate) const EC_PRIVATE_KEY: Label = Label {
    begin: b"-----BEGIN EC PRIVATE KEY-----",
    end: b"-----END EC PRIVATE KEY-----",
};

/// Why a PEM block did not decode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PemError {
    /// Not valid RFC 7468 text (base64, line lengths, boundaries).
    Invalid,
    /// The output buffer may be too small for the decoded bytes.
    BufferTooSmall,
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Splits off the first block of `text` with `label`, boundaries included: `(block, rest)`.
pub(crate) fn next_block<'t>(text: &'t [u8], label: &Label) -> Option<(&'t [u8], &'t [u8])> {
    let start = find(text, label.begin)?;
    let from_start = text.get(start..)?;
    let end = find(from_start, label.end)?.checked_add(label.end.len())?;
    Some((from_start.get(..end)?, from_start.get(end..)?))
}

/// Decodes one block (as [`next_block`] returns it) into `out`; the DER starts at `out[0]`.
pub(crate) fn decode<'o>(block: &[u8], out: &'o mut [u8]) -> Result<&'o [u8], PemError> {
    let room = out.len();
    match pem_rfc7468::decode(block, out) {
        Ok((_label, der)) => Ok(der),
        // The DER is at most 3/4 of the block's length: a smaller buffer may be the cause.
        Err(_) if room < block.len() / 4 * 3 => Err(PemError::BufferTooSmall),
        Err(_) => Err(PemError::Invalid),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_are_found_by_their_own_label() {
        let text =
            b"junk\n-----BEGIN EC PRIVATE KEY-----\nAA==\n-----END EC PRIVATE KEY-----\ntail";
        assert!(next_block(text, &PRIVATE_KEY).is_none());
        let (block, rest) = next_block(text, &EC_PRIVATE_KEY).unwrap();
        assert!(block.starts_with(b"-----BEGIN EC") && block.ends_with(b"KEY-----"));
        assert_eq!(rest, b"\ntail");
        assert!(next_block(b"-----BEGIN CERTIFICATE-----", &CERTIFICATE).is_none());
    }

    #[test]
    fn decode_names_a_small_buffer_and_bad_text() {
        let pem = include_bytes!("../../tests/data/verify/seed-srv.crt");
        let (block, _) = next_block(pem, &CERTIFICATE).unwrap();
        let mut out = [0u8; 2048];
        assert_eq!(
            decode(block, &mut out).unwrap(),
            include_bytes!("../../tests/data/verify/seed-srv.der")
        );
        assert_eq!(
            decode(block, &mut [0u8; 100]),
            Err(PemError::BufferTooSmall)
        );
        let bad = b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----";
        assert_eq!(decode(bad, &mut out), Err(PemError::Invalid));
    }
}
