//! OTLP attribute values to JSON and back: the store keeps attributes as JSON so they read as
//! data, and the export turns them back into OTLP values.

use std::collections::BTreeMap;

use opentelemetry_proto::tonic::common::v1::{
    AnyValue, ArrayValue, KeyValue, KeyValueList, any_value::Value,
};

use crate::capped_text::cap_text;

/// Converts OTLP key-values into a JSON object, cutting long strings to `cap` bytes; the keys
/// that were cut are reported in `truncated` with their original size.
pub(crate) fn attributes_to_json(
    attributes: Vec<KeyValue>,
    cap: usize,
    truncated: &mut BTreeMap<String, usize>,
) -> serde_json::Map<String, serde_json::Value> {
    let mut map = serde_json::Map::with_capacity(attributes.len());
    for key_value in attributes {
        let value = match key_value.value.and_then(|any| any.value) {
            Some(Value::StringValue(mut text)) => {
                if let Some(original) = cap_text(&mut text, cap) {
                    truncated.insert(key_value.key.clone(), original);
                }
                serde_json::Value::String(text)
            }
            other => value_to_json(other),
        };
        map.insert(key_value.key, value);
    }
    map
}

fn value_to_json(value: Option<Value>) -> serde_json::Value {
    match value {
        None | Some(Value::StringValueStrindex(_)) => serde_json::Value::Null,
        Some(Value::StringValue(text)) => serde_json::Value::String(text),
        Some(Value::BoolValue(flag)) => serde_json::Value::Bool(flag),
        Some(Value::IntValue(number)) => serde_json::Value::from(number),
        // JSON has no NaN or infinity; such a value becomes null rather than failing the span.
        Some(Value::DoubleValue(number)) => serde_json::Number::from_f64(number)
            .map(serde_json::Value::Number)
            .unwrap_or(serde_json::Value::Null),
        Some(Value::ArrayValue(array)) => serde_json::Value::Array(
            array
                .values
                .into_iter()
                .map(|item| value_to_json(item.value))
                .collect(),
        ),
        Some(Value::KvlistValue(list)) => serde_json::Value::Object(
            list.values
                .into_iter()
                .map(|pair| {
                    (
                        pair.key,
                        value_to_json(pair.value.and_then(|any| any.value)),
                    )
                })
                .collect(),
        ),
        Some(Value::BytesValue(bytes)) => serde_json::Value::String(hex_encode(&bytes)),
    }
}

/// Converts a JSON object back into OTLP key-values.
pub(crate) fn json_to_attributes(
    map: &serde_json::Map<String, serde_json::Value>,
) -> Vec<KeyValue> {
    map.iter()
        .map(|(key, value)| key_value(key, json_to_value(value)))
        .collect()
}

pub(crate) fn json_to_value(value: &serde_json::Value) -> AnyValue {
    let value = match value {
        serde_json::Value::Null => None,
        serde_json::Value::Bool(flag) => Some(Value::BoolValue(*flag)),
        serde_json::Value::Number(number) => Some(match number.as_i64() {
            Some(integer) => Value::IntValue(integer),
            None => Value::DoubleValue(number.as_f64().unwrap_or(f64::NAN)),
        }),
        serde_json::Value::String(text) => Some(Value::StringValue(text.clone())),
        serde_json::Value::Array(items) => Some(Value::ArrayValue(ArrayValue {
            values: items.iter().map(json_to_value).collect(),
        })),
        serde_json::Value::Object(map) => Some(Value::KvlistValue(KeyValueList {
            values: json_to_attributes(map),
        })),
    };
    AnyValue { value }
}

pub(crate) fn key_value(key: &str, value: AnyValue) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(value),
        key_strindex: 0,
    }
}

pub(crate) fn string_attribute(key: &str, text: impl Into<String>) -> KeyValue {
    key_value(
        key,
        AnyValue {
            value: Some(Value::StringValue(text.into())),
        },
    )
}

pub(crate) fn int_attribute(key: &str, number: i64) -> KeyValue {
    key_value(
        key,
        AnyValue {
            value: Some(Value::IntValue(number)),
        },
    )
}

pub(crate) fn double_attribute(key: &str, number: f64) -> KeyValue {
    key_value(
        key,
        AnyValue {
            value: Some(Value::DoubleValue(number)),
        },
    )
}

pub(crate) fn bool_attribute(key: &str, flag: bool) -> KeyValue {
    key_value(
        key,
        AnyValue {
            value: Some(Value::BoolValue(flag)),
        },
    )
}

pub(crate) fn string_array_attribute(key: &str, items: &[String]) -> KeyValue {
    key_value(
        key,
        AnyValue {
            value: Some(Value::ArrayValue(ArrayValue {
                values: items
                    .iter()
                    .map(|item| AnyValue {
                        value: Some(Value::StringValue(item.clone())),
                    })
                    .collect(),
            })),
        },
    )
}

pub(crate) fn hex_encode(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        let _ = write!(text, "{byte:02x}");
    }
    text
}

/// Decodes lowercase or uppercase hex; `None` for odd lengths or other characters.
pub(crate) fn hex_decode(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|index| u8::from_str_radix(text.get(index..index + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_attributes_survive_a_round_trip_through_otlp() {
        let original = json!({
            "text": "hello",
            "count": 3,
            "ratio": 0.25,
            "flag": true,
            "list": ["a", "b"],
            "nested": {"inner": 1},
        });
        let serde_json::Value::Object(map) = original else {
            panic!("the literal is an object");
        };
        let mut truncated = BTreeMap::new();
        let back = attributes_to_json(json_to_attributes(&map), 1024, &mut truncated);
        assert_eq!(back, map);
        assert!(truncated.is_empty());
    }

    #[test]
    fn long_string_attributes_are_cut_and_reported() {
        let attributes = vec![string_attribute("body", "x".repeat(100))];
        let mut truncated = BTreeMap::new();
        let map = attributes_to_json(attributes, 10, &mut truncated);
        assert_eq!(map["body"], json!("x".repeat(10)));
        assert_eq!(truncated.get("body"), Some(&100));
    }

    #[test]
    fn hex_round_trips_and_rejects_garbage() {
        let bytes = [0x00, 0xab, 0xff, 0x10];
        assert_eq!(hex_encode(&bytes), "00abff10");
        assert_eq!(hex_decode("00abff10"), Some(bytes.to_vec()));
        assert_eq!(hex_decode("00ABFF10"), Some(bytes.to_vec()));
        assert_eq!(hex_decode("abc"), None);
        assert_eq!(hex_decode("zz"), None);
    }
}
