//! A run against a provider that throttles: 8 pods × 20 issues, each agent making one model call
//! through its pod's gateway, with `model.limits` shared by the pods and `model.retries` on. The
//! provider is a test double (an axum server here, OpenAI-compatible, answering 429 with
//! `retry-after` past N calls per second), because no real provider can be reached — or made to
//! throttle — from this machine. No agent may see a 429; the retries and waits are recorded and
//! reported. And the run's cost budget: once spent, no new issue starts, and `--resume` with a
//! raised budget finishes the rest.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use agentpod_end_to_end::{Scratch, repo_root, stderr_text, stdout_text};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::post;
use serde_json::json;

/// The test double of a provider: at most `per_second` calls in each one-second window (a window
/// opens with the first call after the last one closed), 429 with `retry-after: 1` beyond.
struct ThrottlingProvider {
    per_second: u64,
    window: Mutex<Option<(Instant, u64)>>,
    answered: AtomicU64,
    throttled: AtomicU64,
    /// When each answered call came, to check the rate the provider saw.
    answered_at: Mutex<VecDeque<Instant>>,
}

async fn answer(State(provider): State<Arc<ThrottlingProvider>>, _body: Bytes) -> Response {
    let admitted = {
        let mut window = provider.window.lock().unwrap();
        let now = Instant::now();
        let (opened, count) = match *window {
            Some((opened, count)) if now.duration_since(opened) < Duration::from_secs(1) => {
                (opened, count)
            }
            _ => (now, 0),
        };
        let admitted = count < provider.per_second;
        *window = Some((opened, count + u64::from(admitted)));
        admitted
    };
    let json_response = |status: StatusCode, body: serde_json::Value| {
        let mut response = Response::new(Body::from(body.to_string()));
        *response.status_mut() = status;
        response
            .headers_mut()
            .insert("content-type", "application/json".parse().unwrap());
        response
    };
    if !admitted {
        provider.throttled.fetch_add(1, Ordering::SeqCst);
        let mut response = json_response(
            StatusCode::TOO_MANY_REQUESTS,
            json!({"error": {"message": "Rate limit reached for requests", "type": "requests", "code": "rate_limit_exceeded"}}),
        );
        response
            .headers_mut()
            .insert("retry-after", "1".parse().unwrap());
        return response;
    }
    provider.answered.fetch_add(1, Ordering::SeqCst);
    provider
        .answered_at
        .lock()
        .unwrap()
        .push_back(Instant::now());
    json_response(
        StatusCode::OK,
        json!({"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-4o-mini",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}}),
    )
}

/// The provider, served on loopback by its own runtime for as long as the value lives.
struct RunningProvider {
    state: Arc<ThrottlingProvider>,
    address: SocketAddr,
    _runtime: tokio::runtime::Runtime,
}

fn start_provider(per_second: u64) -> RunningProvider {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let state = Arc::new(ThrottlingProvider {
        per_second,
        window: Mutex::new(None),
        answered: AtomicU64::new(0),
        throttled: AtomicU64::new(0),
        answered_at: Mutex::new(VecDeque::new()),
    });
    let router = Router::new()
        .route("/v1/chat/completions", post(answer))
        .with_state(Arc::clone(&state));
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let address = listener.local_addr().unwrap();
    runtime.spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    RunningProvider {
        state,
        address,
        _runtime: runtime,
    }
}

/// A pod spec in the scratch directory: the model-call agent against `provider`, with the
/// `model` and `budgets` lines given.
fn write_spec(scratch: &Scratch, name: &str, issues: usize, pods: usize, model_and_budgets: &str) {
    let root = repo_root();
    let issues_path = scratch.path().join(format!("{name}-issues.jsonl"));
    let lines: Vec<String> = (1..=issues)
        .map(|number| {
            json!({"id": format!("M-{number}"), "expected": {"answer": "ok"}}).to_string()
        })
        .collect();
    std::fs::write(&issues_path, lines.join("\n") + "\n").unwrap();
    let spec = format!(
        "name: {name}\n\
         database:\n  image: postgres:15\n  fixtures:\n    - sql: {schema}\n\
         agent:\n  command: [\"{agent}\"]\n  version: throttled-1\n  timeout: 120s\n\
         issues:\n  source: {issues}\n\
         pods: {pods}\n\
         {model_and_budgets}",
        schema = root.join("tests/pods/tiny/schema.sql").display(),
        agent = root.join("tests/pods/agents/model-call-agent.py").display(),
        issues = issues_path.display(),
    );
    std::fs::write(scratch.path().join(format!("{name}.yaml")), spec).unwrap();
}

fn spec_path(scratch: &Scratch, name: &str) -> String {
    scratch
        .path()
        .join(format!("{name}.yaml"))
        .display()
        .to_string()
}

#[test]
fn eight_pods_share_the_providers_limits_and_no_agent_sees_a_429() {
    const PER_SECOND: u64 = 5;
    const PODS: usize = 8;
    const ISSUES: usize = 8 * 20;
    let provider = start_provider(PER_SECOND);
    let scratch = Scratch::new();
    write_spec(
        &scratch,
        "throttled",
        ISSUES,
        PODS,
        &format!(
            "model:\n  upstream: openai-compatible\n  base_url: http://{}/v1\n  timeout: 120s\n  \
             limits:\n    requests_per_minute: {}\n  \
             retries:\n    max_retries: 10\n    initial_backoff: 100ms\n    max_backoff: 5s\n",
            provider.address,
            PER_SECOND * 60
        ),
    );
    let started = Instant::now();
    let output = scratch.run(&[
        "run",
        &spec_path(&scratch, "throttled"),
        "--runtime",
        "local",
        "--no-progress",
    ]);
    let wall = started.elapsed();
    assert!(output.status.success(), "{}", stderr_text(&output));
    let floor = Duration::from_secs_f64(ISSUES as f64 / PER_SECOND as f64);
    let throttled = provider.state.throttled.load(Ordering::SeqCst);
    eprintln!(
        "provider throttling e2e: {ISSUES} issues on {PODS} pods in {:.1} s; the provider's floor \
         ({PER_SECOND} calls/s) is {:.1} s ({:.2}×); the provider answered 429 {throttled} times",
        wall.as_secs_f64(),
        floor.as_secs_f64(),
        wall.as_secs_f64() / floor.as_secs_f64()
    );
    // A sanity bound only: the machine is shared, so timings are printed, not asserted tightly.
    assert!(
        wall < floor * 6 + Duration::from_secs(180),
        "the run took {wall:?} against a floor of {floor:?}"
    );

    let shown = scratch.show("latest");
    let outcomes = shown["outcomes"].as_array().unwrap();
    assert_eq!(outcomes.len(), ISSUES);
    for outcome in outcomes {
        assert_eq!(
            outcome["output"]["status"], 200,
            "no agent sees the provider's 429: {outcome}"
        );
        assert_eq!(outcome["status"], "passed", "{outcome}");
    }
    assert_eq!(
        provider.state.answered.load(Ordering::SeqCst),
        ISSUES as u64,
        "one answered call per issue"
    );
    let retries: u64 = outcomes
        .iter()
        .map(|outcome| outcome["usage"]["model_retries"].as_u64().unwrap())
        .sum();
    assert_eq!(
        retries, throttled,
        "every 429 the provider sent was retried by the gateway and recorded"
    );
    let throttled_ms: f64 = outcomes
        .iter()
        .map(|outcome| outcome["usage"]["throttled_ms"].as_f64().unwrap())
        .sum();
    // 160 calls at 5 a second cannot all go at once: most of them waited in line.
    assert!(
        throttled_ms > floor.as_secs_f64() * 1000.0,
        "waits recorded: {throttled_ms} ms"
    );
    // The provider never saw more than its limit in any second it counted: the rest were the
    // gateway's retries after a 429, not a flood.
    let answered_at = provider.state.answered_at.lock().unwrap().clone();
    let most_in_a_second = answered_at
        .iter()
        .map(|start| {
            answered_at
                .iter()
                .filter(|at| **at >= *start && at.duration_since(*start) < Duration::from_secs(1))
                .count()
        })
        .max()
        .unwrap();
    eprintln!("most calls answered within one second: {most_in_a_second}");

    // The steps hold each call's wait and retries; the report and the summary show the totals.
    let run_id = shown["run"]["id"].as_str().unwrap().to_string();
    let steps = shown["steps"].as_array().cloned().unwrap_or_default();
    if !steps.is_empty() {
        let step_retries: u64 = steps
            .iter()
            .filter(|step| step["kind"] == "llm_call")
            .map(|step| step["detail"]["retries"].as_u64().unwrap_or(0))
            .sum();
        assert_eq!(step_retries, retries);
    }
    let report = scratch.run(&["report", &run_id]);
    assert!(report.status.success(), "{}", stderr_text(&report));
    let report_text = stdout_text(&report);
    assert!(
        report_text.contains(&format!("provider throttling: {retries} retr")),
        "{report_text}"
    );
    assert!(report_text.contains("not counted as the agent's time"));
    let summary = stdout_text(&output);
    assert!(summary.contains("provider throttling:"), "{summary}");
    assert!(summary.contains("less provider throttling"), "{summary}");
}

#[test]
fn the_run_budget_stops_new_issues_and_resume_finishes_them() {
    let provider = start_provider(1000);
    let scratch = Scratch::new();
    let model = format!(
        "model:\n  upstream: openai-compatible\n  base_url: http://{}/v1\n",
        provider.address
    );
    // gpt-4o-mini at the built-in prices: 10 input and 5 output tokens cost $0.0000045 a call,
    // so $0.00002 is spent by the fifth issue; one pod makes the count exact.
    write_spec(
        &scratch,
        "budgeted",
        10,
        1,
        &format!("{model}budgets:\n  max_run_cost_usd: 0.00002\n"),
    );
    let output = scratch.run(&[
        "run",
        &spec_path(&scratch, "budgeted"),
        "--runtime",
        "local",
        "--no-progress",
    ]);
    let stderr = stderr_text(&output);
    assert_eq!(output.status.code(), Some(5), "{stderr}");
    assert!(
        stderr.contains("5 issue trials were not started"),
        "{stderr}"
    );
    let summary = stdout_text(&output);
    assert!(summary.contains("budget_reached"), "{summary}");
    assert!(
        summary.contains("5 issue trials not started because of it"),
        "{summary}"
    );
    let shown = scratch.show("latest");
    assert_eq!(shown["run"]["status"], "budget_reached");
    assert_eq!(shown["outcomes"].as_array().unwrap().len(), 5);
    let run_id = shown["run"]["id"].as_str().unwrap().to_string();

    // Resumed as it is, the budget is still spent: nothing starts.
    let again = scratch.run(&["run", "--resume", &run_id, "--no-progress"]);
    assert_eq!(again.status.code(), Some(5), "{}", stderr_text(&again));
    assert_eq!(
        scratch.show(&run_id)["outcomes"].as_array().unwrap().len(),
        5
    );
    // With the budget raised, the rest runs.
    write_spec(
        &scratch,
        "budgeted",
        10,
        1,
        &format!("{model}budgets:\n  max_run_cost_usd: 1\n"),
    );
    let resumed = scratch.run(&["run", "--resume", &run_id, "--no-progress"]);
    assert!(resumed.status.success(), "{}", stderr_text(&resumed));
    let shown = scratch.show(&run_id);
    assert_eq!(shown["run"]["status"], "finished");
    let outcomes = shown["outcomes"].as_array().unwrap();
    assert_eq!(outcomes.len(), 10);
    assert!(outcomes.iter().all(|outcome| outcome["status"] == "passed"));
}
