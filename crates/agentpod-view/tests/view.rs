//! The viewer served for real on loopback over a real SQLite run store (written through the
//! store's own API), asked by a plain HTTP/1.1 client over TCP: every page answers, shows the
//! store's numbers, escapes what the agent and the issues wrote, pages an issue's steps, shares
//! the report's own markup, and refuses requests not addressed to loopback.

use std::io::{Read, Write};
use std::sync::Arc;

use agentpod_report::stored_run::{Steps, run_report};
use agentpod_report::{ReportFormat, render_report, summarize};
use agentpod_store::{
    BoundaryDetail, BoundaryEventRecord, IssueUsage, ModelCallDetail, NewRun, OutcomeRecord,
    OutcomeStatus, ProposalDetail, RunStatus, RunStore, StepDetail, StepRecord, TokenCounts,
    ToolCallDetail, ViolationDetail,
};
use agentpod_view::ACCESS_COOKIE;
use agentpod_view::StoreSource;
use chrono::{Duration, TimeZone, Utc};
use serde_json::json;

/// The access token the test servers are started with.
const TOKEN: &str = "test-access-token";
const HOSTILE: &str = "<script>alert(1)</script><img src=x onerror=alert(2)>";

/// A run of `issues` × `trials`: issue `passes` passes in every trial, the others fail; the
/// first issue has `steps` model calls per trial, a proposal and a violation.
async fn make_run(store: &RunStore, id: &str, version: &str, passing: &[&str], steps: usize) {
    let issues = ["I-1", "I-2", "I/3 ?#\"", "I-4"];
    let trials = 2;
    let started_at = Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap();
    store
        .create_run(&NewRun {
            sharding: None,
            id: id.into(),
            spec_name: "support-triage".into(),
            spec_path: "pods/support-triage.yaml".into(),
            agent_version: version.into(),
            runtime: "local".into(),
            pods: 1,
            seed: 5,
            trials,
            started_at,
            spec_json: json!({"name": "support-triage"}),
            issues: issues
                .iter()
                .map(|issue| {
                    (
                        issue.to_string(),
                        json!({"id": issue, "fields": {"subject": HOSTILE}}),
                    )
                })
                .collect(),
            evaluation_set: None,
        })
        .await
        .unwrap();
    for (at, issue) in issues.iter().enumerate() {
        for trial in 1..=trials {
            let passed = passing.contains(issue);
            let outcome = OutcomeRecord {
                run_id: id.into(),
                issue_id: issue.to_string(),
                trial,
                pod_index: 0,
                status: if passed {
                    OutcomeStatus::Passed
                } else {
                    OutcomeStatus::Failed
                },
                reason: format!("reason {HOSTILE}"),
                exit: json!({"code": 0}),
                started_at: started_at + Duration::seconds(at as i64),
                duration_ms: 1000 + 250 * at as u64 + u64::from(trial),
                output: Some(json!({"note": HOSTILE})),
                grade: json!({"checks": []}),
                stdout: format!("printed {HOSTILE}"),
                stdout_bytes: 40,
                stdout_truncated: false,
                stderr: String::new(),
                stderr_bytes: 0,
                stderr_truncated: false,
                usage: IssueUsage {
                    llm_calls: 2,
                    tool_calls: 1 + at as u32,
                    input_tokens: 1000,
                    output_tokens: 100,
                    cost_usd: Some(0.01 * (at + 1) as f64),
                    ..IssueUsage::default()
                },
                own_time: Default::default(),
            };
            let (steps, events) = if at == 0 {
                (
                    (0..steps)
                        .map(|step| StepRecord {
                            issue_id: issue.to_string(),
                            trial,
                            started_at: Some(started_at + Duration::milliseconds(step as i64)),
                            latency_ms: Some(5.0),
                            detail: StepDetail::LlmCall(ModelCallDetail {
                                model: Some(format!("model-{step}")),
                                usage: TokenCounts {
                                    input_tokens: 10,
                                    output_tokens: 1,
                                    ..TokenCounts::default()
                                },
                                status: 200,
                                ..ModelCallDetail::default()
                            }),
                        })
                        .chain(std::iter::once(StepRecord {
                            issue_id: issue.to_string(),
                            trial,
                            started_at: None,
                            latency_ms: Some(3.0),
                            detail: StepDetail::ToolCall(ToolCallDetail {
                                tool: HOSTILE.into(),
                                result: HOSTILE.into(),
                                ..ToolCallDetail::default()
                            }),
                        }))
                        .collect(),
                    vec![
                        BoundaryEventRecord {
                            issue_id: issue.to_string(),
                            trial,
                            detail: BoundaryDetail::Proposal(ProposalDetail {
                                table: "refunds".into(),
                                operation: "INSERT".into(),
                                after: Some(json!({"note": HOSTILE})),
                                statement: format!("INSERT INTO refunds VALUES ('{HOSTILE}')"),
                                proposed_by: "agent_1".into(),
                                ..ProposalDetail::default()
                            }),
                        },
                        BoundaryEventRecord {
                            issue_id: issue.to_string(),
                            trial,
                            detail: BoundaryDetail::Violation(ViolationDetail {
                                statement: Some("DELETE FROM orders".into()),
                                error: "permission denied for table orders".into(),
                                table: Some("orders".into()),
                                ..ViolationDetail::default()
                            }),
                        },
                    ],
                )
            } else {
                (Vec::new(), Vec::new())
            };
            store
                .record_issue_result(&outcome, &events, &steps)
                .await
                .unwrap();
        }
    }
    let run = store.find_run(id).await.unwrap();
    let outcomes = store.outcomes(id).await.unwrap();
    let events = store.boundary_events(id).await.unwrap();
    let summary = summarize(&run, &outcomes, &events);
    store
        .finish_run(
            id,
            RunStatus::Finished,
            started_at + Duration::seconds(30),
            &serde_json::to_value(&summary).unwrap(),
        )
        .await
        .unwrap();
}

struct Served {
    port: u16,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl Served {
    async fn start(store: RunStore) -> Served {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .unwrap();
        let port = listener.local_addr().unwrap().port();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            agentpod_view::serve(listener, Arc::new(StoreSource::new(store)), TOKEN, async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
        });
        Served {
            port,
            stop: Some(stop),
            task,
        }
    }

    /// GET `path` with `host` as the Host header and the access cookie: (status, headers, body).
    async fn get_as(&self, path: &str, host: &str) -> (u16, String, String) {
        self.get_with(path, host, &format!("Cookie: {ACCESS_COOKIE}={TOKEN}\r\n"))
            .await
    }

    /// GET `path` with `host` as the Host header and `extra` header lines.
    async fn get_with(&self, path: &str, host: &str, extra: &str) -> (u16, String, String) {
        let port = self.port;
        let request =
            format!("GET {path} HTTP/1.1\r\nHost: {host}\r\n{extra}Connection: close\r\n\r\n");
        tokio::task::spawn_blocking(move || {
            let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
            stream.write_all(request.as_bytes()).unwrap();
            let mut answer = Vec::new();
            stream.read_to_end(&mut answer).unwrap();
            let answer = String::from_utf8(answer).unwrap();
            let (head, body) = answer.split_once("\r\n\r\n").unwrap();
            let status = head[9..12].parse().unwrap();
            (status, head.to_string(), body.to_string())
        })
        .await
        .unwrap()
    }

    async fn get(&self, path: &str) -> (u16, String, String) {
        self.get_as(path, &format!("127.0.0.1:{}", self.port)).await
    }

    async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        self.task.await.unwrap();
    }
}

/// The body of a chunked answer, joined (the server streams pages chunked or whole).
fn body_text(body: &str, head: &str) -> String {
    if !head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        return body.to_string();
    }
    let mut out = String::new();
    let mut rest = body;
    loop {
        let (size, after) = rest.split_once("\r\n").unwrap();
        let size = usize::from_str_radix(size.trim(), 16).unwrap();
        if size == 0 {
            return out;
        }
        out.push_str(&after[..size]);
        rest = &after[size + 2..];
    }
}

#[tokio::test]
async fn every_page_shows_a_sqlite_store_escaped_and_paged() {
    let directory = tempfile::tempdir().unwrap();
    let store = RunStore::open(&directory.path().join("runs.db"))
        .await
        .unwrap();
    every_page_shows_the_store_escaped_and_paged(store).await;
}

/// The same pages over the shared Postgres store (a real Postgres 15 from the host's binaries).
#[tokio::test]
async fn every_page_shows_a_postgres_store_escaped_and_paged() {
    let server = agentpod_test_postgres::LocalPostgres::start()
        .await
        .unwrap();
    let location: agentpod_store::StoreLocation = server
        .create_database("viewed")
        .await
        .unwrap()
        .parse()
        .unwrap();
    let store = RunStore::open_location(&location).await.unwrap();
    every_page_shows_the_store_escaped_and_paged(store).await;
}

async fn every_page_shows_the_store_escaped_and_paged(store: RunStore) {
    make_run(&store, "run-a", "v1", &["I-1", "I-2"], 250).await;
    make_run(&store, "run-b", "v2", &["I-1", "I-2", "I-4"], 3).await;
    let served = Served::start(store.clone()).await;
    let get = |path: &'static str| served.get(path);

    // The runs page: both runs, figures equal to the stored summaries, a trend per spec.
    let (status, head, body) = get("/runs").await;
    let body = body_text(&body, &head);
    assert_eq!(status, 200, "{body}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-security-policy: default-src 'none'"),
        "{head}"
    );
    for run in ["run-a", "run-b"] {
        let summary = store.find_run(run).await.unwrap().summary.unwrap();
        let rate = summary["pass_rate"].as_f64().unwrap();
        let cell = format!("class=\"number pass-rate\" data-value=\"{rate}\"");
        assert!(body.contains(&cell), "{run}: {cell} not in the runs page");
    }
    assert!(body.contains("Trend per spec over agent versions"));
    assert!(
        body.contains("<svg class=\"trend\""),
        "a pass-rate line over v1, v2"
    );

    // Filtering by agent version leaves one run.
    let (_, head, filtered) = get("/runs?agent=v2").await;
    let filtered = body_text(&filtered, &head);
    assert!(filtered.contains("data-run=\"run-b\"") && !filtered.contains("data-run=\"run-a\""));

    // The run page is the report's HTML page: its figures' markup is the same bytes.
    let (status, head, run_page) = get("/runs/run-a").await;
    let run_page = body_text(&run_page, &head);
    assert_eq!(status, 200, "{run_page}");
    let report = run_report(&store, "run-a", Steps::Skip).await.unwrap();
    let file = render_report(&report, ReportFormat::Html).unwrap();
    let cards = |page: &str| {
        let start = page.find("<section class=\"cards\">").unwrap();
        let end = start + page[start..].find("</section>").unwrap();
        page[start..end].to_string()
    };
    assert_eq!(cards(&run_page), cards(&file));
    let charts = |page: &str| {
        let start = page.find("<h2>Distributions per issue</h2>").unwrap();
        let end = start + page[start..].find("</div>").unwrap();
        page[start..end].to_string()
    };
    assert_eq!(charts(&run_page), charts(&file));
    // Each issue links to its page, its id percent-encoded into one path segment.
    assert!(
        run_page.contains("href=\"/runs/run-a/issues/I%2F3%20%3F%23%22\""),
        "{run_page}"
    );
    assert!(
        !run_page.contains("http-equiv=\"refresh\""),
        "a finished run is not reloaded"
    );

    // The issue page: trials side by side, steps paged per trial, everything escaped.
    let (status, head, issue) = get("/runs/run-a/issues/I-1").await;
    let issue = body_text(&issue, &head);
    assert_eq!(status, 200, "{issue}");
    assert_eq!(issue.matches("<section class=\"trial\"").count(), 2);
    assert_eq!(issue.matches("Steps 1–100 of 251").count(), 2, "{issue}");
    assert!(issue.contains("rel=\"next\" href=\"/runs/run-a/issues/I-1?page=2\""));
    assert!(
        !issue.contains("<script>") && !issue.contains("<img"),
        "agent text is inert"
    );
    assert!(issue.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(issue.contains("proposal") && issue.contains("permission denied for table orders"));
    let (_, head, last) = get("/runs/run-a/issues/I-1?page=3").await;
    let last = body_text(&last, &head);
    assert_eq!(last.matches("Steps 201–251 of 251").count(), 2, "{last}");
    assert!(!last.contains("rel=\"next\""));
    // The step without a start time comes last.
    let model_call = last.find("model-249").unwrap();
    let tool_call = last.find("<li class=\"tool_call\"").unwrap();
    assert!(model_call < tool_call);
    // An id with a slash, a question mark and a quote is one segment.
    let (status, _, _) = get("/runs/run-a/issues/I%2F3%20%3F%23%22").await;
    assert_eq!(status, 200);
    let (status, _, _) = get("/runs/run-a/issues/nope").await;
    assert_eq!(status, 404);
    let (status, _, _) = get("/runs/no-such-run").await;
    assert_eq!(status, 404);

    // Compare: the report's comparison, McNemar and flips, regressions first.
    let (status, head, compare) = get("/compare?runs=run-a,run-b").await;
    let compare = body_text(&compare, &head);
    assert_eq!(status, 200, "{compare}");
    assert!(
        compare.contains("McNemar p")
            && compare.contains("Flipped in <code>run-b</code>: 0 regressions, 1 improvements"),
        "{compare}"
    );
    assert!(
        compare.contains("href=\"/runs/run-b/issues/I-4\""),
        "the flip links to the issue in the run where it flipped"
    );
    let (status, _, _) = get("/compare?runs=run-a&runs=run-b").await;
    assert_eq!(status, 200, "the runs page's check boxes");
    let (status, _, _) = get("/compare?runs=run-a").await;
    assert_eq!(status, 400);

    // Proposals: one per trial of I-1, escaped.
    let (status, head, proposals) = get("/runs/run-a/proposals").await;
    let proposals = body_text(&proposals, &head);
    assert_eq!(status, 200);
    assert!(proposals.contains("data-value=\"2\""), "{proposals}");
    assert_eq!(proposals.matches("<tr class=\"proposal\">").count(), 2);
    assert!(!proposals.contains("<script>"));

    // A request addressed to another name (DNS rebinding) is refused.
    let (status, _, _) = served.get_as("/runs", "evil.example:80").await;
    assert_eq!(status, 403);
    let (status, _, _) = served
        .get_as("/runs", &format!("localhost:{}", served.port))
        .await;
    assert_eq!(status, 200);

    // Loopback is shared with the agents of this machine: without the access token nothing of
    // the store is answered; the token in the query also leaves the cookie for the links.
    let host = format!("127.0.0.1:{}", served.port);
    for (path, extra) in [
        ("/runs", String::new()),
        ("/runs?token=wrong", String::new()),
        ("/runs", format!("Cookie: {ACCESS_COOKIE}=wrong\r\n")),
        ("/runs", format!("Cookie: other={TOKEN}\r\n")),
    ] {
        let (status, _, body) = served.get_with(path, &host, &extra).await;
        assert_eq!(status, 401, "{path} {extra}");
        assert!(!body.contains("support-triage"), "{body}");
    }
    let (status, head, body) = served
        .get_with(&format!("/runs?token={TOKEN}"), &host, "")
        .await;
    assert_eq!(status, 200);
    assert!(body.contains("support-triage"));
    assert!(
        head.contains(&format!(
            "{ACCESS_COOKIE}={TOKEN}; Path=/; HttpOnly; SameSite=Strict"
        )),
        "{head}"
    );
    served.stop().await;
}

#[tokio::test]
async fn a_running_run_reloads() {
    let directory = tempfile::tempdir().unwrap();
    let store = RunStore::open(&directory.path().join("runs.db"))
        .await
        .unwrap();
    make_run(&store, "run-a", "v1", &["I-1"], 1).await;
    store.reopen_run("run-a").await.unwrap();
    let served = Served::start(store).await;
    let (status, head, page) = served.get("/runs/run-a").await;
    let page = body_text(&page, &head);
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("<meta http-equiv=\"refresh\" content=\"5\">"));
    served.stop().await;
}
