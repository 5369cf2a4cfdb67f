//! Pod start-up and per-issue database figures, measured against the design's alternative in the
//! same run: how long a pod takes to be ready (network, container, Postgres accepting, demo
//! fixtures seeded), how long a per-issue database takes to clone from the seeded template, and
//! how long a fresh Postgres container per issue would take instead. Where the runtime keeps a
//! seed cache, also how long a pod takes to be ready from the cached seed (started from the seed
//! image, template attached, no seeding), what making the seed costs once, and the per-issue
//! clone in such a pod.
//!
//! Run with `scripts/bench` (needs the Docker engine and the `postgres:15` image; the local
//! runtime is measured too when its binaries are there). Figures are printed, not asserted.

use std::path::Path;
use std::time::{Duration, Instant};

use agentpod_db::{PodDatabase, seed_key};
use agentpod_runtime::{DockerRuntime, LocalRuntime, PodRequest, Runtime};
use agentpod_spec::PodSpec;

const POD_STARTS: usize = 5;
const CLONES: usize = 50;

#[tokio::main]
async fn main() {
    let spec_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../pods/support-triage.yaml");
    let spec = agentpod_spec::load(&spec_path).unwrap_or_else(|error| panic!("{error}"));
    let run_id = agentpod_runner::new_run_id();
    println!(
        "agentpod bench · pod start-up and per-issue databases · demo fixtures ({} files)",
        spec.database.fixtures.len()
    );
    println!();

    let mut runtimes: Vec<Box<dyn Runtime>> = Vec::new();
    match DockerRuntime::connect().await {
        Ok(docker) => runtimes.push(Box::new(docker)),
        Err(error) => println!("docker: skipped ({error})"),
    }
    match LocalRuntime::detect() {
        Ok(local) => runtimes.push(Box::new(local)),
        Err(error) => println!("local: skipped ({error})"),
    }

    for runtime in runtimes {
        let kind = runtime.kind();
        let mut started = Vec::new();
        let mut ready = Vec::new();
        let mut clones = Vec::new();
        let mut drops = Vec::new();
        for attempt in 1..=POD_STARTS {
            let request = PodRequest {
                run_id: format!("{run_id}-bench"),
                pod_index: attempt,
                image: spec.database.image.clone(),
            };
            let clock = Instant::now();
            let pod = runtime
                .start_pod(&request)
                .await
                .unwrap_or_else(|error| panic!("{kind}: {error}"));
            started.push(clock.elapsed());
            let mut database = PodDatabase::seed(pod.postgres(), &spec.database.fixtures)
                .await
                .unwrap_or_else(|error| panic!("{kind}: {error}"));
            database
                .apply_boundary(spec.boundary.as_ref())
                .await
                .unwrap_or_else(|error| panic!("{kind}: {error}"));
            ready.push(clock.elapsed());
            if attempt == 1 {
                for issue in 0..CLONES {
                    let clock = Instant::now();
                    let issue_database = database
                        .create_issue_database(&format!("bench-{issue}"))
                        .await
                        .unwrap_or_else(|error| panic!("{kind}: {error}"));
                    clones.push(clock.elapsed());
                    let clock = Instant::now();
                    database
                        .drop_issue_database(issue_database)
                        .await
                        .unwrap_or_else(|error| panic!("{kind}: {error}"));
                    drops.push(clock.elapsed());
                }
            }
            database.close().await;
            pod.shutdown()
                .await
                .unwrap_or_else(|error| panic!("{kind}: {error}"));
        }

        let fresh = median(&ready);
        let clone = median(&clones);
        println!("{kind} runtime");
        println!(
            "  pod ready (network, container, Postgres accepting, fixtures seeded, boundary applied)  median {}  max {}  (n={POD_STARTS}; target < 3 s)",
            show(fresh),
            show(max(&ready))
        );
        println!(
            "    of which start until Postgres accepts                            median {}",
            show(median(&started))
        );
        println!(
            "  per-issue database: CREATE DATABASE … TEMPLATE                      median {}  p95 {}  (n={CLONES}; target < 150 ms)",
            show(clone),
            show(p95(&clones))
        );
        println!(
            "    DROP DATABASE … WITH (FORCE) afterwards                          median {}",
            show(median(&drops))
        );
        println!(
            "  baseline: a fresh Postgres server per issue instead (start + seed)  median {}",
            show(fresh)
        );
        println!(
            "  ratio: per-issue clone / fresh pod per issue = {:.3} ({:.0}× faster)",
            clone.as_secs_f64() / fresh.as_secs_f64(),
            fresh.as_secs_f64() / clone.as_secs_f64()
        );
        if runtime.seed_cache().is_some() {
            cached_seed(runtime.as_ref(), &spec, &run_id, fresh).await;
        }
        println!(
            "  verdict: pod ready {} 3 s, clone {} 150 ms",
            if fresh < Duration::from_secs(3) {
                "under"
            } else {
                "OVER"
            },
            if clone < Duration::from_millis(150) {
                "under"
            } else {
                "OVER"
            }
        );
        println!();
    }
}

/// Pods from the seed cache, beside `fresh` (a pod started and seeded from scratch, measured
/// above in the same run).
async fn cached_seed(runtime: &dyn Runtime, spec: &PodSpec, run_id: &str, fresh: Duration) {
    let kind = runtime.kind();
    let Some(cache) = runtime.seed_cache() else {
        return;
    };
    let fail = |error: &dyn std::fmt::Display| -> ! { panic!("{kind}: {error}") };
    let boundary = spec.boundary.as_ref();
    let request = |image: &str, pod_index: usize| PodRequest {
        run_id: format!("{run_id}-bench"),
        pod_index,
        image: image.to_string(),
    };
    // Made afresh even when the demo's seed is already cached: the commit then settles on the
    // cached image, and this measures what a first run pays.
    let clock = Instant::now();
    let identity = cache
        .image_identity(&spec.database.image)
        .await
        .unwrap_or_else(|error| fail(&error));
    let key =
        seed_key(&identity, &spec.database.fixtures, boundary).unwrap_or_else(|error| fail(&error));
    let server = cache
        .start_seeding(&request(&spec.database.image, 0))
        .await
        .unwrap_or_else(|error| fail(&error));
    let mut database = PodDatabase::seed(server.postgres(), &spec.database.fixtures)
        .await
        .unwrap_or_else(|error| fail(&error));
    database
        .apply_boundary(boundary)
        .await
        .unwrap_or_else(|error| fail(&error));
    database.close().await;
    let seed = server
        .commit(&key)
        .await
        .unwrap_or_else(|error| fail(&error));
    let making = clock.elapsed();

    let mut started = Vec::new();
    let mut ready = Vec::new();
    let mut clones = Vec::new();
    for attempt in 1..=POD_STARTS {
        let clock = Instant::now();
        let pod = runtime
            .start_pod(&request(&seed.id, attempt))
            .await
            .unwrap_or_else(|error| fail(&error));
        started.push(clock.elapsed());
        let (database, _) = PodDatabase::attach(pod.postgres(), boundary)
            .await
            .unwrap_or_else(|error| fail(&error));
        ready.push(clock.elapsed());
        if attempt == 1 {
            for issue in 0..CLONES {
                let clock = Instant::now();
                let issue_database = database
                    .create_issue_database(&format!("bench-cached-{issue}"))
                    .await
                    .unwrap_or_else(|error| fail(&error));
                clones.push(clock.elapsed());
                database
                    .drop_issue_database(issue_database)
                    .await
                    .unwrap_or_else(|error| fail(&error));
            }
        }
        database.close().await;
        pod.shutdown().await.unwrap_or_else(|error| fail(&error));
    }
    let cached = median(&ready);
    println!(
        "  pod ready from the cached seed ({}; no initdb, no seeding)       median {}  max {}  (n={POD_STARTS}; target < 1 s)",
        seed.name,
        show(cached),
        show(max(&ready))
    );
    println!(
        "    of which start until Postgres accepts (seed unpacked to tmpfs)      median {}",
        show(median(&started))
    );
    println!(
        "    baseline in this run: fresh container + initdb + seeding            median {}  ({:.1}× faster from the cache)",
        show(fresh),
        fresh.as_secs_f64() / cached.as_secs_f64()
    );
    println!(
        "  per-issue database in a pod from the cached seed                    median {}  p95 {}  (n={CLONES})",
        show(median(&clones)),
        show(p95(&clones))
    );
    println!(
        "  making the seed once (seeding server, seed, boundary, stop, commit)  {}",
        show(making)
    );
    println!(
        "  verdict: pod ready from the cached seed {} 1 s",
        if cached < Duration::from_secs(1) {
            "under"
        } else {
            "OVER"
        }
    );
}

fn median(values: &[Duration]) -> Duration {
    quantile(values, 0.5)
}

fn p95(values: &[Duration]) -> Duration {
    quantile(values, 0.95)
}

fn max(values: &[Duration]) -> Duration {
    values.iter().copied().max().unwrap_or_default()
}

/// Nearest rank, as the reports use.
fn quantile(values: &[Duration], quantile: f64) -> Duration {
    let mut sorted = values.to_vec();
    sorted.sort();
    let rank = (quantile * sorted.len() as f64).ceil() as usize;
    sorted
        .get(rank.clamp(1, sorted.len().max(1)) - 1)
        .copied()
        .unwrap_or_default()
}

fn show(duration: Duration) -> String {
    if duration < Duration::from_secs(1) {
        format!("{:.1} ms", duration.as_secs_f64() * 1000.0)
    } else {
        format!("{:.2} s", duration.as_secs_f64())
    }
}
