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
        // A retried pod resumes with what a resume takes (not --sample or --trials).
        "'run' '--resume' 'latest' 9>&-",
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

/// The Job's own shard script, run here as two of its pods would run it (each index in a
/// process of its own, `/results` a local directory, the same image's `agentpod` on PATH):
/// each writes its part's bundle, and the bundles merge into one run with every pair once.
#[test]
fn the_jobs_script_runs_each_shard_and_its_bundles_merge() {
    let scratch = Scratch::new();
    let output = scratch.run(&[
        "deploy",
        "kubernetes",
        "tests/pods/shards.yaml",
        "--shards",
        "2",
        "--image",
        "agentpod:local",
        "--",
        "--sample",
        "6",
        "--trials",
        "1",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let file = scratch.path().join("shards.yaml");
    std::fs::write(&file, stdout(&output)).expect("write the manifests");
    let job = &documents(&file)[2];
    let script = job["spec"]["template"]["spec"]["containers"][0]["command"][2]
        .as_str()
        .expect("the shard script");
    let results = scratch.path().join("results");
    std::fs::create_dir(&results).expect("the results directory");
    let script = script.replace("/results", results.to_str().expect("a UTF-8 path"));
    let binaries = agentpod_end_to_end::binary("agentpod");
    let path = format!(
        "{}:{}",
        binaries
            .parent()
            .expect("the binaries' directory")
            .display(),
        std::env::var("PATH").unwrap_or_default()
    );
    for index in 0..2 {
        let ran = Command::new("/bin/sh")
            .args(["-c", &script])
            .current_dir(repo_root())
            .env("JOB_COMPLETION_INDEX", index.to_string())
            .env("PATH", &path)
            .env("NO_COLOR", "1")
            .env("XDG_CACHE_HOME", repo_root().join("target/test-cache"))
            .output()
            .expect("sh runs");
        assert!(ran.status.success(), "index {index}: {}", stderr(&ran));
    }
    let bundles: Vec<String> = (1..=2)
        .map(|shard| {
            let bundle = results.join(format!("shard-{shard}-of-2.bundle.json"));
            assert!(bundle.is_file(), "{} was written", bundle.display());
            bundle.to_string_lossy().into_owned()
        })
        .collect();
    let merged_json = scratch.path().join("merged.json");
    let mut merge = vec!["merge"];
    merge.extend(bundles.iter().map(String::as_str));
    merge.extend(["--json", merged_json.to_str().expect("a UTF-8 path")]);
    let merged = scratch.run(&merge);
    assert_eq!(merged.status.code(), Some(0), "{}", stderr(&merged));
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(&merged_json).expect("the summary"))
            .expect("JSON");
    let run_id = summary["run_id"].as_str().expect("the merged run's id");
    let shown = scratch.show(run_id);
    let outcomes = shown["outcomes"].as_array().expect("outcomes");
    let mut pairs: Vec<(String, u64)> = outcomes
        .iter()
        .map(|outcome| {
            (
                outcome["issue_id"].as_str().unwrap_or_default().to_owned(),
                outcome["trial"].as_u64().unwrap_or_default(),
            )
        })
        .collect();
    pairs.sort();
    pairs.dedup();
    assert_eq!(
        (outcomes.len(), pairs.len()),
        (6, 6),
        "the 6 sampled issues, each once"
    );
}
