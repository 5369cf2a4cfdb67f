//! One invalid spec per failure case, each with a snapshot of its rendered error.

use std::path::{Path, PathBuf};

/// The spec path as a user in the crate directory would type it, so snapshots do not depend on
/// where the repository is checked out.
fn relative_to_crate(path: &Path) -> PathBuf {
    path.strip_prefix(env!("CARGO_MANIFEST_DIR"))
        .map(Path::to_path_buf)
        .unwrap_or_else(|_| path.to_path_buf())
}

#[test]
fn rendered_error() {
    insta::glob!("..", "invalid/*.yaml", |path| {
        let spec_path = relative_to_crate(path);
        let error = agentpod_spec::load(&spec_path).expect_err("an invalid spec must not load");
        assert!(!error.diagnostics.is_empty());
        for diagnostic in &error.diagnostics {
            // The spec as given, or a file it names (a price table) as the spec resolves it.
            assert!(
                diagnostic.file == spec_path
                    || (diagnostic.file.is_relative() && diagnostic.file.starts_with("tests")),
                "diagnostics name the spec as given: {}",
                diagnostic.file.display()
            );
        }
        insta::assert_snapshot!(error.to_string());
    });
}

#[test]
fn several_problems_are_all_reported_in_document_order() {
    let error = agentpod_spec::load(Path::new("tests/invalid/several_problems.yaml"))
        .expect_err("an invalid spec must not load");
    let lines: Vec<usize> = error
        .diagnostics
        .iter()
        .map(|diagnostic| diagnostic.line)
        .collect();
    assert!(lines.len() >= 8, "expected every problem, got {lines:?}");
    assert!(lines.is_sorted(), "expected document order, got {lines:?}");
}

#[test]
fn an_unreadable_spec_is_one_diagnostic_without_position() {
    let error = agentpod_spec::load(Path::new("tests/invalid/does-not-exist.yaml"))
        .expect_err("a missing spec must not load");
    let [diagnostic] = error.diagnostics.as_slice() else {
        panic!("expected one diagnostic, got {:?}", error.diagnostics);
    };
    assert_eq!(diagnostic.line, 0);
    assert!(
        diagnostic.message.starts_with("cannot read pod spec: "),
        "{}",
        diagnostic.message
    );
    assert_eq!(
        diagnostic.render().lines().nth(1),
        Some("--> tests/invalid/does-not-exist.yaml")
    );
}
