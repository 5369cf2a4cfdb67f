//! The realistic exports under the repository's `tests/exports/`, imported whole: what each
//! record becomes, what is skipped, and that the answer never stays among the agent's fields.

use std::path::{Path, PathBuf};

use agentpod_issue_import::{AnswerSelection, ImportError, Imported, Tracker, import};
use chrono::{TimeZone, Utc};
use serde_json::{Value, json};

fn export(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/exports")
        .join(name)
}

fn imported(
    tracker: Tracker,
    name: &str,
    answer: AnswerSelection,
) -> Result<Imported, ImportError> {
    let at = Utc
        .with_ymd_and_hms(2026, 12, 1, 12, 0, 0)
        .single()
        .unwrap_or_default();
    import(tracker, &export(name), &answer, at)
}

fn by_id<'a>(imported: &'a Imported, id: &str) -> &'a Value {
    imported
        .records
        .iter()
        .find(|record| record["id"] == id)
        .unwrap_or_else(|| panic!("no issue {id}"))
}

#[test]
fn github_pages_become_issues_with_the_kind_label_as_the_answer() -> Result<(), ImportError> {
    let answer = AnswerSelection {
        fields: Vec::new(),
        label_prefix: Some("kind/".into()),
    };
    let imported = imported(Tracker::Github, "github-issues.json", answer)?;
    assert_eq!(imported.skipped_pull_requests, 1);
    assert_eq!(
        imported.skipped_without_answer, 1,
        "#107 has no kind/ label"
    );
    let ids: Vec<&str> = imported
        .records
        .iter()
        .filter_map(|r| r["id"].as_str())
        .collect();
    assert_eq!(
        ids,
        ["105", "104", "103", "102", "101"],
        "both pages, in export order"
    );
    let crash = by_id(&imported, "101");
    assert_eq!(crash["expected"], json!({"kind": "bug"}));
    assert_eq!(
        crash["labels"],
        json!(["platform: macOS"]),
        "the answer's label is taken off"
    );
    assert!(
        crash["body"]
            .as_str()
            .is_some_and(|body| body.contains("\r\n2. Press ⌘,"))
    );
    assert_eq!(
        by_id(&imported, "102")["body"],
        json!(""),
        "a null body is empty"
    );
    assert_eq!(by_id(&imported, "104")["author"], json!("李雷"));
    assert_eq!(
        crash["provenance"],
        json!({
            "source": "github",
            "original_id": "2209001101",
            "key": "acme/widgets#101",
            "url": "https://github.com/acme/widgets/issues/101",
            "export_file": "github-issues.json",
            "imported_at": "2026-12-01T12:00:00Z"
        })
    );
    Ok(())
}

#[test]
fn jira_csv_rows_become_issues_with_the_priority_as_the_answer() -> Result<(), ImportError> {
    let answer = AnswerSelection {
        fields: vec!["priority".into()],
        label_prefix: None,
    };
    let imported = imported(Tracker::Jira, "jira-issues.csv", answer)?;
    assert_eq!(imported.records.len(), 5);
    assert_eq!(
        imported.skipped_without_answer, 1,
        "PAY-106 has no priority"
    );
    let outage = by_id(&imported, "PAY-101");
    assert_eq!(outage["expected"], json!({"priority": "Highest"}));
    assert!(
        outage.get("priority").is_none(),
        "the answer is not the agent's"
    );
    assert_eq!(outage["labels"], json!(["incident", "customer-facing"]));
    assert_eq!(outage["components"], json!(["checkout", "api"]));
    assert_eq!(outage["provenance"]["original_id"], json!("10101"));
    assert_eq!(outage["provenance"]["key"], json!("PAY-101"));
    let refund = by_id(&imported, "PAY-102");
    assert!(
        refund["description"].as_str().is_some_and(
            |text| text.contains("{\"code\": 500, \"message\": \"internal\"}\n\nHappens")
        ),
        "{refund}"
    );
    assert!(
        by_id(&imported, "PAY-105")["description"]
            .as_str()
            .is_some_and(|text| text.contains("„1.234,50 €“"))
    );
    Ok(())
}

#[test]
fn zendesk_tickets_become_issues_with_the_type_as_the_answer() -> Result<(), ImportError> {
    let answer = AnswerSelection {
        fields: vec!["type".into()],
        label_prefix: None,
    };
    let imported = imported(Tracker::Zendesk, "zendesk-tickets.json", answer)?;
    assert_eq!(imported.records.len(), 5);
    assert_eq!(
        imported.skipped_without_answer, 1,
        "ticket 1005 has no type"
    );
    let japanese = by_id(&imported, "1004");
    assert_eq!(japanese["expected"], json!({"type": "incident"}));
    assert_eq!(japanese["subject"], json!("ログインできません"));
    assert_eq!(japanese["tags"], json!(["login", "日本語"]));
    assert_eq!(
        japanese["provenance"]["url"],
        json!("https://acme.zendesk.com/api/v2/tickets/1004.json")
    );
    Ok(())
}

#[test]
fn freshdesk_tickets_name_their_codes() -> Result<(), ImportError> {
    let answer = AnswerSelection {
        fields: vec!["priority".into()],
        label_prefix: None,
    };
    let imported = imported(Tracker::Freshdesk, "freshdesk-tickets.json", answer)?;
    assert_eq!(imported.records.len(), 3);
    let refund = by_id(&imported, "501");
    assert_eq!(refund["expected"], json!({"priority": "high"}));
    assert_eq!(refund["status"], json!("open"));
    assert_eq!(refund["channel"], json!("email"));
    assert!(
        refund["description"]
            .as_str()
            .is_some_and(|text| !text.contains("<div>"))
    );
    Ok(())
}

#[test]
fn without_an_answer_every_issue_is_kept() -> Result<(), ImportError> {
    let imported = imported(
        Tracker::Zendesk,
        "zendesk-tickets.json",
        AnswerSelection::default(),
    )?;
    assert_eq!(imported.records.len(), 6);
    assert!(
        imported
            .records
            .iter()
            .all(|record| record.get("expected").is_none())
    );
    Ok(())
}

#[test]
fn a_latin1_export_is_located_with_a_hint() {
    let directory = tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"));
    let file = directory.path().join("jira.csv");
    std::fs::write(&file, b"Summary,Issue key\nCaf\xe9 down,AB-1\n")
        .unwrap_or_else(|error| panic!("{error}"));
    let error = import(
        Tracker::Jira,
        &file,
        &AnswerSelection::default(),
        Utc::now(),
    )
    .err();
    let message = error.map(|error| error.to_string()).unwrap_or_default();
    assert!(message.contains("jira.csv:2:4:"), "{message}");
    assert!(message.contains("iconv -f latin1 -t utf-8"), "{message}");
}
