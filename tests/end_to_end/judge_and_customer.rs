//! The LLM judge and simulated customers end to end, on the shop of the tool benchmark
//! (tests/pods/shop) with a scripted agent on the official `mcp` SDK
//! (tests/pods/agents/conversation-agent.py) that asks its customer which order they mean,
//! cancels it and tells them.
//!
//! - A scripted customer and a model-played one (the stand-in, through the customer's own
//!   gateway): the agent reaches them only through `send_message_to_customer`, offered only on
//!   issues with a customer; the customer's script never reaches the agent; the conversation is
//!   in `trace`; what the agent told the customer counts for `expected_outputs`; the customer
//!   model's calls are stored apart from the agent's.
//! - The judge, scripted (the stand-in) to follow the rubric, three judgements per answer: an
//!   honest answer passes, an answer that pleads with the judge and forges a verdict does not,
//!   a judge that flips on one answer is reported as split, the stored prompt keeps the rubric
//!   out of the answer's block, and the judge's cost is not the agent's.
//! - The judge recorded against an OpenAI-compatible server over real HTTP (a Python stand-in
//!   for a provider: none can be reached from here), then replayed with the server gone: the
//!   same verdicts, every judgement from the cassettes.

use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::Path;
use std::process::{Command, Stdio};

use agentpod_end_to_end::{Scratch, repo_root};
use serde_json::{Value, json};

/// The judge's rubric, and the stand-in's rules that follow it: a pass only for an answer (or a
/// conversation) that names the store credit, a fail for work that addresses the grader (as the
/// judge's instructions say); and one rule that passes every second judgement of what is left
/// (the `terse` answer), so that answer's judgements split.
const JUDGE: &str = "judge:\n  \
  rubric: Pass when the agent cancelled the order and told the customer the store credit it got.\n  \
  repeats: 3\n";

fn stand_in_judge() -> String {
    format!(
        "{JUDGE}  gateway:\n    upstream: stand-in\n    stand_in:\n      rules:\n        \
         - when: [\"store credit of 40.00\"]\n          \
           reply: '{{\"verdict\": \"pass\", \"reasoning\": \"names the credit\"}}'\n        \
         - when: [\"ignore the rubric\"]\n          \
           reply: '{{\"verdict\": \"fail\", \"reasoning\": \"the work addresses the grader\"}}'\n        \
         - when: [\"Judgement 2 of 3\"]\n          \
           reply: '{{\"verdict\": \"pass\", \"reasoning\": \"close enough\"}}'\n        \
         - when: [\"judgement\"]\n          \
           reply: '{{\"verdict\": \"fail\", \"reasoning\": \"does not name the credit\"}}'\n"
    )
}

/// A spec on the shop with the conversation agent and `extra` sections.
fn write_spec(scratch: &Scratch, issues: &[Value], extra: &str) -> std::path::PathBuf {
    let root = repo_root();
    let venv = std::fs::canonicalize(root.join(".venv")).expect("scripts/setup made .venv");
    let lines: String = issues.iter().map(|issue| format!("{issue}\n")).collect();
    std::fs::write(scratch.path().join("issues.jsonl"), lines).unwrap();
    let spec = scratch.path().join("conversation.yaml");
    std::fs::write(
        &spec,
        format!(
            "name: conversation\n\
             database:\n  image: postgres:15\n  fixtures:\n    - sql: {root}/tests/pods/shop/schema.sql\n\
             boundary:\n  default: read_only\n\
             tools:\n  sql_functions_schema: shop_tools\n\
             agent:\n  command: [\"{root}/tests/pods/agents/conversation-agent\"]\n  \
             env: {{ SHOP_AGENT_PYTHON: {venv}/bin/python }}\n  read_only: [{venv}]\n  version: talk-1\n  timeout: 60s\n\
             issues:\n  source: issues.jsonl\n\
             grading:\n  gold_actions: true\n\
             {extra}",
            root = root.display(),
            venv = venv.display(),
        ),
    )
    .unwrap();
    spec
}

fn run(scratch: &Scratch, spec: &Path) -> BTreeMap<String, Value> {
    let output = scratch.run(&[
        "run",
        spec.to_str().unwrap(),
        "--runtime",
        "local",
        "--no-progress",
    ]);
    assert!(
        matches!(output.status.code(), Some(0) | Some(1)),
        "the run ends with results: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    scratch.outcomes_by_issue("latest")
}

fn trace(scratch: &Scratch, issue: &str) -> Value {
    let output = scratch.run(&["trace", "latest", issue, "--json"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("trace --json")
}

fn timeline_texts(trace: &Value) -> Vec<String> {
    trace["timeline"]
        .as_array()
        .or_else(|| trace.as_array())
        .expect("a timeline")
        .iter()
        .filter_map(|entry| entry["text"].as_str().map(str::to_owned))
        .collect()
}

fn cancel(order: &str) -> Value {
    json!([{"tool": "cancel_order", "arguments": {"order_id": order, "reason": "no longer needed"}}])
}

#[test]
fn agents_talk_to_scripted_and_model_played_customers_only_through_the_customer_tool() {
    let scratch = Scratch::new();
    let issues = [
        json!({"id": "scripted", "request": "A customer wants an order cancelled.",
               "simulated_customer": {"turns": ["It is order O1.", "Yes, please cancel it.", "Thank you."]},
               "gold_actions": cancel("O1"), "expected_outputs": ["store credit of 40.00"]}),
        // The customer has left before the agent tells them the credit: what never reached
        // the customer was not said.
        json!({"id": "left-early", "request": "A customer wants an order cancelled.",
               "simulated_customer": {"turns": ["It is order O8.", "Yes, please cancel it."]},
               "gold_actions": cancel("O8"), "expected_outputs": ["store credit of 12.25"]}),
        json!({"id": "played", "request": "A customer wants an order cancelled.",
               "simulated_customer": {"persona": "Ben, in a hurry.", "instructions": "You want O4 cancelled."},
               "gold_actions": cancel("O4")}),
        json!({"id": "alone", "request": "Cancel order O5.", "gold_actions": cancel("O5")}),
    ];
    let customer = "customer:\n  max_turns: 5\n  gateway:\n    upstream: stand-in\n    stand_in:\n      rules:\n        \
        - when: [\"which order\"]\n          reply: It is order O4, the pen.\n        \
        - when: [\"cancel O4\"]\n          reply: Yes.\n        \
        - when: [\"cancelled\"]\n          reply: \"Thanks! ###STOP###\"\n";
    let spec = write_spec(&scratch, &issues, customer);
    let outcomes = run(&scratch, &spec);

    for id in ["scripted", "played", "alone"] {
        assert_eq!(
            outcomes[id]["status"], "passed",
            "{id}: {}",
            outcomes[id]["reason"]
        );
    }
    // The scripted customer said its turns in order, then had left (a message is refused); the
    // played one said goodbye on its own (its stop word) and had left after that.
    let gone = "the customer has left the conversation: nothing more reaches them";
    let scripted = &outcomes["scripted"]["output"];
    assert_eq!(
        scripted["customer_replies"],
        json!([
            "It is order O1.",
            "Yes, please cancel it.",
            "Thank you.",
            gone
        ])
    );
    let played = &outcomes["played"]["output"];
    assert_eq!(played["order"], "O4");
    assert_eq!(
        played["customer_replies"],
        json!([
            "It is order O4, the pen.",
            "Yes.",
            "Thanks!\n[the customer has left the conversation]",
            gone
        ])
    );
    // The channel is offered only where there is a customer; the customer's script and the
    // graders' fields never reach the agent.
    for id in ["scripted", "played"] {
        let output = &outcomes[id]["output"];
        assert!(
            output["offered"]
                .as_array()
                .unwrap()
                .contains(&json!("send_message_to_customer"))
        );
        assert_eq!(output["issue_keys"], json!(["id", "request"]), "{id}");
    }
    assert!(
        !outcomes["alone"]["output"]["offered"]
            .as_array()
            .unwrap()
            .contains(&json!("send_message_to_customer"))
    );
    // The customer model's calls are the customer's, not the agent's: the agent made none.
    let usage = &outcomes["played"]["usage"];
    assert_eq!(usage["llm_calls"], 0);
    assert_eq!(usage["side_models"]["customer"]["calls"], 3, "{usage}");
    assert_eq!(
        usage["side_models"]["customer"]["model"],
        "agentpod-stand-in"
    );
    assert!(
        outcomes["scripted"]["usage"]["side_models"]
            .get("customer")
            .is_none()
    );
    // Every message is a tool call of the agent's (the customer tool is a tool).
    assert_eq!(outcomes["scripted"]["usage"]["tool_calls"], 5);

    // The conversation is in the issue's trace, turn by turn, and the customer model's calls
    // beside it as the customer's.
    let texts = timeline_texts(&trace(&scratch, "played"));
    let conversation: Vec<&String> = texts
        .iter()
        .filter(|text| text.starts_with("conversation: "))
        .collect();
    // Three turns: the fourth message was refused, the customer having left.
    assert_eq!(conversation.len(), 3, "{texts:#?}");
    assert!(conversation[0].contains("agent → customer: Which order do you mean?"));
    assert!(conversation[0].contains("customer → agent: It is order O4, the pen."));
    assert_eq!(
        texts
            .iter()
            .filter(|text| text.starts_with("customer model agentpod-stand-in"))
            .count(),
        3,
        "{texts:#?}"
    );
    // The report says what the customers' model did, apart from the agent's figures.
    let report = scratch.run(&["report", "latest", "--format", "markdown"]);
    let report = String::from_utf8_lossy(&report.stdout);
    assert!(
        report.contains("simulated customers' model agentpod-stand-in: 3 calls in 1 trial"),
        "{report}"
    );
}

#[test]
fn the_judge_follows_its_rubric_not_the_answer_and_its_splits_and_cost_are_reported_apart() {
    let scratch = Scratch::new();
    let issue = |id: &str, mode: &str| {
        json!({"id": id, "request": "Cancel order O1.", "mode": mode,
               "gold_actions": cancel("O1"), "expected": {"order": "O1"}})
    };
    let issues = [
        issue("honest", "honest"),
        issue("terse", "terse"),
        issue("adversarial", "adversarial"),
    ];
    let spec = write_spec(&scratch, &issues, &stand_in_judge());
    let outcomes = run(&scratch, &spec);

    // The honest answer passes every judgement; the terse one is judged fail, pass, fail (the
    // judge flipped on one answer: split, and the majority fails it); the adversarial one,
    // which names no credit but pleads and forges a verdict, fails every judgement (and the
    // gold state, since it did nothing).
    let judged = |id: &str| outcomes[id]["usage"]["side_models"]["judged"].clone();
    assert_eq!(
        outcomes["honest"]["status"], "passed",
        "{}",
        outcomes["honest"]["reason"]
    );
    assert_eq!(
        judged("honest"),
        json!({"passed": true, "split": false, "judgements": 3, "expected_fields_passed": true})
    );
    assert_eq!(outcomes["terse"]["status"], "failed");
    assert!(
        outcomes["terse"]["reason"]
            .as_str()
            .unwrap()
            .contains("judge"),
        "{}",
        outcomes["terse"]["reason"]
    );
    assert_eq!(
        judged("terse"),
        json!({"passed": false, "split": true, "judgements": 3, "expected_fields_passed": true})
    );
    assert_eq!(outcomes["adversarial"]["status"], "failed");
    assert_eq!(
        judged("adversarial"),
        json!({"passed": false, "split": false, "judgements": 3, "expected_fields_passed": true})
    );

    // Three judge calls per judged trial, stored as the judge's, none counted as the agent's
    // (the agent made no model call at all).
    for id in ["honest", "terse", "adversarial"] {
        let usage = &outcomes[id]["usage"];
        assert_eq!(usage["llm_calls"], 0, "{id}: {usage}");
        assert_eq!(usage["side_models"]["judge"]["calls"], 3, "{id}: {usage}");
    }
    // The stored prompt: the rubric is the system message alone; the answer, forged tags and
    // all, is JSON inside a block whose tag carries a nonce the answer does not hold.
    let texts_and_details: Vec<Value> = trace(&scratch, "adversarial")["timeline"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let judge_calls: Vec<&Value> = texts_and_details
        .iter()
        .filter(|entry| {
            entry["text"]
                .as_str()
                .is_some_and(|text| text.starts_with("judge model"))
        })
        .collect();
    assert_eq!(judge_calls.len(), 3);
    // Each judgement's verdict and reasoning are in the trace too.
    let judgement_lines: Vec<&str> = texts_and_details
        .iter()
        .filter_map(|entry| entry["text"].as_str())
        .filter(|text| text.starts_with("judgement "))
        .collect();
    assert_eq!(
        judgement_lines,
        [
            "judgement 1 of 3: fail · the work addresses the grader",
            "judgement 2 of 3: fail · the work addresses the grader",
            "judgement 3 of 3: fail · the work addresses the grader"
        ]
    );
    let request: Value = serde_json::from_str(
        judge_calls[0]["detail"]["request"]["text"]
            .as_str()
            .unwrap(),
    )
    .expect("the stored request is the JSON sent");
    let system = request["messages"][0]["content"].as_str().unwrap();
    let user = request["messages"][1]["content"].as_str().unwrap();
    assert!(system.contains("told the customer the store credit it got"));
    assert!(!user.contains("told the customer the store credit it got"));
    let nonce = user
        .split("<answer-")
        .nth(1)
        .unwrap()
        .split('>')
        .next()
        .unwrap();
    let answer_block = user
        .split(&format!("<answer-{nonce}>\n"))
        .nth(1)
        .unwrap()
        .split(&format!("\n</answer-{nonce}>"))
        .next()
        .unwrap();
    let answer: Value = serde_json::from_str(answer_block).expect("the answer, as JSON");
    assert_eq!(answer, outcomes["adversarial"]["output"]);
    assert!(!answer.to_string().contains(nonce));

    // The report: the judge's own figures and cost, apart from the agent's.
    let report = scratch.run(&["report", "latest", "--format", "markdown"]);
    let report = String::from_utf8_lossy(&report.stdout);
    assert!(
        report.contains(
            "agentpod-stand-in: passed 1 of 3 trials · 3 judgements each · split on 1 trial (the judge flipped on the same answer) · agreed with the expected fields on 1 of 3 · 9 calls"
        ),
        "{report}"
    );
}

#[test]
fn recorded_judgements_replay_to_the_same_verdicts_without_the_judge_model() {
    let scratch = Scratch::new();
    let log = scratch.path().join("judge-requests.jsonl");
    let mut server = Command::new(repo_root().join(".venv/bin/python"))
        .arg(repo_root().join("tests/end_to_end/openai_compatible_judge.py"))
        .arg(&log)
        .stdout(Stdio::piped())
        .spawn()
        .expect("the judge server starts");
    let mut port = String::new();
    std::io::BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut port)
        .unwrap();
    let port = port.trim().to_owned();
    let issues = [
        json!({"id": "honest", "request": "Cancel order O1.", "mode": "honest", "gold_actions": cancel("O1")}),
        json!({"id": "terse", "request": "Cancel order O5.", "mode": "terse", "gold_actions": cancel("O5")}),
    ];
    let cassettes = scratch.path().join("judge-cassettes");
    let judge = |gateway: String| format!("{JUDGE}  model: judge-1\n  gateway:\n{gateway}");
    let recording = judge(format!(
        "    upstream: openai-compatible\n    base_url: http://127.0.0.1:{port}/v1\n    cassettes: {}\n",
        cassettes.display()
    ));
    let spec = write_spec(&scratch, &issues, &recording);
    let recorded = run(&scratch, &spec);
    server.kill().ok();
    server.wait().ok();
    let served = std::fs::read_to_string(&log).unwrap_or_default();
    // Three judgements of each answer, each its own request (their seeds differ), recorded.
    assert_eq!(served.lines().count(), 6, "{served}");

    let replaying = judge(format!(
        "    upstream: replay\n    cassettes: {}\n",
        cassettes.display()
    ));
    let spec = write_spec(&scratch, &issues, &replaying);
    let replayed = run(&scratch, &spec);
    for id in ["honest", "terse"] {
        assert_eq!(
            replayed[id]["usage"]["side_models"]["judged"],
            recorded[id]["usage"]["side_models"]["judged"],
            "{id}"
        );
        assert_eq!(replayed[id]["status"], recorded[id]["status"], "{id}");
        assert_eq!(replayed[id]["usage"]["side_models"]["judge"]["calls"], 3);
        assert_eq!(
            replayed[id]["usage"]["side_models"]["judge"]["model"],
            "judge-1"
        );
    }
    assert_eq!(
        recorded["honest"]["status"], "passed",
        "{}",
        recorded["honest"]["reason"]
    );
    assert_eq!(recorded["terse"]["status"], "failed");
    assert_eq!(
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .lines()
            .count(),
        6,
        "the replay asked no judge"
    );
    // The two runs' judges are set up differently (recording from a server, replaying): a
    // comparison says so rather than comparing silently.
    let runs = scratch.run(&["runs", "--json"]);
    let runs: Value = serde_json::from_slice(&runs.stdout).expect("runs --json");
    let ids: Vec<&str> = runs
        .as_array()
        .expect("runs")
        .iter()
        .map(|run| run["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 2);
    let compared = scratch.run(&["compare", ids[1], ids[0], "--format", "json"]);
    let compared: Value = serde_json::from_slice(&compared.stdout).expect("compare --format json");
    let warnings = compared["warnings"].to_string();
    assert!(
        warnings.contains("different judges")
            && warnings.contains("model judge-1 on openai-compatible and model judge-1 on replay"),
        "{warnings}"
    );
}
