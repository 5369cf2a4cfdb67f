//! Sending a finished run to an OTLP collector.

use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use prost::Message;

use crate::export_report::ExportReport;
use crate::otlp_client::{OtlpClient, traces_url};
use crate::run_trace::RunTrace;
use crate::run_trace_encoder::encode_issue;
use crate::trace_error::TraceError;

/// Per request; one request carries one issue's trace.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Sends the run to `<endpoint>/v1/traces` as OTLP protobuf, one trace (and one request) per
/// issue, and stops at the first request the collector refuses.
pub async fn export_otlp(endpoint: &str, run: &RunTrace) -> Result<ExportReport, TraceError> {
    let url = traces_url(endpoint)?;
    let client = OtlpClient::new(REQUEST_TIMEOUT)?;
    let mut report = ExportReport {
        url: url.clone(),
        traces: 0,
        spans: 0,
        rejected_spans: 0,
    };
    for issue in &run.issues {
        let encoded = encode_issue(run, issue)?;
        let body = client
            .post_protobuf(&url, encoded.request.encode_to_vec())
            .await?;
        // An empty body is a full success; a collector that answers something else than OTLP
        // protobuf is taken at its 2xx word.
        if let Ok(response) = ExportTraceServiceResponse::decode(body)
            && let Some(partial) = response.partial_success
        {
            report.rejected_spans += u64::try_from(partial.rejected_spans).unwrap_or(0);
        }
        report.traces += 1;
        report.spans += encoded.spans;
    }
    Ok(report)
}
