//! End-to-end tests: the `agentpod` binary driven as a user drives it, against the real Docker
//! engine, real Postgres (in containers and from the host's binaries) and real agent processes.
//! One binary with a module per concern (STYLE.md: tests in layers).

mod bad_input_corpus;
mod boundary;
mod container_agent;
mod demo;
mod deploy_kubernetes;
mod escape_suite;
mod evaluation_sets;
mod faults;
mod gateways;
mod gold_grading;
mod interrupt;
mod invalid_input;
mod issue_sources;
mod judge_and_customer;
mod local_seed_cache;
mod misbehaving_agents;
mod promotion;
mod provider_throttling;
mod report_models;
mod reports;
mod resume;
mod seed_cache;
mod separation;
mod shards;
mod shared_store;
mod store_faults;
mod swarm;
mod tool_benchmark;
mod trials;
mod viewer;
