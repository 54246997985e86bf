//! Runs the x509-limbo subset (`tests/data/x509-limbo-subset.json`: 218 cases from
//! C2SP/x509-limbo, Apache-2.0, copied in so that the test needs nothing outside the
//! repository) through the same harness as `examples/limbo.rs`.

#[path = "../examples/limbo/harness.rs"]
mod harness;

/// Cases this verifier agrees with at least (of 218); see `examples/limbo.rs` for the list of
/// disagreements and `src/tls/verify.rs` for why they are accepted.
const MIN_AGREE: usize = 208;

#[test]
fn limbo_subset_has_no_false_accepts() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/x509-limbo-subset.json");
    let summary = harness::run(&path).expect("the limbo subset in tests/data");
    for line in &summary.disagreements {
        println!("{line}");
    }
    println!("{}", summary.line());
    assert_eq!(summary.false_accepts, 0, "{}", summary.line());
    assert!(summary.agree >= MIN_AGREE, "{}", summary.line());
}
