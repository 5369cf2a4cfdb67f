//! `agentpod deploy`: the manifests that spread one run's shards over an orchestrator, written
//! to stdout after the spec they run was checked here.

use agentpod_deploy::KubernetesDeployment;

use crate::cli::{DeployArgs, DeployTarget};
use crate::exit_code::Exit;
use crate::failure::Failure;

pub(crate) fn deploy(args: DeployArgs) -> Result<Exit, Failure> {
    let DeployTarget::Kubernetes(args) = args.target;
    let spec = agentpod_spec::load(&args.spec)
        .map_err(|error| Failure::new(Exit::InvalidInput, error.to_string()))?;
    let name = args
        .name
        .unwrap_or_else(|| format!("{}-shards", dns_label(&spec.name)));
    let deployment = KubernetesDeployment {
        name,
        spec_path: args.spec.to_string_lossy().into_owned(),
        shards: args.shards,
        image: args.image,
        group: args.group,
        namespace: args.namespace,
        egress: args.egress,
        run_arguments: args.run_arguments,
        retries_per_shard: args.retries_per_shard,
    };
    let manifests = deployment.manifests().map_err(|error| {
        Failure::new(
            Exit::InvalidInput,
            format!("cannot write the Kubernetes manifests: {error}"),
        )
    })?;
    print!("{manifests}");
    Ok(Exit::Success)
}

/// `name` as a DNS label: lowercase, runs of anything else as one `-`, at most 40 characters.
fn dns_label(name: &str) -> String {
    let mut label = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            label.push(c.to_ascii_lowercase());
        } else if !label.ends_with('-') {
            label.push('-');
        }
    }
    let label: String = label.trim_matches('-').chars().take(40).collect();
    match label.trim_end_matches('-') {
        "" => "agentpod".to_owned(),
        label => label.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::dns_label;

    #[test]
    fn spec_names_become_dns_labels() {
        assert_eq!(dns_label("Support Triage_v2"), "support-triage-v2");
        assert_eq!(dns_label("--"), "agentpod");
    }
}
