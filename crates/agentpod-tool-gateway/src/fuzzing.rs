//! Entry points for the fuzz targets under `tests/fuzz`: the gateway's own reading of a request
//! before and around rmcp (the token in the path, the JSON-RPC check, a tool call's arguments as
//! recorded and as the database tools read them). rmcp's own parsing is not ours to fuzz. Not
//! part of the crate's interface; hidden from its documentation.

use rmcp::model::JsonObject;
use serde_json::Value;

use crate::request_guard::check_json_rpc;
use agentpod_gateway_http::RECORD_CAP_BYTES;

/// The most bytes a recorded argument set keeps.
pub const RECORD_CAP: usize = RECORD_CAP_BYTES;

/// A JSON-RPC refusal: the id answered with, the error code and the message.
pub type Refusal = (Value, i64, String);

/// What the gateway makes of one POST body.
#[derive(Debug)]
pub struct CheckedRequest {
    /// Why the guard refuses it, if it does.
    pub refusal: Option<Refusal>,
    /// For a tool call with arguments: the arguments as recorded, and their size in bytes.
    pub recorded_arguments: Option<(Value, usize)>,
    /// For a tool call with arguments: the `sql` argument as the database tools read it.
    pub sql: Option<Result<String, String>>,
}

/// The issue token in a request path, as the guard reads it.
pub fn token_of(path: &str) -> Option<&str> {
    crate::request_guard::token_of(path)
}

/// Reads `body` as the guard and the tool call handler do.
pub fn check_request(body: &[u8]) -> CheckedRequest {
    let refusal = check_json_rpc(body)
        .err()
        .map(|refusal| (refusal.id, refusal.code, refusal.message));
    let arguments: Option<JsonObject> = refusal
        .is_none()
        .then(|| serde_json::from_slice::<Value>(body).ok())
        .flatten()
        .and_then(|value| match value.pointer("/params/arguments") {
            Some(Value::Object(arguments)) => Some(arguments.clone()),
            _ => None,
        });
    CheckedRequest {
        refusal,
        recorded_arguments: arguments
            .as_ref()
            .map(crate::mcp_handler::recorded_arguments),
        sql: arguments.as_ref().map(|arguments| {
            crate::mcp_handler::sql_argument(arguments)
                .map(|sql| crate::database_tools::single_statement(sql).to_owned())
        }),
    }
}

/// A SQL identifier quoted as the SQL-function tools quote one.
pub fn quote_identifier(identifier: &str) -> String {
    crate::sql_function_tools::quote_identifier(identifier)
}
