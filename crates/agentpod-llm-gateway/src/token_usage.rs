//! Token counts as the upstream reported them, read from each API's own usage fields.

use serde::Serialize;
use serde_json::Value;

use crate::llm_api::LlmApi;

/// Tokens of one call, exactly as the upstream's usage fields gave them.
///
/// `input_tokens` keeps each provider's meaning: OpenAI's count includes the cached tokens,
/// Anthropic's excludes cache reads and cache writes (they come separately).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct TokenUsage {
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cached_input_tokens: u64,
    /// Anthropic only: tokens written to the prompt cache.
    pub cache_creation_input_tokens: u64,
    pub reasoning_tokens: u64,
}

impl TokenUsage {
    /// Every token the call consumed, whatever the provider's convention. The counts come from
    /// the upstream as it pleases, so sums saturate rather than overflow.
    pub fn total_tokens(&self, api: LlmApi) -> u64 {
        match api {
            LlmApi::AnthropicMessages => self
                .input_tokens
                .saturating_add(self.cached_input_tokens)
                .saturating_add(self.cache_creation_input_tokens)
                .saturating_add(self.output_tokens),
            LlmApi::OpenAiChat | LlmApi::OpenAiResponses | LlmApi::Unsupported => {
                self.input_tokens.saturating_add(self.output_tokens)
            }
        }
    }

    pub(crate) fn add(&mut self, other: &TokenUsage) {
        let add = |total: &mut u64, more: u64| *total = total.saturating_add(more);
        add(&mut self.input_tokens, other.input_tokens);
        add(&mut self.output_tokens, other.output_tokens);
        add(&mut self.cached_input_tokens, other.cached_input_tokens);
        add(
            &mut self.cache_creation_input_tokens,
            other.cache_creation_input_tokens,
        );
        add(&mut self.reasoning_tokens, other.reasoning_tokens);
    }

    /// Reads a `usage` object; `None` when it is absent or null.
    pub(crate) fn from_usage_object(api: LlmApi, usage: &Value) -> Option<TokenUsage> {
        if !usage.is_object() {
            return None;
        }
        let number = |path: &[&str]| -> u64 {
            let mut current = usage;
            for key in path {
                match current.get(key) {
                    Some(next) => current = next,
                    None => return 0,
                }
            }
            current.as_u64().unwrap_or(0)
        };
        Some(match api {
            LlmApi::OpenAiChat | LlmApi::Unsupported => TokenUsage {
                input_tokens: number(&["prompt_tokens"]),
                output_tokens: number(&["completion_tokens"]),
                cached_input_tokens: number(&["prompt_tokens_details", "cached_tokens"]),
                cache_creation_input_tokens: 0,
                reasoning_tokens: number(&["completion_tokens_details", "reasoning_tokens"]),
            },
            LlmApi::OpenAiResponses => TokenUsage {
                input_tokens: number(&["input_tokens"]),
                output_tokens: number(&["output_tokens"]),
                cached_input_tokens: number(&["input_tokens_details", "cached_tokens"]),
                cache_creation_input_tokens: 0,
                reasoning_tokens: number(&["output_tokens_details", "reasoning_tokens"]),
            },
            LlmApi::AnthropicMessages => TokenUsage {
                input_tokens: number(&["input_tokens"]),
                output_tokens: number(&["output_tokens"]),
                cached_input_tokens: number(&["cache_read_input_tokens"]),
                cache_creation_input_tokens: number(&["cache_creation_input_tokens"]),
                reasoning_tokens: 0,
            },
        })
    }

    /// Merges an Anthropic `message_delta` usage into what `message_start` gave: the delta's
    /// counts are cumulative, so each field it carries replaces the earlier one.
    pub(crate) fn merge_anthropic_delta(&mut self, usage: &Value) {
        let replace = |field: &mut u64, key: &str| {
            if let Some(value) = usage.get(key).and_then(Value::as_u64) {
                *field = value;
            }
        };
        replace(&mut self.input_tokens, "input_tokens");
        replace(&mut self.output_tokens, "output_tokens");
        replace(&mut self.cached_input_tokens, "cache_read_input_tokens");
        replace(
            &mut self.cache_creation_input_tokens,
            "cache_creation_input_tokens",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_openai_chat_usage_with_details() {
        let usage = json!({"prompt_tokens": 100, "completion_tokens": 20,
            "prompt_tokens_details": {"cached_tokens": 40},
            "completion_tokens_details": {"reasoning_tokens": 5}});
        let read = TokenUsage::from_usage_object(LlmApi::OpenAiChat, &usage).unwrap();
        assert_eq!(
            read,
            TokenUsage {
                input_tokens: 100,
                output_tokens: 20,
                cached_input_tokens: 40,
                cache_creation_input_tokens: 0,
                reasoning_tokens: 5
            }
        );
        assert_eq!(read.total_tokens(LlmApi::OpenAiChat), 120);
    }

    #[test]
    fn anthropic_total_counts_cache_reads_and_writes() {
        let usage = json!({"input_tokens": 10, "output_tokens": 3,
            "cache_read_input_tokens": 50, "cache_creation_input_tokens": 7});
        let read = TokenUsage::from_usage_object(LlmApi::AnthropicMessages, &usage).unwrap();
        assert_eq!(read.total_tokens(LlmApi::AnthropicMessages), 70);
    }

    /// Found while writing the `llm_stream` fuzz target (its overflow checks panic): an upstream
    /// reporting `u64::MAX` tokens overflowed the total.
    #[test]
    fn totals_of_absurd_counts_saturate() {
        let usage = json!({"prompt_tokens": u64::MAX, "completion_tokens": 1});
        let read = TokenUsage::from_usage_object(LlmApi::OpenAiChat, &usage).unwrap();
        assert_eq!(read.total_tokens(LlmApi::OpenAiChat), u64::MAX);
        let mut sum = read;
        sum.add(&read);
        assert_eq!(sum.input_tokens, u64::MAX);
    }

    #[test]
    fn anthropic_delta_replaces_only_present_fields() {
        let mut usage = TokenUsage {
            input_tokens: 10,
            output_tokens: 1,
            ..TokenUsage::default()
        };
        usage.merge_anthropic_delta(&json!({"output_tokens": 42}));
        assert_eq!((usage.input_tokens, usage.output_tokens), (10, 42));
    }

    #[test]
    fn null_usage_is_absent() {
        assert_eq!(
            TokenUsage::from_usage_object(LlmApi::OpenAiChat, &Value::Null),
            None
        );
    }
}
