//! The run's seeded template, from the runtime's seed cache: looked up once per run by the key of
//! the image, fixtures and boundary, and on a miss seeded once and cached, so every pod of this
//! run (and of later runs with the same fixtures) starts with it instead of seeding its own.
//!
//! Caching is an optimisation, never a reason to fail: when the runtime keeps no seeds, the cache
//! is turned off, or caching fails, each pod seeds its own template as without a cache. Fixture
//! and boundary errors found while seeding for the cache are the run's errors, as in a pod.

use std::time::Instant;

use agentpod_db::{BoundaryError, FixtureError, PodDatabase, seed_key};
use agentpod_error_chain::ErrorChain;
use agentpod_runtime::{Pod, PodRequest, RuntimeError, SeedCache, SeedImage};
use tokio::sync::OnceCell;

use crate::pod_worker::PodContext;
use crate::run_event::RunEvent;

/// Why pods cannot start from a template: seeding it failed, here or in another pod's attempt.
#[derive(Debug)]
pub(crate) enum TemplateError {
    Fixture(FixtureError),
    Boundary(BoundaryError),
    /// Another pod of the run found the fixtures or the boundary broken, and reported it.
    FailedElsewhere,
}

/// What the first pod to ask found out, shared by all.
#[derive(Debug, Clone)]
enum Prepared {
    /// Start pods from this image; `None`: every pod seeds its own template.
    Seed(Option<SeedImage>),
    Failed,
}

/// Shared by the pods of one run.
#[derive(Debug)]
pub(crate) struct SeededTemplate {
    enabled: bool,
    prepared: OnceCell<Prepared>,
}

impl SeededTemplate {
    /// `enabled: false` (`--no-seed-cache`): every pod seeds its own template.
    pub(crate) fn new(enabled: bool) -> Self {
        Self {
            enabled,
            prepared: OnceCell::new(),
        }
    }

    /// The seed image the pods start from, seeding and caching it first if needed; the other
    /// pods wait for the first one's answer rather than seeding the same template alongside.
    pub(crate) async fn image(
        &self,
        context: &PodContext,
    ) -> Result<Option<SeedImage>, TemplateError> {
        if !self.enabled {
            return Ok(None);
        }
        let Some(cache) = context.runtime.seed_cache() else {
            return Ok(None);
        };
        let mut failure = None;
        let prepared = self
            .prepared
            .get_or_init(|| async {
                match prepare(cache, context).await {
                    Ok(seed) => Prepared::Seed(seed),
                    Err(error) => {
                        failure = Some(error);
                        Prepared::Failed
                    }
                }
            })
            .await;
        if let Some(error) = failure {
            return Err(error);
        }
        match prepared {
            Prepared::Seed(seed) => Ok(seed.clone()),
            Prepared::Failed => Err(TemplateError::FailedElsewhere),
        }
    }
}

/// Starts the pod from `seed` when there is one, else from the spec's image; whether its
/// template is already seeded. A seed image removed since it was found (`agentpod gc --seeds`
/// in another shell) costs this pod its head start, not its start.
pub(crate) async fn start_pod(
    context: &PodContext,
    seed: Option<&SeedImage>,
) -> Result<(Box<dyn Pod>, bool), RuntimeError> {
    let request = |image: &str| PodRequest {
        run_id: context.plan.run_id.clone(),
        pod_index: context.pod,
        image: image.to_string(),
    };
    if let Some(seed) = seed {
        match context.runtime.start_pod(&request(&seed.id)).await {
            Ok(pod) => return Ok((pod, true)),
            Err(error) => {
                tracing::warn!(error = %ErrorChain(&error), image = %seed.name, "cannot start a pod from the seed image; seeding this pod's template instead");
            }
        }
    }
    let pod = context
        .runtime
        .start_pod(&request(&context.plan.spec.database.image))
        .await?;
    Ok((pod, false))
}

async fn prepare(
    cache: &dyn SeedCache,
    context: &PodContext,
) -> Result<Option<SeedImage>, TemplateError> {
    let spec = &context.plan.spec;
    let image = &spec.database.image;
    let identity = match cache.image_identity(image).await {
        Ok(identity) => identity,
        Err(error) => {
            // The pods' own start reports a missing image with what to do about it.
            tracing::debug!(error = %ErrorChain(&error), "cannot identify the database image; not using the seed cache");
            return Ok(None);
        }
    };
    let key = seed_key(&identity, &spec.database.fixtures, spec.boundary.as_ref())
        .map_err(TemplateError::Fixture)?;
    match cache.find_seed(&key).await {
        Ok(Some(seed)) => {
            context
                .reporter
                .report(&RunEvent::TemplateFromCache { image: &seed.name });
            return Ok(Some(seed));
        }
        Ok(None) => {}
        Err(error) => {
            tracing::warn!(error = %ErrorChain(&error), "cannot look up the seed cache; every pod seeds its own template");
            return Ok(None);
        }
    }

    let name = cache.seed_name(&key);
    context
        .reporter
        .report(&RunEvent::SeedingTemplate { image: &name });
    let started = Instant::now();
    let request = PodRequest {
        run_id: context.plan.run_id.clone(),
        pod_index: context.pod,
        image: image.clone(),
    };
    let server = match cache.start_seeding(&request).await {
        Ok(server) => server,
        Err(error) => {
            tracing::warn!(error = %ErrorChain(&error), "cannot start a server to seed for the cache; every pod seeds its own template");
            return Ok(None);
        }
    };
    let seeded = async {
        let mut database = PodDatabase::seed(server.postgres(), &spec.database.fixtures)
            .await
            .map_err(TemplateError::Fixture)?;
        let applied = database.apply_boundary(spec.boundary.as_ref()).await;
        // Every connection closed: the server is stopped for the commit next.
        database.close().await;
        applied.map(|_| ()).map_err(TemplateError::Boundary)
    }
    .await;
    if let Err(error) = seeded {
        if let Err(discard_error) = server.discard().await {
            tracing::warn!(error = %discard_error, "cannot remove the seeding server; `agentpod gc` will");
        }
        return Err(error);
    }
    match server.commit(&key).await {
        Ok(seed) => {
            context.reporter.report(&RunEvent::TemplateCached {
                image: &seed.name,
                seeded_in: started.elapsed(),
            });
            Ok(Some(seed))
        }
        Err(error) => {
            tracing::warn!(error = %ErrorChain(&error), "cannot cache the seeded template; every pod seeds its own");
            Ok(None)
        }
    }
}
