//! One file per failure case under `tests/bad-fixtures/`, each with a snapshot of its message.

use agentpod_db::{FixtureError, PodDatabase};
use agentpod_spec::Fixture;

use crate::support::{
    LocalPostgres, TestResult, bad_fixtures_directory, csv, fixtures_directory, json_lines, sql,
};

/// Each case: the file, how it is loaded, and the line the error must name.
fn cases() -> Vec<(&'static str, Fixture, usize)> {
    let directory = bad_fixtures_directory();
    vec![
        (
            "syntax-error.sql",
            sql(directory.join("syntax-error.sql")),
            10,
        ),
        (
            "error-in-function-body.sql",
            sql(directory.join("error-in-function-body.sql")),
            8,
        ),
        (
            "runtime-error.sql",
            sql(directory.join("runtime-error.sql")),
            6,
        ),
        (
            "wrong-column-count.csv",
            csv(directory.join("wrong-column-count.csv"), "customers"),
            4,
        ),
        (
            "wrong-type.csv",
            csv(directory.join("wrong-type.csv"), "customers"),
            5,
        ),
        (
            "malformed-line.jsonl",
            json_lines(directory.join("malformed-line.jsonl"), "orders"),
            3,
        ),
        (
            "wrong-type.jsonl",
            json_lines(directory.join("wrong-type.jsonl"), "orders"),
            4,
        ),
        (
            "missing-table.csv",
            csv(directory.join("missing-table.csv"), "no_such_table"),
            1,
        ),
        (
            "missing-table.jsonl",
            json_lines(directory.join("missing-table.jsonl"), "billing.invoices"),
            1,
        ),
    ]
}

#[tokio::test]
async fn each_bad_fixture_fails_at_its_line_with_a_clear_message() -> TestResult {
    let server = LocalPostgres::start().await?;
    let schema = sql(fixtures_directory().join("schema.sql"));
    let cases = cases();
    let mut files: Vec<String> = std::fs::read_dir(bad_fixtures_directory())?
        .map(|entry| entry.map(|entry| entry.file_name().to_string_lossy().into_owned()))
        .collect::<Result<_, _>>()?;
    files.sort();
    let mut covered: Vec<String> = cases
        .iter()
        .map(|(name, _, _)| (*name).to_owned())
        .collect();
    covered.sort();
    assert_eq!(
        files, covered,
        "every file under tests/bad-fixtures has a case"
    );

    let prefix = format!("{}/", bad_fixtures_directory().display());
    for (name, fixture, line) in cases {
        // Each seed starts over with a fresh template on the same server.
        let result = PodDatabase::seed(&server.endpoint, &[schema.clone(), fixture.clone()]).await;
        let error = match result {
            Ok(pod) => {
                pod.close().await;
                panic!("{name} seeded without error");
            }
            Err(error) => error,
        };
        assert!(
            matches!(error, FixtureError::Invalid { .. }),
            "{name}: {error:?}"
        );
        assert_eq!(error.file(), Some(fixture.path.as_path()), "{name}");
        assert_eq!(error.line(), Some(line), "{name}: {error}");
        insta::with_settings!({
            filters => vec![(regex_escape(&prefix).as_str(), "[bad-fixtures]/")],
            prepend_module_to_snapshot => false,
        }, {
            insta::assert_snapshot!(name, error.to_string());
        });
    }
    Ok(())
}

#[tokio::test]
async fn a_missing_fixture_file_is_a_read_error() -> TestResult {
    let server = LocalPostgres::start().await?;
    let missing = bad_fixtures_directory().join("does-not-exist.sql");
    let result = PodDatabase::seed(&server.endpoint, &[sql(missing.clone())]).await;
    match result {
        Err(FixtureError::Read { file, .. }) => assert_eq!(file, missing),
        other => panic!("expected a read error, got {other:?}"),
    }
    Ok(())
}

fn regex_escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        if "\\.+*?()|[]{}^$#&-~".contains(character) {
            escaped.push('\\');
        }
        escaped.push(character);
    }
    escaped
}
