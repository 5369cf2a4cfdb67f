//! The honest baseline for the support-triage demo: fixed keyword rules plus a few SQL queries;
//! its decisions use no model (it asks one only for a summary line). Any agent under test
//! should beat it.
//!
//! Contract: reads the issue from the JSON file at `AGENTPOD_ISSUE`; reads and writes the
//! issue's own database through the pod's tool gateway (`AGENTPOD_MCP_URL`, MCP tools `query`
//! and `execute`) or, without one, straight at `DATABASE_URL`; asks the model behind
//! `OPENAI_BASE_URL` (the pod's LLM gateway; the offline stand-in in the demo) for a one-line
//! summary for its note — its decisions stay rules; records its triage on the ticket; and writes
//! `{"category", "priority", "refund_eligible", "note"}` to `AGENTPOD_OUTPUT`. Errors go to
//! stderr with a non-zero exit code.

mod database;
mod facts;
mod mcp_client;
mod model_client;
mod rules;

use database::{Database, DatabaseError};

use std::process::ExitCode;

#[derive(Debug, thiserror::Error)]
enum BaselineError {
    #[error("environment variable {0} is not set")]
    MissingVariable(&'static str),
    #[error("cannot read issue file {path}: {source}")]
    ReadIssue {
        path: String,
        source: std::io::Error,
    },
    #[error("issue is not valid JSON: {0}")]
    ParseIssue(serde_json::Error),
    #[error("issue has no `{0}` field")]
    MissingField(&'static str),
    #[error("cannot query the database: {0}")]
    Database(#[from] DatabaseError),
    #[error("cannot connect to the database: {0}")]
    Connect(#[from] sqlx::Error),
    #[error("cannot reach the tool gateway: {0}")]
    Tools(#[from] mcp_client::McpError),
    #[error("cannot write output file {path}: {source}")]
    WriteOutput {
        path: String,
        source: std::io::Error,
    },
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("baseline-agent: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), BaselineError> {
    // reqwest (the tool gateway's MCP client and the model call) is built without a bundled
    // crypto provider; ring serves an https gateway or model.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let issue_path = variable("AGENTPOD_ISSUE")?;
    let output_path = variable("AGENTPOD_OUTPUT")?;
    let database_url = variable("DATABASE_URL")?;

    let issue_text =
        std::fs::read_to_string(&issue_path).map_err(|source| BaselineError::ReadIssue {
            path: issue_path.clone(),
            source,
        })?;
    let issue: serde_json::Value =
        serde_json::from_str(&issue_text).map_err(BaselineError::ParseIssue)?;
    let field = |name: &'static str| issue.get(name).ok_or(BaselineError::MissingField(name));
    let ticket_id = field("ticket_id")?
        .as_i64()
        .and_then(|id| i32::try_from(id).ok())
        .ok_or(BaselineError::MissingField("ticket_id"))?;
    let text = format!(
        "{}\n{}",
        field("subject")?.as_str().unwrap_or_default(),
        field("body")?.as_str().unwrap_or_default()
    );
    let email = field("customer_email")?.as_str().unwrap_or_default();

    let mut database = match std::env::var("AGENTPOD_MCP_URL") {
        Ok(url) => Database::Tools(mcp_client::McpClient::connect(&url).await?),
        Err(_) => Database::Direct(
            sqlx::postgres::PgPoolOptions::new()
                .max_connections(1)
                .connect(&database_url)
                .await?,
        ),
    };
    let facts = facts::TicketFacts::query(&mut database, ticket_id, email).await?;
    let triage = rules::Triage::decide(&text, &facts);
    let mut note = triage.explanation.clone();
    if let (Ok(base_url), Ok(api_key)) = (
        std::env::var("OPENAI_BASE_URL"),
        std::env::var("OPENAI_API_KEY"),
    ) {
        let model =
            std::env::var("BASELINE_MODEL").unwrap_or_else(|_| "agentpod-stand-in".to_string());
        if let Some(summary) = model_client::summarize(&base_url, &api_key, &model, &text).await {
            note = format!("{note}; summary: {summary}");
        }
    }
    // Recording the triage is part of the job, but the answer stands even where the database
    // refuses the write (the pod's boundary may make tickets read-only).
    if let Err(error) = facts::record(&mut database, ticket_id, &triage, &note).await {
        eprintln!("baseline-agent: cannot record triage on ticket {ticket_id}: {error}");
        note.push_str("; triage not recorded in the database");
    }
    for action in facts::act(&mut database, &text, &triage, &facts).await {
        note.push_str("; ");
        note.push_str(&action);
    }
    database.close().await;

    let answer = serde_json::json!({
        "category": triage.category,
        "priority": triage.priority,
        "refund_eligible": triage.refund_eligible,
        "note": note,
    });
    std::fs::write(&output_path, format!("{answer}\n")).map_err(|source| {
        BaselineError::WriteOutput {
            path: output_path.clone(),
            source,
        }
    })
}

fn variable(name: &'static str) -> Result<String, BaselineError> {
    std::env::var(name).map_err(|_| BaselineError::MissingVariable(name))
}
