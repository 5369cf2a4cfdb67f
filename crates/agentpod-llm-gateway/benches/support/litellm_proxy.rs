//! LiteLLM's proxy as a second baseline for the LLM gateway bench: the tool users would otherwise
//! put between an agent and its provider, started from the bench's own venv (`scripts/bench`
//! installs it from PyPI into `target/bench-venv` and names the executable in
//! `AGENTPOD_BENCH_LITELLM`) against the same fake upstream, as its docs start it: a config file
//! with the model and its `api_base`, a master key, no database. Its process group is ended when
//! this is dropped, so no worker outlives the bench.

#![allow(dead_code)]

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The key agents send to LiteLLM (its master key).
pub const MASTER_KEY: &str = "sk-agentpod-bench";
/// Python's start-up and LiteLLM's imports take seconds; past this it is reported as not ready.
const READY_TIMEOUT: Duration = Duration::from_secs(120);

pub struct LiteLlm {
    child: Child,
    pub base_url: String,
    pub version: String,
    pub workers: usize,
    /// Holds the config and the log; removed on drop.
    _directory: tempfile::TempDir,
}

/// Starts LiteLLM's proxy with `workers` worker processes, routing `model` to the
/// OpenAI-compatible `upstream_base_url` (ending in `/v1`) with `upstream_key`. `Err` says why it
/// cannot run here.
pub fn start(
    upstream_base_url: &str,
    upstream_key: &str,
    model: &str,
    workers: usize,
) -> Result<LiteLlm, String> {
    let executable = std::env::var_os("AGENTPOD_BENCH_LITELLM")
        .map(PathBuf::from)
        .ok_or("AGENTPOD_BENCH_LITELLM is not set (scripts/bench installs LiteLLM and sets it)")?;
    if !executable.is_file() {
        return Err(format!("{} does not exist", executable.display()));
    }
    let version = std::env::var("AGENTPOD_BENCH_LITELLM_VERSION").unwrap_or_default();
    let directory =
        tempfile::tempdir().map_err(|error| format!("no temporary directory: {error}"))?;
    let config = directory.path().join("litellm.yaml");
    std::fs::write(
        &config,
        format!(
            "model_list:\n  - model_name: {model}\n    litellm_params:\n      model: openai/{model}\n      \
             api_base: {upstream_base_url}\n      api_key: {upstream_key}\n\
             general_settings:\n  master_key: {MASTER_KEY}\n"
        ),
    )
    .map_err(|error| format!("cannot write the LiteLLM config: {error}"))?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map_err(|error| format!("no free port: {error}"))?
        .port();
    let log = std::fs::File::create(directory.path().join("litellm.log"))
        .map_err(|error| format!("cannot create the LiteLLM log: {error}"))?;
    let log_for_errors = log
        .try_clone()
        .map_err(|error| format!("cannot share the LiteLLM log: {error}"))?;
    let child = Command::new(&executable)
        .arg("--config")
        .arg(&config)
        .args(["--host", "127.0.0.1", "--port", &port.to_string()])
        .args(["--num_workers", &workers.to_string()])
        // The cost map bundled with the package rather than one fetched from GitHub; no
        // telemetry. Nothing else of LiteLLM's defaults is changed.
        .env("LITELLM_LOCAL_MODEL_COST_MAP", "True")
        .env("LITELLM_TELEMETRY", "False")
        .env("NO_DOCS", "True")
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_for_errors)
        // A group of its own, so its uvicorn workers are ended with it.
        .process_group(0)
        .spawn()
        .map_err(|error| format!("cannot start {}: {error}", executable.display()))?;
    let mut litellm = LiteLlm {
        child,
        base_url: format!("http://127.0.0.1:{port}"),
        version,
        workers,
        _directory: directory,
    };
    litellm.wait_until_ready()?;
    Ok(litellm)
}

impl LiteLlm {
    fn wait_until_ready(&mut self) -> Result<(), String> {
        let started = Instant::now();
        let address = self.base_url.trim_start_matches("http://").to_owned();
        while started.elapsed() < READY_TIMEOUT {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!(
                    "LiteLLM exited with {status} before it was ready: {}",
                    self.log_tail()
                ));
            }
            if liveliness_ok(&address) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        Err(format!(
            "LiteLLM was not ready within {READY_TIMEOUT:?}: {}",
            self.log_tail()
        ))
    }

    fn log_tail(&self) -> String {
        let text =
            std::fs::read_to_string(self._directory.path().join("litellm.log")).unwrap_or_default();
        let lines: Vec<&str> = text
            .lines()
            .filter(|line| !line.trim().is_empty())
            .collect();
        lines[lines.len().saturating_sub(5)..].join(" | ")
    }
}

/// `GET /health/liveliness` answered 200, asked with a plain socket so no runtime is needed.
fn liveliness_ok(address: &str) -> bool {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(address) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let request =
        format!("GET /health/liveliness HTTP/1.1\r\nhost: {address}\r\nconnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.1 200")
}

impl Drop for LiteLlm {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        // TERM lets uvicorn stop its workers; KILL whatever is left after a grace period.
        let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.wait();
    }
}
