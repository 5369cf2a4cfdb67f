//! The models agentpod asks beside the agent's, started once per run: the LLM judge and the
//! model behind simulated customers (`customer.model`; scripted customers need none), each a [`ModelClient`] with a gateway of its own on loopback
//! (the spec's `judge.gateway` / `customer.gateway`, or its `model` section's upstream), so
//! their calls, tokens and cost are recorded apart from every agent's.

use agentpod_llm_gateway::ModelClient;
use agentpod_spec::{PodSpec, SideModelSpec};

use crate::error::GatewayStartError;
use crate::pod_gateways::llm_config;

/// The run's side models; each `None` when the spec does not ask for it.
#[derive(Clone, Default)]
pub(crate) struct SideModels {
    pub(crate) judge: Option<ModelClient>,
    pub(crate) customer: Option<ModelClient>,
}

impl SideModels {
    pub(crate) async fn start(spec: &PodSpec) -> Result<SideModels, GatewayStartError> {
        let judge = match &spec.judge {
            Some(judge) => Some(start_side_model(spec, &judge.side_model).await?),
            None => None,
        };
        let customer = match &spec.customer.side_model {
            Some(side) => match start_side_model(spec, side).await {
                Ok(client) => Some(client),
                Err(error) => {
                    if let Some(judge) = judge {
                        judge.shutdown().await;
                    }
                    return Err(error);
                }
            },
            None => None,
        };
        Ok(SideModels { judge, customer })
    }

    pub(crate) async fn shutdown(self) {
        if let Some(judge) = self.judge {
            judge.shutdown().await;
        }
        if let Some(customer) = self.customer {
            customer.shutdown().await;
        }
    }
}

async fn start_side_model(
    spec: &PodSpec,
    side: &SideModelSpec,
) -> Result<ModelClient, GatewayStartError> {
    // The spec's checks made sure there is one.
    let gateway = side
        .gateway(spec.model.as_ref())
        .ok_or(GatewayStartError::NoSideModel)?;
    let config = llm_config(gateway, None)?;
    ModelClient::start(config, side.model.clone())
        .await
        .map_err(GatewayStartError::LlmGateway)
}
