//! Runs x509-limbo cases (C2SP/x509-limbo, Apache-2.0, copied into `tests/data` so that the
//! tests need nothing outside the repository) through the same harness as `examples/limbo.rs`:
//! the 218-case subset the verifier was first tuned on, and x509-limbo's own 208 cases.

#[path = "../examples/limbo/harness.rs"]
mod harness;

use std::path::{Path, PathBuf};
use std::time::Instant;

use embedded_mqtts::tls::{VerifyError, MAX_CHAIN_DEPTH, NAME_CONSTRAINT_BUDGET, SIGNATURE_BUDGET};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn run(name: &str) -> harness::Summary {
    let summary = harness::run(&data(name)).expect("a limbo file in tests/data");
    for line in &summary.disagreements {
        println!("{line}");
    }
    println!("{}", summary.line());
    summary
}

/// Cases of the subset this verifier agrees with at least (of 218); the disagreements are
/// listed in the README's conformance section.
const SUBSET_MIN_AGREE: usize = 208;

/// Cases of x509-limbo's own file this verifier agrees with at least (of the 190 it runs; the
/// 8 CRL and 10 CLIENT cases are skipped). The four real-world chains with P-384 CAs need the
/// `p384` feature.
const NATIVE_MIN_AGREE: usize = if cfg!(feature = "p384") { 181 } else { 177 };

#[test]
fn limbo_subset_has_no_false_accepts() {
    let summary = run("x509-limbo-subset.json");
    assert_eq!(summary.false_accepts, 0, "{}", summary.line());
    assert!(summary.agree >= SUBSET_MIN_AGREE, "{}", summary.line());
}

#[test]
fn limbo_native_has_no_false_accepts_and_skips_only_crl_and_client_cases() {
    let summary = run("x509-limbo-native.json");
    assert_eq!(summary.false_accepts, 0, "{}", summary.line());
    assert!(summary.agree >= NATIVE_MIN_AGREE, "{}", summary.line());
    assert_eq!(summary.skipped, 18, "{}", summary.line());
}

/// limbo's pathological cases (up to 102 certificates; 2,048 names against 4,097 name
/// constraints) end within the work budget of one verification, each with its expected
/// answer. Prints each case's time (debug build) and answer; `nc-dos-1` and `-2` stop at the
/// name-constraint budget, which is only spent once every signature of a path is checked.
#[test]
fn pathological_cases_end_within_the_work_budget() {
    let text = std::fs::read_to_string(data("x509-limbo-native.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let cases = json["testcases"].as_array().unwrap();
    let pathological = cases
        .iter()
        .filter(|c| c["id"].as_str().unwrap().starts_with("pathological::"));
    let mut count = 0;
    for case in pathological {
        count += 1;
        let id = case["id"].as_str().unwrap();
        let started = Instant::now();
        let answer = harness::verify_case(case).expect("a runnable case");
        let elapsed = started.elapsed();
        match &answer {
            Ok(()) => println!("{id}: {elapsed:.2?}, accepted"),
            Err(refusal) => println!("{id}: {elapsed:.2?}, refused: {refusal}"),
        }
        assert_eq!(
            answer.is_ok(),
            case["expected_result"] == "SUCCESS",
            "{id}: {answer:?}"
        );
        if id == "pathological::nc-dos-1" || id == "pathological::nc-dos-2" {
            assert_eq!(
                answer,
                Err(VerifyError::LimitReached {
                    what: "name comparisons",
                    limit: NAME_CONSTRAINT_BUDGET
                }),
                "{id}"
            );
        }
        // The long chains fail the certificate profile at once; without it they take the
        // path search to its signature budget.
        if id.starts_with("pathological::pathological-chain-") {
            let started = Instant::now();
            let legacy = harness::verify_case_with(case, |o| o.allow_legacy_profile()).unwrap();
            let elapsed = started.elapsed();
            let refusal = legacy.expect_err(id);
            println!("{id} (legacy profile): {elapsed:.2?}, refused: {refusal}");
            assert!(
                matches!(refusal, VerifyError::LimitReached { limit, .. }
                    if limit == SIGNATURE_BUDGET || limit == u32::from(MAX_CHAIN_DEPTH)),
                "{id}: {refusal}"
            );
        }
    }
    assert!(count >= 8, "{count} pathological cases");
}
