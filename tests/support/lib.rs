//! Support for the end-to-end tests: find the built binaries, drive `agentpod` as a user would,
//! and look for anything a run left behind (Docker resources by label, local pod directories).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A binary of this workspace, built by `cargo build --workspace --bins` (scripts/test does that).
pub fn binary(name: &str) -> PathBuf {
    // The test executable lives in target/<profile>/deps/; the binaries one level up.
    let exe = std::env::current_exe().expect("the test executable has a path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps layout");
    let path = profile_dir.join(name);
    assert!(
        path.is_file(),
        "{} is not built; run `cargo build --workspace --bins` (scripts/test does)",
        path.display()
    );
    path
}

/// A scratch directory for one test: the run store, work dirs and JSON summaries go here.
pub struct Scratch {
    pub directory: tempfile::TempDir,
}

impl Scratch {
    pub fn new() -> Self {
        Self {
            directory: tempfile::tempdir().expect("a temporary directory"),
        }
    }

    pub fn path(&self) -> &Path {
        self.directory.path()
    }

    /// `agentpod` with this scratch's store and work dir, run from the repository root.
    pub fn agentpod(&self, args: &[&str]) -> Command {
        let mut command = Command::new(binary("agentpod"));
        command.arg("--store").arg(self.path().join("runs.db"));
        self.with_arguments(command, args)
    }

    /// `command` (`agentpod`, or a wrapper ending in it) given `args` and what every test's
    /// agentpod gets: run from the repository root, the tests' own seed cache, and for `run`
    /// this scratch's work dir. The store is the caller's (`--store`, or `AGENTPOD_STORE`).
    pub fn with_arguments(&self, mut command: Command, args: &[&str]) -> Command {
        command
            .current_dir(repo_root())
            .args(args)
            .env_remove("RUST_LOG")
            .env("NO_COLOR", "1")
            // The local runtime's seed cache: the tests' own, kept between test runs beside the
            // build, never the user's.
            .env("XDG_CACHE_HOME", repo_root().join("target/test-cache"));
        if args.first() == Some(&"run") {
            command.arg("--work-dir").arg(self.path().join("work"));
        }
        command
    }

    /// Runs `agentpod` to completion.
    pub fn run(&self, args: &[&str]) -> Output {
        self.agentpod(args).output().expect("agentpod starts")
    }

    /// `agentpod show <run> --json`'s outcomes by issue id (a run of one trial each).
    pub fn outcomes_by_issue(
        &self,
        run: &str,
    ) -> std::collections::BTreeMap<String, serde_json::Value> {
        self.show(run)["outcomes"]
            .as_array()
            .expect("outcomes")
            .iter()
            .map(|outcome| {
                (
                    outcome["issue_id"]
                        .as_str()
                        .expect("an issue id")
                        .to_owned(),
                    outcome.clone(),
                )
            })
            .collect()
    }

    /// `agentpod show <run> --json`, parsed.
    pub fn show(&self, run: &str) -> serde_json::Value {
        let output = self.run(&["show", run, "--json"]);
        assert!(
            output.status.success(),
            "show failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).expect("show --json prints JSON")
    }
}

impl Default for Scratch {
    fn default() -> Self {
        Self::new()
    }
}

/// Docker containers, networks and volumes labelled with this run id (via the docker CLI, not
/// the code under test).
pub fn docker_resources(run_id: &str) -> Vec<String> {
    let filter = format!("label=dev.agentpod.run={run_id}");
    let mut found = Vec::new();
    for (kind, args) in [
        (
            "container",
            vec!["ps", "-a", "--format", "{{.Names}}", "--filter", &filter],
        ),
        (
            "network",
            vec![
                "network",
                "ls",
                "--format",
                "{{.Name}}",
                "--filter",
                &filter,
            ],
        ),
        (
            "volume",
            vec!["volume", "ls", "--format", "{{.Name}}", "--filter", &filter],
        ),
    ] {
        let output = Command::new("docker")
            .args(&args)
            .output()
            .expect("the docker CLI runs");
        assert!(
            output.status.success(),
            "docker {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        for name in String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter(|line| !line.is_empty())
        {
            found.push(format!("{kind} {name}"));
        }
    }
    found
}

/// Local pod directories of this run (the local runtime keeps them under $TMPDIR/agentpod-pods).
pub fn local_pod_directories(run_id: &str) -> Vec<PathBuf> {
    let root = std::env::temp_dir().join("agentpod-pods");
    let Ok(entries) = std::fs::read_dir(root) else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| {
            path.file_name()
                .is_some_and(|name| name.to_string_lossy().contains(run_id))
        })
        .collect()
}

/// The run id printed in the first progress line, `run <id>: ...`.
pub fn run_id_from_stderr(stderr: &str) -> Option<String> {
    stderr.lines().find_map(|line| {
        line.strip_prefix("run ")?
            .split(':')
            .next()
            .map(str::to_string)
    })
}

/// What a finished command wrote to stdout, as text.
pub fn stdout_text(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// What a finished command wrote to stderr, as text.
pub fn stderr_text(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Writes `text` to `path` and makes it executable.
pub fn write_executable(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).expect("write the script");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
        .expect("make it executable");
}

/// An `agentpod run` started in the background, its run id read from its first stderr line.
pub struct RunningAgentpod {
    pub child: std::process::Child,
    pub run_id: String,
    /// The rest of its stderr, line by line, as it comes.
    pub lines: Box<dyn Iterator<Item = String> + Send>,
}

impl RunningAgentpod {
    /// Spawns `command` (an `agentpod run …` without `--no-progress`) with stderr piped.
    pub fn start(mut command: Command) -> RunningAgentpod {
        use std::io::BufRead;
        let mut child = command
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("agentpod starts");
        let stderr = child.stderr.take().expect("stderr is piped");
        let mut lines = std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok);
        let run_id = lines
            .next()
            .as_deref()
            .and_then(run_id_from_stderr)
            .expect("agentpod announces its run on its first line");
        RunningAgentpod {
            child,
            run_id,
            lines: Box::new(lines),
        }
    }

    /// Reads stderr until a line starts with `prefix`; the line, or `None` if the run ended first.
    pub fn wait_for_line(&mut self, prefix: &str) -> Option<String> {
        self.lines.find(|line| line.starts_with(prefix))
    }
}

/// A test that fails half-way must not leave its agentpod running with pods up: still running,
/// it is interrupted (it drains and removes its pods), and killed if it does not end in time.
impl Drop for RunningAgentpod {
    fn drop(&mut self) {
        if !matches!(self.child.try_wait(), Ok(None)) {
            return;
        }
        let _ = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while std::time::Instant::now() < deadline {
            if !matches!(self.child.try_wait(), Ok(None)) {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// True once no process on the host has `command_line` (NUL-separated, as in
/// `/proc/PID/cmdline`) or every such process is a zombie; one still running after a few
/// seconds was not killed.
pub fn processes_end_soon(command_line: &str) -> bool {
    processes_end_soon_within(command_line, std::time::Duration::from_secs(5))
}

/// [`processes_end_soon`] with a deadline of one's own (zero: look once).
pub fn processes_end_soon_within(command_line: &str, wait: std::time::Duration) -> bool {
    let deadline = std::time::Instant::now() + wait;
    loop {
        let running = std::fs::read_dir("/proc")
            .unwrap()
            .filter_map(Result::ok)
            .filter(|entry| {
                std::fs::read(entry.path().join("cmdline"))
                    .is_ok_and(|text| text == command_line.as_bytes())
            })
            .any(|entry| {
                std::fs::read_to_string(entry.path().join("stat"))
                    .ok()
                    .and_then(|stat| {
                        stat.rsplit_once(") ")
                            .and_then(|(_, rest)| rest.chars().next())
                    })
                    .is_some_and(|state| state != 'Z')
            });
        if !running {
            return true;
        }
        if std::time::Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
