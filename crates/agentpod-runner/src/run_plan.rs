//! `RunPlan`: the spec plus command-line overrides, resolved into what exactly a run will do —
//! which issues, how many pods, which agent command and version, where files go.

use std::path::PathBuf;

use agentpod_issues::Issue;
use agentpod_spec::PodSpec;

use crate::error::PlanError;

/// Overrides from the command line; `None` keeps the spec's value.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    pub pods: Option<usize>,
    pub sample: Option<usize>,
    pub seed: Option<u64>,
    pub agent_version: Option<String>,
    pub agent_command: Option<Vec<String>>,
    /// Where per-run files go (issue JSON, agent output, scratch dirs): `<work_root>/<run id>/`.
    pub work_root: PathBuf,
}

#[derive(Debug, Clone)]
pub struct RunPlan {
    pub run_id: String,
    pub spec: PodSpec,
    /// The sampled issues, in sample order.
    pub issues: Vec<Issue>,
    pub pods: usize,
    pub seed: u64,
    pub agent_command: Vec<String>,
    pub agent_version: String,
    pub run_directory: PathBuf,
}

impl RunPlan {
    /// Loads and samples the issues and applies the overrides.
    pub fn prepare(run_id: String, spec: PodSpec, options: RunOptions) -> Result<Self, PlanError> {
        let all_issues = agentpod_issues::load(&spec.issues.source)?;
        if all_issues.is_empty() {
            return Err(PlanError::NoIssues(
                spec.issues.source.display().to_string(),
            ));
        }
        let seed = options.seed.unwrap_or(spec.issues.seed);
        let sample_size = options.sample.or(spec.issues.sample);
        let issues = agentpod_issues::sample(
            &all_issues,
            sample_size,
            seed,
            spec.issues.stratify_by.as_deref(),
        )?;
        // More pods than issues would start servers that never serve.
        let pods = options
            .pods
            .unwrap_or(spec.pods)
            .clamp(1, issues.len().max(1));
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
            *program = path.display().to_string();
        }
        std::fs::create_dir_all(&run_directory).map_err(|source| PlanError::WorkDirectory {
            path: run_directory.display().to_string(),
            source,
        })?;
        Ok(Self {
            agent_command,
            agent_version: options
                .agent_version
                .unwrap_or_else(|| spec.agent.version.clone()),
            run_id,
            spec,
            issues,
            pods,
            seed,
            run_directory,
        })
    }
}
