//! Valid specs load, and decode to exactly the expected values.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use agentpod_spec::{AgentSpec, DatabaseSpec, Fixture, FixtureKind, IssuesSpec, PodSpec};

#[test]
fn full_spec_decodes_every_key() {
    let spec = agentpod_spec::load(Path::new("tests/valid/full.yaml")).expect("a valid spec");
    let expected = PodSpec {
        name: "support-triage".to_owned(),
        description: Some("A small support desk; the agent triages tickets.".to_owned()),
        path: PathBuf::from("tests/valid/full.yaml"),
        database: DatabaseSpec {
            image: "postgres:15".to_owned(),
            fixtures: vec![
                Fixture {
                    path: PathBuf::from("tests/fixtures/schema.sql"),
                    kind: FixtureKind::Sql,
                    line: 6,
                },
                Fixture {
                    path: PathBuf::from("tests/fixtures/customers.csv"),
                    kind: FixtureKind::Csv {
                        table: "customers".to_owned(),
                    },
                    line: 7,
                },
                Fixture {
                    path: PathBuf::from("tests/fixtures/tickets.jsonl"),
                    kind: FixtureKind::JsonLines {
                        table: "tickets".to_owned(),
                    },
                    line: 9,
                },
            ],
        },
        agent: AgentSpec {
            command: vec![
                "tests/bin/baseline-agent".to_owned(),
                "--flag".to_owned(),
                "two words".to_owned(),
            ],
            version: "baseline-1".to_owned(),
            timeout: Duration::from_secs(30),
            output_limit: 64 * 1024,
            env: BTreeMap::from([
                ("LOG_LEVEL".to_owned(), "info".to_owned()),
                ("RETRIES".to_owned(), "3".to_owned()),
            ]),
        },
        issues: IssuesSpec {
            source: PathBuf::from("tests/fixtures/issues.jsonl"),
            sample: Some(50),
            seed: 7,
            stratify_by: Some("category".to_owned()),
        },
        pods: 3,
    };
    assert_eq!(spec, expected);
}

#[test]
fn minimal_spec_takes_the_defaults() {
    let spec = agentpod_spec::load(Path::new("tests/valid/minimal.yaml")).expect("a valid spec");
    assert_eq!(spec.name, "minimal");
    assert_eq!(spec.description, None);
    assert!(spec.database.fixtures.is_empty());
    // A string command is split on whitespace; the program keeps a `/` so it is not looked up
    // on `PATH`.
    assert_eq!(spec.agent.command, ["tests/valid/agent", "--verbose"]);
    // `1.0` is kept as written, not read as a number.
    assert_eq!(spec.agent.version, "1.0");
    assert_eq!(spec.agent.timeout, Duration::from_secs(60));
    assert_eq!(spec.agent.output_limit, 1024 * 1024);
    assert!(spec.agent.env.is_empty());
    assert_eq!(
        spec.issues.source,
        PathBuf::from("tests/fixtures/issues.csv")
    );
    assert_eq!(spec.issues.sample, None);
    assert_eq!(spec.issues.seed, 0);
    assert_eq!(spec.issues.stratify_by, None);
    assert_eq!(spec.pods, 1);
}

#[test]
fn absolute_spec_paths_give_absolute_resolved_paths() {
    let spec_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/valid/full.yaml");
    let spec = agentpod_spec::load(&spec_path).expect("a valid spec");
    assert_eq!(spec.path, spec_path);
    assert_eq!(
        spec.issues.source,
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/issues.jsonl")
    );
}

#[test]
fn spec_serializes_for_the_run_store() {
    let spec = agentpod_spec::load(Path::new("tests/valid/full.yaml")).expect("a valid spec");
    let json = serde_json::to_value(&spec).expect("a spec serializes");
    assert_eq!(json["agent"]["timeout"], "30s");
    assert_eq!(json["pods"], 3);
    assert_eq!(
        json["database"]["fixtures"][1],
        serde_json::json!({
            "path": "tests/fixtures/customers.csv",
            "kind": { "format": "csv", "table": "customers" },
            "line": 7
        })
    );
}
