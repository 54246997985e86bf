//! Arbitrary topic filter and name through `validate_filter`, `validate_name` and `matches`.
//!
//! Properties: nothing panics; only a valid filter and a valid name ever match; a valid name is
//! a valid filter that matches itself; `#` matches every name not starting with `$`; and
//! `matches` agrees with a second, declarative reading of §4.7.
#![no_main]

use embedded_mqtts::topic::{matches, validate_filter, validate_name};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (&str, &str)| {
    let (filter, name) = input;
    let filter_ok = validate_filter(filter).is_ok();
    let name_ok = validate_name(name).is_ok();
    let matched = matches(filter, name);
    if matched {
        assert!(filter_ok && name_ok);
    }
    if filter_ok && name_ok {
        assert_eq!(matched, spec_match(filter, name), "{filter:?} {name:?}");
    }
    for topic in [filter, name] {
        if validate_name(topic).is_ok() {
            assert!(validate_filter(topic).is_ok());
            assert!(matches(topic, topic), "{topic:?}");
            assert_eq!(matches("#", topic), !topic.starts_with('$'));
        }
    }
});

/// §4.7 stated as a predicate over levels: a filter without `#` needs as many levels as the
/// name; one ending in `#` needs at least as many as the levels before the `#`; each level
/// before is `+` or equal. Wildcard-led filters never reach `$` names.
fn spec_match(filter: &str, name: &str) -> bool {
    if name.starts_with('$') && (filter.starts_with('+') || filter.starts_with('#')) {
        return false;
    }
    let f: Vec<&str> = filter.split('/').collect();
    let n: Vec<&str> = name.split('/').collect();
    let (fixed, multi) = match f.split_last() {
        Some((&"#", before)) => (before, true),
        _ => (&f[..], false),
    };
    let count_ok = if multi {
        n.len() >= fixed.len()
    } else {
        n.len() == fixed.len()
    };
    count_ok && fixed.iter().zip(&n).all(|(f, n)| *f == "+" || f == n)
}
