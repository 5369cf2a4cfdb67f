//! Added latency of the LLM gateway: the same local fake upstream called directly and through the
//! gateway in the same run, at a fixed 500 calls/s for 5 s each (p50/p99), then the most calls/s
//! each path sustains with 32 concurrent callers. Prints figures; asserts nothing.
//!
//! Run with `cargo bench --profile dev -p agentpod-llm-gateway`.

#[path = "../tests/llm_gateway/support/fake_upstream.rs"]
mod fake_upstream;

use std::sync::Arc;
use std::time::{Duration, Instant};

use agentpod_llm_gateway::{LlmBudget, LlmConfig, LlmGateway, Upstream};
use fake_upstream::{FakeUpstream, UPSTREAM_KEY};

const RATE_PER_SECOND: u64 = 500;
const PACED_DURATION: Duration = Duration::from_secs(5);
const SATURATION_DURATION: Duration = Duration::from_secs(3);
const CONCURRENCY: usize = 32;
const BODY: &str = r#"{"model":"gpt-4o","messages":[{"role":"user","content":"benchmark call"}]}"#;

struct Target {
    url: String,
    key: String,
}

async fn call(client: &reqwest::Client, target: &Target) -> Option<Duration> {
    let started = Instant::now();
    let response = client
        .post(&target.url)
        .bearer_auth(&target.key)
        .header("content-type", "application/json")
        .body(BODY)
        .send()
        .await
        .ok()?;
    let ok = response.status().is_success();
    response.bytes().await.ok()?;
    ok.then(|| started.elapsed())
}

/// Calls at a fixed rate (open loop) and returns every latency, in milliseconds, sorted.
async fn paced(client: &reqwest::Client, target: Arc<Target>) -> (Vec<f64>, usize) {
    let mut interval = tokio::time::interval(Duration::from_micros(1_000_000 / RATE_PER_SECOND));
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let total = (RATE_PER_SECOND * PACED_DURATION.as_secs()) as usize;
    let mut tasks = Vec::with_capacity(total);
    for _ in 0..total {
        interval.tick().await;
        let client = client.clone();
        let target = Arc::clone(&target);
        tasks.push(tokio::spawn(async move { call(&client, &target).await }));
    }
    let mut latencies = Vec::with_capacity(total);
    let mut failures = 0;
    for task in tasks {
        match task.await.ok().flatten() {
            Some(latency) => latencies.push(latency.as_secs_f64() * 1000.0),
            None => failures += 1,
        }
    }
    latencies.sort_by(f64::total_cmp);
    (latencies, failures)
}

async fn saturated(client: &reqwest::Client, target: Arc<Target>) -> f64 {
    let deadline = Instant::now() + SATURATION_DURATION;
    let workers: Vec<_> = (0..CONCURRENCY)
        .map(|_| {
            let client = client.clone();
            let target = Arc::clone(&target);
            tokio::spawn(async move {
                let mut done = 0u64;
                while Instant::now() < deadline {
                    if call(&client, &target).await.is_some() {
                        done += 1;
                    }
                }
                done
            })
        })
        .collect();
    let mut total = 0;
    for worker in workers {
        total += worker.await.unwrap_or(0);
    }
    total as f64 / SATURATION_DURATION.as_secs_f64()
}

fn percentile(sorted: &[f64], fraction: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * fraction).round() as usize]
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(async {
        let fake = FakeUpstream::start().await;
        let mut config = LlmConfig::new(Upstream::OpenAi {
            base_url: fake.openai_base_url(),
            api_key: UPSTREAM_KEY.to_owned(),
        });
        config.request_timeout = Duration::from_secs(10);
        let gateway = LlmGateway::start("127.0.0.1:0".parse().expect("address"), config)
            .await
            .expect("start the gateway");
        let access = gateway.register_issue("bench", LlmBudget::default());
        let direct = Arc::new(Target {
            url: format!("{}/chat/completions", fake.openai_base_url()),
            key: UPSTREAM_KEY.to_owned(),
        });
        let through = Arc::new(Target {
            url: format!("{}/v1/chat/completions", access.url),
            key: access.token.to_string(),
        });
        let client = reqwest::Client::new();
        // Warm both paths' connection pools.
        for _ in 0..200 {
            call(&client, &direct).await;
            call(&client, &through).await;
        }
        let (direct_latencies, direct_failures) = paced(&client, Arc::clone(&direct)).await;
        let (gateway_latencies, gateway_failures) = paced(&client, Arc::clone(&through)).await;
        println!("llm gateway latency at {RATE_PER_SECOND} calls/s for {PACED_DURATION:?} (non-streamed chat, loopback fake upstream)");
        for (name, latencies, failures) in [
            ("direct", &direct_latencies, direct_failures),
            ("via gateway", &gateway_latencies, gateway_failures),
        ] {
            println!(
                "  {name:<12} calls {:>5}  failed {failures}  p50 {:.3} ms  p99 {:.3} ms  max {:.3} ms",
                latencies.len(),
                percentile(latencies, 0.50),
                percentile(latencies, 0.99),
                percentile(latencies, 1.0),
            );
        }
        println!(
            "  added        p50 {:.3} ms  p99 {:.3} ms",
            percentile(&gateway_latencies, 0.50) - percentile(&direct_latencies, 0.50),
            percentile(&gateway_latencies, 0.99) - percentile(&direct_latencies, 0.99),
        );
        let direct_rate = saturated(&client, Arc::clone(&direct)).await;
        let gateway_rate = saturated(&client, Arc::clone(&through)).await;
        println!("max sustained with {CONCURRENCY} concurrent callers for {SATURATION_DURATION:?}");
        println!("  direct       {direct_rate:.0} calls/s");
        println!("  via gateway  {gateway_rate:.0} calls/s");
        let record = gateway.finish_issue(&access.token);
        println!("  (gateway recorded {} calls)", record.calls.len());
        gateway.shutdown().await;
    });
}
