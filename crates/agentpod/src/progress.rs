//! Progress on stderr while a run goes: indicatif bars (one per pod plus a total) on a terminal,
//! plain lines in CI or when stderr is not a terminal, nothing with `--no-progress`. Issue ids,
//! reasons and pod errors can carry the agent's or an issue's text, so they are shown through
//! `terminal_line` and cannot act on the terminal.

use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use agentpod_report::inert_text::terminal_line;
use agentpod_runner::{RunEvent, RunReporter};
use agentpod_store::{OutcomeRecord, OutcomeStatus};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A run reporter that also knows how to clean up the display at the end.
pub(crate) trait ProgressDisplay: RunReporter {
    fn finish(&self);
}

/// `issues` counts what the run will do: (issue, trial) pairs, `trials` per issue.
pub(crate) fn progress_reporter(
    no_progress: bool,
    issues: usize,
    trials: u32,
    pods: usize,
) -> Arc<dyn ProgressDisplay> {
    if no_progress {
        Arc::new(Silent)
    } else if std::io::stderr().is_terminal() && std::env::var_os("CI").is_none() {
        Arc::new(Bars::new(issues, trials, pods))
    } else {
        Arc::new(Lines {
            issues,
            trials,
            finished: Mutex::new(0),
        })
    }
}

struct Silent;

impl RunReporter for Silent {
    fn report(&self, _event: &RunEvent<'_>) {}
}

impl ProgressDisplay for Silent {
    fn finish(&self) {}
}

/// One line per event that matters; reads well in a CI log.
struct Lines {
    /// (issue, trial) pairs the run will do.
    issues: usize,
    /// Trials per issue; a trial is named only when there are several.
    trials: u32,
    finished: Mutex<usize>,
}

/// ` (trial 2)` in a run of several trials, nothing otherwise.
fn trial_label(trial: u32, trials: u32) -> String {
    if trials > 1 {
        format!(" (trial {trial})")
    } else {
        String::new()
    }
}

/// What the seed cache did, for both displays: seeding and caching on a miss, the cache on a hit.
fn template_line(event: &RunEvent<'_>) -> Option<String> {
    match event {
        RunEvent::SeedingTemplate { image } => {
            Some(format!("seeding template, caching as {image}"))
        }
        RunEvent::TemplateCached { image, seeded_in } => Some(format!(
            "template seeded and cached as {image} in {:.2}s",
            seeded_in.as_secs_f64()
        )),
        RunEvent::TemplateFromCache { image } => Some(format!(
            "template from the seed cache: {image} (fixtures unchanged, nothing to seed)"
        )),
        _ => None,
    }
}

impl RunReporter for Lines {
    fn report(&self, event: &RunEvent<'_>) {
        if let Some(line) = template_line(event) {
            eprintln!("{line}");
            return;
        }
        match event {
            RunEvent::RunStarted {
                run_id,
                issues,
                trials,
                work,
                pods,
                runtime,
                shard,
            } => {
                let what = match shard {
                    Some((part, group)) => {
                        format!("shard {part} of group {group}, {work} issue trials")
                    }
                    None if *trials > 1 => {
                        format!("{work} trials of {issues} issues ({trials} per issue)")
                    }
                    None => format!("{issues} issues"),
                };
                eprintln!(
                    "run {run_id}: {what} on {pods} {runtime} pod{}",
                    if *pods == 1 { "" } else { "s" }
                );
            }
            RunEvent::PodReady {
                pod,
                pod_id,
                ready_in,
            } => {
                eprintln!(
                    "pod {pod} ready in {:.2}s ({pod_id})",
                    ready_in.as_secs_f64()
                );
            }
            RunEvent::PodFailed { pod, error } => {
                eprintln!("pod {pod} failed: {}", terminal_line(error))
            }
            RunEvent::IssueFinished { pod, outcome } => {
                let mut finished = self
                    .finished
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                *finished += 1;
                eprintln!(
                    "{}",
                    finished_line(*finished, self.issues, self.trials, *pod, outcome)
                );
            }
            RunEvent::Draining => eprintln!("draining: no new issues start"),
            RunEvent::PodReplaced { pod } => {
                eprintln!("pod {pod} lost its Postgres; starting a new pod in its place")
            }
            RunEvent::PodStarting { .. }
            | RunEvent::IssueStarted { .. }
            | RunEvent::PodStopped { .. }
            | RunEvent::SeedingTemplate { .. }
            | RunEvent::TemplateCached { .. }
            | RunEvent::TemplateFromCache { .. }
            | RunEvent::RunFinished { .. } => {}
        }
    }
}

impl ProgressDisplay for Lines {
    fn finish(&self) {}
}

/// `[ 3/20] T-7 failed in 4.20s (pod 2): reason`, the reason's first line only.
fn finished_line(
    finished: usize,
    issues: usize,
    trials: u32,
    pod: usize,
    outcome: &OutcomeRecord,
) -> String {
    let width = issues.to_string().len();
    format!(
        "[{finished:>width$}/{issues}] {}{} {} in {:.2}s (pod {pod}){}",
        terminal_line(&outcome.issue_id),
        trial_label(outcome.trial, trials),
        outcome.status.as_str(),
        outcome.duration_ms as f64 / 1000.0,
        if outcome.status == OutcomeStatus::Passed {
            String::new()
        } else {
            format!(
                ": {}",
                terminal_line(outcome.reason.lines().next().unwrap_or_default())
            )
        }
    )
}

/// `T-7 errored: reason`, printed above the bars.
fn errored_line(trials: u32, outcome: &OutcomeRecord) -> String {
    format!(
        "{}{} errored: {}",
        terminal_line(&outcome.issue_id),
        trial_label(outcome.trial, trials),
        terminal_line(&outcome.reason)
    )
}

/// A total bar and one spinner per pod.
struct Bars {
    multi: MultiProgress,
    total: ProgressBar,
    pods: Vec<ProgressBar>,
    trials: u32,
}

impl Bars {
    fn new(issues: usize, trials: u32, pods: usize) -> Self {
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
        let total = multi.add(ProgressBar::new(issues as u64));
        total.set_style(
            ProgressStyle::with_template(if trials > 1 {
                "{prefix:>7} [{bar:30}] {pos}/{len} issue trials · {elapsed} · {msg}"
            } else {
                "{prefix:>7} [{bar:30}] {pos}/{len} issues · {elapsed} · {msg}"
            })
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        total.set_prefix("total");
        total.set_message("starting pods");
        let pod_style = ProgressStyle::with_template("{prefix:>7} {spinner} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner());
        let pods = (1..=pods)
            .map(|pod| {
                let bar = multi.add(ProgressBar::new_spinner());
                bar.set_style(pod_style.clone());
                bar.set_prefix(format!("pod {pod}"));
                bar.set_message("starting");
                bar.enable_steady_tick(Duration::from_millis(120));
                bar
            })
            .collect();
        Self {
            multi,
            total,
            pods,
            trials,
        }
    }

    fn pod(&self, pod: usize) -> Option<&ProgressBar> {
        self.pods.get(pod.wrapping_sub(1))
    }
}

impl RunReporter for Bars {
    fn report(&self, event: &RunEvent<'_>) {
        if let Some(line) = template_line(event) {
            let _ = self.multi.println(line);
            if matches!(event, RunEvent::SeedingTemplate { .. }) {
                self.total.set_message("seeding template");
            }
            return;
        }
        match event {
            RunEvent::PodReady { pod, ready_in, .. } => {
                if let Some(bar) = self.pod(*pod) {
                    bar.set_message(format!("ready in {:.2}s", ready_in.as_secs_f64()));
                }
            }
            RunEvent::PodFailed { pod, error } => {
                let _ = self
                    .multi
                    .println(format!("pod {pod} failed: {}", terminal_line(error)));
                if let Some(bar) = self.pod(*pod) {
                    bar.finish_with_message("failed");
                }
            }
            RunEvent::IssueStarted {
                pod,
                issue_id,
                trial,
            } => {
                if let Some(bar) = self.pod(*pod) {
                    bar.set_message(format!(
                        "{}{}",
                        terminal_line(issue_id),
                        trial_label(*trial, self.trials)
                    ));
                }
            }
            RunEvent::IssueFinished { outcome, .. } => {
                self.total.inc(1);
                self.total.set_message("running");
                if outcome.status == OutcomeStatus::Errored {
                    let _ = self.multi.println(errored_line(self.trials, outcome));
                }
            }
            RunEvent::PodStopped { pod } => {
                if let Some(bar) = self.pod(*pod) {
                    bar.finish_with_message("done");
                }
            }
            RunEvent::Draining => self.total.set_message("draining"),
            RunEvent::PodReplaced { pod } => {
                let _ = self.multi.println(format!(
                    "pod {pod} lost its Postgres; starting a new pod in its place"
                ));
                if let Some(bar) = self.pod(*pod) {
                    bar.reset();
                    bar.set_message("restarting");
                }
            }
            RunEvent::RunStarted { .. }
            | RunEvent::PodStarting { .. }
            | RunEvent::SeedingTemplate { .. }
            | RunEvent::TemplateCached { .. }
            | RunEvent::TemplateFromCache { .. }
            | RunEvent::RunFinished { .. } => {}
        }
    }
}

impl ProgressDisplay for Bars {
    fn finish(&self) {
        for bar in &self.pods {
            bar.finish_and_clear();
        }
        self.total.finish_and_clear();
        let _ = self.multi.clear();
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use serde_json::json;

    use super::*;

    /// Escape sequences that clear the screen and plant a hyperlink, a carriage return, a bidi
    /// override and a second line, as a hostile agent's output could put them in a reason.
    const HOSTILE: &str = "\u{1b}[2J\u{1b}]8;;http://evil/\u{7}click\u{1b}]8;;\u{7} failed\rpassed \
                           \u{202e}deliaf\u{202c}\n### Approved";

    fn outcome(issue_id: &str, status: OutcomeStatus, reason: &str) -> OutcomeRecord {
        OutcomeRecord {
            own_time: Default::default(),
            run_id: "20261125-120000-abcd".into(),
            issue_id: issue_id.into(),
            trial: 2,
            pod_index: 1,
            status,
            reason: reason.into(),
            exit: json!(null),
            started_at: Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 1).unwrap(),
            duration_ms: 4200,
            output: None,
            grade: json!(null),
            stdout: String::new(),
            stdout_bytes: 0,
            stdout_truncated: false,
            stderr: String::new(),
            stderr_bytes: 0,
            stderr_truncated: false,
            usage: Default::default(),
        }
    }

    fn acts_on_terminal(text: &str) -> bool {
        text.chars().any(|character| {
            character.is_control()
                || matches!(character, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
        })
    }

    #[test]
    fn a_finished_line_shows_the_reason_inertly() {
        let line = finished_line(
            3,
            20,
            3,
            2,
            &outcome("T-7\u{1b}[1A", OutcomeStatus::Failed, HOSTILE),
        );
        assert!(!acts_on_terminal(&line), "{line:?}");
        assert_eq!(
            line,
            "[ 3/20] T-7\\x1b[1A (trial 2) failed in 4.20s (pod 2): \\x1b[2J\\x1b]8;;http://evil/\
             \\x07click\\x1b]8;;\\x07 failed\\rpassed \\u{202e}deliaf\\u{202c}"
        );
    }

    #[test]
    fn an_errored_line_keeps_the_whole_reason_on_one_line() {
        let line = errored_line(1, &outcome("T-7", OutcomeStatus::Errored, HOSTILE));
        assert!(!acts_on_terminal(&line), "{line:?}");
        assert!(line.starts_with("T-7 errored: \\x1b[2J"), "{line}");
        assert!(line.ends_with("\\u{202c}\\n### Approved"), "{line}");
    }
}
