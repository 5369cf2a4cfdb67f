//! The stored report model on a real run: the run's end stores it, `report` renders the same
//! bytes from it as from the records in every format, and a write to the records after it (an
//! outcome written directly into the store) is shown, not the stored figures.

use agentpod_end_to_end::Scratch;
use agentpod_report::REPORT_MODEL_VERSION;
use agentpod_store::{OutcomeStatus, RunStore};

const FORMATS: [&str; 5] = ["terminal", "json", "markdown", "junit", "html"];

fn report(scratch: &Scratch, run: &str, format: &str) -> String {
    let output = scratch.run(&["report", run, "--format", format]);
    assert!(
        output.status.success(),
        "{format}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

fn with_store<T>(scratch: &Scratch, read: impl AsyncFnOnce(&RunStore) -> T) -> T {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let store = RunStore::open(&scratch.path().join("runs.db"))
            .await
            .unwrap();
        let value = read(&store).await;
        store.close().await;
        value
    })
}

fn has_current_model(scratch: &Scratch, run: &str) -> bool {
    with_store(scratch, async |store| {
        let lookup = store.report_model(run, REPORT_MODEL_VERSION).await.unwrap();
        lookup.unwrap().model.is_some()
    })
}

#[test]
fn a_stored_report_model_renders_the_same_bytes_and_yields_to_newer_records() {
    let scratch = Scratch::new();
    let output = scratch.run(&[
        "run",
        "pods/support-triage.yaml",
        "--runtime",
        "local",
        "--pods",
        "2",
        "--sample",
        "10",
        "--seed",
        "3",
        "--no-progress",
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let run = scratch.show("latest")["run"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        has_current_model(&scratch, &run),
        "the run's end stores its report model"
    );

    // The same run in a second store (a bundle imported), whose first report is computed.
    let bundle = scratch.path().join("bundle.json");
    let exported = scratch.run(&["export", &run, "--bundle", bundle.to_str().unwrap()]);
    assert!(
        exported.status.success(),
        "{}",
        String::from_utf8_lossy(&exported.stderr)
    );
    let computed = Scratch::new();
    let imported = computed.run(&["import", bundle.to_str().unwrap()]);
    assert!(
        imported.status.success(),
        "{}",
        String::from_utf8_lossy(&imported.stderr)
    );
    assert!(
        !has_current_model(&computed, &run),
        "an import brings no model"
    );
    for format in FORMATS {
        let from_model = report(&scratch, &run, format);
        assert_eq!(
            from_model,
            report(&computed, &run, format),
            "{format}: the stored model renders other bytes than the records"
        );
        assert!(
            has_current_model(&computed, &run),
            "a computed report is stored"
        );
        assert_eq!(
            from_model,
            report(&computed, &run, format),
            "{format}, stored"
        );
    }
    let before: serde_json::Value = serde_json::from_str(&report(&scratch, &run, "json")).unwrap();

    // An outcome written directly: a passed trial now failed.
    let changed = with_store(&scratch, async |store| {
        let mut outcome = store
            .outcomes(&run)
            .await
            .unwrap()
            .into_iter()
            .find(|outcome| outcome.status == OutcomeStatus::Passed)
            .expect("a passed trial");
        outcome.status = OutcomeStatus::Failed;
        outcome.reason = "changed after the report".to_string();
        store.record_outcome(&outcome).await.unwrap();
        outcome.issue_id
    });
    assert!(
        !has_current_model(&scratch, &run),
        "the model is of older records"
    );
    let after: serde_json::Value = serde_json::from_str(&report(&scratch, &run, "json")).unwrap();
    assert_eq!(
        after["quality"]["passed"].as_u64().unwrap() + 1,
        before["quality"]["passed"].as_u64().unwrap(),
        "{after}"
    );
    let row = after["issues"]
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["issue_id"] == changed.as_str())
        .unwrap();
    assert_eq!(row["reason"], "changed after the report", "{row}");
    assert!(
        has_current_model(&scratch, &run),
        "the new figures are stored again"
    );
}
