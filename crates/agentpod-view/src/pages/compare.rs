//! `/compare?runs=a,b`: runs side by side, the report crate's comparison (paired deltas,
//! McNemar's test, the issues that flipped, regressions first) in its own HTML view, with the
//! viewer's links around it; each flipped issue links to its page in the run where it flipped.
//! The first run is the baseline.

use agentpod_report::stored_run::REPORT_SEED;
use agentpod_report::{Comparison, render::HtmlChrome, render::comparison_page};

use super::{VIEW_STYLE, issue_href, nav_markup, run_href};
use crate::error::ViewError;
use crate::source::RunSource;

pub(crate) async fn page(source: &dyn RunSource, runs: &[String]) -> Result<String, ViewError> {
    if runs.len() < 2 {
        return Err(ViewError::BadRequest(format!(
            "compare needs two runs or more, the first the baseline: /compare?runs=A,B (got {})",
            runs.len()
        )));
    }
    let mut inputs = Vec::with_capacity(runs.len());
    for run in runs {
        let run = source.run(run).await?;
        inputs.push(source.comparison_input(&run.id).await?);
    }
    let comparison = Comparison::build(&inputs, REPORT_SEED)?;
    let links: Vec<(String, String)> = inputs
        .iter()
        .map(|input| (run_href(&input.run.id), format!("run {}", input.run.id)))
        .collect();
    let chrome = HtmlChrome {
        nav: Some(nav_markup(&links)),
        style: VIEW_STYLE,
        issue_href: Some(&issue_href),
        ..HtmlChrome::default()
    };
    Ok(comparison_page(&comparison, &chrome))
}
