//! `agentpod deploy swarm` on a real Docker Swarm: three engine nodes on this machine
//! (`scripts/swarm-lab`: a dockerd of its own per node, each in a network namespace with its own
//! address and hostname, images shared through a local registry from Debian's docker-registry).
//! The run's 600 issues go out as 6 shards; one node dies (its engine, its containers and its
//! link, at once) while its shards run; they are started again on the others and resume; the
//! merged run is the run on one machine, pair for pair and figure for figure.

use std::io::BufRead;
use std::path::Path;
use std::process::{Command, Stdio};

use agentpod_end_to_end::{Scratch, repo_root, stderr_text};

use crate::shards::{merged_run_id, outcomes_by_pair, report_figures, run_to_end};

const SPEC: &str = "tests/pods/swarm-shards.yaml";
const ISSUES: usize = 600;
/// The node that dies.
const DOOMED_NODE: &str = "aplab-node3";

fn swarm_lab(args: &[&str]) -> String {
    let output = Command::new(repo_root().join("scripts/swarm-lab"))
        .args(args)
        .output()
        .expect("scripts/swarm-lab runs");
    assert!(
        output.status.success(),
        "swarm-lab {args:?}: {}",
        stderr_text(&output)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

/// The lab, taken down whatever way the test ends.
struct SwarmLab;

impl SwarmLab {
    fn up() -> SwarmLab {
        // A lab an earlier, killed test left behind goes first.
        swarm_lab(&["down"]);
        swarm_lab(&["up", "3"]);
        SwarmLab
    }

    fn manager(&self) -> String {
        swarm_lab(&["host", "1"])
    }

    /// The services and networks agentpod made on the swarm (and left), by name, and its
    /// containers still running on the nodes that are up.
    fn leftovers(&self) -> Vec<String> {
        let mut names = Vec::new();
        for node in 1..=3 {
            let host = swarm_lab(&["host", &node.to_string()]);
            if !Path::new(host.trim_start_matches("unix://")).exists() {
                continue;
            }
            let output = Command::new("docker")
                .args(["-H", &host, "ps", "--format", "{{.Names}}"])
                .args(["--filter", "label=dev.agentpod.managed=true"])
                .output()
                .expect("docker runs");
            names.extend(
                String::from_utf8_lossy(&output.stdout)
                    .lines()
                    .map(|name| format!("container {name} on node {node}")),
            );
        }
        for kind in ["service", "network"] {
            let output = Command::new("docker")
                .args(["-H", &self.manager(), kind, "ls", "--format", "{{.Name}}"])
                .args(["--filter", "label=dev.agentpod.managed=true"])
                .output()
                .expect("docker runs");
            assert!(output.status.success(), "{}", stderr_text(&output));
            names.extend(
                String::from_utf8_lossy(&output.stdout)
                    .lines()
                    .map(|name| format!("{kind} {name}")),
            );
        }
        names
    }
}

impl Drop for SwarmLab {
    fn drop(&mut self) {
        let _ = Command::new(repo_root().join("scripts/swarm-lab"))
            .arg("down")
            .status();
    }
}

/// The agentpod image, built from this checkout's binary and put into the lab's registry; the
/// name the nodes pull it by.
fn agentpod_image_in_registry() -> String {
    let built = Command::new(repo_root().join("scripts/build-agentpod-image"))
        .arg("agentpod:e2e")
        .env("AGENTPOD_BINARY", agentpod_end_to_end::binary("agentpod"))
        .output()
        .expect("scripts/build-agentpod-image runs");
    assert!(built.status.success(), "{}", stderr_text(&built));
    swarm_lab(&["push", "agentpod:e2e"])
}

#[test]
fn six_shards_on_three_nodes_one_killed_make_the_run_on_one_machine() {
    let scratch = Scratch::new();
    let lab = SwarmLab::up();
    let image = agentpod_image_in_registry();
    agents_in_tasks_reach_nothing_outside_them(&scratch, &lab, &image);
    an_interrupted_deployment_leaves_nothing_on_the_swarm(&scratch, &lab, &image);
    let whole = run_to_end(&scratch, &["run", SPEC, "--runtime", "local"]);

    // The shards' agents think 0.1 s an issue, so the doomed node is still busy when it dies.
    let results = scratch.path().join("results");
    let mut deploy = scratch.agentpod(&[
        "deploy",
        "swarm",
        SPEC,
        "--shards",
        "6",
        "--image",
        &image,
        "--results",
        results.to_str().unwrap(),
        "--",
        "--agent-command",
        "tests/pods/agents/shard-agent.sh 0.1",
    ]);
    let mut child = deploy
        .env("DOCKER_HOST", lab.manager())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("agentpod starts");
    let mut lines = std::io::BufReader::new(child.stderr.take().unwrap())
        .lines()
        .map_while(Result::ok);
    let mut seen = Vec::new();
    for line in lines.by_ref() {
        seen.push(line.clone());
        if line.contains(&format!("running on {DOOMED_NODE}")) {
            break;
        }
    }
    let doomed_shards = || {
        seen.iter()
            .filter(|line| line.contains(&format!("running on {DOOMED_NODE}")))
            .count()
    };
    assert_eq!(
        doomed_shards(),
        1,
        "a shard runs on {DOOMED_NODE}: {seen:#?}"
    );
    // Let its shards get some of their issues done, then the node dies.
    std::thread::sleep(std::time::Duration::from_secs(4));
    swarm_lab(&["kill", "3"]);
    seen.extend(lines);
    let status = child.wait().expect("agentpod ends");
    let stdout = {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut child.stdout.take().unwrap(), &mut text).unwrap();
        text
    };
    let stderr = seen.join("\n");
    assert!(status.success(), "{stderr}\n{stdout}");

    // The lost node's shards were started again elsewhere, each once.
    let reruns: Vec<&String> = seen
        .iter()
        .filter(|line| line.contains(&format!("node {DOOMED_NODE} is lost; shard ")))
        .collect();
    assert!(!reruns.is_empty(), "{stderr}");
    for line in &seen {
        if let Some(shard) = line
            .strip_suffix(&format!(" finished on {DOOMED_NODE}"))
            .and_then(|rest| rest.strip_prefix("swarm: shard "))
        {
            assert!(
                !reruns
                    .iter()
                    .any(|rerun| rerun.contains(&format!("shard {shard} "))),
                "shard {shard} finished on the dead node and was re-run: {stderr}"
            );
        }
    }

    // One run: every pair once, each as on one machine; the same figures; no flips.
    let merged = merged_run_id(&stderr);
    let merged_shown = scratch.show(&merged);
    let merged_pairs = outcomes_by_pair(&merged_shown);
    let whole_pairs = outcomes_by_pair(&scratch.show(&whole));
    assert_eq!(whole_pairs.len(), ISSUES);
    assert_eq!(merged_pairs, whole_pairs);
    assert_eq!(
        report_figures(&scratch, &merged),
        report_figures(&scratch, &whole)
    );
    let compare = scratch.run(&["compare", &whole, &merged, "--format", "json"]);
    assert!(compare.status.success(), "{}", stderr_text(&compare));
    let compare: serde_json::Value = serde_json::from_slice(&compare.stdout).unwrap();
    assert_eq!(compare["shared_issues"], ISSUES);
    let against = &compare["runs"][1]["against_baseline"];
    assert_eq!(against["flips"].as_array().unwrap().len(), 0, "{against}");

    // The summary says how it was spread: six shards, on the nodes that finished them.
    let spread = &merged_shown["summary"]["spread"];
    assert_eq!(spread["shards"], 6, "{spread}");
    let hosts: Vec<&str> = spread["per_shard"]
        .as_array()
        .unwrap()
        .iter()
        .map(|shard| shard["host"].as_str().unwrap_or_default())
        .collect();
    assert!(
        hosts.iter().all(|host| host.starts_with("aplab-node")),
        "each shard names its node: {hosts:?}"
    );
    for rerun in &reruns {
        let shard: usize = rerun
            .split("; shard ")
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .and_then(|shard| shard.parse().ok())
            .expect("the re-run names its shard");
        assert_ne!(
            hosts[shard - 1],
            DOOMED_NODE,
            "shard {shard} finished elsewhere"
        );
        // The time it lay dead is kept apart from its wall time.
        let record = &merged_shown["run"]["sharding"]["shards"][shard - 1];
        assert_eq!(record["part"], shard);
        assert!(record["idle_ms"].as_u64().unwrap() > 0, "{record}");
    }
    assert!(stdout.contains("spread      6 shards on"), "{stdout}");

    // Nothing is left on the swarm.
    assert_eq!(lab.leftovers(), Vec::<String>::new());
    drop(lab);
    assert!(!Path::new("/run/agentpod-lab").exists(), "the lab is gone");
}

/// The probe "agent" reaches the lab's registry from this machine, and nothing from a task.
fn agents_in_tasks_reach_nothing_outside_them(scratch: &Scratch, lab: &SwarmLab, image: &str) {
    const PROBE: &str = "tests/pods/swarm-probe.yaml";
    let here = run_to_end(scratch, &["run", PROBE, "--runtime", "local"]);
    let (status, answer) = probe_outcome(scratch, &here);
    assert_eq!(
        status, "failed",
        "from the host the probe reaches the registry"
    );
    assert!(answer.contains("192.168.211.1:5000"), "{answer}");

    let results = scratch.path().join("probe-results");
    let output = scratch
        .agentpod(&[
            "deploy",
            "swarm",
            PROBE,
            "--shards",
            "1",
            "--image",
            image,
            "--results",
            results.to_str().unwrap(),
        ])
        .env("DOCKER_HOST", lab.manager())
        .output()
        .expect("agentpod starts");
    let stderr = stderr_text(&output);
    assert!(output.status.success(), "{stderr}");
    let (status, answer) = probe_outcome(scratch, &merged_run_id(&stderr));
    assert_eq!((status.as_str(), answer.as_str()), ("passed", "\"none\""));
    assert_eq!(lab.leftovers(), Vec::<String>::new());
}

/// SIGINT and SIGTERM (a CI job's timeout) while shards run: exit 130, and the deployment's
/// services and network are gone from the swarm; the shards' stores stay for a later merge.
fn an_interrupted_deployment_leaves_nothing_on_the_swarm(
    scratch: &Scratch,
    lab: &SwarmLab,
    image: &str,
) {
    for signal in ["-INT", "-TERM"] {
        let results = scratch.path().join(format!("interrupted{signal}"));
        let mut child = scratch
            .agentpod(&[
                "deploy",
                "swarm",
                SPEC,
                "--shards",
                "3",
                "--image",
                image,
                "--results",
                results.to_str().unwrap(),
                "--",
                "--agent-command",
                "tests/pods/agents/shard-agent.sh 1",
            ])
            .env("DOCKER_HOST", lab.manager())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("agentpod starts");
        let mut lines = std::io::BufReader::new(child.stderr.take().unwrap())
            .lines()
            .map_while(Result::ok);
        let running = lines.by_ref().find(|line| line.contains(" running on "));
        assert!(running.is_some(), "a shard starts");
        Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()
            .unwrap();
        let rest: Vec<String> = lines.collect();
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(130), "{signal}: {rest:#?}");
        assert_eq!(lab.leftovers(), Vec::<String>::new(), "{signal}");
        assert!(results.join(".agentpod-deployment").exists());
    }
}

/// The probe issue's status and answer in `run`.
fn probe_outcome(scratch: &Scratch, run: &str) -> (String, String) {
    let shown = scratch.show(run);
    let outcome = &shown["outcomes"][0];
    (
        outcome["status"].as_str().unwrap_or_default().to_owned(),
        outcome["output"]["answer"].to_string(),
    )
}

#[test]
fn deploy_swarm_refuses_what_cannot_work_and_says_what_to_do() {
    let scratch = Scratch::new();
    // A results directory an earlier deployment wrote to would have its stores resumed.
    let used = scratch.path().join("used");
    std::fs::create_dir_all(&used).unwrap();
    std::fs::write(used.join("shard-1-of-2.db"), b"").unwrap();
    let fresh = scratch.path().join("results");
    for (results, exit, says) in [
        (Path::new("results"), 2, "must be an absolute path"),
        (
            used.as_path(),
            2,
            "already holds shards of an earlier deployment (shard-1-of-2.db",
        ),
        // The machine's own engine is no swarm's manager.
        (fresh.as_path(), 3, "not a swarm manager"),
    ] {
        let output = scratch.run(&[
            "deploy",
            "swarm",
            SPEC,
            "--shards",
            "2",
            "--image",
            "agentpod:e2e",
            "--results",
            results.to_str().unwrap(),
        ]);
        let stderr = stderr_text(&output);
        assert_eq!(output.status.code(), Some(exit), "{results:?}: {stderr}");
        assert!(stderr.contains(says), "{results:?}: {stderr}");
    }
}
