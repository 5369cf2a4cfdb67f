//! The gateway benches' load generator: calls started at a fixed rate whatever the answers do
//! (open loop, as a load generator in front of a service drives it), from a pacing thread of its
//! own onto the callers' runtime, with a cap on calls in flight like a load generator's fixed
//! set of connections. A call's latency runs from the moment its task starts, so time spent
//! waiting for a free slot counts; a path that falls behind shows it in its tail.
//!
//! Shared by the LLM and tool gateway benches (`#[path]`).

#![allow(dead_code)]

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::runtime::Handle;
use tokio::sync::Semaphore;

/// What one path gave over all its slices.
#[derive(Default)]
pub struct Measured {
    /// Latencies of the calls that succeeded, in milliseconds, sorted once `finish` ran.
    pub latencies_ms: Vec<f64>,
    pub failures: usize,
    /// Calls started, and the time the pacing took to start them (offered rate).
    pub started: usize,
    pub pacing: Duration,
}

impl Measured {
    pub fn finish(&mut self) {
        self.latencies_ms.sort_by(f64::total_cmp);
    }

    /// The value at `fraction` (0.5 for the median) of the sorted latencies.
    pub fn percentile(&self, fraction: f64) -> f64 {
        if self.latencies_ms.is_empty() {
            return f64::NAN;
        }
        let index = ((self.latencies_ms.len() - 1) as f64 * fraction).round() as usize;
        self.latencies_ms[index]
    }

    pub fn offered_rate(&self) -> f64 {
        self.started as f64 / self.pacing.as_secs_f64()
    }
}

/// Starts `rate` calls per second for `duration` on `callers`, at most `max_in_flight` at once,
/// and adds what they gave to `into`. `call` gets the call's sequence number and says whether
/// the call succeeded (answered, and answered right). Blocks the calling thread, which must not
/// be one of the runtime's.
pub fn run_slice<F, Fut>(
    callers: &Handle,
    rate: u32,
    duration: Duration,
    max_in_flight: &Arc<Semaphore>,
    first_sequence: u64,
    call: F,
    into: &mut Measured,
) where
    F: Fn(u64) -> Fut,
    Fut: Future<Output = bool> + Send + 'static,
{
    let period = Duration::from_secs_f64(1.0 / f64::from(rate));
    let total = (f64::from(rate) * duration.as_secs_f64()).round() as u64;
    let mut tasks = Vec::with_capacity(total as usize);
    let started = Instant::now();
    for index in 0..total {
        let due = started + period.mul_f64(index as f64);
        let now = Instant::now();
        if due > now {
            std::thread::sleep(due - now);
        }
        let slots = Arc::clone(max_in_flight);
        let calling = call(first_sequence + index);
        tasks.push(callers.spawn(async move {
            let begun = Instant::now();
            let Ok(_slot) = slots.acquire_owned().await else {
                return None;
            };
            calling.await.then(|| begun.elapsed())
        }));
    }
    into.pacing += started.elapsed();
    into.started += tasks.len();
    callers.block_on(async {
        for task in tasks {
            match task.await {
                Ok(Some(latency)) => into.latencies_ms.push(latency.as_secs_f64() * 1000.0),
                _ => into.failures += 1,
            }
        }
    });
}

/// What a closed loop completed: calls that succeeded, and their rate per second.
pub struct ClosedLoop {
    pub succeeded: u64,
    pub rate: f64,
}

/// How many calls `workers` callers, each starting its next call when the last one answered
/// (closed loop), complete in `duration`.
pub fn closed_loop<F, Fut>(
    callers: &Handle,
    workers: usize,
    duration: Duration,
    call: F,
) -> ClosedLoop
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = bool> + Send + 'static,
{
    let call = Arc::new(call);
    callers.block_on(async {
        let started = Instant::now();
        let deadline = started + duration;
        let tasks: Vec<_> = (0..workers)
            .map(|worker| {
                let call = Arc::clone(&call);
                tokio::spawn(async move {
                    let mut done = 0u64;
                    let mut sequence = worker as u64 * 1_000_000_000;
                    while Instant::now() < deadline {
                        if call(sequence).await {
                            done += 1;
                        }
                        sequence += 1;
                    }
                    done
                })
            })
            .collect();
        let mut succeeded = 0;
        for task in tasks {
            succeeded += task.await.unwrap_or(0);
        }
        ClosedLoop {
            succeeded,
            rate: succeeded as f64 / started.elapsed().as_secs_f64(),
        }
    })
}

/// A multi-threaded runtime of `threads` workers named `name`, for one side of a bench.
pub fn runtime(name: &str, threads: usize) -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .thread_name(name)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// Nanoseconds on a CPU so far of this process's threads whose name starts with `name` (the
/// kernel's per-thread schedstat): a side's own work, which other load on the machine does not
/// inflate as it does latency.
pub fn cpu_ns_of_threads(name: &str) -> u64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    tasks
        .flatten()
        .filter(|task| {
            std::fs::read_to_string(task.path().join("comm"))
                .is_ok_and(|comm| comm.trim_end().starts_with(name))
        })
        .filter_map(|task| {
            let schedstat = std::fs::read_to_string(task.path().join("schedstat")).ok()?;
            schedstat.split_whitespace().next()?.parse::<u64>().ok()
        })
        .sum()
}
