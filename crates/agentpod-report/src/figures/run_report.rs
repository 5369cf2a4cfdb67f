//! `RunReport`: everything a person decides from after one run — quality with its interval,
//! cost, calls and time as distributions, boundary events, the production projection, one row
//! per issue with its timeline, and the verdict: the gate's judgement with the spec's thresholds,
//! so `report` and `gate` never disagree on the same thresholds.

use std::collections::{BTreeMap, HashMap};

use crate::{BoundarySummary, Distribution, Outlier, pass_all_trials, summarize};
use agentpod_store::{
    BoundaryDetail, BoundaryEventKind, BoundaryEventRecord, CUSTOMER_TOOL, EvaluationSet,
    OutcomeStatus, ProposalDetail, RowChangeDetail, StepDetail, StepRecord, ToolCallOutcome,
};
use serde::{Deserialize, Serialize};

use crate::figures::assessment::Standing;
use crate::figures::bootstrap::{DEFAULT_RESAMPLES, Measure, MeasureStatistics, Strata, bootstrap};
use crate::figures::estimate::Estimate;
use crate::figures::gate::{GateResult, evaluate_gate};
use crate::figures::gate_thresholds::GateThresholds;
use crate::figures::issue_measures::{
    IssueMeasures, default_category_field, issue_measures, trial_measure,
};
use crate::figures::production_profile::ProductionProfile;
use crate::figures::projection::{ProjectedFigure, Projection, project};
use crate::figures::run_input::RunInput;
use crate::figures::wilson::{clustered_wilson_interval, wilson_interval};
use crate::render::format::{dollars, number, percent, seconds, truncate};
use crate::render::terminal::check_sentence;

/// What a run is judged against, from its spec: the production profile, the gate's thresholds,
/// and the field its sample was stratified by (pass rates are grouped by it).
#[derive(Debug, Clone, Default)]
pub struct ReportContext {
    pub production: Option<ProductionProfile>,
    /// The spec's `gate:`; without one, only boundary violations are held against the run.
    pub gate: GateThresholds,
    pub stratify_by: Option<String>,
}

/// Stored in the run store as the report model (see `report_model`): when the shape of anything
/// in it changes, bump the format in `REPORT_MODEL_VERSION` there.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunReport {
    pub run_id: String,
    pub spec: String,
    pub agent_version: String,
    pub runtime: String,
    pub pods: usize,
    pub status: String,
    /// The evaluation set the run sampled from; `None` for a run recorded before sets were
    /// versioned.
    pub evaluation_set: Option<EvaluationSet>,
    /// How the run was spread over machines (`run --shard`, `merge`); `None` for one machine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spread: Option<crate::figures::run_summary::RunSpread>,
    /// The seed of the bootstrap, so the intervals can be reproduced.
    pub seed: u64,
    pub resamples: usize,
    pub quality: Quality,
    /// Per finished issue trial (with one trial, per issue); each with cluster-bootstrap
    /// intervals (issues resampled with all their trials) for mean and p95.
    pub cost_usd: Option<MeasureSummary>,
    pub model_calls: Option<MeasureSummary>,
    pub tool_calls: Option<MeasureSummary>,
    pub tokens: Option<MeasureSummary>,
    pub seconds: Option<MeasureSummary>,
    /// Calls to models with no price: left out of the cost figures.
    pub unpriced_calls: u32,
    pub budget_stops: u32,
    /// The provider's throttling: retries and waits, left out of `seconds`.
    pub throttling: crate::figures::usage_summary::ThrottlingSummary,
    /// The judge's and the simulated customers' models: what grading and simulation cost and
    /// how the judge behaved; never part of the agent's figures.
    #[serde(
        default,
        skip_serializing_if = "crate::figures::side_models_summary::SideModelsSummary::is_empty"
    )]
    pub side_models: crate::figures::side_models_summary::SideModelsSummary,
    /// Beyond Tukey's fence (the rule of `agentpod-report`).
    pub outliers: Vec<Outlier>,
    pub boundary: BoundarySummary,
    pub category_field: Option<String>,
    pub categories: Vec<CategoryQuality>,
    pub projection: Option<Projection>,
    pub issues: Vec<IssueRow>,
    /// The gate with the spec's thresholds (no baseline: regressions are not checked here).
    pub gate: GateResult,
    /// `ok` is the gate's `passed`.
    pub verdict: Verdict,
    /// Each issue's steps and boundary events, for the HTML page; not figures, so not in JSON.
    #[serde(skip)]
    pub timelines: HashMap<String, Vec<TimelineEntry>>,
    /// The values the distributions are taken over (one per finished trial), for the HTML
    /// histograms; the distributions above are the figures.
    #[serde(skip)]
    pub trial_samples: TrialSamples,
}

/// One value per finished trial, per measure.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TrialSamples {
    pub cost_usd: Vec<f64>,
    pub tool_calls: Vec<f64>,
    pub seconds: Vec<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Quality {
    pub sampled: usize,
    /// Outcomes by status, over all trials.
    pub passed: usize,
    pub failed: usize,
    pub errored: usize,
    pub interrupted: usize,
    pub infrastructure_errors: usize,
    /// Sampled issues with no outcome at all.
    pub not_run: usize,
    /// The most trials any issue had; 1 for a plain run.
    pub trials: usize,
    /// Passed over finished trials (passed, failed, errored), with the Wilson interval on the
    /// effective sample size of trials clustered by issue (see `clustered_wilson_interval`).
    pub pass_rate: Option<Estimate>,
    /// pass^k: the share of issues that passed every one of their trials, with its Wilson
    /// interval; only when issues had several trials.
    pub pass_all_trials: Option<Estimate>,
    pub finished_issues: usize,
}

impl Quality {
    pub fn finished(&self) -> usize {
        self.passed + self.failed + self.errored
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MeasureSummary {
    /// Median, p95, max, mean: nearest rank, over finished trials (with one trial, issues).
    pub distribution: Distribution,
    pub mean: Estimate,
    pub p95: Estimate,
    /// Over the measured trials: count × mean.
    pub total: Estimate,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CategoryQuality {
    pub value: String,
    /// Finished issues of this category.
    pub issues: usize,
    pub passed_trials: usize,
    pub finished_trials: usize,
    /// The run's pass rate restricted to the category: passed over finished trials, with the
    /// same clustered Wilson interval. Each interval is 95% on its own, not jointly.
    pub pass_rate: Estimate,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IssueRow {
    pub issue_id: String,
    pub category: Option<String>,
    pub status: OutcomeStatus,
    pub reason: String,
    pub trials: usize,
    pub passed_trials: usize,
    pub cost_usd: Option<f64>,
    pub model_calls: f64,
    pub tool_calls: f64,
    pub tokens: f64,
    pub seconds: f64,
    pub changes: usize,
    pub proposals: usize,
    pub violations: usize,
}

/// One line of an issue's timeline: a step the gateways saw, or a boundary event.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimelineEntry {
    /// `llm_call`, `tool_call`, `span`, `change`, `proposal` or `violation`.
    pub kind: &'static str,
    pub started_at: Option<String>,
    pub latency_ms: Option<f64>,
    /// What it was: the model, the tool and its outcome, the span name, the table.
    pub label: String,
    /// A refused or failed call, or a violation.
    pub failed: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// The gate passed: every threshold of the spec's `gate:` (boundary violations: none
    /// allowed by default) and no production budget certainly exceeded.
    pub ok: bool,
    pub headline: String,
    pub concerns: Vec<String>,
}

impl RunReport {
    /// Builds the report. `seed` drives the bootstrap: the same seed gives the same intervals.
    pub fn build(input: &RunInput, production: Option<&ProductionProfile>, seed: u64) -> Self {
        Self::build_with_resamples(input, production, seed, DEFAULT_RESAMPLES)
    }

    pub fn build_with_resamples(
        input: &RunInput,
        production: Option<&ProductionProfile>,
        seed: u64,
        resamples: usize,
    ) -> Self {
        let context = ReportContext {
            production: production.cloned(),
            ..ReportContext::default()
        };
        Self::build_in(input, &context, seed, resamples)
    }

    /// The report of a run judged against its spec's production profile and gate.
    pub fn build_in(
        input: &RunInput,
        context: &ReportContext,
        seed: u64,
        resamples: usize,
    ) -> Self {
        let run = &input.run;
        let production = context.production.as_ref();
        let mix_field = production
            .and_then(|profile| profile.by_category.as_ref())
            .map(|mix| mix.field.as_str());
        let category_field =
            default_category_field(input, mix_field, context.stratify_by.as_deref());
        let issues = issue_measures(input, category_field.as_deref());
        let summary = summarize(run, &input.outcomes, &input.boundary_events);
        let quality = quality(input, &issues);
        let finished: Vec<&IssueMeasures> =
            issues.iter().filter(|issue| issue.finished()).collect();
        let measures = vec![
            trial_measure(&finished, |trial| trial.cost_usd),
            trial_measure(&finished, |trial| Some(trial.llm_calls)),
            trial_measure(&finished, |trial| Some(trial.tool_calls)),
            trial_measure(&finished, |trial| Some(trial.tokens)),
            trial_measure(&finished, |trial| Some(trial.seconds)),
        ];
        // The projection resamples by category with its own generator: it runs beside the
        // report's own bootstrap, and the results do not depend on which ends first.
        let (statistics, projection) = std::thread::scope(|scope| {
            let projection = scope.spawn(|| {
                production.and_then(|profile| project(&issues, profile, resamples, seed))
            });
            let statistics = bootstrap(&measures, &Strata::single(finished.len()), resamples, seed);
            let projection = projection
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (statistics, projection)
        });
        let mut summaries = measures
            .iter()
            .zip(statistics)
            .map(|(values, statistics)| measure_summary(values, statistics));
        let mut next = || summaries.next().flatten();
        let (cost_usd, model_calls, tool_calls, tokens, seconds) =
            (next(), next(), next(), next(), next());
        let categories = category_quality(&issues);
        let mut report = RunReport {
            run_id: run.id.clone(),
            spec: run.spec_name.clone(),
            agent_version: run.agent_version.clone(),
            runtime: run.runtime.clone(),
            pods: run.pods,
            status: run.status.as_str().to_string(),
            evaluation_set: run.evaluation_set.clone(),
            spread: summary.spread.clone(),
            seed,
            resamples,
            quality,
            cost_usd,
            model_calls,
            tool_calls,
            tokens,
            seconds,
            unpriced_calls: summary.usage.unpriced_calls,
            budget_stops: summary.usage.budget_stops,
            throttling: summary.usage.throttling,
            side_models: summary.usage.side_models.clone(),
            outliers: summary.usage.outliers,
            boundary: summary.boundary,
            category_field: if categories.is_empty() {
                None
            } else {
                category_field
            },
            categories,
            projection,
            issues: issues.iter().map(issue_row).collect(),
            gate: GateResult {
                run_id: run.id.clone(),
                passed: true,
                checks: Vec::new(),
            },
            verdict: Verdict {
                ok: true,
                headline: String::new(),
                concerns: Vec::new(),
            },
            timelines: timelines(input),
            trial_samples: TrialSamples {
                cost_usd: measures[0].iter().map(|(_, value)| *value).collect(),
                tool_calls: measures[2].iter().map(|(_, value)| *value).collect(),
                seconds: measures[4].iter().map(|(_, value)| *value).collect(),
            },
        };
        report.gate = evaluate_gate(&report, None, &context.gate);
        report.verdict = verdict(&report);
        if run.unprotected {
            report.verdict.concerns.insert(
                0,
                "verdict not protected: the agent ran unsandboxed (agent.isolation: none) and \
                 could read the answers, the spec and the run store"
                    .to_string(),
            );
        }
        report
    }

    /// The report with each issue's timeline (its steps and boundary events, for the HTML
    /// page) from `input`: a report read back from the store has none.
    pub fn with_timelines(mut self, input: &RunInput) -> Self {
        self.timelines = timelines(input);
        self
    }

    /// Issues that did not pass, worst first (errored, then failed, then the rest).
    pub fn failed_issues(&self) -> impl Iterator<Item = &IssueRow> {
        let rank = |status: OutcomeStatus| match status {
            OutcomeStatus::Errored | OutcomeStatus::InfrastructureError => 0,
            OutcomeStatus::Failed => 1,
            _ => 2,
        };
        let mut failed: Vec<&IssueRow> = self
            .issues
            .iter()
            .filter(|issue| issue.status != OutcomeStatus::Passed)
            .collect();
        failed.sort_by_key(|issue| rank(issue.status));
        failed.into_iter()
    }
}

fn quality(input: &RunInput, issues: &[IssueMeasures]) -> Quality {
    let count = |status: OutcomeStatus| {
        input
            .outcomes
            .iter()
            .filter(|outcome| outcome.status == status)
            .count()
    };
    let passed = count(OutcomeStatus::Passed);
    let by_issue: Vec<(usize, usize)> = issues
        .iter()
        .map(|issue| (issue.passed_trials, issue.finished_trials))
        .collect();
    let trials = issues.iter().map(|issue| issue.trials).max().unwrap_or(1);
    let finished_issues = issues.iter().filter(|issue| issue.finished()).count();
    // A shard means to run only the issues with a pair in its part; the others are its
    // siblings', not "not run".
    let planned = match input
        .run
        .sharding
        .as_ref()
        .and_then(|sharding| sharding.shard_part())
    {
        Some(part) => part.issues_with_share(input.run.issue_count, input.run.trials),
        None => input.run.issue_count,
    };
    Quality {
        sampled: planned.max(issues.len()),
        passed,
        failed: count(OutcomeStatus::Failed),
        errored: count(OutcomeStatus::Errored),
        interrupted: count(OutcomeStatus::Interrupted),
        infrastructure_errors: count(OutcomeStatus::InfrastructureError),
        not_run: planned.saturating_sub(issues.len()),
        trials,
        pass_rate: clustered_wilson_interval(&by_issue),
        // The terminal summary's rule, so `show` and `report` agree.
        pass_all_trials: if trials > 1 {
            let k = u32::try_from(trials.max(input.run.trials as usize)).unwrap_or(u32::MAX);
            pass_all_trials(&input.outcomes, k)
                .and_then(|all| wilson_interval(all.passed_issues, all.finished_issues))
        } else {
            None
        },
        finished_issues,
    }
}

fn measure_summary(
    values: &Measure,
    statistics: Option<MeasureStatistics>,
) -> Option<MeasureSummary> {
    let statistics = statistics?;
    let present: Vec<f64> = values.iter().map(|(_, value)| *value).collect();
    Some(MeasureSummary {
        distribution: Distribution::of(&present)?,
        mean: statistics.mean,
        p95: statistics.p95,
        total: statistics.mean.scaled(present.len() as f64),
    })
}

fn category_quality(issues: &[IssueMeasures]) -> Vec<CategoryQuality> {
    let mut by_value: BTreeMap<&str, Vec<(usize, usize)>> = BTreeMap::new();
    for issue in issues.iter().filter(|issue| issue.finished()) {
        if let Some(category) = &issue.category {
            by_value
                .entry(category)
                .or_default()
                .push((issue.passed_trials, issue.finished_trials));
        }
    }
    by_value
        .into_iter()
        .filter_map(|(value, members)| {
            Some(CategoryQuality {
                value: value.to_string(),
                issues: members.len(),
                passed_trials: members.iter().map(|(passed, _)| passed).sum(),
                finished_trials: members.iter().map(|(_, finished)| finished).sum(),
                pass_rate: clustered_wilson_interval(&members)?,
            })
        })
        .collect()
}

fn issue_row(issue: &IssueMeasures) -> IssueRow {
    IssueRow {
        issue_id: issue.issue_id.clone(),
        category: issue.category.clone(),
        status: issue.status,
        reason: issue.reason.clone(),
        trials: issue.trials,
        passed_trials: issue.passed_trials,
        cost_usd: issue.cost_usd,
        model_calls: issue.llm_calls,
        tool_calls: issue.tool_calls,
        tokens: issue.tokens,
        seconds: issue.seconds,
        changes: issue.changes,
        proposals: issue.proposals,
        violations: issue.violations,
    }
}

/// How much of a message of a conversation a timeline line shows, in characters.
const CONVERSATION_LINE_CHARACTERS: usize = 161;

fn timelines(input: &RunInput) -> HashMap<String, Vec<TimelineEntry>> {
    let mut timelines: HashMap<String, Vec<TimelineEntry>> = HashMap::new();
    for step in &input.steps {
        timelines
            .entry(step.issue_id.clone())
            .or_default()
            .push(TimelineEntry::of_step(step));
    }
    for event in &input.boundary_events {
        timelines
            .entry(event.issue_id.clone())
            .or_default()
            .push(TimelineEntry::of_event(event));
    }
    timelines
}

impl TimelineEntry {
    /// A step the gateways saw, as one line of a timeline.
    pub fn of_step(step: &StepRecord) -> TimelineEntry {
        let named =
            |name: &str, unnamed: &str| if name.is_empty() { unnamed } else { name }.to_string();
        let (label, failed) = match &step.detail {
            StepDetail::LlmCall(call) => (
                format!(
                    "{} · {} in / {} out tokens{}{}",
                    call.response_model
                        .as_deref()
                        .or(call.model.as_deref())
                        .unwrap_or("model"),
                    call.usage.input_tokens,
                    call.usage.output_tokens,
                    call.cost_usd
                        .map(|cost| format!(" · {}", dollars(cost)))
                        .unwrap_or_default(),
                    throttled_note(call)
                ),
                call.status >= 400,
            ),
            StepDetail::ToolCall(call)
                if call.tool == CUSTOMER_TOOL && call.outcome == ToolCallOutcome::Ok =>
            {
                (
                    format!(
                        "to the customer: {} · the customer: {}",
                        truncate(
                            call.arguments
                                .get("message")
                                .and_then(serde_json::Value::as_str)
                                .unwrap_or("?"),
                            CONVERSATION_LINE_CHARACTERS
                        ),
                        truncate(&call.result, CONVERSATION_LINE_CHARACTERS)
                    ),
                    false,
                )
            }
            StepDetail::ToolCall(call) => (
                format!("{} · {}", named(&call.tool, "tool"), call.outcome.as_str()),
                call.outcome != ToolCallOutcome::Ok,
            ),
            StepDetail::JudgeCall(call) | StepDetail::CustomerCall(call) => (
                format!(
                    "{} {} · {} in / {} out tokens{} · not the agent's",
                    if matches!(step.detail, StepDetail::JudgeCall(_)) {
                        "judge"
                    } else {
                        "customer model"
                    },
                    call.model.as_deref().unwrap_or("model"),
                    call.usage.input_tokens,
                    call.usage.output_tokens,
                    call.cost_usd
                        .map(|cost| format!(" · {}", dollars(cost)))
                        .unwrap_or_default(),
                ),
                call.status >= 400,
            ),
            StepDetail::Span(span) => (named(&span.name, "span"), false),
            StepDetail::RejectedRequest(request) => (
                format!(
                    "{} gateway refused · {}",
                    named(&request.gateway, "a"),
                    request.status
                ),
                true,
            ),
        };
        TimelineEntry {
            kind: step.kind().as_str(),
            started_at: step
                .started_at
                .map(|at| at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)),
            latency_ms: step.latency_ms,
            label,
            failed,
        }
    }

    /// A boundary event (a change, a proposal, a violation), as one line of a timeline.
    pub fn of_event(event: &BoundaryEventRecord) -> TimelineEntry {
        let table = event.table().unwrap_or("?");
        let label = match &event.detail {
            BoundaryDetail::Violation(violation) => format!("{table}: {}", violation.error),
            BoundaryDetail::Change(RowChangeDetail { operation, .. })
            | BoundaryDetail::Proposal(ProposalDetail { operation, .. }) => {
                format!("{operation} {table}").trim().to_string()
            }
        };
        TimelineEntry {
            kind: event.kind().as_str(),
            started_at: None,
            latency_ms: None,
            label,
            failed: event.kind() == BoundaryEventKind::Violation,
        }
    }
}

fn verdict(report: &RunReport) -> Verdict {
    let quality = &report.quality;
    let mut headline = match &quality.pass_rate {
        Some(rate) => format!(
            "{} of {} passed ({}, 95% CI {}–{})",
            quality.passed,
            quality.finished(),
            percent(rate.value),
            percent(rate.low),
            percent(rate.high)
        ),
        None => "no issue finished".to_string(),
    };
    if let Some(rate) = &quality.pass_all_trials {
        headline.push_str(&format!(
            "; pass^{} {}",
            quality.trials,
            percent(rate.value)
        ));
    }
    let mut concerns = Vec::new();
    if let Some(projection) = &report.projection {
        if let Some(cost) = &projection.monthly_cost_usd {
            headline.push_str(&format!(
                "; projected {}/month",
                dollars(cost.estimate.value)
            ));
        }
        for (name, figure, show) in figures(projection) {
            for (against, assessment) in figure.assessments() {
                let reference = match against {
                    "budget" => format!("the {} budget", show(assessment.reference)),
                    _ => format!("today's {}", show(assessment.reference)),
                };
                match assessment.standing {
                    // Over a budget fails the gate, which says so below.
                    Standing::Over if against == "budget" => {}
                    Standing::Over => concerns.push(format!(
                        "{name} {} is over {reference}",
                        show(figure.estimate.value)
                    )),
                    Standing::Undecided => concerns.push(format!(
                        "{name} {} is undecided against {reference}{}",
                        show(figure.estimate.value),
                        assessment
                            .issues_to_decide
                            .map(|issues| format!(": about {issues} issues would decide it"))
                            .unwrap_or_default()
                    )),
                    Standing::Within => {}
                }
            }
        }
    }
    let mut gate_concerns: Vec<String> = Vec::new();
    for check in &report.gate.checks {
        if !check.passed {
            gate_concerns.push(format!("fails the gate: {}", check_sentence(check)));
        } else if check.skipped {
            gate_concerns.push(check_sentence(check));
        }
    }
    concerns.splice(0..0, gate_concerns);
    let boundary = &report.boundary;
    if boundary.violations > 0 {
        concerns.insert(
            0,
            format!(
                "{} boundary violation{} in {} issue{}",
                boundary.violations,
                if boundary.violations == 1 { "" } else { "s" },
                boundary.issues_with_violations,
                if boundary.issues_with_violations == 1 {
                    ""
                } else {
                    "s"
                },
            ),
        );
    }
    if quality.errored > 0 {
        concerns.insert(
            0,
            format!(
                "{} errored issue{}",
                quality.errored,
                if quality.errored == 1 { "" } else { "s" }
            ),
        );
    }
    if quality.not_run + quality.interrupted + quality.infrastructure_errors > 0 {
        concerns.push(format!(
            "{} of {} sampled issues did not finish",
            quality.sampled - quality.finished_issues,
            quality.sampled
        ));
    }
    Verdict {
        ok: report.gate.passed,
        headline,
        concerns,
    }
}

/// The projection's figures with a name and a way to show their values, in reading order.
pub(crate) type FigureShow = fn(f64) -> String;

pub(crate) fn figures(
    projection: &Projection,
) -> Vec<(&'static str, &ProjectedFigure, FigureShow)> {
    let hours: FigureShow = |value| format!("{} h", number(value));
    let agents: FigureShow = |value| format!("{} agents", number(value));
    let calls: FigureShow = number;
    [
        (
            "monthly cost",
            projection.monthly_cost_usd.as_ref(),
            dollars as FigureShow,
        ),
        (
            "p95 cost per issue",
            projection.p95_cost_usd_per_issue.as_ref(),
            dollars,
        ),
        (
            "p95 time per issue",
            projection.p95_seconds_per_issue.as_ref(),
            seconds,
        ),
        (
            "monthly agent-hours",
            projection.monthly_agent_hours.as_ref(),
            hours,
        ),
        (
            "monthly model calls",
            projection.monthly_model_calls.as_ref(),
            calls,
        ),
        (
            "monthly tool calls",
            projection.monthly_tool_calls.as_ref(),
            calls,
        ),
        (
            "concurrency (mean)",
            projection.concurrency_mean.as_ref(),
            agents,
        ),
        (
            "concurrency (p95)",
            projection.concurrency_p95.as_ref(),
            agents,
        ),
    ]
    .into_iter()
    .filter_map(|(name, figure, show)| Some((name, figure?, show)))
    .collect()
}

/// " · throttled 1.2 s, 2 retries" for a model call the provider held up; empty otherwise.
fn throttled_note(call: &agentpod_store::ModelCallDetail) -> String {
    if call.retries == 0 && call.throttled_ms() <= 0.0 {
        return String::new();
    }
    format!(
        " · throttled {}, {} retr{}",
        seconds(call.throttled_ms() / 1000.0),
        call.retries,
        if call.retries == 1 { "y" } else { "ies" }
    )
}
