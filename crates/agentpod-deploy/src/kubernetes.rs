//! A run's shards as a Kubernetes Indexed Job. Each of the Job's N indexes is one pod that runs
//! `agentpod run SPEC --shard K/N` (K = `JOB_COMPLETION_INDEX` + 1) with the local runtime, so
//! the pod's Postgres and the sandboxed agent live inside it, and writes its part to a shared
//! volume as a bundle; `agentpod merge` makes the one run of them. A NetworkPolicy keeps
//! everything in those pods from reaching anything but the egress the user names (the model
//! provider, a shared store); ingress is closed.
//!
//! No Kubernetes server runs where agentpod is tested: the manifests are checked against the
//! Kubernetes OpenAPI schemas offline (see the README), not applied.

use serde_json::{Value, json};

use crate::shard_script::{RESULTS_PATH, ShardIndex, ShardScript};
use crate::yaml::to_yaml_stream;

/// The claim (ReadWriteMany) every shard's pod mounts at [`RESULTS_PATH`].
const RESULTS_CLAIM_SUFFIX: &str = "results";

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum KubernetesError {
    #[error("--shards must be at least 1")]
    NoShards,
    #[error("`{value}` is not a Kubernetes name: {why}")]
    BadName { value: String, why: &'static str },
    #[error("egress `{value}` is not CIDR:PORT (e.g. 203.0.113.0/24:443)")]
    BadEgress { value: String },
    #[error("the spec path `{0}` must be relative to the image's working directory")]
    AbsoluteSpec(String),
}

/// One address range and port the pods may open connections to.
#[derive(Debug, Clone, PartialEq)]
pub struct EgressRule {
    pub cidr: String,
    pub port: u16,
}

impl std::str::FromStr for EgressRule {
    type Err = KubernetesError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let bad = || KubernetesError::BadEgress {
            value: value.to_owned(),
        };
        let (cidr, port) = value.rsplit_once(':').ok_or_else(bad)?;
        let port: u16 = port.parse().map_err(|_| bad())?;
        let (address, bits) = cidr.split_once('/').ok_or_else(bad)?;
        let bits: u8 = bits.parse().map_err(|_| bad())?;
        let address: std::net::IpAddr = address.parse().map_err(|_| bad())?;
        if port == 0 || bits > if address.is_ipv4() { 32 } else { 128 } {
            return Err(bad());
        }
        Ok(EgressRule {
            cidr: cidr.to_owned(),
            port,
        })
    }
}

/// What `agentpod deploy kubernetes` writes.
#[derive(Debug, Clone)]
pub struct KubernetesDeployment {
    /// The Job's name, and the prefix of everything else's (a DNS label).
    pub name: String,
    /// The pod spec, relative to the image's working directory.
    pub spec_path: String,
    pub shards: u32,
    /// An image with agentpod, the project (spec, fixtures, issues, agent) at its working
    /// directory, and Postgres's server binaries (the local runtime).
    pub image: String,
    /// The run group every shard records; derived by `agentpod run` when absent.
    pub group: Option<String>,
    pub namespace: Option<String>,
    pub egress: Vec<EgressRule>,
    /// Extra arguments for `agentpod run` (e.g. `--sample 500 --trials 3 --seed 7`).
    pub run_arguments: Vec<String>,
    /// How often one shard is tried again after its pod failed (a lost node, an OOM kill): the
    /// retry resumes the shard's run from its store on the shared volume.
    pub retries_per_shard: u32,
}

/// A DNS-1123 label, as Kubernetes wants for names: lowercase letters, digits and `-`.
fn check_label(value: &str, max: usize) -> Result<(), KubernetesError> {
    let bad = |why| KubernetesError::BadName {
        value: value.to_owned(),
        why,
    };
    if value.is_empty() || value.len() > max {
        return Err(bad("it must have 1 to 52 characters"));
    }
    if !value
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return Err(bad("use lowercase letters, digits and '-' only"));
    }
    if value.starts_with('-') || value.ends_with('-') {
        return Err(bad("it must start and end with a letter or digit"));
    }
    Ok(())
}

impl KubernetesDeployment {
    /// The manifests as one YAML stream: the results claim, the NetworkPolicy and the Job.
    pub fn manifests(&self) -> Result<String, KubernetesError> {
        if self.shards == 0 {
            return Err(KubernetesError::NoShards);
        }
        // Room for the suffixes Kubernetes and these manifests add (the Job's pods add an
        // index and a random part) under the 63 characters of a label.
        check_label(&self.name, 52)?;
        if let Some(namespace) = &self.namespace {
            check_label(namespace, 52)?;
        }
        if self.spec_path.starts_with('/') {
            return Err(KubernetesError::AbsoluteSpec(self.spec_path.clone()));
        }
        Ok(to_yaml_stream(&[
            self.results_claim(),
            self.network_policy(),
            self.job(),
        ]))
    }

    fn metadata(&self, name: String) -> Value {
        let mut metadata = json!({ "name": name, "labels": self.labels() });
        if let Some(namespace) = &self.namespace {
            metadata["namespace"] = json!(namespace);
        }
        metadata
    }

    fn labels(&self) -> Value {
        json!({
            "app.kubernetes.io/name": "agentpod",
            "app.kubernetes.io/component": "shard",
            "app.kubernetes.io/instance": self.name,
        })
    }

    fn results_claim(&self) -> Value {
        json!({
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": self.metadata(format!("{}-{RESULTS_CLAIM_SUFFIX}", self.name)),
            "spec": {
                "accessModes": ["ReadWriteMany"],
                "resources": { "requests": { "storage": "1Gi" } },
            },
        })
    }

    /// Nothing may connect to the shards' pods; they may connect only to the named egress
    /// (and, when some is named, to the cluster's DNS to find it).
    fn network_policy(&self) -> Value {
        let mut egress: Vec<Value> = self
            .egress
            .iter()
            .map(|rule| {
                json!({
                    "to": [{ "ipBlock": { "cidr": rule.cidr } }],
                    "ports": [{ "protocol": "TCP", "port": rule.port }],
                })
            })
            .collect();
        if !egress.is_empty() {
            egress.push(json!({
                "to": [{ "namespaceSelector": {
                    "matchLabels": { "kubernetes.io/metadata.name": "kube-system" } } }],
                "ports": [
                    { "protocol": "UDP", "port": 53 },
                    { "protocol": "TCP", "port": 53 },
                ],
            }));
        }
        json!({
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": self.metadata(format!("{}-egress", self.name)),
            "spec": {
                "podSelector": { "matchLabels": self.labels() },
                "policyTypes": ["Ingress", "Egress"],
                "ingress": [],
                "egress": egress,
            },
        })
    }

    /// The shell script each pod runs: its shard, resumed when an earlier attempt of the same
    /// index left a store behind, then its bundle.
    fn script(&self) -> String {
        ShardScript {
            index: ShardIndex::KubernetesCompletionIndex,
            spec_path: &self.spec_path,
            shards: self.shards,
            group: self.group.as_deref(),
            run_arguments: &self.run_arguments,
        }
        .render()
    }

    fn job(&self) -> Value {
        json!({
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": self.metadata(self.name.clone()),
            "spec": {
                "completionMode": "Indexed",
                "completions": self.shards,
                "parallelism": self.shards,
                "backoffLimitPerIndex": self.retries_per_shard,
                "maxFailedIndexes": 0,
                // Invalid input (exit 2) fails the same way on every attempt: not tried again.
                "podFailurePolicy": { "rules": [{
                    "action": "FailIndex",
                    "onExitCodes": { "containerName": "agentpod", "operator": "In", "values": [2] },
                }] },
                "template": {
                    "metadata": { "labels": self.labels() },
                    "spec": {
                        "restartPolicy": "Never",
                        "automountServiceAccountToken": false,
                        "enableServiceLinks": false,
                        "containers": [{
                            "name": "agentpod",
                            "image": self.image,
                            "command": ["/bin/sh", "-c", self.script()],
                            // The shards write under the Job's uid (see the shard script).
                            "env": [{
                                "name": "AGENTPOD_JOB_UID",
                                "valueFrom": { "fieldRef": {
                                    "fieldPath": "metadata.labels['batch.kubernetes.io/controller-uid']",
                                } },
                            }],
                            // As root in a container, bubblewrap unshares without a user
                            // namespace (CAP_SYS_ADMIN) and pivots into its root (seccomp);
                            // the agent runs with no capabilities inside it. (Kubernetes refuses
                            // allowPrivilegeEscalation: false beside CAP_SYS_ADMIN.)
                            "securityContext": {
                                "capabilities": { "add": ["SYS_ADMIN"] },
                                "seccompProfile": { "type": "Unconfined" },
                                "appArmorProfile": { "type": "Unconfined" },
                            },
                            "resources": {
                                "requests": { "cpu": "2", "memory": "4Gi" },
                                "limits": { "memory": "8Gi" },
                            },
                            "volumeMounts": [{ "name": "results", "mountPath": RESULTS_PATH }],
                        }],
                        "volumes": [{
                            "name": "results",
                            "persistentVolumeClaim": {
                                "claimName": format!("{}-{RESULTS_CLAIM_SUFFIX}", self.name),
                            },
                        }],
                    },
                },
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deployment() -> KubernetesDeployment {
        KubernetesDeployment {
            name: "triage-shards".to_owned(),
            spec_path: "pods/support-triage.yaml".to_owned(),
            shards: 6,
            image: "registry.example/agentpod:1".to_owned(),
            group: Some("g-1".to_owned()),
            namespace: None,
            egress: vec!["203.0.113.0/24:443".parse().expect("a rule")],
            run_arguments: vec!["--sample".to_owned(), "600".to_owned()],
            retries_per_shard: 2,
        }
    }

    #[test]
    fn the_job_runs_one_shard_per_index_and_the_policy_closes_the_pods() {
        let deployment = deployment();
        let job = deployment.job();
        assert_eq!(job["spec"]["completionMode"], "Indexed");
        assert_eq!(job["spec"]["completions"], 6);
        let script = deployment.script();
        assert!(
            script.contains("shard=$((JOB_COMPLETION_INDEX + 1))"),
            "{script}"
        );
        let container = &job["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(container["env"][0]["name"], "AGENTPOD_JOB_UID");
        assert!(
            script.contains("${AGENTPOD_JOB_UID:+/$AGENTPOD_JOB_UID}"),
            "{script}"
        );
        assert!(script.contains("--shard \"$shard/6\""), "{script}");
        assert!(
            script.contains("'--group' 'g-1' '--sample' '600'"),
            "{script}"
        );
        let policy = deployment.network_policy();
        assert_eq!(policy["spec"]["ingress"], json!([]));
        assert_eq!(policy["spec"]["policyTypes"], json!(["Ingress", "Egress"]));
        let egress = policy["spec"]["egress"].as_array().expect("egress rules");
        assert_eq!(egress[0]["to"][0]["ipBlock"]["cidr"], "203.0.113.0/24");
        assert_eq!(egress.len(), 2, "the named range and DNS: {egress:?}");
        assert_eq!(
            policy["spec"]["podSelector"]["matchLabels"],
            job["spec"]["template"]["metadata"]["labels"],
            "the policy selects exactly the Job's pods"
        );
    }

    #[test]
    fn with_no_egress_named_the_pods_reach_nothing() {
        let mut deployment = deployment();
        deployment.egress.clear();
        assert_eq!(deployment.network_policy()["spec"]["egress"], json!([]));
    }

    #[test]
    fn bad_input_is_refused_with_what_to_do() {
        let mut deployment = deployment();
        deployment.name = "Triage_Shards".to_owned();
        assert!(matches!(
            deployment.manifests(),
            Err(KubernetesError::BadName { .. })
        ));
        let mut deployment = self::tests::deployment();
        deployment.shards = 0;
        assert_eq!(deployment.manifests(), Err(KubernetesError::NoShards));
        for bad in [
            "1.2.3.4:443",
            "1.2.3.4/33:443",
            "1.2.3.4/8",
            "x/8:443",
            "1.2.3.4/8:0",
        ] {
            assert!(bad.parse::<EgressRule>().is_err(), "{bad}");
        }
    }
}
