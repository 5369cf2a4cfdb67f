//! The MCP side of the gateway: lists an issue's tools and runs, limits, times and records every
//! `tools/call`. One handler serves every issue; the issue comes from the request itself (the
//! request guard puts it in the HTTP request's extensions after checking the token).

use std::sync::Arc;
use std::time::Instant;

use agentpod_gateway_http::{CappedText, RECORD_CAP_BYTES};
use rmcp::model::{
    CallToolRequestParams, CallToolResult, ContentBlock, Implementation, JsonObject,
    ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerInfo, Tool,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler};
use serde_json::Value;

use crate::customer_channel::{SEND_MESSAGE_TO_CUSTOMER, customer_tool, message_argument};
use crate::database_tools::{
    EXECUTE, LIST_TABLES, QUERY, empty_input_schema, execute, list_tables, query, sql_input_schema,
};
use crate::issue_state::{Admission, IssueState};
use crate::issue_tool_record::{ToolCall, ToolCallOutcome};
use crate::result_cap::{CappedValue, cap_call_result, json_size};
use crate::sql_function_tools::{SqlFunction, discover};
use crate::statement_connections::StatementError;
use crate::tool_gateway::GatewayShared;

#[derive(Clone)]
pub(crate) struct McpHandler {
    pub(crate) shared: Arc<GatewayShared>,
}

/// What a tool name stands for.
enum Target {
    Query,
    Execute,
    ListTables,
    SqlFunction(SqlFunction),
    Customer,
    Proxied { server: usize, tool: String },
}

/// What running a tool gave, before it is recorded.
struct Ran {
    result: CallToolResult,
    outcome: ToolCallOutcome,
    error: Option<String>,
    /// The result passed the result cap and was cut.
    capped: bool,
}

impl McpHandler {
    fn issue(context: &RequestContext<RoleServer>) -> Result<Arc<IssueState>, McpError> {
        context
            .extensions
            .get::<axum::http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<Arc<IssueState>>())
            .cloned()
            // The request guard always sets it; reaching here without it is a wiring bug.
            .ok_or_else(|| McpError::internal_error("request carries no issue", None))
    }

    async fn sql_functions(
        &self,
        issue: &IssueState,
    ) -> Result<Arc<Vec<SqlFunction>>, StatementError> {
        let Some(schema) = self.shared.config.sql_functions_schema.as_deref() else {
            return Ok(Arc::new(Vec::new()));
        };
        issue.open_first_connection().await;
        issue
            .sql_functions
            .get_or_try_init(|| async { discover(&issue.statements, schema).await.map(Arc::new) })
            .await
            .cloned()
    }

    async fn resolve(&self, issue: &IssueState, name: &str) -> Result<Option<Target>, String> {
        match name {
            QUERY => return Ok(Some(Target::Query)),
            EXECUTE => return Ok(Some(Target::Execute)),
            LIST_TABLES => return Ok(Some(Target::ListTables)),
            SEND_MESSAGE_TO_CUSTOMER if issue.customer.is_some() => {
                return Ok(Some(Target::Customer));
            }
            _ => {}
        }
        if let Some((server, tool)) = self.shared.proxied.resolve(name) {
            return Ok(Some(Target::Proxied { server, tool }));
        }
        let functions = self
            .sql_functions(issue)
            .await
            .map_err(|error| format!("cannot list the SQL function tools: {}", error.describe()))?;
        Ok(functions
            .iter()
            .find(|function| function.name == name)
            .cloned()
            .map(Target::SqlFunction))
    }

    async fn run(&self, issue: &IssueState, target: Target, arguments: JsonObject) -> Ran {
        let max_rows = self.shared.config.max_rows;
        if !matches!(target, Target::Proxied { .. } | Target::Customer) {
            issue.open_first_connection().await;
        }
        let outcome = match target {
            Target::Query => match sql_argument(&arguments) {
                Ok(sql) => query(&issue.statements, sql, max_rows)
                    .await
                    .map_err(|error| error.describe()),
                Err(message) => Err(message),
            },
            Target::Execute => match sql_argument(&arguments) {
                Ok(sql) => execute(&issue.statements, sql)
                    .await
                    .map(CappedValue::whole)
                    .map_err(|error| error.describe()),
                Err(message) => Err(message),
            },
            Target::ListTables => list_tables(&issue.statements)
                .await
                .map(CappedValue::whole)
                .map_err(|error| error.describe()),
            Target::SqlFunction(function) => {
                let schema = self
                    .shared
                    .config
                    .sql_functions_schema
                    .as_deref()
                    .unwrap_or_default();
                function.call(&issue.statements, schema, &arguments).await
            }
            Target::Customer => {
                // The customer's reply is text, given as it is.
                let reply = match (&issue.customer, message_argument(&arguments)) {
                    (Some(customer), Ok(message)) => customer.reply(message).await,
                    (_, Err(message)) => Err(message),
                    (None, _) => Err("this issue has no customer to talk to".to_owned()),
                };
                return match reply {
                    Ok(reply) => Ran {
                        result: CallToolResult::success(vec![ContentBlock::text(reply)]),
                        outcome: ToolCallOutcome::Ok,
                        error: None,
                        capped: false,
                    },
                    Err(message) => failed(message),
                };
            }
            Target::Proxied { server, tool } => {
                return match self.shared.proxied.call(server, &tool, arguments).await {
                    Ok(proxied) => {
                        let result = proxied.result;
                        let failed = result.is_error == Some(true);
                        Ran {
                            error: failed.then(|| result_text(&result.content)),
                            outcome: if failed {
                                ToolCallOutcome::Error
                            } else {
                                ToolCallOutcome::Ok
                            },
                            result,
                            capped: proxied.cut_while_read,
                        }
                    }
                    Err(message) => failed(message),
                };
            }
        };
        match outcome {
            Ok(CappedValue { value, capped }) => Ran {
                result: CallToolResult::success(vec![ContentBlock::text(value.to_string())]),
                outcome: ToolCallOutcome::Ok,
                error: None,
                capped,
            },
            Err(message) => failed(message),
        }
    }
}

fn failed(message: String) -> Ran {
    Ran {
        result: CallToolResult::error(vec![ContentBlock::text(message.clone())]),
        outcome: ToolCallOutcome::Error,
        error: Some(message),
        capped: false,
    }
}

pub(crate) fn sql_argument(arguments: &JsonObject) -> Result<&str, String> {
    match arguments.get("sql") {
        Some(Value::String(sql)) => Ok(sql),
        Some(_) => Err("argument \"sql\" must be a string".to_owned()),
        None => Err("missing argument \"sql\"".to_owned()),
    }
}

/// The result as the agent reads it: text blocks as they are, anything else as its JSON.
pub(crate) fn result_text(content: &[ContentBlock]) -> String {
    content
        .iter()
        .map(|block| match block.as_text() {
            Some(text) => text.text.clone(),
            None => serde_json::to_string(block).unwrap_or_default(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

pub(crate) fn recorded_arguments(arguments: &JsonObject) -> (Value, usize) {
    // Most arguments are small: measure them without writing the text out, and write it only
    // when it has to be cut.
    let size = json_size(arguments);
    if size <= RECORD_CAP_BYTES {
        return (Value::Object(arguments.clone()), size);
    }
    let capped = CappedText::from_string(serde_json::to_string(arguments).unwrap_or_default());
    (Value::String(capped.text), capped.original_bytes)
}

/// What is known of a call when it arrives, kept until it is recorded.
struct CallStart {
    started: Instant,
    started_at: chrono::DateTime<chrono::Utc>,
    tool: String,
    arguments: Value,
    arguments_bytes: usize,
}

impl CallStart {
    /// Records a call that did not run, and the error result the agent gets for it.
    fn refuse(
        self,
        issue: &IssueState,
        sequence: u32,
        outcome: ToolCallOutcome,
        message: String,
    ) -> CallToolResult {
        self.record(
            issue,
            sequence,
            message.clone(),
            true,
            false,
            outcome,
            Some(message.clone()),
        );
        CallToolResult::error(vec![ContentBlock::text(message)])
    }

    #[allow(clippy::too_many_arguments)]
    fn record(
        self,
        issue: &IssueState,
        sequence: u32,
        result: String,
        is_error: bool,
        result_capped: bool,
        outcome: ToolCallOutcome,
        error: Option<String>,
    ) {
        let latency_ms = self.started.elapsed().as_secs_f64() * 1000.0;
        let CappedText {
            text: result,
            original_bytes: result_bytes,
            ..
        } = CappedText::from_string(result);
        // An error can repeat a whole result (a proxied server's error text), so it is held to
        // the record's cap too.
        let error = error.map(|error| CappedText::from_string(error).text);
        issue.record_call(ToolCall {
            sequence,
            issue_id: issue.issue_id.clone(),
            tool: self.tool,
            arguments: self.arguments,
            arguments_bytes: self.arguments_bytes,
            result_truncated: result_bytes > result.len(),
            result,
            result_bytes,
            result_capped,
            is_error,
            started_at: self
                .started_at
                .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            latency_ms,
            outcome,
            error,
        });
    }
}

fn builtin_tools() -> Vec<Tool> {
    vec![
        Tool::new(
            QUERY,
            "Run one read-only SQL query on the issue's database; rows come back as JSON objects.",
            sql_input_schema("one SELECT (or WITH ... SELECT) statement"),
        ),
        Tool::new(
            EXECUTE,
            "Run one SQL write statement (INSERT, UPDATE, DELETE) on the issue's database; returns the rows affected. The database's grants decide what is allowed.",
            sql_input_schema("one write statement"),
        ),
        Tool::new(
            LIST_TABLES,
            "List the tables and columns you can see, with their types.",
            empty_input_schema(),
        ),
    ]
}

impl ServerHandler for McpHandler {
    fn get_info(&self) -> ServerInfo {
        ServerInfo::new(ServerCapabilities::builder().enable_tools().build()).with_server_info(
            Implementation::new("agentpod-tool-gateway", env!("CARGO_PKG_VERSION")),
        )
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        let issue = McpHandler::issue(&context)?;
        let mut tools = builtin_tools();
        match self.sql_functions(&issue).await {
            Ok(functions) => {
                let schema = self
                    .shared
                    .config
                    .sql_functions_schema
                    .as_deref()
                    .unwrap_or_default();
                tools.extend(functions.iter().map(|function| {
                    Tool::new(
                        function.name.clone(),
                        function.tool_description(schema),
                        function.input_schema(),
                    )
                }));
            }
            Err(error) => {
                tracing::warn!(issue = %issue.issue_id, %error, "cannot list the SQL function tools");
            }
        }
        tools.extend(self.shared.proxied.tools());
        if issue.customer.is_some() {
            tools.push(customer_tool());
        }
        Ok(ListToolsResult::with_all_items(tools))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, McpError> {
        let issue = McpHandler::issue(&context)?;
        self.call(&issue, request).await
    }
}

impl McpHandler {
    /// One `tools/call` for `issue`, whoever makes it: the agent's MCP client through
    /// [`ServerHandler::call_tool`], or a grader replaying gold actions through
    /// [`crate::ToolGateway::call_tool`]. The tool is resolved, admitted against the issue's
    /// limits, run under the call timeout, capped and recorded the same way for both.
    pub(crate) async fn call(
        &self,
        issue: &IssueState,
        request: CallToolRequestParams,
    ) -> Result<CallToolResult, McpError> {
        let started = Instant::now();
        let started_at = chrono::Utc::now();
        let tool = request.name.to_string();
        let arguments = request.arguments.unwrap_or_default();
        let (recorded, arguments_bytes) = recorded_arguments(&arguments);
        let target = self.resolve(issue, &tool).await;
        let call = CallStart {
            started,
            started_at,
            tool,
            arguments: recorded,
            arguments_bytes,
        };

        // A call runs only if it is on record whole: arguments longer than the record keeps
        // could hide what the call did (padding before the statement it ran).
        if call.arguments_bytes > RECORD_CAP_BYTES {
            let message = format!(
                "the arguments are {} bytes: a tool call's arguments may be at most {RECORD_CAP_BYTES}, so that every call is on record whole",
                call.arguments_bytes
            );
            let (sequence, _) = issue.begin_call(false);
            return Ok(call.refuse(issue, sequence, ToolCallOutcome::Error, message));
        }
        let target = match target {
            Ok(Some(target)) => target,
            Ok(None) => {
                let message = format!("unknown tool {:?}", call.tool);
                let (sequence, _) = issue.begin_call(false);
                call.refuse(
                    issue,
                    sequence,
                    ToolCallOutcome::UnknownTool,
                    message.clone(),
                );
                return Err(McpError::invalid_params(message, None));
            }
            Err(message) => {
                let (sequence, _) = issue.begin_call(false);
                return Ok(call.refuse(issue, sequence, ToolCallOutcome::Error, message));
            }
        };

        let (sequence, admission) = issue.begin_call(true);
        if let Admission::BudgetSpent { max_tool_calls } = admission {
            let message = format!(
                "tool call budget spent: this issue may make at most {max_tool_calls} tool calls"
            );
            return Ok(call.refuse(issue, sequence, ToolCallOutcome::Limit, message));
        }

        let timeout = self.shared.config.call_timeout;
        let ran = match tokio::time::timeout(timeout, self.run(issue, target, arguments)).await {
            Ok(ran) => ran,
            Err(_) => failed(format!(
                "tool call timed out after {} ms",
                timeout.as_millis()
            )),
        };
        // Every result, whatever tool it came from, is held to the cap before the agent and the
        // record see it; the tools that stream already stopped at it.
        let (result, cut_here) = cap_call_result(ran.result);
        let is_error = result.is_error == Some(true);
        call.record(
            issue,
            sequence,
            result_text(&result.content),
            is_error,
            ran.capped || cut_here,
            ran.outcome,
            ran.error,
        );
        Ok(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_join_text_blocks() {
        let content = vec![ContentBlock::text("a"), ContentBlock::text("b")];
        assert_eq!(result_text(&content), "a\nb");
    }

    #[test]
    fn oversized_arguments_are_kept_as_cut_text() {
        let mut arguments = JsonObject::new();
        arguments.insert(
            "sql".to_owned(),
            Value::String("x".repeat(RECORD_CAP_BYTES)),
        );
        let (recorded, original) = recorded_arguments(&arguments);
        assert!(original > RECORD_CAP_BYTES);
        match recorded {
            Value::String(cut) => assert_eq!(cut.len(), RECORD_CAP_BYTES),
            other => panic!("expected cut text, got {other}"),
        }
    }

    #[test]
    fn small_arguments_are_kept_whole_with_their_json_size() {
        let mut arguments = JsonObject::new();
        arguments.insert("sql".to_owned(), Value::from("SELECT 'é' AS \"quoted\""));
        let (recorded, bytes) = recorded_arguments(&arguments);
        assert_eq!(recorded, Value::Object(arguments.clone()));
        assert_eq!(
            bytes,
            serde_json::to_string(&arguments).unwrap_or_default().len()
        );
    }

    #[test]
    fn sql_argument_must_be_a_string() {
        let mut arguments = JsonObject::new();
        assert_eq!(
            sql_argument(&arguments),
            Err("missing argument \"sql\"".to_owned())
        );
        arguments.insert("sql".to_owned(), Value::from(3));
        assert!(sql_argument(&arguments).is_err());
    }
}
