//! Reports, compare and the gate, from the run store, as CI uses them: two runs of the demo (two
//! agent versions, the same sample), every report format, the comparison, and the gate's exit
//! codes (0 within the thresholds, 4 outside).

use agentpod_end_to_end::Scratch;

fn run_version(scratch: &Scratch, version: &str) -> String {
    let output = scratch.run(&[
        "run",
        "pods/support-triage.yaml",
        "--runtime",
        "local",
        "--pods",
        "2",
        "--sample",
        "12",
        "--seed",
        "5",
        "--agent-version",
        version,
        "--no-progress",
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    scratch.show("latest")["run"]["id"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn reports_compare_and_gate_read_the_store() {
    let scratch = Scratch::new();
    let first = run_version(&scratch, "baseline-a");
    let second = run_version(&scratch, "baseline-b");

    let report = |format: &str| {
        let output = scratch.run(&["report", &second, "--format", format]);
        assert!(
            output.status.success(),
            "{format}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    };
    let json: serde_json::Value = serde_json::from_str(&report("json")).unwrap();
    assert!(json.to_string().contains("pass_rate"), "{json}");
    let junit = report("junit");
    assert_eq!(
        junit.matches("<testcase").count(),
        12,
        "one test case per issue"
    );
    let markdown = report("markdown");
    assert!(
        markdown.contains("| ") && markdown.contains(&second),
        "{markdown}"
    );
    let html = report("html");
    assert!(
        html.starts_with("<!DOCTYPE html>") || html.starts_with("<!doctype html>"),
        "{}",
        &html[..80]
    );
    assert!(html.contains("<svg"), "charts are inline SVG");
    assert!(
        !html.contains("src=\"http"),
        "the page loads nothing from outside"
    );
    assert!(report("terminal").contains("pass rate"));

    let compared = scratch.run(&["compare", &first, &second]);
    assert!(
        compared.status.success(),
        "{}",
        String::from_utf8_lossy(&compared.stderr)
    );
    let compared = String::from_utf8_lossy(&compared.stdout);
    assert!(
        compared.contains(&first) && compared.contains(&second),
        "{compared}"
    );

    // The same deterministic agent twice: no regressions; a lax gate passes, a strict one fails.
    let gate = |extra: &[&str]| {
        let mut args = vec!["gate", second.as_str(), "--baseline", first.as_str()];
        args.extend_from_slice(extra);
        scratch.run(&args)
    };
    let lax = gate(&[
        "--min-pass-rate",
        "0.1",
        "--max-violations",
        "100",
        "--max-regressions",
        "0",
        "--max-monthly-cost",
        "1000",
    ]);
    assert_eq!(
        lax.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&lax.stdout)
    );
    let strict = gate(&["--min-pass-rate", "0.99"]);
    assert_eq!(
        strict.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&strict.stdout)
    );
    assert!(
        String::from_utf8_lossy(&strict.stdout).contains("pass rate"),
        "the failed check is named"
    );
}
