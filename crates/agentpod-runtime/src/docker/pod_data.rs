//! How a Docker pod's data directory starts: empty (the image's entrypoint runs initdb), empty
//! and archived as a seed when the server stops, or restored from a seed image's archive.
//!
//! The data directory is always a tmpfs: initdb, seeding and every per-issue clone write to
//! memory. A seed image keeps the seeded cluster as one tar file beside the image's own files;
//! restoring unpacks it into the tmpfs before the image's entrypoint starts the server, which
//! then finds a cluster and skips initdb. One file rather than the cluster's directory: on
//! overlay storage (fuse-overlayfs on this kind of host) reading one file costs a fraction of
//! copying a thousand, and the server then runs on tmpfs rather than on the overlay, where
//! `CREATE DATABASE … TEMPLATE` copies through the overlay twice as slowly.

use bollard::models::ImageInspect;

use crate::labels;

/// The image's data directory (the official image's `PGDATA`), mounted as tmpfs in every pod.
pub(crate) const DATA_DIRECTORY: &str = "/var/lib/postgresql/data";
/// The seeded cluster inside a seed image: outside the official image's `VOLUME`, so it is part
/// of the committed layer.
pub(crate) const SEED_ARCHIVE: &str = "/var/lib/postgresql/agentpod-seed.tar";

/// Runs the image's entrypoint (`"$@"`) in the background, and on SIGINT or SIGTERM stops the
/// server with a fast shutdown (a checkpoint, then a clean exit), archives the data directory and
/// exits 0. Any other end (the server died on its own, or stopped uncleanly) exits 70 and
/// archives nothing. Background commands of a non-interactive shell start with SIGINT ignored;
/// the postmaster installs its own handler, so the forwarded signal still reaches it.
fn seeding_script() -> String {
    format!(
        r#""$@" &
server=$!
stopping=
trap 'stopping=1; kill -INT "$server"' INT TERM
wait "$server"
status=$?
if [ -n "$stopping" ]; then wait "$server"; status=$?; fi
if [ -z "$stopping" ] || [ "$status" -ne 0 ]; then exit 70; fi
exec tar -C "$PGDATA" -cf {SEED_ARCHIVE} ."#
    )
}

/// Unpacks the seed into the (empty) data directory, then hands over to the image's entrypoint.
/// Run as the image's user (root in the official image), so tar keeps the files' owner.
fn restore_script() -> String {
    format!(r#"tar -C "$PGDATA" -xf {SEED_ARCHIVE} && exec "$@""#)
}

/// How one container's data directory starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PodData {
    /// The image's entrypoint initialises an empty cluster.
    Fresh,
    /// Like `Fresh`, and the cluster is archived into the container when the server is stopped,
    /// for `docker commit`.
    Seeding { entrypoint: Vec<String> },
    /// From a seed image: the archived cluster, whose superuser has `password`.
    Restored {
        entrypoint: Vec<String>,
        password: String,
    },
}

impl PodData {
    /// `Restored` for a seed image (one carrying the seed-key label), else `Fresh`.
    pub(crate) fn for_image(image: &ImageInspect) -> PodData {
        let config = image.config.as_ref();
        let is_seed = config
            .and_then(|config| config.labels.as_ref())
            .is_some_and(|labels| labels.contains_key(labels::SEED_KEY));
        if !is_seed {
            return PodData::Fresh;
        }
        // The seeding container's POSTGRES_PASSWORD: committed with its environment, and the
        // password of the archived cluster's superuser (see `DockerRuntime::start_pod`).
        let password = config
            .and_then(|config| config.env.as_ref())
            .into_iter()
            .flatten()
            .find_map(|variable| variable.strip_prefix("POSTGRES_PASSWORD="))
            .unwrap_or_default()
            .to_string();
        PodData::Restored {
            entrypoint: image_entrypoint(image),
            password,
        }
    }

    /// The container's entrypoint (when it replaces the image's) and command.
    pub(crate) fn entrypoint_and_command(
        &self,
        server: Vec<String>,
    ) -> (Option<Vec<String>>, Vec<String>) {
        let wrap = |script: String, entrypoint: &[String]| {
            (
                Some(vec![
                    "sh".to_string(),
                    "-c".to_string(),
                    script,
                    "sh".to_string(),
                ]),
                entrypoint.iter().cloned().chain(server.clone()).collect(),
            )
        };
        match self {
            PodData::Fresh => (None, server),
            PodData::Seeding { entrypoint } => wrap(seeding_script(), entrypoint),
            PodData::Restored { entrypoint, .. } => wrap(restore_script(), entrypoint),
        }
    }
}

/// The image's own entrypoint, which the wrapping scripts hand over to.
pub(crate) fn image_entrypoint(image: &ImageInspect) -> Vec<String> {
    image
        .config
        .as_ref()
        .and_then(|config| config.entrypoint.clone())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use bollard::models::ImageConfig;

    use super::*;

    fn image(labels: &[(&str, &str)], env: &[&str]) -> ImageInspect {
        ImageInspect {
            config: Some(ImageConfig {
                entrypoint: Some(vec!["docker-entrypoint.sh".to_string()]),
                env: Some(env.iter().map(ToString::to_string).collect()),
                labels: Some(
                    labels
                        .iter()
                        .map(|(key, value)| (key.to_string(), value.to_string()))
                        .collect::<HashMap<_, _>>(),
                ),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn only_images_with_a_seed_key_are_restored_with_their_password() {
        assert_eq!(
            PodData::for_image(&image(&[], &["POSTGRES_PASSWORD=x"])),
            PodData::Fresh
        );
        assert_eq!(
            PodData::for_image(&image(
                &[(labels::SEED_KEY, "abc")],
                &["PGDATA=/x", "POSTGRES_PASSWORD=seed-secret"]
            )),
            PodData::Restored {
                entrypoint: vec!["docker-entrypoint.sh".to_string()],
                password: "seed-secret".to_string()
            }
        );
    }

    #[test]
    fn wrapping_scripts_hand_over_to_the_image_entrypoint() {
        let server = vec![
            "postgres".to_string(),
            "-c".to_string(),
            "fsync=off".to_string(),
        ];
        assert_eq!(
            PodData::Fresh.entrypoint_and_command(server.clone()),
            (None, server.clone())
        );
        let (entrypoint, command) = PodData::Seeding {
            entrypoint: vec!["docker-entrypoint.sh".to_string()],
        }
        .entrypoint_and_command(server);
        let entrypoint = entrypoint.unwrap_or_default();
        assert_eq!(entrypoint[..2], ["sh", "-c"]);
        assert!(entrypoint[2].contains(SEED_ARCHIVE), "{}", entrypoint[2]);
        assert_eq!(
            command,
            ["docker-entrypoint.sh", "postgres", "-c", "fsync=off"]
        );
        assert!(restore_script().contains(SEED_ARCHIVE));
    }
}
