//! `--shard K/N`: which of a run's (issue, trial) pairs this machine runs, and what it records so
//! the parts can be merged into one run (`agentpod merge`): the group, its part, the sample's and
//! the spec's fingerprints, the machine.

use agentpod_store::{
    RunSharding, ShardPart, bytes_sha256, derived_group, sample_fingerprint, work_index,
};

use crate::error::PlanError;
use crate::issue_trial::IssueTrial;

/// What `--shard K/N [--group ID]` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardRequest {
    pub part: ShardPart,
    /// `--group ID`; derived from the spec, seed, sample and agent version when `None`.
    pub group: Option<String>,
}

/// The shard's record and its share of `work` (the run's every pair, in work order).
pub(crate) fn take_share(
    request: &ShardRequest,
    spec_path: &std::path::Path,
    issues: &[(String, serde_json::Value)],
    trials: u32,
    seed: u64,
    agent_version: &str,
    work: Vec<IssueTrial>,
) -> Result<(RunSharding, Vec<IssueTrial>), PlanError> {
    let pairs = work.len();
    if request.part.parts as usize > pairs {
        return Err(PlanError::TooManyShards {
            parts: request.part.parts,
            pairs,
        });
    }
    let spec_bytes = std::fs::read(spec_path).map_err(|source| PlanError::SpecUnreadable {
        path: spec_path.display().to_string(),
        source,
    })?;
    let spec_sha256 = bytes_sha256(&spec_bytes);
    let sample_sha256 = sample_fingerprint(issues, trials);
    let group = request
        .group
        .clone()
        .unwrap_or_else(|| derived_group(&spec_sha256, seed, &sample_sha256, agent_version));
    let positions: std::collections::HashMap<&str, usize> = issues
        .iter()
        .enumerate()
        .map(|(position, (id, _))| (id.as_str(), position))
        .collect();
    let share = work
        .into_iter()
        .filter(|pair| {
            let position = positions[pair.issue.id.as_str()];
            request
                .part
                .holds(work_index(position, pair.trial, issues.len()))
        })
        .collect();
    Ok((
        RunSharding {
            group,
            part: Some(request.part.part),
            parts: request.part.parts,
            sample_sha256,
            spec_sha256,
            host: this_host(),
            idle_ms: 0,
            shards: Vec::new(),
        },
        share,
    ))
}

/// This machine's name, as a shard records where it ran.
pub fn this_host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_string())
        .ok()
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "unknown-host".to_string())
}
