//! The local runtime's seed cache as a user meets it: the first run seeds once and keeps the
//! stopped cluster in `$XDG_CACHE_HOME/agentpod/seeds/<key>`, a second run's pods copy it (no
//! fixture runs again) with the same results, `--no-seed-cache` seeds every pod, a changed
//! fixture makes a new seed, a broken entry is seeded again rather than used, the cache is
//! private to the user, and `gc --seeds` lists its entries.
//!
//! A fixture's side effect counts how often it ran: `COPY … TO PROGRAM` appends a line to a file
//! (as the server's user) each time the fixture is applied, seeded or not.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use agentpod_end_to_end::{Scratch, local_pod_directories, repo_root, run_id_from_stderr};

struct Setup {
    scratch: Scratch,
    /// XDG_CACHE_HOME of every run: this test's own seed cache.
    cache: tempfile::TempDir,
    /// Where the fixture appends a line each time it runs; open to the server's user.
    counter: tempfile::TempDir,
}

impl Setup {
    fn new() -> Self {
        let counter = tempfile::tempdir().unwrap();
        std::fs::set_permissions(counter.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        let setup = Setup {
            scratch: Scratch::new(),
            cache: tempfile::tempdir().unwrap(),
            counter,
        };
        setup.write_fixture("");
        let issues: String = (1..=4)
            .map(|number| {
                format!(
                    "{{\"id\": \"L-{number}\", \"behaviour\": \"database\", \"want\": \"1\", \"expected\": {{\"answer\": \"1\"}}}}\n"
                )
            })
            .collect();
        let directory = setup.scratch.path();
        std::fs::write(directory.join("issues.jsonl"), issues).unwrap();
        let agent = repo_root().join("tests/pods/agents/misbehaving-agent.py");
        std::fs::write(
            directory.join("local-seed.yaml"),
            format!(
                "name: local-seed\n\
                 database:\n  image: postgres:15\n  fixtures:\n    - sql: schema.sql\n\
                 agent:\n  command: [\"{}\"]\n  version: seed-1\n  timeout: 20s\n\
                 issues:\n  source: issues.jsonl\n\
                 pods: 2\n",
                agent.display()
            ),
        )
        .unwrap();
        setup
    }

    /// The fixture: one row, and a line in the counter file; `extra` changes its content.
    fn write_fixture(&self, extra: &str) {
        let counter = self.counter.path().join("applied");
        std::fs::write(
            self.scratch.path().join("schema.sql"),
            format!(
                "-- local seed cache e2e {}{extra}\n\
                 CREATE TABLE items (id integer PRIMARY KEY, name text NOT NULL);\n\
                 INSERT INTO items VALUES (1, 'seeded');\n\
                 COPY (SELECT 'applied') TO PROGRAM 'cat >> {}';\n",
                self.counter.path().display(),
                counter.display()
            ),
        )
        .unwrap();
    }

    fn applied(&self) -> usize {
        std::fs::read_to_string(self.counter.path().join("applied"))
            .map(|text| text.lines().count())
            .unwrap_or(0)
    }

    fn seeds(&self) -> PathBuf {
        self.cache.path().join("agentpod/seeds")
    }

    fn agentpod(&self, args: &[&str]) -> std::process::Output {
        self.scratch
            .agentpod(args)
            .env("XDG_CACHE_HOME", self.cache.path())
            .output()
            .unwrap()
    }

    /// Runs the spec on the local runtime; (stderr, every issue's status and answer).
    fn run(&self, extra: &[&str]) -> (String, Vec<(String, String, String)>) {
        let spec = self.scratch.path().join("local-seed.yaml");
        let mut args = vec!["run", spec.to_str().unwrap(), "--runtime", "local"];
        args.extend_from_slice(extra);
        let output = self.agentpod(&args);
        let stderr = String::from_utf8_lossy(&output.stderr).to_string();
        assert!(output.status.success(), "run failed:\n{stderr}");
        let run_id = run_id_from_stderr(&stderr).expect("the run id on stderr");
        assert_eq!(local_pod_directories(&run_id), Vec::<PathBuf>::new());
        let shown = self.scratch.show(&run_id);
        let mut results: Vec<(String, String, String)> = shown["outcomes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|outcome| {
                (
                    outcome["issue_id"].as_str().unwrap().to_string(),
                    outcome["status"].as_str().unwrap().to_string(),
                    outcome["answer"].to_string(),
                )
            })
            .collect();
        results.sort();
        (stderr, results)
    }
}

/// The path a progress line names after `prefix`.
fn seed_in(prefix: &str, stderr: &str) -> Option<PathBuf> {
    stderr.lines().find_map(|line| {
        line.strip_prefix(prefix)?
            .split_whitespace()
            .next()
            .map(PathBuf::from)
    })
}

/// Files and directories under `path` with permission bits open to group or others.
fn open_to_others(path: &Path) -> Vec<String> {
    let mode = std::fs::symlink_metadata(path)
        .unwrap()
        .permissions()
        .mode();
    let mut open = Vec::new();
    if mode & 0o077 != 0 {
        open.push(format!("{} {:o}", path.display(), mode & 0o777));
    }
    if path.is_dir() {
        for item in std::fs::read_dir(path).unwrap() {
            open.extend(open_to_others(&item.unwrap().path()));
        }
    }
    open
}

#[test]
fn local_pods_start_from_a_cached_cluster_keyed_by_the_fixtures() {
    let setup = Setup::new();

    let (first, first_results) = setup.run(&[]);
    let entry = seed_in("seeding template, caching as ", &first)
        .unwrap_or_else(|| panic!("the first run seeds and caches:\n{first}"));
    assert_eq!(entry.parent(), Some(setup.seeds().as_path()), "{first}");
    assert!(entry.join("agentpod-seed.json").is_file());
    assert_eq!(
        setup.applied(),
        1,
        "seeded once, for the cache; pods copied it"
    );
    assert!(
        first_results
            .iter()
            .all(|(_, status, _)| status == "passed"),
        "{first_results:?}"
    );

    let (second, second_results) = setup.run(&[]);
    assert_eq!(
        seed_in("template from the seed cache: ", &second),
        Some(entry.clone()),
        "the second run uses the cache:\n{second}"
    );
    assert!(!second.contains("seeding template"), "{second}");
    assert_eq!(setup.applied(), 1, "no fixture ran in the second run");
    assert_eq!(second_results, first_results);

    let (uncached, uncached_results) = setup.run(&["--no-seed-cache"]);
    assert!(
        !uncached.contains("seed cache") && !uncached.contains("seeding template"),
        "{uncached}"
    );
    assert_eq!(setup.applied(), 3, "each of the two pods seeded its own");
    assert_eq!(uncached_results, first_results);

    // A changed fixture: a new key, a new entry; the old one stays.
    setup.write_fixture(" (changed)");
    let (changed, _) = setup.run(&[]);
    let changed_entry = seed_in("seeding template, caching as ", &changed)
        .unwrap_or_else(|| panic!("a changed fixture seeds again:\n{changed}"));
    assert_ne!(changed_entry, entry);
    assert_eq!(setup.applied(), 4);
    assert!(entry.is_dir() && changed_entry.is_dir());

    // A file of the entry cut short (a crash, a full disk): seeded again, not used.
    std::fs::write(changed_entry.join("data/global/pg_control"), b"cut").unwrap();
    let (repaired, repaired_results) = setup.run(&[]);
    assert_eq!(
        seed_in("seeding template, caching as ", &repaired),
        Some(changed_entry.clone()),
        "a broken entry is replaced:\n{repaired}"
    );
    assert_eq!(setup.applied(), 5);
    assert_eq!(repaired_results, first_results);

    assert_eq!(
        open_to_others(&setup.cache.path().join("agentpod")),
        Vec::<String>::new()
    );

    let listed = setup.agentpod(&["gc", "--seeds", "--dry-run"]);
    let stdout = String::from_utf8_lossy(&listed.stdout);
    assert!(listed.status.success(), "{stdout}");
    for seed in [&entry, &changed_entry] {
        assert!(
            stdout.contains(&format!("would remove local seed {}", seed.display())),
            "{stdout}"
        );
    }
    assert!(entry.is_dir(), "a dry run removes nothing");
}
