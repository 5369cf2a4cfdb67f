//! What an agent gets to reach the trace intake for one issue.

/// The issue's token and the endpoint built from it, ready for the agent's environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueAccess {
    pub issue_id: String,
    pub token: String,
    /// `http://<addr>/i/<token>`: OTLP SDKs append `/v1/traces` themselves.
    pub endpoint: String,
}

impl IssueAccess {
    /// The variables the agent contract names for the trace intake.
    pub fn environment(&self) -> Vec<(String, String)> {
        vec![
            (
                "OTEL_EXPORTER_OTLP_ENDPOINT".to_owned(),
                self.endpoint.clone(),
            ),
            (
                "OTEL_EXPORTER_OTLP_PROTOCOL".to_owned(),
                "http/protobuf".to_owned(),
            ),
        ]
    }
}
