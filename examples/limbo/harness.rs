//! The x509-limbo harness shared by `examples/limbo.rs` and `tests/limbo.rs`.
//!
//! Each test case pins its `trusted_certs` as one [`Pin::Ca`], hands over the peer certificate
//! and the unordered `untrusted_intermediates`, and expects the peer name (DNS or IP) at the
//! case's `validation_time` (`null` means now; fractions of a second are dropped, which is what
//! the limbo cases on fractional times expect). The verifier's answer is compared with
//! `expected_result`; a FAILURE case that is accepted is a false accept.
//!
//! Every field of a case that the verifier can represent is read: `validation_kind` (SERVER),
//! `expected_peer_name` (DNS or IP; `null` skips the host name check), `max_chain_depth`
//! ([`VerifyOptions::with_max_chain_depth`]), `key_usage` and `extended_key_usage` (what a TLS
//! server verifier checks: digitalSignature and serverAuth, so only those may be asked for),
//! `signature_algorithms` (none may be asked for). A case asking for anything else is a
//! disagreement with its reason, never a silent pass. Only two kinds of case are skipped, and
//! counted: CLIENT validation (this crate verifies servers) and cases with CRLs (revocation is
//! not checked).

use std::path::Path;
use std::string::{String, ToString};
use std::time::{SystemTime, UNIX_EPOCH};
use std::vec::Vec;

use embedded_mqtts::tls::{
    pem_to_der, verify_server_certificate, Pin, ValidityTime, VerifyError, VerifyOptions,
};

/// The outcome of a harness run.
#[derive(Debug, Default)]
pub struct Summary {
    /// Cases where the verifier agrees with the expected result.
    pub agree: usize,
    /// Cases where it does not.
    pub disagree: usize,
    /// FAILURE cases that were accepted.
    pub false_accepts: usize,
    /// Cases not run: CLIENT validation and CRLs.
    pub skipped: usize,
    /// One line per disagreement: id, expected result, and what the verifier said.
    pub disagreements: Vec<String>,
}

impl Summary {
    /// The last line the example prints.
    pub fn line(&self) -> String {
        format!(
            "limbo: {} agree, {} disagree, {} false-accepts, {} skipped",
            self.agree, self.disagree, self.false_accepts, self.skipped
        )
    }
}

/// PEM text to DER.
fn der(pem: &str) -> Result<Vec<u8>, String> {
    let mut out = vec![0u8; pem.len()];
    let len = pem_to_der(pem.as_bytes(), &mut out)
        .map_err(|e| e.to_string())?
        .len();
    out.truncate(len);
    Ok(out)
}

/// Two ASCII digits at `at` of `s`.
fn number(s: &str, range: std::ops::Range<usize>) -> Result<u32, String> {
    s.get(range)
        .and_then(|d| d.parse().ok())
        .ok_or_else(|| format!("bad time {s}"))
}

/// `YYYY-MM-DDTHH:MM:SS[.fff](Z|+HH:MM|-HH:MM)` as unix seconds, fractions dropped.
fn iso8601(s: &str) -> Result<u64, String> {
    let (y, mo, d) = (number(s, 0..4)?, number(s, 5..7)?, number(s, 8..10)?);
    let (h, mi, sec) = (number(s, 11..13)?, number(s, 14..16)?, number(s, 17..19)?);
    let date = der::DateTime::new(y as u16, mo as u8, d as u8, h as u8, mi as u8, sec as u8)
        .map_err(|e| format!("bad time {s}: {e}"))?;
    let mut secs = date.unix_duration().as_secs() as i64;
    let zone = s.get(19..).unwrap_or("");
    let zone = zone.trim_start_matches(|c: char| c == '.' || c.is_ascii_digit());
    if let Some(sign) = zone.chars().next().filter(|c| *c == '+' || *c == '-') {
        let offset = i64::from(number(zone, 1..3)? * 3600 + number(zone, 4..6)? * 60);
        secs -= if sign == '+' { offset } else { -offset };
    }
    u64::try_from(secs).map_err(|_| format!("time before 1970: {s}"))
}

/// Whether the string array `key` of a case holds only values from `allowed`.
fn only(case: &serde_json::Value, key: &str, allowed: &[&str]) -> Result<(), String> {
    let values = case[key].as_array().map(Vec::as_slice).unwrap_or_default();
    match values
        .iter()
        .find(|v| !allowed.contains(&v.as_str().unwrap_or("")))
    {
        Some(v) => Err(format!(
            "{key} {v} is not what a TLS server verifier checks"
        )),
        None => Ok(()),
    }
}

/// The verifier's options for a SERVER case, from the fields it can represent.
fn options(case: &serde_json::Value) -> Result<VerifyOptions, String> {
    only(case, "key_usage", &["digitalSignature"])?;
    only(case, "extended_key_usage", &["serverAuth"])?;
    only(case, "signature_algorithms", &[])?;
    let mut options = VerifyOptions::new();
    match case["expected_peer_name"]["kind"].as_str() {
        None => options = options.skip_host_name_check(),
        Some("DNS" | "IP") => {}
        Some(kind) => return Err(format!("peer name of kind {kind}")),
    }
    if let Some([one, ..]) = case["expected_peer_names"].as_array().map(Vec::as_slice) {
        return Err(format!("expected_peer_names {one}"));
    }
    if let Some(depth) = case["max_chain_depth"].as_u64() {
        options = options.with_max_chain_depth(u8::try_from(depth).unwrap_or(u8::MAX));
    }
    Ok(options)
}

/// Whether a case is skipped: CLIENT validation (this crate verifies servers) or CRLs
/// (revocation is not checked).
fn is_skipped(case: &serde_json::Value) -> bool {
    let has_crl = case["crls"].as_array().is_some_and(|c| !c.is_empty())
        || case["features"]
            .as_array()
            .is_some_and(|f| f.iter().any(|f| f == "has-crl"));
    case["validation_kind"] == "CLIENT" || has_crl
}

/// The verifier's answer for one case (an `Err` when the case cannot be run).
pub fn verify_case(case: &serde_json::Value) -> Result<Result<(), VerifyError>, String> {
    verify_case_with(case, |options| options)
}

/// The verifier's answer for one case, with the case's options changed by `change`.
pub fn verify_case_with(
    case: &serde_json::Value,
    change: impl Fn(VerifyOptions) -> VerifyOptions,
) -> Result<Result<(), VerifyError>, String> {
    let pems = |key: &str| -> Result<Vec<Vec<u8>>, String> {
        case[key]
            .as_array()
            .ok_or_else(|| format!("no {key}"))?
            .iter()
            .map(|p| der(p.as_str().unwrap_or("")))
            .collect()
    };
    let trusted = pems("trusted_certs")?;
    let intermediates = pems("untrusted_intermediates")?;
    let leaf = der(case["peer_certificate"]
        .as_str()
        .ok_or("no peer_certificate")?)?;
    let now = match case["validation_time"].as_str() {
        Some(t) => iso8601(t)?,
        None => SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_err(|e| e.to_string())?
            .as_secs(),
    };
    let options = change(options(case)?);
    let name = case["expected_peer_name"]["value"].as_str();
    let trusted: Vec<&[u8]> = trusted.iter().map(Vec::as_slice).collect();
    let intermediates: Vec<&[u8]> = intermediates.iter().map(Vec::as_slice).collect();
    let pins = [Pin::Ca(&trusted)];
    let time = ValidityTime::UnixSeconds(now);
    Ok(verify_server_certificate(&pins, &leaf, &intermediates, name, time, &options).map(drop))
}

/// Runs every case of an x509-limbo JSON file.
pub fn run(path: &Path) -> Result<Summary, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let json: serde_json::Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    let cases = json["testcases"].as_array().ok_or("no testcases")?;
    let mut summary = Summary::default();
    for case in cases {
        let id = case["id"].as_str().unwrap_or("?");
        if is_skipped(case) {
            summary.skipped += 1;
            continue;
        }
        let expect_success = case["expected_result"] == "SUCCESS";
        let answer = std::panic::catch_unwind(|| verify_case(case))
            .unwrap_or_else(|_| Err("PANIC in the verifier".to_string()));
        let (accepted, said) = match answer {
            Ok(Ok(())) => (Some(true), "accepted".to_string()),
            Ok(Err(e)) => (Some(false), format!("refused: {e}")),
            // Neither accepted nor refused: a disagreement whatever the expected result.
            Err(harness) => (None, format!("not run: {harness}")),
        };
        if accepted == Some(expect_success) {
            summary.agree += 1;
        } else {
            summary.disagree += 1;
            if accepted == Some(true) {
                summary.false_accepts += 1;
            }
            let expected = if expect_success { "SUCCESS" } else { "FAILURE" };
            summary
                .disagreements
                .push(format!("{id}: expected {expected}, {said}"));
        }
    }
    Ok(summary)
}
