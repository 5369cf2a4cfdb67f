//! Generated names: pod ids and passwords. Never fixed names, so runs and pods don't collide.

use rand::RngExt;
use rand::distr::Alphanumeric;

/// Longest part of a run id kept in a pod id; keeps Docker names and unix socket paths short.
const RUN_ID_MAX: usize = 24;

/// `ap-<run>-p<index>-<random>`, using only characters valid in Docker names and paths.
pub(crate) fn pod_id(run_id: &str, pod_index: usize) -> String {
    resource_id(run_id, &format!("p{pod_index}"))
}

/// `ap-<run>-seed-<random>`: the server a run seeds for the seed cache.
pub(crate) fn seeding_id(run_id: &str) -> String {
    resource_id(run_id, "seed")
}

fn resource_id(run_id: &str, role: &str) -> String {
    let run: String = run_id
        .chars()
        .map(|character| {
            if character.is_ascii_alphanumeric() {
                character.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .take(RUN_ID_MAX)
        .collect();
    let run = run.trim_matches('-');
    let run = if run.is_empty() { "run" } else { run };
    format!("ap-{run}-{role}-{}", random_lowercase(6))
}

/// `ap` and 10 random characters: Linux interface names hold at most 15 bytes, so a bridge
/// cannot take the pod id's name.
pub(crate) fn bridge_name() -> String {
    format!("ap{}", random_lowercase(10))
}

pub(crate) fn password() -> String {
    rand::rng()
        .sample_iter(Alphanumeric)
        .take(32)
        .map(char::from)
        .collect()
}

fn random_lowercase(length: usize) -> String {
    rand::rng()
        .sample_iter(Alphanumeric)
        .map(|byte| char::from(byte).to_ascii_lowercase())
        .take(length)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pod_ids_are_unique_and_docker_safe() {
        let first = pod_id("Run 2024/01 ÄÖ", 3);
        let second = pod_id("Run 2024/01 ÄÖ", 3);
        assert_ne!(first, second);
        assert!(first.starts_with("ap-run-2024-01-"), "{first}");
        assert!(first.contains("-p3-"), "{first}");
        assert!(
            first.chars().all(|character| character.is_ascii_lowercase()
                || character.is_ascii_digit()
                || character == '-'),
            "{first}"
        );
    }

    #[test]
    fn seeding_ids_name_their_role() {
        let id = seeding_id("run-1");
        assert!(id.starts_with("ap-run-1-seed-"), "{id}");
        assert_ne!(id, seeding_id("run-1"));
    }

    #[test]
    fn long_and_empty_run_ids_are_shortened_or_replaced() {
        let long = pod_id(&"x".repeat(200), 1);
        assert!(long.len() < 50, "{long}");
        assert!(pod_id("///", 1).starts_with("ap-run-p1-"));
    }

    #[test]
    fn bridge_names_fit_an_interface_name() {
        let name = bridge_name();
        assert!(name.len() <= 15, "{name}");
        assert!(name.starts_with("ap"), "{name}");
        assert_ne!(name, bridge_name());
    }

    #[test]
    fn passwords_are_long_and_differ() {
        let password_one = password();
        assert_eq!(password_one.len(), 32);
        assert_ne!(password_one, password());
    }
}
