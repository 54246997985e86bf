//! Runs the x509-limbo subset (`../shared/testdata/x509-limbo-subset.json`, beside the clone)
//! through the same harness as `examples/limbo.rs`.

#[path = "../examples/limbo/harness.rs"]
mod harness;

/// Cases this verifier agrees with at least (of 218); see `examples/limbo.rs` for the list of
/// disagreements and `src/tls/verify.rs` for why they are accepted.
const MIN_AGREE: usize = 208;

#[test]
fn limbo_subset_has_no_false_accepts() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/testdata/x509-limbo-subset.json");
    let summary = harness::run(&path).expect("the limbo file beside the clone");
    for line in &summary.disagreements {
        println!("{line}");
    }
    println!("{}", summary.line());
    assert_eq!(summary.false_accepts, 0, "{}", summary.line());
    assert!(summary.agree >= MIN_AGREE, "{}", summary.line());
}
