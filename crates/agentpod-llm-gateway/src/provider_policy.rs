//! What the gateway refuses to forward because it would make the provider act outside the pod on
//! the agent's behalf: fetch a URL or a stored file, run a tool on its own servers, bill another
//! service tier, or keep and reuse state on agentpod's account. The pod withholds the network and
//! the account from the agent; the provider has both, so these requests are a way out.
//!
//! The whole policy is the [`RULES`] table. [`check`] reads the parsed request body once against
//! it. Most bodies are never parsed into a tree: the gateway's one-pass reading of the body
//! (`client_request`) asks the table whether anything it meets is a place some rule looks at, and
//! only a body where something is goes through [`check`]; that reading also refuses a body that
//! repeats a key some rule looks at, which the tree would hold only once. Rules do not depend on
//! the route: each field name means one thing across the three APIs, and a field an API does not
//! know is one its provider rejects anyway, so applying every rule everywhere only closes gaps
//! (an OpenAI-compatible server may accept another API's shapes).

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A group of provider features a gateway can be configured to allow
/// (`LlmConfig::allowed_provider_features`); none is allowed by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProviderFeature {
    /// Inputs the provider fetches itself: images, files, audio or video given by URL, and files
    /// stored on the provider's account, referenced by id.
    RemoteInputs,
    /// Tools that run on the provider's servers: web search, file search, code execution,
    /// computer use, image generation, remote MCP servers.
    ProviderTools,
    /// `service_tier`: which capacity, and which price, the account is billed at.
    ServiceTier,
    /// State kept or reused on the provider's account: stored responses, previous responses,
    /// conversations, background runs, stored prompts. The gateway meters one call at a time and
    /// cannot attribute state shared across calls to an issue.
    ServerState,
}

impl ProviderFeature {
    /// The name used in messages and configuration (`remote_inputs`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Self::RemoteInputs => "remote_inputs",
            Self::ProviderTools => "provider_tools",
            Self::ServiceTier => "service_tier",
            Self::ServerState => "server_state",
        }
    }
}

/// A request the policy refuses: the first offending field, why, and the feature it needs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the agentpod llm gateway refuses `{field}`: {reason} (provider feature `{}` is not allowed for this pod)",
    .feature.name()
)]
pub(crate) struct ProviderFeatureRefused {
    /// Where in the body, e.g. `messages[0].content[1].image_url.url`.
    pub(crate) field: String,
    pub(crate) feature: ProviderFeature,
    pub(crate) reason: &'static str,
}

/// Where in the request a rule looks.
enum Place {
    /// A field of the request object itself.
    Request(&'static str),
    /// The `type` of each entry of the request's `tools`.
    ToolType,
    /// A field (a path of keys) of any object with this `type` anywhere in the conversation
    /// ([`CONVERSATION_ROOTS`]): content parts, blocks nested in tool results, Responses input
    /// items. Searching every depth means a new nesting of a known part cannot slip through.
    Part {
        part_type: &'static str,
        field: &'static [&'static str],
    },
}

/// Which values at a place are refused.
enum Refused {
    /// Any value but `null`.
    Present,
    /// `true`.
    True,
    /// A string that is not a `data:` URL: the provider would fetch it.
    FetchedUrl,
    /// One of these strings.
    OneOf(&'static [&'static str]),
    /// Anything but absent, `null` or one of these strings.
    NotOneOf(&'static [&'static str]),
}

struct Rule {
    place: Place,
    refused: Refused,
    feature: ProviderFeature,
    reason: &'static str,
}

const FETCHED_MEDIA: &str = "the provider would fetch this url itself, from outside the pod; send the content inline as a `data:` url";
const STORED_FILE: &str = "the provider would read a file stored on its account, which the agent did not upload through the gateway; send the content inline";

/// The whole policy.
const RULES: &[Rule] = &[
    // Inputs the provider fetches.
    Rule {
        place: Place::Part {
            part_type: "image_url",
            field: &["image_url", "url"],
        },
        refused: Refused::FetchedUrl,
        feature: ProviderFeature::RemoteInputs,
        reason: FETCHED_MEDIA,
    },
    // The bare-string form some OpenAI-compatible servers accept.
    Rule {
        place: Place::Part {
            part_type: "image_url",
            field: &["image_url"],
        },
        refused: Refused::FetchedUrl,
        feature: ProviderFeature::RemoteInputs,
        reason: FETCHED_MEDIA,
    },
    // Audio and video parts of OpenAI-compatible servers (vLLM and others fetch them).
    Rule {
        place: Place::Part {
            part_type: "audio_url",
            field: &["audio_url", "url"],
        },
        refused: Refused::FetchedUrl,
        feature: ProviderFeature::RemoteInputs,
        reason: FETCHED_MEDIA,
    },
    Rule {
        place: Place::Part {
            part_type: "video_url",
            field: &["video_url", "url"],
        },
        refused: Refused::FetchedUrl,
        feature: ProviderFeature::RemoteInputs,
        reason: FETCHED_MEDIA,
    },
    Rule {
        place: Place::Part {
            part_type: "file",
            field: &["file", "file_id"],
        },
        refused: Refused::Present,
        feature: ProviderFeature::RemoteInputs,
        reason: STORED_FILE,
    },
    Rule {
        place: Place::Part {
            part_type: "input_image",
            field: &["image_url"],
        },
        refused: Refused::FetchedUrl,
        feature: ProviderFeature::RemoteInputs,
        reason: FETCHED_MEDIA,
    },
    Rule {
        place: Place::Part {
            part_type: "input_image",
            field: &["file_id"],
        },
        refused: Refused::Present,
        feature: ProviderFeature::RemoteInputs,
        reason: STORED_FILE,
    },
    Rule {
        place: Place::Part {
            part_type: "input_file",
            field: &["file_url"],
        },
        refused: Refused::FetchedUrl,
        feature: ProviderFeature::RemoteInputs,
        reason: FETCHED_MEDIA,
    },
    Rule {
        place: Place::Part {
            part_type: "input_file",
            field: &["file_id"],
        },
        refused: Refused::Present,
        feature: ProviderFeature::RemoteInputs,
        reason: STORED_FILE,
    },
    Rule {
        place: Place::Part {
            part_type: "computer_screenshot",
            field: &["image_url"],
        },
        refused: Refused::FetchedUrl,
        feature: ProviderFeature::RemoteInputs,
        reason: FETCHED_MEDIA,
    },
    Rule {
        place: Place::Part {
            part_type: "computer_screenshot",
            field: &["file_id"],
        },
        refused: Refused::Present,
        feature: ProviderFeature::RemoteInputs,
        reason: STORED_FILE,
    },
    Rule {
        place: Place::Part {
            part_type: "image",
            field: &["source", "type"],
        },
        refused: Refused::OneOf(&["url", "file"]),
        feature: ProviderFeature::RemoteInputs,
        reason: "the provider would fetch this image from a url or its file store; send it as a `base64` source",
    },
    Rule {
        place: Place::Part {
            part_type: "document",
            field: &["source", "type"],
        },
        refused: Refused::OneOf(&["url", "file"]),
        feature: ProviderFeature::RemoteInputs,
        reason: "the provider would fetch this document from a url or its file store; send it as a `base64`, `text` or `content` source",
    },
    Rule {
        place: Place::Part {
            part_type: "container_upload",
            field: &["file_id"],
        },
        refused: Refused::Present,
        feature: ProviderFeature::RemoteInputs,
        reason: STORED_FILE,
    },
    // Tools the provider runs.
    Rule {
        place: Place::ToolType,
        refused: Refused::NotOneOf(&["function", "custom"]),
        feature: ProviderFeature::ProviderTools,
        reason: "a tool of this type runs on the provider's servers (web search, code execution, remote mcp, ...); declare a `function` (or Anthropic `custom`) tool and run it in the pod",
    },
    Rule {
        place: Place::Request("web_search_options"),
        refused: Refused::Present,
        feature: ProviderFeature::ProviderTools,
        reason: "it makes the provider search the web, from outside the pod",
    },
    Rule {
        place: Place::Request("mcp_servers"),
        refused: Refused::Present,
        feature: ProviderFeature::ProviderTools,
        reason: "it makes the provider connect to remote mcp servers, from outside the pod",
    },
    // What the account is billed at.
    Rule {
        place: Place::Request("service_tier"),
        refused: Refused::Present,
        feature: ProviderFeature::ServiceTier,
        reason: "it changes which capacity and price agentpod's account is billed at",
    },
    // State on the account.
    Rule {
        place: Place::Request("store"),
        refused: Refused::True,
        feature: ProviderFeature::ServerState,
        reason: "it keeps the exchange on agentpod's provider account",
    },
    Rule {
        place: Place::Request("background"),
        refused: Refused::True,
        feature: ProviderFeature::ServerState,
        reason: "a background response runs on after the call and cannot be metered by the gateway",
    },
    Rule {
        place: Place::Request("previous_response_id"),
        refused: Refused::Present,
        feature: ProviderFeature::ServerState,
        reason: "it reuses a response stored on agentpod's provider account, which the gateway cannot attribute to this issue; send the conversation in `input`",
    },
    Rule {
        place: Place::Request("conversation"),
        refused: Refused::Present,
        feature: ProviderFeature::ServerState,
        reason: "it reuses a conversation stored on agentpod's provider account, which the gateway cannot attribute to this issue; send the conversation in `input`",
    },
    Rule {
        place: Place::Request("prompt"),
        refused: Refused::Present,
        feature: ProviderFeature::ServerState,
        reason: "it reads a prompt stored on agentpod's provider account; send the instructions in the request",
    },
    Rule {
        place: Place::Part {
            part_type: "item_reference",
            field: &["id"],
        },
        refused: Refused::Present,
        feature: ProviderFeature::ServerState,
        reason: "it reuses an item stored on agentpod's provider account; send the item itself",
    },
];

/// The request fields that hold the conversation, across the three APIs: chat and Anthropic
/// `messages`, Anthropic `system`, Responses `input` and `instructions`.
pub(crate) const CONVERSATION_ROOTS: &[&str] = &["messages", "system", "input", "instructions"];

/// Fields of conversation parts (by part `type`) that hold the agent's own tool arguments: the
/// provider never fetches or runs anything in them, so they are not searched, and a tool whose
/// arguments happen to look like an image part is not refused.
const OPAQUE_FIELDS: &[(&str, &str)] = &[
    ("tool_use", "input"),
    ("server_tool_use", "input"),
    ("mcp_tool_use", "input"),
];

/// Checks the agent's parsed request body against [`RULES`], minus the `allowed` features.
pub(crate) fn check(
    body: &Value,
    allowed: &BTreeSet<ProviderFeature>,
) -> Result<(), ProviderFeatureRefused> {
    let Some(request) = body.as_object() else {
        return Ok(());
    };
    let rules: Vec<&Rule> = rules_in_force(allowed).collect();
    for rule in &rules {
        if let Place::Request(field) = rule.place
            && rule.refused.matches(request.get(field))
        {
            return Err(refusal(rule, field.to_owned()));
        }
    }
    if let Some(tools) = request.get("tools").and_then(Value::as_array) {
        for (index, tool) in tools.iter().enumerate() {
            for rule in &rules {
                if matches!(rule.place, Place::ToolType) && rule.refused.matches(tool.get("type")) {
                    return Err(refusal(rule, format!("tools[{index}].type")));
                }
            }
        }
    }
    let part_rules: Vec<&Rule> = rules
        .into_iter()
        .filter(|rule| matches!(rule.place, Place::Part { .. }))
        .collect();
    if part_rules.is_empty() {
        return Ok(());
    }
    for root in CONVERSATION_ROOTS {
        if let Some(value) = request.get(*root) {
            let mut path = vec![Segment::Key(root)];
            search_parts(value, &mut path, &part_rules)?;
        }
    }
    Ok(())
}

/// The rules not lifted by `allowed`.
fn rules_in_force(allowed: &BTreeSet<ProviderFeature>) -> impl Iterator<Item = &'static Rule> {
    RULES
        .iter()
        .filter(move |rule| !allowed.contains(&rule.feature))
}

/// Whether some rule looks at the request's own field `field` (`store`, `service_tier`, ...).
/// For the one-pass reading of a body (`client_request`), which asks the three questions below
/// of what it meets and leaves the body to [`check`] when one answers yes.
pub(crate) fn has_request_rule(field: &str) -> bool {
    RULES
        .iter()
        .any(|rule| matches!(rule.place, Place::Request(name) if name == field))
}

/// Whether a rule in force refuses `value` as the request's field `field`. An array or object
/// may be given empty: no request rule looks inside one.
pub(crate) fn request_field_may_be_refused(
    field: &str,
    value: &Value,
    allowed: &BTreeSet<ProviderFeature>,
) -> bool {
    rules_in_force(allowed).any(|rule| {
        matches!(rule.place, Place::Request(name) if name == field)
            && rule.refused.matches(Some(value))
    })
}

/// Whether a rule in force refuses `value` as the `type` of an entry of `tools` (arrays and
/// objects may be given empty, as above).
pub(crate) fn tool_type_may_be_refused(value: &Value, allowed: &BTreeSet<ProviderFeature>) -> bool {
    rules_in_force(allowed)
        .any(|rule| matches!(rule.place, Place::ToolType) && rule.refused.matches(Some(value)))
}

/// Whether a rule in force looks at conversation parts of type `part_type`, whatever their
/// fields hold.
pub(crate) fn part_type_may_be_refused(
    part_type: &str,
    allowed: &BTreeSet<ProviderFeature>,
) -> bool {
    rules_in_force(allowed).any(
        |rule| matches!(rule.place, Place::Part { part_type: rule_type, .. } if rule_type == part_type),
    )
}

/// Whether some rule looks at the key `key` of an object in the conversation: a part's `type`, or
/// a key on the path to a field a part rule checks (`image_url`, `url`, `file_id`, ...). The
/// one-pass reading refuses an object that repeats such a key.
pub(crate) fn is_part_rule_key(key: &str) -> bool {
    key == "type"
        || RULES
            .iter()
            .any(|rule| matches!(rule.place, Place::Part { field, .. } if field.contains(&key)))
}

fn refusal(rule: &Rule, field: String) -> ProviderFeatureRefused {
    ProviderFeatureRefused {
        field,
        feature: rule.feature,
        reason: rule.reason,
    }
}

impl Refused {
    fn matches(&self, value: Option<&Value>) -> bool {
        match self {
            Refused::Present => value.is_some_and(|value| !value.is_null()),
            Refused::True => value == Some(&Value::Bool(true)),
            Refused::FetchedUrl => value
                .and_then(Value::as_str)
                .is_some_and(|url| !is_data_url(url)),
            Refused::OneOf(refused) => value
                .and_then(Value::as_str)
                .is_some_and(|text| refused.contains(&text)),
            Refused::NotOneOf(accepted) => match value {
                None | Some(Value::Null) => false,
                Some(Value::String(text)) => !accepted.contains(&text.as_str()),
                // A type that is not a string is not one the gateway knows to be safe.
                Some(_) => true,
            },
        }
    }
}

/// A `data:` URL carries its content inline; anything else names a place to fetch from.
fn is_data_url(url: &str) -> bool {
    url.trim_start()
        .get(..5)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("data:"))
}

/// One step of the path to a field, kept so a refusal names exactly where it is.
#[derive(Clone, Copy)]
enum Segment<'a> {
    Key(&'a str),
    Index(usize),
}

fn path_text(path: &[Segment<'_>], field: &[&str]) -> String {
    let mut text = String::new();
    for segment in path {
        match segment {
            Segment::Key(key) => {
                if !text.is_empty() {
                    text.push('.');
                }
                text.push_str(key);
            }
            Segment::Index(index) => text.push_str(&format!("[{index}]")),
        }
    }
    for key in field {
        text.push('.');
        text.push_str(key);
    }
    text
}

/// Searches every object under `value` for parts the rules refuse. The depth is bounded by the
/// JSON parser's own nesting limit, so this recursion cannot run away on hostile input.
fn search_parts<'a>(
    value: &'a Value,
    path: &mut Vec<Segment<'a>>,
    rules: &[&Rule],
) -> Result<(), ProviderFeatureRefused> {
    match value {
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                path.push(Segment::Index(index));
                search_parts(item, path, rules)?;
                path.pop();
            }
        }
        Value::Object(object) => {
            let part_type = object.get("type").and_then(Value::as_str);
            if let Some(part_type) = part_type {
                check_part(object, part_type, path, rules)?;
            }
            for (key, child) in object {
                let opaque = part_type
                    .is_some_and(|part_type| OPAQUE_FIELDS.contains(&(part_type, key.as_str())));
                if opaque || !(child.is_array() || child.is_object()) {
                    continue;
                }
                path.push(Segment::Key(key));
                search_parts(child, path, rules)?;
                path.pop();
            }
        }
        _ => {}
    }
    Ok(())
}

fn check_part(
    part: &Map<String, Value>,
    part_type: &str,
    path: &[Segment<'_>],
    rules: &[&Rule],
) -> Result<(), ProviderFeatureRefused> {
    for rule in rules {
        let Place::Part {
            part_type: rule_type,
            field,
        } = rule.place
        else {
            continue;
        };
        if rule_type != part_type {
            continue;
        }
        let mut value = None;
        let mut object = Some(part);
        for key in field {
            value = object.and_then(|object| object.get(*key));
            object = value.and_then(Value::as_object);
        }
        if rule.refused.matches(value) {
            return Err(refusal(rule, path_text(path, field)));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn refused(body: Value) -> Option<(String, ProviderFeature)> {
        check(&body, &BTreeSet::new())
            .err()
            .map(|refusal| (refusal.field, refusal.feature))
    }

    #[test]
    fn inline_inputs_and_function_tools_pass() {
        let body = json!({
            "model": "m", "store": false, "background": false, "metadata": {"a": "b"},
            "user": "u", "prompt_cache_key": "k", "service_tier": null,
            "messages": [{"role": "user", "content": [
                {"type": "text", "text": "see https://example.com"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"}},
            ]}, {"role": "assistant", "content": [
                {"type": "tool_use", "id": "t", "name": "f",
                 "input": {"type": "image", "source": {"type": "url", "url": "https://x"}}},
            ]}],
            "tools": [{"type": "function", "function": {"name": "f"}}, {"name": "g", "input_schema": {}},
                      {"type": "custom", "name": "h"}],
        });
        assert_eq!(refused(body), None);
    }

    #[test]
    fn refusals_name_the_field_at_any_depth() {
        assert_eq!(
            refused(json!({"messages": [{"role": "user", "content": [
                {"type": "text", "text": "hi"},
                {"type": "image_url", "image_url": {"url": "HTTPS://example.com/a.png"}}]}]})),
            Some((
                "messages[0].content[1].image_url.url".to_owned(),
                ProviderFeature::RemoteInputs
            ))
        );
        assert_eq!(
            refused(
                json!({"messages": [{"role": "user", "content": [{"type": "tool_result",
                "tool_use_id": "t", "content": [{"type": "image", "source": {"type": "url", "url": "http://x"}}]}]}]})
            ),
            Some((
                "messages[0].content[0].content[0].source.type".to_owned(),
                ProviderFeature::RemoteInputs
            ))
        );
        assert_eq!(
            refused(
                json!({"input": [{"type": "function_call_output", "call_id": "c",
                "output": [{"type": "input_file", "file_url": "https://x/a.pdf"}]}]})
            ),
            Some((
                "input[0].output[0].file_url".to_owned(),
                ProviderFeature::RemoteInputs
            ))
        );
        assert_eq!(
            refused(
                json!({"tools": [{"type": "function"}, {"type": "web_search_20250305", "name": "web_search"}]})
            ),
            Some(("tools[1].type".to_owned(), ProviderFeature::ProviderTools))
        );
        assert_eq!(
            refused(json!({"tools": [{"type": 7}]})),
            Some(("tools[0].type".to_owned(), ProviderFeature::ProviderTools))
        );
        assert_eq!(
            refused(json!({"store": true})),
            Some(("store".to_owned(), ProviderFeature::ServerState))
        );
    }

    #[test]
    fn an_allowed_feature_is_not_refused() {
        let body = json!({"service_tier": "priority", "tools": [{"type": "web_search"}]});
        let allowed = BTreeSet::from([ProviderFeature::ServiceTier]);
        assert_eq!(
            check(&body, &allowed).map_err(|refusal| refusal.feature),
            Err(ProviderFeature::ProviderTools)
        );
        let allowed =
            BTreeSet::from([ProviderFeature::ServiceTier, ProviderFeature::ProviderTools]);
        assert_eq!(check(&body, &allowed), Ok(()));
    }
}
