//! Added latency of the LLM gateway, measured in one run against two baselines on the same local
//! fake upstream and the same load:
//! - direct: the fake upstream called straight, the floor;
//! - a bare relay: hyper passing requests and answers through untouched, the floor of any proxy
//!   (one more loopback hop), so what the gateway adds beyond it is its own work;
//! - LiteLLM's proxy (when `scripts/bench` could install it), the tool users would otherwise pick.
//!
//! The load is open loop at a fixed 2,000 calls/s (a pacing thread starts calls on schedule
//! whatever the answers do, at most 16 in flight), in interleaved one-second slices per path so
//! that other work on a shared machine falls on every path alike. The request is a non-streamed
//! chat of about 1.3 KB (a system prompt, a few turns, one tool). The gateway meters and records
//! every call as in a run; the bench checks at the end that every answered call is in the
//! issue's record. Then each path's most calls/s with 16 callers in a closed loop.
//!
//! Sides run on runtimes of their own: the callers (1 thread), the fake upstream (1 thread), the
//! gateway and the bare relay (2 threads each, as on a 2-core machine). Prints figures; asserts nothing.
//! Run with `cargo bench -p agentpod-llm-gateway --bench gateway_latency` (the bench profile,
//! optimised like the release build users install).

#[path = "support/bare_relay.rs"]
mod bare_relay;
#[path = "../tests/llm_gateway/support/fake_upstream.rs"]
mod fake_upstream;
#[path = "support/litellm_proxy.rs"]
mod litellm_proxy;
#[path = "support/open_loop.rs"]
mod open_loop;

use std::sync::Arc;
use std::time::Duration;

use agentpod_llm_gateway::{LlmBudget, LlmConfig, LlmGateway, Upstream};
use bytes::Bytes;
use fake_upstream::{FakeUpstream, UPSTREAM_KEY};
use open_loop::Measured;
use tokio::sync::Semaphore;

const RATE_PER_SECOND: u32 = 2_000;
const SLICE: Duration = Duration::from_secs(1);
const ROUNDS: usize = 5;
/// The callers' connections: a load generator's fixed set, under the gateway's cap of 32 open
/// connections (past it a connection waits in the backlog until another closes).
const MAX_IN_FLIGHT: usize = 16;
const WARM_UP_CALLS: u64 = 300;
/// LiteLLM beside the gateway at a rate it sustains: fewer calls a second, so longer slices.
const LITELLM_ROUNDS: usize = 3;
const LITELLM_SLICE: Duration = Duration::from_secs(2);
const CLOSED_LOOP: Duration = Duration::from_secs(2);
const CLOSED_LOOP_WORKERS: usize = 16;
/// Every caller waits at most this for an answer; a call past it counts as failed.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);
const MODEL: &str = "gpt-4o";
/// The paths, in this order; LiteLLM's only when it could be installed.
const DIRECT: usize = 0;
const AGENTPOD: usize = 1;
const RELAY: usize = 2;
const LITELLM: usize = 3;

/// A chat as an agent sends it mid-task: about 1.3 KB.
fn request_body() -> Bytes {
    let system = "You are a support agent for an online shop. Read the ticket, look up the order \
                  with the tools you have, decide the category (refund, shipping, account, other) \
                  and write a one-line note for the human who reviews it. Never promise refunds \
                  above the order total, never share another customer's data.";
    let ticket = "Hello, I ordered a blue kettle (order 1042) two weeks ago and the tracking page \
                  has said 'label created' since then. I paid for express shipping. Can you tell \
                  me where it is, and refund the shipping part if it is lost? Thanks, Ada";
    let body = serde_json::json!({
        "model": MODEL,
        "temperature": 0,
        "max_tokens": 256,
        "messages": [
            {"role": "system", "content": system},
            {"role": "user", "content": ticket},
            {"role": "assistant", "content": "Let me look up order 1042 first."},
            {"role": "user", "content": format!("Order 1042: status label_created, carrier \
                DHL, shipping express 9.90 EUR, total 49.90 EUR, placed 14 days ago. {ticket}")},
        ],
        "tools": [{"type": "function", "function": {
            "name": "lookup_order", "description": "Look up one order by its id.",
            "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}},
                           "required": ["order_id"]}}}],
    });
    Bytes::from(body.to_string())
}

/// One way to the fake upstream.
struct Path {
    name: String,
    url: String,
    key: String,
}

async fn call(client: reqwest::Client, url: Arc<str>, key: Arc<str>, body: Bytes) -> bool {
    let sent = client
        .post(&*url)
        .bearer_auth(&*key)
        .header("content-type", "application/json")
        .body(body)
        .timeout(CALL_TIMEOUT)
        .send()
        .await;
    let Ok(response) = sent else {
        return false;
    };
    let ok = response.status().is_success();
    // The answer read whole: the time runs until the last byte, as an SDK waits for it.
    response
        .bytes()
        .await
        .is_ok_and(|answer| ok && answer.len() > 100)
}

type Caller =
    Arc<dyn Fn(u64) -> std::pin::Pin<Box<dyn Future<Output = bool> + Send>> + Send + Sync>;

fn caller(client: &reqwest::Client, path: &Path, body: &Bytes) -> Caller {
    let client = client.clone();
    let url: Arc<str> = Arc::from(path.url.as_str());
    let key: Arc<str> = Arc::from(path.key.as_str());
    let body = body.clone();
    Arc::new(move |_sequence| {
        Box::pin(call(
            client.clone(),
            Arc::clone(&url),
            Arc::clone(&key),
            body.clone(),
        ))
    })
}

fn print_path(name: &str, measured: &Measured) {
    println!(
        "  {:<24} p50 {:>7.3} ms  p99 {:>7.3} ms  max {:>8.3} ms  ({} ok, {} failed, {:.0} calls/s offered)",
        name,
        measured.percentile(0.50),
        measured.percentile(0.99),
        measured.percentile(1.0),
        measured.latencies_ms.len(),
        measured.failures,
        measured.offered_rate(),
    );
}

/// `through` minus `direct` at `fraction`, in milliseconds.
fn added(through: &Measured, direct: &Measured, fraction: f64) -> f64 {
    through.percentile(fraction) - direct.percentile(fraction)
}

fn ratio(numerator: f64, denominator: f64) -> String {
    if denominator > 0.0 && numerator.is_finite() {
        format!("{:.0}x", numerator / denominator)
    } else {
        "n/a (agentpod's added latency is within the noise)".to_owned()
    }
}

/// Open loop at `rate` over the paths `chosen`, in interleaved slices; prints each path, what
/// the gateway and LiteLLM add to the direct path and their ratio. Returns the paths' figures.
fn open_loop_table(
    callers: &tokio::runtime::Runtime,
    paths: &[Path],
    callers_of: &[Caller],
    chosen: &[usize],
    rate: u32,
    rounds: usize,
    slice: Duration,
) -> Vec<Measured> {
    let slots = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    let mut measured: Vec<Measured> = chosen.iter().map(|_| Measured::default()).collect();
    for round in 0..rounds {
        for (&index, into) in chosen.iter().zip(measured.iter_mut()) {
            open_loop::run_slice(
                callers.handle(),
                rate,
                slice,
                &slots,
                round as u64 * 1_000_000,
                &*callers_of[index],
                into,
            );
        }
    }
    for into in &mut measured {
        into.finish();
    }
    println!(
        "added latency at {rate} calls/s, open loop ({rounds} interleaved slices of {slice:?} per path, at most {MAX_IN_FLIGHT} in flight)"
    );
    for (&index, into) in chosen.iter().zip(&measured) {
        print_path(&paths[index].name, into);
    }
    let of = |path: usize| {
        chosen
            .iter()
            .position(|&index| index == path)
            .map(|at| &measured[at])
    };
    let (Some(direct), Some(gateway)) = (of(DIRECT), of(AGENTPOD)) else {
        return measured;
    };
    let agentpod = (added(gateway, direct, 0.5), added(gateway, direct, 0.99));
    println!(
        "  added by agentpod        p50 {:>7.3} ms  p99 {:>7.3} ms",
        agentpod.0, agentpod.1
    );
    if let Some(relay) = of(RELAY) {
        println!(
            "  added by the bare relay  p50 {:>7.3} ms  p99 {:>7.3} ms  (one more hop, no work: the floor of any proxy)",
            added(relay, direct, 0.5),
            added(relay, direct, 0.99)
        );
        println!(
            "  agentpod beyond the relay p50 {:>6.3} ms  p99 {:>7.3} ms  (the gateway's own work)",
            added(gateway, relay, 0.5),
            added(gateway, relay, 0.99)
        );
    }
    if let Some(litellm) = of(LITELLM) {
        let (p50, p99) = (added(litellm, direct, 0.5), added(litellm, direct, 0.99));
        println!("  added by LiteLLM         p50 {p50:>7.3} ms  p99 {p99:>7.3} ms");
        println!(
            "  LiteLLM's added latency / agentpod's: p50 {}, p99 {}",
            ratio(p50, agentpod.0),
            ratio(p99, agentpod.1)
        );
    }
    measured
}

fn main() {
    let callers = open_loop::runtime("callers", 1);
    let upstream_runtime = open_loop::runtime("fake-upstream", 1);
    let gateway_runtime = open_loop::runtime("gateway", 2);

    let fake = upstream_runtime.block_on(FakeUpstream::start());
    let mut config = LlmConfig::new(Upstream::OpenAi {
        base_url: fake.openai_base_url(),
        api_key: UPSTREAM_KEY.to_owned(),
    });
    config.request_timeout = CALL_TIMEOUT;
    let gateway = gateway_runtime
        .block_on(LlmGateway::start(
            "127.0.0.1:0".parse().expect("address"),
            config,
        ))
        .expect("start the gateway");
    let access = gateway.register_issue("bench", LlmBudget::default());
    let relay_runtime = open_loop::runtime("relay", 2);
    let relay = bare_relay::start(&relay_runtime, &fake.openai_base_url());

    let mut paths = vec![
        Path {
            name: "direct to upstream".to_owned(),
            url: format!("{}/chat/completions", fake.openai_base_url()),
            key: UPSTREAM_KEY.to_owned(),
        },
        Path {
            name: "agentpod gateway".to_owned(),
            url: format!("{}/v1/chat/completions", access.url),
            key: access.token.to_string(),
        },
        Path {
            name: "bare relay".to_owned(),
            url: format!("http://{relay}/v1/chat/completions"),
            key: UPSTREAM_KEY.to_owned(),
        },
    ];
    // One worker, LiteLLM's default: on a loaded 2-core machine uvicorn's supervisor kills
    // workers that are still importing LiteLLM when its health check times out.
    let litellm = match litellm_proxy::start(&fake.openai_base_url(), UPSTREAM_KEY, MODEL, 1) {
        Ok(litellm) => {
            paths.push(Path {
                name: format!("LiteLLM proxy {}", litellm.version),
                url: format!("{}/v1/chat/completions", litellm.base_url),
                key: litellm_proxy::MASTER_KEY.to_owned(),
            });
            Some(litellm)
        }
        Err(reason) => {
            println!("LiteLLM baseline skipped: {reason}");
            None
        }
    };

    let body = request_body();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(MAX_IN_FLIGHT)
        .build()
        .expect("an HTTP client");
    let callers_of: Vec<Caller> = paths
        .iter()
        .map(|path| caller(&client, path, &body))
        .collect();
    // Warms every path's connections; the gateway's warm-up calls are metered too.
    let warmed: Vec<u64> = callers_of
        .iter()
        .map(|call| {
            callers.block_on(async {
                let mut succeeded = 0;
                for sequence in 0..WARM_UP_CALLS {
                    succeeded += u64::from(call(sequence).await);
                }
                succeeded
            })
        })
        .collect();

    // Each path's most calls/s first, LiteLLM's included, while nothing is queued anywhere.
    println!(
        "llm gateway: most calls/s with {CLOSED_LOOP_WORKERS} callers in a closed loop for {CLOSED_LOOP:?} \
         (non-streamed chat of {} bytes; loopback fake upstream)",
        body.len()
    );
    let mut answered_through_gateway = warmed[AGENTPOD];
    let mut most = Vec::new();
    for (index, (path, call)) in paths.iter().zip(&callers_of).enumerate() {
        let call = Arc::clone(call);
        let sides = ["gateway", "fake-upstream", "relay"];
        let cpu_before = sides.map(open_loop::cpu_ns_of_threads);
        let closed = open_loop::closed_loop(
            callers.handle(),
            CLOSED_LOOP_WORKERS,
            CLOSED_LOOP,
            move |sequence| call(sequence),
        );
        // CPU per call: the sides' own work, which a loaded machine inflates far less than it
        // does latency.
        let per_call = |side: usize| {
            let spent = open_loop::cpu_ns_of_threads(sides[side]).saturating_sub(cpu_before[side]);
            spent as f64 / 1_000.0 / closed.succeeded.max(1) as f64
        };
        let (gateway_cpu, upstream_cpu, relay_cpu) = (per_call(0), per_call(1), per_call(2));
        let cpu = match index {
            DIRECT => format!("fake upstream's CPU {upstream_cpu:.1} µs per call"),
            AGENTPOD => format!(
                "gateway's CPU {gateway_cpu:.1} µs per call ({:.1}x the fake upstream's)",
                gateway_cpu / upstream_cpu.max(0.001)
            ),
            RELAY => format!(
                "relay's CPU {relay_cpu:.1} µs per call ({:.1}x the fake upstream's)",
                relay_cpu / upstream_cpu.max(0.001)
            ),
            _ => String::new(),
        };
        println!("  {:<24} {:>7.0} calls/s  {cpu}", path.name, closed.rate);
        if index == AGENTPOD {
            answered_through_gateway += closed.succeeded;
        }
        most.push(closed.rate);
    }

    // The target rate, on every path that sustains it (a path that does not would only queue).
    let at_rate: Vec<usize> = (0..paths.len())
        .filter(|&index| index != LITELLM || most[index] > f64::from(RATE_PER_SECOND) * 1.1)
        .collect();
    let measured = open_loop_table(
        &callers,
        &paths,
        &callers_of,
        &at_rate,
        RATE_PER_SECOND,
        ROUNDS,
        SLICE,
    );
    answered_through_gateway += measured[AGENTPOD].latencies_ms.len() as u64;
    if let Some(litellm_path) = paths.get(LITELLM)
        && !at_rate.contains(&LITELLM)
    {
        println!(
            "  {:<24} not run at {RATE_PER_SECOND} calls/s: it completes at most {:.0} calls/s here, so calls would only queue",
            litellm_path.name, most[LITELLM]
        );
    }

    // Beside LiteLLM at a rate it sustains (half its most), when it did not sustain the target.
    if paths.len() > LITELLM && !at_rate.contains(&LITELLM) {
        let rate = ((most[LITELLM] * 0.5 / 10.0).floor() * 10.0)
            .clamp(10.0, f64::from(RATE_PER_SECOND)) as u32;
        let measured = open_loop_table(
            &callers,
            &paths,
            &callers_of,
            &[DIRECT, AGENTPOD, LITELLM],
            rate,
            LITELLM_ROUNDS,
            LITELLM_SLICE,
        );
        answered_through_gateway += measured[1].latencies_ms.len() as u64;
    }
    let record = gateway.finish_issue(&access.token);
    println!(
        "metering: the gateway recorded {} calls for the {answered_through_gateway} answered through it",
        record.calls.len(),
    );
    drop(litellm);
    gateway_runtime.block_on(gateway.shutdown());
}
