//! `RunPlan`: the spec plus command-line overrides, resolved into what exactly a run will do —
//! which issues, how many trials of each, how many pods, which agent command and version, where
//! files go.

use std::path::{Path, PathBuf};

use agentpod_issues::Issue;
use agentpod_spec::{AgentIsolation, PodSpec};
use agentpod_store::{EvaluationSet, PendingTrial, RunRecord, RunSharding};

use crate::error::PlanError;
use crate::issue_trial::IssueTrial;
use crate::run_shard::ShardRequest;

/// Overrides from the command line; `None` keeps the spec's value.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    pub pods: Option<usize>,
    /// How many issues to sample (overrides `issues.sample`).
    pub sample: Option<SampleSize>,
    pub seed: Option<u64>,
    /// How many times each issue runs (overrides `issues.trials`).
    pub trials: Option<u32>,
    pub agent_version: Option<String>,
    pub agent_command: Option<Vec<String>>,
    /// Where per-run files go (issue JSON, agent output, scratch dirs): `<work_root>/<run id>/`.
    pub work_root: PathBuf,
    /// Seed every pod's template afresh rather than starting from the runtime's seed cache
    /// (`--no-seed-cache`), for measuring and debugging.
    pub no_seed_cache: bool,
    /// Files a sandboxed agent must never see besides the spec, the issues source and the work
    /// root: the run store and the files beside it (its journal, its lock).
    pub protected_paths: Vec<PathBuf>,
    /// Run only one part of the run's (issue, trial) pairs (`--shard K/N`).
    pub shard: Option<ShardRequest>,
}

/// A sample size asked for on the command line: `--sample N` or `--sample all`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SampleSize {
    All,
    Count(usize),
}

#[derive(Debug, Clone)]
pub struct RunPlan {
    pub run_id: String,
    pub spec: PodSpec,
    /// The sampled issues, in sample order (for a resumed run: those with a trial left to do).
    pub issues: Vec<Issue>,
    /// How many times the run tries each issue.
    pub trials: u32,
    /// What the pods' queue holds: each (issue, trial) to run, trial 1 of every issue first.
    pub work: Vec<IssueTrial>,
    pub pods: usize,
    pub seed: u64,
    pub agent_command: Vec<String>,
    pub agent_version: String,
    pub run_directory: PathBuf,
    /// Continues a stored run (`--resume`) rather than starting one.
    pub resumed: bool,
    /// Pods start from the runtime's seed cache where it has one (see `seeded_template`).
    pub seed_cache: bool,
    /// What a sandboxed host agent may read and what it must never see; `None` for an image
    /// agent and for `agent.isolation: none`.
    pub host_sandbox: Option<SandboxView>,
    /// What the checks before the run found worth saying without stopping it (see
    /// [`crate::preflight`]); empty for a resumed run, whose inputs were checked when it started.
    pub warnings: Vec<agentpod_spec::Diagnostic>,
    /// The evaluation set the sample is drawn from (its file's digest and size), recorded with
    /// the run; `None` for a resumed run, which keeps the one it started with.
    pub evaluation_set: Option<EvaluationSet>,
    /// For a shard (`--shard K/N`, or a resumed shard): its part, group and fingerprints. `work`
    /// then holds only the part's pairs, `issues` still the whole sample.
    pub sharding: Option<RunSharding>,
}

/// The parts of a host agent's sandbox that are the same for every issue of a run.
#[derive(Debug, Clone)]
pub struct SandboxView {
    /// The agent program's directory, the directories of absolute paths among its arguments,
    /// and the spec's `agent.read_only`.
    pub read_only: Vec<PathBuf>,
    /// The spec, the issues source, the run store and the work root (every issue's files).
    pub hidden: Vec<PathBuf>,
}

impl SandboxView {
    /// As root, the sandboxed agent is an unprivileged user of its own: what it must read has
    /// to be readable by others (a private `mktemp -d` directory is not). Said before any pod
    /// starts, with what to do.
    fn check_readable(&self) -> Result<(), PlanError> {
        use std::os::unix::fs::PermissionsExt;
        if !nix::unistd::geteuid().is_root() {
            return Ok(());
        }
        for path in &self.read_only {
            let Ok(metadata) = std::fs::metadata(path) else {
                continue;
            };
            let needed = if metadata.is_dir() { 0o005 } else { 0o004 };
            let mode = metadata.permissions().mode();
            if mode & needed != needed {
                return Err(PlanError::PrivateAgentPath {
                    path: path.display().to_string(),
                    mode: mode & 0o777,
                });
            }
        }
        Ok(())
    }

    fn for_run(
        spec: &PodSpec,
        agent_command: &[String],
        work_root: &Path,
        protected: &[PathBuf],
    ) -> Self {
        let mut read_only: Vec<PathBuf> = Vec::new();
        for (index, argument) in agent_command.iter().enumerate() {
            let path = Path::new(argument);
            if !(path.is_absolute() || index == 0) || !path.exists() {
                continue;
            }
            let path = real_path(path);
            let directory = if path.is_dir() {
                path
            } else {
                path.parent().map(Path::to_path_buf).unwrap_or(path)
            };
            read_only.push(directory);
        }
        read_only.extend(spec.agent.read_only.iter().cloned());
        let mut hidden = vec![
            spec.path.clone(),
            spec.issues.source.clone(),
            work_root.to_path_buf(),
        ];
        hidden.extend(protected.iter().cloned());
        // Compared as real paths: `/p/../p` or a symbolic link to `/p` must not make `/p/x.yaml`
        // look like it is outside a readable `/p`, or the mask that hides it would be left out.
        SandboxView {
            read_only: read_only.iter().map(|path| real_path(path)).collect(),
            hidden: hidden.iter().map(|path| real_path(path)).collect(),
        }
    }
}

/// `path` absolute, with `..` and symbolic links resolved: through its longest existing
/// ancestor, so a path still to be created (the work root) resolves too.
fn real_path(path: &Path) -> PathBuf {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut existing = absolute.as_path();
    let mut rest: Vec<&std::ffi::OsStr> = Vec::new();
    loop {
        if let Ok(real) = existing.canonicalize() {
            return rest.iter().rev().fold(real, |path, part| path.join(part));
        }
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name);
                existing = parent;
            }
            _ => return absolute,
        }
    }
}

impl RunPlan {
    /// Loads and samples the issues and applies the overrides.
    pub fn prepare(run_id: String, spec: PodSpec, options: RunOptions) -> Result<Self, PlanError> {
        let all_issues = crate::load_issues(&spec.issues)?;
        if all_issues.is_empty() {
            return Err(PlanError::NoIssues(
                spec.issues.source.display().to_string(),
            ));
        }
        // Checked on every issue, before sampling: a spec whose verdict means nothing is refused
        // whatever the sample draws.
        let checks = crate::preflight(&spec, &all_issues, options.agent_command.as_deref());
        if checks.has_errors() {
            return Err(PlanError::Preflight(checks.errors().cloned().collect()));
        }
        let warnings: Vec<agentpod_spec::Diagnostic> = checks.warnings().cloned().collect();
        let seed = options.seed.unwrap_or(spec.issues.seed);
        let sample_size = match options.sample {
            Some(SampleSize::All) => None,
            Some(SampleSize::Count(count)) => Some(count),
            None => spec.issues.sample,
        };
        let issues = agentpod_issues::sample(
            &all_issues,
            sample_size,
            seed,
            spec.issues.stratify_by.as_deref(),
        )?;
        let pods = options.pods.unwrap_or(spec.pods);
        let agent_version = options
            .agent_version
            .clone()
            .unwrap_or_else(|| spec.agent.version.clone());
        let trials = options.trials.unwrap_or(spec.issues.trials).max(1);
        let mut work = IssueTrial::all(&issues, trials);
        let mut sharding = None;
        if let Some(request) = &options.shard {
            let stored: Vec<(String, serde_json::Value)> = issues
                .iter()
                .map(|issue| (issue.id.clone(), crate::run::issue_json(issue)))
                .collect();
            let (shard, share) = crate::run_shard::take_share(
                request,
                &spec.path,
                &stored,
                trials,
                seed,
                &agent_version,
                work,
            )?;
            sharding = Some(shard);
            work = share;
        }
        let mut plan = Self::assemble(
            run_id,
            spec,
            (issues, trials, work),
            pods,
            seed,
            agent_version,
            options,
            false,
        )?;
        plan.warnings = warnings;
        plan.sharding = sharding;
        // Read again for its digest: the issues crate reads the file as text; a file that
        // cannot be read a second time leaves the run without a recorded set, not without a run.
        plan.evaluation_set = agentpod_issues::issues_digest(&plan.spec.issues.source)
            .ok()
            .map(|sha256| EvaluationSet {
                sha256,
                issues: all_issues.len(),
            });
        Ok(plan)
    }

    /// The rest of an unfinished run: its (issue, trial) pairs without a finished outcome (the
    /// issues as the run stored them, so the sample is the same even if the issues file changed),
    /// its trials, seed and agent version; the spec (agent command, fixtures, boundary) is read
    /// again from its file.
    pub fn resume(
        run: &RunRecord,
        spec: PodSpec,
        pending: Vec<PendingTrial>,
        options: RunOptions,
    ) -> Result<Self, PlanError> {
        if pending.is_empty() {
            return Err(PlanError::NothingToResume(run.id.clone()));
        }
        if let Some(version) = &options.agent_version
            && version != &run.agent_version
        {
            return Err(PlanError::ResumeVersion {
                run: run.agent_version.clone(),
                given: version.clone(),
            });
        }
        if let Some(trials) = options.trials
            && trials != run.trials
        {
            return Err(PlanError::ResumeTrials {
                run: run.trials,
                given: trials,
            });
        }
        let work: Vec<IssueTrial> = pending
            .into_iter()
            .map(|pending| IssueTrial {
                issue: Issue {
                    id: pending.issue_id,
                    fields: pending.issue["fields"]
                        .as_object()
                        .cloned()
                        .unwrap_or_default(),
                    expected: pending.issue["expected"].as_object().cloned(),
                    line: 0,
                },
                trial: pending.trial,
                pod_losses: 0,
            })
            .collect();
        let mut seen = std::collections::HashSet::new();
        let issues: Vec<Issue> = work
            .iter()
            .filter(|trial| seen.insert(trial.issue.id.clone()))
            .map(|trial| trial.issue.clone())
            .collect();
        let pods = options.pods.unwrap_or(run.pods);
        let mut plan = Self::assemble(
            run.id.clone(),
            spec,
            (issues, run.trials.max(1), work),
            pods,
            run.seed,
            run.agent_version.clone(),
            options,
            true,
        )?;
        // A shard resumed keeps its part and group (the store gave only its part's pairs); it
        // says where it finishes.
        plan.sharding = run.sharding.clone().map(|sharding| RunSharding {
            host: crate::run_shard::this_host(),
            ..sharding
        });
        Ok(plan)
    }

    #[allow(clippy::too_many_arguments)]
    fn assemble(
        run_id: String,
        spec: PodSpec,
        (issues, trials, work): (Vec<Issue>, u32, Vec<IssueTrial>),
        pods: usize,
        seed: u64,
        agent_version: String,
        options: RunOptions,
        resumed: bool,
    ) -> Result<Self, PlanError> {
        // More pods than issue trials would start servers that never serve.
        let pods = pods.clamp(1, work.len().max(1));
        // The agent runs in its own working directory: every path it is given must be absolute.
        let work_root =
            std::path::absolute(&options.work_root).unwrap_or(options.work_root.clone());
        let run_directory = work_root.join(&run_id);
        let mut agent_command = options
            .agent_command
            .unwrap_or_else(|| spec.agent.command.clone());
        // An image agent's command is a path inside its container, not on this host.
        if let Some(program) = agent_command.first_mut()
            && spec.agent.image.is_none()
            && program.contains('/')
        {
            let path = std::path::absolute(&*program).unwrap_or_else(|_| PathBuf::from(&*program));
            if !path.is_file() {
                return Err(PlanError::AgentNotFound(program.clone()));
            }
            *program = real_path(&path).display().to_string();
        }
        // Path arguments too (`python3 pods/agent/triage.py`, resolved by the spec against its
        // directory): the agent starts elsewhere, so a relative path would name nothing.
        if spec.agent.image.is_none() {
            for argument in agent_command.iter_mut().skip(1) {
                let path = Path::new(argument.as_str());
                if path.is_relative()
                    && argument.contains('/')
                    && !argument.starts_with('-')
                    && path.exists()
                {
                    *argument = real_path(path).display().to_string();
                }
            }
        }
        let host_sandbox = (spec.agent.image.is_none()
            && spec.agent.isolation == AgentIsolation::Sandbox)
            .then(|| {
                agentpod_agent::sandbox_support().map(|()| {
                    SandboxView::for_run(
                        &spec,
                        &agent_command,
                        &work_root,
                        &options.protected_paths,
                    )
                })
            })
            .transpose()
            .map_err(PlanError::Sandbox)?;
        if let Some(view) = &host_sandbox {
            view.check_readable()?;
        }
        std::fs::create_dir_all(&run_directory).map_err(|source| PlanError::WorkDirectory {
            path: run_directory.display().to_string(),
            source,
        })?;
        Ok(Self {
            run_id,
            spec,
            issues,
            trials,
            work,
            pods,
            seed,
            agent_command,
            agent_version,
            run_directory,
            resumed,
            seed_cache: !options.no_seed_cache,
            host_sandbox,
            warnings: Vec::new(),
            evaluation_set: None,
            sharding: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::real_path;

    #[test]
    fn parents_and_links_resolve_even_for_paths_still_to_be_made() {
        let root = tempfile::tempdir().unwrap();
        let real = root.path().canonicalize().unwrap();
        std::fs::create_dir(real.join("p")).unwrap();
        std::os::unix::fs::symlink(real.join("p"), real.join("link")).unwrap();
        assert_eq!(
            real_path(&real.join("p/../p/x.yaml")),
            real.join("p/x.yaml")
        );
        assert_eq!(real_path(&real.join("link/x.yaml")), real.join("p/x.yaml"));
        assert_eq!(
            real_path(&real.join("link/new/deeper")),
            real.join("p/new/deeper")
        );
    }
}
