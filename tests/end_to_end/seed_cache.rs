//! The seed cache as a user meets it: the first run of a spec seeds its template and caches it,
//! a second run starts from the cache and gets the same results, and `--no-seed-cache` seeds
//! again without touching the cache.

use agentpod_end_to_end::{Scratch, docker_resources, repo_root, run_id_from_stderr};

/// A spec of its own in the scratch directory, with a fixture unique to this test run (so the
/// first run misses the cache) that inserts one row: an agent counting the rows sees 1 in every
/// issue database whether the template was seeded or restored.
fn write_spec(scratch: &Scratch) -> std::path::PathBuf {
    let directory = scratch.path();
    let marker = format!(
        "seed-cache e2e {} {:?}",
        std::process::id(),
        std::time::SystemTime::now()
    );
    std::fs::write(
        directory.join("schema.sql"),
        format!(
            "-- {marker}\nCREATE TABLE items (id integer PRIMARY KEY, name text NOT NULL);\n\
             INSERT INTO items VALUES (1, 'seeded once');\n"
        ),
    )
    .unwrap();
    let issues: String = (1..=3)
        .map(|number| {
            format!(
                "{{\"id\": \"C-{number}\", \"behaviour\": \"database\", \"want\": \"1\", \"expected\": {{\"answer\": \"1\"}}}}\n"
            )
        })
        .collect();
    std::fs::write(directory.join("issues.jsonl"), issues).unwrap();
    let agent = repo_root().join("tests/pods/agents/misbehaving-agent.py");
    let spec = directory.join("seed-cache.yaml");
    std::fs::write(
        &spec,
        format!(
            "name: seed-cache\n\
             database:\n  image: postgres:15\n  fixtures:\n    - sql: schema.sql\n\
             agent:\n  command: [\"{}\"]\n  version: seed-1\n  timeout: 20s\n\
             issues:\n  source: issues.jsonl\n\
             pods: 2\n",
            agent.display()
        ),
    )
    .unwrap();
    spec
}

/// Runs the spec; (stderr, passed issues, run id).
fn run(scratch: &Scratch, spec: &std::path::Path, extra: &[&str]) -> (String, u64, String) {
    let mut args = vec!["run", spec.to_str().unwrap(), "--runtime", "docker"];
    args.extend_from_slice(extra);
    let output = scratch.run(&args);
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    assert!(output.status.success(), "run failed:\n{stderr}");
    let run_id = run_id_from_stderr(&stderr).expect("the run id on stderr");
    let passed = scratch.show(&run_id)["summary"]["issues"]["passed"]
        .as_u64()
        .unwrap();
    (stderr, passed, run_id)
}

/// `agentpod-seed:<tag>` as the progress line names it.
fn seed_image_in(line_prefix: &str, stderr: &str) -> Option<String> {
    stderr.lines().find_map(|line| {
        line.strip_prefix(line_prefix)?
            .split_whitespace()
            .next()
            .map(str::to_string)
    })
}

#[test]
fn a_second_run_starts_from_the_cached_seed_with_the_same_results() {
    let scratch = Scratch::new();
    let spec = write_spec(&scratch);

    let (first, first_passed, first_run) = run(&scratch, &spec, &[]);
    let cached = seed_image_in("seeding template, caching as ", &first)
        .unwrap_or_else(|| panic!("the first run seeds and caches:\n{first}"));
    assert!(cached.starts_with("agentpod-seed:"), "{cached}");
    assert!(first.contains(&format!("template seeded and cached as {cached}")));

    let (second, second_passed, second_run) = run(&scratch, &spec, &[]);
    assert_eq!(
        seed_image_in("template from the seed cache: ", &second).as_deref(),
        Some(cached.as_str()),
        "the second run uses the cache:\n{second}"
    );
    assert!(!second.contains("seeding template"), "{second}");
    assert_eq!(
        (first_passed, second_passed),
        (3, 3),
        "each issue database has the fixture's one row, seeded or restored"
    );

    let (uncached, uncached_passed, uncached_run) = run(&scratch, &spec, &["--no-seed-cache"]);
    assert!(
        !uncached.contains("seed cache") && !uncached.contains("seeding template"),
        "{uncached}"
    );
    assert_eq!(uncached_passed, 3);

    for run_id in [&first_run, &second_run, &uncached_run] {
        assert_eq!(docker_resources(run_id), Vec::<String>::new());
    }
    // The cache outlives runs; this test's entry is of no use to anyone else.
    let removed = std::process::Command::new("docker")
        .args(["image", "rm", &cached])
        .output()
        .unwrap();
    assert!(
        removed.status.success(),
        "{}",
        String::from_utf8_lossy(&removed.stderr)
    );
}
