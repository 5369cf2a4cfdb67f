//! The pages, one module each, and what they share: the links at the top of every page, the
//! viewer's own CSS (after the report's), addresses made from ids, and the pager.

pub(crate) mod compare;
pub(crate) mod issue;
pub(crate) mod proposals;
pub(crate) mod run;
pub(crate) mod runs;

use std::fmt::Write;

use agentpod_report::inert_text::xml_text;
use agentpod_report::render::{HtmlChrome, html_page_end, html_page_start};
use axum::http::StatusCode;

/// The viewer's CSS, after the report's shared style.
pub(crate) const VIEW_STYLE: &str = r#"
nav.viewer { display: flex; flex-wrap: wrap; gap: 6px 18px; padding: 0 0 10px; margin-bottom: 16px;
  border-bottom: 1px solid var(--line); }
a { color: var(--bar); text-decoration: none; } a:hover { text-decoration: underline; }
form.filter, form.compare { display: flex; flex-wrap: wrap; gap: 10px; align-items: end; margin: 10px 0; }
form.filter label { display: flex; flex-direction: column; font-size: 12px; color: var(--muted); }
button { font: inherit; padding: 4px 12px; border: 1px solid var(--line); border-radius: 6px;
  background: var(--soft); cursor: pointer; }
.trials { display: grid; grid-template-columns: repeat(auto-fit, minmax(320px, 1fr)); gap: 12px; }
.trial { border: 1px solid var(--line); border-radius: 6px; padding: 8px 12px; min-width: 0; }
.trial h3 { margin: 4px 0 8px; font-size: 15px; }
.trial dl { display: grid; grid-template-columns: 8em 1fr; gap: 2px 8px; margin: 0 0 8px; }
.trial dt { color: var(--muted); } .trial dd { margin: 0; }
pre { white-space: pre-wrap; word-break: break-word; background: var(--soft); padding: 6px 8px;
  font-size: 12px; max-height: 28em; overflow: auto; margin: 4px 0; }
.timeline details summary { cursor: pointer; }
.pager { margin: 12px 0; display: flex; gap: 16px; }
svg.trend polyline { fill: none; stroke: var(--bar); stroke-width: 2; }
svg.trend circle { fill: var(--bar); }
"#;

/// A page of the viewer: the report's page start with the viewer's links and style.
pub(crate) fn page_start(out: &mut String, title: &str, nav: &[(String, String)]) {
    let chrome = HtmlChrome {
        nav: Some(nav_markup(nav)),
        style: VIEW_STYLE,
        ..HtmlChrome::default()
    };
    html_page_start(out, title, &chrome);
}

pub(crate) fn page_end(out: &mut String) {
    html_page_end(out);
}

/// The links at the top: always the runs, then the given (address, label) pairs.
pub(crate) fn nav_markup(links: &[(String, String)]) -> String {
    let mut nav = String::from("<nav class=\"viewer\"><a href=\"/runs\">agentpod · runs</a>");
    for (href, label) in links {
        let _ = write!(
            nav,
            "<a href=\"{}\">{}</a>",
            xml_text(href),
            xml_text(label)
        );
    }
    nav.push_str("</nav>\n");
    nav
}

/// An id as one path segment of an address: every byte but unreserved ones percent-encoded, so
/// an id with `/`, `?`, `#` or quotes stays one segment (and is escaped again as an attribute).
pub(crate) fn segment(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    for byte in id.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

pub(crate) fn run_href(run_id: &str) -> String {
    format!("/runs/{}", segment(run_id))
}

pub(crate) fn issue_href(run_id: &str, issue_id: &str) -> String {
    format!("/runs/{}/issues/{}", segment(run_id), segment(issue_id))
}

/// JSON as an escaped, indented block.
pub(crate) fn json_block(value: &serde_json::Value) -> String {
    format!(
        "<pre>{}</pre>",
        xml_text(&serde_json::to_string_pretty(value).unwrap_or_default())
    )
}

/// Previous and next links of a paged page, when there are such pages.
pub(crate) fn pager(out: &mut String, base: &str, page: usize, more: bool) {
    if page <= 1 && !more {
        return;
    }
    out.push_str("<p class=\"pager\">");
    if page > 1 {
        let _ = write!(
            out,
            "<a rel=\"prev\" href=\"{}?page={}\">← page {}</a>",
            xml_text(base),
            page - 1,
            page - 1
        );
    }
    let _ = write!(out, "<span>page {page}</span>");
    if more {
        let _ = write!(
            out,
            "<a rel=\"next\" href=\"{}?page={}\">page {} →</a>",
            xml_text(base),
            page + 1,
            page + 1
        );
    }
    out.push_str("</p>");
}

/// The page a failed request gets.
pub(crate) fn error_page(status: StatusCode, message: &str) -> String {
    let mut out = String::new();
    page_start(&mut out, &format!("{status} · agentpod view"), &[]);
    let _ = write!(
        out,
        "<h1>{}</h1><p class=\"verdict bad\">{}</p>",
        xml_text(&status.to_string()),
        xml_text(message)
    );
    page_end(&mut out);
    out
}
