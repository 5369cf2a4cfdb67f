//! The agent program must exist before pods start: resolved as the runner resolves it — a path
//! (the spec made it relative to its own directory) or a bare name looked up on `PATH` — and
//! executable. An image agent's program is inside its image, so it is not checked here.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use agentpod_spec::{Diagnostic, PodSpec, SpecLocations};

/// The agent gets the host's `PATH`, or this one when the host has none.
const FALLBACK_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

pub(super) fn check(
    spec: &PodSpec,
    override_command: Option<&[String]>,
    locations: &SpecLocations,
) -> Option<Diagnostic> {
    if spec.agent.image.is_some() {
        return None;
    }
    let command = override_command.unwrap_or(&spec.agent.command);
    let program = command.first()?;
    let (message, help) = if program.contains('/') {
        let path = Path::new(program);
        if path.is_file() {
            if is_executable(path) {
                return None;
            }
            (
                format!("the agent program {program} is not executable"),
                format!(
                    "make it executable (`chmod +x {program}`), or start it through its interpreter (`[\"python3\", \"{program}\"]`)"
                ),
            )
        } else {
            (
                format!("the agent program {program} does not exist"),
                "build it first, or fix the path: a program path in a spec is relative to the spec's directory (a bare name is looked up on PATH)".to_owned(),
            )
        }
    } else {
        if on_path(program).is_some() {
            return None;
        }
        (
            format!("the agent program `{program}` is not on PATH"),
            "install it, or give its path (relative to the spec's directory, e.g. `./agent`)"
                .to_owned(),
        )
    };
    let diagnostic = match override_command {
        Some(_) => Diagnostic::new("--agent-command", 0, 0, message),
        None => {
            let item = locations.at_value("agent.command.0", message.clone());
            if item.line > 0 {
                item
            } else {
                locations.at_value("agent.command", message)
            }
        }
    };
    Some(diagnostic.with_help(help))
}

fn on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_else(|| FALLBACK_PATH.into());
    std::env::split_paths(&path)
        .map(|directory| directory.join(program))
        .find(|candidate| candidate.is_file() && is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|metadata| metadata.permissions().mode() & 0o111 != 0)
}
