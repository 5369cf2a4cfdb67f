//! The models agentpod asks beside the agent's, started once per run: the LLM judge and the model
//! behind simulated customers (`customer.model`; scripted customers need none), each a
//! [`ModelClient`] with a gateway of its own, called in process (the spec's `judge.gateway` /
//! `customer.gateway`, or its `model` section's upstream, with that section's limits shared and its
//! cassettes in a subdirectory of their own), so their calls, tokens and cost are recorded apart
//! from every agent's.

use agentpod_llm_gateway::{ModelClient, UpstreamLimiter};
use agentpod_spec::{PodSpec, SideModelSpec};

use crate::error::GatewayStartError;
use crate::pod_gateways::{llm_config, upstream_limiter};

/// The run's side models; each `None` when the spec does not ask for it.
#[derive(Clone, Default)]
pub(crate) struct SideModels {
    pub(crate) judge: Option<ModelClient>,
    pub(crate) customer: Option<ModelClient>,
}

impl SideModels {
    /// `limiter`: the run's upstream limits (of the `model` section), which a side model
    /// without a gateway of its own shares with the agents: it calls the same provider.
    pub(crate) async fn start(
        spec: &PodSpec,
        limiter: Option<&UpstreamLimiter>,
    ) -> Result<SideModels, GatewayStartError> {
        let judge = match &spec.judge {
            Some(judge) => Some(start_side_model(spec, &judge.side_model, "judge", limiter).await?),
            None => None,
        };
        let customer = match &spec.customer.side_model {
            Some(side) => Some(start_side_model(spec, side, "customer", limiter).await?),
            None => None,
        };
        Ok(SideModels { judge, customer })
    }
}

async fn start_side_model(
    spec: &PodSpec,
    side: &SideModelSpec,
    name: &str,
    run_limiter: Option<&UpstreamLimiter>,
) -> Result<ModelClient, GatewayStartError> {
    let (gateway, limiter) = match &side.gateway {
        Some(own) => (own.clone(), upstream_limiter(Some(own))),
        None => {
            // The `model` section's upstream, with a record of its own: its cassettes go to a
            // subdirectory named for it, never among the agents'.
            let mut shared = spec.model.clone().ok_or(GatewayStartError::NoSideModel)?;
            shared.cassettes = shared.cassettes.map(|directory| directory.join(name));
            (shared, run_limiter.cloned())
        }
    };
    let config = llm_config(&gateway, limiter.as_ref())?;
    ModelClient::start(config, side.model.clone())
        .await
        .map_err(GatewayStartError::LlmGateway)
}
