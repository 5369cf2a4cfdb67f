//! Many issues at once: each issue's totals are exactly its own calls.

use agentpod_llm_gateway::{LlmBudget, Upstream};
use futures_util::future::join_all;

use crate::support::fake_upstream::{FakeUpstream, UPSTREAM_KEY};
use crate::support::{api_of, client_usage, fake_usage, run_client, start_gateway, sum};

const ISSUES: usize = 8;
const SCENARIOS: &[&str] = &[
    "chat",
    "chat_stream_usage",
    "responses",
    "responses_stream",
    "chat",
    "chat_stream_usage",
    "responses",
    "responses_stream",
    "chat",
    "chat_stream_usage",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_issues_of_ten_calls_each_in_parallel_are_metered_exactly() {
    let fake = FakeUpstream::start().await;
    let gateway = start_gateway(Upstream::OpenAi {
        base_url: fake.openai_base_url(),
        api_key: UPSTREAM_KEY.to_owned(),
    })
    .await;
    let accesses: Vec<_> = (0..ISSUES)
        .map(|index| gateway.register_issue(&format!("issue-{index}"), LlmBudget::default()))
        .collect();
    let outputs = join_all(
        accesses
            .iter()
            .map(|access| run_client("openai_client.py", access, "gpt-4o-mini", SCENARIOS)),
    )
    .await;
    let mut all_recorded = Vec::new();
    for (access, lines) in accesses.iter().zip(&outputs) {
        let record = gateway.finish_issue(&access.token);
        assert_eq!(record.issue_id, access.issue_id);
        assert_eq!(record.calls.len(), SCENARIOS.len());
        assert!(
            record
                .calls
                .iter()
                .all(|call| call.issue_id == access.issue_id)
        );
        let seen = sum(lines.iter().map(|line| {
            client_usage(
                api_of(line["scenario"].as_str().unwrap_or(""), "openai"),
                &line["usage"],
            )
        }));
        assert_eq!(
            record.totals.usage, seen,
            "issue {} totals equal what its client saw",
            access.issue_id
        );
        assert_eq!(record.totals.successful_calls as usize, SCENARIOS.len());
        all_recorded.extend(record.calls.iter().map(|call| call.usage));
    }
    assert_eq!(
        sum(all_recorded),
        sum(fake.reported().iter().map(fake_usage))
    );
    assert_eq!(fake.reported().len(), ISSUES * SCENARIOS.len());
    gateway.shutdown().await;
}
