//! The bad input corpus (tests/cases/corpus, plus files too big to keep in the repository,
//! generated here): empty, binary, wrong encoding, deeply nested YAML, anchors that expand without
//! end, duplicate keys, a huge spec, a spec with tens of thousands of bad keys, SQL that never
//! ends, broken issues files. Each must be answered with a clear error (exit 2, naming the
//! file) in bounded time and memory.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use agentpod_end_to_end::{Scratch, repo_root};

fn generated_cases(directory: &Path) -> Vec<PathBuf> {
    let huge = directory.join("huge.yaml");
    let mut text = String::from("name: huge\ndescription: ");
    text.push_str(&"x".repeat(30 * 1024 * 1024));
    std::fs::write(&huge, text).unwrap();
    let many_keys = directory.join("many-keys.yaml");
    let keys: String = (0..40_000)
        .map(|index| format!("key{index}: {index}\n"))
        .collect();
    std::fs::write(&many_keys, format!("name: many-keys\n{keys}")).unwrap();
    vec![huge, many_keys]
}

#[test]
fn every_broken_input_gets_a_clear_error_in_bounded_time_and_memory() {
    let scratch = Scratch::new();
    let mut cases: Vec<PathBuf> = std::fs::read_dir(repo_root().join("tests/cases/corpus"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            path.extension()
                .is_some_and(|extension| extension == "yaml")
        })
        .collect();
    cases.sort();
    cases.extend(generated_cases(scratch.path()));
    assert!(cases.len() >= 11, "{cases:?}");

    for case in &cases {
        let started = Instant::now();
        let mut child = scratch
            .agentpod(&[
                "run",
                case.to_str().unwrap(),
                "--runtime",
                "local",
                "--no-progress",
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Read stderr while the process runs: a full pipe must not look like a hang.
        let mut stderr_pipe = child.stderr.take().unwrap();
        let reader = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = std::io::Read::read_to_string(&mut stderr_pipe, &mut text);
            text
        });
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if started.elapsed() > Duration::from_secs(60) {
                let _ = child.kill();
                panic!("{}: no answer within 60 s", case.display());
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let stderr = reader.join().unwrap();
        let name = case.file_stem().unwrap().to_string_lossy().to_string();
        assert_eq!(
            status.code(),
            Some(2),
            "{name}: invalid input exits with 2\n{stderr}"
        );
        assert!(stderr.starts_with("error: "), "{name}: {stderr}");
        assert!(
            stderr.contains(&name),
            "{name}: the message names the file\n{stderr}"
        );
        assert!(
            stderr.len() < 20_000,
            "{name}: the message stays readable ({} bytes)",
            stderr.len()
        );
    }
    // The largest resident set of any agentpod process this test waited for.
    let usage =
        nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_CHILDREN).unwrap();
    let peak_kib = usage.max_rss();
    assert!(peak_kib < 300 * 1024, "peak memory {peak_kib} KiB");
}
