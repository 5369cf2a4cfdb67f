//! `/runs/{run}/proposals`: the rows the run's agents proposed for approval tables, a page at a
//! time: issue and trial, table, operation, status, who proposed it, the statement, the row as
//! it was and as it would be. All of it the agent's writing: escaped.

use std::fmt::Write;

use agentpod_report::inert_text::xml_text;
use agentpod_store::{BoundaryDetail, Page};

use super::{issue_href, json_block, page_end, page_start, pager, run_href};
use crate::error::ViewError;
use crate::source::RunSource;

/// Proposals on one page.
pub(crate) const PROPOSALS_PER_PAGE: usize = 100;

pub(crate) async fn page(
    source: &dyn RunSource,
    run: &str,
    page: usize,
) -> Result<String, ViewError> {
    let run = source.run(run).await?;
    let (total, proposals) = source
        .proposals(
            &run.id,
            Page {
                offset: (page - 1) * PROPOSALS_PER_PAGE,
                limit: PROPOSALS_PER_PAGE,
            },
        )
        .await?;
    let base = format!("{}/proposals", run_href(&run.id));
    let mut out = String::with_capacity(16 * 1024 + proposals.len() * 1024);
    page_start(
        &mut out,
        &format!("proposals · run {} · agentpod view", run.id),
        &[(run_href(&run.id), format!("run {}", run.id))],
    );
    let _ = write!(
        out,
        "<h1>Proposals</h1><p class=\"meta\">run <a href=\"{}\"><code>{}</code></a> · <span class=\"proposal-count\" data-value=\"{total}\">{total}</span> proposal{}</p>",
        xml_text(&run_href(&run.id)),
        xml_text(&run.id),
        if total == 1 { "" } else { "s" }
    );
    if proposals.is_empty() {
        out.push_str("<p class=\"muted\">No proposals on this page.</p>");
    } else {
        out.push_str("<table class=\"proposals\"><tr><th>issue</th><th class=\"number\">trial</th><th>table</th><th>operation</th><th>status</th><th>proposed by</th><th>statement</th><th>row</th></tr>");
        for event in &proposals {
            let BoundaryDetail::Proposal(proposal) = &event.detail else {
                continue;
            };
            let _ = write!(
                out,
                "<tr class=\"proposal\"><td><a href=\"{}\"><code>{}</code></a></td><td class=\"number\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><pre>{}</pre></td><td>{}{}</td></tr>",
                xml_text(&issue_href(&run.id, &event.issue_id)),
                xml_text(&event.issue_id),
                event.trial,
                xml_text(&proposal.table),
                xml_text(&proposal.operation),
                xml_text(&proposal.status),
                xml_text(&proposal.proposed_by),
                xml_text(&proposal.statement),
                proposal
                    .before
                    .as_ref()
                    .map(|before| format!(
                        "<details><summary>before</summary>{}</details>",
                        json_block(before)
                    ))
                    .unwrap_or_default(),
                proposal.after.as_ref().map(json_block).unwrap_or_default()
            );
        }
        out.push_str("</table>");
    }
    pager(
        &mut out,
        &base,
        page,
        (page - 1) * PROPOSALS_PER_PAGE + proposals.len() < total,
    );
    page_end(&mut out);
    Ok(out)
}
