//! The channel to a simulated customer: the tool `send_message_to_customer`, offered only to the
//! issues registered with a customer. The agent sends one message; the tool's result is the
//! customer's reply. Who the customer is — a script, a model — is the [`Customer`] the issue was
//! registered with; the gateway only carries the turns and records them as tool calls.

use std::future::Future;
use std::pin::Pin;

use rmcp::model::{JsonObject, Tool};
use serde_json::{Value, json};

/// The tool's name.
pub const SEND_MESSAGE_TO_CUSTOMER: &str = "send_message_to_customer";

/// The longest message the customer is given. Far under the record's cap, so every message the
/// customer read is on record whole (a longer one could hide what it said), and what a
/// message costs the customer's model is bounded.
pub const MAX_CUSTOMER_MESSAGE_BYTES: usize = 8 * 1024;

/// A customer's answer: `Ok` the reply the agent reads, `Err` why there is none (the agent reads
/// it as the tool's error).
pub type CustomerReply<'a> = Pin<Box<dyn Future<Output = Result<String, String>> + Send + 'a>>;

/// The other side of an issue's conversation.
pub trait Customer: Send + Sync {
    /// The customer's reply to the agent's next `message`.
    fn reply(&self, message: String) -> CustomerReply<'_>;
}

pub(crate) fn customer_tool() -> Tool {
    let mut schema = JsonObject::new();
    schema.insert("type".to_owned(), json!("object"));
    schema.insert(
        "properties".to_owned(),
        json!({"message": {
            "type": "string",
            "maxLength": MAX_CUSTOMER_MESSAGE_BYTES,
            "description": "what you say to the customer"
        }}),
    );
    schema.insert("required".to_owned(), json!(["message"]));
    schema.insert("additionalProperties".to_owned(), json!(false));
    Tool::new(
        SEND_MESSAGE_TO_CUSTOMER,
        "Send the customer who raised this issue a message; the result is the customer's reply. Ask for what you need to know, and tell the customer what you did.",
        schema,
    )
}

/// The message, from arguments that are exactly `{"message": TEXT}` with TEXT at most
/// [`MAX_CUSTOMER_MESSAGE_BYTES`]; anything else is refused before the customer sees it.
pub(crate) fn message_argument(arguments: &JsonObject) -> Result<String, String> {
    if let Some(other) = arguments.keys().find(|key| *key != "message") {
        return Err(format!(
            "unknown argument {other:?}: the tool takes only \"message\""
        ));
    }
    match arguments.get("message") {
        Some(Value::String(message)) if message.len() > MAX_CUSTOMER_MESSAGE_BYTES => Err(format!(
            "the message is {} bytes: a message to the customer may be at most {MAX_CUSTOMER_MESSAGE_BYTES}",
            message.len()
        )),
        Some(Value::String(message)) => Ok(message.clone()),
        Some(_) => Err("argument \"message\" must be a string".to_owned()),
        None => Err("missing argument \"message\"".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arguments(value: Value) -> JsonObject {
        value.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn only_a_message_of_bounded_size_reaches_the_customer() {
        assert_eq!(
            message_argument(&arguments(json!({"message": "hello"}))),
            Ok("hello".to_owned())
        );
        let padded = arguments(json!({"aaa": " ".repeat(70_000), "message": "hidden"}));
        assert!(
            message_argument(&padded)
                .unwrap_err()
                .contains("unknown argument \"aaa\"")
        );
        let long = arguments(json!({"message": "x".repeat(MAX_CUSTOMER_MESSAGE_BYTES + 1)}));
        assert!(
            message_argument(&long)
                .unwrap_err()
                .contains("at most 8192")
        );
        assert!(message_argument(&arguments(json!({"message": 3}))).is_err());
        assert!(message_argument(&arguments(json!({}))).is_err());
    }
}
