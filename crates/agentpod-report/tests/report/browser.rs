//! The HTML pages in a real headless browser (Debian's chromium): they load from a file with
//! nothing else, the DOM holds the charts and the issue rows, and a screenshot is left in the
//! target directory for a person to look at.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use agentpod_report::{
    CurrentHandling, ProductionBudgets, ProductionProfile, ReportFormat, RunReport,
    render_comparison, render_report,
};

use crate::renderings::{comparison, report};
use crate::support::small_run;

const BROWSER_DEADLINE: Duration = Duration::from_secs(120);

fn browser() -> PathBuf {
    [
        "/usr/bin/chromium",
        "/usr/bin/chromium-browser",
        "/usr/bin/google-chrome",
    ]
    .into_iter()
    .map(PathBuf::from)
    .find(|path| path.exists())
    .expect("these tests need a headless browser: apt-get install -y chromium")
}

/// Runs the browser on `page` with `arguments`, killing it if it outlives the deadline.
fn run_browser(page: &Path, arguments: &[String]) -> Output {
    let profile = tempfile::tempdir().unwrap();
    let child = Command::new(browser())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--no-first-run",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(arguments)
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = sender.send(child.wait_with_output());
    });
    match receiver.recv_timeout(BROWSER_DEADLINE) {
        Ok(output) => output.unwrap(),
        Err(_) => {
            let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
            panic!("the browser did not finish within {BROWSER_DEADLINE:?}");
        }
    }
}

fn render_and_check(name: &str, html: &str) -> String {
    let directory = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("agentpod-report");
    std::fs::create_dir_all(&directory).unwrap();
    let page = directory.join(format!("{name}.html"));
    std::fs::write(&page, html).unwrap();
    let dump = run_browser(&page, &["--dump-dom".to_string()]);
    assert!(
        dump.status.success(),
        "browser failed: {}",
        String::from_utf8_lossy(&dump.stderr)
    );
    let dom = String::from_utf8(dump.stdout).unwrap();
    let screenshot = directory.join(format!("{name}.png"));
    let _ = std::fs::remove_file(&screenshot);
    let shot = run_browser(
        &page,
        &[
            format!("--screenshot={}", screenshot.display()),
            "--window-size=1200,2000".to_string(),
        ],
    );
    assert!(
        shot.status.success(),
        "screenshot failed: {}",
        String::from_utf8_lossy(&shot.stderr)
    );
    let png = std::fs::read(&screenshot).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert!(
        png.len() > 20_000,
        "a blank page would be tiny: {} bytes",
        png.len()
    );
    eprintln!("screenshot: {}", screenshot.display());
    dom
}

#[test]
fn report_page_renders_with_its_charts_and_timelines() {
    let html = render_report(&report(), ReportFormat::Html).unwrap();
    for external in ["<script", "<link", "http://", "https://", "@import", "url("] {
        let allowed = external == "http://"
            && html.matches(external).count() == html.matches("http://www.w3.org/2000/svg").count();
        assert!(
            allowed || !html.contains(external),
            "the page must be self-contained: found {external}"
        );
    }
    let dom = render_and_check("report", &html);
    assert_eq!(
        dom.matches("<svg class=\"chart histogram\"").count(),
        3,
        "cost, tool calls, time"
    );
    assert_eq!(
        dom.matches("<svg class=\"chart shares\"").count(),
        1,
        "pass rate by category"
    );
    assert_eq!(
        dom.matches("<svg class=\"chart estimates\"").count(),
        1,
        "projection against budget"
    );
    assert!(dom.contains("<rect class=\"bar\""), "histogram bars drawn");
    // A header row, then one row per issue, failures first.
    assert_eq!(dom.matches("<details class=\"issue\"").count(), 11);
    assert_eq!(
        dom.matches("<details class=\"issue\" open=\"\">").count(),
        1,
        "the first failure opens"
    );
    let first_row = dom.find("<span class=\"status errored\">").unwrap();
    let first_passed = dom.find("<span class=\"status passed\">").unwrap();
    assert!(first_row < first_passed, "issues not passed come first");
    assert!(
        dom.contains("query · ok") && dom.contains("execute · error"),
        "timelines hold the steps"
    );
    assert!(
        dom.contains("roles: permission denied for table roles"),
        "and the boundary events"
    );
    assert!(
        dom.contains("Refund") || !dom.contains("<not>"),
        "issue text never becomes markup"
    );
}

#[test]
fn comparison_page_renders() {
    let html = render_comparison(&comparison(), ReportFormat::Html).unwrap();
    let dom = render_and_check("comparison", &html);
    assert_eq!(dom.matches("<svg class=\"chart shares\"").count(), 1);
    assert_eq!(dom.matches("<tr class=\"flip regression\">").count(), 2);
    assert!(dom.contains("2 regressions"));
}

/// Where the browser drew each projection row's bar and today's mark, in pixels from the track's
/// left edge: a script appended to a copy of the page writes them into the DOM it dumps.
const MEASURE_ROWS: &str = r#"<script>
const rows = [...document.querySelectorAll('svg.estimates g.row')].map(row => {
  const track = row.querySelector('rect.track').getBoundingClientRect();
  const bar = row.querySelector('rect.bar').getBoundingClientRect();
  const today = row.querySelector('line.current');
  return {
    label: row.querySelector('text.label').textContent,
    bar: bar.width,
    today: today ? today.getBoundingClientRect().x - track.x : null,
  };
});
const out = document.createElement('pre');
out.id = 'measured';
out.textContent = JSON.stringify(rows);
document.body.appendChild(out);
</script>"#;

#[test]
fn today_a_hundred_times_the_projection_is_drawn_to_scale() {
    let input = small_run();
    // Mean time per issue 9.3 s: today's 15.5 minutes per issue is exactly 100 times as long.
    let profile = ProductionProfile {
        issues_per_month: 12_000.0,
        by_category: None,
        current: Some(CurrentHandling {
            cost_usd_per_issue: 2.52,
            minutes_per_issue: 15.5,
        }),
        budgets: ProductionBudgets::default(),
    };
    let report = RunReport::build(&input, Some(&profile), 7);
    let projection = report.projection.as_ref().unwrap();
    let hours = projection.monthly_agent_hours.unwrap().estimate.value;
    let today_hours = projection.current_monthly_hours.unwrap();
    assert!(
        (today_hours / hours - 100.0).abs() < 1e-6,
        "{today_hours} / {hours}"
    );
    let html = render_report(&report, ReportFormat::Html).unwrap();
    let measured = html.replace("</body>", &format!("{MEASURE_ROWS}</body>"));
    let dom = render_and_check("projection-scale", &measured);
    let start = dom.find("<pre id=\"measured\">").expect("the script ran") + 19;
    let end = start + dom[start..].find("</pre>").unwrap();
    let rows: serde_json::Value =
        serde_json::from_str(&dom[start..end].replace("&quot;", "\"")).unwrap();
    let row = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["label"] == "monthly agent-hours")
        .unwrap_or_else(|| panic!("no agent-hours row in {rows}"));
    let (bar, today) = (row["bar"].as_f64().unwrap(), row["today"].as_f64().unwrap());
    // On one scale the bar is a hundredth of the way to today's mark (a pixel of rounding).
    assert!(today > 100.0, "today's mark is on the track: {row}");
    assert!(
        (bar / today - 0.01).abs() < 0.01,
        "the bar must be about 1% of today's distance, not {:.0}%: {row}",
        bar / today * 100.0
    );
    // The cost row too: $2.52 today against about $0.025 per issue.
    let cost = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["label"] == "monthly cost")
        .unwrap();
    let ratio = cost["bar"].as_f64().unwrap() / cost["today"].as_f64().unwrap();
    assert!(ratio < 0.03, "{cost}");
}
