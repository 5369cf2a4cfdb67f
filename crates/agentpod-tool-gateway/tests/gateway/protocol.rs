//! Bad requests over raw HTTP: tokens, malformed JSON-RPC, oversized bodies, unknown routes. Each
//! gets a clear error; the ones carrying a live token are recorded; the gateway keeps serving.

use agentpod_tool_gateway::{ToolConfig, ToolGateway, ToolLimits};
use serde_json::{Value, json};

use crate::support::{LocalPostgres, TestResult, call, run_client};

const ACCEPT: &str = "application/json, text/event-stream";

async fn post(url: &str, body: Vec<u8>) -> Result<(u16, Value), Box<dyn std::error::Error>> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let response = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .header("accept", ACCEPT)
        .body(body)
        .send()
        .await?;
    let status = response.status().as_u16();
    let text = response.text().await?;
    Ok((
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    ))
}

fn tools_list() -> Vec<u8> {
    json!({ "jsonrpc": "2.0", "id": 7, "method": "tools/list" })
        .to_string()
        .into_bytes()
}

#[tokio::test]
async fn bad_requests_get_clear_errors_and_the_gateway_keeps_serving() -> TestResult {
    let postgres = LocalPostgres::start().await?;
    let database_url = postgres.create_issue_database("issue_protocol").await?;
    let gateway = ToolGateway::start("127.0.0.1:0".parse()?, ToolConfig::default()).await?;
    let access = gateway.register_issue("issue-protocol", &database_url, ToolLimits::default())?;
    let other = gateway.register_issue("issue-other", &database_url, ToolLimits::default())?;
    let base = format!("http://{}", gateway.local_addr());

    let result: TestResult = async {
        // No token, a wrong token.
        let (status, body) = post(&format!("{base}/i/not-a-token/mcp"), tools_list()).await?;
        assert_eq!(status, 401);
        assert_eq!(body["error"]["type"], json!("unauthorized"));
        let (status, _) = post(&format!("{base}/mcp"), tools_list()).await?;
        assert_eq!(status, 404);
        let (status, body) = post(&format!("{base}/v1/anything"), Vec::new()).await?;
        assert_eq!(status, 404);
        assert_eq!(body["error"]["type"], json!("not_found"));

        // A valid token answers.
        let (status, body) = post(&access.url, tools_list()).await?;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["id"], json!(7));
        assert!(
            body["result"]["tools"]
                .as_array()
                .is_some_and(|tools| tools.len() == 3)
        );

        // Malformed JSON, JSON that is no JSON-RPC message, an oversized body.
        let (status, body) =
            post(&access.url, b"{\"jsonrpc\": \"2.0\", \"id\": 1,".to_vec()).await?;
        assert_eq!(status, 400);
        assert_eq!(body["error"]["code"], json!(-32700));
        let (status, body) = post(
            &access.url,
            br#"{"jsonrpc": "2.0", "id": 9, "methd": 3}"#.to_vec(),
        )
        .await?;
        assert_eq!(status, 400);
        assert_eq!(body["error"]["code"], json!(-32600));
        assert_eq!(body["id"], json!(9));
        let (status, body) = post(&access.url, vec![b' '; 9 * 1024 * 1024]).await?;
        assert_eq!(status, 413);
        assert_eq!(body["error"]["type"], json!("payload_too_large"));

        // Still serving, for the SDK client too.
        let seen = run_client(
            &access.url,
            &json!([call("query", json!({ "sql": "SELECT 1 AS one" }))]),
        )
        .await?;
        assert_eq!(seen["calls"][0]["is_error"], json!(false));
        Ok(())
    }
    .await;

    let record = gateway.finish_issue(&access.token);
    let other_record = gateway.finish_issue(&other.token);
    // A finished issue's token is refused.
    let (finished_status, _) = post(&access.url, tools_list()).await?;
    gateway.shutdown().await;
    result?;
    assert_eq!(finished_status, 401);

    let statuses: Vec<u16> = record
        .rejected_requests
        .iter()
        .map(|rejected| rejected.status)
        .collect();
    assert_eq!(statuses, vec![400, 400, 413]);
    assert!(record.rejected_requests[0].error.starts_with("parse error"));
    assert_eq!(
        record.rejected_requests[0].body,
        "{\"jsonrpc\": \"2.0\", \"id\": 1,"
    );
    assert_eq!(record.rejected_requests[2].body_bytes, 9 * 1024 * 1024);
    assert_eq!(record.calls.len(), 1);
    // The other issue saw none of it.
    assert!(other_record.calls.is_empty() && other_record.rejected_requests.is_empty());
    Ok(())
}

/// `tools/call`, answered by the gateway without rmcp's per-request service, in the shape rmcp
/// gives: a JSON-RPC answer with the request's own id (number or string), the result or the
/// error; a call with headers rmcp refuses still gets rmcp's refusal.
#[tokio::test]
async fn tools_calls_are_answered_in_json_rpc_with_their_own_ids() -> TestResult {
    let postgres = LocalPostgres::start().await?;
    let database_url = postgres.create_issue_database("issue_direct").await?;
    let gateway = ToolGateway::start("127.0.0.1:0".parse()?, ToolConfig::default()).await?;
    let access = gateway.register_issue("issue-direct", &database_url, ToolLimits::default())?;
    let tools_call = |id: Value, name: &str, arguments: Value| {
        json!({ "jsonrpc": "2.0", "id": id, "method": "tools/call",
                "params": { "name": name, "arguments": arguments } })
        .to_string()
        .into_bytes()
    };
    let result: TestResult = async {
        let (status, body) = post(
            &access.url,
            tools_call(json!(11), "query", json!({ "sql": "SELECT 1 AS one" })),
        )
        .await?;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["jsonrpc"], json!("2.0"));
        assert_eq!(body["id"], json!(11));
        assert_eq!(body["result"]["isError"], json!(false));
        let text = body["result"]["content"][0]["text"]
            .as_str()
            .unwrap_or_default();
        let rows: Value = serde_json::from_str(text)?;
        assert_eq!(rows["rows"], json!([{ "one": 1 }]));

        // A string id, and a tool that does not exist: a JSON-RPC error, as rmcp answers it.
        let (status, body) = post(
            &access.url,
            tools_call(json!("call-b"), "no_such_tool", json!({})),
        )
        .await?;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["id"], json!("call-b"));
        assert_eq!(body["error"]["code"], json!(-32602));
        assert_eq!(
            body["error"]["message"],
            json!("unknown tool \"no_such_tool\"")
        );
        assert!(body.get("result").is_none());

        // A client that does not accept event streams gets rmcp's 406, as before.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let refused = reqwest::Client::new()
            .post(&access.url)
            .header("content-type", "application/json")
            .header("accept", "application/json")
            .body(tools_call(json!(12), "query", json!({ "sql": "SELECT 1" })))
            .send()
            .await?;
        assert_eq!(refused.status().as_u16(), 406);
        Ok(())
    }
    .await;
    let record = gateway.finish_issue(&access.token);
    gateway.shutdown().await;
    result?;
    // Both calls that reached a tool are on record, the unknown tool as such; the refused one
    // never ran.
    let tools: Vec<&str> = record.calls.iter().map(|call| call.tool.as_str()).collect();
    assert_eq!(tools, vec!["query", "no_such_tool"]);
    Ok(())
}
