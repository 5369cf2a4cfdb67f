//! `PodGateways`: the gateways of one pod — the tool gateway (MCP) and the trace intake, and the
//! LLM gateway when the spec names a model — started with the pod, handing each issue its own
//! tokens and URLs (and the tool gateway the issue's simulated customer), and turning what they
//! recorded into the issue's steps and usage.
//!
//! They listen where the agent can reach them and nothing else can: on loopback for agents on
//! the host, on the pod bridge's host-side address for agents in containers (whose firewall then
//! opens exactly these ports).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use agentpod_error_chain::ErrorChain;
use agentpod_gateway_http::IssueToken;
use agentpod_grade::ConversationTurn;
use agentpod_llm_gateway::{
    DEFAULT_MAX_QUEUED_CALLS, LlmBudget, LlmConfig, LlmGateway, ModelPrice, PriceTable,
    RetryPolicy, StandInRule, StandInRules, Upstream, UpstreamLimiter, UpstreamLimits,
};
use agentpod_runtime::Pod;
use agentpod_spec::{ModelSpec, ModelUpstream};
use agentpod_store::{IssueUsage, StepDetail, StepRecord};
use agentpod_tool_gateway::{ProxiedServer, ToolCallOutcome, ToolConfig, ToolGateway, ToolLimits};
use agentpod_trace::{TraceIntake, TraceIntakeConfig};

use crate::error::GatewayStartError;
use crate::issue_judge::side_model_steps;
use crate::run_plan::RunPlan;
use crate::simulated_customer::SharedCustomer;
use crate::step_details::{
    model_call_detail, rejected_tool_request, rejected_trace_export, tool_call_detail,
};

pub(crate) struct PodGateways {
    tools: ToolGateway,
    traces: TraceIntake,
    /// Only when the spec names a model.
    models: Option<LlmGateway>,
}

/// What the gateways recorded for one trial.
#[derive(Default)]
pub(crate) struct FinishedGateways {
    pub(crate) steps: Vec<StepRecord>,
    pub(crate) usage: IssueUsage,
    /// The turns the issue's simulated customer answered, as it had them; empty without one.
    pub(crate) conversation: Vec<ConversationTurn>,
}

/// One issue's access to the gateways: the agent's variables, and the tokens to finish with.
pub(crate) struct IssueGateways {
    pub(crate) environment: Vec<(String, String)>,
    tool_token: Option<IssueToken>,
    trace_token: IssueToken,
    model_token: Option<IssueToken>,
    /// The issue's simulated customer, whose model calls are the issue's too (apart from the
    /// agent's).
    customer: Option<SharedCustomer>,
}

impl PodGateways {
    /// `upstream_limiter`: the run's, shared by every pod's LLM gateway.
    pub(crate) async fn start(
        plan: &RunPlan,
        pod: &dyn Pod,
        upstream_limiter: Option<&UpstreamLimiter>,
    ) -> Result<PodGateways, GatewayStartError> {
        let address: IpAddr = if plan.spec.agent.image.is_some() {
            let host = pod.host_address().ok_or(GatewayStartError::NoPodNetwork)?;
            host.parse()
                .map_err(|source| GatewayStartError::HostAddress {
                    host: host.to_string(),
                    source,
                })?
        } else {
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        };
        let bind = SocketAddr::new(address, 0);
        let tools_spec = &plan.spec.tools;
        let tool_config = ToolConfig {
            sql_functions_schema: tools_spec.sql_functions_schema.clone(),
            servers: tools_spec
                .servers
                .iter()
                .map(|server| match &server.kind {
                    agentpod_spec::ToolServerKind::Command(command) => ProxiedServer::Command {
                        name: server.name.clone(),
                        command: command.clone(),
                    },
                    agentpod_spec::ToolServerKind::Url(url) => ProxiedServer::Url {
                        name: server.name.clone(),
                        url: url.clone(),
                    },
                })
                .collect(),
            ..ToolConfig::default()
        };
        let tools = ToolGateway::start(bind, tool_config)
            .await
            .map_err(GatewayStartError::ToolGateway)?;
        let traces = match TraceIntake::start(bind, TraceIntakeConfig::default()).await {
            Ok(traces) => traces,
            Err(error) => {
                tools.shutdown().await;
                return Err(GatewayStartError::TraceIntake(error));
            }
        };
        let models = match &plan.spec.model {
            None => None,
            Some(model) => {
                let started = match llm_config(model, upstream_limiter) {
                    Ok(config) => LlmGateway::start(bind, config)
                        .await
                        .map_err(GatewayStartError::LlmGateway),
                    Err(error) => Err(error),
                };
                match started {
                    Ok(gateway) => Some(gateway),
                    Err(error) => {
                        tools.shutdown().await;
                        traces.shutdown().await;
                        return Err(error);
                    }
                }
            }
        };
        let mut ports = vec![tools.local_addr().port(), traces.local_addr().port()];
        ports.extend(models.as_ref().map(|gateway| gateway.local_addr().port()));
        if let Err(error) = pod.allow_host_ports(&ports).await {
            tracing::warn!(error = %ErrorChain(&error), "cannot open the gateways' ports to the pod");
        }
        Ok(PodGateways {
            tools,
            traces,
            models,
        })
    }

    pub(crate) fn register(
        &self,
        plan: &RunPlan,
        issue_id: &str,
        agent_database_url: &str,
        customer: Option<SharedCustomer>,
    ) -> IssueGateways {
        let mut environment = Vec::new();
        let limits = ToolLimits {
            max_tool_calls: plan.spec.budgets.max_tool_calls,
        };
        let channel = customer
            .clone()
            .map(|customer| customer as std::sync::Arc<dyn agentpod_tool_gateway::Customer>);
        let tool_token = match self.tools.register_issue_with_customer(
            issue_id,
            agent_database_url,
            limits,
            channel,
        ) {
            Ok(access) => {
                environment.extend(access.environment());
                Some(access.token)
            }
            Err(error) => {
                tracing::warn!(issue = issue_id, error = %ErrorChain(&error), "cannot register the issue with the tool gateway");
                None
            }
        };
        let trace_access = self.traces.register_issue(issue_id);
        environment.extend(trace_access.environment());
        let model_token = self.models.as_ref().map(|gateway| {
            let budgets = &plan.spec.budgets;
            let budget = LlmBudget {
                max_cost_usd: budgets.max_cost_usd,
                max_calls: budgets.max_llm_calls,
                max_tokens: budgets.max_tokens,
            };
            let access = gateway.register_issue(issue_id, budget);
            environment.extend(access.environment());
            access.token
        });
        IssueGateways {
            environment,
            tool_token,
            trace_token: trace_access.token,
            model_token,
            customer,
        }
    }

    /// The pod's tool gateway, which graders call tools through (the gold actions' replay).
    pub(crate) fn tools(&self) -> &ToolGateway {
        &self.tools
    }

    /// Everything the gateways recorded for the issue's trial, as steps, its totals, and the
    /// conversation its simulated customer had.
    pub(crate) fn finish(
        &self,
        issue_id: &str,
        trial: u32,
        access: IssueGateways,
    ) -> FinishedGateways {
        let mut steps = Vec::new();
        let mut usage = IssueUsage::default();
        let step = |started_at, latency_ms, detail| StepRecord {
            issue_id: issue_id.to_string(),
            trial,
            started_at,
            latency_ms: Some(latency_ms),
            detail,
        };
        if let Some(token) = access.tool_token {
            let record = self.tools.finish_issue(&token);
            usage.budget_stops += record.limit_stops;
            let listed = record.rejected_requests.len();
            for (index, request) in record.rejected_requests.into_iter().enumerate() {
                let (started_at, latency_ms) =
                    (parse_time(&request.started_at), request.latency_ms);
                let mut detail = rejected_tool_request(request);
                if index + 1 == listed {
                    detail.not_listed_after = record.unlisted_rejections;
                }
                steps.push(step(
                    started_at,
                    latency_ms,
                    StepDetail::RejectedRequest(detail),
                ));
            }
            for call in record.calls {
                if matches!(call.outcome, ToolCallOutcome::Ok | ToolCallOutcome::Error) {
                    usage.tool_calls += 1;
                }
                steps.push(step(
                    parse_time(&call.started_at),
                    call.latency_ms,
                    StepDetail::ToolCall(tool_call_detail(call)),
                ));
            }
        }
        if let (Some(gateway), Some(token)) = (&self.models, &access.model_token) {
            let record = gateway.finish_issue(token);
            let totals = &record.totals;
            usage.llm_calls = totals.calls.saturating_sub(record.budget_stops);
            usage.input_tokens = totals.usage.input_tokens;
            usage.output_tokens = totals.usage.output_tokens;
            usage.unpriced_calls = totals.unpriced_calls;
            usage.budget_stops += record.budget_stops;
            // Nothing priced (only unknown models, or no calls) is an unknown cost, not zero.
            let priced = totals.calls > totals.unpriced_calls + record.budget_stops;
            usage.cost_usd = priced.then_some(totals.cost_usd);
            for call in &record.calls {
                usage.model_retries += call.throttling.retries;
                usage.throttled_ms += call.throttling.throttled_ms();
            }
            for call in record.calls {
                steps.push(step(
                    Some(call.started_at),
                    call.latency_ms,
                    StepDetail::LlmCall(model_call_detail(call)),
                ));
            }
        }
        let mut conversation = Vec::new();
        if let Some(customer) = &access.customer {
            let (transcript, record) = customer.finish();
            conversation = transcript;
            if let Some((model, record)) = record {
                let (customer_steps, customer_usage) =
                    side_model_steps(&model, record, (issue_id, trial), StepDetail::CustomerCall);
                steps.extend(customer_steps);
                usage.side_models.customer = Some(customer_usage);
            }
        }
        let traces = self.traces.finish_issue(&access.trace_token);
        for export in &traces.exports {
            if let Some(detail) = rejected_trace_export(export) {
                steps.push(step(
                    parse_time(&export.started_at),
                    export.latency_ms,
                    StepDetail::RejectedRequest(detail),
                ));
            }
        }
        for span in traces.spans {
            steps.push(step(
                parse_time(&span.start),
                span.duration_ms,
                StepDetail::Span(span),
            ));
        }
        FinishedGateways {
            steps,
            usage,
            conversation,
        }
    }

    /// Revokes the issue's tokens, discarding what they recorded: for an issue that ends
    /// without being recorded.
    pub(crate) fn revoke(&self, access: IssueGateways) {
        if let Some(token) = &access.tool_token {
            self.tools.finish_issue(token);
        }
        if let (Some(gateway), Some(token)) = (&self.models, &access.model_token) {
            gateway.finish_issue(token);
        }
        if let Some(customer) = &access.customer {
            // Its model session's token goes too.
            customer.finish();
        }
        self.traces.finish_issue(&access.trace_token);
    }

    pub(crate) async fn shutdown(self) {
        self.tools.shutdown().await;
        self.traces.shutdown().await;
        if let Some(models) = self.models {
            models.shutdown().await;
        }
    }
}

/// The run's upstream limits from the spec's `model.limits`, made once per run and shared by
/// every pod's gateway; `None` when the spec sets none or the upstream calls no server.
pub(crate) fn upstream_limiter(model: Option<&ModelSpec>) -> Option<UpstreamLimiter> {
    let model = model.filter(|model| model.upstream.is_real())?;
    let limits = &model.limits;
    limits.any().then(|| {
        UpstreamLimiter::new(UpstreamLimits {
            requests_per_minute: limits.requests_per_minute,
            tokens_per_minute: limits.tokens_per_minute,
            concurrent_calls: limits.concurrent_calls,
            max_queued_calls: limits
                .max_queued_calls
                .map_or(DEFAULT_MAX_QUEUED_CALLS, |calls| calls as usize),
        })
    })
}

/// The LLM gateway's configuration from the spec's `model` section. The real provider's key is
/// read from agentpod's own environment here; it never reaches the agent.
pub(crate) fn llm_config(
    model: &ModelSpec,
    upstream_limiter: Option<&UpstreamLimiter>,
) -> Result<LlmConfig, GatewayStartError> {
    let api_key = || -> Result<String, GatewayStartError> {
        let variable = model.api_key_env().unwrap_or("OPENAI_API_KEY");
        std::env::var(variable).map_err(|_| GatewayStartError::MissingKey {
            upstream: model.upstream.name(),
            variable: variable.to_string(),
        })
    };
    let real = |upstream: Upstream| match &model.cassettes {
        Some(cassette_dir) => Upstream::Record {
            upstream: Box::new(upstream),
            cassette_dir: cassette_dir.clone(),
        },
        None => upstream,
    };
    let upstream = match model.upstream {
        ModelUpstream::StandIn => Upstream::StandIn(StandInRules {
            rules: model
                .stand_in
                .rules
                .iter()
                .map(|rule| StandInRule {
                    when: rule.when.clone(),
                    tool: rule.tool.clone(),
                    arguments: rule.arguments.clone(),
                    reply: rule.reply.clone(),
                })
                .collect(),
        }),
        ModelUpstream::Replay => Upstream::Replay {
            cassette_dir: model
                .cassettes
                .clone()
                .ok_or(GatewayStartError::ReplayWithoutCassettes)?,
        },
        ModelUpstream::OpenAi => real(Upstream::OpenAi {
            base_url: model
                .base_url
                .clone()
                .unwrap_or_else(|| "https://api.openai.com/v1".to_string()),
            api_key: api_key()?,
        }),
        ModelUpstream::Anthropic => real(Upstream::Anthropic {
            base_url: model
                .base_url
                .clone()
                .unwrap_or_else(|| "https://api.anthropic.com".to_string()),
            api_key: api_key()?,
        }),
        ModelUpstream::OpenAiCompatible => real(Upstream::OpenAiCompatible {
            base_url: model
                .base_url
                .clone()
                .ok_or(GatewayStartError::CompatibleWithoutBaseUrl)?,
            api_key: model
                .api_key_env()
                .and_then(|variable| std::env::var(variable).ok()),
        }),
    };
    // The spec read and checked the price table file when it was loaded.
    let prices = PriceTable::with_overrides(model.price_table.iter().map(|entry| {
        (
            entry.model.clone(),
            ModelPrice {
                input: entry.input,
                cached_input: entry.cached_input.unwrap_or(entry.input),
                output: entry.output,
                cache_write_input: entry.cache_write_input,
            },
        )
    }));
    let mut config = LlmConfig::new(upstream);
    config.prices = prices;
    config.request_timeout = model.timeout;
    // The spec names only features the gateway knows (`agentpod_spec::PROVIDER_FEATURES`).
    config.allowed_provider_features = model
        .allow_provider_features
        .iter()
        .filter_map(|name| serde_json::from_value(serde_json::Value::from(name.as_str())).ok())
        .collect();
    // Recorded and replayed answers are the same every time: only a server is worth asking again.
    if model.upstream.is_real() {
        config.upstream_limits = upstream_limiter.cloned();
        config.retry = RetryPolicy {
            max_retries: model.retries.max_retries,
            initial_backoff: model.retries.initial_backoff,
            max_backoff: model.retries.max_backoff,
            jitter_seed: rand_seed(),
        };
    }
    Ok(config)
}

/// A seed for the retries' jitter, different per gateway so pods do not retry in step.
fn rand_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(0);
    hasher.finish()
}

/// A gateway's RFC 3339 time; the gateways write nothing else, so `None` is never expected.
fn parse_time(text: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|time| time.with_timezone(&chrono::Utc))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use agentpod_spec::{ModelSpec, ModelUpstream, StandInSpec};

    use super::*;

    fn model(upstream: ModelUpstream) -> ModelSpec {
        ModelSpec {
            upstream,
            base_url: None,
            api_key_env: Some("AGENTPOD_TEST_KEY_THAT_IS_NOT_SET".to_string()),
            cassettes: None,
            prices: None,
            price_table: Vec::new(),
            timeout: Duration::from_secs(5),
            stand_in: StandInSpec::default(),
            allow_provider_features: Vec::new(),
            limits: Default::default(),
            retries: Default::default(),
        }
    }

    fn llm_config_alone(model: &ModelSpec) -> Result<LlmConfig, GatewayStartError> {
        llm_config(model, None)
    }

    #[test]
    fn what_the_spec_asks_for_and_this_machine_lacks_is_a_typed_error() {
        let Err(GatewayStartError::MissingKey { upstream, variable }) =
            llm_config_alone(&model(ModelUpstream::OpenAi))
        else {
            panic!("a real upstream without its key must not start");
        };
        assert_eq!(
            (upstream, variable.as_str()),
            ("openai", "AGENTPOD_TEST_KEY_THAT_IS_NOT_SET")
        );
        assert!(matches!(
            llm_config_alone(&model(ModelUpstream::Replay)),
            Err(GatewayStartError::ReplayWithoutCassettes)
        ));
        assert!(matches!(
            llm_config_alone(&model(ModelUpstream::OpenAiCompatible)),
            Err(GatewayStartError::CompatibleWithoutBaseUrl)
        ));
        assert!(llm_config_alone(&model(ModelUpstream::StandIn)).is_ok());
    }
}
