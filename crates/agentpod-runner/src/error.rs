//! Errors that stop a run before or while it starts; what happens to single issues is an outcome.

use agentpod_db::{BoundaryError, FixtureError};
use agentpod_issues::{IssuesError, SampleError};
use agentpod_runtime::RuntimeError;
use agentpod_store::StoreError;

/// The run could not be planned: its input is wrong.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error(transparent)]
    Issues(#[from] IssuesError),
    #[error(transparent)]
    Sample(#[from] SampleError),
    #[error("the issues file {0} holds no issues")]
    NoIssues(String),
    /// The spec and its inputs would give a run with a meaningless verdict (see `preflight`):
    /// the errors, rendered as diagnostics.
    #[error("{}", render_diagnostics(.0))]
    Preflight(Vec<agentpod_spec::Diagnostic>),
    #[error(
        "agent command not found: {0} (is it built? the path is relative to the pod spec's directory)"
    )]
    AgentNotFound(String),
    // The shard script of agentpod-deploy reads "has no issue left to do" as "complete".
    #[error("run {0} has no issue left to do")]
    NothingToResume(String),
    #[error(
        "a resumed run keeps its agent version `{run}`; `--agent-version {given}` would mix two versions in one run"
    )]
    ResumeVersion { run: String, given: String },
    #[error(
        "a resumed run keeps its {run} trial(s) per issue; `--trials {given}` would change what its pass^k means"
    )]
    ResumeTrials { run: u32, given: u32 },
    #[error(
        "{0}\n  host agents run sandboxed (DESIGN: the agent is untrusted); install bubblewrap, run the agent as an `agent.image`, or set `agent.isolation: none` to run it unprotected (every report then says the verdict is not protected)"
    )]
    // The text says why, so the cause is not a `source` too (it would be printed twice).
    Sandbox(agentpod_agent::SandboxUnavailable),
    #[error(
        "the sandboxed agent cannot read {path} (mode {mode:03o}): it runs as an unprivileged user of its own; make it readable to others (chmod o+rX), or list another path in `agent.read_only`"
    )]
    PrivateAgentPath { path: String, mode: u32 },
    #[error(
        "--shard K/{parts}: the run has only {pairs} issue trials, so some shards would have nothing to do; use at most {pairs} shards"
    )]
    TooManyShards { parts: u32, pairs: usize },
    #[error("cannot read the spec {path} to take its digest for --shard")]
    SpecUnreadable {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot create the work directory {path}")]
    WorkDirectory {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

fn render_diagnostics(diagnostics: &[agentpod_spec::Diagnostic]) -> String {
    diagnostics
        .iter()
        .map(agentpod_spec::Diagnostic::render)
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// The run as a whole failed (single issues failing is normal and not an error).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("fixtures could not be applied")]
    Fixture(#[source] FixtureError),
    #[error("the boundary does not fit the database")]
    Boundary(#[source] BoundaryError),
    #[error("no pod could be started")]
    NoPod(#[source] RuntimeError),
    #[error("no pod could be prepared: {0}")]
    PodPreparation(String),
    #[error("no pod's gateways could start")]
    Gateways(#[source] GatewayStartError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A pod's gateways could not start: the spec asks for what this machine does not give, or a
/// gateway could not bind.
#[derive(Debug, thiserror::Error)]
pub enum GatewayStartError {
    #[error("an image agent needs a pod with a network")]
    NoPodNetwork,
    #[error("the pod's host address `{host}` is not an IP address")]
    HostAddress {
        host: String,
        #[source]
        source: std::net::AddrParseError,
    },
    #[error("the tool gateway cannot start")]
    ToolGateway(#[source] agentpod_tool_gateway::ToolGatewayError),
    #[error("the trace intake cannot start")]
    TraceIntake(#[source] agentpod_trace::TraceError),
    #[error("the LLM gateway cannot start")]
    LlmGateway(#[source] agentpod_llm_gateway::LlmGatewayError),
    #[error(
        "`model.upstream: {upstream}` needs the provider's key in agentpod's environment: set {variable}"
    )]
    MissingKey {
        upstream: &'static str,
        variable: String,
    },
    #[error("`model.upstream: replay` needs `cassettes`")]
    ReplayWithoutCassettes,
    #[error("`model.upstream: openai-compatible` needs `base_url`")]
    CompatibleWithoutBaseUrl,
    #[error("a side model (judge, customer) has no gateway and the spec no `model` section")]
    NoSideModel,
}

/// An issue could not be made ready for its agent; the issue's outcome says so, the run goes on.
#[derive(Debug, thiserror::Error)]
pub(crate) enum IssuePrepareError {
    #[error("cannot prepare the issue directory {path}")]
    Directory {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the pod could not create the issue's database")]
    Database(#[source] agentpod_db::DbError),
    /// The issue's `simulated_customer` cannot be simulated (malformed, or a persona without a model).
    #[error("{0}")]
    Customer(String),
}

/// The gold state could not be made: the issue's gold actions could not be replayed on their
/// clone, or a state could not be read. The gold-state check fails with this as its reason.
#[derive(Debug, thiserror::Error)]
pub(crate) enum GoldStateError {
    #[error("cannot make a clone for the gold actions")]
    Clone(#[source] agentpod_db::DbError),
    #[error("`gold_actions` must be a list of tool calls")]
    NotAList,
    #[error("gold action {number} is not a tool call: {why}")]
    NotAToolCall { number: usize, why: String },
    #[error("cannot register the gold clone with the tool gateway")]
    Register(#[source] agentpod_tool_gateway::ToolGatewayError),
    /// The error text the tool layer gives the agent: for a database error, the server's
    /// message and SQLSTATE (never the driver's framing, nor the server's own source position).
    #[error("gold action {number} failed: {message}")]
    Action { number: usize, message: String },
    #[error("cannot compare the gold state with the agent's")]
    Snapshot(#[source] agentpod_db::DbError),
}
