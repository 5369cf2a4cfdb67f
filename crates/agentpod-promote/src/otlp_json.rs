//! An OTLP/JSON trace export (`ExportTraceServiceRequest` in the OTLP JSON encoding:
//! `resourceSpans[].scopeSpans[].spans[]`, lowerCamelCase keys, hex trace and span ids,
//! attributes as `{key, value: {stringValue|intValue|doubleValue|boolValue|arrayValue|kvlistValue}}`)
//! read into plain spans: name, ids, start time and attributes as JSON.

use serde_json::{Map, Value};

use crate::promote_error::PromoteError;

/// One span of the export, with what promotion reads.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceSpan {
    pub trace_id: String,
    pub name: String,
    /// Nanoseconds since the epoch (`startTimeUnixNano`, a string or a number in OTLP/JSON).
    pub start_unix_nano: u64,
    /// The span's attributes, values as JSON (an `intValue`'s text as a number).
    pub attributes: Map<String, Value>,
}

/// Every span of the export, ordered by start time (file order among equal starts).
pub fn read_spans(text: &str) -> Result<Vec<TraceSpan>, PromoteError> {
    let document: Value = serde_json::from_str(text).map_err(|error| PromoteError::Trace {
        problem: format!(
            "not JSON at line {}, column {}: {error}",
            error.line(),
            error.column()
        ),
    })?;
    let resource_spans = document
        .get("resourceSpans")
        .and_then(Value::as_array)
        .ok_or_else(|| PromoteError::Trace {
            problem: "no `resourceSpans` list: not an OTLP/JSON trace export \
                      (ExportTraceServiceRequest)"
                .to_owned(),
        })?;
    let mut spans = Vec::new();
    for resource in resource_spans {
        for scope in array(resource, "scopeSpans") {
            for span in array(scope, "spans") {
                spans.push(TraceSpan {
                    trace_id: text_of(span, "traceId"),
                    name: text_of(span, "name"),
                    start_unix_nano: match &span["startTimeUnixNano"] {
                        Value::String(text) => text.parse().unwrap_or(0),
                        other => other.as_u64().unwrap_or(0),
                    },
                    attributes: attributes(span),
                });
            }
        }
    }
    spans.sort_by_key(|span| span.start_unix_nano);
    Ok(spans)
}

fn array<'a>(value: &'a Value, key: &str) -> &'a [Value] {
    value
        .get(key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

fn text_of(value: &Value, key: &str) -> String {
    value[key].as_str().unwrap_or_default().to_owned()
}

fn attributes(owner: &Value) -> Map<String, Value> {
    array(owner, "attributes")
        .iter()
        .filter_map(|pair| Some((pair["key"].as_str()?.to_owned(), any_value(&pair["value"]))))
        .collect()
}

/// An OTLP `AnyValue` in JSON as plain JSON.
fn any_value(value: &Value) -> Value {
    if let Some(text) = value.get("stringValue") {
        return text.clone();
    }
    if let Some(flag) = value.get("boolValue") {
        return flag.clone();
    }
    if let Some(number) = value.get("intValue") {
        // int64 is a string in OTLP/JSON (a number is accepted too).
        return match number {
            Value::String(text) => text.parse::<i64>().map(Value::from).unwrap_or(Value::Null),
            other => other.clone(),
        };
    }
    if let Some(number) = value.get("doubleValue") {
        return number.clone();
    }
    if let Some(list) = value.get("arrayValue") {
        return Value::Array(array(list, "values").iter().map(any_value).collect());
    }
    if let Some(list) = value.get("kvlistValue") {
        return Value::Object(attributes(
            &serde_json::json!({"attributes": list["values"]}),
        ));
    }
    if let Some(bytes) = value.get("bytesValue") {
        return bytes.clone();
    }
    Value::Null
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn spans_are_read_with_their_attributes_in_start_order() {
        let export = json!({"resourceSpans": [{"scopeSpans": [{"spans": [
            {"traceId": "0af7651916cd43dd8448eb211c80319c", "name": "second", "startTimeUnixNano": "20",
             "attributes": [{"key": "n", "value": {"intValue": "7"}},
                            {"key": "list", "value": {"arrayValue": {"values": [{"stringValue": "a"}]}}}]},
            {"traceId": "0af7651916cd43dd8448eb211c80319c", "name": "first", "startTimeUnixNano": 10,
             "attributes": [{"key": "s", "value": {"stringValue": "x"}},
                            {"key": "b", "value": {"boolValue": true}},
                            {"key": "d", "value": {"doubleValue": 1.5}}]}
        ]}]}]});
        let spans = read_spans(&export.to_string()).unwrap();
        assert_eq!(spans[0].name, "first");
        assert_eq!(
            spans[0].attributes,
            json!({"s": "x", "b": true, "d": 1.5})
                .as_object()
                .cloned()
                .unwrap()
        );
        assert_eq!(
            spans[1].attributes,
            json!({"n": 7, "list": ["a"]}).as_object().cloned().unwrap()
        );
    }

    #[test]
    fn a_file_that_is_no_export_says_so() {
        let error = read_spans("{\"spans\": []}").unwrap_err();
        assert!(error.to_string().contains("no `resourceSpans`"), "{error}");
        let error = read_spans("{\n oops").unwrap_err();
        assert!(error.to_string().contains("line 2"), "{error}");
    }
}
