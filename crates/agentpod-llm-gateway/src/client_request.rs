//! What the gateway reads of the agent's request body: the model, whether it streams, whether it
//! asked for the stream's usage, the output it asks for at most, and the verdict on the body
//! (the provider policy's, and the refusal of repeated fields).
//!
//! The body is read in one pass that builds no tree of it: the pass keeps the few fields it
//! needs, notes whether anything in the body is a place some policy rule refuses, and notes the
//! first key repeated in one object where the gateway or a rule reads it: a request field the
//! gateway reads (`model`, `stream`, `stream_options`, the output limits, `tools`, the
//! conversation roots) or a rule looks at (`store`, `service_tier`, ...),
//! `stream_options.include_usage`, the `type` of a `tools` entry, and, in any object under a
//! conversation root, `type` and the keys on the paths part rules check (`image_url`, `url`,
//! `file_id`, ...). A body with such a repeat is refused whatever its tree holds; repeats
//! elsewhere (`metadata`, a tool's schema, a part's `text`) pass. Otherwise, a body where the
//! pass met something a rule in force may refuse (a part, a tool or a field a rule looks at) is
//! parsed whole for the policy's [`provider_policy::check`], whose refusal names the field; the
//! tree is dropped once checked. A body the pass cannot read (not json, not an object) gets the
//! tree reading's 400 message.
//!
//! The pass reads the same JSON as the tree does: every value goes through the parser's
//! `deserialize_any`, as `serde_json::Value` does, so numbers, strings and nesting depth are
//! checked alike and the pass accepts a body only when the tree would; where a key is repeated
//! it keeps the last value, as the tree does. [`ClientRequest::read_tree`] is that tree reading,
//! kept as the reference the pass is checked against (tests and fuzzing), not used for calls:
//! the tree sees only the last of a repeated key, while a provider's parser may take the first,
//! which is why a repeat of a field anyone reads is refused instead (`{"store":true,
//! "store":false}` would pass the policy as `false` and be kept by a provider as `true`).

use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::collections::BTreeSet;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use crate::provider_policy::{self, ProviderFeature, ProviderFeatureRefused};

/// The arms of a visitor that reads any json scalar but a string through (so it is checked
/// as json, as the tree's reading checks it) and keeps nothing of it: each answers `$kept`.
macro_rules! scalars_kept_as {
    ($kept:expr) => {
        fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
            formatter.write_str("any json value")
        }

        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok($kept)
        }

        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok($kept)
        }

        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok($kept)
        }

        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok($kept)
        }

        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok($kept)
        }
    };
}

/// The request fields that say how much output the call may ask for, in the order they are
/// looked for.
const MAX_OUTPUT_FIELDS: [&str; 3] = ["max_tokens", "max_completion_tokens", "max_output_tokens"];
/// The other request fields the gateway reads for itself.
const READ_FIELDS: [&str; 4] = ["model", "stream", "stream_options", "tools"];

/// Why the gateway refuses a body it could read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum RequestRefused {
    /// The provider policy refuses a feature the body asks for.
    #[error(transparent)]
    Feature(#[from] ProviderFeatureRefused),
    /// An object repeats a key that the gateway or a policy rule reads.
    #[error(
        "the agentpod llm gateway refuses the request: it repeats the field `{field}`{}, which \
         a provider may read otherwise than the gateway did; send each field once",
        .under.map(|root| format!(" in an object under `{root}`")).unwrap_or_default()
    )]
    RepeatedField {
        field: String,
        /// The request field the repeating object is in, unless it is the request itself.
        under: Option<&'static str>,
    },
}

impl RequestRefused {
    /// The field the refusal names (the OpenAI error's `param`).
    pub(crate) fn field(&self) -> &str {
        match self {
            RequestRefused::Feature(refusal) => &refusal.field,
            RequestRefused::RepeatedField { field, .. } => field,
        }
    }
}

/// What the gateway reads of the agent's request body.
#[derive(Debug)]
pub(crate) struct ClientRequest {
    pub(crate) model: Option<String>,
    pub(crate) streamed: bool,
    /// Chat streams: whether the agent asked for the usage chunk itself.
    pub(crate) wants_usage: bool,
    /// Whether the body has a `stream_options` field at all, whatever its value.
    pub(crate) has_stream_options: bool,
    /// The output the request asks for at most ([`MAX_OUTPUT_FIELDS`], the first that is a
    /// whole number), for the upstream limits' estimate.
    pub(crate) max_output_tokens: Option<u64>,
    /// The verdict on the body, for the features the body was read for.
    verdict: Result<(), RequestRefused>,
}

impl ClientRequest {
    /// Reads the agent's request body for a gateway that allows `allowed`; `Err` holds the
    /// message of the 400 answer for a body that is not a json object.
    pub(crate) fn read(
        body: &[u8],
        allowed: &BTreeSet<ProviderFeature>,
    ) -> Result<ClientRequest, String> {
        let outline = match Outline::scan(body, allowed) {
            Ok(outline) => outline,
            Err(pass_error) => {
                // Not json or not an object: the tree's reading gives the message. A body only
                // the pass fails on (none is known) is refused rather than read unchecked.
                return match ClientRequest::read_tree(body, allowed) {
                    Err(message) => Err(message),
                    Ok(_) => Err(format!("request body cannot be read: {pass_error}")),
                };
            }
        };
        let verdict = if let Some((field, under)) = outline.repeated {
            Err(RequestRefused::RepeatedField { field, under })
        } else if outline.needs_tree {
            // The tree lives only for the policy's check.
            let tree: Value = serde_json::from_slice(body)
                .map_err(|error| format!("request body is not valid json: {error}"))?;
            provider_policy::check(&tree, allowed).map_err(RequestRefused::Feature)
        } else {
            Ok(())
        };
        Ok(ClientRequest {
            model: outline.model,
            streamed: outline.streamed,
            wants_usage: outline.wants_usage,
            has_stream_options: outline.has_stream_options,
            max_output_tokens: outline.max_output_tokens.into_iter().flatten().next(),
            verdict,
        })
    }

    /// Reads the body by parsing it whole, as the gateway did before the one pass, with the
    /// policy's verdict on the tree. The reference the one pass is checked against: it cannot
    /// see repeated keys, so the gateway does not read calls with it.
    pub(crate) fn read_tree(
        body: &[u8],
        allowed: &BTreeSet<ProviderFeature>,
    ) -> Result<ClientRequest, String> {
        let tree = match serde_json::from_slice(body) {
            Ok(value @ Value::Object(_)) => value,
            Ok(_) => return Err("request body must be a json object".to_owned()),
            Err(error) => return Err(format!("request body is not valid json: {error}")),
        };
        let model = tree.get("model").and_then(Value::as_str).map(str::to_owned);
        let streamed = tree.get("stream").and_then(Value::as_bool).unwrap_or(false);
        let wants_usage = tree
            .pointer("/stream_options/include_usage")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let max_output_tokens = MAX_OUTPUT_FIELDS
            .iter()
            .find_map(|field| tree.get(*field).and_then(Value::as_u64));
        Ok(ClientRequest {
            model,
            streamed,
            wants_usage,
            has_stream_options: tree.get("stream_options").is_some(),
            max_output_tokens,
            verdict: provider_policy::check(&tree, allowed).map_err(RequestRefused::Feature),
        })
    }

    /// The verdict on the body, for the features it was read for: the policy's refusal, or the
    /// refusal of a repeated field.
    pub(crate) fn check_policy(&self) -> Result<(), RequestRefused> {
        self.verdict.clone()
    }
}

/// Whether the gateway or a policy rule reads the request's own field `field`, so that a repeat
/// of it is refused.
fn is_read_request_field(field: &str) -> bool {
    MAX_OUTPUT_FIELDS.contains(&field)
        || READ_FIELDS.contains(&field)
        || provider_policy::CONVERSATION_ROOTS.contains(&field)
        || provider_policy::has_request_rule(field)
}

/// What the one pass finds; the last value of a repeated key wins, as in the tree.
#[derive(Default)]
struct Outline {
    model: Option<String>,
    streamed: bool,
    wants_usage: bool,
    has_stream_options: bool,
    max_output_tokens: [Option<u64>; 3],
    /// Something a rule in force may refuse was met: the policy must see the tree.
    needs_tree: bool,
    /// The first repeated key the gateway or a rule reads, and the request field it is under.
    repeated: Option<(String, Option<&'static str>)>,
}

impl Outline {
    /// Reads `body` in one pass; `Err` when it is not json or not a json object.
    fn scan(
        body: &[u8],
        allowed: &BTreeSet<ProviderFeature>,
    ) -> Result<Outline, serde_json::Error> {
        let findings = Findings::default();
        let mut deserializer = serde_json::Deserializer::from_slice(body);
        let mut outline = OutlineSeed {
            allowed,
            findings: &findings,
        }
        .deserialize(&mut deserializer)?;
        deserializer.end()?;
        outline.needs_tree = findings.needs_tree.get();
        outline.repeated = findings.repeated.into_inner();
        Ok(outline)
    }
}

/// What the pass notes on its way through the body, wherever it is.
#[derive(Default)]
struct Findings {
    needs_tree: Cell<bool>,
    repeated: RefCell<Option<(String, Option<&'static str>)>>,
}

impl Findings {
    fn repeat(&self, field: &str, under: Option<&'static str>) {
        let mut repeated = self.repeated.borrow_mut();
        if repeated.is_none() {
            *repeated = Some((field.to_owned(), under));
        }
    }
}

/// The keys of one object that a repeat of is refused, as they are met.
#[derive(Default)]
struct SeenKeys<'de>(Vec<Cow<'de, str>>);

impl<'de> SeenKeys<'de> {
    /// Notes `key`; whether it was seen before in this object.
    fn repeated(&mut self, key: Cow<'de, str>) -> bool {
        if self.0.contains(&key) {
            return true;
        }
        self.0.push(key);
        false
    }
}

/// The request object, read field by field.
struct OutlineSeed<'a> {
    allowed: &'a BTreeSet<ProviderFeature>,
    findings: &'a Findings,
}

impl<'de> DeserializeSeed<'de> for OutlineSeed<'_> {
    type Value = Outline;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Outline, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for OutlineSeed<'_> {
    type Value = Outline;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a json object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Outline, A::Error> {
        let mut outline = Outline::default();
        let mut seen = SeenKeys::default();
        let walk = |place, under| Walk {
            place,
            under,
            allowed: self.allowed,
            findings: self.findings,
        };
        while let Some(key) = map.next_key_seed(FieldName)? {
            if is_read_request_field(&key) && seen.repeated(key.clone()) {
                self.findings.repeat(&key, None);
            }
            let field: &str = &key;
            if let Some(index) = MAX_OUTPUT_FIELDS.iter().position(|known| *known == field) {
                outline.max_output_tokens[index] = map.next_value::<Shallow>()?.0.as_u64();
            } else if field == "model" {
                outline.model = map.next_value::<Shallow>()?.0.as_str().map(str::to_owned);
            } else if field == "stream" {
                outline.streamed = map.next_value::<Shallow>()?.0.as_bool().unwrap_or(false);
            } else if field == "stream_options" {
                outline.has_stream_options = true;
                outline.wants_usage = map
                    .next_value_seed(StreamOptions {
                        findings: self.findings,
                    })?
                    .unwrap_or(false);
            } else if field == "tools" {
                map.next_value_seed(walk(FieldPlace::Tools, Some("tools")))?;
            } else if let Some(root) = provider_policy::CONVERSATION_ROOTS
                .iter()
                .find(|root| **root == field)
            {
                map.next_value_seed(walk(FieldPlace::Conversation, Some(*root)))?;
            } else if provider_policy::has_request_rule(field) {
                let value = map.next_value::<Shallow>()?.0;
                if provider_policy::request_field_may_be_refused(field, &value, self.allowed) {
                    self.findings.needs_tree.set(true);
                }
            } else {
                map.next_value_seed(walk(FieldPlace::Elsewhere, None))?;
            }
        }
        Ok(outline)
    }
}

/// An object key, borrowed from the body unless it holds escapes.
struct FieldName;

impl<'de> DeserializeSeed<'de> for FieldName {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for FieldName {
    type Value = Cow<'de, str>;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("an object key")
    }

    fn visit_borrowed_str<E: de::Error>(self, key: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(key))
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(key.to_owned()))
    }
}

/// A value as the tree would hold it, but with arrays and objects read through and kept empty:
/// enough for the fields read as scalars, and for rules that only look at a value's kind.
struct Shallow(Value);

impl<'de> de::Deserialize<'de> for Shallow {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Shallow, D::Error> {
        deserializer.deserialize_any(ShallowVisitor).map(Shallow)
    }
}

struct ShallowVisitor;

impl<'de> Visitor<'de> for ShallowVisitor {
    type Value = Value;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("any json value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<Value, E> {
        Ok(Value::Bool(value))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Value, E> {
        Ok(Value::Number(value.into()))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Value, E> {
        Ok(Value::Number(value.into()))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Value, E> {
        // As the tree holds it.
        Ok(serde_json::Number::from_f64(value).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Value, E> {
        Ok(Value::String(value.to_owned()))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Value, A::Error> {
        skip_seq(seq)?;
        Ok(Value::Array(Vec::new()))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Value, A::Error> {
        skip_map(map)?;
        Ok(Value::Object(serde_json::Map::new()))
    }
}

/// `stream_options.include_usage` when it is a boolean (the last one, if repeated; a repeat is
/// noted as well).
struct StreamOptions<'a> {
    findings: &'a Findings,
}

impl<'de> DeserializeSeed<'de> for StreamOptions<'_> {
    type Value = Option<bool>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Option<bool>, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StreamOptions<'_> {
    type Value = Option<bool>;

    scalars_kept_as!(None);

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Option<bool>, E> {
        Ok(None)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Option<bool>, A::Error> {
        skip_seq(seq)?;
        Ok(None)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<bool>, A::Error> {
        let mut include_usage = None;
        let mut seen = false;
        while let Some(field) = map.next_key_seed(FieldName)? {
            if field == "include_usage" {
                if seen {
                    self.findings
                        .repeat("include_usage", Some("stream_options"));
                }
                seen = true;
                include_usage = map.next_value::<Shallow>()?.0.as_bool();
            } else {
                map.next_value::<Skipped>()?;
            }
        }
        Ok(include_usage)
    }
}

/// Where in the request a value is, for what the one pass looks for there.
#[derive(Clone, Copy)]
enum FieldPlace {
    /// Nowhere any rule looks.
    Elsewhere,
    /// The request's `tools`.
    Tools,
    /// One entry of `tools`.
    Tool,
    /// Anywhere under a conversation root.
    Conversation,
    /// The `type` of an object under a conversation root.
    PartType,
}

/// Reads a value through, noting anything the policy must see whole and any repeated key a
/// rule reads.
struct Walk<'a> {
    place: FieldPlace,
    /// The request field the value is under, for naming a repeated key.
    under: Option<&'static str>,
    allowed: &'a BTreeSet<ProviderFeature>,
    findings: &'a Findings,
}

impl Walk<'_> {
    fn at(&self, place: FieldPlace) -> Self {
        Walk {
            place,
            under: self.under,
            allowed: self.allowed,
            findings: self.findings,
        }
    }
}

impl<'de> DeserializeSeed<'de> for Walk<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Walk<'_> {
    type Value = ();

    scalars_kept_as!(());

    fn visit_str<E: de::Error>(self, text: &str) -> Result<(), E> {
        if matches!(self.place, FieldPlace::PartType)
            && provider_policy::part_type_may_be_refused(text, self.allowed)
        {
            self.findings.needs_tree.set(true);
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let inner = match self.place {
            FieldPlace::Elsewhere | FieldPlace::Tool => FieldPlace::Elsewhere,
            FieldPlace::Tools => FieldPlace::Tool,
            FieldPlace::Conversation | FieldPlace::PartType => FieldPlace::Conversation,
        };
        while seq.next_element_seed(self.at(inner))?.is_some() {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        match self.place {
            FieldPlace::Elsewhere | FieldPlace::Tools => skip_map(map),
            FieldPlace::Tool => {
                let mut seen_type = false;
                while let Some(field) = map.next_key_seed(FieldName)? {
                    if field == "type" {
                        if seen_type {
                            self.findings.repeat("type", self.under);
                        }
                        seen_type = true;
                        let value = map.next_value::<Shallow>()?.0;
                        if provider_policy::tool_type_may_be_refused(&value, self.allowed) {
                            self.findings.needs_tree.set(true);
                        }
                    } else {
                        map.next_value::<Skipped>()?;
                    }
                }
                Ok(())
            }
            FieldPlace::Conversation | FieldPlace::PartType => {
                let mut seen = SeenKeys::default();
                while let Some(field) = map.next_key_seed(FieldName)? {
                    if provider_policy::is_part_rule_key(&field) && seen.repeated(field.clone()) {
                        self.findings.repeat(&field, self.under);
                    }
                    let place = if field == "type" {
                        FieldPlace::PartType
                    } else {
                        FieldPlace::Conversation
                    };
                    map.next_value_seed(self.at(place))?;
                }
                Ok(())
            }
        }
    }
}

/// Any value, read through (and so checked as json) and dropped.
struct Skipped;

impl<'de> de::Deserialize<'de> for Skipped {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Skipped, D::Error> {
        deserializer
            .deserialize_any(SkippedVisitor)
            .map(|()| Skipped)
    }
}

struct SkippedVisitor;

impl<'de> Visitor<'de> for SkippedVisitor {
    type Value = ();

    scalars_kept_as!(());

    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        skip_seq(seq)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        skip_map(map)
    }
}

fn skip_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<(), A::Error> {
    while seq.next_element::<Skipped>()?.is_some() {}
    Ok(())
}

fn skip_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<(), A::Error> {
    while map.next_key::<Skipped>()?.is_some() {
        map.next_value::<Skipped>()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Whether the one pass clears `body` without the tree (no rule in force may refuse
    /// anything in it, and nothing is repeated).
    fn cleared_in_one_pass(body: &str, allowed: &BTreeSet<ProviderFeature>) -> bool {
        Outline::scan(body.as_bytes(), allowed)
            .is_ok_and(|outline| !outline.needs_tree && outline.repeated.is_none())
    }

    /// Reads `body` both ways and checks they agree (a repeated field aside, which only the
    /// one pass sees); returns whether the one pass cleared it.
    fn read_both(body: &str, allowed: &BTreeSet<ProviderFeature>) -> bool {
        let fast = ClientRequest::read(body.as_bytes(), allowed);
        let tree = ClientRequest::read_tree(body.as_bytes(), allowed);
        match (&fast, &tree) {
            (Ok(fast), Ok(tree)) => {
                assert_eq!(fast.model, tree.model, "{body}");
                assert_eq!(fast.streamed, tree.streamed, "{body}");
                assert_eq!(fast.wants_usage, tree.wants_usage, "{body}");
                assert_eq!(fast.has_stream_options, tree.has_stream_options, "{body}");
                assert_eq!(fast.max_output_tokens, tree.max_output_tokens, "{body}");
                if !matches!(
                    fast.check_policy(),
                    Err(RequestRefused::RepeatedField { .. })
                ) {
                    assert_eq!(fast.check_policy(), tree.check_policy(), "{body}");
                }
                cleared_in_one_pass(body, allowed)
            }
            (Err(fast), Err(tree)) => {
                assert_eq!(fast, tree, "{body}");
                false
            }
            _ => panic!("the two readings disagree on {body}: {fast:?} / {tree:?}"),
        }
    }

    /// The field a repeat of is refused in `body`, if one is.
    fn repeated(body: &str) -> Option<String> {
        match ClientRequest::read(body.as_bytes(), &BTreeSet::new())
            .expect("a request body")
            .check_policy()
        {
            Err(RequestRefused::RepeatedField { field, .. }) => Some(field),
            _ => None,
        }
    }

    #[test]
    fn a_plain_chat_is_read_in_one_pass_with_the_trees_fields() {
        let none = BTreeSet::new();
        let body = json!({
            "model": "gpt-4o", "temperature": 0, "max_tokens": 256, "stream": true,
            "stream_options": {"include_usage": true, "other": [1, {"a": null}]},
            "store": false, "background": false, "service_tier": null,
            "messages": [
                {"role": "system", "content": "be brief"},
                {"role": "user", "content": [{"type": "text", "text": "hi \u{e9} \"quoted\""}]},
                {"role": "assistant", "content": [{"type": "tool_use", "id": "t", "name": "f",
                    "input": {"x": [1.5, -2, 1e300]}}]},
            ],
            "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}},
                      {"name": "g"}, {"type": null}, 7],
        });
        assert!(read_both(&body.to_string(), &none));
        let fast = ClientRequest::read(body.to_string().as_bytes(), &none).unwrap();
        assert_eq!(fast.model.as_deref(), Some("gpt-4o"));
        assert!(fast.streamed && fast.wants_usage && fast.has_stream_options);
        assert_eq!(fast.max_output_tokens, Some(256));
        assert_eq!(fast.check_policy(), Ok(()));
    }

    #[test]
    fn the_readings_agree_on_repeats_escapes_odd_values_and_bad_json() {
        let none = BTreeSet::new();
        for body in [
            r#"{"model":"a","model":7,"stream":true,"stream":"yes"}"#,
            r#"{"mo\u0064el":"escaped","max_completion_tokens":5,"max_tokens":-1}"#,
            r#"{"max_output_tokens":3.0,"max_completion_tokens":9}"#,
            r#"{"stream_options":null}"#,
            r#"{"stream_options":[true],"stream":false}"#,
            r#"{"stream_options":{"include_usage":true},"stream_options":{"include_usage":1}}"#,
            r#"{"stream_options":{"include_usage":true,"include_usage":false}}"#,
            r#"{"tools":{"type":"web_search"},"messages":"plain text"}"#,
            r#"{"messages":[{"type":{"nested":[{"type":"text"}]}}]}"#,
            "{}",
            " { } ",
            "[1, 2]",
            "\"text\"",
            "",
            "{\"model\": \"m\"",
            "{\"model\": \"m\"} trailing",
            "{\"model\": \"m\", \"model\": \"m\"",
            "{\"n\": 1e400}",
            "{\"s\": \"\\ud800\"}",
            "{\"s\": \"bad \\x escape\"}",
            &format!("{{\"deep\": {}1{}}}", "[".repeat(200), "]".repeat(200)),
            &format!("{{\"messages\": {}1{}}}", "[".repeat(126), "]".repeat(126)),
        ] {
            read_both(body, &none);
        }
        let invalid_utf8 = b"{\"model\": \"\xff\"}";
        let fast = ClientRequest::read(invalid_utf8, &none).map(|_| ());
        assert_eq!(
            fast,
            ClientRequest::read_tree(invalid_utf8, &none).map(|_| ()),
            "bytes that are not utf-8"
        );
    }

    #[test]
    fn anything_a_rule_looks_at_is_left_to_the_tree() {
        let none = BTreeSet::new();
        for body in [
            json!({"store": true}),
            json!({"service_tier": "priority"}),
            json!({"prompt": {"id": "p"}}),
            json!({"tools": [{"type": "function"}, {"type": "web_search"}]}),
            json!({"tools": [{"type": 7}]}),
            json!({"messages": [{"role": "user", "content": [
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}]}]}),
            json!({"input": [{"type": "function_call_output", "output": [
                {"type": "input_file", "file_url": "https://x/a.pdf"}]}]}),
            json!({"system": [{"type": "text", "text": "x", "extra": {"type": "item_reference", "id": "i"}}]}),
        ] {
            assert!(!read_both(&body.to_string(), &none), "{body}");
        }
    }

    #[test]
    fn a_repeated_field_a_rule_looks_at_is_refused_on_every_path() {
        // The tree sees `false` and the policy would pass it; a provider may keep `true`.
        let store = r#"{"model":"m","store":true,"store":false}"#;
        assert_eq!(repeated(store).as_deref(), Some("store"));
        assert_eq!(
            ClientRequest::read_tree(store.as_bytes(), &BTreeSet::new())
                .unwrap()
                .check_policy(),
            Ok(()),
            "the tree alone would have let it through"
        );
        let refusal = ClientRequest::read(store.as_bytes(), &BTreeSet::new())
            .unwrap()
            .check_policy()
            .unwrap_err();
        assert_eq!(refusal.field(), "store");
        assert!(
            refusal.to_string().contains("repeats the field `store`"),
            "{refusal}"
        );
        // Repeated once the policy has allowed the feature, too.
        let all = BTreeSet::from([
            ProviderFeature::RemoteInputs,
            ProviderFeature::ProviderTools,
            ProviderFeature::ServiceTier,
            ProviderFeature::ServerState,
        ]);
        assert!(matches!(
            ClientRequest::read(store.as_bytes(), &all)
                .unwrap()
                .check_policy(),
            Err(RequestRefused::RepeatedField { .. })
        ));

        let tools = r#"{"tools":[{"type":"web_search"}],"tools":[]}"#;
        assert_eq!(repeated(tools).as_deref(), Some("tools"));
        assert_eq!(
            repeated(r#"{"model":"cheap","messages":[],"model":"expensive"}"#).as_deref(),
            Some("model")
        );
        assert_eq!(
            repeated(r#"{"mo\u0064el":"a","model":"b"}"#).as_deref(),
            Some("model"),
            "an escaped key is the same key"
        );
        // A repeat that the tree path would otherwise decide (a refused tool is also present).
        assert_eq!(
            repeated(r#"{"tools":[{"type":"function","type":"web_search"}]}"#).as_deref(),
            Some("type")
        );
        assert_eq!(
            repeated(
                r#"{"messages":[{"role":"user","content":[{"type":"image_url","type":"text",
                "image_url":{"url":"https://x"}}]}]}"#
            )
            .as_deref(),
            Some("type")
        );
        assert_eq!(
            repeated(
                r#"{"messages":[{"role":"user","content":[{"type":"image_url",
                "image_url":{"url":"https://x","url":"data:,a"}}]}]}"#
            )
            .as_deref(),
            Some("url")
        );
        assert_eq!(
            repeated(
                r#"{"stream":true,"stream_options":{"include_usage":false,"include_usage":true}}"#
            )
            .as_deref(),
            Some("include_usage")
        );
    }

    #[test]
    fn a_repeated_key_no_rule_looks_at_is_let_through() {
        let none = BTreeSet::new();
        for body in [
            r#"{"model":"m","metadata":{"a":"1","a":"2"}}"#,
            r#"{"model":"m","temperature":0,"temperature":1}"#,
            r#"{"tools":[{"type":"function","function":{"name":"f","name":"g"}}]}"#,
            r#"{"messages":[{"role":"user","content":[{"type":"text","text":"a","text":"b"}]}]}"#,
        ] {
            assert_eq!(repeated(body), None, "{body}");
            assert!(read_both(body, &none), "{body}");
        }
    }

    #[test]
    fn no_rule_looks_at_a_field_the_one_pass_reads_for_itself() {
        for field in MAX_OUTPUT_FIELDS
            .iter()
            .chain(&READ_FIELDS)
            .chain(provider_policy::CONVERSATION_ROOTS)
        {
            assert!(!provider_policy::has_request_rule(field), "{field}");
        }
    }

    #[test]
    fn an_allowed_feature_is_not_a_reason_to_read_the_tree() {
        let body = json!({"service_tier": "priority", "messages": [
            {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://x"}}]}]})
        .to_string();
        let remote_inputs_and_tier =
            BTreeSet::from([ProviderFeature::RemoteInputs, ProviderFeature::ServiceTier]);
        assert!(read_both(&body, &remote_inputs_and_tier));
        assert!(!read_both(
            &body,
            &BTreeSet::from([ProviderFeature::ServiceTier])
        ));
        let refusal = ClientRequest::read(
            body.as_bytes(),
            &BTreeSet::from([ProviderFeature::ServiceTier]),
        )
        .unwrap()
        .check_policy()
        .unwrap_err();
        assert_eq!(refusal.field(), "messages[0].content[0].image_url.url");
    }
}
