//! `/runs/{run}`: the run's report, the very page `agentpod report --format html` writes (same
//! figures, same markup), with the viewer's links around it and each issue linked to its own
//! page instead of carrying its timeline. A run still running is reloaded every few seconds.

use agentpod_report::render::{HtmlChrome, report_page};
use agentpod_store::RunStatus;

use super::{VIEW_STYLE, issue_href, nav_markup, run_href};
use crate::error::ViewError;
use crate::source::RunSource;

/// How often a running run's page reloads.
const RUNNING_REFRESH_SECONDS: u32 = 5;

pub(crate) async fn page(source: &dyn RunSource, run: &str) -> Result<String, ViewError> {
    let run = source.run(run).await?;
    let report = source.report(&run.id).await?;
    let chrome = HtmlChrome {
        nav: Some(nav_markup(&[
            (run_href(&run.id), format!("run {}", run.id)),
            (
                format!("{}/proposals", run_href(&run.id)),
                "proposals".to_string(),
            ),
        ])),
        style: VIEW_STYLE,
        issue_href: Some(&issue_href),
        refresh_seconds: (run.status == RunStatus::Running).then_some(RUNNING_REFRESH_SECONDS),
    };
    Ok(report_page(&report, &chrome))
}
