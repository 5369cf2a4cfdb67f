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
        json!({"message": {"type": "string", "description": "what you say to the customer"}}),
    );
    schema.insert("required".to_owned(), json!(["message"]));
    Tool::new(
        SEND_MESSAGE_TO_CUSTOMER,
        "Send the customer who raised this issue a message; the result is the customer's reply. Ask for what you need to know, and tell the customer what you did.",
        schema,
    )
}

pub(crate) fn message_argument(arguments: &JsonObject) -> Result<String, String> {
    match arguments.get("message") {
        Some(Value::String(message)) => Ok(message.clone()),
        Some(_) => Err("argument \"message\" must be a string".to_owned()),
        None => Err("missing argument \"message\"".to_owned()),
    }
}
