//! The gold-actions grader through a real run: each issue's gold actions replayed on a second
//! clone (made ahead, while the agent works) and the two states compared — only the tables
//! whose fingerprints differ are read out. Same writes in any order pass; a wrong value, a
//! missing or an extra row fails with the row diff as the reason.

use std::collections::BTreeMap;

use agentpod_end_to_end::{Scratch, run_id_from_stderr};

#[test]
fn the_gold_state_passes_the_same_writes_and_names_every_difference() {
    let scratch = Scratch::new();
    let output = scratch.run(&["run", "tests/pods/gold.yaml", "--runtime", "local"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let run_id = run_id_from_stderr(&stderr).expect("the run is announced");
    let shown = scratch.show(&run_id);
    let outcomes: BTreeMap<String, (String, String)> = shown["outcomes"]
        .as_array()
        .expect("outcomes")
        .iter()
        .map(|outcome| {
            (
                outcome["issue_id"].as_str().unwrap().to_owned(),
                (
                    outcome["status"].as_str().unwrap().to_owned(),
                    outcome["reason"].as_str().unwrap().to_owned(),
                ),
            )
        })
        .collect();
    let status = |issue: &str| outcomes[issue].0.as_str();
    let reason = |issue: &str| outcomes[issue].1.as_str();
    assert_eq!(outcomes.len(), 7, "{outcomes:?}");
    for passing in ["same", "reordered", "nothing-to-do"] {
        assert_eq!(status(passing), "passed", "{passing}: {}", reason(passing));
    }
    for failing in ["wrong-value", "nothing-done", "one-too-many"] {
        assert_eq!(status(failing), "failed", "{failing}: {}", reason(failing));
        assert!(
            reason(failing).contains("gold state"),
            "{}",
            reason(failing)
        );
    }
    // The row diff, inside the grade's quoted explanation.
    assert!(
        reason("wrong-value").contains(r#"changed id=1: name \"one\" → \"uno\""#),
        "{}",
        reason("wrong-value")
    );
    assert!(
        reason("nothing-done").contains("missing") && reason("nothing-done").contains("three"),
        "{}",
        reason("nothing-done")
    );
    assert!(
        reason("one-too-many").contains("extra") && reason("one-too-many").contains("four"),
        "{}",
        reason("one-too-many")
    );
    // A gold action the server refuses reads as the tool layer shows errors: the server's
    // message and SQLSTATE, never the server's C source position (sqlx's `at line 3891`).
    assert_eq!(status("gold-fails"), "failed", "{}", reason("gold-fails"));
    assert!(
        reason("gold-fails").contains(
            r#"gold action 1 failed: duplicate key value violates unique constraint \"items_pkey\" (SQLSTATE 23505)"#
        ),
        "{}",
        reason("gold-fails")
    );
    assert!(
        !reason("gold-fails").contains(" at line ")
            && !reason("gold-fails").contains("error returned from database"),
        "{}",
        reason("gold-fails")
    );
    assert_eq!(
        output.status.code(),
        Some(0),
        "failed issues are results, not errors: {stderr}"
    );
}
