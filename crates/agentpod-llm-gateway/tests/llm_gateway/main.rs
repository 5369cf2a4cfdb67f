//! Integration tests of the LLM gateway, driven by the official OpenAI and Anthropic Python SDKs
//! against the stand-in model and a fake upstream.

mod support;

mod connections;
mod failures;
mod fake_upstream_clients;
mod parallel_issues;
mod provider_features;
mod record_replay;
mod stand_in_clients;
mod throttling;
