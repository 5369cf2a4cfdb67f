//! Sharded runs in the run store: a shard keeps its group, part and fingerprints; `--resume` owes
//! only its part's pairs; the bundles of every part merge into one run that reads back with the
//! shards it was made from; parts that do not belong together are refused, naming the problem.

use agentpod_store::{
    NewRun, OutcomeRecord, OutcomeStatus, RunBundle, RunSharding, RunStatus, RunStore,
    ShardMergeError, merge_shard_bundles, sample_fingerprint,
};
use chrono::{TimeZone, Utc};
use serde_json::json;

const ISSUES: [&str; 5] = ["e", "b", "a", "d", "c"];
const TRIALS: u32 = 2;
const PARTS: u32 = 3;

fn sample() -> Vec<(String, serde_json::Value)> {
    ISSUES
        .iter()
        .map(|id| (id.to_string(), json!({"id": id, "fields": {"n": id}})))
        .collect()
}

fn shard_run(part: u32, seed: u64) -> NewRun {
    let issues = sample();
    NewRun {
        id: format!("20261201-12000{part}-sh{seed:02}"),
        spec_name: "demo".into(),
        spec_path: "pods/demo.yaml".into(),
        agent_version: "v1".into(),
        runtime: "local".into(),
        pods: 2,
        seed,
        trials: TRIALS,
        started_at: Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, part).unwrap(),
        spec_json: json!({"name": "demo"}),
        sharding: Some(RunSharding {
            group: format!("g-seed{seed}"),
            part: Some(part),
            parts: PARTS,
            sample_sha256: sample_fingerprint(&issues, TRIALS),
            spec_sha256: "ab".repeat(32),
            host: format!("machine-{part}"),
            idle_ms: 0,
            shards: Vec::new(),
        }),
        issues,
        evaluation_set: None,
    }
}

fn outcome(run_id: &str, issue_id: &str, trial: u32) -> OutcomeRecord {
    OutcomeRecord {
        own_time: Default::default(),
        run_id: run_id.into(),
        issue_id: issue_id.into(),
        trial,
        pod_index: 1,
        status: if issue_id == "a" {
            OutcomeStatus::Failed
        } else {
            OutcomeStatus::Passed
        },
        reason: format!("{issue_id} reason"),
        exit: json!({"exited": {"code": 0}}),
        started_at: Utc.with_ymd_and_hms(2026, 12, 1, 12, 1, 0).unwrap(),
        duration_ms: 1000,
        output: Some(json!({"answer": issue_id})),
        grade: json!({"checks": []}),
        stdout: String::new(),
        stdout_bytes: 0,
        stdout_truncated: false,
        stderr: String::new(),
        stderr_bytes: 0,
        stderr_truncated: false,
        usage: Default::default(),
    }
}

/// Runs shard `part` to its end in `store` (every pair it owes gets an outcome); its bundle.
async fn finished_shard(store: &RunStore, part: u32, seed: u64) -> RunBundle {
    let run = shard_run(part, seed);
    store.create_run(&run).await.unwrap();
    for pending in store.pending_trials(&run.id).await.unwrap() {
        store
            .record_outcome(&outcome(&run.id, &pending.issue_id, pending.trial))
            .await
            .unwrap();
    }
    let end = Utc.with_ymd_and_hms(2026, 12, 1, 12, 10 + part, 0).unwrap();
    store
        .finish_run(&run.id, RunStatus::Finished, end, &json!({}))
        .await
        .unwrap();
    store.export_bundle(&run.id).await.unwrap()
}

#[tokio::test]
async fn a_shard_owes_only_its_part_and_the_parts_merge_into_one_run() {
    let directory = tempfile::tempdir().unwrap();
    let store = RunStore::open(&directory.path().join("runs.db"))
        .await
        .unwrap();
    let run = shard_run(2, 7);
    store.create_run(&run).await.unwrap();
    let stored = store.find_run(&run.id).await.unwrap();
    assert_eq!(
        stored.sharding, run.sharding,
        "a shard reads back as it was written"
    );
    // Work order: trial 1 of e, b, a, d, c, then trial 2; part 2 of 3 holds indices 1, 4, 7.
    let owed: Vec<(String, u32)> = store
        .pending_trials(&run.id)
        .await
        .unwrap()
        .into_iter()
        .map(|pending| (pending.issue_id, pending.trial))
        .collect();
    assert_eq!(
        owed,
        vec![("b".into(), 1), ("c".into(), 1), ("a".into(), 2)]
    );
    // It died at once and was resumed five minutes after its start, on another machine.
    let resumed_at = Utc.with_ymd_and_hms(2026, 12, 1, 12, 5, 2).unwrap();
    store
        .resume_shard(&run.id, "machine-9", resumed_at)
        .await
        .unwrap();
    let moved = store.find_run(&run.id).await.unwrap().sharding.unwrap();
    assert_eq!(moved.host, "machine-9", "a resumed shard says where");
    assert_eq!(moved.idle_ms, 5 * 60 * 1000, "the time it lay dead");
    // That attempt died too, before recording anything; the next came a minute later: one
    // more minute dead, counted from the resumption, not again from the start.
    store
        .resume_shard(
            &run.id,
            "machine-9",
            resumed_at + chrono::Duration::minutes(1),
        )
        .await
        .unwrap();
    let moved = store.find_run(&run.id).await.unwrap().sharding.unwrap();
    assert_eq!(moved.idle_ms, 6 * 60 * 1000, "five minutes and one");

    let bundles: Vec<(String, RunBundle)> = finished_shards(&store, [3, 1]).await;
    let two = {
        for pending in store.pending_trials(&run.id).await.unwrap() {
            store
                .record_outcome(&outcome(&run.id, &pending.issue_id, pending.trial))
                .await
                .unwrap();
        }
        let end = Utc.with_ymd_and_hms(2026, 12, 1, 12, 20, 0).unwrap();
        store
            .finish_run(&run.id, RunStatus::Finished, end, &json!({}))
            .await
            .unwrap();
        (
            "two.json".to_string(),
            store.export_bundle(&run.id).await.unwrap(),
        )
    };
    let mut all = bundles.clone();
    all.push(two);
    let merged = merge_shard_bundles(&all, "20261201-130000-mrgd").unwrap();
    assert_eq!(merged.outcomes.len(), ISSUES.len() * TRIALS as usize);
    let mut pairs: Vec<(String, u32)> = merged
        .outcomes
        .iter()
        .map(|outcome| (outcome.issue_id.clone(), outcome.trial))
        .collect();
    pairs.sort();
    pairs.dedup();
    assert_eq!(pairs.len(), 10, "every pair once");
    assert!(
        merged
            .outcomes
            .iter()
            .all(|outcome| outcome.run_id == "20261201-130000-mrgd")
    );
    assert_eq!(merged.run.pods, 6);
    let shard_two = &merged.run.sharding.as_ref().unwrap().shards[1];
    assert_eq!(shard_two.part, 2);
    assert_eq!(
        shard_two.wall_seconds(),
        Some((20 * 60 - 2 - 6 * 60) as f64),
        "12:00:02 to 12:20:00, less the six minutes it lay dead"
    );
    assert_eq!(
        merged.run.started_at,
        Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 1).unwrap()
    );
    assert_eq!(
        merged.run.finished_at,
        Some(Utc.with_ymd_and_hms(2026, 12, 1, 12, 20, 0).unwrap()),
        "the last shard's end"
    );

    let other = RunStore::open(&directory.path().join("merged.db"))
        .await
        .unwrap();
    other.import_bundle(&merged).await.unwrap();
    let read = other.find_run("20261201-130000-mrgd").await.unwrap();
    let sharding = read.sharding.unwrap();
    assert_eq!(sharding.part, None);
    assert_eq!(sharding.group, "g-seed7");
    let parts: Vec<(u32, &str, usize)> = sharding
        .shards
        .iter()
        .map(|shard| (shard.part, shard.host.as_str(), shard.trials))
        .collect();
    assert_eq!(
        parts,
        vec![
            (1, "machine-1", 4),
            (2, "machine-9", 3),
            (3, "machine-3", 3)
        ]
    );
    assert_eq!(sharding.shards[2].wall_seconds(), Some(777.0));
    assert!(other.pending_trials(&read.id).await.unwrap().is_empty());
}

/// Shards `parts` (of seed 7) run to their end in `store`; their bundles, named by part.
async fn finished_shards(store: &RunStore, parts: [u32; 2]) -> Vec<(String, RunBundle)> {
    let mut bundles = Vec::new();
    for part in parts {
        bundles.push((
            format!("part-{part}.json"),
            finished_shard(store, part, 7).await,
        ));
    }
    bundles
}

#[tokio::test]
async fn parts_that_do_not_belong_together_are_refused_by_name() {
    let directory = tempfile::tempdir().unwrap();
    let store = RunStore::open(&directory.path().join("runs.db"))
        .await
        .unwrap();
    let mut bundles = Vec::new();
    for part in 1..=PARTS {
        bundles.push((
            format!("part-{part}.json"),
            finished_shard(&store, part, 7).await,
        ));
    }
    let stranger = (
        "stranger.json".to_string(),
        finished_shard(&store, 1, 8).await,
    );
    let merge = |bundles: Vec<(String, RunBundle)>| {
        merge_shard_bundles(&bundles, "merged")
            .map(|_| ())
            .unwrap_err()
    };

    let error = merge(vec![
        stranger.clone(),
        bundles[1].clone(),
        bundles[2].clone(),
    ]);
    assert!(
        matches!(error, ShardMergeError::Mismatch { what: "group", .. }),
        "{error}"
    );
    assert!(
        error
            .to_string()
            .contains("stranger.json has group g-seed8"),
        "{error}"
    );

    let error = merge(vec![bundles[0].clone(), bundles[2].clone()]);
    assert!(
        error.to_string().contains("shard 2 of 3 missing"),
        "{error}"
    );

    let error = merge(vec![
        bundles[0].clone(),
        bundles[1].clone(),
        bundles[2].clone(),
        ("again.json".to_string(), bundles[1].1.clone()),
    ]);
    assert!(
        error
            .to_string()
            .contains("shard 2/3 is given twice: part-2.json and again.json"),
        "{error}"
    );

    // An outcome moved into another part's bundle: its pair would count twice.
    let mut tampered = bundles[0].clone();
    let foreign = bundles[1].1.outcomes[0].clone();
    tampered.1.outcomes.push(foreign);
    let error = merge(vec![tampered, bundles[1].clone(), bundles[2].clone()]);
    assert!(
        matches!(error, ShardMergeError::ForeignPair { .. }),
        "{error}"
    );

    // A shard that lost an outcome (died, and was not resumed).
    let mut unfinished = bundles[2].clone();
    unfinished.1.outcomes.pop();
    let error = merge(vec![bundles[0].clone(), bundles[1].clone(), unfinished]);
    assert!(
        error
            .to_string()
            .contains("1 of its 3 issue trials have no outcome"),
        "{error}"
    );

    // A sample edited after the fact no longer matches its fingerprint.
    let mut altered = bundles[2].clone();
    altered.1.issues[0].1 = json!({"id": "e", "fields": {"n": "changed"}});
    let error = merge(vec![bundles[0].clone(), bundles[1].clone(), altered]);
    assert!(
        matches!(error, ShardMergeError::AlteredSample { .. }),
        "{error}"
    );

    let mut whole = bundles[0].clone();
    whole.1.run.sharding = None;
    let error = merge(vec![whole]);
    assert!(error.to_string().contains("is not a shard"), "{error}");

    assert!(merge_shard_bundles(&bundles, "merged").is_ok());
}
