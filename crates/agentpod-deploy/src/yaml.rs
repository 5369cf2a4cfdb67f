//! JSON values written as block YAML, for manifests a person reads: keys sorted (serde_json's
//! maps), every string double-quoted (JSON's escapes are YAML's), so nothing a value holds can
//! change the document's structure.

use serde_json::Value;

/// `documents` as one YAML stream, each document after a `---` line.
pub fn to_yaml_stream(documents: &[Value]) -> String {
    let mut out = String::new();
    for document in documents {
        out.push_str("---\n");
        write_value(&mut out, document, 0);
    }
    out
}

fn scalar(value: &Value) -> String {
    // A JSON scalar is a YAML flow scalar with the same meaning.
    value.to_string()
}

/// A key as a plain scalar where it cannot be read as anything but that text (Kubernetes'
/// keys, `app.kubernetes.io/name` among them), else double-quoted.
fn key(key: &str) -> String {
    let plain = key.starts_with(|c: char| c.is_ascii_alphabetic())
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '/' | '-' | '_'))
        && !matches!(
            key.to_ascii_lowercase().as_str(),
            "y" | "n" | "yes" | "no" | "on" | "off" | "true" | "false" | "null"
        );
    if plain {
        key.to_owned()
    } else {
        Value::String(key.to_owned()).to_string()
    }
}

/// A text of several lines ending in one newline (a script) as a literal block, whose lines
/// are kept as they are; anything else stays a quoted scalar.
fn literal_block(value: &Value, indent: usize) -> Option<String> {
    let text = value.as_str()?;
    let body = text.strip_suffix('\n')?;
    if !body.contains('\n')
        || body.ends_with('\n')
        || body.chars().any(|c| c.is_control() && c != '\n')
        || body
            .lines()
            .next()
            .is_some_and(|first| first.starts_with(' '))
    {
        return None;
    }
    let pad = " ".repeat(indent);
    let mut block = String::from("|\n");
    for line in body.lines() {
        if line.is_empty() {
            block.push('\n');
        } else {
            block.push_str(&format!("{pad}{line}\n"));
        }
    }
    Some(block)
}

fn is_block(value: &Value) -> bool {
    matches!(value, Value::Object(map) if !map.is_empty())
        || matches!(value, Value::Array(items) if !items.is_empty())
}

fn write_value(out: &mut String, value: &Value, indent: usize) {
    let pad = " ".repeat(indent);
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (key, item) in map {
                let key = self::key(key);
                if is_block(item) {
                    out.push_str(&format!("{pad}{key}:\n"));
                    let child = if item.is_array() { indent } else { indent + 2 };
                    write_value(out, item, child);
                } else if let Some(block) = literal_block(item, indent + 2) {
                    out.push_str(&format!("{pad}{key}: {block}"));
                } else {
                    out.push_str(&format!("{pad}{key}: {}\n", scalar(item)));
                }
            }
        }
        Value::Array(items) if !items.is_empty() => {
            for item in items {
                if is_block(item) {
                    // The item's first line goes after the dash, the rest under it.
                    let mut nested = String::new();
                    write_value(&mut nested, item, indent + 2);
                    let trimmed = nested.trim_start_matches(' ');
                    out.push_str(&format!("{pad}- {trimmed}"));
                } else if let Some(block) = literal_block(item, indent + 2) {
                    out.push_str(&format!("{pad}- {block}"));
                } else {
                    out.push_str(&format!("{pad}- {}\n", scalar(item)));
                }
            }
        }
        other => out.push_str(&format!("{pad}{}\n", scalar(other))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nested_maps_and_lists_are_block_yaml_with_quoted_strings() {
        let document = json!({
            "kind": "Job",
            "spec": {"completions": 3, "items": [{"name": "a", "args": ["x", "y"]}, "plain"]},
            "empty": {},
            "none": [],
        });
        assert_eq!(
            to_yaml_stream(&[document]),
            "---\nempty: {}\nkind: \"Job\"\nnone: []\nspec:\n  completions: 3\n  items:\n  - args:\n    - \"x\"\n    - \"y\"\n    name: \"a\"\n  - \"plain\"\n"
        );
    }

    #[test]
    fn a_script_is_a_literal_block_and_odd_keys_are_quoted() {
        let document = json!({"run": ["sh", "set -eu\n\necho \"$x\"\n"], "on": 1, "a b": 2});
        assert_eq!(
            to_yaml_stream(&[document]),
            "---\n\"a b\": 2\n\"on\": 1\nrun:\n- \"sh\"\n- |\n  set -eu\n\n  echo \"$x\"\n"
        );
    }

    #[test]
    fn a_string_cannot_add_a_key_or_a_document() {
        let hostile = json!({"name": "a\n---\nkind: Secret\": x"});
        let yaml = to_yaml_stream(&[hostile]);
        assert_eq!(yaml.lines().count(), 2, "{yaml}");
        assert_eq!(
            yaml.matches("---").count(),
            2,
            "the only document marker and the quoted text: {yaml}"
        );
    }
}
