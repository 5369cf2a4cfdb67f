//! A run as OTLP: one trace per issue, following the OpenTelemetry GenAI semantic conventions.
//!
//! Each issue's trace has a root `invoke_agent <spec>` span covering the issue's time window;
//! under it a `chat <model>` span per model call, an `execute_tool <tool>` span per tool call,
//! and the agent's own spans, re-parented so that their roots hang under the root span.
//! Attributes the conventions do not cover (cost, outcome, bodies) use the `agentpod.` prefix.

use std::collections::HashSet;

use agentpod_store::{Span, SpanKind, SpanStatusCode};
use chrono::{DateTime, Duration, Utc};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{
    ResourceSpans, ScopeSpans, Span as OtlpSpan, Status, span::Event,
};

use crate::attribute_value::{
    bool_attribute, double_attribute, hex_decode, int_attribute, json_to_attributes,
    string_array_attribute, string_attribute,
};
use crate::otlp_number::OtlpNumber;
use crate::run_trace::{IssueTrace, LlmCallTrace, RunTrace, ToolCallTrace};
use crate::trace_error::TraceError;

const SCOPE_NAME: &str = "agentpod";

/// The OTLP message for one issue's trace, and how many spans it holds.
pub(crate) struct EncodedIssue {
    pub(crate) request: ExportTraceServiceRequest,
    pub(crate) spans: usize,
}

pub(crate) fn encode_issue(run: &RunTrace, issue: &IssueTrace) -> Result<EncodedIssue, TraceError> {
    let trace_id = random_id::<16>();
    let root_id = random_id::<8>();
    let mut own_spans = vec![root_span(run, issue, &trace_id, &root_id)];
    for call in &issue.llm_calls {
        own_spans.push(chat_span(call, &trace_id, &root_id));
    }
    for call in &issue.tool_calls {
        own_spans.push(tool_span(call, &trace_id, &root_id));
    }
    let mut spans = own_spans.len();
    let mut resource_spans = vec![ResourceSpans {
        resource: Some(Resource {
            attributes: vec![
                string_attribute("service.name", "agentpod"),
                string_attribute("agentpod.run.id", run.run_id.clone()),
                string_attribute("agentpod.spec", run.spec.clone()),
                string_attribute("agentpod.agent.version", run.agent_version.clone()),
            ],
            ..Resource::default()
        }),
        scope_spans: vec![ScopeSpans {
            scope: Some(InstrumentationScope {
                name: SCOPE_NAME.to_owned(),
                version: env!("CARGO_PKG_VERSION").to_owned(),
                ..InstrumentationScope::default()
            }),
            spans: own_spans,
            schema_url: String::new(),
        }],
        schema_url: String::new(),
    }];
    let agent = agent_resource_spans(issue, &trace_id, &root_id)?;
    spans += agent
        .iter()
        .flat_map(|resource| &resource.scope_spans)
        .map(|scope| scope.spans.len())
        .sum::<usize>();
    resource_spans.extend(agent);
    Ok(EncodedIssue {
        request: ExportTraceServiceRequest { resource_spans },
        spans,
    })
}

fn root_span(run: &RunTrace, issue: &IssueTrace, trace_id: &[u8], root_id: &[u8]) -> OtlpSpan {
    let mut attributes = vec![
        string_attribute("gen_ai.operation.name", "invoke_agent"),
        string_attribute("gen_ai.agent.name", run.spec.clone()),
        string_attribute(
            "gen_ai.agent.id",
            format!("{}/{}", run.spec, run.agent_version),
        ),
        string_attribute("gen_ai.agent.version", run.agent_version.clone()),
        // One conversation per trial: a later trial of the issue is `run/issue/trial`.
        string_attribute(
            "gen_ai.conversation.id",
            if issue.trial > 1 {
                format!("{}/{}/{}", run.run_id, issue.issue_id, issue.trial)
            } else {
                format!("{}/{}", run.run_id, issue.issue_id)
            },
        ),
        int_attribute(
            "gen_ai.usage.input_tokens",
            saturating_i64(saturating_sum(
                issue.llm_calls.iter().map(|call| call.input_tokens),
            )),
        ),
        int_attribute(
            "gen_ai.usage.output_tokens",
            saturating_i64(saturating_sum(
                issue.llm_calls.iter().map(|call| call.output_tokens),
            )),
        ),
        string_attribute("agentpod.run.id", run.run_id.clone()),
        string_attribute("agentpod.issue.id", issue.issue_id.clone()),
        int_attribute("agentpod.issue.trial", i64::from(issue.trial)),
        string_attribute("agentpod.issue.outcome", issue.outcome.clone()),
        int_attribute(
            "agentpod.llm_calls",
            saturating_i64(issue.llm_calls.len() as u64),
        ),
        int_attribute(
            "agentpod.tool_calls",
            saturating_i64(issue.tool_calls.len() as u64),
        ),
        double_attribute(
            "agentpod.cost_usd",
            issue
                .llm_calls
                .iter()
                .filter_map(|call| call.cost_usd)
                .sum(),
        ),
        bool_attribute(
            "agentpod.cost_complete",
            issue.llm_calls.iter().all(|call| call.cost_usd.is_some()),
        ),
    ];
    // The conventions put one provider and model on the agent span; name them only when the
    // issue used exactly one.
    if let Some(provider) = single_value(issue.llm_calls.iter().map(|call| &call.provider)) {
        attributes.push(string_attribute("gen_ai.provider.name", provider.clone()));
    }
    if let Some(model) = single_value(issue.llm_calls.iter().map(|call| &call.model)) {
        attributes.push(string_attribute("gen_ai.request.model", model.clone()));
    }
    if issue.error.is_some() {
        attributes.push(string_attribute("error.type", issue.outcome.clone()));
    }
    OtlpSpan {
        trace_id: trace_id.to_vec(),
        span_id: root_id.to_vec(),
        name: format!("invoke_agent {}", run.spec),
        kind: SpanKind::Internal.to_otlp(),
        start_time_unix_nano: unix_nanos(issue.started_at),
        end_time_unix_nano: unix_nanos(issue.ended_at),
        attributes,
        status: status(issue.error.as_deref()),
        ..OtlpSpan::default()
    }
}

fn chat_span(call: &LlmCallTrace, trace_id: &[u8], root_id: &[u8]) -> OtlpSpan {
    let mut attributes = vec![
        string_attribute("gen_ai.operation.name", "chat"),
        string_attribute("gen_ai.provider.name", call.provider.clone()),
        // Older backends still key on the deprecated `gen_ai.system`.
        string_attribute("gen_ai.system", call.provider.clone()),
        string_attribute("gen_ai.request.model", call.model.clone()),
        int_attribute(
            "gen_ai.usage.input_tokens",
            saturating_i64(call.input_tokens),
        ),
        int_attribute(
            "gen_ai.usage.output_tokens",
            saturating_i64(call.output_tokens),
        ),
        int_attribute(
            "gen_ai.usage.cache_read.input_tokens",
            saturating_i64(call.cached_input_tokens),
        ),
        int_attribute(
            "gen_ai.usage.reasoning.output_tokens",
            saturating_i64(call.reasoning_tokens),
        ),
        string_attribute("agentpod.llm.api", call.api.clone()),
        bool_attribute("agentpod.llm.streamed", call.streamed),
        string_attribute("agentpod.outcome", call.outcome.clone()),
    ];
    if let Some(model) = &call.response_model {
        attributes.push(string_attribute("gen_ai.response.model", model.clone()));
    }
    if let Some(id) = &call.response_id {
        attributes.push(string_attribute("gen_ai.response.id", id.clone()));
    }
    if !call.finish_reasons.is_empty() {
        attributes.push(string_array_attribute(
            "gen_ai.response.finish_reasons",
            &call.finish_reasons,
        ));
    }
    match call.cost_usd {
        Some(cost) => attributes.push(double_attribute("agentpod.cost_usd", cost)),
        None => attributes.push(bool_attribute("agentpod.price_unknown", true)),
    }
    if let Some(request) = &call.request {
        attributes.push(string_attribute("agentpod.llm.request", request.clone()));
    }
    if let Some(response) = &call.response {
        attributes.push(string_attribute("agentpod.llm.response", response.clone()));
    }
    if call.error.is_some() {
        attributes.push(string_attribute("error.type", call.outcome.clone()));
    }
    timed_child(
        trace_id,
        root_id,
        format!("chat {}", call.model),
        SpanKind::Client,
        call.started_at,
        call.latency_ms,
        attributes,
        status(call.error.as_deref()),
    )
}

fn tool_span(call: &ToolCallTrace, trace_id: &[u8], root_id: &[u8]) -> OtlpSpan {
    let mut attributes = vec![
        string_attribute("gen_ai.operation.name", "execute_tool"),
        string_attribute("gen_ai.tool.name", call.tool.clone()),
        string_attribute("gen_ai.tool.call.arguments", call.arguments.clone()),
        string_attribute("agentpod.outcome", call.outcome.clone()),
    ];
    if let Some(result) = &call.result {
        attributes.push(string_attribute("gen_ai.tool.call.result", result.clone()));
    }
    if let Some(id) = &call.call_id {
        attributes.push(string_attribute("gen_ai.tool.call.id", id.clone()));
    }
    if let Some(server) = &call.server {
        attributes.push(string_attribute("agentpod.tool.server", server.clone()));
    }
    if let Some(decision) = &call.boundary_decision {
        attributes.push(string_attribute(
            "agentpod.boundary.decision",
            decision.clone(),
        ));
    }
    if call.error.is_some() {
        attributes.push(string_attribute("error.type", call.outcome.clone()));
    }
    timed_child(
        trace_id,
        root_id,
        format!("execute_tool {}", call.tool),
        SpanKind::Internal,
        call.started_at,
        call.latency_ms,
        attributes,
        status(call.error.as_deref()),
    )
}

#[allow(clippy::too_many_arguments)]
fn timed_child(
    trace_id: &[u8],
    parent_id: &[u8],
    name: String,
    kind: SpanKind,
    started_at: DateTime<Utc>,
    latency_ms: f64,
    attributes: Vec<KeyValue>,
    status: Option<Status>,
) -> OtlpSpan {
    let latency_nanos = (latency_ms.max(0.0) * 1_000_000.0).round() as i64;
    let ended_at = started_at + Duration::nanoseconds(latency_nanos);
    OtlpSpan {
        trace_id: trace_id.to_vec(),
        span_id: random_id::<8>().to_vec(),
        parent_span_id: parent_id.to_vec(),
        name,
        kind: kind.to_otlp(),
        start_time_unix_nano: unix_nanos(started_at),
        end_time_unix_nano: unix_nanos(ended_at),
        attributes,
        status,
        ..OtlpSpan::default()
    }
}

/// The agent's spans, moved into the issue's trace and grouped by the resource that made them.
/// A span whose parent is not among them (a root, or a parent from elsewhere) hangs under the
/// issue's root span.
fn agent_resource_spans(
    issue: &IssueTrace,
    trace_id: &[u8],
    root_id: &[u8],
) -> Result<Vec<ResourceSpans>, TraceError> {
    let known: HashSet<&str> = issue
        .agent_spans
        .iter()
        .map(|span| span.span_id.as_str())
        .collect();
    // Identical resources share one entry, in first-seen order.
    let mut groups: Vec<(&serde_json::Map<String, serde_json::Value>, Vec<ScopeSpans>)> =
        Vec::new();
    for span in &issue.agent_spans {
        let otlp = agent_span(issue, span, trace_id, root_id, &known)?;
        let index = match groups
            .iter()
            .position(|(resource, _)| *resource == &span.resource_attributes)
        {
            Some(index) => index,
            None => {
                groups.push((&span.resource_attributes, Vec::new()));
                groups.len() - 1
            }
        };
        let scopes = &mut groups[index].1;
        let scope_name = span.scope.clone().unwrap_or_default();
        match scopes.iter_mut().find(|existing| {
            existing.scope.as_ref().map(|scope| scope.name.as_str()) == Some(scope_name.as_str())
        }) {
            Some(existing) => existing.spans.push(otlp),
            None => scopes.push(ScopeSpans {
                scope: Some(InstrumentationScope {
                    name: scope_name,
                    ..InstrumentationScope::default()
                }),
                spans: vec![otlp],
                schema_url: String::new(),
            }),
        }
    }
    Ok(groups
        .into_iter()
        .map(|(resource, scope_spans)| ResourceSpans {
            resource: Some(Resource {
                attributes: json_to_attributes(resource),
                ..Resource::default()
            }),
            scope_spans,
            schema_url: String::new(),
        })
        .collect())
}

fn agent_span(
    issue: &IssueTrace,
    span: &Span,
    trace_id: &[u8],
    root_id: &[u8],
    known: &HashSet<&str>,
) -> Result<OtlpSpan, TraceError> {
    let invalid = |field: &'static str, value: &str| TraceError::InvalidSpan {
        issue_id: issue.issue_id.clone(),
        field,
        value: value.to_owned(),
    };
    let span_id = hex_decode(&span.span_id)
        .filter(|bytes| bytes.len() == 8)
        .ok_or_else(|| invalid("span_id", &span.span_id))?;
    let parent_span_id = match &span.parent_span_id {
        Some(parent) if known.contains(parent.as_str()) => hex_decode(parent)
            .filter(|bytes| bytes.len() == 8)
            .ok_or_else(|| invalid("parent_span_id", parent))?,
        _ => root_id.to_vec(),
    };
    let start = parse_time(&span.start).ok_or_else(|| invalid("start", &span.start))?;
    let end = parse_time(&span.end).ok_or_else(|| invalid("end", &span.end))?;
    let events = span
        .events
        .iter()
        .map(|event| {
            Ok(Event {
                time_unix_nano: unix_nanos(
                    parse_time(&event.time).ok_or_else(|| invalid("event time", &event.time))?,
                ),
                name: event.name.clone(),
                attributes: json_to_attributes(&event.attributes),
                dropped_attributes_count: 0,
            })
        })
        .collect::<Result<Vec<_>, TraceError>>()?;
    Ok(OtlpSpan {
        trace_id: trace_id.to_vec(),
        span_id,
        parent_span_id,
        name: span.name.clone(),
        kind: span.kind.to_otlp(),
        start_time_unix_nano: unix_nanos(start),
        end_time_unix_nano: unix_nanos(end),
        attributes: json_to_attributes(&span.attributes),
        events,
        status: Some(Status {
            code: span.status.code.to_otlp(),
            message: span.status.message.clone().unwrap_or_default(),
        })
        .filter(|status| status.code != SpanStatusCode::Unset.to_otlp()),
        ..OtlpSpan::default()
    })
}

fn status(error: Option<&str>) -> Option<Status> {
    error.map(|message| Status {
        code: SpanStatusCode::Error.to_otlp(),
        message: message.to_owned(),
    })
}

fn single_value<'a>(mut values: impl Iterator<Item = &'a String>) -> Option<&'a String> {
    let first = values.next()?;
    values.all(|value| value == first).then_some(first)
}

fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|time| time.with_timezone(&Utc))
}

fn unix_nanos(time: DateTime<Utc>) -> u64 {
    time.timestamp_nanos_opt()
        .and_then(|nanos| u64::try_from(nanos).ok())
        .unwrap_or(0)
}

fn saturating_i64(number: u64) -> i64 {
    i64::try_from(number).unwrap_or(i64::MAX)
}

/// A random id that is never all zeros, which OTLP reads as "no id".
fn random_id<const LENGTH: usize>() -> [u8; LENGTH] {
    loop {
        let id: [u8; LENGTH] = rand::random();
        if id.iter().any(|byte| *byte != 0) {
            return id;
        }
    }
}

/// Token counts are the upstream's, and an upstream can say anything: sums saturate.
fn saturating_sum(counts: impl Iterator<Item = u64>) -> u64 {
    counts.fold(0, u64::saturating_add)
}

#[cfg(test)]
mod tests {
    use super::*;
    use agentpod_store::SpanStatus;
    use chrono::TimeZone;
    use opentelemetry_proto::tonic::common::v1::any_value::Value;

    fn time(second: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, second).unwrap()
    }

    fn agent_span(span_id: &str, parent: Option<&str>) -> Span {
        Span {
            trace_id: "ab".repeat(16),
            span_id: span_id.to_owned(),
            parent_span_id: parent.map(str::to_owned),
            name: format!("agent {span_id}"),
            kind: SpanKind::Internal,
            start: "2026-01-02T03:04:01.000000000Z".to_owned(),
            end: "2026-01-02T03:04:02.000000000Z".to_owned(),
            duration_ms: 1000.0,
            attributes: serde_json::Map::new(),
            events: Vec::new(),
            status: SpanStatus::unset(),
            resource_attributes: serde_json::Map::new(),
            scope: Some("agent".to_owned()),
            truncated_attributes: Default::default(),
        }
    }

    fn issue(agent_spans: Vec<Span>, error: Option<&str>) -> IssueTrace {
        IssueTrace {
            issue_id: "issue-7".to_owned(),
            trial: 1,
            started_at: time(0),
            ended_at: time(9),
            outcome: if error.is_some() { "error" } else { "passed" }.to_owned(),
            error: error.map(str::to_owned),
            llm_calls: Vec::new(),
            tool_calls: Vec::new(),
            agent_spans,
        }
    }

    fn run(issue: IssueTrace) -> RunTrace {
        RunTrace {
            run_id: "run-1".to_owned(),
            spec: "support".to_owned(),
            agent_version: "v2".to_owned(),
            issues: vec![issue],
        }
    }

    fn all_spans(request: &ExportTraceServiceRequest) -> Vec<&OtlpSpan> {
        request
            .resource_spans
            .iter()
            .flat_map(|resource| &resource.scope_spans)
            .flat_map(|scope| &scope.spans)
            .collect()
    }

    fn string_of<'a>(span: &'a OtlpSpan, key: &str) -> Option<&'a str> {
        span.attributes
            .iter()
            .find(|pair| pair.key == key)
            .and_then(|pair| match pair.value.as_ref()?.value.as_ref()? {
                Value::StringValue(text) => Some(text.as_str()),
                _ => None,
            })
    }

    #[test]
    fn agent_roots_and_foreign_parents_hang_under_the_root_span() {
        let spans = vec![
            agent_span("0000000000000001", None),
            agent_span("0000000000000002", Some("0000000000000001")),
            agent_span("0000000000000003", Some("00000000000000ff")),
        ];
        let run = run(issue(spans, None));
        let encoded = encode_issue(&run, &run.issues[0]).unwrap();
        let spans = all_spans(&encoded.request);
        assert_eq!(encoded.spans, 4);
        let root = spans[0];
        assert_eq!(root.name, "invoke_agent support");
        assert!(root.parent_span_id.is_empty());
        assert!(root.status.is_none());
        let parent_of = |id: u8| {
            spans
                .iter()
                .find(|span| span.span_id == [0, 0, 0, 0, 0, 0, 0, id])
                .unwrap()
                .parent_span_id
                .clone()
        };
        assert_eq!(parent_of(1), root.span_id);
        assert_eq!(parent_of(2), vec![0, 0, 0, 0, 0, 0, 0, 1]);
        assert_eq!(parent_of(3), root.span_id);
        assert!(spans.iter().all(|span| span.trace_id == root.trace_id));
    }

    #[test]
    fn an_issue_that_ended_in_error_gives_an_error_root() {
        let run = run(issue(Vec::new(), Some("agent exited with status 3")));
        let encoded = encode_issue(&run, &run.issues[0]).unwrap();
        let root = all_spans(&encoded.request)[0];
        let status = root.status.as_ref().unwrap();
        assert_eq!(status.code, SpanStatusCode::Error.to_otlp());
        assert_eq!(status.message, "agent exited with status 3");
        assert_eq!(string_of(root, "error.type"), Some("error"));
    }

    #[test]
    fn each_trial_of_an_issue_is_its_own_conversation_and_says_which_trial() {
        let mut second = issue(Vec::new(), None);
        second.trial = 2;
        let run = run(second);
        let encoded = encode_issue(&run, &run.issues[0]).unwrap();
        let root = all_spans(&encoded.request)[0];
        let conversation = string_of(root, "gen_ai.conversation.id").unwrap();
        assert!(conversation.ends_with("/issue-7/2"), "{conversation}");
        let trial = root
            .attributes
            .iter()
            .find(|attribute| attribute.key == "agentpod.issue.trial")
            .and_then(|attribute| attribute.value.as_ref()?.value.clone());
        assert_eq!(trial, Some(Value::IntValue(2)));
    }

    #[test]
    fn a_stored_span_with_a_bad_id_is_reported_not_sent() {
        let run = run(issue(vec![agent_span("not-hex", None)], None));
        let error = encode_issue(&run, &run.issues[0]).err().unwrap();
        assert!(matches!(
            error,
            TraceError::InvalidSpan {
                field: "span_id",
                ..
            }
        ));
    }

    #[test]
    fn the_provider_and_model_are_named_on_the_root_only_when_single() {
        assert_eq!(
            single_value(["a".to_owned(), "a".to_owned()].iter()),
            Some(&"a".to_owned())
        );
        assert_eq!(single_value(["a".to_owned(), "b".to_owned()].iter()), None);
        assert_eq!(single_value(std::iter::empty()), None);
    }
}
