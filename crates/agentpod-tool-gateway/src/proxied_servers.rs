//! Other MCP servers the gateway proxies: connected once per gateway with rmcp's client, their
//! tools listed under `<server>.<tool>`, and calls forwarded so the gateway counts them too.
//! Every message read from them is held to a cap while it is read (`capped_lines` for stdio
//! servers, `capped_http_client` for URL servers).

use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use rmcp::model::{CallToolRequestParams, CallToolResult, JsonObject, Tool};
use rmcp::service::RunningService;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::{RoleClient, ServiceExt};
use tokio::process::Child;

use crate::capped_http_client::CappedHttpClient;
use crate::capped_lines::CappedLines;
use crate::proxied_message_cap::take_cut_marker;
use crate::tool_config::ProxiedServer;
use crate::tool_gateway_error::ToolGatewayError;

/// Separates the server's name from its tool's name in the names the agent sees.
pub(crate) const SEPARATOR: char = '.';

/// How long a proxied server may take to start and list its tools.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// rmcp's HTTP client sends one request at a time per client, so a URL server gets several
/// clients for calls from parallel issues to overlap. A stdio client multiplexes by itself.
const URL_CONNECTIONS: usize = 8;

/// How long a stdio server may take to exit once its input is closed before it is killed; the
/// same grace rmcp's own child-process transport gives.
const EXIT_GRACE: Duration = Duration::from_secs(3);

/// A proxied server's answer to one call, and whether it was cut at the cap while being read
/// (the result is then a stand-in error with a note).
pub(crate) struct ProxiedResult {
    pub(crate) result: CallToolResult,
    pub(crate) cut_while_read: bool,
}

pub(crate) struct ProxiedServers {
    connections: Vec<ProxiedConnection>,
}

struct ProxiedConnection {
    name: String,
    /// Used round-robin; never empty.
    clients: Vec<RunningService<RoleClient, ()>>,
    next_client: AtomicUsize,
    tools: Vec<Tool>,
    /// A stdio server's process; killed when dropped.
    process: Option<Child>,
}

impl ProxiedServers {
    pub(crate) async fn connect(
        servers: &[ProxiedServer],
    ) -> Result<ProxiedServers, ToolGatewayError> {
        let mut proxied = ProxiedServers {
            connections: Vec::new(),
        };
        for server in servers {
            // On an error the servers already started are closed when `proxied` drops.
            let connection = connect_one(server).await?;
            proxied.connections.push(connection);
        }
        Ok(proxied)
    }

    /// Every proxied tool, renamed `<server>.<tool>`.
    pub(crate) fn tools(&self) -> Vec<Tool> {
        self.connections
            .iter()
            .flat_map(|connection| {
                connection.tools.iter().map(|tool| {
                    let mut renamed = tool.clone();
                    renamed.name = format!("{}{SEPARATOR}{}", connection.name, tool.name).into();
                    renamed
                })
            })
            .collect()
    }

    /// Which server and tool a gateway tool name stands for, if any.
    pub(crate) fn resolve(&self, name: &str) -> Option<(usize, String)> {
        let (server, tool) = name.split_once(SEPARATOR)?;
        let index = self
            .connections
            .iter()
            .position(|connection| connection.name == server)?;
        self.connections[index]
            .tools
            .iter()
            .any(|candidate| candidate.name == tool)
            .then(|| (index, tool.to_owned()))
    }

    pub(crate) async fn call(
        &self,
        index: usize,
        tool: &str,
        arguments: JsonObject,
    ) -> Result<ProxiedResult, String> {
        let connection = self
            .connections
            .get(index)
            .ok_or_else(|| "proxied server is gone".to_owned())?;
        let mut parameters = CallToolRequestParams::new(tool.to_owned());
        parameters.arguments = Some(arguments);
        let turn = connection.next_client.fetch_add(1, Ordering::Relaxed);
        let client = connection
            .clients
            .get(turn % connection.clients.len().max(1))
            .ok_or_else(|| "proxied server has no connection".to_owned())?;
        let mut result = client
            .call_tool(parameters)
            .await
            .map_err(|error| format!("proxied server {} failed: {error}", connection.name))?;
        let cut_while_read = take_cut_marker(&mut result);
        Ok(ProxiedResult {
            result,
            cut_while_read,
        })
    }

    pub(crate) async fn close(self) {
        for connection in self.connections {
            for client in connection.clients {
                let _ = client.cancel().await;
            }
            // Cancelling closed the server's input; it should exit on its own.
            if let Some(mut process) = connection.process
                && tokio::time::timeout(EXIT_GRACE, process.wait())
                    .await
                    .is_err()
            {
                let _ = process.kill().await;
            }
        }
    }
}

fn usable_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

async fn connect_one(server: &ProxiedServer) -> Result<ProxiedConnection, ToolGatewayError> {
    let name = server.name().to_owned();
    if !usable_name(&name) {
        return Err(ToolGatewayError::ServerName { name });
    }
    let connecting = async {
        let mut clients = Vec::new();
        let mut process = None;
        match server {
            ProxiedServer::Command { command, .. } => {
                let Some((program, arguments)) = command.split_first() else {
                    return Err(ToolGatewayError::EmptyCommand { name: name.clone() });
                };
                let mut spawned = tokio::process::Command::new(program)
                    .args(arguments)
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    // The server's own logging is not the gateway's output.
                    .stderr(Stdio::null())
                    // A gateway that stops for any reason takes the server with it.
                    .kill_on_drop(true)
                    .spawn()
                    .map_err(|source| ToolGatewayError::ProxiedStart {
                        name: name.clone(),
                        source,
                    })?;
                let pipes = spawned.stdin.take().zip(spawned.stdout.take());
                let Some((input, output)) = pipes else {
                    return Err(ToolGatewayError::ProxiedConnect {
                        name: name.clone(),
                        message: "the server's standard input or output is not a pipe".to_owned(),
                    });
                };
                // The server is kept from the moment it runs, so an error below still stops it.
                process = Some(spawned);
                clients.push(
                    ().serve((CappedLines::new(output), input))
                        .await
                        .map_err(|error| ToolGatewayError::ProxiedConnect {
                            name: name.clone(),
                            message: error.to_string(),
                        })?,
                );
            }
            ProxiedServer::Url { url, .. } => {
                // rmcp's default HTTP client keeps no idle connection, so every call would open
                // a new TCP connection; one pooled client shared by all the clients reuses them.
                let http = reqwest::Client::builder()
                    .redirect(reqwest::redirect::Policy::none())
                    .build()
                    .map_err(|error| ToolGatewayError::ProxiedConnect {
                        name: name.clone(),
                        message: error.to_string(),
                    })?;
                for _ in 0..URL_CONNECTIONS {
                    let transport = StreamableHttpClientTransport::with_client(
                        CappedHttpClient::new(http.clone()),
                        StreamableHttpClientTransportConfig::with_uri(url.as_str()),
                    );
                    clients.push(
                        ().serve(transport).await.map_err(|error| {
                            ToolGatewayError::ProxiedConnect {
                                name: name.clone(),
                                message: error.to_string(),
                            }
                        })?,
                    );
                }
            }
        }
        let Some(first) = clients.first() else {
            return Err(ToolGatewayError::ProxiedConnect {
                name: name.clone(),
                message: "no connection".to_owned(),
            });
        };
        let tools =
            first
                .list_all_tools()
                .await
                .map_err(|error| ToolGatewayError::ProxiedList {
                    name: name.clone(),
                    message: error.to_string(),
                })?;
        Ok(ProxiedConnection {
            name: name.clone(),
            clients,
            next_client: AtomicUsize::new(0),
            tools,
            process,
        })
    };
    match tokio::time::timeout(CONNECT_TIMEOUT, connecting).await {
        Ok(result) => result,
        Err(_) => Err(ToolGatewayError::ProxiedConnect {
            name: name.clone(),
            message: format!("no answer within {} s", CONNECT_TIMEOUT.as_secs()),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_names_cannot_hold_the_separator() {
        assert!(usable_name("files"));
        assert!(usable_name("my-server_2"));
        assert!(!usable_name("a.b"));
        assert!(!usable_name(""));
    }

    #[tokio::test]
    async fn an_empty_command_is_refused() {
        let result = ProxiedServers::connect(&[ProxiedServer::Command {
            name: "empty".to_owned(),
            command: Vec::new(),
        }])
        .await;
        assert!(matches!(
            result.err(),
            Some(ToolGatewayError::EmptyCommand { name }) if name == "empty"
        ));
    }

    #[tokio::test]
    async fn a_missing_program_is_a_start_error() {
        let result = ProxiedServers::connect(&[ProxiedServer::Command {
            name: "missing".to_owned(),
            command: vec!["/nonexistent/agentpod-test-server".to_owned()],
        }])
        .await;
        assert!(matches!(
            result.err(),
            Some(ToolGatewayError::ProxiedStart { name, .. }) if name == "missing"
        ));
    }
}
