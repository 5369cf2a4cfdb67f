//! `agentpod deploy kubernetes`: the Indexed Job, its NetworkPolicy and its results claim, as a
//! user would apply them. No Kubernetes server can run here, so the manifests are validated
//! offline against the Kubernetes OpenAPI schemas (kubernetes-validate from PyPI, in
//! scripts/setup's .venv, strict: unknown fields are refused) for the oldest and newest versions
//! it knows that have every field used; then read back and checked for what a run depends on.
//! What runs inside each pod (the shard script) is the shell given in the Job, not run here.

use std::path::Path;
use std::process::Command;

use agentpod_end_to_end::{Scratch, repo_root, stderr_text as stderr, stdout_text as stdout};
use serde_json::Value;

/// Validates `file` with kubernetes-validate against `version`; its exit status and output.
fn validate(file: &Path, version: &str) -> (bool, String) {
    let output = Command::new(repo_root().join(".venv/bin/kubernetes-validate"))
        .args(["--strict", "--quiet", "-k", version])
        .arg(file)
        .output()
        .expect("kubernetes-validate (scripts/setup's .venv) runs");
    (
        output.status.success(),
        format!("{}{}", stdout(&output), stderr(&output)),
    )
}

/// The YAML stream's documents as JSON, read by PyYAML (a parser other than the one that wrote
/// them).
fn documents(file: &Path) -> Vec<Value> {
    let output = Command::new(repo_root().join(".venv/bin/python"))
        .args([
            "-c",
            "import json, sys, yaml; print(json.dumps(list(yaml.safe_load_all(open(sys.argv[1])))))",
        ])
        .arg(file)
        .output()
        .expect("the .venv's python runs");
    assert!(output.status.success(), "{}", stderr(&output));
    serde_json::from_str(&stdout(&output)).expect("documents as JSON")
}

#[test]
fn the_manifests_pass_the_kubernetes_schemas_and_run_one_shard_per_index() {
    let scratch = Scratch::new();
    let output = scratch.run(&[
        "deploy",
        "kubernetes",
        "pods/support-triage.yaml",
        "--shards",
        "6",
        "--image",
        "registry.example/agentpod:1",
        "--egress",
        "203.0.113.0/24:443",
        "--",
        "--sample",
        "600",
        "--trials",
        "3",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let file = scratch.path().join("shards.yaml");
    std::fs::write(&file, stdout(&output)).expect("write the manifests");
    // 1.31: the first with the Job's pod failure policy generally available.
    for version in ["1.31.0", "1.37.0"] {
        let (valid, said) = validate(&file, version);
        assert!(valid, "Kubernetes {version}: {said}");
    }

    let documents = documents(&file);
    let kinds: Vec<&str> = documents
        .iter()
        .map(|document| document["kind"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(kinds, ["PersistentVolumeClaim", "NetworkPolicy", "Job"]);
    let (claim, policy, job) = (&documents[0], &documents[1], &documents[2]);
    assert_eq!(job["metadata"]["name"], "support-triage-shards");
    assert_eq!(job["spec"]["completionMode"], "Indexed");
    assert_eq!(job["spec"]["completions"], 6);
    assert_eq!(job["spec"]["parallelism"], 6);
    let pod = &job["spec"]["template"]["spec"];
    let command = &pod["containers"][0]["command"];
    assert_eq!(command[0], "/bin/sh");
    let script = command[2].as_str().expect("the shard script");
    for expected in [
        "shard=$((JOB_COMPLETION_INDEX + 1))",
        "'run' 'pods/support-triage.yaml' '--runtime' 'local' '--sample' '600' '--trials' '3' --shard \"$shard/6\"",
        "run --resume latest",
        "export latest --bundle",
    ] {
        assert!(script.contains(expected), "{expected} in:\n{script}");
    }
    assert_eq!(
        pod["volumes"][0]["persistentVolumeClaim"]["claimName"],
        claim["metadata"]["name"]
    );
    assert_eq!(pod["automountServiceAccountToken"], false);
    // The policy selects exactly the Job's pods, closes them to ingress and lets them reach the
    // named range (and DNS) only.
    assert_eq!(
        policy["spec"]["podSelector"]["matchLabels"],
        job["spec"]["template"]["metadata"]["labels"]
    );
    assert_eq!(
        policy["spec"]["policyTypes"],
        serde_json::json!(["Ingress", "Egress"])
    );
    assert_eq!(policy["spec"]["ingress"], serde_json::json!([]));
    let egress = policy["spec"]["egress"].as_array().expect("egress rules");
    assert_eq!(egress.len(), 2, "{egress:?}");
    assert_eq!(egress[0]["to"][0]["ipBlock"]["cidr"], "203.0.113.0/24");
    assert_eq!(egress[0]["ports"][0]["port"], 443);
    assert_eq!(egress[1]["ports"][0]["port"], 53);

    // The validator does refuse what Kubernetes would: a misspelt field, a wrong type.
    let text = stdout(&output);
    for (broken, what) in [
        (
            text.replace("completionMode:", "completionMod:"),
            "completionMod",
        ),
        (
            text.replace("completions: 6", "completions: \"six\""),
            "completions",
        ),
    ] {
        let broken_file = scratch.path().join("broken.yaml");
        std::fs::write(&broken_file, broken).expect("write");
        let (valid, said) = validate(&broken_file, "1.37.0");
        assert!(!valid && said.contains(what), "{said}");
    }
}

#[test]
fn no_egress_named_means_the_pods_reach_nothing() {
    let scratch = Scratch::new();
    let output = scratch.run(&[
        "deploy",
        "kubernetes",
        "pods/support-triage.yaml",
        "--shards",
        "2",
        "--image",
        "agentpod:local",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let file = scratch.path().join("shards.yaml");
    std::fs::write(&file, stdout(&output)).expect("write the manifests");
    let (valid, said) = validate(&file, "1.37.0");
    assert!(valid, "{said}");
    let policy = &documents(&file)[1];
    assert_eq!(policy["spec"]["egress"], serde_json::json!([]));
}

#[test]
fn bad_input_is_refused_with_what_is_wrong() {
    let scratch = Scratch::new();
    for (args, says) in [
        (
            vec!["--shards", "0", "--image", "x"],
            "--shards must be at least 1",
        ),
        (
            vec!["--shards", "2", "--image", "x", "--egress", "10.0.0.1:443"],
            "is not CIDR:PORT",
        ),
        (
            vec!["--shards", "2", "--image", "x", "--name", "Not_A_Label"],
            "is not a Kubernetes name",
        ),
    ] {
        let mut all = vec!["deploy", "kubernetes", "pods/support-triage.yaml"];
        all.extend(args);
        let output = scratch.run(&all);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{all:?}: {}",
            stderr(&output)
        );
        assert!(
            stderr(&output).contains(says),
            "{all:?}: {}",
            stderr(&output)
        );
        assert!(stdout(&output).is_empty(), "nothing half-written on stdout");
    }
    let output = scratch.run(&[
        "deploy",
        "kubernetes",
        "pods/no-such-spec.yaml",
        "--shards",
        "2",
        "--image",
        "x",
    ]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("no-such-spec.yaml"),
        "{}",
        stderr(&output)
    );
}
