//! MQTT 3.1.1 topic names, topic filters, and how a filter selects names (§4.7).
//!
//! A *topic name* labels one PUBLISH; a *topic filter* is what a SUBSCRIBE or UNSUBSCRIBE
//! carries and may contain wildcards. The rules enforced here:
//!
//! - Every topic name and filter is at least one character long [MQTT-4.7.3-1], at most
//!   65,535 bytes [MQTT-4.7.3-3], and has no U+0000 [MQTT-4.7.3-2], [MQTT-1.5.3-2]. Being a
//!   `&str`, it is already well-formed UTF-8 [MQTT-1.5.3-1].
//! - A topic name has no wildcard characters `+` or `#` [MQTT-4.7.1-1], [MQTT-3.3.2-2].
//! - In a filter, `#` stands alone in its level and is the last level [MQTT-4.7.1-2]; `+` stands
//!   alone in its level [MQTT-4.7.1-3].
//! - Matching (§4.7.1 and §4.7.2): levels are split on `/` (so empty levels count, and
//!   `/finance` has two levels); `+` matches exactly one level, which may be empty; `#` matches
//!   the parent level and any number of child levels, so `sport/#` also matches `sport`.
//!   A filter starting with a wildcard does not match a name starting with `$`
//!   [MQTT-4.7.2-1], so `#` does not select `$SYS/...` names.

use core::fmt;

/// Longest topic name or filter: the 16-bit length prefix of an MQTT UTF-8 string.
const MAX_LEN: usize = u16::MAX as usize;

/// Why a string is not a valid topic name or topic filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum TopicError {
    /// The string is empty [MQTT-4.7.3-1].
    Empty,
    /// The string is longer than 65,535 bytes [MQTT-4.7.3-3].
    TooLong,
    /// A topic name contains `+` or `#` [MQTT-4.7.1-1].
    Wildcard,
    /// A filter has `#` that is not alone in the last level, or `+` that is not alone in its
    /// level [MQTT-4.7.1-2], [MQTT-4.7.1-3].
    MisplacedWildcard,
    /// The string contains U+0000 [MQTT-4.7.3-2].
    NulChar,
}

impl fmt::Display for TopicError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TopicError::Empty => "topic is empty",
            TopicError::TooLong => "topic is longer than 65535 bytes",
            TopicError::Wildcard => "topic name contains a wildcard ('+' or '#')",
            TopicError::MisplacedWildcard => {
                "topic filter has a wildcard that is not alone in its level, or '#' before the last level"
            }
            TopicError::NulChar => "topic contains the character U+0000",
        })
    }
}

impl core::error::Error for TopicError {}

/// The length rules common to names and filters [MQTT-4.7.3-1], [MQTT-4.7.3-3].
fn validate_len(topic: &str) -> Result<(), TopicError> {
    if topic.is_empty() {
        return Err(TopicError::Empty);
    }
    if topic.len() > MAX_LEN {
        return Err(TopicError::TooLong);
    }
    Ok(())
}

/// Checks a topic name for PUBLISH: non-empty, at most 65,535 bytes, no `+` or `#`, no U+0000.
///
/// One pass over the bytes: `+`, `#` and U+0000 are ASCII, and no byte of a multi-byte UTF-8
/// sequence is below 0x80, so scanning bytes finds exactly those characters.
pub fn validate_name(name: &str) -> Result<(), TopicError> {
    validate_len(name)?;
    let (mut nul, mut wildcard) = (false, false);
    for &byte in name.as_bytes() {
        nul |= byte == 0;
        wildcard |= byte == b'+' || byte == b'#';
    }
    if nul {
        Err(TopicError::NulChar)
    } else if wildcard {
        Err(TopicError::Wildcard)
    } else {
        Ok(())
    }
}

/// Checks a topic filter for SUBSCRIBE or UNSUBSCRIBE: the name rules except that wildcards
/// are allowed where §4.7.1 puts them: `#` alone in the last level, `+` alone in any level.
///
/// One pass over the bytes (see [`validate_name`]): a wildcard is alone in its level when the
/// byte before it is `/` (or it is first) and the byte after it is `/` (or it is last); `#`
/// must also be last.
pub fn validate_filter(filter: &str) -> Result<(), TopicError> {
    validate_len(filter)?;
    let (mut nul, mut misplaced) = (false, false);
    // Each byte with the one before it (a '/' before the first): a wildcard must follow a '/'
    // and be followed by one (or the end), and nothing may follow '#'.
    let mut previous = b'/';
    for &byte in filter.as_bytes() {
        nul |= byte == 0;
        let wildcard = byte == b'+' || byte == b'#';
        misplaced |= (wildcard && previous != b'/')
            || (previous == b'+' && byte != b'/')
            || previous == b'#';
        previous = byte;
    }
    if nul {
        Err(TopicError::NulChar)
    } else if misplaced {
        Err(TopicError::MisplacedWildcard)
    } else {
        Ok(())
    }
}

/// Does `filter` select the topic name `name`? Rules of MQTT 3.1.1 §4.7 (see the module docs).
///
/// Returns `false` when `filter` is not a valid filter or `name` is not a valid name, so an
/// invalid subscription never selects anything.
pub fn matches(filter: &str, name: &str) -> bool {
    if validate_filter(filter).is_err() || validate_name(name).is_err() {
        return false;
    }
    // [MQTT-4.7.2-1]: wildcards at the start of a filter do not reach names beginning with '$'.
    if name.starts_with('$') && matches!(filter.as_bytes().first(), Some(b'+' | b'#')) {
        return false;
    }
    let mut filter_levels = filter.split('/');
    let mut name_levels = name.split('/');
    loop {
        match (filter_levels.next(), name_levels.next()) {
            // '#' is always the last filter level; it matches the parent level itself too.
            (Some("#"), _) => return true,
            (Some("+"), Some(_)) => {}
            (Some(f), Some(n)) if f == n => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(validate_name("sport/tennis/player1"), Ok(()));
        assert_eq!(validate_name("/"), Ok(()));
        assert_eq!(validate_name(" "), Ok(()));
        assert_eq!(validate_name("$SYS/broker/load"), Ok(()));
        assert_eq!(validate_name("sport//tennis/"), Ok(()));
        assert_eq!(validate_name("Ünïcødé/✓"), Ok(()));
        assert_eq!(validate_name(""), Err(TopicError::Empty));
        assert_eq!(validate_name("sport/+"), Err(TopicError::Wildcard));
        assert_eq!(validate_name("sport/#"), Err(TopicError::Wildcard));
        assert_eq!(validate_name("sp#ort"), Err(TopicError::Wildcard));
        assert_eq!(validate_name("a\0b"), Err(TopicError::NulChar));
    }

    #[test]
    fn length_limit_is_65535_bytes() {
        let long = "a".repeat(MAX_LEN);
        assert_eq!(validate_name(&long), Ok(()));
        assert_eq!(validate_filter(&long), Ok(()));
        let too_long = "a".repeat(MAX_LEN + 1);
        assert_eq!(validate_name(&too_long), Err(TopicError::TooLong));
        assert_eq!(validate_filter(&too_long), Err(TopicError::TooLong));
    }

    #[test]
    fn filters() {
        // Valid examples of §4.7.1.2 and §4.7.1.3.
        for ok in [
            "sport/tennis/player1/#",
            "sport/#",
            "#",
            "+",
            "+/tennis/#",
            "sport/+/player1",
            "/+",
            "+/+",
            "sport/tennis/+",
            "$SYS/#",
            "a//b",
        ] {
            assert_eq!(validate_filter(ok), Ok(()), "{ok}");
        }
        // Invalid examples of §4.7.1.2 and §4.7.1.3, and similar.
        for bad in [
            "sport/tennis#",
            "sport/tennis/#/ranking",
            "sport+",
            "#/",
            "a/#/b",
            "a/b+/c",
            "++",
            "##",
        ] {
            assert_eq!(
                validate_filter(bad),
                Err(TopicError::MisplacedWildcard),
                "{bad}"
            );
        }
        assert_eq!(validate_filter(""), Err(TopicError::Empty));
        assert_eq!(validate_filter("a/\0/#"), Err(TopicError::NulChar));
    }

    #[test]
    fn wildcard_placement_agrees_with_the_rule_by_levels() {
        // Every filter of up to 6 bytes over 'a', '/', '+', '#', against §4.7.1 read level by
        // level: a level with a wildcard is exactly "+" or "#", and "#" is the last level.
        let alphabet = [b'a', b'/', b'+', b'#'];
        for len in 1..=6u32 {
            for n in 0..4usize.pow(len) {
                let filter: std::string::String = (0..len)
                    .map(|i| char::from(alphabet[n / 4usize.pow(i) % 4]))
                    .collect();
                let levels: std::vec::Vec<&str> = filter.split('/').collect();
                let placed = levels.iter().enumerate().all(|(i, level)| {
                    !level.contains(['+', '#'])
                        || *level == "+"
                        || (*level == "#" && i == levels.len() - 1)
                });
                let expected = if placed {
                    Ok(())
                } else {
                    Err(TopicError::MisplacedWildcard)
                };
                assert_eq!(validate_filter(&filter), expected, "{filter}");
            }
        }
    }

    #[test]
    fn multi_level_wildcard_examples() {
        // §4.7.1.2
        let f = "sport/tennis/player1/#";
        assert!(matches(f, "sport/tennis/player1"));
        assert!(matches(f, "sport/tennis/player1/ranking"));
        assert!(matches(f, "sport/tennis/player1/score/wimbledon"));
        assert!(!matches(f, "sport/tennis/player2"));
        assert!(!matches(f, "sport/tennis"));
        assert!(matches("sport/#", "sport"));
        assert!(matches("#", "sport/tennis"));
        assert!(matches("#", "/"));
        // A trailing '/' adds an empty level that '#' also covers.
        assert!(matches("sport/#", "sport/"));
    }

    #[test]
    fn single_level_wildcard_examples() {
        // §4.7.1.3
        let f = "sport/tennis/+";
        assert!(matches(f, "sport/tennis/player1"));
        assert!(matches(f, "sport/tennis/player2"));
        assert!(!matches(f, "sport/tennis/player1/ranking"));
        assert!(!matches("sport/+", "sport"));
        assert!(matches("sport/+", "sport/"));
        assert!(matches("+/+", "/finance"));
        assert!(matches("/+", "/finance"));
        assert!(!matches("+", "/finance"));
        assert!(matches("+", "finance"));
        assert!(matches("+/tennis/#", "sport/tennis/player1"));
        assert!(matches("+/+", "/"));
        assert!(!matches("sport/+/player1", "sport/tennis/player2"));
    }

    #[test]
    fn dollar_topics() {
        // §4.7.2
        assert!(!matches("#", "$SYS/broker/clients"));
        assert!(!matches("+/monitor/Clients", "$SYS/monitor/Clients"));
        assert!(matches("$SYS/#", "$SYS/monitor/Clients"));
        assert!(matches("$SYS/monitor/+", "$SYS/monitor/Clients"));
        assert!(!matches("+", "$SYS"));
        // Only the first character counts: '$' later in a name is ordinary.
        assert!(matches("#", "a/$SYS"));
        assert!(matches("+/+", "a/$b"));
    }

    #[test]
    fn exact_matches_and_case() {
        assert!(matches("sport/tennis", "sport/tennis"));
        assert!(!matches("sport/tennis", "Sport/tennis"));
        assert!(!matches("sport/tennis", "sport/tennis/"));
        assert!(!matches("sport", "sport/tennis"));
        assert!(!matches("a//b", "a/b"));
        assert!(matches("a//b", "a//b"));
    }

    #[test]
    fn invalid_inputs_never_match() {
        assert!(!matches("sport+", "sport+"));
        assert!(!matches("#", "a/+"));
        assert!(!matches("", ""));
        assert!(!matches("a/#/b", "a/x/b"));
        assert!(!matches("a", "a\0"));
    }
}
