//! JUnit XML, so CI systems list issues by name: one test case per issue (a regression, or a
//! gate check), failures and errors with their reason, and cost, calls and time as properties.
//! Written with `quick-junit` (the nextest project's crate), which escapes text and drops what
//! XML cannot carry (control characters, terminal escapes from an agent's output).

use std::time::Duration;

use agentpod_store::OutcomeStatus;
use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};

use crate::figures::comparison::Comparison;
use crate::figures::error::ReportError;
use crate::figures::gate::GateResult;
use crate::figures::run_report::RunReport;

use super::inert_text::xml_plain as text;
use super::terminal::check_sentence;

pub(crate) fn report(report: &RunReport) -> Result<String, ReportError> {
    let mut suite = TestSuite::new(text(&format!("{} · {}", report.spec, report.agent_version)));
    suite.add_property(Property::new("run_id", text(&report.run_id)));
    suite.add_property(Property::new("agent_version", text(&report.agent_version)));
    suite.add_property(Property::new("runtime", text(&report.runtime)));
    if let Some(set) = &report.evaluation_set {
        suite.add_property(Property::new("evaluation_set_sha256", text(&set.sha256)));
        suite.add_property(Property::new(
            "evaluation_set_issues",
            set.issues.to_string(),
        ));
    }
    if let Some(rate) = &report.quality.pass_rate {
        suite.add_property(Property::new("pass_rate", format!("{:.6}", rate.value)));
    }
    suite.add_property(Property::new("verdict", text(&report.verdict.headline)));
    suite.add_property(Property::new(
        "gate",
        if report.gate.passed {
            "passed"
        } else {
            "failed"
        },
    ));
    if let Some(rate) = report
        .projection
        .as_ref()
        .and_then(|projection| projection.pass_rate)
    {
        suite.add_property(Property::new(
            "pass_rate_production_mix",
            format!("{:.6}", rate.value),
        ));
    }
    let mut total_seconds = 0.0;
    for issue in &report.issues {
        total_seconds += issue.seconds * issue.trials as f64;
        let reason = text(&issue.reason);
        let status = match issue.status {
            OutcomeStatus::Passed => TestCaseStatus::success(),
            OutcomeStatus::Failed => {
                let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
                status
                    .set_message(reason.as_str())
                    .set_type("failed")
                    .set_description(reason.as_str());
                status
            }
            OutcomeStatus::Errored | OutcomeStatus::InfrastructureError => {
                let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
                status
                    .set_message(reason.as_str())
                    .set_type(issue.status.as_str())
                    .set_description(reason.as_str());
                status
            }
            OutcomeStatus::Interrupted => {
                let mut status = TestCaseStatus::skipped();
                status.set_message(reason.as_str());
                status
            }
        };
        let mut case = TestCase::new(text(&issue.issue_id), status);
        case.set_classname(text(&report.spec))
            .set_time(seconds(issue.seconds));
        if let Some(cost) = issue.cost_usd {
            case.add_property(Property::new("cost_usd", format!("{cost:.6}")));
        }
        case.add_property(Property::new("model_calls", issue.model_calls.to_string()));
        case.add_property(Property::new("tool_calls", issue.tool_calls.to_string()));
        case.add_property(Property::new("seconds", format!("{:.3}", issue.seconds)));
        if issue.trials > 1 {
            case.add_property(Property::new(
                "trials_passed",
                format!("{} of {}", issue.passed_trials, issue.trials),
            ));
        }
        if issue.violations > 0 {
            case.add_property(Property::new("violations", issue.violations.to_string()));
        }
        suite.add_test_case(case);
    }
    suite.set_time(seconds(total_seconds));
    let mut junit = Report::new("agentpod");
    junit.set_time(seconds(total_seconds)).add_test_suite(suite);
    serialize(&junit)
}

/// One suite per candidate run: a test case per shared issue that flipped or not is noise in
/// CI, so the cases are the flips — regressions as failures, improvements as passes.
pub(crate) fn comparison(comparison: &Comparison) -> Result<String, ReportError> {
    let mut junit = Report::new("agentpod compare");
    for run in &comparison.runs {
        let Some(difference) = &run.against_baseline else {
            continue;
        };
        let mut suite = TestSuite::new(text(&format!(
            "{} vs {}",
            run.run_id, comparison.runs[0].run_id
        )));
        suite.add_property(Property::new(
            "shared_issues",
            comparison.shared_issues.to_string(),
        ));
        suite.add_property(Property::new(
            "mcnemar_p_value",
            format!("{:.6}", difference.mcnemar_p_value),
        ));
        for flip in &difference.flips {
            let status = if flip.regression {
                let message = text(&format!(
                    "regressed: {} → {}: {}",
                    flip.baseline.as_str(),
                    flip.candidate.as_str(),
                    flip.reason
                ));
                let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
                status
                    .set_message(message.as_str())
                    .set_type("regression")
                    .set_description(message);
                status
            } else {
                TestCaseStatus::success()
            };
            let mut case = TestCase::new(text(&flip.issue_id), status);
            case.set_classname(text(&run.agent_version));
            suite.add_test_case(case);
        }
        junit.add_test_suite(suite);
    }
    serialize(&junit)
}

pub(crate) fn gate(gate: &GateResult) -> Result<String, ReportError> {
    let mut suite = TestSuite::new(text(&format!("gate {}", gate.run_id)));
    for check in &gate.checks {
        let sentence = text(&check_sentence(check));
        let status = if check.skipped {
            let mut status = TestCaseStatus::skipped();
            status.set_message(sentence);
            status
        } else if !check.passed {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
            status
                .set_message(sentence.as_str())
                .set_type("threshold")
                .set_description(sentence);
            status
        } else {
            TestCaseStatus::success()
        };
        let mut case = TestCase::new(check.name.as_ref(), status);
        case.set_classname("gate");
        suite.add_test_case(case);
    }
    let mut junit = Report::new("agentpod gate");
    junit.add_test_suite(suite);
    serialize(&junit)
}

fn seconds(value: f64) -> Duration {
    Duration::try_from_secs_f64(value).unwrap_or_default()
}

fn serialize(junit: &Report) -> Result<String, ReportError> {
    junit
        .to_string()
        .map_err(|source| ReportError::Junit { source })
}
