//! The `agent` section: the program under test (a command on the host or a container image),
//! its version, and the limits it runs under.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use crate::byte_size::{BYTE_SIZE_HELP, ByteSizeError, parse_byte_size};
use crate::decoder::Decoder;
use crate::duration::{DURATION_HELP, parse_duration};
use crate::keys;
use crate::node::{Node, NodeValue, Position};
use crate::paths;
use crate::{AgentIsolation, AgentLimits};

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
const DEFAULT_OUTPUT_LIMIT: usize = 1 << 20;

/// The variables of the agent contract: agentpod sets them for every issue, so a spec must not
/// override them (any `AGENTPOD_` name is reserved for the contract's future variables too).
const RESERVED_ENVIRONMENT: &[&str] = &[
    "DATABASE_URL",
    "OPENAI_BASE_URL",
    "OPENAI_API_KEY",
    "ANTHROPIC_BASE_URL",
    "ANTHROPIC_API_KEY",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
];
const RESERVED_ENVIRONMENT_PREFIX: &str = "AGENTPOD_";

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AgentSpec {
    /// The program and its arguments, run without a shell. For a host agent the program is
    /// resolved against the spec's directory when it contains a `/`, and looked up on `PATH`
    /// otherwise. With `image` it runs inside the container as written, overriding the image's
    /// `CMD`, and may be empty to keep the image's own.
    pub command: Vec<String>,
    /// A container image to run the agent in, instead of a program on the host.
    pub image: Option<String>,
    pub version: String,
    /// How long one issue may run before the agent is stopped.
    #[serde(serialize_with = "crate::duration::serialize_duration")]
    pub timeout: Duration,
    /// How many bytes of stdout and of stderr are kept, each.
    pub output_limit: usize,
    /// Extra environment for the agent, on top of the agent contract's variables.
    pub env: BTreeMap<String, String>,
    /// Memory, CPU and processes: a container's limits for an `image`, the sandbox's control
    /// group and process limit for a host command.
    pub limits: AgentLimits,
    /// How a host command is kept apart from agentpod and other issues (`sandbox` unless the
    /// spec says `none`). Always `sandbox` for an `image`, whose container isolates it.
    pub isolation: AgentIsolation,
    /// Paths (files or directories, resolved against the spec's directory) a sandboxed host
    /// agent may read besides the system directories and its own program's directory: an
    /// interpreter, a virtual environment, model files.
    pub read_only: Vec<PathBuf>,
}

impl AgentSpec {
    pub(crate) fn decode(
        decoder: &mut Decoder<'_>,
        node: &Node,
        owner: Position,
    ) -> Option<AgentSpec> {
        let fields = decoder.mapping(node, owner, "`agent`", keys::AGENT)?;
        decoder.require(&fields, keys::AGENT_REQUIRED);
        let image = decoder.optional(&fields, "image", |decoder, node| {
            decoder.image(node, "agent.image")
        });
        let in_container = fields.get("image").is_some();
        let command = decoder.optional(&fields, "command", |decoder, node| {
            decode_command(decoder, node, in_container)
        });
        if fields.get("command").is_none() && !in_container {
            decoder.report(
                fields.owner(),
                "set `agent.command` (a program on the host) or `agent.image` (a container image)",
            );
        }
        let version = fields
            .get("version")
            .and_then(|field| decoder.non_empty_string(field.value, "agent.version"));
        let timeout = decoder.optional(&fields, "timeout", decode_timeout);
        let output_limit = decoder.optional(&fields, "output_limit", decode_output_limit);
        let env = decoder.optional(&fields, "env", decode_environment);
        let limits = match fields.get("limits") {
            Some(field) => AgentLimits::decode(decoder, field.value, field.key_position),
            None => Some(AgentLimits::default()),
        };
        let isolation = decoder.optional(&fields, "isolation", AgentIsolation::decode);
        if in_container
            && let Some(field) = fields.get("isolation")
            && matches!(isolation, Some(Some(AgentIsolation::None)))
        {
            decoder.report_with_help(
                field.key_position,
                "`agent.isolation: none` applies only to a host command",
                Some(
                    "an `agent.image` always runs in its locked-down container; remove `isolation`",
                ),
            );
        }
        let read_only = decoder.optional(&fields, "read_only", decode_read_only);
        Some(AgentSpec {
            command: command?.unwrap_or_default(),
            image: image?,
            version: version?,
            timeout: timeout?.unwrap_or(DEFAULT_TIMEOUT),
            output_limit: output_limit?.unwrap_or(DEFAULT_OUTPUT_LIMIT),
            env: env?.unwrap_or_default(),
            limits: limits?,
            isolation: isolation?.unwrap_or_default(),
            read_only: read_only?.unwrap_or_default(),
        })
    }
}

/// `agent.read_only`: a list of paths, each resolved against the spec's directory; a path that
/// does not exist is reported, since the sandbox could not show it.
fn decode_read_only(decoder: &mut Decoder<'_>, node: &Node) -> Option<Vec<PathBuf>> {
    let items = decoder.sequence(node, "agent.read_only")?;
    let paths: Vec<Option<PathBuf>> = items
        .iter()
        .enumerate()
        .map(|(index, item)| {
            let path = decoder.path(item, &format!("agent.read_only[{index}]"))?;
            if path.exists() {
                return Some(path);
            }
            decoder.report_with_help(
                item.position,
                format!(
                    "path not found for `agent.read_only[{index}]`: {}",
                    path.display()
                ),
                Some("paths in a pod spec are relative to its directory"),
            );
            None
        })
        .collect();
    paths.into_iter().collect()
}

/// A list is taken as the argument vector; a string is split on whitespace, since there is no
/// shell to interpret quotes. A program `in_container` names a path inside the image, so it is
/// kept as written.
fn decode_command(
    decoder: &mut Decoder<'_>,
    node: &Node,
    in_container: bool,
) -> Option<Vec<String>> {
    let mut command = match &node.value {
        NodeValue::Sequence(items) => {
            let arguments: Vec<Option<String>> = items
                .iter()
                .enumerate()
                .map(|(index, item)| decoder.string(item, &format!("agent.command[{index}]")))
                .collect();
            arguments.into_iter().collect::<Option<Vec<String>>>()?
        }
        NodeValue::Scalar { .. } => decoder
            .string(node, "agent.command")?
            .split_whitespace()
            .map(str::to_owned)
            .collect(),
        NodeValue::Mapping(_) => {
            decoder.report(
                node.position,
                format!(
                    "expected a string or a list for `agent.command`, found {}",
                    node.kind_name()
                ),
            );
            return None;
        }
    };
    let Some(program) = command
        .first_mut()
        .filter(|program| !program.trim().is_empty())
    else {
        decoder.report_with_help(
            node.position,
            "`agent.command` is empty",
            Some("name the program to run, e.g. `command: [\"./agent\", \"--verbose\"]`"),
        );
        return None;
    };
    if program.contains('/') && !in_container {
        *program = paths::resolve_program(decoder.spec_directory(), program)
            .to_string_lossy()
            .into_owned();
    }
    if !in_container {
        report_missing_scripts(decoder, node, "agent.command", &mut command);
    }
    Some(command)
}

/// Resolves the command's path-like arguments against the spec's directory (see
/// [`paths::resolve_arguments`]) and reports a script that is nowhere to be found.
pub(crate) fn report_missing_scripts(
    decoder: &mut Decoder<'_>,
    node: &Node,
    name: &str,
    command: &mut [String],
) {
    let spec_directory = decoder.spec_directory().to_path_buf();
    for missing in paths::resolve_arguments(&spec_directory, &mut command[1..]) {
        decoder.report_with_help(
            node.position,
            format!(
                "`{name}` names `{missing}`, which is not next to the spec ({}) or in the current directory",
                paths::resolve(&spec_directory, &missing).display()
            ),
            Some("arguments that are paths are read relative to the spec's directory, like the program; fix the path or make it absolute"),
        );
    }
}

fn decode_timeout(decoder: &mut Decoder<'_>, node: &Node) -> Option<Duration> {
    // Any scalar is read as text, so `timeout: 30` is told it lacks a unit rather than that it
    // has the wrong type.
    let text = decoder.string(node, "agent.timeout")?;
    match parse_duration(&text) {
        Ok(Duration::ZERO) => {
            decoder.report(node.position, "`agent.timeout` must be greater than zero");
            None
        }
        Ok(timeout) => Some(timeout),
        Err(error) => {
            decoder.report_with_help(
                node.position,
                format!("invalid duration `{text}` for `agent.timeout`: {error}"),
                Some(DURATION_HELP),
            );
            None
        }
    }
}

fn decode_output_limit(decoder: &mut Decoder<'_>, node: &Node) -> Option<usize> {
    let text = decoder.string(node, "agent.output_limit")?;
    match parse_byte_size(&text) {
        Ok(0) => {
            decoder.report(
                node.position,
                "`agent.output_limit` must be greater than zero",
            );
            None
        }
        Ok(limit) => Some(limit),
        Err(error) => {
            let help = match &error {
                ByteSizeError::UnknownUnit {
                    suggestion: Some(unit),
                    ..
                } => format!("did you mean `{unit}`? sizes use binary units"),
                _ => BYTE_SIZE_HELP.to_owned(),
            };
            decoder.report_with_help(
                node.position,
                format!("invalid size `{text}` for `agent.output_limit`: {error}"),
                Some(help),
            );
            None
        }
    }
}

fn decode_environment(decoder: &mut Decoder<'_>, node: &Node) -> Option<BTreeMap<String, String>> {
    let fields = decoder.open_mapping(node, node.position, "`agent.env`")?;
    let mut environment = BTreeMap::new();
    let mut valid = true;
    for field in fields.iter() {
        let name = field.key;
        let value = decoder.string(field.value, &format!("agent.env.{name}"));
        if name.is_empty() {
            decoder.report(field.key_position, "empty environment variable name");
            valid = false;
        } else if name.contains(['=', '\0']) {
            decoder.report(
                field.key_position,
                format!("invalid environment variable name `{name}`"),
            );
            valid = false;
        } else if RESERVED_ENVIRONMENT.contains(&name)
            || name.starts_with(RESERVED_ENVIRONMENT_PREFIX)
        {
            decoder.report_with_help(
                field.key_position,
                format!("`{name}` is set by agentpod and cannot be overridden"),
                Some("agentpod gives the agent its database, gateways and identity itself"),
            );
            valid = false;
        }
        match value {
            Some(value) => {
                environment.insert(name.to_owned(), value);
            }
            None => valid = false,
        }
    }
    valid.then_some(environment)
}
