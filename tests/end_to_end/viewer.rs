//! `agentpod view` in a real browser (Debian's chromium, driven by Playwright from the
//! repository's .venv; scripts/setup installs both): two real runs of the demo on the local
//! runtime, the viewer started as a user starts it, then `viewer_browser.py` clicks through the
//! runs list, a run, an issue, the comparison and the proposals, checking every number against
//! `agentpod show --json` and `agentpod compare --format json`, and that no page logs an error.
//! The same pages are then checked over a shared Postgres store holding the same two runs.
//! Screenshots land in target/viewer-screenshots/ (and its `postgres/`; CI keeps them as
//! artifacts).

use std::io::BufRead;
use std::process::{Child, Stdio};

use agentpod_end_to_end::{Scratch, repo_root};

fn run_version(scratch: &Scratch, version: &str) -> String {
    let output = scratch.run(&[
        "run",
        "pods/support-triage.yaml",
        "--runtime",
        "local",
        "--pods",
        "2",
        "--sample",
        "8",
        "--seed",
        "5",
        "--trials",
        "2",
        "--agent-version",
        version,
        "--no-progress",
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    scratch.show("latest")["run"]["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// The viewer, stopped when the test ends, also when it fails.
struct Viewer(Child);

impl Drop for Viewer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The viewer `command` starts, on its printed address: `viewer_browser.py` checks every page
/// against the `show --json` and `compare --format json` files given, screenshots in
/// `screenshots`.
fn browse(
    mut command: std::process::Command,
    show_baseline: &std::path::Path,
    show_candidate: &std::path::Path,
    compare_json: &std::path::Path,
    screenshots: &std::path::Path,
) {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("agentpod view starts");
    let stdout = child.stdout.take().unwrap();
    let viewer = Viewer(child);
    let mut first = String::new();
    std::io::BufReader::new(stdout)
        .read_line(&mut first)
        .unwrap();
    // "agentpod view: http://127.0.0.1:PORT/runs?token=TOKEN (Ctrl-C stops it)"
    let url = first
        .split_whitespace()
        .find(|word| word.starts_with("http://127.0.0.1:"))
        .unwrap_or_else(|| panic!("the viewer prints its address: {first:?}"));
    let base = url.split("/runs").next().unwrap_or_default().to_string();
    // Without the printed token the viewer answers nothing of the store (agents on this
    // machine share its loopback).
    let bare = std::process::Command::new("curl")
        .args([
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            &format!("{base}/runs"),
        ])
        .output()
        .expect("curl runs");
    assert_eq!(String::from_utf8_lossy(&bare.stdout), "401");

    let browser = std::process::Command::new(repo_root().join(".venv/bin/python"))
        .arg(repo_root().join("tests/end_to_end/viewer_browser.py"))
        .arg(url)
        .arg(show_baseline)
        .arg(show_candidate)
        .arg(compare_json)
        .arg(screenshots)
        .output()
        .expect("the .venv's python (scripts/setup) runs");
    assert!(
        browser.status.success(),
        "the browser test failed:\n{}{}",
        String::from_utf8_lossy(&browser.stdout),
        String::from_utf8_lossy(&browser.stderr)
    );
    for page in ["runs", "run", "issue", "compare", "proposals"] {
        assert!(
            screenshots.join(format!("{page}.png")).is_file(),
            "a screenshot of the {page} page"
        );
    }
    drop(viewer);
}

#[test]
fn the_viewer_in_a_browser_shows_the_stores_numbers_from_sqlite_and_from_postgres() {
    let scratch = Scratch::new();
    let baseline = run_version(&scratch, "baseline-a");
    let candidate = run_version(&scratch, "baseline-b");

    let write = |name: &str, bytes: &[u8]| {
        let path = scratch.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    };
    let show = |run: &str| {
        let output = scratch.run(&["show", run, "--json"]);
        assert!(output.status.success());
        output.stdout
    };
    let show_baseline = write("baseline.json", &show(&baseline));
    let show_candidate = write("candidate.json", &show(&candidate));
    let compared = scratch.run(&["compare", &candidate, &baseline, "--format", "json"]);
    assert!(
        compared.status.success(),
        "{}",
        String::from_utf8_lossy(&compared.stderr)
    );
    let compare_json = write("compare.json", &compared.stdout);

    // Screenshots of an earlier test run must not stand in for this one's.
    let screenshots = repo_root().join("target/viewer-screenshots");
    let _ = std::fs::remove_dir_all(&screenshots);
    browse(
        scratch.agentpod(&["view", "--port", "0", "--no-open"]),
        &show_baseline,
        &show_candidate,
        &compare_json,
        &screenshots,
    );

    // The same two runs in a shared Postgres store (moved there by bundle): the same pages, the
    // same numbers, checked against the same files the SQLite store gave.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = runtime
        .block_on(agentpod_test_postgres::LocalPostgres::start())
        .expect("a Postgres server");
    let store = runtime.block_on(server.create_database("viewed")).unwrap();
    let on_postgres = |args: &[&str]| {
        let command = std::process::Command::new(agentpod_end_to_end::binary("agentpod"));
        let mut command = scratch.with_arguments(command, args);
        command.env("AGENTPOD_STORE", &store);
        command
    };
    for run in [&baseline, &candidate] {
        let bundle = scratch.path().join(format!("{run}.bundle.json"));
        let bundle = bundle.to_str().unwrap();
        let output = scratch.run(&["export", run, "--bundle", bundle]);
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let output = on_postgres(&["import", bundle]).output().unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    browse(
        on_postgres(&["view", "--port", "0", "--no-open"]),
        &show_baseline,
        &show_candidate,
        &compare_json,
        &screenshots.join("postgres"),
    );
}
