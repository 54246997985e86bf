//! Server identity: host name matching (RFC 6125, RFC 5280 §4.2.1.6) and name constraints
//! (RFC 5280 §4.2.1.10). This module answers questions about names; the verifier (`verify.rs`)
//! decides what a mismatch means and words the refusal.
//!
//! User documentation: the `tls` module, section "Host names and name constraints".

use core::net::IpAddr;

use super::text::{bounded, NameText};
use super::x509::{for_each_common_name, general_names, subtree_bases, Certificate, GeneralName};

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
        if let Ok(ip) = name.parse::<IpAddr>() {
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
    for name in leaf
        .ext
        .subject_alt_name
        .into_iter()
        .flat_map(general_names)
    {
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
            Reference::Ip(r) => cn.parse::<IpAddr>() == Ok(r),
        };
    });
    matched
}

/// CA/Browser Forum BR 7.1.4.3: whether every commonName that looks like a host name (has a dot
/// and no space) is a byte-for-byte copy of one of the subjectAltNames (true without SANs).
pub(crate) fn common_names_are_sans(leaf: &Certificate<'_>) -> bool {
    let Some(san) = leaf.ext.subject_alt_name else {
        return true;
    };
    let mut stray = false;
    for_each_common_name(leaf.subject, |cn| {
        if !cn.contains('.') || cn.contains(char::is_whitespace) {
            return;
        }
        let listed = general_names(san).any(|name| match name {
            GeneralName::Dns(d) => d == cn.as_bytes(),
            GeneralName::Ip(ip) => cn.parse::<IpAddr>().is_ok_and(|a| ip_matches(ip, a)),
            GeneralName::Other(_) => false,
        });
        stray |= !listed;
    });
    !stray
}

/// The first SAN of a certificate as text, else `CN=<first common name>`, else `no SAN`.
pub(crate) fn presented_name(leaf: &Certificate<'_>) -> NameText {
    use core::fmt::Write;
    let mut out = NameText::new();
    match leaf
        .ext
        .subject_alt_name
        .into_iter()
        .flat_map(general_names)
        .next()
    {
        Some(GeneralName::Dns(d)) => {
            out = bounded(core::str::from_utf8(d).unwrap_or("?"));
        }
        Some(GeneralName::Ip(ip)) => {
            let _ = match ip_from_bytes(ip) {
                Some(ip) => write!(out, "{ip}"),
                None => write!(out, "IP?"),
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
            let _ = match first {
                Some(cn) => write!(text, "no SAN, CN={cn}"),
                None => write!(text, "no SAN"),
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
    /// The constraints name a kind of name that is not checked (only DNS and IP are).
    UnsupportedKind,
    /// This name of the server certificate is outside them.
    Outside(NameText),
}

/// Applies `ca`'s nameConstraints to the server certificate's names.
pub(crate) fn check_name_constraints(
    ca: &Certificate<'_>,
    leaf: &Certificate<'_>,
    common_name_is_host: bool,
) -> Result<(), ConstraintFailure> {
    let Some(nc) = ca.ext.name_constraints else {
        return Ok(());
    };
    let permitted = nc.permitted.unwrap_or(&[]);
    let excluded = nc.excluded.unwrap_or(&[]);
    let unsupported = subtree_bases(permitted)
        .chain(subtree_bases(excluded))
        .any(|b| matches!(b, GeneralName::Other(_)));
    if unsupported {
        return Err(ConstraintFailure::UnsupportedKind);
    }
    let check = |name: ConstrainedName<'_>| -> Result<(), ConstraintFailure> {
        let mut constrained = false;
        let mut allowed = false;
        for base in subtree_bases(permitted) {
            if let Some(inside) = within(name, base, false) {
                constrained = true;
                allowed |= inside;
            }
        }
        let denied = subtree_bases(excluded).any(|b| within(name, b, true) == Some(true));
        if denied || (constrained && !allowed) {
            return Err(ConstraintFailure::Outside(constrained_name_text(name)));
        }
        Ok(())
    };
    for name in leaf
        .ext
        .subject_alt_name
        .into_iter()
        .flat_map(general_names)
    {
        match name {
            GeneralName::Dns(d) => check(ConstrainedName::Dns(d))?,
            GeneralName::Ip(ip) => check(ConstrainedName::Ip(ip))?,
            GeneralName::Other(_) => {}
        }
    }
    if common_name_is_host && leaf.ext.subject_alt_name.is_none() {
        let mut result = Ok(());
        for_each_common_name(leaf.subject, |cn| {
            let r = match cn.parse::<IpAddr>() {
                Ok(IpAddr::V4(v4)) => check(ConstrainedName::Ip(&v4.octets())),
                Ok(IpAddr::V6(v6)) => check(ConstrainedName::Ip(&v6.octets())),
                Err(_) => check(ConstrainedName::Dns(cn.as_bytes())),
            };
            if result.is_ok() {
                result = r;
            }
        });
        result?;
    }
    Ok(())
}

fn constrained_name_text(name: ConstrainedName<'_>) -> NameText {
    use core::fmt::Write;
    match name {
        ConstrainedName::Dns(d) => bounded(core::str::from_utf8(d).unwrap_or("?")),
        ConstrainedName::Ip(ip) => {
            let mut out = NameText::new();
            if let Some(ip) = ip_from_bytes(ip) {
                let _ = write!(out, "{ip}");
            }
            out
        }
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
