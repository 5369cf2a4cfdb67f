//! JUnit XML, so CI systems list issues by name: one test case per issue (a regression, or a
//! gate check), failures and errors with their reason, and cost, calls and time as properties.

use std::fmt::Write;

use agentpod_report::inert_text::xml_text;
use agentpod_store::OutcomeStatus;

use crate::comparison::Comparison;
use crate::gate::GateResult;
use crate::run_report::RunReport;

use super::terminal::check_sentence;

const HEADER: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";

pub(crate) fn report(report: &RunReport) -> String {
    let failures = report
        .issues
        .iter()
        .filter(|issue| issue.status == OutcomeStatus::Failed)
        .count();
    let errors = report
        .issues
        .iter()
        .filter(|issue| {
            matches!(
                issue.status,
                OutcomeStatus::Errored | OutcomeStatus::InfrastructureError
            )
        })
        .count();
    let skipped = report
        .issues
        .iter()
        .filter(|issue| issue.status == OutcomeStatus::Interrupted)
        .count();
    let total_seconds: f64 = report
        .issues
        .iter()
        .map(|issue| issue.seconds * issue.trials as f64)
        .sum();
    let suite = xml_text(&format!("{} · {}", report.spec, report.agent_version));
    let classname = xml_text(&report.spec);
    // About 400 bytes per issue; reserving avoids regrowing for large runs.
    let mut out = String::with_capacity(1024 + report.issues.len() * 400);
    out.push_str(HEADER);
    let _ = writeln!(
        out,
        "<testsuites name=\"agentpod\" tests=\"{}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"{skipped}\" time=\"{total_seconds:.3}\">",
        report.issues.len()
    );
    let _ = writeln!(
        out,
        "  <testsuite name=\"{suite}\" tests=\"{}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"{skipped}\" time=\"{total_seconds:.3}\">",
        report.issues.len()
    );
    out.push_str("    <properties>\n");
    property(&mut out, "    ", "run_id", &report.run_id);
    property(&mut out, "    ", "agent_version", &report.agent_version);
    property(&mut out, "    ", "runtime", &report.runtime);
    if let Some(rate) = &report.quality.pass_rate {
        property(&mut out, "    ", "pass_rate", &format!("{:.6}", rate.value));
    }
    property(&mut out, "    ", "verdict", &report.verdict.headline);
    property(
        &mut out,
        "    ",
        "gate",
        if report.gate.passed { "passed" } else { "failed" },
    );
    if let Some(rate) = report
        .projection
        .as_ref()
        .and_then(|projection| projection.pass_rate)
    {
        property(
            &mut out,
            "    ",
            "pass_rate_production_mix",
            &format!("{:.6}", rate.value),
        );
    }
    out.push_str("    </properties>\n");
    for issue in &report.issues {
        let _ = writeln!(
            out,
            "    <testcase classname=\"{classname}\" name=\"{}\" time=\"{:.3}\">",
            xml_text(&issue.issue_id),
            issue.seconds
        );
        out.push_str("      <properties>\n");
        if let Some(cost) = issue.cost_usd {
            property(&mut out, "      ", "cost_usd", &format!("{cost:.6}"));
        }
        property(
            &mut out,
            "      ",
            "model_calls",
            &issue.model_calls.to_string(),
        );
        property(
            &mut out,
            "      ",
            "tool_calls",
            &issue.tool_calls.to_string(),
        );
        property(
            &mut out,
            "      ",
            "seconds",
            &format!("{:.3}", issue.seconds),
        );
        if issue.trials > 1 {
            property(
                &mut out,
                "      ",
                "trials_passed",
                &format!("{} of {}", issue.passed_trials, issue.trials),
            );
        }
        if issue.violations > 0 {
            property(
                &mut out,
                "      ",
                "violations",
                &issue.violations.to_string(),
            );
        }
        out.push_str("      </properties>\n");
        let reason = xml_text(&issue.reason);
        match issue.status {
            OutcomeStatus::Passed => {}
            OutcomeStatus::Failed => {
                let _ = writeln!(
                    out,
                    "      <failure message=\"{reason}\" type=\"failed\">{reason}</failure>"
                );
            }
            OutcomeStatus::Errored | OutcomeStatus::InfrastructureError => {
                let _ = writeln!(
                    out,
                    "      <error message=\"{reason}\" type=\"{}\">{reason}</error>",
                    issue.status.as_str()
                );
            }
            OutcomeStatus::Interrupted => {
                let _ = writeln!(out, "      <skipped message=\"{reason}\"/>");
            }
        }
        out.push_str("    </testcase>\n");
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

fn property(out: &mut String, indent: &str, name: &str, value: &str) {
    let _ = writeln!(
        out,
        "{indent}  <property name=\"{}\" value=\"{}\"/>",
        xml_text(name),
        xml_text(value)
    );
}

/// One suite per candidate run: a test case per shared issue that flipped or not is noise in
/// CI, so the cases are the flips — regressions as failures, improvements as passes.
pub(crate) fn comparison(comparison: &Comparison) -> String {
    let mut out = String::from(HEADER);
    let candidates: Vec<_> = comparison
        .runs
        .iter()
        .filter_map(|run| Some((run, run.against_baseline.as_ref()?)))
        .collect();
    let tests: usize = candidates.iter().map(|(_, d)| d.flips.len()).sum();
    let failures: usize = candidates.iter().map(|(_, d)| d.regressions).sum();
    let _ = writeln!(
        out,
        "<testsuites name=\"agentpod compare\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\">"
    );
    for (run, difference) in candidates {
        let _ = writeln!(
            out,
            "  <testsuite name=\"{} vs {}\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"0\">",
            xml_text(&run.run_id),
            xml_text(&comparison.runs[0].run_id),
            difference.flips.len(),
            difference.regressions
        );
        out.push_str("    <properties>\n");
        property(
            &mut out,
            "    ",
            "shared_issues",
            &comparison.shared_issues.to_string(),
        );
        property(
            &mut out,
            "    ",
            "mcnemar_p_value",
            &format!("{:.6}", difference.mcnemar_p_value),
        );
        out.push_str("    </properties>\n");
        for flip in &difference.flips {
            let _ = write!(
                out,
                "    <testcase classname=\"{}\" name=\"{}\"",
                xml_text(&run.agent_version),
                xml_text(&flip.issue_id)
            );
            if flip.regression {
                let message = xml_text(&format!(
                    "regressed: {} → {}: {}",
                    flip.baseline.as_str(),
                    flip.candidate.as_str(),
                    flip.reason
                ));
                let _ = writeln!(
                    out,
                    ">\n      <failure message=\"{message}\" type=\"regression\">{message}</failure>\n    </testcase>"
                );
            } else {
                out.push_str("/>\n");
            }
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

pub(crate) fn gate(gate: &GateResult) -> String {
    let mut out = String::from(HEADER);
    let failures = gate.failed_checks().count();
    let skipped = gate.checks.iter().filter(|check| check.skipped).count();
    let _ = writeln!(
        out,
        "<testsuites name=\"agentpod gate\" tests=\"{}\" failures=\"{failures}\" errors=\"0\">",
        gate.checks.len()
    );
    let _ = writeln!(
        out,
        "  <testsuite name=\"gate {}\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\">",
        xml_text(&gate.run_id),
        gate.checks.len()
    );
    for check in &gate.checks {
        let sentence = xml_text(&check_sentence(check));
        let _ = write!(
            out,
            "    <testcase classname=\"gate\" name=\"{}\">",
            check.name
        );
        if check.skipped {
            let _ = write!(out, "<skipped message=\"{sentence}\"/>");
        } else if !check.passed {
            let _ = write!(
                out,
                "<failure message=\"{sentence}\" type=\"threshold\">{sentence}</failure>"
            );
        }
        out.push_str("</testcase>\n");
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}
