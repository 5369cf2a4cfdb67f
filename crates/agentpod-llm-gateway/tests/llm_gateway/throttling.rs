//! Provider throttling through real HTTP, against a throttling test upstream (a test double:
//! no real provider can be reached here): retries honour `retry-after` and stop at their bound,
//! nothing is retried once the agent has bytes, and a limiter shared by two gateways (two pods)
//! caps what both send together.

use std::time::Duration;

use agentpod_llm_gateway::{
    CallOutcome, LlmBudget, LlmGateway, RetryPolicy, Upstream, UpstreamLimiter, UpstreamLimits,
};
use serde_json::{Value, json};

use crate::support::start_gateway_with;
use crate::support::throttling_upstream::{Scripted, ThrottlingUpstream};

fn upstream(throttling: &ThrottlingUpstream) -> Upstream {
    Upstream::OpenAiCompatible {
        base_url: throttling.base_url(),
        api_key: None,
    }
}

fn retries(max_retries: u32) -> RetryPolicy {
    RetryPolicy {
        max_retries,
        initial_backoff: Duration::from_millis(20),
        max_backoff: Duration::from_secs(2),
        jitter_seed: 1,
    }
}

async fn chat(gateway: &LlmGateway, token: &str, streamed: bool) -> (u16, String) {
    let response = reqwest::Client::new()
        .post(format!(
            "http://{}/v1/chat/completions",
            gateway.local_addr()
        ))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(
            json!({"model": "gpt-4o-mini", "stream": streamed,
                "messages": [{"role": "user", "content": "hi"}]})
            .to_string(),
        )
        .send()
        .await
        .expect("reach the gateway");
    let status = response.status().as_u16();
    (status, response.text().await.unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_is_retried_after_its_retry_after_and_the_agent_sees_the_answer() {
    let throttling = ThrottlingUpstream::scripted(
        vec![
            Scripted::Status(429, vec![("retry-after-ms", "150".to_owned())]),
            Scripted::Status(503, vec![]),
        ],
        Duration::ZERO,
    )
    .await;
    let gateway = start_gateway_with(upstream(&throttling), |config| {
        config.retry = retries(3);
    })
    .await;
    let access = gateway.register_issue("issue-a", LlmBudget::default());
    let (status, body) = chat(&gateway, &access.token, false).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(throttling.requests(), 3, "a 429, a 503, then the answer");
    let record = gateway.finish_issue(&access.token);
    let [call] = record.calls.as_slice() else {
        panic!("one call recorded: {:?}", record.calls);
    };
    assert_eq!(call.outcome, CallOutcome::Ok);
    assert_eq!(call.throttling.retries, 2);
    // 150 ms as the provider asked, then 20–40 ms of backoff (the 503 said nothing).
    let backoff = call.throttling.retry_backoff_ms;
    assert!((170.0..=191.0).contains(&backoff), "{backoff}");
    assert!(call.latency_ms >= backoff);
    assert_eq!(call.throttling.queue_wait_ms, 0.0, "no limits, no line");
    assert_eq!(
        record.totals.usage.input_tokens, 10,
        "only the answer is metered"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_are_bounded_and_then_the_agent_gets_the_providers_error() {
    let script = (0..10)
        .map(|_| Scripted::Status(429, vec![("retry-after", "0".to_owned())]))
        .collect();
    let throttling = ThrottlingUpstream::scripted(script, Duration::ZERO).await;
    let gateway = start_gateway_with(upstream(&throttling), |config| {
        config.retry = retries(2);
    })
    .await;
    let access = gateway.register_issue("issue-a", LlmBudget::default());
    let (status, body) = chat(&gateway, &access.token, false).await;
    assert_eq!(status, 429);
    let body: Value = serde_json::from_str(&body).expect("the provider's JSON");
    assert_eq!(
        body["error"]["message"], "throttling upstream says 429",
        "the provider's own error, as today"
    );
    assert_eq!(
        throttling.requests(),
        3,
        "the first attempt and two retries"
    );
    let record = gateway.finish_issue(&access.token);
    assert_eq!(record.calls[0].outcome, CallOutcome::UpstreamError);
    assert_eq!(record.calls[0].throttling.retries, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_after_beyond_the_cap_or_the_deadline_is_not_waited_for() {
    let throttling = ThrottlingUpstream::scripted(
        vec![
            Scripted::Status(429, vec![("retry-after", "5".to_owned())]),
            Scripted::Status(429, vec![("retry-after", "1".to_owned())]),
        ],
        Duration::ZERO,
    )
    .await;
    let gateway = start_gateway_with(upstream(&throttling), |config| {
        config.retry = retries(3);
        // 5 s is beyond the 2 s cap; 1 s is within it but past this 500 ms request timeout.
        config.request_timeout = Duration::from_millis(500);
    })
    .await;
    let access = gateway.register_issue("issue-a", LlmBudget::default());
    let (first, _) = chat(&gateway, &access.token, false).await;
    let (second, _) = chat(&gateway, &access.token, false).await;
    assert_eq!((first, second), (429, 429));
    assert_eq!(throttling.requests(), 2, "neither was sent again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_retried_once_the_stream_has_begun() {
    let throttling = ThrottlingUpstream::scripted(vec![Scripted::CutStream], Duration::ZERO).await;
    let gateway = start_gateway_with(upstream(&throttling), |config| {
        config.retry = retries(3);
    })
    .await;
    let access = gateway.register_issue("issue-a", LlmBudget::default());
    let (status, body) = chat(&gateway, &access.token, true).await;
    assert_eq!(status, 200);
    assert!(
        body.contains("half"),
        "the agent got the first bytes: {body}"
    );
    assert_eq!(
        throttling.requests(),
        1,
        "a broken stream is not sent again"
    );
    let record = gateway.finish_issue(&access.token);
    assert_eq!(record.calls[0].outcome, CallOutcome::StreamInterrupted);
    assert_eq!(record.calls[0].throttling.retries, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_limiter_caps_the_calls_of_two_gateways_together() {
    // Calls long enough that the moments the 8 calls reach the line (a few ms apart on a loaded
    // machine) do not matter beside them.
    let throttling = ThrottlingUpstream::scripted(Vec::new(), Duration::from_millis(300)).await;
    let limiter = UpstreamLimiter::new(UpstreamLimits {
        concurrent_calls: Some(2),
        ..UpstreamLimits::default()
    });
    let mut gateways = Vec::new();
    for _ in 0..2 {
        let limiter = limiter.clone();
        gateways.push(
            start_gateway_with(upstream(&throttling), move |config| {
                config.upstream_limits = Some(limiter);
            })
            .await,
        );
    }
    let accesses: Vec<_> = gateways
        .iter()
        .map(|gateway| gateway.register_issue("issue", LlmBudget::default()))
        .collect();
    let mut calls = Vec::new();
    for _ in 0..4 {
        for (gateway, access) in gateways.iter().zip(&accesses) {
            calls.push(chat(gateway, &access.token, false));
        }
    }
    let answers = futures_util::future::join_all(calls).await;
    assert!(
        answers.iter().all(|(status, _)| *status == 200),
        "{answers:?}"
    );
    assert_eq!(throttling.requests(), 8);
    assert_eq!(
        throttling.most_in_flight(),
        2,
        "never more than the shared cap"
    );
    let waited: f64 = gateways
        .iter()
        .zip(&accesses)
        .flat_map(|(gateway, access)| gateway.finish_issue(&access.token).calls)
        .map(|call| call.throttling.queue_wait_ms)
        .sum();
    // 8 calls of 300 ms, 2 at a time: the calls wait 0, 0, 300, 300, 600, 600, 900, 900 ms
    // (3,600 ms), less what late arrivals did not have to wait; without the shared line, 0.
    assert!(waited >= 3000.0, "{waited}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_line_refuses_the_call_and_the_request_timeout_ends_a_wait() {
    let throttling = ThrottlingUpstream::scripted(Vec::new(), Duration::ZERO).await;
    let gateway = start_gateway_with(upstream(&throttling), |config| {
        config.upstream_limits = Some(UpstreamLimiter::new(UpstreamLimits {
            // One a minute: the second call would wait a minute.
            requests_per_minute: Some(1),
            max_queued_calls: 1,
            ..UpstreamLimits::default()
        }));
        config.request_timeout = Duration::from_millis(300);
    })
    .await;
    let access = gateway.register_issue("issue", LlmBudget::default());
    let (first, second, third) = tokio::join!(
        chat(&gateway, &access.token, false),
        async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            chat(&gateway, &access.token, false).await
        },
        async {
            tokio::time::sleep(Duration::from_millis(150)).await;
            chat(&gateway, &access.token, false).await
        }
    );
    assert_eq!(first.0, 200, "{}", first.1);
    assert_eq!(second.0, 504, "{}", second.1);
    assert!(
        second.1.contains("waited for the run's upstream limits"),
        "{}",
        second.1
    );
    assert_eq!(third.0, 503, "the line holds one: {}", third.1);
    assert_eq!(throttling.requests(), 1);
    let record = gateway.finish_issue(&access.token);
    let outcomes: Vec<CallOutcome> = record.calls.iter().map(|call| call.outcome).collect();
    assert_eq!(
        outcomes,
        vec![
            CallOutcome::Ok,
            CallOutcome::UpstreamTimeout,
            CallOutcome::QueueFull
        ]
    );
    let waited = record.calls[1].throttling.queue_wait_ms;
    assert!(
        (200.0..=400.0).contains(&waited),
        "a wait cut by the timeout is still the provider's time: {waited}"
    );
}
