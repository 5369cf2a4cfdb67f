//! One file per failure case under `tests/bad-issues/`, each with a snapshot of its message.

use std::path::{Path, PathBuf};

fn bad_issues_directory() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad-issues")
}

#[test]
fn every_bad_issues_file_fails_with_a_located_message() -> std::io::Result<()> {
    let directory = bad_issues_directory();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&directory)?
        .map(|entry| entry.map(|entry| entry.path()))
        .collect::<Result<_, _>>()?;
    files.sort();
    assert!(
        files.len() >= 10,
        "expected a file per case, found {files:?}"
    );
    let prefix = format!("{}/", directory.display());
    for file in files {
        let name = file
            .file_name()
            .and_then(|name| name.to_str())
            .unwrap_or_default()
            .to_owned();
        let error = match agentpod_issues::load(&file) {
            Ok(issues) => panic!("{name} loaded {} issues but should fail", issues.len()),
            Err(error) => error,
        };
        assert_eq!(error.file(), file.as_path(), "{name}");
        insta::with_settings!({
            filters => vec![(regex_escape(&prefix).as_str(), "[bad-issues]/")],
            prepend_module_to_snapshot => false,
        }, {
            let message = match error.help() {
                Some(help) => format!("{error}\nhelp: {help}"),
                None => error.to_string(),
            };
            insta::assert_snapshot!(name, message);
        });
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

#[test]
fn located_errors_expose_line_and_column() -> Result<(), String> {
    let error = agentpod_issues::load(&bad_issues_directory().join("malformed-json.jsonl"))
        .err()
        .ok_or("malformed file loaded")?;
    assert_eq!(error.line(), Some(4));
    assert_eq!(error.column(), Some(38));
    let error = agentpod_issues::load(&bad_issues_directory().join("duplicate-id.jsonl"))
        .err()
        .ok_or("duplicate ids loaded")?;
    assert!(matches!(
        error,
        agentpod_issues::IssuesError::DuplicateId {
            line: 4,
            first_line: 2,
            ..
        }
    ));
    Ok(())
}
