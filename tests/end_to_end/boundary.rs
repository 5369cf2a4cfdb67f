//! `agentpod boundary`: the demo's effective boundary, resolved against its fixtures, as a
//! reviewer reads it; and the escape of a violation into the run's outcome.

use agentpod_end_to_end::Scratch;

#[test]
fn the_demo_boundary_is_printed_for_review() {
    let scratch = Scratch::new();
    let output = scratch.run(&["boundary", "pods/support-triage.yaml", "--runtime", "local"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    insta::assert_snapshot!(String::from_utf8_lossy(&output.stdout));
}
