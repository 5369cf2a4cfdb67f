//! The command-line interface: commands, options and the help text that teaches them.

use std::path::PathBuf;

use agentpod_runner::SampleSize;
use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "agentpod",
    version,
    about = "Run AI agents against sampled issues in isolated testing pods, and measure them",
    long_about = "Run AI agents against sampled issues in isolated testing pods, and measure them.\n\n\
        A pod is a private network with its own Postgres, seeded from the pod spec's fixtures; every \
        issue gets a fresh copy of that database and one run of the agent. agentpod records each \
        outcome and prints what the run came to: passed, failed, errored, and time per issue.",
    after_help = "Examples:\n  \
        agentpod validate pods/support-triage.yaml\n  \
        agentpod run pods/support-triage.yaml --pods 3 --sample 50 --json run.json\n  \
        agentpod runs\n  \
        agentpod show latest\n  \
        agentpod trace latest T-1042\n  \
        agentpod boundary pods/support-triage.yaml\n  \
        agentpod report latest --format markdown >> \"$GITHUB_STEP_SUMMARY\"\n  \
        agentpod gate latest --baseline <previous-run>\n  \
        agentpod dataset diff old-issues.jsonl issues.jsonl\n  \
        agentpod promote run latest T-1042 --expected category=billing --to pods/support-triage.yaml\n  \
        agentpod gc\n\n\
        Exit codes: 0 success · 1 internal error · 2 invalid input · 3 setup error · 4 gate failed · 5 run budget reached · 130 interrupted"
)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) global: GlobalOptions,
    #[command(subcommand)]
    pub(crate) command: Command,
}

impl Command {
    /// Whether the command only reads and prints (no pod, agent, server or store write that a
    /// sudden end would leave half-done).
    pub(crate) fn only_prints(&self) -> bool {
        matches!(
            self,
            Command::Validate(_)
                | Command::Runs(_)
                | Command::Show(_)
                | Command::Trace(_)
                | Command::Report(_)
                | Command::Compare(_)
                | Command::Gate(_)
                | Command::Dataset(_)
                | Command::Deploy(DeployArgs {
                    target: DeployTarget::Kubernetes(_)
                })
        )
    }
}

#[derive(Debug, Args)]
pub(crate) struct GlobalOptions {
    /// The run store: a SQLite file (created if missing), or a Postgres database shared by a
    /// team and by the shards of a run on several machines (`postgres://user@host/db`; give the
    /// password through AGENTPOD_STORE or PGPASSWORD rather than on the command line).
    #[arg(
        long,
        global = true,
        env = "AGENTPOD_STORE",
        // The variable may hold a Postgres password: `--help` names it without its value.
        hide_env_values = true,
        default_value = ".agentpod/runs.db",
        value_name = "FILE|URL"
    )]
    pub(crate) store: agentpod_store::StoreLocation,
    /// More logs on stderr (-v info, -vv debug); RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub(crate) verbose: u8,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run an agent version against a sample of issues, in pods.
    #[command(
        long_about = "Run an agent version against a sample of issues, in pods.\n\n\
            Starts --pods pods (each its own Postgres seeded from the spec's fixtures), spreads the \
            sampled issues over them, starts the agent once per issue with the agent contract's \
            environment (AGENTPOD_ISSUE, AGENTPOD_OUTPUT, DATABASE_URL, AGENTPOD_RUN_ID, \
            AGENTPOD_ISSUE_ID, AGENTPOD_AGENT_VERSION), grades each answer and records it in the \
            run store as soon as it ends. Prints a summary on stdout at the end.\n\n\
            Ctrl-C once: stop starting issues, stop running agents, keep results, remove pods. \
            Ctrl-C twice: stop now (pods are still removed)."
    )]
    Run(RunArgs),
    /// Check a pod spec (and its fixture and issues files) without starting anything.
    Validate(ValidateArgs),
    /// List recent runs from the run store.
    Runs(RunsArgs),
    /// Show one run: its summary and every issue's outcome.
    Show(ShowArgs),
    /// The run store in a browser: runs, a run's report, an issue's trials side by side,
    /// comparisons and proposals, read-only, served on 127.0.0.1.
    View(ViewArgs),
    /// One issue of a run as a timeline: process, model calls, tool calls, spans, database events.
    Trace(TraceArgs),
    /// A run's report: quality, cost, tool calls, time, boundary events, production projection.
    Report(ReportArgs),
    /// Runs side by side on the issues they share: paired deltas and the issues that flipped.
    #[command(
        long_about = "Runs side by side on the issues they share: paired deltas and the issues that flipped.\n\n\
            The first run is the baseline. Issues are paired by id. In a run with several trials \
            per issue (`run --trials K`), an issue counts as passed only when it passed every one \
            of its trials, and its cost, calls and time are the means over its finished trials."
    )]
    Compare(CompareArgs),
    /// The CI gate: check a run against thresholds (spec `gate:` or flags); exit 4 if any fails.
    Gate(GateArgs),
    /// Send a stored run to an OpenTelemetry collector (`--otlp URL`, GenAI conventions), or
    /// write it as a bundle file another machine imports (`--bundle FILE`).
    Export(ExportArgs),
    /// Add a run from a bundle file (`agentpod export RUN --bundle FILE`) to this run store.
    Import(ImportArgs),
    /// One run from the bundles of its shards (`run --shard K/N`, then `export --bundle`).
    #[command(
        long_about = "One run from the bundles of its shards (`run --shard K/N`, then `export --bundle`).\n\n\
            Checks that the bundles are the parts of one run — one group, spec digest, seed, sample \
            and agent version; every part from 1 to N exactly once; every shard finished, with \
            exactly its part's (issue, trial) pairs, none twice — and adds one run made of them to \
            this run store: its report, compare and gate are those of the same run on one machine, \
            and its summary says how it was spread (shards, machines, wall time per shard). A shard \
            that died is finished with `agentpod run --resume RUN` (on any machine with its store), \
            exported again, and merged.\n\n\
            Shards that wrote one shared store (`--store postgres://…` on every machine) need no \
            bundles: `agentpod merge --group GROUP` merges the group's shards found in the store.\n\n\
            Exit codes: 0 merged · 2 the bundles are not the parts of one run (the message names \
            the problem) · 3 the run store cannot be written.",
        after_help = "Examples:\n  \
            agentpod run pods/support-triage.yaml --shard 2/3 --seed 7 && agentpod export latest --bundle shard-2.json\n  \
            agentpod merge shard-1.json shard-2.json shard-3.json --json run.json\n  \
            AGENTPOD_STORE=postgres://agentpod@db/runs agentpod run pods/support-triage.yaml --shard 1/3 --group nightly-42\n  \
            AGENTPOD_STORE=postgres://agentpod@db/runs agentpod merge --group nightly-42"
    )]
    Merge(MergeArgs),
    /// Turn a tracker's export (GitHub, Jira, Zendesk, Freshdesk) into an issues file.
    #[command(
        name = "import-issues",
        long_about = "Turn a tracker's export (GitHub, Jira, Zendesk, Freshdesk) into an issues file.\n\n\
            Reads what the tracker exports — GitHub: the REST API's issues JSON as \
            `gh api repos/OWNER/REPO/issues --paginate -X GET -f state=all` saves it (pull requests \
            are skipped); Jira: the CSV export (all fields); Zendesk: `{\"tickets\": [...]}` or one \
            ticket per line; Freshdesk: the `/api/v2/tickets` JSON — and writes a JSON lines issues \
            file, each issue with its `provenance` (tracker, original id and key, URL, export file, \
            import time), which the agent is never given.\n\n\
            Name the answer with --expected FIELD (e.g. priority) or --expected-label-prefix PREFIX \
            (labels or tags such as `kind/bug` become `expected.kind = bug`): it becomes the issue's \
            `expected` part, taken out of what the agent sees, and issues without it are skipped, so \
            the file is ready for `agentpod run`.",
        after_help = "Examples:\n  \
            gh api repos/acme/app/issues --paginate -X GET -f state=all > issues.json\n  \
            agentpod import-issues github issues.json --expected-label-prefix kind/ -o evals/issues.jsonl\n  \
            agentpod import-issues jira jira.csv --expected priority -o evals/jira.jsonl"
    )]
    ImportIssues(ImportIssuesArgs),
    /// Production failures into the evaluation set: an issue of a run, or a production trace.
    #[command(
        long_about = "Production failures into the evaluation set: an issue of a run, or a production trace.\n\n\
            `promote run RUN ISSUE --expected FIELD=VALUE` takes the issue as the run stored it (the \
            fields its agent was given), gives it the answer you name, and adds it to an evaluation \
            set's JSON lines issues file with `provenance` (source agentpod-run, the run, the issue, \
            each trial's status and reason, the answer it had, when it was promoted), which the \
            agent is never given. The set is --to's issues file, or a spec's `issues.source`; \
            without --to, the spec the run was started with.\n\n\
            The issue keeps its id when the set has none like it, else becomes `<id>-p1`, `-p2`…. \
            An issue with the same agent-visible fields already in the set is a duplicate: the same \
            answer is refused, another answer too unless --replace, which gives that issue (same \
            id, same line) the new answer and provenance. The file is rewritten through a \
            temporary file renamed over it; a CSV set is refused (convert it to JSON lines).\n\n\
            `promote trace FILE --expected FIELD=VALUE --to SET` does the same from an OTLP/JSON \
            export of one agent session (see `agentpod promote trace --help`).\n\n\
            Exit codes: 0 added · 2 refused (duplicate, unknown run or issue, unreadable set) · 3 \
            the file cannot be written.",
        after_help = "Examples:\n  \
            agentpod promote run latest T-1042 --expected category=billing\n  \
            agentpod promote run 3f2a T-7 --expected 'labels:=[\"bug\",\"ui\"]' --to evals/regressions.jsonl\n  \
            agentpod promote run latest T-1042 --expected category=refunds --replace\n  \
            agentpod promote trace session.json --expected category=billing --to evals/issues.jsonl"
    )]
    Promote(PromoteArgs),
    /// Evaluation sets: `dataset diff A B` says which issues were added, removed or changed.
    Dataset(DatasetArgs),
    /// Print the effective AI-writable boundary of a spec, resolved against its fixtures.
    #[command(
        long_about = "Print the effective AI-writable boundary of a spec, resolved against its fixtures.\n\n\
            Starts one pod, seeds it from the fixtures, resolves the spec's `boundary` against the \
            tables that really exist (every table needs a class, or a `default`), and prints each \
            table's access — writable, approval, read_only or hidden — and where it came from. \
            The pod is removed afterwards. Review this table before approving an agent's rollout."
    )]
    Boundary(BoundaryArgs),
    /// Remove containers, networks, volumes and local pods that killed runs left behind.
    #[command(
        long_about = "Remove containers, networks, volumes and local pods that killed runs left behind.\n\n\
            Everything agentpod creates is labelled with its run and its owner process; gc removes \
            what belongs to owners that are no longer alive on this host. --all also removes pods \
            of runs still going. The seed cache (agentpod-seed:<key> images of seeded templates, and \
            the local runtime's seeded clusters in $XDG_CACHE_HOME/agentpod/seeds) is kept unless \
            --seeds is given."
    )]
    Gc(GcArgs),
    /// Spread one run's shards over an orchestrator: Kubernetes manifests, or a Swarm job run to its end.
    #[command(
        long_about = "Spread one run's shards over an orchestrator you operate.\n\n\
            `deploy kubernetes SPEC --shards N --image IMAGE` writes, as one YAML stream on stdout, \
            an Indexed Job of N pods, a NetworkPolicy and a ReadWriteMany claim for the results. Pod \
            K (JOB_COMPLETION_INDEX + 1) runs `agentpod run SPEC --runtime local --shard K/N` (the \
            pod's Postgres and the sandboxed agent inside it) and writes its part as a bundle to \
            /results/UID (the Job's uid); a pod that failed is tried again and resumes its shard's \
            run; `agentpod merge /results/UID/*.bundle.json` then makes the one run. The NetworkPolicy closes the pods to \
            ingress and allows egress only to what --egress names (the model provider, say); with \
            none named, the pods reach nothing outside themselves.\n\n\
            `deploy swarm SPEC --shards N --image IMAGE --results DIR` runs them on the Docker \
            Swarm whose manager DOCKER_HOST names: a replicated job of N tasks, task K running \
            shard K, watched to its end. A shard whose node is lost is started again on another \
            node and resumes its run; then the parts are merged into one run in this run store, \
            as `agentpod merge` does.\n\n\
            IMAGE holds agentpod, Postgres's server binaries, bubblewrap, and the project at its \
            working directory (SPEC is read relative to it); scripts/build-agentpod-image makes one.",
        after_help = "Examples:\n  \
            agentpod deploy kubernetes pods/support-triage.yaml --shards 6 --image registry.example/agentpod:1 > shards.yaml\n  \
            agentpod deploy kubernetes pods/support-triage.yaml --shards 6 --image IMG --egress 203.0.113.0/24:443 -- --sample 600 --trials 3\n  \
            kubectl apply -f shards.yaml && kubectl wait --for=condition=complete job/support-triage-shards --timeout=6h\n  \
            DOCKER_HOST=unix:///tmp/manager.sock agentpod deploy swarm pods/support-triage.yaml --shards 6 --image registry.example/agentpod:1 --results /mnt/shared/triage -- --sample 600"
    )]
    Deploy(DeployArgs),
}

#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// The pod spec, e.g. pods/support-triage.yaml (with --resume: the run's own spec by default).
    #[arg(required_unless_present = "resume")]
    pub(crate) spec: Option<PathBuf>,
    /// Finish an unfinished run (interrupted, killed, or failed): only its issues without a
    /// finished outcome run again, with the same sample, seed and agent version.
    #[arg(long, value_name = "RUN")]
    pub(crate) resume: Option<String>,
    /// Run only part K of N of the run's (issue, trial) pairs, e.g. `--shard 2/3` (K from 1).
    ///
    /// Every shard draws the same sample (same spec, --seed, --sample, --trials) and takes every
    /// N-th pair of it, so the N parts are disjoint and together the whole run. Each shard is a
    /// run of its own in its machine's store, recording its group, part and the sample's
    /// fingerprint; `agentpod export RUN --bundle` each and `agentpod merge` the bundles into one
    /// run. A shard that dies is finished with --resume.
    #[arg(long, value_name = "K/N", value_parser = parse_shard, conflicts_with = "resume")]
    pub(crate) shard: Option<agentpod_store::ShardPart>,
    /// With --shard: the id all shards of the run share (default: derived from the spec's
    /// digest, the seed, the sample's fingerprint and the agent version, so shards started
    /// alike agree without being told). Letters, digits, `.`, `_`, `-`; at most 64.
    #[arg(long, value_name = "ID", requires = "shard", value_parser = parse_group)]
    pub(crate) group: Option<String>,
    /// Number of pods in parallel (overrides the spec's `pods`).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=64))]
    pub(crate) pods: Option<u16>,
    /// Sample this many issues, or `all` to run every issue (overrides the spec's `issues.sample`).
    #[arg(long, value_name = "N|all", value_parser = parse_sample)]
    pub(crate) sample: Option<SampleSize>,
    /// Seed of the sample; the same seed draws the same issues (overrides `issues.seed`).
    #[arg(long, value_name = "SEED")]
    pub(crate) seed: Option<u64>,
    /// Run each issue K times, each time in a fresh database (overrides `issues.trials`).
    ///
    /// An agent that is right once in three tries is not reliable. With K > 1 the summary and
    /// the report give pass^K beside the pass rate: the pass rate counts passed trials over
    /// finished trials; pass^K is the share of issues that passed every one of their K trials.
    /// All first trials run before any second one, so a stopped run has tried the most issues.
    /// A resumed run keeps the trials it started with.
    #[arg(long, value_name = "K", value_parser = clap::value_parser!(u32).range(1..=100))]
    pub(crate) trials: Option<u32>,
    /// Where pods run; default: Docker where an engine answers, else local Postgres binaries.
    #[arg(long, value_enum, env = "AGENTPOD_RUNTIME")]
    pub(crate) runtime: Option<RuntimeChoice>,
    /// The agent version to record (overrides `agent.version`), e.g. a git sha in CI.
    #[arg(long, value_name = "VERSION")]
    pub(crate) agent_version: Option<String>,
    /// The agent command, split on spaces (overrides `agent.command`).
    #[arg(long, value_name = "COMMAND")]
    pub(crate) agent_command: Option<String>,
    /// Also write the summary as JSON to FILE (`-` for stdout).
    #[arg(long, value_name = "FILE")]
    pub(crate) json: Option<PathBuf>,
    /// No progress display; only the summary (and errors).
    #[arg(long)]
    pub(crate) no_progress: bool,
    /// Seed every pod's template from the fixtures, ignoring the seed cache.
    ///
    /// Normally the seeded template is cached by the content of the fixtures, the boundary and
    /// the database image (Docker: as an `agentpod-seed:<key>` image), so a later run with the
    /// same fixtures starts its pods without seeding. For measuring and debugging.
    #[arg(long)]
    pub(crate) no_seed_cache: bool,
    /// After the run, apply the spec's `gate:` thresholds; exit 4 if any is not met.
    #[arg(long)]
    pub(crate) gate: bool,
    /// With --gate: a baseline run; issues it passed and this run did not are regressions
    /// (`gate.max_regressions`, none allowed when the spec sets no limit).
    #[arg(long, value_name = "RUN", requires = "gate")]
    pub(crate) baseline: Option<String>,
    /// Where per-issue files go (issue.json, output.json, the agent's working directory);
    /// default: `runs/` beside the run store (`.agentpod/runs` with the default store).
    #[arg(long, value_name = "DIR")]
    pub(crate) work_dir: Option<PathBuf>,
}

/// `--shard K/N`: 1 ≤ K ≤ N, as `nextest --partition count:K/N` and `playwright --shard=K/N`.
fn parse_shard(text: &str) -> Result<agentpod_store::ShardPart, String> {
    let shape = || format!("expected K/N with 1 ≤ K ≤ N (e.g. 2/3), found `{text}`");
    let (part, parts) = text.split_once('/').ok_or_else(shape)?;
    let part: u32 = part.trim().parse().map_err(|_| shape())?;
    let parts: u32 = parts.trim().parse().map_err(|_| shape())?;
    if parts == 0 {
        return Err(format!(
            "`{text}`: the number of shards N must be at least 1"
        ));
    }
    if part == 0 {
        return Err(format!(
            "`{text}`: shards are numbered from 1 (1/{parts} to {parts}/{parts})"
        ));
    }
    if part > parts {
        return Err(format!(
            "`{text}`: shard {part} of {parts} does not exist (1/{parts} to {parts}/{parts})"
        ));
    }
    if parts > 10_000 {
        return Err(format!("`{text}`: at most 10000 shards"));
    }
    Ok(agentpod_store::ShardPart { part, parts })
}

/// `--group ID`: a name every shard can pass on a command line and every store can keep.
fn parse_group(text: &str) -> Result<String, String> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    if text.is_empty() || text.len() > 64 || !text.chars().all(allowed) {
        return Err(format!(
            "`{text}`: a group id is 1 to 64 letters, digits, `.`, `_` or `-` (e.g. the CI pipeline's id)"
        ));
    }
    Ok(text.to_string())
}

/// `--sample N` (at least 1) or `--sample all`.
fn parse_sample(text: &str) -> Result<SampleSize, String> {
    if text.eq_ignore_ascii_case("all") {
        return Ok(SampleSize::All);
    }
    match text.parse::<usize>() {
        Ok(0) => Err("the sample size must be at least 1 (or `all`)".to_owned()),
        Ok(count) => Ok(SampleSize::Count(count)),
        Err(_) => Err(format!(
            "expected a number of issues or `all`, found `{text}`"
        )),
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum RuntimeChoice {
    Docker,
    Local,
}

#[derive(Debug, Args)]
pub(crate) struct ValidateArgs {
    /// One or more pod specs.
    #[arg(required = true)]
    pub(crate) specs: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct RunsArgs {
    /// How many runs to list, newest first.
    #[arg(long, short = 'n', default_value_t = 20)]
    pub(crate) limit: usize,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ViewArgs {
    /// The port on 127.0.0.1 to serve on; 0 picks a free one.
    #[arg(long, default_value_t = 8421)]
    pub(crate) port: u16,
    /// Do not open a browser (one is opened only where there is a desktop to show it).
    #[arg(long)]
    pub(crate) no_open: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ShowArgs {
    /// A run id, an unambiguous prefix of one, or `latest`.
    pub(crate) run: String,
    /// Print the summary and outcomes as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct TraceArgs {
    /// A run id, an unambiguous prefix of one, or `latest`.
    pub(crate) run: String,
    /// The issue's id.
    pub(crate) issue: String,
    /// Which trial of the issue, for a run with `--trials` (from 1).
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) trial: u32,
    /// Print the timeline as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ReportArgs {
    /// A run id, an unambiguous prefix of one, or `latest`.
    pub(crate) run: String,
    /// terminal, json, markdown (CI summaries), junit (one test case per issue) or html (one file with charts).
    #[arg(long, default_value = "terminal")]
    pub(crate) format: String,
    /// Write to FILE instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    pub(crate) output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct CompareArgs {
    /// Two or more runs; the first is the baseline the others are compared with.
    #[arg(num_args = 2.., required = true)]
    pub(crate) runs: Vec<String>,
    /// terminal, json, markdown, junit (regressions as failures) or html.
    #[arg(long, default_value = "terminal")]
    pub(crate) format: String,
    #[arg(long, short, value_name = "FILE")]
    pub(crate) output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct GateArgs {
    /// The run to gate.
    pub(crate) run: String,
    /// A baseline run: issues it passed and this run did not are regressions
    /// (`--max-regressions`, else `gate.max_regressions`, else none allowed).
    #[arg(long, value_name = "RUN")]
    pub(crate) baseline: Option<String>,
    /// Minimum pass rate, 0 to 1 (overrides the spec's `gate.min_pass_rate`).
    #[arg(long, value_name = "SHARE")]
    pub(crate) min_pass_rate: Option<f64>,
    #[arg(long, value_name = "N")]
    pub(crate) max_regressions: Option<usize>,
    #[arg(long, value_name = "USD")]
    pub(crate) max_monthly_cost: Option<f64>,
    #[arg(long, value_name = "USD")]
    pub(crate) max_p95_cost: Option<f64>,
    #[arg(long, value_name = "SECONDS")]
    pub(crate) max_p95_seconds: Option<f64>,
    #[arg(long, value_name = "N")]
    pub(crate) max_violations: Option<usize>,
    /// terminal, json, markdown or junit.
    #[arg(long, default_value = "terminal")]
    pub(crate) format: String,
    #[arg(long, short, value_name = "FILE")]
    pub(crate) output: Option<PathBuf>,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("destination").required(true).args(["otlp", "bundle"])))]
pub(crate) struct ExportArgs {
    /// A run id, an unambiguous prefix of one, or `latest`.
    pub(crate) run: String,
    /// The collector's OTLP/HTTP endpoint, e.g. http://localhost:4318 (`/v1/traces` is added).
    #[arg(long, value_name = "URL")]
    pub(crate) otlp: Option<String>,
    /// Write the whole run (outcomes, steps, boundary events, spec) as one JSON file.
    #[arg(long, value_name = "FILE")]
    pub(crate) bundle: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct ImportArgs {
    /// A bundle written by `agentpod export RUN --bundle FILE`.
    pub(crate) bundle: PathBuf,
}

#[derive(Debug, Args)]
pub(crate) struct MergeArgs {
    /// Every shard's bundle (`agentpod export RUN --bundle FILE`), in any order.
    #[arg(
        required_unless_present = "group",
        conflicts_with = "group",
        value_name = "BUNDLE"
    )]
    pub(crate) bundles: Vec<PathBuf>,
    /// Merge the shards of this group that are already in the run store (shards that wrote one
    /// shared store, `--store postgres://…`), instead of bundles.
    #[arg(long, value_name = "GROUP")]
    pub(crate) group: Option<String>,
    /// Also write the merged run's summary as JSON to FILE (`-` for stdout).
    #[arg(long, value_name = "FILE")]
    pub(crate) json: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct ImportIssuesArgs {
    /// The tracker that wrote the export.
    #[arg(value_enum)]
    pub(crate) tracker: TrackerChoice,
    /// The export file.
    pub(crate) export: PathBuf,
    /// The issues file to write (JSON lines); `-` for stdout.
    #[arg(long, short, value_name = "FILE")]
    pub(crate) output: PathBuf,
    /// An issue field that is the answer (repeat for several), e.g. `priority`, `type`, `labels`.
    #[arg(long, value_name = "FIELD")]
    pub(crate) expected: Vec<String>,
    /// Labels (GitHub, Jira) or tags (Zendesk, Freshdesk) with this prefix are the answer, under
    /// the prefix's name: with `kind/`, the label `kind/bug` becomes `expected.kind = "bug"`.
    #[arg(long, value_name = "PREFIX")]
    pub(crate) expected_label_prefix: Option<String>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum TrackerChoice {
    Github,
    Jira,
    Zendesk,
    Freshdesk,
}

#[derive(Debug, Args)]
pub(crate) struct DatasetArgs {
    #[command(subcommand)]
    pub(crate) command: DatasetCommand,
}

#[derive(Debug, Subcommand)]
pub(crate) enum DatasetCommand {
    /// Which issues were added, removed or changed from set A to set B.
    #[command(
        long_about = "Which issues were added, removed or changed from set A to set B.\n\n\
            A and B are issues files (`.jsonl`, `.csv`) or pod specs (`.yaml`), whose issues are \
            read as a run reads them. Issues are matched by id; a changed issue has the same id \
            and other fields or another expected answer, and the keys that differ are named \
            (`expected.<field>` for the answer's). Each set's SHA-256 and size are printed as \
            `runs`, `report` and `compare` show them.\n\n\
            Exit codes: 0 whether or not the sets differ (read --json to decide) · 2 a set cannot \
            be read."
    )]
    Diff(DatasetDiffArgs),
}

#[derive(Debug, Args)]
pub(crate) struct DatasetDiffArgs {
    /// The earlier set: an issues file or a pod spec.
    pub(crate) before: PathBuf,
    /// The later set: an issues file or a pod spec.
    pub(crate) after: PathBuf,
    /// Print the differences as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct PromoteArgs {
    #[command(subcommand)]
    pub(crate) command: PromoteCommand,
}

#[derive(Debug, Subcommand)]
pub(crate) enum PromoteCommand {
    /// An issue of a stored run, with the corrected answer, into an evaluation set.
    Run(PromoteRunArgs),
    /// A production trace (OTLP/JSON export of one agent session) into an evaluation set, with
    /// the rows its database spans recorded as a fixture delta.
    #[command(
        long_about = "A production trace (OTLP/JSON export of one agent session) into an evaluation set, \
            with the rows its database spans recorded as a fixture delta.\n\n\
            FILE is an ExportTraceServiceRequest in the OTLP JSON encoding (resourceSpans[]\
            .scopeSpans[].spans[], as collectors, Langfuse or Phoenix export it) holding one trace. \
            Read: the issue's fields from `agentpod.issue.<field>` attributes, else the first user \
            message (`gen_ai.input.messages`, else `gen_ai.prompt.<n>.role/content`, else \
            `gen_ai.prompt`) as the field `input`; the id from `agentpod.issue.id`, else \
            `gen_ai.conversation.id`, else `trace-<trace id>`; database spans' `db.query.text` \
            (or `db.statement`), their table from `db.collection.name` (or `db.sql.table`) and \
            their rows from `agentpod.db.rows` (a JSON list of objects). The rows are written as \
            INSERTs to `<set>.fixtures/<id>.sql` beside the issues file, named in the issue's \
            provenance: list it after the spec's fixtures to replay the failure against the state \
            it met. Ids, duplicates, --replace and the write are as for `promote run`.",
        after_help = "Examples:\n  \
            agentpod promote trace session.json --expected category=billing --to pods/support-triage.yaml"
    )]
    Trace(PromoteTraceArgs),
}

#[derive(Debug, Args)]
pub(crate) struct PromoteTraceArgs {
    /// The OTLP/JSON trace export of one agent session.
    pub(crate) trace: PathBuf,
    /// The answer, one field at a time: `FIELD=TEXT`, or `FIELD:=JSON`.
    #[arg(long, value_name = "FIELD=VALUE", required = true, value_parser = parse_expected)]
    pub(crate) expected: Vec<(String, serde_json::Value)>,
    /// The evaluation set: a JSON lines issues file (created if missing), or a pod spec.
    #[arg(long, value_name = "ISSUES_FILE|SPEC")]
    pub(crate) to: PathBuf,
    /// When an issue with the same fields and another answer is in the set, give it this answer.
    #[arg(long)]
    pub(crate) replace: bool,
}

#[derive(Debug, Args)]
pub(crate) struct PromoteRunArgs {
    /// A run id, an unambiguous prefix of one, or `latest`.
    pub(crate) run: String,
    /// The issue's id in that run.
    pub(crate) issue: String,
    /// The corrected answer, one field at a time: `FIELD=TEXT` (a string), or `FIELD:=JSON`
    /// (a number, list, object, true/false/null).
    #[arg(long, value_name = "FIELD=VALUE", required = true, value_parser = parse_expected)]
    pub(crate) expected: Vec<(String, serde_json::Value)>,
    /// The evaluation set: a JSON lines issues file (created if missing), or a pod spec (its
    /// `issues.source`, read with its mapping). Default: the spec the run was started with.
    #[arg(long, value_name = "ISSUES_FILE|SPEC")]
    pub(crate) to: Option<PathBuf>,
    /// When an issue with the same fields and another answer is in the set, give it this answer.
    #[arg(long)]
    pub(crate) replace: bool,
}

/// `FIELD=TEXT` or `FIELD:=JSON`.
fn parse_expected(text: &str) -> Result<(String, serde_json::Value), String> {
    let Some((field, value)) = text.split_once('=') else {
        return Err(format!(
            "expected FIELD=VALUE (or FIELD:=JSON), found `{text}`"
        ));
    };
    let (field, value) = match field.strip_suffix(':') {
        Some(field) => (
            field,
            serde_json::from_str(value).map_err(|error| {
                format!("`{value}` is not JSON ({error}); use FIELD=TEXT for text")
            })?,
        ),
        None => (field, serde_json::Value::String(value.to_owned())),
    };
    if field.is_empty() {
        return Err(format!("no field name in `{text}`"));
    }
    Ok((field.to_owned(), value))
}

#[derive(Debug, Args)]
pub(crate) struct BoundaryArgs {
    /// The pod spec.
    pub(crate) spec: PathBuf,
    /// Where the pod runs; default as for `run`.
    #[arg(long, value_enum, env = "AGENTPOD_RUNTIME")]
    pub(crate) runtime: Option<RuntimeChoice>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct DeployArgs {
    #[command(subcommand)]
    pub(crate) target: DeployTarget,
}

#[derive(Debug, Subcommand)]
pub(crate) enum DeployTarget {
    /// An Indexed Job (one pod per shard), its NetworkPolicy and its results claim, as YAML.
    Kubernetes(KubernetesArgs),
    /// A replicated job on the Docker Swarm at DOCKER_HOST, run to its end and merged here.
    Swarm(SwarmArgs),
}

#[derive(Debug, Args)]
pub(crate) struct SwarmArgs {
    /// The pod spec, relative to the image's working directory (checked here first).
    pub(crate) spec: PathBuf,
    /// Into how many shards the run is cut: the job's tasks.
    #[arg(long)]
    pub(crate) shards: u32,
    /// The image every task runs (agentpod, Postgres's binaries, bubblewrap, the project);
    /// every node must be able to pull it.
    #[arg(long)]
    pub(crate) image: String,
    /// Where the shards' stores and bundles go: a directory on shared storage, mounted at this
    /// same absolute path on every node and on this machine.
    #[arg(long, value_name = "DIR")]
    pub(crate) results: PathBuf,
    /// The service's name; the spec's name with `-shards` by default.
    #[arg(long)]
    pub(crate) name: Option<String>,
    /// The run group every shard records; `agentpod run` derives one when absent.
    #[arg(long)]
    pub(crate) group: Option<String>,
    /// How often the swarm tries a shard whose task failed again (resuming its run).
    #[arg(long, default_value_t = 2)]
    pub(crate) retries_per_shard: u32,
    /// The (overlay) network the tasks join. Without it they join an internal network of the
    /// deployment's own and reach nothing outside their tasks (the stand-in model, record/replay);
    /// name one with egress to the model provider otherwise.
    #[arg(long)]
    pub(crate) network: Option<String>,
    /// Also write the merged run's summary as JSON to FILE (`-` for stdout).
    #[arg(long, value_name = "FILE")]
    pub(crate) json: Option<PathBuf>,
    /// Further arguments for `agentpod run` in every task, after `--`.
    #[arg(last = true)]
    pub(crate) run_arguments: Vec<String>,
}

#[derive(Debug, Args)]
pub(crate) struct KubernetesArgs {
    /// The pod spec, relative to the image's working directory (checked here first).
    pub(crate) spec: PathBuf,
    /// Into how many shards the run is cut: the Job's completions and parallelism.
    #[arg(long)]
    pub(crate) shards: u32,
    /// The image each pod runs (agentpod, Postgres's binaries, bubblewrap, the project).
    #[arg(long)]
    pub(crate) image: String,
    /// The Job's name (a DNS label); the spec's name with `-shards` by default.
    #[arg(long)]
    pub(crate) name: Option<String>,
    /// The run group every shard records; `agentpod run` derives one when absent.
    #[arg(long)]
    pub(crate) group: Option<String>,
    #[arg(long)]
    pub(crate) namespace: Option<String>,
    /// An address range and port the pods may reach, as CIDR:PORT (repeat it); none by default.
    #[arg(long, value_name = "CIDR:PORT")]
    pub(crate) egress: Vec<agentpod_deploy::EgressRule>,
    /// How often a shard whose pod failed is tried again (resuming its run).
    #[arg(long, default_value_t = 2)]
    pub(crate) retries_per_shard: u32,
    /// Further arguments for `agentpod run` in every pod, after `--`.
    #[arg(last = true)]
    pub(crate) run_arguments: Vec<String>,
}

#[derive(Debug, Args)]
pub(crate) struct GcArgs {
    /// Also remove pods of runs whose owner is still alive.
    #[arg(long)]
    pub(crate) all: bool,
    /// List what would be removed without removing it.
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Also remove the seed cache: the `agentpod-seed:<key>` images of seeded templates (those
    /// no pod is running from) and the local runtime's seeded clusters
    /// (`$XDG_CACHE_HOME/agentpod/seeds`). Without it they stay; they are a cache, not garbage.
    #[arg(long)]
    pub(crate) seeds: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sample_is_a_positive_count_or_all() {
        assert_eq!(parse_sample("all"), Ok(SampleSize::All));
        assert_eq!(parse_sample("ALL"), Ok(SampleSize::All));
        assert_eq!(parse_sample("12"), Ok(SampleSize::Count(12)));
        assert!(parse_sample("0").is_err());
        assert!(parse_sample("some").is_err());
    }

    #[test]
    fn an_expected_value_is_text_or_json() {
        use serde_json::json;
        assert_eq!(
            parse_expected("category=billing"),
            Ok(("category".into(), json!("billing")))
        );
        assert_eq!(
            parse_expected("answer=42"),
            Ok(("answer".into(), json!("42")))
        );
        assert_eq!(
            parse_expected("answer:=42"),
            Ok(("answer".into(), json!(42)))
        );
        assert_eq!(
            parse_expected("note=a=b"),
            Ok(("note".into(), json!("a=b")))
        );
        assert_eq!(
            parse_expected("labels:=[\"bug\"]"),
            Ok(("labels".into(), json!(["bug"])))
        );
        assert!(parse_expected("answer:=forty").is_err());
        assert!(parse_expected("=x").is_err());
        assert!(parse_expected("category").is_err());
    }
}
