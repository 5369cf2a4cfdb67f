//! Valid specs load, and decode to exactly the expected values.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use agentpod_spec::{
    AccessClass, AgentLimits, AgentSpec, BoundarySpec, ColumnRule, DatabaseSpec, Fixture,
    FixtureKind, IssuesSpec, PodSpec, ProposalResponse, TableRule,
};

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
            image: None,
            version: "baseline-1".to_owned(),
            timeout: Duration::from_secs(30),
            output_limit: 64 * 1024,
            env: BTreeMap::from([
                ("LOG_LEVEL".to_owned(), "info".to_owned()),
                ("RETRIES".to_owned(), "3".to_owned()),
            ]),
            limits: AgentLimits {
                memory_bytes: 512 * 1024 * 1024,
                cpus: 1.0,
                pids: 256,
            },
        },
        issues: IssuesSpec {
            source: PathBuf::from("tests/fixtures/issues.jsonl"),
            sample: Some(50),
            seed: 7,
            stratify_by: Some("category".to_owned()),
        },
        pods: 3,
        boundary: None,
    };
    assert_eq!(spec, expected);
}

#[test]
fn boundary_spec_decodes_every_rule_with_its_position() {
    let spec = agentpod_spec::load(Path::new("tests/valid/boundary.yaml")).expect("a valid spec");
    let table = |table: &str, access, line| TableRule {
        table: table.to_owned(),
        access,
        line,
        column: 5,
    };
    let expected = BoundarySpec {
        default: Some(AccessClass::ReadOnly),
        on_proposal: ProposalResponse::Approve,
        tables: vec![
            table("ticket_notes", AccessClass::Writable, 17),
            table("refunds", AccessClass::Approval, 18),
            table("customers", AccessClass::ReadOnly, 19),
            table("orders", AccessClass::ReadOnly, 20),
            table("staff_permissions", AccessClass::Hidden, 21),
            table("support.tickets", AccessClass::ReadOnly, 22),
        ],
        columns: vec![
            ColumnRule {
                table: "support.tickets".to_owned(),
                column: "status".to_owned(),
                access: AccessClass::Writable,
                line: 24,
                column_number: 5,
            },
            ColumnRule {
                table: "customers".to_owned(),
                column: "email".to_owned(),
                access: AccessClass::Hidden,
                line: 25,
                column_number: 5,
            },
        ],
        line: 13,
        column: 1,
    };
    assert_eq!(spec.boundary, Some(expected));
}

#[test]
fn image_agent_keeps_its_command_as_written_and_takes_its_limits() {
    let spec = agentpod_spec::load(Path::new("tests/valid/boundary.yaml")).expect("a valid spec");
    assert_eq!(
        spec.agent.image.as_deref(),
        Some("agentpod/baseline-agent:local")
    );
    // The program is a path inside the image, so it is not resolved against the spec directory.
    assert_eq!(spec.agent.command, ["./agent", "--model", "stand-in"]);
    assert_eq!(spec.agent.version, "baseline-2");
    assert_eq!(
        spec.agent.limits,
        AgentLimits {
            memory_bytes: 256 * 1024 * 1024,
            cpus: 0.5,
            pids: 64,
        }
    );
}

#[test]
fn boundary_serializes_with_snake_case_classes() {
    let spec = agentpod_spec::load(Path::new("tests/valid/boundary.yaml")).expect("a valid spec");
    let json = serde_json::to_value(&spec).expect("a spec serializes");
    assert_eq!(json["boundary"]["default"], "read_only");
    assert_eq!(json["boundary"]["on_proposal"], "approve");
    assert_eq!(
        json["boundary"]["tables"][4],
        serde_json::json!({
            "table": "staff_permissions",
            "access": "hidden",
            "line": 21,
            "column": 5
        })
    );
    assert_eq!(json["agent"]["limits"]["memory_bytes"], 256 * 1024 * 1024);
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
    assert_eq!(spec.boundary, None);
    assert_eq!(spec.agent.image, None);
    assert_eq!(spec.agent.limits, AgentLimits::default());
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

#[test]
fn image_agent_without_command_keeps_the_image_command_and_default_limits() {
    let spec =
        agentpod_spec::load(Path::new("tests/valid/image_agent.yaml")).expect("a valid spec");
    assert_eq!(
        spec.agent.image.as_deref(),
        Some("agentpod/baseline-agent:local")
    );
    assert!(spec.agent.command.is_empty());
    assert_eq!(
        spec.agent.limits,
        AgentLimits {
            memory_bytes: 512 * 1024 * 1024,
            cpus: 1.0,
            pids: 256,
        }
    );
    assert_eq!(spec.boundary, None);
}
