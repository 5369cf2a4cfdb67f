//! `AgentSlot`: the directory a sandboxed host agent works in — its issue file, its output area,
//! its working directory — with the sandbox already started on it, so that the sandbox's set-up
//! happens while the pod's previous agent still works instead of between two agents. The
//! runner opens the next issue's slot beside the running issue (like the next issue's spare
//! database), fills in the issue when it takes one from the queue, and starts the agent there
//! ([`agentpod_agent::PrestartedAgent`]). The issue's own directory keeps its record
//! (`issue.json`) as with a cold start; the slot goes when its issue ends, or unused with the
//! pod.
//!
//! A slot lives under the run directory, which every sandbox masks: no agent sees another's.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use agentpod_agent::{AgentInvocation, AgentRun, HostSandbox, PrestartError, PrestartedAgent};
use agentpod_runtime::OutputArea;
use tokio_util::sync::CancellationToken;

use crate::issue_execution::{OUTPUT_AREA_BYTES, host_sandbox};
use crate::pod_worker::PodContext;

/// Slots opened by this process: each gets a directory name of its own.
static OPENED: AtomicU64 = AtomicU64::new(0);

/// A started sandbox waiting for its issue, and the directory it was started on.
#[derive(Debug)]
pub(crate) struct AgentSlot {
    directory: PathBuf,
    /// The sandbox it was started with (its user among it), which its agent's invocation names.
    sandbox: HostSandbox,
    prestarted: Option<PrestartedAgent>,
    output_area: Option<OutputArea>,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum SlotError {
    #[error("cannot make the agent's directory {path}")]
    Directory {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Prestart(#[from] PrestartError),
}

impl AgentSlot {
    /// A slot for the pod's next sandboxed host agent, or `None` where its agent is not one
    /// (a container, or `isolation: none`): those start cold.
    pub(crate) fn open(context: &PodContext) -> Option<Result<AgentSlot, SlotError>> {
        if context.plan.spec.agent.image.is_some() || context.plan.host_sandbox.is_none() {
            return None;
        }
        let directory = context.plan.run_directory.join("agents").join(format!(
            "pod{}-{}",
            context.pod,
            OPENED.fetch_add(1, Ordering::Relaxed)
        ));
        Some(AgentSlot::open_at(context, directory))
    }

    fn open_at(context: &PodContext, directory: PathBuf) -> Result<AgentSlot, SlotError> {
        let made = (|| {
            std::fs::create_dir_all(directory.join("work"))?;
            std::fs::create_dir_all(directory.join("output"))?;
            // Bound into the sandbox as this file: filled in place when the issue is known.
            std::fs::write(directory.join("issue.json"), b"")
        })();
        let Some(sandbox) = host_sandbox(context, &directory) else {
            unreachable!("a slot is opened only for sandboxed host agents");
        };
        let mut slot = AgentSlot {
            directory,
            sandbox,
            prestarted: None,
            output_area: None,
        };
        made.map_err(|source| SlotError::Directory {
            path: slot.directory.clone(),
            source,
        })?;
        slot.output_area = Some(OutputArea::mount(
            &slot.directory.join("output"),
            OUTPUT_AREA_BYTES,
        ));
        slot.prestarted = Some(PrestartedAgent::start(
            &slot.sandbox,
            &context.plan.agent_command,
            &slot.working_dir(),
        )?);
        Ok(slot)
    }

    /// Whether the slot's sandbox set up and waits for its agent ([`PrestartedAgent::ready`]).
    pub(crate) async fn ready(&mut self) -> bool {
        match self.prestarted.as_mut() {
            Some(prestarted) => prestarted.ready().await,
            None => false,
        }
    }

    /// The directory the agent's paths are in (`AGENTPOD_ISSUE`, `AGENTPOD_OUTPUT`, its
    /// working directory), as for a cold start's issue directory.
    pub(crate) fn directory(&self) -> &Path {
        &self.directory
    }

    /// The sandbox its agent runs in, as started.
    pub(crate) fn sandbox(&self) -> &HostSandbox {
        &self.sandbox
    }

    fn working_dir(&self) -> PathBuf {
        self.directory.join("work")
    }

    /// Writes the issue's file (what the agent may see of the issue) into the slot, in place:
    /// the sandbox shows this very file.
    pub(crate) fn fill(&self, issue_json: &[u8]) -> std::io::Result<()> {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(self.directory.join("issue.json"))?;
        file.write_all(issue_json)
    }

    /// Starts the agent of `invocation` (its paths in this slot) and waits for its end.
    pub(crate) async fn run(
        &mut self,
        invocation: &AgentInvocation,
        cancel: CancellationToken,
    ) -> AgentRun {
        match self.prestarted.take() {
            Some(prestarted) => prestarted.run(invocation, cancel).await,
            None => AgentRun::not_started("this agent slot was used already"),
        }
    }
}

impl Drop for AgentSlot {
    /// The sandbox (if unused) killed, the output area unmounted, the directory removed.
    fn drop(&mut self) {
        drop(self.prestarted.take());
        drop(self.output_area.take());
        if let Err(error) = std::fs::remove_dir_all(&self.directory)
            && error.kind() != std::io::ErrorKind::NotFound
        {
            tracing::debug!(directory = %self.directory.display(), %error, "cannot remove an agent's directory");
        }
        // `agents/` itself, once no pod has a slot in it (else it stays: not an error).
        if let Some(agents) = self.directory.parent() {
            let _ = std::fs::remove_dir(agents);
        }
    }
}
