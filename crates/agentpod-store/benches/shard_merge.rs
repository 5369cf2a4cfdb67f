//! Benchmark (printed, never asserted): `merge_shard_bundles` and the import of the merged run
//! for 10,000 outcomes from 4 shards' bundles, beside its baseline in the same run — the import
//! of one bundle of the same 10,000 outcomes, as `agentpod import` does. Both start from the
//! bundles' JSON bytes, as the commands read them from files, and write into a fresh store.
//! `scripts/bench shard_merge` runs it.

use std::time::{Duration, Instant};

use agentpod_store::{
    OutcomeRecord, OutcomeStatus, RunBundle, RunRecord, RunSharding, RunStatus, RunStore,
    ShardPart, merge_shard_bundles, sample_fingerprint, work_index,
};
use chrono::{TimeZone, Utc};
use serde_json::json;

const ISSUES: usize = 5_000;
const TRIALS: u32 = 2;
const SHARDS: u32 = 4;
const ROUNDS: usize = 3;

fn main() {
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    let issues: Vec<(String, serde_json::Value)> = (0..ISSUES)
        .map(|index| {
            let id = format!("T-{index:05}");
            (id.clone(), json!({"id": id, "fields": {"subject": "a ticket", "body": "x".repeat(200)}, "expected": {"category": "billing"}}))
        })
        .collect();
    let sample = sample_fingerprint(&issues, TRIALS);
    let whole = bundle("whole", &issues, None, &sample);
    let whole_bytes = serde_json::to_vec(&whole).unwrap();
    let shard_bytes: Vec<Vec<u8>> = (1..=SHARDS)
        .map(|part| {
            let shard = bundle(&format!("shard-{part}"), &issues, Some(part), &sample);
            serde_json::to_vec(&shard).unwrap()
        })
        .collect();

    let mut import_times = Vec::new();
    let mut merge_times = Vec::new();
    for round in 0..ROUNDS {
        let directory = tempfile::tempdir().unwrap();
        runtime.block_on(async {
            let store = RunStore::open(&directory.path().join("import.db"))
                .await
                .unwrap();
            let started = Instant::now();
            let bundle: RunBundle = serde_json::from_slice(&whole_bytes).unwrap();
            store.import_bundle(&bundle).await.unwrap();
            import_times.push(started.elapsed());
            assert_eq!(store.outcomes(&bundle.run.id).await.unwrap().len(), 10_000);

            let store = RunStore::open(&directory.path().join("merge.db"))
                .await
                .unwrap();
            let started = Instant::now();
            let bundles: Vec<(String, RunBundle)> = shard_bytes
                .iter()
                .enumerate()
                .map(|(index, bytes)| {
                    (
                        format!("shard-{}", index + 1),
                        serde_json::from_slice(bytes).unwrap(),
                    )
                })
                .collect();
            let merged = merge_shard_bundles(&bundles, &format!("merged-{round}")).unwrap();
            store.import_bundle(&merged).await.unwrap();
            merge_times.push(started.elapsed());
            assert_eq!(store.outcomes(&merged.run.id).await.unwrap().len(), 10_000);
        });
    }
    let median = |times: &mut Vec<Duration>| {
        times.sort();
        times[times.len() / 2].as_secs_f64()
    };
    let import = median(&mut import_times);
    let merge = median(&mut merge_times);
    println!(
        "shard_merge: 10,000 outcomes ({ISSUES} issues × {TRIALS} trials), median of {ROUNDS} rounds, into a fresh store"
    );
    println!("  import of one 10,000-outcome bundle (baseline)  {import:>8.3} s");
    println!(
        "  merge of {SHARDS} shards' bundles (checks + import)   {merge:>8.3} s   {:.2}× the import",
        merge / import
    );
}

/// A run's bundle: every pair (`part: None`) or shard `part`'s, each outcome passed or failed.
fn bundle(
    id: &str,
    issues: &[(String, serde_json::Value)],
    part: Option<u32>,
    sample: &str,
) -> RunBundle {
    let started_at = Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap();
    let mut outcomes = Vec::new();
    for trial in 1..=TRIALS {
        for (position, (issue_id, _)) in issues.iter().enumerate() {
            let index = work_index(position, trial, issues.len());
            if let Some(part) = part
                && !(ShardPart {
                    part,
                    parts: SHARDS,
                })
                .holds(index)
            {
                continue;
            }
            outcomes.push(OutcomeRecord {
                run_id: id.to_string(),
                issue_id: issue_id.clone(),
                trial,
                pod_index: 1,
                status: if index.is_multiple_of(3) {
                    OutcomeStatus::Failed
                } else {
                    OutcomeStatus::Passed
                },
                reason: "the answer's category was billing".to_string(),
                exit: json!({"exited": {"code": 0}}),
                started_at,
                duration_ms: 1_500,
                output: Some(json!({"category": "billing"})),
                grade: json!({"checks": [{"field": "category", "passed": true}]}),
                stdout: "done".to_string(),
                stdout_bytes: 4,
                stdout_truncated: false,
                stderr: String::new(),
                stderr_bytes: 0,
                stderr_truncated: false,
                usage: Default::default(),
                own_time: Default::default(),
            });
        }
    }
    RunBundle {
        format: agentpod_store::RUN_BUNDLE_FORMAT.to_string(),
        run: RunRecord {
            id: id.to_string(),
            spec_name: "bench".to_string(),
            spec_path: "bench.yaml".to_string(),
            agent_version: "v1".to_string(),
            runtime: "local".to_string(),
            pods: 4,
            seed: 7,
            issue_count: issues.len(),
            trials: TRIALS,
            status: RunStatus::Finished,
            started_at,
            finished_at: Some(started_at + chrono::Duration::minutes(30)),
            summary: None,
            unprotected: false,
            evaluation_set: None,
            sharding: part.map(|part| RunSharding {
                group: "g-bench".to_string(),
                part: Some(part),
                parts: SHARDS,
                sample_sha256: sample.to_string(),
                spec_sha256: "spec".to_string(),
                host: format!("machine-{part}"),
                idle_ms: 0,
                shards: Vec::new(),
            }),
        },
        spec: json!({"name": "bench"}),
        boundary: None,
        issues: issues.to_vec(),
        outcomes,
        boundary_events: Vec::new(),
        steps: Vec::new(),
    }
}
