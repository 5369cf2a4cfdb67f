//! Valid specs load, and decode to exactly the expected values.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use agentpod_spec::{
    AccessClass, AgentIsolation, AgentLimits, AgentSpec, BoundarySpec, BudgetsSpec, CategoryMix,
    ColumnRule, CurrentHandling, DatabaseSpec, ExtraToolCalls, FieldMatcher, Fixture, FixtureKind,
    GateSpec, GoldActionErrors, GradingSpec, IssuesSpec, ModelSpec, ModelUpstream, PodSpec,
    ProductionBudgets, ProductionSpec, ProposalResponse, RetriesSpec, SqlAssertion,
    StandInRuleSpec, StandInSpec, TableRule, TemplatePart, ToolCallOrder, ToolCallsSpec,
    ToolServerKind, ToolServerSpec, ToolsSpec, UpstreamLimitsSpec,
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
            isolation: AgentIsolation::Sandbox,
            read_only: Vec::new(),
        },
        issues: IssuesSpec {
            source: PathBuf::from("tests/fixtures/issues.jsonl"),
            id: None,
            expected: Vec::new(),
            fields: None,
            sample: Some(50),
            seed: 7,
            stratify_by: Some("category".to_owned()),
            trials: 2,
        },
        pods: 3,
        boundary: None,
        model: None,
        budgets: BudgetsSpec::default(),
        tools: ToolsSpec::default(),
        grading: GradingSpec::default(),
        judge: None,
        customer: agentpod_spec::CustomerSpec::default(),
        production: None,
        gate: GateSpec::default(),
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
    assert_eq!(spec.issues.trials, 1, "one trial unless asked");
    assert_eq!(spec.pods, 1);
    assert_eq!(spec.boundary, None);
    assert_eq!(spec.agent.image, None);
    assert_eq!(spec.agent.limits, AgentLimits::default());
    assert_eq!(spec.model, None);
    assert_eq!(spec.budgets, BudgetsSpec::default());
    assert_eq!(spec.budgets.max_cost_usd, None);
    assert_eq!(spec.tools, ToolsSpec::default());
    assert_eq!(spec.grading, GradingSpec::default());
    assert!(spec.grading.no_violations && spec.grading.budgets);
    assert!(!spec.grading.gold_actions);
    assert_eq!(spec.grading.gold_action_errors, GoldActionErrors::Skip);
    assert_eq!(
        spec.grading.tool_calls,
        ToolCallsSpec {
            order: ToolCallOrder::InOrder,
            extra_calls: ExtraToolCalls::Allow,
        }
    );
    assert_eq!(spec.production, None);
    assert_eq!(spec.gate, GateSpec::default());
    assert_eq!(spec.gate.min_pass_rate, None);
}

#[test]
fn grading_production_and_gate_decode_every_key() {
    let spec = agentpod_spec::load(Path::new("tests/valid/grading.yaml")).expect("a valid spec");
    let grading = &spec.grading;
    assert_eq!(
        grading.fields,
        BTreeMap::from([
            ("amount".to_owned(), FieldMatcher::Within(0.01)),
            ("category".to_owned(), FieldMatcher::Equal),
            ("count".to_owned(), FieldMatcher::Within(0.0)),
            (
                "note".to_owned(),
                FieldMatcher::Regex("refund|charge".to_owned())
            ),
            (
                "priority".to_owned(),
                FieldMatcher::OneOf(vec![serde_json::json!("high"), serde_json::json!("urgent")])
            ),
        ])
    );
    assert_eq!(
        grading.sql,
        [
            SqlAssertion {
                name: "note written".to_owned(),
                query: "SELECT count(*) > 0 FROM ticket_notes WHERE ticket_id = {{ticket_id}}"
                    .to_owned(),
                line: 17,
            },
            SqlAssertion {
                name: "status matches".to_owned(),
                query: "SELECT status = {{ expected.status }}\nFROM tickets WHERE id = {{id}} AND tags = '{{1,2}}'\n"
                    .to_owned(),
                line: 19,
            },
        ]
    );
    assert_eq!(
        grading.sql[1].template_parts(),
        Ok(vec![
            TemplatePart::Text("SELECT status = "),
            TemplatePart::Field("expected.status"),
            TemplatePart::Text("\nFROM tickets WHERE id = "),
            TemplatePart::Field("id"),
            TemplatePart::Text(" AND tags = '{{1,2}}'\n"),
        ])
    );
    assert!(grading.gold_actions);
    assert_eq!(grading.gold_action_errors, GoldActionErrors::Fail);
    assert_eq!(
        grading.tool_calls,
        ToolCallsSpec {
            order: ToolCallOrder::AnyOrder,
            extra_calls: ExtraToolCalls::Forbid,
        }
    );
    assert_eq!(
        grading.ignore_columns,
        ["ticket_notes.created_at", "billing.invoices.issued_at"]
    );
    assert!(!grading.no_violations);
    assert!(grading.budgets);

    assert_eq!(
        spec.production,
        Some(ProductionSpec {
            issues_per_month: 12000.0,
            by_category: Some(CategoryMix {
                field: "expected.category".to_owned(),
                shares: BTreeMap::from([
                    ("account".to_owned(), 0.1),
                    ("billing".to_owned(), 0.3),
                    ("bug".to_owned(), 0.1),
                    ("refund".to_owned(), 0.2),
                    ("shipping".to_owned(), 0.3),
                ]),
            }),
            current: Some(CurrentHandling {
                cost_usd_per_issue: Some(2.5),
                minutes_per_issue: Some(6.0),
            }),
            budgets: ProductionBudgets {
                monthly_cost_usd: Some(500.0),
                p95_cost_usd_per_issue: Some(0.1),
                p95_seconds_per_issue: Some(60.0),
            },
        })
    );
    assert_eq!(
        spec.gate,
        GateSpec {
            min_pass_rate: Some(0.6),
            max_regressions: Some(3),
            max_monthly_cost_usd: Some(500.0),
            max_p95_cost_usd: Some(0.1),
            max_p95_seconds: Some(60.0),
            max_violations: Some(0),
        }
    );
}

#[test]
fn grading_sections_serialize_as_written() {
    let spec = agentpod_spec::load(Path::new("tests/valid/grading.yaml")).expect("a valid spec");
    let json = serde_json::to_value(&spec).expect("a spec serializes");
    assert_eq!(
        json["grading"]["fields"]["priority"],
        serde_json::json!({"one_of": ["high", "urgent"]})
    );
    assert_eq!(
        json["grading"]["fields"]["category"],
        serde_json::json!("equal")
    );
    assert_eq!(
        json["production"]["budgets"]["monthly_cost_usd"],
        serde_json::json!(500.0)
    );
    assert_eq!(json["gate"]["max_violations"], serde_json::json!(0));
    assert_eq!(
        json["grading"]["gold_action_errors"],
        serde_json::json!("fail")
    );
}

#[test]
fn gateway_sections_decode_every_key() {
    let spec = agentpod_spec::load(Path::new("tests/valid/gateways.yaml")).expect("a valid spec");
    let model = spec.model.expect("the spec names a model");
    assert_eq!(model.upstream, ModelUpstream::StandIn);
    assert_eq!(model.base_url, None);
    assert_eq!(model.api_key_env, None);
    assert_eq!(model.api_key_env(), None, "the stand-in needs no key");
    assert_eq!(
        model.cassettes,
        Some(PathBuf::from("tests/fixtures/cassettes"))
    );
    assert_eq!(
        model.prices,
        Some(PathBuf::from("tests/fixtures/prices.yaml"))
    );
    // The price table is read and checked with the spec.
    assert_eq!(model.price_table.len(), 1);
    assert_eq!(model.price_table[0].model, "gpt-4.1-mini");
    assert_eq!(
        (model.price_table[0].input, model.price_table[0].output),
        (0.40, 1.60)
    );
    assert_eq!(model.timeout, Duration::from_secs(90));
    assert_eq!(
        model.stand_in,
        StandInSpec {
            rules: vec![
                StandInRuleSpec {
                    when: vec!["refund".to_owned(), "money back".to_owned()],
                    tool: Some("query".to_owned()),
                    arguments: serde_json::json!({
                        "sql": "SELECT 1",
                        "limit": 5,
                        "nested": {"dry_run": true, "tags": ["a", 2]}
                    }),
                    reply: None,
                },
                StandInRuleSpec {
                    when: vec!["hello".to_owned()],
                    tool: None,
                    arguments: serde_json::Value::Null,
                    reply: Some("Hi, this is the stand-in.".to_owned()),
                },
                StandInRuleSpec {
                    when: vec!["password".to_owned()],
                    tool: Some("list_tables".to_owned()),
                    arguments: serde_json::json!({}),
                    reply: None,
                },
            ],
        }
    );
    assert_eq!(
        spec.budgets,
        BudgetsSpec {
            max_cost_usd: Some(0.50),
            max_llm_calls: Some(20),
            max_tokens: Some(200_000),
            max_tool_calls: Some(30),
            max_run_cost_usd: None,
        }
    );
    assert_eq!(
        spec.tools,
        ToolsSpec {
            sql_functions_schema: Some("agent_tools".to_owned()),
            servers: vec![
                ToolServerSpec {
                    name: "files".to_owned(),
                    kind: ToolServerKind::Command(vec![
                        "python3".to_owned(),
                        // A path-like argument naming a file next to the spec is resolved
                        // against the spec's directory, as the program is.
                        "tests/tools/files_server.py".to_owned(),
                    ]),
                },
                ToolServerSpec {
                    name: "local-files".to_owned(),
                    // Options stay as written; a relative path that exists is resolved.
                    kind: ToolServerKind::Command(vec![
                        "tests/tools/files_server".to_owned(),
                        "--root".to_owned(),
                        "tests/fixtures".to_owned(),
                    ]),
                },
                ToolServerSpec {
                    name: "search".to_owned(),
                    kind: ToolServerKind::Url("http://127.0.0.1:9000/mcp".to_owned()),
                },
            ],
        }
    );
}

#[test]
fn real_upstreams_take_their_key_variable() {
    let spec =
        agentpod_spec::load(Path::new("tests/valid/openai_compatible.yaml")).expect("a valid spec");
    let model = spec.model.expect("the spec names a model");
    assert_eq!(model.upstream, ModelUpstream::OpenAiCompatible);
    assert_eq!(model.base_url.as_deref(), Some("http://127.0.0.1:8000/v1"));
    assert_eq!(model.api_key_env(), Some("LOCAL_MODEL_KEY"));
    assert_eq!(model.timeout, Duration::from_secs(60));
    assert_eq!(model.stand_in, StandInSpec::default());
    assert_eq!(spec.budgets.max_cost_usd, Some(2.0));
    assert_eq!(spec.budgets.max_llm_calls, None);
    assert_eq!(spec.budgets.max_run_cost_usd, Some(25.0));
    assert_eq!(
        model.limits,
        UpstreamLimitsSpec {
            requests_per_minute: Some(500),
            tokens_per_minute: Some(200_000),
            concurrent_calls: Some(16),
            max_queued_calls: None,
        }
    );
    assert_eq!(
        model.retries,
        RetriesSpec {
            max_retries: 5,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(60),
        }
    );

    let defaults = |upstream| ModelSpec {
        upstream,
        base_url: None,
        api_key_env: None,
        cassettes: None,
        prices: None,
        price_table: Vec::new(),
        timeout: Duration::from_secs(60),
        stand_in: StandInSpec::default(),
        allow_provider_features: Vec::new(),
        limits: UpstreamLimitsSpec::default(),
        retries: RetriesSpec::default(),
    };
    assert_eq!(
        defaults(ModelUpstream::OpenAi).api_key_env(),
        Some("OPENAI_API_KEY")
    );
    assert_eq!(
        defaults(ModelUpstream::Anthropic).api_key_env(),
        Some("ANTHROPIC_API_KEY")
    );
    assert_eq!(defaults(ModelUpstream::Replay).api_key_env(), None);
}

#[test]
fn replay_reads_an_existing_cassette_directory() {
    let spec = agentpod_spec::load(Path::new("tests/valid/replay.yaml")).expect("a valid spec");
    let model = spec.model.expect("the spec names a model");
    assert_eq!(model.upstream, ModelUpstream::Replay);
    assert_eq!(
        model.cassettes,
        Some(PathBuf::from("tests/fixtures/cassettes"))
    );
}

#[test]
fn gateway_sections_serialize_as_written() {
    let spec = agentpod_spec::load(Path::new("tests/valid/gateways.yaml")).expect("a valid spec");
    let json = serde_json::to_value(&spec).expect("a spec serializes");
    assert_eq!(json["model"]["upstream"], "stand-in");
    assert_eq!(json["model"]["timeout"], "90s");
    assert_eq!(json["budgets"]["max_tokens"], 200_000);
    assert_eq!(
        json["tools"]["servers"][2],
        serde_json::json!({"name": "search", "kind": {"url": "http://127.0.0.1:9000/mcp"}})
    );
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

#[test]
fn issue_mappings_name_the_id_the_answer_and_the_agent_fields() {
    let spec =
        agentpod_spec::load(Path::new("tests/valid/issue_mapping.yaml")).expect("a valid spec");
    assert_eq!(spec.issues.id, Some(agentpod_spec::IssueIdSource::Row));
    assert_eq!(spec.issues.expected, ["Priority"]);
    assert_eq!(
        spec.issues.fields,
        Some(vec!["Summary".to_owned(), "Description".to_owned()])
    );
    assert_eq!(spec.issues.sample, None, "`sample: all` runs every issue");
}
