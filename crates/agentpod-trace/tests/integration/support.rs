//! Helpers shared by the integration tests: starting an intake, posting raw requests, running
//! the Python clients.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use agentpod_trace::{TraceIntake, TraceIntakeConfig};
use bytes::Bytes;

pub async fn start_intake() -> TraceIntake {
    TraceIntake::start(
        "127.0.0.1:0".parse().expect("a literal address"),
        TraceIntakeConfig::default(),
    )
    .await
    .expect("the intake starts on a free port")
}

pub struct Reply {
    pub status: u16,
    pub content_type: String,
    pub body: Bytes,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|error| {
            panic!(
                "reply is not JSON ({error}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }
}

/// Posts `body` with the given headers; panics only on transport failures, which no test expects.
pub async fn post(url: &str, headers: &[(&str, &str)], body: Vec<u8>) -> Reply {
    request("POST", url, headers, body).await
}

pub async fn request(method: &str, url: &str, headers: &[(&str, &str)], body: Vec<u8>) -> Reply {
    // reqwest is built without a bundled crypto provider (see the workspace's Cargo.toml).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .no_proxy()
        .build()
        .expect("an HTTP client");
    let method = reqwest::Method::from_bytes(method.as_bytes()).expect("a valid method");
    let mut builder = client.request(method, url).body(body);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let response = builder
        .send()
        .await
        .expect("the request reaches the intake within 30 s");
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = response.bytes().await.expect("the reply body arrives");
    Reply {
        status,
        content_type,
        body,
    }
}

fn python() -> PathBuf {
    if let Some(path) = std::env::var_os("AGENTPOD_PYTHON") {
        return PathBuf::from(path);
    }
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python");
    assert!(
        path.exists(),
        "{} is missing: run scripts/setup to install the Python SDKs",
        path.display()
    );
    path
}

/// Runs `tests/clients/<script>` with the given environment and returns what it printed as JSON.
pub async fn run_client(script: &str, environment: &[(String, String)]) -> serde_json::Value {
    let script_path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/clients")
        .join(script);
    let mut command = Command::new(python());
    command.arg(&script_path).env_clear();
    // The SDK must see only what the test gives it (plus PATH for its own subprocesses).
    if let Some(path) = std::env::var_os("PATH") {
        command.env("PATH", path);
    }
    command.envs(environment.iter().map(|(name, value)| (name, value)));
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .expect("the client thread finishes")
        .expect("the Python client starts");
    assert!(
        output.status.success(),
        "{script} failed with {}:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
        panic!(
            "{script} printed no JSON ({error}):\nstdout: {}\nstderr: {}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}
