//! YAML values the spec passes through as data (a stand-in rule's tool arguments), as JSON.

use crate::decoder::Decoder;
use crate::node::{Node, NodeValue, ScalarValue};

/// Converts `node` to JSON under the YAML core schema; `name` is the value as messages show it.
pub(crate) fn decode_json(
    decoder: &mut Decoder<'_>,
    node: &Node,
    name: &str,
) -> Option<serde_json::Value> {
    match &node.value {
        NodeValue::Scalar { .. } => match node.scalar()? {
            ScalarValue::Null => Some(serde_json::Value::Null),
            ScalarValue::Boolean(flag) => Some(serde_json::Value::Bool(flag)),
            ScalarValue::Integer(number) => Some(serde_json::Value::from(number)),
            ScalarValue::Float(number) => match serde_json::Number::from_f64(number) {
                Some(number) => Some(serde_json::Value::Number(number)),
                None => {
                    decoder.report(
                        node.position,
                        format!(
                            "`{name}` holds {}, which JSON cannot represent",
                            node.kind_name()
                        ),
                    );
                    None
                }
            },
            ScalarValue::String(text) => Some(serde_json::Value::String(text.to_owned())),
        },
        NodeValue::Sequence(items) => {
            let values: Vec<Option<serde_json::Value>> = items
                .iter()
                .enumerate()
                .map(|(index, item)| decode_json(decoder, item, &format!("{name}[{index}]")))
                .collect();
            values
                .into_iter()
                .collect::<Option<Vec<_>>>()
                .map(serde_json::Value::Array)
        }
        NodeValue::Mapping(_) => {
            let fields = decoder.open_mapping(node, node.position, &format!("`{name}`"))?;
            let mut object = serde_json::Map::new();
            let mut valid = true;
            for field in fields.iter() {
                match decode_json(decoder, field.value, &format!("{name}.{}", field.key)) {
                    Some(value) => {
                        object.insert(field.key.to_owned(), value);
                    }
                    None => valid = false,
                }
            }
            valid.then_some(serde_json::Value::Object(object))
        }
    }
}
