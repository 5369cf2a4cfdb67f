//! `merge_shard_bundles`: the bundles of a run's shards (`agentpod run --shard K/N`, then
//! `agentpod export --bundle`) into the bundle of one run, as if it had run on one machine —
//! after checking that they belong together: one group, spec, seed, sample, trials and agent
//! version; every part once; every shard finished, with exactly the pairs its part holds.

use std::collections::{BTreeSet, HashMap};

use crate::records::{RunRecord, RunStatus};
use crate::run_bundle::{RUN_BUNDLE_FORMAT, RunBundle};
use crate::run_sharding::{RunSharding, ShardPart, ShardRecord, sample_fingerprint, work_index};

/// Why shards were not merged; each names the bundles (by the label they were given, e.g. the
/// file name) and says what to do.
#[derive(Debug, thiserror::Error)]
pub enum ShardMergeError {
    #[error("no bundles to merge: give every shard's bundle (`agentpod export RUN --bundle FILE`)")]
    NoBundles,
    #[error(
        "{bundle} is not a shard: run {run} ran without --shard K/N (only shards are merged; `agentpod import` adds a whole run)"
    )]
    NotAShard { bundle: String, run: String },
    #[error(
        "the shards are not parts of one run: {first} has {what} {first_value}, {other} has {other_value} (merge only shards of one run, all started with the same spec, --seed, --sample, --trials and agent version)"
    )]
    Mismatch {
        what: &'static str,
        first: String,
        first_value: String,
        other: String,
        other_value: String,
    },
    #[error("shard {part} is given twice: {first} and {second} (give each shard's bundle once)")]
    PartGivenTwice {
        part: ShardPart,
        first: String,
        second: String,
    },
    #[error(
        "{noun} {missing} of {parts} missing (group {group}): run {noun} {missing} with `agentpod run SPEC --shard K/{parts}` (the same --seed, --sample, --trials and --group), export and merge again"
    )]
    MissingParts {
        noun: &'static str,
        missing: String,
        parts: u32,
        group: String,
    },
    #[error(
        "shard {part} ({bundle}, run {run}) is not finished: {missing} of its {share} issue trials have no outcome (status {status}); finish it with `agentpod run --resume {run}`, export it again and merge"
    )]
    Unfinished {
        part: ShardPart,
        bundle: String,
        run: String,
        status: &'static str,
        missing: usize,
        share: usize,
    },
    #[error(
        "{bundle} (shard {part}) holds issue {issue} trial {trial}, which is not its part's (the bundle was altered, or made by another agentpod): refusing to merge it"
    )]
    ForeignPair {
        bundle: String,
        part: ShardPart,
        issue: String,
        trial: u32,
    },
    #[error(
        "issue {issue} trial {trial} is recorded twice, in {first} and {second}: an outcome may count once"
    )]
    PairTwice {
        issue: String,
        trial: u32,
        first: String,
        second: String,
    },
    #[error(
        "{bundle}'s sample does not match its recorded fingerprint (the bundle was altered): refusing to merge it"
    )]
    AlteredSample { bundle: String },
}

/// The merged run's bundle, with the id `run_id`; `bundles` are (label, bundle) pairs.
pub fn merge_shard_bundles(
    bundles: &[(String, RunBundle)],
    run_id: &str,
) -> Result<RunBundle, ShardMergeError> {
    let Some((first_label, first)) = bundles.first() else {
        return Err(ShardMergeError::NoBundles);
    };
    let mut shards: Vec<(&str, &RunBundle, &RunSharding, ShardPart)> = Vec::new();
    for (label, bundle) in bundles {
        let sharding = bundle.run.sharding.as_ref();
        let Some((sharding, part)) =
            sharding.and_then(|sharding| Some((sharding, sharding.shard_part()?)))
        else {
            return Err(ShardMergeError::NotAShard {
                bundle: label.clone(),
                run: bundle.run.id.clone(),
            });
        };
        shards.push((label, bundle, sharding, part));
    }
    let (_, _, first_sharding, _) = shards[0];
    // What every part must share, most telling first: a different group says it all.
    let shared = |bundle: &RunBundle, sharding: &RunSharding| -> [(&'static str, String); 7] {
        [
            ("group", sharding.group.clone()),
            ("a shard count of", sharding.parts.to_string()),
            ("spec digest", short(&sharding.spec_sha256)),
            ("seed", bundle.run.seed.to_string()),
            ("trials", bundle.run.trials.to_string()),
            ("sample fingerprint", short(&sharding.sample_sha256)),
            ("agent version", bundle.run.agent_version.clone()),
        ]
    };
    let expected = shared(first, first_sharding);
    for (label, bundle, sharding, _) in &shards[1..] {
        for ((what, first_value), (_, other_value)) in expected.iter().zip(shared(bundle, sharding))
        {
            if *first_value != other_value {
                return Err(ShardMergeError::Mismatch {
                    what,
                    first: first_label.clone(),
                    first_value: first_value.clone(),
                    other: label.to_string(),
                    other_value,
                });
            }
        }
    }
    let parts = first_sharding.parts;
    let mut by_part: HashMap<u32, &str> = HashMap::new();
    for (label, _, _, part) in &shards {
        if let Some(earlier) = by_part.insert(part.part, label) {
            return Err(ShardMergeError::PartGivenTwice {
                part: *part,
                first: earlier.to_string(),
                second: label.to_string(),
            });
        }
    }
    let missing: Vec<String> = (1..=parts)
        .filter(|part| !by_part.contains_key(part))
        .map(|part| part.to_string())
        .collect();
    if !missing.is_empty() {
        return Err(ShardMergeError::MissingParts {
            noun: if missing.len() == 1 {
                "shard"
            } else {
                "shards"
            },
            missing: missing.join(", "),
            parts,
            group: first_sharding.group.clone(),
        });
    }

    let trials = first.run.trials.max(1);
    let mut seen: HashMap<(&str, u32), &str> = HashMap::new();
    for (label, bundle, sharding, part) in &shards {
        if sample_fingerprint(&bundle.issues, trials) != sharding.sample_sha256 {
            return Err(ShardMergeError::AlteredSample {
                bundle: label.to_string(),
            });
        }
        let positions: HashMap<&str, usize> = bundle
            .issues
            .iter()
            .enumerate()
            .map(|(position, (id, _))| (id.as_str(), position))
            .collect();
        let mut held: BTreeSet<(usize, u32)> = BTreeSet::new();
        for outcome in &bundle.outcomes {
            let holds = outcome.trial >= 1
                && outcome.trial <= trials
                && positions
                    .get(outcome.issue_id.as_str())
                    .is_some_and(|&position| {
                        part.holds(work_index(position, outcome.trial, bundle.issues.len()))
                    });
            if !holds {
                return Err(ShardMergeError::ForeignPair {
                    bundle: label.to_string(),
                    part: *part,
                    issue: outcome.issue_id.clone(),
                    trial: outcome.trial,
                });
            }
            if let Some(earlier) = seen.insert((outcome.issue_id.as_str(), outcome.trial), label) {
                return Err(ShardMergeError::PairTwice {
                    issue: outcome.issue_id.clone(),
                    trial: outcome.trial,
                    first: earlier.to_string(),
                    second: label.to_string(),
                });
            }
            held.insert((positions[outcome.issue_id.as_str()], outcome.trial));
        }
        let share = part.share_of(bundle.issues.len() * trials as usize);
        if bundle.run.status != RunStatus::Finished || held.len() < share {
            return Err(ShardMergeError::Unfinished {
                part: *part,
                bundle: label.to_string(),
                run: bundle.run.id.clone(),
                status: bundle.run.status.as_str(),
                missing: share - held.len(),
                share,
            });
        }
    }

    shards.sort_by_key(|(_, _, _, part)| part.part);
    let records: Vec<ShardRecord> = shards
        .iter()
        .map(|(_, bundle, sharding, part)| ShardRecord {
            part: part.part,
            source_run_id: bundle.run.id.clone(),
            host: sharding.host.clone(),
            started_at: bundle.run.started_at,
            finished_at: bundle.run.finished_at,
            trials: bundle.outcomes.len(),
            idle_ms: sharding.idle_ms,
        })
        .collect();
    let run = RunRecord {
        id: run_id.to_string(),
        pods: shards.iter().map(|(_, bundle, _, _)| bundle.run.pods).sum(),
        status: RunStatus::Finished,
        started_at: records
            .iter()
            .map(|shard| shard.started_at)
            .min()
            .unwrap_or(first.run.started_at),
        finished_at: records.iter().filter_map(|shard| shard.finished_at).max(),
        summary: None,
        sharding: Some(RunSharding {
            part: None,
            host: String::new(),
            idle_ms: 0,
            shards: records,
            ..first_sharding.clone()
        }),
        ..first.run.clone()
    };
    let mut merged = RunBundle {
        format: RUN_BUNDLE_FORMAT.to_string(),
        run,
        spec: first.spec.clone(),
        boundary: shards
            .iter()
            .find_map(|(_, bundle, _, _)| bundle.boundary.clone()),
        issues: first.issues.clone(),
        outcomes: Vec::new(),
        boundary_events: Vec::new(),
        steps: Vec::new(),
    };
    for (_, bundle, _, _) in &shards {
        merged
            .outcomes
            .extend(bundle.outcomes.iter().cloned().map(|mut outcome| {
                outcome.run_id = run_id.to_string();
                outcome
            }));
        merged
            .boundary_events
            .extend(bundle.boundary_events.iter().cloned());
        merged.steps.extend(bundle.steps.iter().cloned());
    }
    Ok(merged)
}

/// A digest as people compare them: its first 12 hex digits.
fn short(digest: &str) -> String {
    digest.get(..12).unwrap_or(digest).to_string()
}
