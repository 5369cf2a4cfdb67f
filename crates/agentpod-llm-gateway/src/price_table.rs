//! Model prices in USD per million tokens: a built-in table for current OpenAI and Anthropic
//! models, extended and overridden by the spec's price table (read and checked by
//! `agentpod-spec`, with the spec's diagnostics), matched by exact name and then by the longest
//! known prefix so dated snapshots (`gpt-4o-2024-08-06`) find their model.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::llm_api::LlmApi;
use crate::token_usage::TokenUsage;

/// The stand-in model's name; it is priced at zero.
pub const STAND_IN_MODEL: &str = "agentpod-stand-in";

/// USD per million tokens. Reasoning tokens are billed as output (every provider already counts
/// them inside the output tokens).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ModelPrice {
    pub input: f64,
    pub cached_input: f64,
    pub output: f64,
    /// Anthropic prompt-cache writes; `None` bills them as input.
    pub cache_write_input: Option<f64>,
}

impl ModelPrice {
    pub const fn new(input: f64, cached_input: f64, output: f64) -> ModelPrice {
        ModelPrice {
            input,
            cached_input,
            output,
            cache_write_input: None,
        }
    }

    /// The cost of one call's usage under `api`'s counting convention.
    pub fn cost_usd(&self, api: LlmApi, usage: &TokenUsage) -> f64 {
        let per_token = |price: f64, tokens: u64| price * tokens as f64 / 1_000_000.0;
        let output = per_token(self.output, usage.output_tokens);
        match api {
            LlmApi::AnthropicMessages => {
                per_token(self.input, usage.input_tokens)
                    + per_token(self.cached_input, usage.cached_input_tokens)
                    + per_token(
                        self.cache_write_input.unwrap_or(self.input),
                        usage.cache_creation_input_tokens,
                    )
                    + output
            }
            LlmApi::OpenAiChat | LlmApi::OpenAiResponses | LlmApi::Unsupported => {
                // OpenAI's input count includes the cached part, which is billed at its own rate.
                let cached = usage.cached_input_tokens.min(usage.input_tokens);
                per_token(self.input, usage.input_tokens - cached)
                    + per_token(self.cached_input, cached)
                    + output
            }
        }
    }
}

const fn anthropic(input: f64, output: f64) -> ModelPrice {
    // Anthropic bills cache reads at a tenth of input and 5-minute cache writes at 1.25x.
    ModelPrice {
        input,
        cached_input: input / 10.0,
        output,
        cache_write_input: Some(input * 1.25),
    }
}

/// List prices as published by the providers (2025).
const BUILT_IN: &[(&str, ModelPrice)] = &[
    (STAND_IN_MODEL, ModelPrice::new(0.0, 0.0, 0.0)),
    ("gpt-4o", ModelPrice::new(2.50, 1.25, 10.00)),
    ("gpt-4o-mini", ModelPrice::new(0.15, 0.075, 0.60)),
    ("gpt-4.1", ModelPrice::new(2.00, 0.50, 8.00)),
    ("gpt-4.1-mini", ModelPrice::new(0.40, 0.10, 1.60)),
    ("gpt-4.1-nano", ModelPrice::new(0.10, 0.025, 0.40)),
    ("o1", ModelPrice::new(15.00, 7.50, 60.00)),
    ("o3", ModelPrice::new(2.00, 0.50, 8.00)),
    ("o3-mini", ModelPrice::new(1.10, 0.55, 4.40)),
    ("o4-mini", ModelPrice::new(1.10, 0.275, 4.40)),
    ("gpt-5", ModelPrice::new(1.25, 0.125, 10.00)),
    ("gpt-5-mini", ModelPrice::new(0.25, 0.025, 2.00)),
    ("gpt-5-nano", ModelPrice::new(0.05, 0.005, 0.40)),
    ("claude-opus-4", anthropic(15.00, 75.00)),
    ("claude-opus-4-1", anthropic(15.00, 75.00)),
    ("claude-opus-4-5", anthropic(5.00, 25.00)),
    ("claude-sonnet-4", anthropic(3.00, 15.00)),
    ("claude-sonnet-4-5", anthropic(3.00, 15.00)),
    ("claude-3-7-sonnet", anthropic(3.00, 15.00)),
    ("claude-3-5-sonnet", anthropic(3.00, 15.00)),
    ("claude-haiku-4-5", anthropic(1.00, 5.00)),
    ("claude-3-5-haiku", anthropic(0.80, 4.00)),
    ("claude-3-haiku", anthropic(0.25, 1.25)),
];

/// Model name → price.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PriceTable {
    prices: BTreeMap<String, ModelPrice>,
}

impl Default for PriceTable {
    fn default() -> Self {
        Self::built_in()
    }
}

impl PriceTable {
    /// The built-in table.
    pub fn built_in() -> PriceTable {
        PriceTable {
            prices: BUILT_IN
                .iter()
                .map(|(name, price)| ((*name).to_owned(), *price))
                .collect(),
        }
    }

    /// A table with no prices at all (every model unknown).
    pub fn empty() -> PriceTable {
        PriceTable {
            prices: BTreeMap::new(),
        }
    }

    /// Adds or replaces one model's price.
    pub fn insert(&mut self, model: impl Into<String>, price: ModelPrice) {
        self.prices.insert(model.into(), price);
    }

    /// The built-in table, extended and overridden by `models` (a price table file's entries).
    pub fn with_overrides(models: impl IntoIterator<Item = (String, ModelPrice)>) -> PriceTable {
        let mut table = PriceTable::built_in();
        for (model, price) in models {
            table.insert(model, price);
        }
        table
    }

    /// The price of `model`: the exact name, else the longest known name that is a prefix of it
    /// followed by `-` (so `gpt-4o-2024-08-06` is `gpt-4o` but `gpt-5.1` is not `gpt-5`).
    pub fn lookup(&self, model: &str) -> Option<&ModelPrice> {
        if let Some(price) = self.prices.get(model) {
            return Some(price);
        }
        self.prices
            .iter()
            .filter(|(name, _)| {
                model.len() > name.len()
                    && model.starts_with(name.as_str())
                    && model.as_bytes()[name.len()] == b'-'
            })
            .max_by_key(|(name, _)| name.len())
            .map(|(_, price)| price)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dated_snapshots_match_the_longest_prefix() {
        let table = PriceTable::built_in();
        assert_eq!(table.lookup("gpt-4o-2024-08-06"), table.lookup("gpt-4o"));
        assert_eq!(
            table.lookup("gpt-4o-mini-2024-07-18"),
            table.lookup("gpt-4o-mini")
        );
        assert_ne!(
            table.lookup("gpt-4o-mini-2024-07-18"),
            table.lookup("gpt-4o")
        );
        assert_eq!(
            table
                .lookup("claude-opus-4-5-20251101")
                .map(|price| price.input),
            Some(5.0)
        );
        assert_eq!(
            table
                .lookup("claude-sonnet-4-20250514")
                .map(|price| price.output),
            Some(15.0)
        );
    }

    #[test]
    fn unknown_models_and_non_boundary_prefixes_are_not_priced() {
        let table = PriceTable::built_in();
        assert_eq!(table.lookup("gpt-5.1"), None);
        assert_eq!(table.lookup("llama-3"), None);
        assert_eq!(table.lookup("o3x"), None);
    }

    #[test]
    fn openai_cost_bills_cached_input_at_its_rate() {
        let price = ModelPrice::new(2.0, 0.5, 8.0);
        let usage = TokenUsage {
            input_tokens: 1_000_000,
            cached_input_tokens: 400_000,
            output_tokens: 500_000,
            ..TokenUsage::default()
        };
        let cost = price.cost_usd(LlmApi::OpenAiChat, &usage);
        assert!((cost - (1.2 + 0.2 + 4.0)).abs() < 1e-9, "{cost}");
    }

    #[test]
    fn anthropic_cost_adds_cache_reads_and_writes() {
        let price = PriceTable::built_in()
            .lookup("claude-sonnet-4")
            .copied()
            .unwrap();
        let usage = TokenUsage {
            input_tokens: 1_000_000,
            cached_input_tokens: 1_000_000,
            cache_creation_input_tokens: 1_000_000,
            output_tokens: 1_000_000,
            reasoning_tokens: 0,
        };
        let cost = price.cost_usd(LlmApi::AnthropicMessages, &usage);
        assert!((cost - (3.0 + 0.3 + 3.75 + 15.0)).abs() < 1e-9, "{cost}");
    }

    #[test]
    fn overrides_replace_and_extend_the_built_in_table() {
        let table = PriceTable::with_overrides([
            ("gpt-4o".to_string(), ModelPrice::new(1.0, 1.0, 2.0)),
            ("local-llama".to_string(), ModelPrice::new(0.1, 0.05, 0.2)),
        ]);
        assert_eq!(
            table
                .lookup("gpt-4o")
                .map(|price| (price.input, price.cached_input)),
            Some((1.0, 1.0))
        );
        assert_eq!(
            table
                .lookup("local-llama-8b")
                .map(|price| price.cached_input),
            Some(0.05)
        );
        assert!(
            table.lookup("claude-sonnet-4-5").is_some(),
            "the rest stays"
        );
    }
}
