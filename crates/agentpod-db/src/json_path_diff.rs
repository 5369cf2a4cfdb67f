//! Two JSON documents (a `json`/`jsonb` value as the snapshot reads it) compared path by path:
//! `data.exchange_price_difference -16.63 → -17.02`, `items[2] (absent) → {"id":7}`, rather than
//! the whole document twice. Only the display uses this; snapshots keep the text as read.

use serde_json::Value;

/// The most changed paths one column lists; the rest are counted.
const LISTED_PATHS: usize = 10;

/// The changes from `expected` to `actual` under `column`, one `path old → new` per changed
/// leaf (objects by key, arrays by index), when both texts are JSON objects or arrays; `None`
/// otherwise, so scalars and plain text keep their usual display.
pub(crate) fn json_path_changes(column: &str, expected: &str, actual: &str) -> Option<Vec<String>> {
    let expected = parse_document(expected)?;
    let actual = parse_document(actual)?;
    let mut changes = Vec::new();
    collect_changes(
        column.to_owned(),
        Some(&expected),
        Some(&actual),
        &mut changes,
    );
    let total = changes.len();
    if total > LISTED_PATHS {
        changes.truncate(LISTED_PATHS);
        changes.push(format!(
            "… and {} more paths in {column}",
            total - LISTED_PATHS
        ));
    }
    Some(changes)
}

fn parse_document(text: &str) -> Option<Value> {
    match serde_json::from_str(text).ok()? {
        document @ (Value::Object(_) | Value::Array(_)) => Some(document),
        _ => None,
    }
}

/// Walks both values together; where they differ and are not both objects or both arrays, the
/// path is one change.
fn collect_changes(
    path: String,
    expected: Option<&Value>,
    actual: Option<&Value>,
    changes: &mut Vec<String>,
) {
    match (expected, actual) {
        (Some(Value::Object(expected)), Some(Value::Object(actual))) => {
            let mut keys: Vec<&String> = expected.keys().chain(actual.keys()).collect();
            keys.sort_unstable();
            keys.dedup();
            for key in keys {
                collect_changes(
                    format!("{path}{}", key_segment(key)),
                    expected.get(key),
                    actual.get(key),
                    changes,
                );
            }
        }
        (Some(Value::Array(expected)), Some(Value::Array(actual))) => {
            for index in 0..expected.len().max(actual.len()) {
                collect_changes(
                    format!("{path}[{index}]"),
                    expected.get(index),
                    actual.get(index),
                    changes,
                );
            }
        }
        (expected, actual) if expected != actual => {
            changes.push(format!("{path} {} → {}", show(expected), show(actual)));
        }
        _ => {}
    }
}

/// `.key` for a plain name, `["odd key"]` for anything else, so a path reads back unambiguously.
fn key_segment(key: &str) -> String {
    let plain = key
        .chars()
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == '_')
        && key
            .chars()
            .all(|character| character.is_ascii_alphanumeric() || character == '_');
    if plain {
        format!(".{key}")
    } else {
        format!("[{}]", Value::String(key.to_owned()))
    }
}

fn show(value: Option<&Value>) -> String {
    value.map_or_else(|| "(absent)".to_owned(), Value::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_number_deep_in_a_document_is_one_path() {
        let expected = r#"{"status": "exchanged", "exchange_price_difference": -16.63}"#;
        let actual = r#"{"status": "exchanged", "exchange_price_difference": -17.02}"#;
        assert_eq!(
            json_path_changes("data", expected, actual).unwrap(),
            ["data.exchange_price_difference -16.63 → -17.02"]
        );
    }

    #[test]
    fn arrays_go_by_index_and_keys_can_be_added_or_removed() {
        let expected = r#"{"items": [{"id": 1, "price": 10}, {"id": 2}], "note": "x"}"#;
        let actual =
            r#"{"items": [{"id": 1, "price": 12}, {"id": 2}, {"id": 3}], "odd key": true}"#;
        assert_eq!(
            json_path_changes("data", expected, actual).unwrap(),
            [
                "data.items[0].price 10 → 12",
                r#"data.items[2] (absent) → {"id":3}"#,
                r#"data.note "x" → (absent)"#,
                r#"data["odd key"] (absent) → true"#,
            ]
        );
    }

    #[test]
    fn a_changed_type_is_one_change_and_scalars_or_text_are_not_documents() {
        assert_eq!(
            json_path_changes("d", r#"{"a": {"b": 1}}"#, r#"{"a": [1]}"#).unwrap(),
            [r#"d.a {"b":1} → [1]"#]
        );
        assert_eq!(json_path_changes("d", "1", "2"), None);
        assert_eq!(json_path_changes("d", "\"a\"", "{}"), None);
        assert_eq!(json_path_changes("d", "not json", "{}"), None);
    }

    #[test]
    fn many_changes_are_counted_past_the_first() {
        let expected: Value = (0..25)
            .map(|index| (index.to_string(), Value::from(index)))
            .collect::<serde_json::Map<_, _>>()
            .into();
        let changes = json_path_changes("d", &expected.to_string(), "{}").unwrap();
        assert_eq!(changes.len(), LISTED_PATHS + 1);
        assert_eq!(changes.last().unwrap(), "… and 15 more paths in d");
        assert_eq!(changes[0], r#"d["0"] 0 → (absent)"#);
    }
}
