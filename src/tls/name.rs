//! Server identity: host name matching (RFC 6125, RFC 5280 §4.2.1.6) and name constraints
//! (RFC 5280 §4.2.1.10). This module answers questions about names; the verifier (`verify.rs`)
//! decides what a mismatch means and words the refusal.
//!
//! User documentation: the `tls` module, section "Host names and name constraints".

use core::net::IpAddr;

use super::ip;
use super::text::{bounded, NameText};
use super::x509::{
    for_each_common_name, name_has_email_address, subtree_bases, Certificate, GeneralName,
};

/// The name a client expects the server to have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Reference<'a> {
    /// A DNS name, checked, without a trailing dot.
    Dns(&'a str),
    /// An IP address.
    Ip(IpAddr),
}

impl<'a> Reference<'a> {
    /// Classifies and checks an expected server name: `None` when it is neither an IP address
    /// nor a DNS name.
    pub(crate) fn parse(name: &'a str) -> Option<Self> {
        if let Some(ip) = ip::parse(name) {
            return Some(Self::Ip(ip));
        }
        let dns = name.strip_suffix('.').unwrap_or(name);
        is_dns_name(dns.as_bytes(), false).then_some(Self::Dns(dns))
    }
}

/// Whether `name` is a DNS name in preferred name syntax; with `wildcard`, a leftmost `*`
/// label followed by at least two labels is allowed too.
fn is_dns_name(name: &[u8], wildcard: bool) -> bool {
    if name.is_empty() || name.len() > 253 {
        return false;
    }
    let mut labels = name.split(|b| *b == b'.');
    let mut rest_labels = 0usize;
    if wildcard && name.starts_with(b"*.") {
        labels.next();
        rest_labels = 2;
    }
    let mut count = 0usize;
    for label in labels {
        let ok_len = (1..=63).contains(&label.len());
        let ok_chars = label
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'-');
        let ok_ends = !label.starts_with(b"-") && !label.ends_with(b"-");
        if !(ok_len && ok_chars && ok_ends) {
            return false;
        }
        count += 1;
    }
    count >= rest_labels.max(1)
}

/// Whether a presented dNSName (maybe a wildcard) matches a checked reference DNS name.
pub(crate) fn dns_matches(presented: &[u8], reference: &str) -> bool {
    if !is_dns_name(presented, true) {
        return false;
    }
    let reference = reference.as_bytes();
    match presented.strip_prefix(b"*.") {
        Some(domain) => match reference.iter().position(|b| *b == b'.') {
            Some(dot) if dot > 0 => reference
                .get(dot + 1..)
                .is_some_and(|rest| rest.eq_ignore_ascii_case(domain)),
            _ => false,
        },
        None => presented.eq_ignore_ascii_case(reference),
    }
}

/// Whether a presented iPAddress (4 or 16 bytes) is `ip`.
fn ip_matches(presented: &[u8], ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => presented == v4.octets(),
        IpAddr::V6(v6) => presented == v6.octets(),
    }
}

/// Whether the server certificate is for `reference`: one of its SANs of that kind matches,
/// or, with `allow_common_name` and no SAN of that kind, one of its commonNames.
pub(crate) fn is_for_host(
    leaf: &Certificate<'_>,
    reference: Reference<'_>,
    allow_common_name: bool,
) -> bool {
    let mut has_kind = false;
    for name in leaf.alt_names() {
        let matched = match (name, reference) {
            (GeneralName::Dns(p), Reference::Dns(r)) => {
                has_kind = true;
                dns_matches(p, r)
            }
            (GeneralName::Ip(p), Reference::Ip(r)) => {
                has_kind = true;
                ip_matches(p, r)
            }
            _ => false,
        };
        if matched {
            return true;
        }
    }
    if !allow_common_name || has_kind {
        return false;
    }
    let mut matched = false;
    for_each_common_name(leaf.subject, |cn| {
        matched |= match reference {
            Reference::Dns(r) => dns_matches(cn.as_bytes(), r),
            Reference::Ip(r) => ip::parse(cn) == Some(r),
        };
    });
    matched
}

/// Whether a commonName is written like an IP address: dotted digits with at least one dot
/// (`192.168.001.001`), a `0x` hexadecimal number (`0xC0A80101`), or hexadecimal digits with
/// colons (IPv6). Such a name is meant as an address, not as a host name.
fn looks_like_ip(cn: &str) -> bool {
    let all = |ok: fn(u8) -> bool, text: &str| !text.is_empty() && text.bytes().all(ok);
    let hex = cn.strip_prefix("0x").or_else(|| cn.strip_prefix("0X"));
    (cn.contains('.') && all(|b| b.is_ascii_digit() || b == b'.', cn))
        || hex.is_some_and(|h| all(|b| b.is_ascii_hexdigit() || b == b'.', h))
        || (cn.contains(':') && all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.', cn))
}

/// Whether `text` is the canonical text of `ip`: dotted decimal without leading zeros, or
/// RFC 5952 (lower case, longest run of zero groups compressed).
fn is_canonical_ip_text(text: &str, ip: IpAddr) -> bool {
    ip::text(ip) == text
}

/// Why the server certificate's commonNames contradict it (CA/Browser Forum BR 7.1.4.3), if
/// they do:
/// - a commonName written like an IP address must be an address in canonical text;
/// - a commonName that names a host (an address, or a name with a dot and no space) in a
///   certificate with subjectAltNames of that kind must be one of them, byte for byte.
///
/// A commonName of a kind the certificate has no subjectAltName of is not held against it: the
/// host name check never reads it then unless the caller allows common names, and BetterTLS and
/// x509-limbo expect such certificates to be accepted.
///
/// Each commonName compared with a subjectAltName spends one of `budget`'s comparisons: the
/// server certificate's signature is not checked yet.
pub(crate) fn common_name_fault(
    leaf: &Certificate<'_>,
    budget: &mut Comparisons,
) -> Result<Option<&'static str>, BudgetSpent> {
    let mut fault = None;
    let mut spent = Ok(());
    for_each_common_name(leaf.subject, |cn| {
        if fault.is_some() || spent.is_err() {
            return;
        }
        let ip = if looks_like_ip(cn) {
            match ip::parse(cn) {
                Some(ip) if is_canonical_ip_text(cn, ip) => Some(ip),
                _ => {
                    fault = Some("commonName is an IP address not in canonical text");
                    return;
                }
            }
        } else if cn.contains('.') && !cn.bytes().any(|b| b.is_ascii_whitespace()) {
            None
        } else {
            return;
        };
        let (mut has_kind, mut listed) = (false, false);
        for name in leaf.alt_names() {
            if let Err(e) = budget.spend() {
                spent = Err(e);
                return;
            }
            let matched = match (name, ip) {
                (GeneralName::Ip(p), Some(ip)) => ip_matches(p, ip),
                (GeneralName::Dns(d), None) => d == cn.as_bytes(),
                _ => continue,
            };
            has_kind = true;
            listed |= matched;
        }
        if has_kind && !listed {
            fault = Some("commonName is not one of the subjectAltNames of its kind");
        }
    });
    spent.map(|()| fault)
}

/// The first SAN of a certificate as text, else `CN=<first common name>`, else `no SAN`.
pub(crate) fn presented_name(leaf: &Certificate<'_>) -> NameText {
    use core::fmt::Write;
    let mut out = NameText::new();
    match leaf.alt_names().next() {
        Some(GeneralName::Dns(d)) => {
            out = bounded(core::str::from_utf8(d).unwrap_or("?"));
        }
        Some(GeneralName::Ip(ip)) => {
            let _ = match ip_from_bytes(ip) {
                Some(ip) => out.push_str(&ip::text(ip)),
                None => out.push_str("IP?"),
            };
        }
        Some(GeneralName::Other(_)) => {
            let _ = out.push_str("a SAN that is not a DNS name or IP address");
        }
        None => {
            let mut first = None;
            for_each_common_name(leaf.subject, |cn| {
                first = first.or(Some(cn));
            });
            let mut text: heapless::String<80> = heapless::String::new();
            // Through the view: one copy of heapless's `fmt::Write` for every capacity.
            let view = text.as_mut_view();
            let _ = match first {
                Some(cn) => write!(view, "no SAN, CN={cn}"),
                None => write!(view, "no SAN"),
            };
            out = bounded(&text);
        }
    }
    out
}

/// An IP address from 4 or 16 bytes.
fn ip_from_bytes(bytes: &[u8]) -> Option<IpAddr> {
    if let Ok(v4) = <[u8; 4]>::try_from(bytes) {
        return Some(IpAddr::from(v4));
    }
    <[u8; 16]>::try_from(bytes).ok().map(IpAddr::from)
}

/// A name of the server certificate that name constraints apply to.
#[derive(Clone, Copy, Debug)]
enum ConstrainedName<'a> {
    Dns(&'a [u8]),
    Ip(&'a [u8]),
}

/// Whether `name` is inside the DNS subtree `base`.
fn dns_within(name: &[u8], base: &[u8]) -> bool {
    if base.is_empty() {
        return true;
    }
    if base.starts_with(b".") {
        return name.len() > base.len()
            && name
                .get(name.len() - base.len()..)
                .is_some_and(|tail| tail.eq_ignore_ascii_case(base));
    }
    if name.eq_ignore_ascii_case(base) {
        return true;
    }
    name.len() > base.len()
        && name
            .get(name.len() - base.len()..)
            .is_some_and(|tail| tail.eq_ignore_ascii_case(base))
        && name.get(name.len() - base.len() - 1) == Some(&b'.')
}

/// Whether the address `ip` is inside the subtree `base` (address then mask).
fn ip_within(ip: &[u8], base: &[u8]) -> bool {
    if base.len() != ip.len() * 2 {
        return false;
    }
    let (addr, mask) = base.split_at(ip.len());
    ip.iter()
        .zip(addr)
        .zip(mask)
        .all(|((i, a), m)| i & m == a & m)
}

/// Whether `name` is inside the subtree `base`; `None` when the kinds differ.
fn within(name: ConstrainedName<'_>, base: GeneralName<'_>, excluded: bool) -> Option<bool> {
    match (name, base) {
        (ConstrainedName::Dns(n), GeneralName::Dns(b)) => {
            if !is_dns_name(n, true) {
                // A name that cannot be read cannot be shown to be inside a permitted subtree
                // nor outside an excluded one.
                return Some(excluded);
            }
            let inside = dns_within(n, b)
                || (excluded
                    && n.strip_prefix(b"*.").is_some_and(|domain| {
                        dns_within(b.strip_prefix(b".").unwrap_or(b), domain)
                    }));
            Some(inside)
        }
        (ConstrainedName::Ip(n), GeneralName::Ip(b)) => Some(ip_within(n, b)),
        _ => None,
    }
}

/// Why a CA's nameConstraints refuse the server certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ConstraintFailure {
    /// The constraints name a kind of name that is not checked (only DNS and IP are), and the
    /// server certificate has a name of that kind.
    UnsupportedKind,
    /// This name of the server certificate is outside them.
    Outside(NameText),
    /// The comparisons allowed for one verification ([`NAME_CONSTRAINT_BUDGET`]) ran out.
    BudgetSpent,
}

/// The name comparisons allowed for one verification ([`NAME_CONSTRAINT_BUDGET`]) ran out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct BudgetSpent;

impl From<BudgetSpent> for ConstraintFailure {
    fn from(_: BudgetSpent) -> Self {
        Self::BudgetSpent
    }
}

/// The most name comparisons (one name against one subtree, one subtree looked at, or a
/// commonName against a subjectAltName) one verification makes; beyond it the certificate is
/// refused. BetterTLS's chains need at most 12 for their name constraints; a CA with 64
/// subtrees over a certificate with 64 names needs 4,096.
pub const NAME_CONSTRAINT_BUDGET: u32 = 4096;

/// What is left of a verification's name-constraint comparisons.
pub(crate) struct Comparisons(pub(crate) u32);

impl Comparisons {
    /// Takes one comparison, or fails when none is left.
    fn spend(&mut self) -> Result<(), BudgetSpent> {
        self.0 = self.0.checked_sub(1).ok_or(BudgetSpent)?;
        Ok(())
    }
}

/// Whether the server certificate has a name of the GeneralName kind `tag` (RFC 5280
/// §4.2.1.10: a constraint on a name form only matters where that form appears): in its
/// subjectAltNames, its subject (directoryName) or its subject's emailAddress (rfc822Name).
fn has_name_kind(leaf: &Certificate<'_>, tag: u8) -> bool {
    let in_subject = match tag {
        4 => !leaf.subject_is_empty(),
        1 => name_has_email_address(leaf.subject),
        _ => false,
    };
    in_subject || leaf.alt_names().any(|n| n == GeneralName::Other(tag))
}

/// Applies `ca`'s nameConstraints to the names of a certificate below it, `leaf` (the server
/// certificate, or an intermediate with `common_name_is_host` off), spending `budget`.
pub(crate) fn check_name_constraints(
    ca: &Certificate<'_>,
    leaf: &Certificate<'_>,
    common_name_is_host: bool,
    budget: &mut Comparisons,
) -> Result<(), ConstraintFailure> {
    let Some(nc) = ca.ext.name_constraints else {
        return Ok(());
    };
    let permitted = nc.permitted.unwrap_or(&[]);
    let excluded = nc.excluded.unwrap_or(&[]);
    for subtrees in [permitted, excluded] {
        for base in subtree_bases(subtrees) {
            budget.spend()?;
            if let GeneralName::Other(tag) = base {
                if has_name_kind(leaf, tag) {
                    return Err(ConstraintFailure::UnsupportedKind);
                }
            }
        }
    }
    let mut check = |name: ConstrainedName<'_>| -> Result<(), ConstraintFailure> {
        let mut constrained = false;
        let mut allowed = false;
        for base in subtree_bases(permitted) {
            budget.spend()?;
            if let Some(inside) = within(name, base, false) {
                constrained = true;
                allowed |= inside;
            }
        }
        let mut denied = false;
        for base in subtree_bases(excluded) {
            budget.spend()?;
            denied |= within(name, base, true) == Some(true);
        }
        if denied || (constrained && !allowed) {
            return Err(ConstraintFailure::Outside(constrained_name_text(name)));
        }
        Ok(())
    };
    for name in leaf.alt_names() {
        match name {
            GeneralName::Dns(d) => check(ConstrainedName::Dns(d))?,
            GeneralName::Ip(ip) => check(ConstrainedName::Ip(ip))?,
            GeneralName::Other(_) => {}
        }
    }
    if common_name_is_host && leaf.ext.subject_alt_name.is_none() {
        let mut result = Ok(());
        for_each_common_name(leaf.subject, |cn| {
            if result.is_err() {
                return;
            }
            result = match ip::parse(cn) {
                Some(IpAddr::V4(v4)) => check(ConstrainedName::Ip(&v4.octets())),
                Some(IpAddr::V6(v6)) => check(ConstrainedName::Ip(&v6.octets())),
                None => check(ConstrainedName::Dns(cn.as_bytes())),
            };
        });
        result?;
    }
    Ok(())
}

fn constrained_name_text(name: ConstrainedName<'_>) -> NameText {
    match name {
        ConstrainedName::Dns(d) => bounded(core::str::from_utf8(d).unwrap_or("?")),
        ConstrainedName::Ip(ip) => ip_from_bytes(ip)
            .map(|ip| bounded(&ip::text(ip)))
            .unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dns(name: &str) -> &str {
        match Reference::parse(name).unwrap() {
            Reference::Dns(d) => d,
            Reference::Ip(_) => panic!("not a DNS name"),
        }
    }

    #[test]
    fn wildcards_match_exactly_one_leftmost_label() {
        assert!(dns_matches(b"*.example.com", dns("a.example.com")));
        assert!(dns_matches(b"*.EXAMPLE.com", dns("A.example.COM")));
        assert!(!dns_matches(b"*.example.com", dns("example.com")));
        assert!(!dns_matches(b"*.example.com", dns("a.b.example.com")));
        assert!(!dns_matches(b"f*.example.com", dns("foo.example.com")));
        assert!(!dns_matches(b"*", dns("com")));
        assert!(!dns_matches(b"*.com", dns("example.com")));
        assert!(!dns_matches(b"a.*.example.com", dns("a.b.example.com")));
        assert!(dns_matches(b"broker.local", dns("Broker.Local.")));
        assert!(!dns_matches(b"foo_bar.example.com", "foo_bar.example.com"));
    }

    #[test]
    fn reference_names_are_checked() {
        assert!(matches!(
            Reference::parse("192.168.1.10"),
            Some(Reference::Ip(IpAddr::V4(_)))
        ));
        assert!(matches!(
            Reference::parse("::1"),
            Some(Reference::Ip(IpAddr::V6(_)))
        ));
        for bad in [
            "",
            "foo_bar.example.com",
            "-a.example",
            "a..b",
            "ä.example",
            "*.example.com",
        ] {
            assert_eq!(Reference::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn common_names_written_like_addresses_must_be_canonical() {
        for ip_like in [
            "192.168.1.1",
            "192.168.001.001",
            "0xC0A80101",
            "2001:DB8::1",
            "::1",
        ] {
            assert!(looks_like_ip(ip_like), "{ip_like}");
        }
        for name in [
            "broker.example",
            "12345678",
            "1e100.net",
            "Mosquitto: broker",
            "",
        ] {
            assert!(!looks_like_ip(name), "{name}");
        }
        let canonical =
            |text: &str| ip::parse(text).is_some_and(|ip| is_canonical_ip_text(text, ip));
        assert!(canonical("192.168.1.1"));
        assert!(canonical("2001:db8::8a2e:370:7334"));
        assert!(canonical("::ffff:192.0.2.1"));
        for text in [
            "192.168.001.001",
            "2001:DB8::8A2E:370:7334",
            "2001:0db8:0000:0000:0000:0000:0000:0001",
            "2001:db8:0:0:1:0:0:1",
        ] {
            assert!(!canonical(text), "{text}");
        }
    }

    #[test]
    fn dns_and_ip_subtrees() {
        assert!(dns_within(b"a.example.com", b"example.com"));
        assert!(dns_within(b"example.com", b"example.com"));
        assert!(!dns_within(b"badexample.com", b"example.com"));
        assert!(!dns_within(b"example.com", b".example.com"));
        assert!(dns_within(b"a.example.com", b".example.com"));
        assert!(dns_within(b"anything", b""));
        assert!(ip_within(&[10, 1, 2, 3], &[10, 0, 0, 0, 255, 0, 0, 0]));
        assert!(!ip_within(&[11, 1, 2, 3], &[10, 0, 0, 0, 255, 0, 0, 0]));
        assert!(!ip_within(&[10, 1, 2, 3], &[0; 32]));
        // A wildcard overlapping an excluded subtree is excluded.
        assert_eq!(
            within(
                ConstrainedName::Dns(b"*.example.com"),
                GeneralName::Dns(b"bad.example.com"),
                true
            ),
            Some(true)
        );
    }
}
