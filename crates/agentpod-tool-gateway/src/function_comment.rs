//! The convention by which a SQL-function tool describes itself: the function's `COMMENT` is
//! either plain text (the tool's description) or one JSON object,
//! `{"description": "…", "parameters": {"order_id": "the order's id, like #W1234"}}`, whose
//! `parameters` describe the arguments by name in the tool's input schema. A comment that is not
//! such an object is plain text, as before the convention.

use std::collections::BTreeMap;

use serde_json::Value;

/// What a function's comment says about its tool.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct FunctionComment {
    /// The tool's description; empty when the comment gives none.
    pub(crate) description: String,
    /// Argument name → what it means.
    pub(crate) parameters: BTreeMap<String, String>,
}

impl FunctionComment {
    pub(crate) fn parse(comment: &str) -> FunctionComment {
        Self::from_json(comment).unwrap_or_else(|| FunctionComment {
            description: comment.to_owned(),
            parameters: BTreeMap::new(),
        })
    }

    /// The JSON form: an object with a string `description` or an object `parameters` (of
    /// strings) or both, and nothing else.
    fn from_json(comment: &str) -> Option<FunctionComment> {
        let Value::Object(fields) = serde_json::from_str(comment.trim()).ok()? else {
            return None;
        };
        if fields.is_empty()
            || fields
                .keys()
                .any(|key| key != "description" && key != "parameters")
        {
            return None;
        }
        let description = match fields.get("description") {
            None => String::new(),
            Some(Value::String(description)) => description.clone(),
            Some(_) => return None,
        };
        let parameters = match fields.get("parameters") {
            None => BTreeMap::new(),
            Some(Value::Object(parameters)) => parameters
                .iter()
                .map(|(name, meaning)| Some((name.clone(), meaning.as_str()?.to_owned())))
                .collect::<Option<_>>()?,
            Some(_) => return None,
        };
        Some(FunctionComment {
            description,
            parameters,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_json_comment_gives_the_description_and_each_parameter() {
        let comment = FunctionComment::parse(
            r#" {"description": "Cancel a pending order.",
                 "parameters": {"order_id": "the order's id, like #W1234"}} "#,
        );
        assert_eq!(comment.description, "Cancel a pending order.");
        assert_eq!(
            comment.parameters,
            BTreeMap::from([(
                "order_id".to_owned(),
                "the order's id, like #W1234".to_owned()
            )])
        );
        let only_parameters = FunctionComment::parse(r#"{"parameters": {"a": "first"}}"#);
        assert_eq!(only_parameters.description, "");
        assert_eq!(only_parameters.parameters["a"], "first");
    }

    #[test]
    fn anything_else_is_plain_text() {
        for comment in [
            "The name of one customer, by id.",
            "{not json",
            "{}",
            r#"{"description": "x", "returns": "y"}"#,
            r#"{"description": 3}"#,
            r#"{"parameters": {"a": 1}}"#,
            r#"["description"]"#,
        ] {
            assert_eq!(
                FunctionComment::parse(comment),
                FunctionComment {
                    description: comment.to_owned(),
                    parameters: BTreeMap::new()
                },
                "{comment}"
            );
        }
    }
}
