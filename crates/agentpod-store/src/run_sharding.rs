//! `RunSharding`: where a run stands when it is spread over machines — the group every part of
//! one run belongs to, which part this run is (`--shard K/N`), the fingerprints the parts must
//! share — and the one rule that says which (issue, trial) pairs a part holds.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Part `part` of `parts` (1-based, as `nextest --partition count:K/N` and `playwright
/// --shard=K/N` number them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardPart {
    pub part: u32,
    pub parts: u32,
}

impl ShardPart {
    /// Whether this part holds the pair at `work_index` in the run's whole work order (trial 1
    /// of every issue in sample order, then trial 2…; see [`work_index`]): pairs are dealt out
    /// in turn, the first to part 1, so every part gets a share of every trial and the parts are
    /// disjoint and together complete.
    pub fn holds(self, work_index: usize) -> bool {
        self.parts > 0 && work_index % self.parts as usize == (self.part as usize).wrapping_sub(1)
    }

    /// How many of a run's `pairs` (issue, trial) pairs this part holds.
    pub fn share_of(self, pairs: usize) -> usize {
        let parts = self.parts.max(1) as usize;
        let first = (self.part as usize).saturating_sub(1);
        if pairs <= first {
            0
        } else {
            (pairs - first).div_ceil(parts)
        }
    }

    /// How many of a sample of `sample_size` issues, each tried `trials` times, have at least
    /// one pair in this part: the issues a shard means to run.
    pub fn issues_with_share(self, sample_size: usize, trials: u32) -> usize {
        (0..sample_size)
            .filter(|&position| {
                (1..=trials.max(1))
                    .any(|trial| self.holds(work_index(position, trial, sample_size)))
            })
            .count()
    }
}

impl std::fmt::Display for ShardPart {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "{}/{}", self.part, self.parts)
    }
}

/// The position of (issue at sample `position`, `trial`) in the run's whole work order, where
/// trial 1 of every issue comes before any trial 2.
pub fn work_index(position: usize, trial: u32, sample_size: usize) -> usize {
    (trial.max(1) as usize - 1) * sample_size + position
}

/// A sharded run's place among its parts, or (with `part: None`) a run merged from them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSharding {
    /// The id every part of the run shares (`--group ID`, or derived: [`derived_group`]).
    pub group: String,
    /// This run's part; `None` for a run merged from every part.
    pub part: Option<u32>,
    /// How many parts the run was split into.
    pub parts: u32,
    /// The sample's fingerprint ([`sample_fingerprint`]); parts with different ones drew
    /// different issues.
    pub sample_sha256: String,
    /// The SHA-256 of the spec file's bytes.
    pub spec_sha256: String,
    /// The machine a shard ran on (its hostname; where it was last resumed); empty for a
    /// merged run.
    pub host: String,
    /// For a shard: how long it lay dead between attempts (see [`ShardRecord::idle_ms`]).
    #[serde(default)]
    pub idle_ms: u64,
    /// The shards a merged run was made from, by part; empty for a shard.
    #[serde(default)]
    pub shards: Vec<ShardRecord>,
}

impl RunSharding {
    /// This run's part, for a shard.
    pub fn shard_part(&self) -> Option<ShardPart> {
        self.part.map(|part| ShardPart {
            part,
            parts: self.parts,
        })
    }
}

/// One shard of a merged run, as it ran.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShardRecord {
    pub part: u32,
    /// The shard's own run id, in the store it ran in.
    pub source_run_id: String,
    pub host: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Outcomes the shard brought.
    pub trials: usize,
    /// How long the shard lay dead between attempts: from the last outcome a lost attempt
    /// recorded (or its end, for a finished shard resumed) to its resumption.
    #[serde(default)]
    pub idle_ms: u64,
}

impl ShardRecord {
    /// From the shard's start to its end, less the time it lay dead between attempts.
    pub fn wall_seconds(&self) -> Option<f64> {
        self.finished_at
            .map(|end| shard_wall_seconds(self.started_at, end, self.idle_ms))
    }
}

/// A shard's wall time: `started_at` to `finished_at`, less `idle_ms` it lay dead.
pub fn shard_wall_seconds(
    started_at: DateTime<Utc>,
    finished_at: DateTime<Utc>,
    idle_ms: u64,
) -> f64 {
    let ran = (finished_at - started_at).num_milliseconds() - idle_ms as i64;
    ran.max(0) as f64 / 1000.0
}

/// The sample's fingerprint: SHA-256 over the trials and every sampled issue (id and the issue
/// as stored) in sample order, lowercase hex. Equal on every machine that drew the same sample.
pub fn sample_fingerprint(issues: &[(String, serde_json::Value)], trials: u32) -> String {
    let mut hasher = Sha256::new();
    hasher.update(format!("trials={trials}\n"));
    for (id, issue) in issues {
        // serde_json writes an object's keys in one order (sorted, without `preserve_order`), so
        // the same issue hashes the same everywhere.
        hasher.update(id.len().to_le_bytes());
        hasher.update(id.as_bytes());
        let text = issue.to_string();
        hasher.update(text.len().to_le_bytes());
        hasher.update(text.as_bytes());
    }
    hex(&hasher.finalize())
}

/// The SHA-256 of `bytes` (a spec file's), lowercase hex.
pub fn bytes_sha256(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// The group id shards derive when none is given: the same on every machine running the same
/// spec, seed, sample and agent version, different otherwise. `g-` and 16 hex digits.
pub fn derived_group(
    spec_sha256: &str,
    seed: u64,
    sample_sha256: &str,
    agent_version: &str,
) -> String {
    let mut hasher = Sha256::new();
    for part in [spec_sha256, &seed.to_string(), sample_sha256, agent_version] {
        hasher.update(part.len().to_le_bytes());
        hasher.update(part.as_bytes());
    }
    format!("g-{}", &hex(&hasher.finalize())[..16])
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_disjoint_and_together_complete() {
        for parts in 1..=7u32 {
            for pairs in 0..40usize {
                let mut owners = vec![0u32; pairs];
                for part in 1..=parts {
                    let shard = ShardPart { part, parts };
                    let held: Vec<usize> = (0..pairs).filter(|&i| shard.holds(i)).collect();
                    assert_eq!(held.len(), shard.share_of(pairs), "{shard} of {pairs}");
                    for index in held {
                        owners[index] += 1;
                    }
                }
                assert!(
                    owners.iter().all(|&owners| owners == 1),
                    "{parts} parts of {pairs}"
                );
            }
        }
    }

    #[test]
    fn a_part_counts_the_issues_it_holds_a_pair_of() {
        // 10 issues, 1 trial, 3 parts: positions 0,3,6,9 / 1,4,7 / 2,5,8.
        let part = |part| ShardPart { part, parts: 3 };
        assert_eq!(
            [1, 2, 3].map(|k| part(k).issues_with_share(10, 1)),
            [4, 3, 3]
        );
        // 2 trials of 10 issues in 3 parts: trial 2's pairs shift by 10, so every part holds
        // some pair of 7 (or 6) issues, and each issue is counted once.
        for k in 1..=3u32 {
            let expected = (0..10usize)
                .filter(|&p| (1..=2u32).any(|t| part(k).holds(work_index(p, t, 10))))
                .count();
            assert_eq!(part(k).issues_with_share(10, 2), expected);
        }
        assert_eq!(
            part(1).issues_with_share(10, 3),
            10,
            "3 trials reach every issue"
        );
        assert_eq!(ShardPart { part: 1, parts: 1 }.issues_with_share(5, 1), 5);
    }

    #[test]
    fn a_different_sample_seed_or_version_is_another_group() {
        let issues = vec![("a".to_string(), serde_json::json!({"id": "a", "x": 1}))];
        let sample = sample_fingerprint(&issues, 2);
        let group = derived_group("spec", 7, &sample, "v1");
        assert_eq!(group, derived_group("spec", 7, &sample, "v1"));
        assert_eq!(group.len(), 18);
        assert_ne!(group, derived_group("spec", 8, &sample, "v1"));
        assert_ne!(group, derived_group("spec", 7, &sample, "v2"));
        assert_ne!(group, derived_group("other", 7, &sample, "v1"));
        assert_ne!(
            sample,
            sample_fingerprint(&issues, 3),
            "trials are part of the sample"
        );
        let changed = vec![("a".to_string(), serde_json::json!({"id": "a", "x": 2}))];
        assert_ne!(sample, sample_fingerprint(&changed, 2));
    }
}
