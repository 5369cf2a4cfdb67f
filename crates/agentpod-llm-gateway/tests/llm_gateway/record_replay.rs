//! Record against the fake upstream, stop it, replay: the same answers and the same records.

use agentpod_llm_gateway::{CallOutcome, LlmBudget, LlmCall, Upstream};

use crate::support::fake_upstream::{FakeUpstream, UPSTREAM_KEY};
use crate::support::{assert_recorded_matches_client, run_client, start_gateway};

fn comparable(calls: &[LlmCall]) -> Vec<(String, u16, String, bool)> {
    calls
        .iter()
        .map(|call| {
            (
                format!("{:?}", call.usage),
                call.status,
                call.response.text.clone(),
                call.streamed,
            )
        })
        .collect()
}

async fn record_then_replay(
    script: &str,
    scenarios: &[&str],
    model: &str,
    upstream_for: fn(&FakeUpstream) -> Upstream,
) {
    let cassettes = tempfile::tempdir().expect("cassette directory");
    let fake = FakeUpstream::start().await;
    let recorder = start_gateway(Upstream::Record {
        upstream: Box::new(upstream_for(&fake)),
        cassette_dir: cassettes.path().to_owned(),
    })
    .await;
    let access = recorder.register_issue("issue-record", LlmBudget::default());
    let recorded_lines = run_client(script, &access, model, scenarios).await;
    let recorded = recorder.finish_issue(&access.token);
    recorder.shutdown().await;
    assert_recorded_matches_client(script, &recorded.calls, &recorded_lines);
    fake.stop();

    let player = start_gateway(Upstream::Replay {
        cassette_dir: cassettes.path().to_owned(),
    })
    .await;
    let access = player.register_issue("issue-replay", LlmBudget::default());
    let replayed_lines = run_client(script, &access, model, scenarios).await;
    let replayed = player.finish_issue(&access.token);
    assert_eq!(
        replayed_lines, recorded_lines,
        "the client sees the same answers"
    );
    assert_eq!(comparable(&replayed.calls), comparable(&recorded.calls));
    assert_eq!(replayed.totals.usage, recorded.totals.usage);
    assert_eq!(replayed.totals.cost_usd, recorded.totals.cost_usd);

    // A request never recorded is a clear miss naming its key, recorded as such.
    let missing = player.register_issue("issue-miss", LlmBudget::default());
    let lines = run_client(script, &missing, "never-recorded-model", &scenarios[..1]).await;
    assert_eq!(lines[0]["error_status"], 404);
    assert!(
        lines[0]["error"].as_str().unwrap().contains("key"),
        "{}",
        lines[0]
    );
    assert_eq!(
        player.finish_issue(&missing.token).calls[0].outcome,
        CallOutcome::ReplayMiss
    );
    player.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openai_record_then_replay_without_the_upstream() {
    let scenarios = [
        "chat",
        "chat_stream",
        "chat_stream_usage",
        "tools",
        "responses",
        "responses_stream",
    ];
    record_then_replay("openai_client.py", &scenarios, "gpt-4o", |fake| {
        Upstream::OpenAi {
            base_url: fake.openai_base_url(),
            api_key: UPSTREAM_KEY.to_owned(),
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anthropic_record_then_replay_without_the_upstream() {
    record_then_replay(
        "anthropic_client.py",
        &["messages", "messages_stream", "tools"],
        "claude-3-5-haiku",
        |fake| Upstream::Anthropic {
            base_url: fake.anthropic_base_url(),
            api_key: UPSTREAM_KEY.to_owned(),
        },
    )
    .await;
}
