//! A small tool-based benchmark end to end, graded by gold actions as a tool-based benchmark
//! (tau-bench) grades: a shop (tests/pods/shop) whose customers and orders the agent may only
//! read, three write tools as `SECURITY DEFINER` SQL functions that refuse what the shop's policy
//! forbids (one writes before it refuses), a read tool, and twelve tasks whose gold actions are
//! tool calls, one of which fails on purpose. Four scripted agents on the official `mcp` SDK —
//! gold, perturbed, reordered, and one that first makes a call the policy refuses — each do every
//! task in one run.
//!
//! Every outcome must be the verdict the benchmark's own rule gives, computed here without
//! agentpod: on a plain Postgres, the gold actions and the calls the agent reports it made are
//! replayed in one transaction each, every call under a savepoint (a failing call is rolled back
//! to it and the replay goes on), and the final tables are compared. The run also shows that
//! changes made through the tool functions are on record though every table they change is
//! read-only to the agent, and holds the gold agents (and one reordered agent) to their expected
//! tool calls.

use std::collections::BTreeMap;

use agentpod_end_to_end::{Scratch, repo_root};
use agentpod_test_postgres::LocalPostgres;
use serde_json::{Value, json};
use sqlx::{AssertSqlSafe, Connection, PgConnection};

const MODES: [&str; 4] = ["gold", "perturbed", "reordered", "inserted_failure"];
const TABLES: [&str; 4] = ["customers", "orders", "refunds", "notes"];
const WRITES: [&str; 4] = ["cancel_order", "return_order", "update_address", "execute"];

#[test]
fn every_agent_gets_the_verdict_of_the_benchmarks_rule() {
    let scratch = Scratch::new();
    let tasks = read_tasks();
    assert_eq!(tasks.len(), 12);
    let mut issues = String::new();
    for mode in MODES {
        for task in &tasks {
            let mut issue = task.clone();
            issue["id"] = json!(format!("{}-{mode}", task["id"].as_str().unwrap()));
            issue["mode"] = json!(mode);
            // The tool-call grader beside the state: the gold agents' writes are the expected
            // calls, in order; one reordered agent is held to them too (its state differs as
            // well, so the benchmark's verdict stands).
            if mode == "gold" || issue["id"] == "t09-reordered" {
                issue["expected_tool_calls"] = json!(
                    task["steps"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .filter(|step| WRITES.contains(&step["tool"].as_str().unwrap()))
                        .collect::<Vec<_>>()
                );
            }
            issues.push_str(&format!("{issue}\n"));
        }
    }
    std::fs::write(scratch.path().join("issues.jsonl"), issues).unwrap();
    let root = repo_root();
    // The `mcp` SDK is in the repository's .venv (scripts/setup makes it from the system's
    // Python). The sandbox shows its real path (where a worktree's link to it leads), and the
    // agent's Python is started by that path so that it finds its environment.
    let venv = std::fs::canonicalize(root.join(".venv")).expect("scripts/setup made .venv");
    let spec = scratch.path().join("tool-benchmark.yaml");
    std::fs::write(
        &spec,
        format!(
            "name: tool-benchmark\n\
             database:\n  image: postgres:15\n  fixtures:\n    - sql: {root}/tests/pods/shop/schema.sql\n\
             boundary:\n  default: read_only\n  tables:\n    notes: writable\n\
             tools:\n  sql_functions_schema: shop_tools\n\
             agent:\n  command: [\"{root}/tests/pods/agents/shop-agent\"]\n  \
             env: {{ SHOP_AGENT_PYTHON: {venv}/bin/python }}\n  read_only: [{venv}]\n  version: shop-1\n  timeout: 60s\n\
             issues:\n  source: issues.jsonl\n\
             pods: 2\n\
             grading:\n  gold_actions: true\n",
            root = root.display(),
            venv = venv.display(),
        ),
    )
    .unwrap();
    let output = scratch.run(&[
        "run",
        spec.to_str().unwrap(),
        "--runtime",
        "local",
        "--no-progress",
    ]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "failed issues are results, not errors: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let shown = scratch.show("latest");
    let outcomes = scratch.outcomes_by_issue("latest");
    assert_eq!(outcomes.len(), 48, "{:?}", outcomes.keys());

    // The benchmark's verdicts, from the agents' own account of their calls.
    let trajectories: BTreeMap<String, Vec<Value>> = outcomes
        .iter()
        .map(|(id, outcome)| {
            let calls = outcome["output"]["calls"].as_array().unwrap_or_else(|| {
                panic!(
                    "{id} answered with its calls: {} {}",
                    outcome["reason"], outcome["stderr"]
                )
            });
            (id.clone(), calls.clone())
        })
        .collect();
    let verdicts = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(benchmark_verdicts(&tasks, &trajectories));

    for (id, outcome) in &outcomes {
        let passed = match outcome["status"].as_str() {
            Some("passed") => true,
            Some("failed") => false,
            _ => panic!("{id} ran to a verdict: {outcome}"),
        };
        assert_eq!(
            passed, verdicts[id],
            "{id}: agentpod says {}, the benchmark's rule says {}: {}",
            outcome["status"], verdicts[id], outcome["reason"]
        );
    }
    // The agents differ as they should, so the comparison above can tell verdicts apart: the
    // rule passes every gold trajectory, and every trajectory whose only extra is a refused
    // call (errors are observations); it fails some perturbed and some reordered ones.
    let verdicts_of = |mode: &str| -> Vec<bool> {
        tasks
            .iter()
            .map(|task| verdicts[&format!("{}-{mode}", task["id"].as_str().unwrap())])
            .collect()
    };
    assert!(verdicts_of("gold").iter().all(|passed| *passed));
    assert!(verdicts_of("inserted_failure").iter().all(|passed| *passed));
    for mode in ["perturbed", "reordered"] {
        let verdicts = verdicts_of(mode);
        assert!(
            verdicts.contains(&true) && verdicts.contains(&false),
            "{mode}: {verdicts:?}"
        );
    }
    // The tools work: a gold agent's calls all succeed but the one that fails on purpose.
    let refused: Vec<(String, usize)> = tasks
        .iter()
        .flat_map(|task| {
            let id = format!("{}-gold", task["id"].as_str().unwrap());
            trajectories[&id]
                .iter()
                .enumerate()
                .filter(|(_, call)| call["error"] != json!(false))
                .map(move |(index, _)| (id.clone(), index))
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(refused, [("t07-gold".to_owned(), 0)], "{trajectories:?}");
    for task in &tasks {
        let id = format!("{}-inserted_failure", task["id"].as_str().unwrap());
        assert_eq!(
            trajectories[&id][0]["error"],
            json!(true),
            "{id}: the inserted call was refused"
        );
    }

    // The gold action that fails on purpose is an observation, named in the check.
    let gold_check = outcomes["t07-gold"]["grade"]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|check| check["name"] == "gold state")
        .cloned()
        .expect("a gold state check");
    assert_eq!(gold_check["passed"], json!(true), "{gold_check}");
    assert_eq!(
        gold_check["expected"],
        json!(
            "the state the gold actions reach (gold action 1 (return_order) failed and changed \
             nothing: order O7 is over 500: a return needs a human (SQLSTATE P0001))"
        )
    );

    // The expected tool calls were checked: made by every gold agent, out of order by one.
    let tool_calls_check = |issue: &str| -> Value {
        outcomes[issue]["grade"]["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|check| check["name"] == "tool calls")
            .cloned()
            .unwrap_or_else(|| panic!("{issue} has a tool calls check: {}", outcomes[issue]))
    };
    for task in &tasks {
        let check = tool_calls_check(&format!("{}-gold", task["id"].as_str().unwrap()));
        assert_eq!(check["passed"], json!(true), "{check}");
    }
    let reordered = tool_calls_check("t09-reordered");
    assert_eq!(
        reordered["actual"],
        json!("expected call 2 update_address was made out of order (call 1)")
    );

    // Changes made through the tool functions are on record, table by table, though the agent
    // may write none of those tables itself; nothing the agents did was a violation.
    let events = shown["boundary_events"]
        .as_array()
        .expect("boundary events");
    let changed_tables = |issue: &str| -> Vec<String> {
        let mut tables: Vec<String> = events
            .iter()
            .filter(|event| event["issue_id"] == issue && event["kind"] == "change")
            .map(|event| event["detail"]["table"].as_str().unwrap().to_owned())
            .collect();
        tables.sort();
        tables
    };
    assert_eq!(
        changed_tables("t01-gold"),
        ["customers", "orders", "refunds"],
        "{events:?}"
    );
    assert_eq!(
        changed_tables("t08-gold"),
        ["customers", "notes", "orders", "refunds"]
    );
    assert!(changed_tables("t06-gold").is_empty());
    assert!(
        !events.iter().any(|event| event["kind"] == "violation"),
        "{events:?}"
    );
}

fn read_tasks() -> Vec<Value> {
    std::fs::read_to_string(repo_root().join("tests/pods/shop/tasks.jsonl"))
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

/// Issue id → whether the benchmark's rule passes it: the state after the agent's calls equals
/// the state after the task's gold actions.
async fn benchmark_verdicts(
    tasks: &[Value],
    trajectories: &BTreeMap<String, Vec<Value>>,
) -> BTreeMap<String, bool> {
    let server = LocalPostgres::start().await.expect("a plain Postgres");
    let mut admin = server.admin("postgres").await.unwrap();
    for statement in ["CREATE DATABASE shop", "CREATE ROLE bench_agent"] {
        sqlx::raw_sql(statement).execute(&mut admin).await.unwrap();
    }
    let schema = std::fs::read_to_string(repo_root().join("tests/pods/shop/schema.sql")).unwrap();
    let mut shop = server.admin("shop").await.unwrap();
    sqlx::raw_sql(AssertSqlSafe(format!(
        "{schema};
         GRANT USAGE ON SCHEMA shop_tools TO bench_agent;
         GRANT SELECT ON ALL TABLES IN SCHEMA public TO bench_agent;
         GRANT INSERT ON notes TO bench_agent"
    )))
    .execute(&mut shop)
    .await
    .unwrap();
    shop.close().await.unwrap();

    let mut replays = Replays {
        server: &server,
        admin,
        count: 0,
    };
    let mut gold_states = BTreeMap::new();
    for task in tasks {
        let id = task["id"].as_str().unwrap().to_owned();
        let gold = replays
            .state_after(task["gold_actions"].as_array().unwrap())
            .await;
        gold_states.insert(id, gold);
    }
    let mut verdicts = BTreeMap::new();
    for (issue, calls) in trajectories {
        let task = issue.split('-').next().unwrap();
        let state = replays.state_after(calls).await;
        verdicts.insert(issue.clone(), state == gold_states[task]);
    }
    verdicts
}

/// Fresh copies of the shop, one per replay.
struct Replays<'a> {
    server: &'a LocalPostgres,
    admin: PgConnection,
    count: usize,
}

impl Replays<'_> {
    /// The shop's tables after `calls`, on a fresh copy of it.
    async fn state_after(&mut self, calls: &[Value]) -> Vec<String> {
        self.count += 1;
        let name = format!("replay_{}", self.count);
        sqlx::raw_sql(AssertSqlSafe(format!(
            "CREATE DATABASE {name} TEMPLATE shop"
        )))
        .execute(&mut self.admin)
        .await
        .unwrap();
        let mut database = self.server.admin(&name).await.unwrap();
        replay(&mut database, calls).await;
        let state = tables(&mut database).await;
        database.close().await.unwrap();
        state
    }
}

/// The calls in order in one transaction as the benchmark's agent role, each under a savepoint:
/// a call that fails is rolled back to it, and the next call goes on.
async fn replay(database: &mut PgConnection, calls: &[Value]) {
    let mut transaction = database.begin().await.unwrap();
    sqlx::raw_sql("SET LOCAL ROLE bench_agent")
        .execute(&mut *transaction)
        .await
        .unwrap();
    for call in calls {
        sqlx::raw_sql("SAVEPOINT tool_call")
            .execute(&mut *transaction)
            .await
            .unwrap();
        let end = match run_call(&mut transaction, call).await {
            Ok(()) => "RELEASE SAVEPOINT tool_call",
            Err(_) => "ROLLBACK TO SAVEPOINT tool_call",
        };
        sqlx::raw_sql(end).execute(&mut *transaction).await.unwrap();
    }
    transaction.commit().await.unwrap();
}

/// One tool call as the shop's tools define it: `execute` and `query` run their SQL, a shop
/// tool is its function called with named text arguments.
async fn run_call(database: &mut PgConnection, call: &Value) -> Result<(), sqlx::Error> {
    let tool = call["tool"].as_str().unwrap();
    let arguments = call["arguments"].as_object().cloned().unwrap_or_default();
    match tool {
        "execute" | "query" => {
            let sql = arguments["sql"].as_str().unwrap().to_owned();
            sqlx::raw_sql(AssertSqlSafe(sql)).execute(database).await?;
        }
        "list_tables" => {}
        function => {
            let named: Vec<String> = arguments
                .keys()
                .enumerate()
                .map(|(index, name)| format!("{name} => ${}::text", index + 1))
                .collect();
            let sql = format!("SELECT shop_tools.{function}({})", named.join(", "));
            let mut query = sqlx::query(AssertSqlSafe(sql));
            for value in arguments.values() {
                query = query.bind(value.as_str().unwrap().to_owned());
            }
            query.execute(database).await?;
        }
    }
    Ok(())
}

/// Every table's rows as JSON, in a fixed order.
async fn tables(database: &mut PgConnection) -> Vec<String> {
    let mut state = Vec::new();
    for table in TABLES {
        let rows: String = sqlx::query_scalar(AssertSqlSafe(format!(
            "SELECT coalesce(jsonb_agg(to_jsonb(t) ORDER BY to_jsonb(t)::text), '[]')::text \
             FROM {table} AS t"
        )))
        .fetch_one(&mut *database)
        .await
        .unwrap();
        state.push(format!("{table}: {rows}"));
    }
    state
}
