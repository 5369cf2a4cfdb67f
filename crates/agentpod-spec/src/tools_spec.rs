//! The `tools` section: what the tool gateway serves besides its built-in database tools — SQL
//! functions from one schema, and other MCP servers it proxies.

use serde::Serialize;

use crate::decoder::Decoder;
use crate::identifier::is_identifier;
use crate::keys;
use crate::model_spec::decode_url;
use crate::node::{Node, NodeValue, Position};
use crate::paths;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ToolsSpec {
    /// The schema whose functions become tools, with their argument names and types.
    pub sql_functions_schema: Option<String>,
    /// In the order written; names are unique.
    pub servers: Vec<ToolServerSpec>,
}

/// An MCP server whose tools the gateway proxies, and counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ToolServerSpec {
    pub name: String,
    pub kind: ToolServerKind,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ToolServerKind {
    /// A program speaking MCP over stdio, run without a shell. A program path with a `/` is
    /// resolved against the spec's directory; arguments are kept as written, so the gateway runs
    /// the command from the spec's directory.
    Command(Vec<String>),
    /// An MCP server over streamable HTTP.
    Url(String),
}

impl ToolsSpec {
    pub(crate) fn decode(
        decoder: &mut Decoder<'_>,
        node: &Node,
        owner: Position,
    ) -> Option<ToolsSpec> {
        let fields = decoder.mapping(node, owner, "`tools`", keys::TOOLS)?;
        let schema = decoder.optional(&fields, "sql_functions_schema", |decoder, node| {
            let schema = decoder.non_empty_string(node, "tools.sql_functions_schema")?;
            if !is_identifier(&schema) {
                decoder.report_with_help(
                    node.position,
                    format!("invalid schema name `{schema}` for `tools.sql_functions_schema`"),
                    Some("use letters, digits and `_`, not starting with a digit"),
                );
                return None;
            }
            Some(schema)
        });
        let servers = decoder.optional(&fields, "servers", decode_servers);
        Some(ToolsSpec {
            sql_functions_schema: schema?,
            servers: servers?.unwrap_or_default(),
        })
    }
}

fn decode_servers(decoder: &mut Decoder<'_>, node: &Node) -> Option<Vec<ToolServerSpec>> {
    let NodeValue::Sequence(items) = &node.value else {
        decoder.report(
            node.position,
            format!(
                "expected a list for `tools.servers`, found {}",
                node.kind_name()
            ),
        );
        return None;
    };
    let mut servers: Vec<ToolServerSpec> = Vec::new();
    // Where each accepted name was written, for "first named on line N".
    let mut name_lines: Vec<usize> = Vec::new();
    let mut valid = true;
    for (index, item) in items.iter().enumerate() {
        let Some((server, name_position)) = decode_server(decoder, item, index) else {
            valid = false;
            continue;
        };
        if let Some(first) = servers.iter().position(|known| known.name == server.name) {
            decoder.report_with_help(
                name_position,
                format!("tool server name `{}` is used twice", server.name),
                Some(format!(
                    "it is first used on line {}; each server needs its own name",
                    name_lines[first]
                )),
            );
            valid = false;
            continue;
        }
        name_lines.push(name_position.line);
        servers.push(server);
    }
    valid.then_some(servers)
}

fn decode_server(
    decoder: &mut Decoder<'_>,
    node: &Node,
    index: usize,
) -> Option<(ToolServerSpec, Position)> {
    let label = format!("tools.servers[{index}]");
    let fields = decoder.mapping(
        node,
        node.position,
        &format!("`{label}`"),
        keys::TOOL_SERVER,
    )?;
    decoder.require(&fields, keys::TOOL_SERVER_REQUIRED);
    let name = fields.get("name").and_then(|field| {
        let name = decoder.non_empty_string(field.value, &format!("{label}.name"))?;
        if !is_server_name(&name) {
            decoder.report_with_help(
                field.value.position,
                format!("invalid tool server name `{name}`"),
                Some("use lowercase letters, digits, `_` and `-`, starting with a letter; tools are named after their server"),
            );
            return None;
        }
        Some((name, field.value.position))
    });
    let command = decoder.optional(&fields, "command", |decoder, node| {
        decode_command(decoder, node, &format!("{label}.command"))
    });
    let url = decoder.optional(&fields, "url", |decoder, node| {
        decode_url(decoder, node, &format!("{label}.url"))
    });
    let kind = match (command?, url?) {
        (Some(command), None) => Some(ToolServerKind::Command(command)),
        (None, Some(url)) => Some(ToolServerKind::Url(url)),
        (Some(_), Some(_)) => {
            let position = fields
                .get("url")
                .map_or(fields.owner(), |field| field.key_position);
            decoder.report_with_help(
                position,
                format!("`{label}` sets both `command` and `url`"),
                Some("a server is either a program the gateway starts or a URL it calls"),
            );
            None
        }
        (None, None) => {
            if fields.get("command").is_none() && fields.get("url").is_none() {
                decoder.report_with_help(
                    fields.owner(),
                    format!("`{label}` sets neither `command` nor `url`"),
                    Some("set `command: [\"program\", \"argument\"]` (MCP over stdio) or `url: http://…` (streamable HTTP)"),
                );
            }
            None
        }
    };
    let (name, position) = name?;
    Some((ToolServerSpec { name, kind: kind? }, position))
}

fn decode_command(decoder: &mut Decoder<'_>, node: &Node, name: &str) -> Option<Vec<String>> {
    let mut command = match &node.value {
        NodeValue::Sequence(items) => {
            let arguments: Vec<Option<String>> = items
                .iter()
                .enumerate()
                .map(|(index, item)| decoder.string(item, &format!("{name}[{index}]")))
                .collect();
            arguments.into_iter().collect::<Option<Vec<String>>>()?
        }
        NodeValue::Scalar { .. } => decoder
            .string(node, name)?
            .split_whitespace()
            .map(str::to_owned)
            .collect(),
        NodeValue::Mapping(_) => {
            decoder.report(
                node.position,
                format!(
                    "expected a string or a list for `{name}`, found {}",
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
            format!("`{name}` is empty"),
            Some("name the program to run, e.g. `command: [\"python3\", \"server.py\"]`"),
        );
        return None;
    };
    if program.contains('/') {
        *program = paths::resolve_program(decoder.spec_directory(), program)
            .to_string_lossy()
            .into_owned();
    }
    crate::agent_spec::report_missing_scripts(decoder, node, name, &mut command);
    Some(command)
}

fn is_server_name(name: &str) -> bool {
    let mut characters = name.chars();
    characters
        .next()
        .is_some_and(|first| first.is_ascii_lowercase())
        && characters.all(|character| {
            character.is_ascii_lowercase()
                || character.is_ascii_digit()
                || character == '_'
                || character == '-'
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_names_are_lowercase_words() {
        assert!(is_server_name("files"));
        assert!(is_server_name("web-search_2"));
        assert!(!is_server_name("Files"));
        assert!(!is_server_name("2files"));
        assert!(!is_server_name("my server"));
        assert!(!is_server_name(""));
    }
}
