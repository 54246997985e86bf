//! Borrowed, allocation-free X.509 certificate parsing (RFC 5280 §4.1).
//!
//! A [`Certificate`] is a view into the DER bytes it was parsed from: the signed
//! `tbsCertificate`, the issuer and subject names and the SubjectPublicKeyInfo stay slices of
//! the input, so parsing costs no heap and a few hundred bytes of stack. Parsing is strict where
//! a lax reading could change a security decision (DER lengths, one instance of each
//! extension, non-empty SAN/EKU lists, extensions only in v3) and checks the structure of
//! every extension the verifier relies on, so later walks over SANs or names cannot meet
//! malformed data. What the extensions *mean* is decided in `verify.rs` and `name.rs`.

use core::fmt;

use super::calendar;
use super::oid;
use super::text::DnText;

/// Why bytes could not be read as the DER structure expected: a certificate, a name, an
/// extension, a key or an algorithm identifier. `what` says which part was wrong, e.g.
/// `trailing bytes after the certificate`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ParseError {
    /// What was wrong.
    pub what: &'static str,
}

impl ParseError {
    /// The error for `what`.
    pub(crate) const fn new(what: &'static str) -> Self {
        Self { what }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "malformed certificate: {}", self.what)
    }
}

impl core::error::Error for ParseError {}

/// A DER identifier octet: one byte, so tag numbers up to 30 only (as `der::Tag::try_from`
/// reads them, which [`read_tlv`] follows).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Tag(pub(crate) u8);

impl Tag {
    pub(crate) const BOOLEAN: Self = Self(0x01);
    pub(crate) const INTEGER: Self = Self(0x02);
    pub(crate) const BIT_STRING: Self = Self(0x03);
    pub(crate) const OCTET_STRING: Self = Self(0x04);
    pub(crate) const NULL: Self = Self(0x05);
    pub(crate) const OBJECT_IDENTIFIER: Self = Self(0x06);
    pub(crate) const UTF8_STRING: Self = Self(0x0C);
    pub(crate) const PRINTABLE_STRING: Self = Self(0x13);
    pub(crate) const IA5_STRING: Self = Self(0x16);
    pub(crate) const UTC_TIME: Self = Self(0x17);
    pub(crate) const GENERALIZED_TIME: Self = Self(0x18);
    pub(crate) const VISIBLE_STRING: Self = Self(0x1A);
    pub(crate) const SEQUENCE: Self = Self(0x30);
    pub(crate) const SET: Self = Self(0x31);

    /// The tag of an identifier octet `der` knows: a universal type it names, or an
    /// application, context-specific or private tag with a number up to 30.
    fn known(byte: u8) -> Option<Self> {
        let universal = matches!(
            byte,
            0x01..=0x06 | 0x09 | 0x0A | 0x0C | 0x12..=0x18 | 0x1A | 0x1E | 0x30 | 0x31
        );
        (byte & 0x1F != 0x1F && (universal || byte >= 0x40)).then_some(Self(byte))
    }

    /// A context-specific tag's number and whether it is constructed.
    fn context_number(self) -> Option<(u8, bool)> {
        (self.0 & 0xC0 == 0x80).then_some((self.0 & 0x1F, self.0 & 0x20 != 0))
    }
}

/// One DER element: its tag, its contents, and its whole encoding.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Tlv<'a> {
    /// The element's tag.
    pub(crate) tag: Tag,
    /// The contents octets.
    pub(crate) value: &'a [u8],
    /// Tag, length and contents.
    pub(crate) raw: &'a [u8],
}

/// A cursor over a sequence of DER elements whose errors say what was being read.
///
/// It reads what `der`'s `SliceReader` reads, without its generic decoding: a tag byte as
/// `der::Tag::try_from` reads it (no high tag numbers), a definite length in the shortest form
/// (short form below 128; else one to four bytes, no leading zero byte, at most
/// 0x0FFF_FFFF), and that many content bytes.
pub(crate) struct DerReader<'a> {
    rest: &'a [u8],
}

/// The largest length `der` reads (`der::Length::MAX`).
const MAX_LENGTH: usize = 0x0FFF_FFFF;

impl<'a> DerReader<'a> {
    /// Reads the elements of `bytes`.
    pub(crate) fn new(bytes: &'a [u8], what: &'static str) -> Result<Self, ParseError> {
        if bytes.len() > MAX_LENGTH {
            return Err(ParseError::new(what));
        }
        Ok(Self { rest: bytes })
    }

    /// Reads the elements of `contents`, the contents of an element a reader read (so never
    /// longer than [`new`](Self::new) allows: no check, no error to pass on).
    pub(crate) fn within(contents: &'a [u8]) -> Self {
        Self { rest: contents }
    }

    /// [`within`](Self::within) for contents that must hold at least one element
    /// (`SIZE (1..MAX)`); `empty` says what is wrong otherwise.
    pub(crate) fn non_empty(contents: &'a [u8], empty: &'static str) -> Result<Self, ParseError> {
        let r = Self::within(contents);
        if r.is_empty() {
            return Err(ParseError::new(empty));
        }
        Ok(r)
    }

    /// The next element.
    pub(crate) fn next(&mut self, what: &'static str) -> Result<Tlv<'a>, ParseError> {
        let tlv = read_tlv(self.rest).ok_or(ParseError::new(what))?;
        self.rest = self.rest.get(tlv.raw.len()..).unwrap_or_default();
        Ok(tlv)
    }

    /// The next element, which must have tag `tag`.
    pub(crate) fn next_tagged(
        &mut self,
        tag: Tag,
        what: &'static str,
    ) -> Result<Tlv<'a>, ParseError> {
        let tlv = self.next(what)?;
        if tlv.tag == tag {
            Ok(tlv)
        } else {
            Err(ParseError::new(what))
        }
    }

    /// The next element as an OBJECT IDENTIFIER, checked (`const_oid`'s rules): its DER
    /// contents, to compare with the constants of `tls/oid.rs`.
    pub(crate) fn oid(&mut self, what: &'static str) -> Result<&'a [u8], ParseError> {
        let tlv = self.next_tagged(Tag::OBJECT_IDENTIFIER, what)?;
        if !oid::is_valid(tlv.value) {
            return Err(ParseError::new(what));
        }
        Ok(tlv.value)
    }

    /// The next element as a DER BOOLEAN (one byte, 0x00 or 0xFF).
    pub(crate) fn boolean(&mut self, what: &'static str) -> Result<bool, ParseError> {
        match self.next_tagged(Tag::BOOLEAN, what)?.value {
            [0x00] => Ok(false),
            [0xFF] => Ok(true),
            _ => Err(ParseError::new(what)),
        }
    }

    /// The next element as a non-negative INTEGER in its shortest form: its magnitude's
    /// bytes, without the leading zero byte that keeps a high bit positive (`[0]` for zero),
    /// as `der::asn1::UintRef::as_bytes` gives them.
    pub(crate) fn unsigned(&mut self, what: &'static str) -> Result<&'a [u8], ParseError> {
        match self.next_tagged(Tag::INTEGER, what)?.value {
            [] => Err(ParseError::new(what)),
            bytes @ [0] => Ok(bytes),
            [0, next, ..] if *next < 0x80 => Err(ParseError::new(what)),
            [0, rest @ ..] => Ok(rest),
            [first, ..] if *first >= 0x80 => Err(ParseError::new(what)),
            bytes => Ok(bytes),
        }
    }

    /// The next element as a BIT STRING: the number of unused bits in its last byte (0 to 7,
    /// 0 when there are no bytes) and its bytes.
    pub(crate) fn bit_string(&mut self, what: &'static str) -> Result<(u8, &'a [u8]), ParseError> {
        match self.next_tagged(Tag::BIT_STRING, what)?.value {
            [unused, bytes @ ..] if *unused <= 7 && (*unused == 0 || !bytes.is_empty()) => {
                Ok((*unused, bytes))
            }
            _ => Err(ParseError::new(what)),
        }
    }

    /// The next element as a BIT STRING of whole bytes; `unaligned` says what is wrong when
    /// its last byte has unused bits.
    pub(crate) fn octet_bit_string(
        &mut self,
        what: &'static str,
        unaligned: &'static str,
    ) -> Result<&'a [u8], ParseError> {
        match self.bit_string(what)? {
            (0, bytes) => Ok(bytes),
            _ => Err(ParseError::new(unaligned)),
        }
    }

    /// The tag of the next element, if there is one.
    pub(crate) fn peek_tag(&self) -> Option<Tag> {
        Tag::known(*self.rest.first()?)
    }

    /// Whether the next element has tag `tag`, one [`peek_tag`](Self::peek_tag) knows (all the
    /// `Tag` constants and [`context`] tags are): `peek_tag() == Some(tag)` from one byte.
    pub(crate) fn peeks(&self, tag: Tag) -> bool {
        self.rest.first() == Some(&tag.0)
    }

    /// Whether every element was read.
    pub(crate) fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    /// Fails unless every element was read.
    pub(crate) fn finish(self, what: &'static str) -> Result<(), ParseError> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(ParseError::new(what))
        }
    }
}

/// The DER element at the start of `bytes` (see [`DerReader`] for what is accepted).
fn read_tlv(bytes: &[u8]) -> Option<Tlv<'_>> {
    let (&first, rest) = bytes.split_first()?;
    let tag = Tag::known(first)?;
    let (&initial, rest) = rest.split_first()?;
    let (length, rest) = match initial {
        0..=0x7F => (usize::from(initial), rest),
        0x81..=0x84 => {
            let count = usize::from(initial - 0x80);
            let (digits, rest) = rest.split_at_checked(count)?;
            let length = digits.iter().fold(0usize, |n, d| n << 8 | usize::from(*d));
            // The shortest form: no leading zero byte, and the long form only from 128.
            let shortest = digits.first() != Some(&0) && length >= 0x80;
            if !shortest || length > MAX_LENGTH {
                return None;
            }
            (length, rest)
        }
        _ => return None,
    };
    let value = rest.get(..length)?;
    let raw = bytes.get(..bytes.len() - rest.len() + length)?;
    Some(Tlv { tag, value, raw })
}

/// A context-specific tag (`[number]`), primitive or constructed.
pub(crate) const fn context(number: u8, constructed: bool) -> Tag {
    Tag(0x80 | if constructed { 0x20 } else { 0 } | number)
}

/// keyUsage bits (RFC 5280 §4.2.1.3), as `1 << bit number`.
pub(crate) mod key_usage {
    /// digitalSignature (0).
    pub(crate) const DIGITAL_SIGNATURE: u16 = 1 << 0;
    /// keyCertSign (5).
    pub(crate) const KEY_CERT_SIGN: u16 = 1 << 5;
}

/// basicConstraints (RFC 5280 §4.2.1.9).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct BasicConstraints {
    /// cA.
    pub(crate) ca: bool,
    /// pathLenConstraint, saturated at 255.
    pub(crate) path_len: Option<u8>,
}

/// nameConstraints (RFC 5280 §4.2.1.10): the contents of each GeneralSubtrees, checked.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct NameConstraints<'a> {
    /// Contents of permittedSubtrees, if present.
    pub(crate) permitted: Option<&'a [u8]>,
    /// Contents of excludedSubtrees, if present.
    pub(crate) excluded: Option<&'a [u8]>,
}

/// authorityKeyIdentifier (RFC 5280 §4.2.1.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct AuthorityKeyId<'a> {
    /// keyIdentifier, if present.
    pub(crate) key_id: Option<&'a [u8]>,
    /// Whether authorityCertIssuer or authorityCertSerialNumber is present.
    pub(crate) names_issuer: bool,
}

/// The extensions the verifier uses, and the first critical one it does not know.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Extensions<'a> {
    /// basicConstraints, if present.
    pub(crate) basic_constraints: Option<BasicConstraints>,
    /// Whether basicConstraints is marked critical.
    pub(crate) basic_constraints_critical: bool,
    /// subjectKeyIdentifier, if present.
    pub(crate) subject_key_id: Option<&'a [u8]>,
    /// authorityKeyIdentifier, if present.
    pub(crate) authority_key_id: Option<AuthorityKeyId<'a>>,
    /// keyUsage bits, if present.
    pub(crate) key_usage: Option<u16>,
    /// Contents of extKeyUsage (a non-empty SEQUENCE OF OID), if present.
    pub(crate) extended_key_usage: Option<&'a [u8]>,
    /// Whether extKeyUsage is marked critical.
    pub(crate) extended_key_usage_critical: bool,
    /// Contents of subjectAltName (non-empty GeneralNames), if present.
    pub(crate) subject_alt_name: Option<&'a [u8]>,
    /// Whether subjectAltName is marked critical.
    pub(crate) subject_alt_name_critical: bool,
    /// nameConstraints, if present.
    pub(crate) name_constraints: Option<NameConstraints<'a>>,
    /// Whether nameConstraints is marked critical.
    pub(crate) name_constraints_critical: bool,
    /// policyConstraints (not processed): `Some(critical)` when present.
    pub(crate) policy_constraints: Option<bool>,
    /// The first critical extension that is not processed here.
    pub(crate) unknown_critical: Option<&'a [u8]>,
}

/// A parsed certificate, borrowing the DER it came from.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Certificate<'a> {
    /// The whole certificate.
    pub(crate) der: &'a [u8],
    /// The encoded tbsCertificate: what the issuer signed.
    pub(crate) tbs: &'a [u8],
    /// 1, 2 or 3.
    pub(crate) version: u8,
    /// The serialNumber INTEGER's contents (two's complement, as encoded).
    pub(crate) serial: &'a [u8],
    /// The encoded issuer Name.
    pub(crate) issuer: &'a [u8],
    /// The encoded subject Name.
    pub(crate) subject: &'a [u8],
    /// notBefore, unix seconds.
    pub(crate) not_before: u64,
    /// notAfter, unix seconds.
    pub(crate) not_after: u64,
    /// The encoded SubjectPublicKeyInfo.
    pub(crate) spki: &'a [u8],
    /// The encoded signatureAlgorithm AlgorithmIdentifier.
    pub(crate) signature_algorithm: &'a [u8],
    /// The signature bytes.
    pub(crate) signature: &'a [u8],
    /// Extensions.
    pub(crate) ext: Extensions<'a>,
}

/// The most extensions one certificate may carry here (real ones carry about ten).
const MAX_EXTENSIONS: usize = 24;

impl<'a> Certificate<'a> {
    /// Parses one DER certificate; no trailing bytes are allowed.
    pub(crate) fn parse(der: &'a [u8]) -> Result<Self, ParseError> {
        let mut outer = DerReader::new(der, "certificate")?;
        let cert = outer.next_tagged(Tag::SEQUENCE, "certificate is not a SEQUENCE")?;
        outer.finish("trailing bytes after the certificate")?;

        let mut r = DerReader::within(cert.value);
        let tbs = r.next_tagged(Tag::SEQUENCE, "tbsCertificate")?;
        let signature_algorithm = r.next_tagged(Tag::SEQUENCE, "signatureAlgorithm")?.raw;
        let signature = r.octet_bit_string("signature BIT STRING", "signature has unused bits")?;
        r.finish("trailing fields in the certificate")?;

        let mut t = DerReader::within(tbs.value);
        let mut version = 1;
        if t.peeks(context(0, true)) {
            let explicit = t.next("version")?;
            let mut v = DerReader::within(explicit.value);
            version = match v.unsigned("version")? {
                [n] => n.checked_add(1).ok_or(ParseError::new("version"))?,
                _ => return Err(ParseError::new("version")),
            };
            v.finish("version")?;
            if !(1..=3).contains(&version) {
                return Err(ParseError::new("unknown X.509 version"));
            }
        }
        let serial = t.next_tagged(Tag::INTEGER, "serialNumber")?.value;
        let tbs_signature_algorithm = t.next_tagged(Tag::SEQUENCE, "tbs signature algorithm")?.raw;
        if tbs_signature_algorithm != signature_algorithm {
            return Err(ParseError::new(
                "signatureAlgorithm differs from tbsCertificate.signature",
            ));
        }
        let issuer = t.next_tagged(Tag::SEQUENCE, "issuer Name")?;
        check_name(issuer.value)?;
        if issuer.value.is_empty() {
            return Err(ParseError::new("empty issuer name"));
        }
        let validity = t.next_tagged(Tag::SEQUENCE, "validity")?;
        let mut v = DerReader::within(validity.value);
        let not_before = read_time(&mut v)?;
        let not_after = read_time(&mut v)?;
        v.finish("validity")?;
        let subject = t.next_tagged(Tag::SEQUENCE, "subject Name")?;
        check_name(subject.value)?;
        let spki = t.next_tagged(Tag::SEQUENCE, "subjectPublicKeyInfo")?.raw;
        if version >= 2 {
            for n in [1, 2] {
                if t.peeks(context(n, false)) {
                    t.next("unique identifier")?;
                }
            }
        }
        let mut ext = Extensions::default();
        if version == 3 && t.peeks(context(3, true)) {
            let explicit = t.next("extensions")?;
            let mut e = DerReader::within(explicit.value);
            let list = e.next_tagged(Tag::SEQUENCE, "extensions")?;
            e.finish("extensions")?;
            ext = parse_extensions(list.value)?;
        }
        t.finish("unexpected fields in tbsCertificate")?;

        Ok(Self {
            der,
            tbs: tbs.raw,
            version,
            serial,
            issuer: issuer.raw,
            subject: subject.raw,
            not_before,
            not_after,
            spki,
            signature_algorithm,
            signature,
            ext,
        })
    }

    /// Whether issuer and subject are the same name (RFC 5280 "self-issued").
    pub(crate) fn is_self_issued(&self) -> bool {
        self.issuer == self.subject
    }

    /// Whether the subject Name is an empty SEQUENCE.
    pub(crate) fn subject_is_empty(&self) -> bool {
        name_contents(self.subject).is_empty()
    }

    /// The subjectAltName entries, in order (none without the extension).
    pub(crate) fn alt_names(&self) -> GeneralNames<'a> {
        general_names(self.ext.subject_alt_name.unwrap_or_default())
    }

    /// The subject as readable text.
    pub(crate) fn subject_text(&self) -> DnText {
        dn_text(self.subject)
    }
}

/// Reads a UTCTime or GeneralizedTime as unix seconds.
fn read_time(r: &mut DerReader<'_>) -> Result<u64, ParseError> {
    let what = if r.peeks(Tag::UTC_TIME) {
        "UTCTime"
    } else if r.peeks(Tag::GENERALIZED_TIME) {
        "GeneralizedTime"
    } else {
        return Err(ParseError::new("validity time"));
    };
    let time = r.next(what)?;
    calendar::unix_seconds(time.tag, time.value).ok_or(ParseError::new(what))
}

/// Parses the contents of the Extensions SEQUENCE.
fn parse_extensions(list: &[u8]) -> Result<Extensions<'_>, ParseError> {
    let mut ext = Extensions::default();
    let mut seen: heapless::Vec<&[u8], MAX_EXTENSIONS> = heapless::Vec::new();
    let mut r = DerReader::non_empty(list, "empty extensions list")?;
    while !r.is_empty() {
        let one = r.next_tagged(Tag::SEQUENCE, "extension")?;
        let mut e = DerReader::within(one.value);
        let oid = e.oid("extension id")?;
        let critical = if e.peeks(Tag::BOOLEAN) {
            e.boolean("extension critical flag")?
        } else {
            false
        };
        let value = e.next_tagged(Tag::OCTET_STRING, "extension value")?.value;
        e.finish("extension")?;

        if seen.contains(&oid) {
            return Err(ParseError::new("the same extension twice"));
        }
        seen.push(oid)
            .map_err(|_| ParseError::new("too many extensions"))?;

        if oid == oid::BASIC_CONSTRAINTS {
            ext.basic_constraints = Some(parse_basic_constraints(value)?);
            ext.basic_constraints_critical = critical;
        } else if oid == oid::KEY_USAGE {
            ext.key_usage = Some(parse_key_usage(value)?);
        } else if oid == oid::EXT_KEY_USAGE {
            ext.extended_key_usage = Some(parse_oid_list(value)?);
            ext.extended_key_usage_critical = critical;
        } else if oid == oid::SUBJECT_ALT_NAME {
            ext.subject_alt_name = Some(parse_general_names(value)?);
            ext.subject_alt_name_critical = critical;
        } else if oid == oid::NAME_CONSTRAINTS {
            ext.name_constraints = Some(parse_name_constraints(value)?);
            ext.name_constraints_critical = critical;
        } else {
            // Read for their structure and for the profile checks; still not "processed" in
            // the sense of RFC 5280 §4.2, so critical ones refuse the certificate below.
            if oid == oid::AUTHORITY_INFO_ACCESS {
                check_authority_info_access(value)?;
            } else if oid == oid::SUBJECT_KEY_IDENTIFIER {
                ext.subject_key_id =
                    Some(single(value, Tag::OCTET_STRING, "subjectKeyIdentifier")?.value);
            } else if oid == oid::AUTHORITY_KEY_IDENTIFIER {
                ext.authority_key_id = Some(parse_authority_key_id(value)?);
            } else if oid == oid::POLICY_CONSTRAINTS {
                ext.policy_constraints = Some(critical);
            }
            if critical && ext.unknown_critical.is_none() {
                ext.unknown_critical = Some(oid);
            }
        }
    }
    Ok(ext)
}

/// The single element of an extension value, which must have tag `tag`.
fn single<'a>(value: &'a [u8], tag: Tag, what: &'static str) -> Result<Tlv<'a>, ParseError> {
    let mut r = DerReader::within(value);
    let tlv = r.next_tagged(tag, what)?;
    r.finish(what)?;
    Ok(tlv)
}

fn parse_basic_constraints(value: &[u8]) -> Result<BasicConstraints, ParseError> {
    const WHAT: &str = "basicConstraints";
    let seq = single(value, Tag::SEQUENCE, WHAT)?;
    let mut r = DerReader::within(seq.value);
    let mut ca = false;
    if r.peeks(Tag::BOOLEAN) {
        ca = r.boolean(WHAT)?;
    }
    let mut path_len = None;
    if r.peeks(Tag::INTEGER) {
        path_len = Some(match r.unsigned(WHAT)? {
            [] => 0,
            [b] => *b,
            _ => u8::MAX,
        });
    }
    r.finish(WHAT)?;
    Ok(BasicConstraints { ca, path_len })
}

fn parse_authority_key_id(value: &[u8]) -> Result<AuthorityKeyId<'_>, ParseError> {
    const WHAT: &str = "authorityKeyIdentifier";
    let seq = single(value, Tag::SEQUENCE, WHAT)?;
    let mut r = DerReader::within(seq.value);
    let mut aki = AuthorityKeyId {
        key_id: None,
        names_issuer: false,
    };
    if r.peeks(context(0, false)) {
        aki.key_id = Some(r.next(WHAT)?.value);
    }
    if r.peeks(context(1, true)) {
        check_general_names(r.next(WHAT)?.value)?;
        aki.names_issuer = true;
    }
    if r.peeks(context(2, false)) {
        r.next(WHAT)?;
        aki.names_issuer = true;
    }
    r.finish(WHAT)?;
    Ok(aki)
}

fn parse_key_usage(value: &[u8]) -> Result<u16, ParseError> {
    const WHAT: &str = "keyUsage";
    let mut r = DerReader::within(value);
    let (unused, bytes) = r.bit_string(WHAT)?;
    r.finish(WHAT)?;
    // Bit n is the (7 - n % 8)th bit of byte n / 8; the last byte's unused bits are not bits.
    let bits = (bytes.len() * 8)
        .saturating_sub(usize::from(unused))
        .min(16);
    let mut usage = 0u16;
    for n in 0..bits {
        if bytes.get(n / 8).is_some_and(|b| b & (0x80 >> (n % 8)) != 0) {
            usage |= 1 << n;
        }
    }
    Ok(usage)
}

/// Checks a non-empty SEQUENCE OF OBJECT IDENTIFIER and returns its contents.
fn parse_oid_list(value: &[u8]) -> Result<&[u8], ParseError> {
    const WHAT: &str = "extKeyUsage";
    let seq = single(value, Tag::SEQUENCE, WHAT)?;
    let mut r = DerReader::non_empty(seq.value, "empty extKeyUsage")?;
    while !r.is_empty() {
        r.oid(WHAT)?;
    }
    Ok(seq.value)
}

/// Checks a non-empty GeneralNames and returns its contents.
fn parse_general_names(value: &[u8]) -> Result<&[u8], ParseError> {
    let seq = single(value, Tag::SEQUENCE, "subjectAltName")?;
    check_general_names(seq.value)?;
    Ok(seq.value)
}

/// Checks the contents of a non-empty GeneralNames.
fn check_general_names(contents: &[u8]) -> Result<(), ParseError> {
    let mut r = DerReader::non_empty(contents, "empty GeneralNames")?;
    while !r.is_empty() {
        check_general_name(r.next("GeneralName")?)?;
    }
    Ok(())
}

/// Checks one GeneralName (RFC 5280 §4.2.1.6).
fn check_general_name(tlv: Tlv<'_>) -> Result<(), ParseError> {
    let Some((number, constructed)) = tlv.tag.context_number() else {
        return Err(ParseError::new("GeneralName tag"));
    };
    match (number, constructed) {
        // rfc822Name, dNSName, uniformResourceIdentifier: IA5String.
        (1 | 2 | 6, false) if tlv.value.is_ascii() => Ok(()),
        (1 | 2 | 6, false) => Err(ParseError::new("non-ASCII name in a GeneralName")),
        (7, false) if matches!(tlv.value.len(), 4 | 8 | 16 | 32) => Ok(()),
        (7, false) => Err(ParseError::new("iPAddress length")),
        (4, true) => {
            let name = single(tlv.value, Tag::SEQUENCE, "directoryName")?;
            check_name(name.value)
        }
        (0 | 3 | 5, true) | (8, false) => Ok(()),
        _ => Err(ParseError::new("GeneralName tag")),
    }
}

/// One entry of a GeneralNames.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum GeneralName<'a> {
    /// dNSName (ASCII).
    Dns(&'a [u8]),
    /// iPAddress: 4 or 16 bytes in a SAN, 8 or 32 (address and mask) in a name constraint.
    Ip(&'a [u8]),
    /// Any other kind, by its context tag number.
    Other(u8),
}

/// Iterates over the contents of a GeneralNames that was checked at parse time.
pub(crate) fn general_names(contents: &[u8]) -> GeneralNames<'_> {
    GeneralNames {
        r: DerReader::within(contents),
        subtrees: false,
    }
}

/// The names of checked GeneralNames ([`general_names`]) or the bases of checked
/// GeneralSubtrees ([`subtree_bases`]): one iterator type for both, so that the walks over
/// names and constraints share their code.
pub(crate) struct GeneralNames<'a> {
    r: DerReader<'a>,
    /// Each element is a GeneralSubtree, whose first element is the name.
    subtrees: bool,
}

impl<'a> Iterator for GeneralNames<'a> {
    type Item = GeneralName<'a>;

    /// The next name; the walk ends at the first element that cannot be read (none, after
    /// the parse's checks), and skips a subtree without a base.
    fn next(&mut self) -> Option<GeneralName<'a>> {
        loop {
            let element = self.r.next("element").ok()?;
            if !self.subtrees {
                return Some(general_name(element));
            }
            if let Ok(base) = DerReader::within(element.value).next("element") {
                return Some(general_name(base));
            }
        }
    }
}

/// Classifies one (checked) GeneralName.
pub(crate) fn general_name(tlv: Tlv<'_>) -> GeneralName<'_> {
    match tlv.tag.context_number() {
        Some((2, false)) => GeneralName::Dns(tlv.value),
        Some((7, false)) => GeneralName::Ip(tlv.value),
        Some((number, _)) => GeneralName::Other(number),
        None => GeneralName::Other(u8::MAX),
    }
}

/// Parses nameConstraints; each GeneralSubtree must be a plain `base` (minimum 0, no maximum).
fn parse_name_constraints(value: &[u8]) -> Result<NameConstraints<'_>, ParseError> {
    const WHAT: &str = "nameConstraints";
    let seq = single(value, Tag::SEQUENCE, WHAT)?;
    let mut r = DerReader::within(seq.value);
    let mut nc = NameConstraints::default();
    if r.peeks(context(0, true)) {
        nc.permitted = Some(check_subtrees(r.next(WHAT)?.value)?);
    }
    if r.peeks(context(1, true)) {
        nc.excluded = Some(check_subtrees(r.next(WHAT)?.value)?);
    }
    r.finish(WHAT)?;
    if nc.permitted.is_none() && nc.excluded.is_none() {
        return Err(ParseError::new("nameConstraints without subtrees"));
    }
    Ok(nc)
}

fn check_subtrees(contents: &[u8]) -> Result<&[u8], ParseError> {
    const WHAT: &str = "GeneralSubtrees";
    let mut r = DerReader::non_empty(contents, "empty GeneralSubtrees")?;
    while !r.is_empty() {
        let subtree = r.next_tagged(Tag::SEQUENCE, WHAT)?;
        let mut s = DerReader::within(subtree.value);
        let base = s.next(WHAT)?;
        check_general_name(base)?;
        s.finish("GeneralSubtree minimum/maximum")?;
        match general_name(base) {
            GeneralName::Ip(ip) if !matches!(ip.len(), 8 | 32) => {
                return Err(ParseError::new("iPAddress constraint length"))
            }
            GeneralName::Dns(dns) if dns.contains(&b'*') => {
                return Err(ParseError::new("wildcard in a dNSName constraint"))
            }
            _ => {}
        }
    }
    Ok(contents)
}

/// Iterates over the bases of checked GeneralSubtrees.
pub(crate) fn subtree_bases(contents: &[u8]) -> GeneralNames<'_> {
    GeneralNames {
        r: DerReader::within(contents),
        subtrees: true,
    }
}

/// Checks authorityInfoAccess: a non-empty SEQUENCE OF { OID, GeneralName }.
fn check_authority_info_access(value: &[u8]) -> Result<(), ParseError> {
    const WHAT: &str = "authorityInfoAccess";
    let seq = single(value, Tag::SEQUENCE, WHAT)?;
    let mut r = DerReader::non_empty(seq.value, "empty authorityInfoAccess")?;
    while !r.is_empty() {
        let desc = r.next_tagged(Tag::SEQUENCE, WHAT)?;
        let mut d = DerReader::within(desc.value);
        d.oid(WHAT)?;
        check_general_name(d.next(WHAT)?)?;
        d.finish(WHAT)?;
    }
    Ok(())
}

/// The contents of an encoded Name (empty when it cannot be read; names are checked at parse).
fn name_contents(name: &[u8]) -> &[u8] {
    DerReader::within(name)
        .next_tagged(Tag::SEQUENCE, "Name")
        .map(|t| t.value)
        .unwrap_or(&[])
}

/// Calls `f(type, value)` for every attribute of a Name's contents, in encoded order.
///
/// `f` is a `dyn` closure so that the walk is one function, not one copy per caller (eight).
fn for_each_attribute<'a>(
    contents: &'a [u8],
    f: &mut dyn FnMut(&'a [u8], Tlv<'a>),
) -> Result<(), ParseError> {
    const WHAT: &str = "Name";
    let mut rdns = DerReader::within(contents);
    while !rdns.is_empty() {
        let rdn = rdns.next_tagged(Tag::SET, WHAT)?;
        let mut atvs = DerReader::non_empty(rdn.value, "empty RelativeDistinguishedName")?;
        while !atvs.is_empty() {
            let atv = atvs.next_tagged(Tag::SEQUENCE, WHAT)?;
            let mut a = DerReader::within(atv.value);
            let oid = a.oid(WHAT)?;
            let value = a.next(WHAT)?;
            a.finish(WHAT)?;
            f(oid, value);
        }
    }
    Ok(())
}

/// Checks the structure of a Name's contents (SEQUENCE OF SET OF {OID, value}).
fn check_name(contents: &[u8]) -> Result<(), ParseError> {
    for_each_attribute(contents, &mut |_, _| {})
}

/// Text of a directory string value, if it is one of the ASCII-compatible string types.
fn attribute_text(value: Tlv<'_>) -> Option<&str> {
    match value.tag {
        Tag::UTF8_STRING | Tag::PRINTABLE_STRING | Tag::IA5_STRING | Tag::VISIBLE_STRING => {
            core::str::from_utf8(value.value).ok()
        }
        _ => None,
    }
}

/// Calls `f` with every commonName of an encoded Name, as text.
pub(crate) fn for_each_common_name<'a>(name: &'a [u8], mut f: impl FnMut(&'a str)) {
    let _ = for_each_attribute(name_contents(name), &mut |oid, value| {
        if let Some(text) = common_name_text(oid, value) {
            f(text);
        }
    });
}

/// The text of an attribute if it is a commonName. Out of line: [`for_each_common_name`] is
/// generic, and its callers share this part.
#[inline(never)]
fn common_name_text<'a>(oid: &[u8], value: Tlv<'a>) -> Option<&'a str> {
    if oid == oid::CN {
        attribute_text(value)
    } else {
        None
    }
}

/// Whether an encoded Name has an emailAddress attribute (which rfc822Name constraints cover,
/// RFC 5280 §4.2.1.10).
pub(crate) fn name_has_email_address(name: &[u8]) -> bool {
    let mut found = false;
    let _ = for_each_attribute(name_contents(name), &mut |oid, _| {
        found |= oid == oid::EMAIL_ADDRESS;
    });
    found
}

/// Short label of a Name attribute type.
fn attribute_label(oid: &[u8]) -> Option<&'static str> {
    const LABELS: [(&[u8], &str); 9] = [
        (oid::CN, "CN"),
        (oid::O, "O"),
        (oid::OU, "OU"),
        (oid::C, "C"),
        (oid::ST, "ST"),
        (oid::L, "L"),
        (oid::DC, "DC"),
        (oid::SERIAL_NUMBER, "serialNumber"),
        (oid::EMAIL_ADDRESS, "emailAddress"),
    ];
    LABELS.iter().find(|(o, _)| *o == oid).map(|(_, l)| *l)
}

/// A Name as readable text: `CN=..., O=...` with the common name first, then the other
/// attributes in encoded order; cut to [`DnText`]'s capacity.
pub(crate) fn dn_text(name: &[u8]) -> DnText {
    use core::fmt::Write;
    let contents = name_contents(name);
    let mut buffer: heapless::String<256> = heapless::String::new();
    // Through the view: one copy of heapless's `fmt::Write` for every capacity.
    let out = buffer.as_mut_view();
    let mut write = |oid: &[u8], value: Tlv<'_>| {
        let sep = if out.is_empty() { "" } else { ", " };
        let _ = match attribute_label(oid) {
            Some(label) => write!(out, "{sep}{label}="),
            None => write!(out, "{sep}{}=", oid::Dotted(oid)),
        };
        match attribute_text(value) {
            Some(text) => {
                for c in text.chars() {
                    let _ = out.push(if c.is_control() { '?' } else { c });
                }
            }
            None => {
                let _ = out.push_str("#?");
            }
        }
    };
    // The commonNames first, then the others: two walks with one closure.
    for common_names in [true, false] {
        let _ = for_each_attribute(contents, &mut |oid, v| {
            if (oid == oid::CN) == common_names {
                write(oid, v)
            }
        });
    }
    if out.is_empty() {
        return super::text::bounded("(empty name)");
    }
    super::text::bounded(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use der::asn1::ObjectIdentifier;

    // `openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -subj /CN=t/O=Org
    //  -addext subjectAltName=DNS:a.example,IP:10.0.0.1 -days 1`
    const CERT: &[u8] = include_bytes!("../../tests/data/verify/unit-p256.der");

    #[test]
    fn parses_a_v3_certificate() {
        let c = Certificate::parse(CERT).unwrap();
        assert_eq!(c.version, 3);
        assert!(c.is_self_issued());
        assert_eq!(c.subject_text().as_str(), "CN=unit, O=embedded-mqtts test");
        assert!(c.not_before < c.not_after);
        let san: heapless::Vec<GeneralName<'_>, 4> =
            general_names(c.ext.subject_alt_name.unwrap()).collect();
        assert_eq!(
            san.as_slice(),
            &[
                GeneralName::Dns(b"a.example"),
                GeneralName::Ip(&[10, 0, 0, 1])
            ]
        );
        let mut cns = heapless::Vec::<&str, 2>::new();
        for_each_common_name(c.subject, |cn| cns.push(cn).unwrap());
        assert_eq!(cns.as_slice(), &["unit"]);
    }

    #[test]
    fn every_truncation_and_bit_flip_is_refused_or_parsed_without_panic() {
        for len in 0..CERT.len() {
            assert!(Certificate::parse(&CERT[..len]).is_err());
        }
        let mut copy = [0u8; 1024];
        let copy = &mut copy[..CERT.len()];
        for i in 0..CERT.len() {
            for bit in [0x01, 0x80] {
                copy.copy_from_slice(CERT);
                copy[i] ^= bit;
                if let Ok(c) = Certificate::parse(copy) {
                    let _ = c.subject_text();
                    if let Some(san) = c.ext.subject_alt_name {
                        general_names(san).for_each(drop);
                    }
                }
            }
        }
    }

    /// Random DER-like elements near the rules' edges: known and unknown tags, short, long,
    /// non-minimal, indefinite and wrong lengths, contents of bytes that matter to INTEGER,
    /// BOOLEAN, BIT STRING and OID.
    fn random_element(state: &mut u64, out: &mut std::vec::Vec<u8>) {
        let mut next = |n: usize| {
            *state ^= *state << 13;
            *state ^= *state >> 7;
            *state ^= *state << 17;
            (*state % n as u64) as usize
        };
        const TAGS: [u8; 12] = [
            0x01, 0x02, 0x03, 0x06, 0x17, 0x18, 0x30, 0x80, 0xA0, 0x1F, 0x5F, 0xFF,
        ];
        const BYTES: [u8; 7] = [0x00, 0x01, 0x07, 0x08, 0x7F, 0x80, 0xFF];
        out.clear();
        out.push(if next(8) == 0 {
            next(256) as u8
        } else {
            TAGS[next(TAGS.len())]
        });
        let len = next(6);
        let contents: std::vec::Vec<u8> = (0..len)
            .map(|_| {
                if next(4) == 0 {
                    next(256) as u8
                } else {
                    BYTES[next(BYTES.len())]
                }
            })
            .collect();
        match next(8) {
            0 => out.extend([0x81, len as u8]),
            1 => out.extend([0x82, 0, len as u8]),
            2 => out.push(0x80),
            3 => out.push((len + 1) as u8),
            4 => out.extend([0x85, 0, 0, 0, 0, len as u8]),
            _ => out.push(len as u8),
        }
        out.extend(contents);
        if next(4) == 0 {
            out.push(0);
        }
    }

    fn theirs(input: &[u8]) -> Option<der::SliceReader<'_>> {
        der::SliceReader::new(input).ok()
    }

    fn ours(input: &[u8]) -> Option<DerReader<'_>> {
        DerReader::new(input, "x").ok()
    }

    #[test]
    fn peeks_answers_as_peek_tag_for_the_tags_compared() {
        let mut tags = std::vec![
            Tag::BOOLEAN,
            Tag::INTEGER,
            Tag::UTC_TIME,
            Tag::GENERALIZED_TIME,
        ];
        tags.extend((0..=30).flat_map(|n| [context(n, false), context(n, true)]));
        for first in 0..=u8::MAX {
            let bytes = [first, 0];
            let r = DerReader::within(&bytes);
            for tag in &tags {
                assert_eq!(
                    r.peeks(*tag),
                    r.peek_tag() == Some(*tag),
                    "{first:02x} {tag:?}"
                );
            }
            assert!(!DerReader::within(&[]).peeks(Tag(first)));
        }
    }

    #[test]
    fn reads_what_der_reads() {
        use der::asn1::{AnyRef, BitStringRef, UintRef};
        use der::{Decode, Reader, Tagged};
        let mut state = 0x2545_f491_4f6c_dd1d;
        let mut input = std::vec::Vec::new();
        let mut accepted = [0usize; 5];
        for _ in 0..300_000 {
            random_element(&mut state, &mut input);
            let element = theirs(&input).and_then(|mut r| {
                let raw = r.tlv_bytes().ok()?;
                let any = AnyRef::from_der(raw).ok()?;
                Some((Tag(any.tag().octet()), any.value(), raw))
            });
            let read = ours(&input).and_then(|mut r| r.next("x").ok());
            assert_eq!(
                read.map(|t| (t.tag, t.value, t.raw)),
                element,
                "{input:02x?}"
            );
            assert_eq!(
                ours(&input).and_then(|r| r.peek_tag()),
                theirs(&input).and_then(|r| r.peek_tag().ok().map(|t| Tag(t.octet()))),
            );
            let boolean = ours(&input).and_then(|mut r| r.boolean("x").ok());
            let der_bool = theirs(&input).and_then(|mut r| bool::decode(&mut r).ok());
            assert_eq!(boolean, der_bool, "{input:02x?}");
            let unsigned = ours(&input).and_then(|mut r| r.unsigned("x").ok());
            let der_uint = theirs(&input).and_then(|mut r| UintRef::decode(&mut r).ok());
            assert_eq!(unsigned, der_uint.map(|u| u.as_bytes()), "{input:02x?}");
            let version = unsigned.and_then(|u| match u {
                [n] => Some(*n),
                _ => None,
            });
            let der_u8 = theirs(&input).and_then(|mut r| u8::decode(&mut r).ok());
            assert_eq!(version, der_u8, "{input:02x?}");
            let bits = ours(&input).and_then(|mut r| r.bit_string("x").ok());
            let der_bits = theirs(&input).and_then(|mut r| BitStringRef::decode(&mut r).ok());
            assert_eq!(
                bits,
                der_bits.map(|b| (b.unused_bits(), b.raw_bytes())),
                "{input:02x?}"
            );
            if let (Some((_, bytes)), Some(b)) = (bits, der_bits) {
                let mut usage = 0u16;
                for (n, bit) in b.bits().enumerate().take(16) {
                    usage |= u16::from(bit) << n;
                }
                let value = [&[0x03, bytes.len() as u8 + 1, b.unused_bits()], bytes].concat();
                assert_eq!(parse_key_usage(&value).ok(), Some(usage), "{input:02x?}");
            }
            let oid = ours(&input).and_then(|mut r| r.oid("x").ok());
            let der_oid = theirs(&input).and_then(|mut r| ObjectIdentifier::decode(&mut r).ok());
            assert_eq!(oid, der_oid.as_ref().map(|o| o.as_bytes()), "{input:02x?}");
            for (count, value) in accepted.iter_mut().zip([
                read.is_some(),
                boolean.is_some(),
                unsigned.is_some(),
                bits.is_some(),
                oid.is_some(),
            ]) {
                *count += usize::from(value);
            }
        }
        assert!(accepted.iter().all(|n| *n > 200), "{accepted:?}");
    }

    #[test]
    fn refuses_duplicate_extensions_and_empty_lists() {
        // Two identical basicConstraints extensions.
        let ext = [
            0x30, 0x09, 0x06, 0x03, 0x55, 0x1d, 0x13, 0x04, 0x02, 0x30, 0x00,
        ];
        let mut list = [0u8; 22];
        list[..11].copy_from_slice(&ext);
        list[11..].copy_from_slice(&ext);
        assert_eq!(
            parse_extensions(&list).unwrap_err(),
            ParseError::new("the same extension twice")
        );
        assert!(parse_extensions(&list[..11]).is_ok());
        assert!(parse_extensions(&[]).is_err());
        assert!(parse_oid_list(&[0x30, 0x00]).is_err());
        assert!(parse_general_names(&[0x30, 0x00]).is_err());
    }
}
