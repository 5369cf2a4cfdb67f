//! `SeedCache`: seeded templates kept between runs, keyed by what went into them, so a pod whose
//! fixtures did not change starts with its template already there instead of seeding it.
//!
//! The runtime only stores and restores a seeded server's data; what the key covers (image,
//! fixtures, boundary) and the seeding itself belong to the caller.

use async_trait::async_trait;

use crate::error::RuntimeError;
use crate::pod_request::PodRequest;
use agentpod_postgres_server::PostgresEndpoint;

/// The repository seed images are committed to; the tag is the key's first characters.
pub const SEED_REPOSITORY: &str = "agentpod-seed";
/// Hex characters of the key in the tag: enough to tell seeds apart at a glance. The full key is
/// in the image's labels, and lookups go by the label, never by the tag.
const TAG_LENGTH: usize = 16;

/// A cached seed: a Postgres image that starts with the seeded cluster (Docker), or the cache
/// entry of a stopped seeded cluster (local: `id` and `name` are the entry's path). Start pods
/// from it by putting [`SeedImage::id`] into [`PodRequest::image`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedImage {
    /// The image id: stays valid when another run moves the tag to its own commit of the same key.
    pub id: String,
    /// `agentpod-seed:<key prefix>`, for people.
    pub name: String,
}

/// The name a seed for `key` is tagged with.
pub fn seed_image_name(key: &str) -> String {
    let tag: String = key.chars().take(TAG_LENGTH).collect();
    format!("{SEED_REPOSITORY}:{tag}")
}

/// Where a runtime keeps seeds.
#[async_trait]
pub trait SeedCache: Send + Sync {
    /// What identifies the content of the database image (its id), for the key: a rebuilt image
    /// must not restore a cluster another build made.
    async fn image_identity(&self, image: &str) -> Result<String, RuntimeError>;

    /// What people see as the name of the seed of `key` (progress lines), before it exists:
    /// the image name by default.
    fn seed_name(&self, key: &str) -> String {
        seed_image_name(key)
    }

    /// A seed cached under `key`, if there is one.
    async fn find_seed(&self, key: &str) -> Result<Option<SeedImage>, RuntimeError>;

    /// Starts a Postgres server to be seeded through its endpoint and then kept with
    /// [`SeedingServer::commit`]. Dropped without committing, it is removed.
    async fn start_seeding(
        &self,
        request: &PodRequest,
    ) -> Result<Box<dyn SeedingServer>, RuntimeError>;
}

/// A server being seeded for the cache. Close every connection to it before committing.
#[async_trait]
pub trait SeedingServer: Send + Sync {
    fn postgres(&self) -> &PostgresEndpoint;

    /// Stops the server cleanly, keeps its data as the seed for `key`, and removes the server.
    /// Two runs committing the same key at once both succeed, and settle on the same image.
    async fn commit(self: Box<Self>, key: &str) -> Result<SeedImage, RuntimeError>;

    /// Removes the server without keeping anything.
    async fn discard(self: Box<Self>) -> Result<(), RuntimeError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_names_carry_the_key_prefix() {
        let key = "0123456789abcdef0123456789abcdef";
        assert_eq!(seed_image_name(key), "agentpod-seed:0123456789abcdef");
    }
}
