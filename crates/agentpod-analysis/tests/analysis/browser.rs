//! The HTML pages in a real headless browser (Debian's chromium): they load from a file with
//! nothing else, the DOM holds the charts and the issue rows, and a screenshot is left in the
//! target directory for a person to look at.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use agentpod_analysis::{ReportFormat, render_comparison, render_report};

use crate::renderings::{comparison, report};

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
    let directory = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("agentpod-analysis");
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
