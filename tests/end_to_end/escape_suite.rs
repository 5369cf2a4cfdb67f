//! The escape suite: a hostile host agent (tests/pods/agents/hostile-agent.py) attacks on some
//! issues of a run and works honestly on the others, all on one pod. Each attack must be
//! refused or recorded, the honest issues must keep the verdicts they get from a run of the same
//! issues where the agent does honest work everywhere, and a canary provider key in agentpod's
//! environment must appear nowhere the agent can see, nothing stored, reported or bundled.

use std::collections::BTreeMap;
use std::path::Path;

use agentpod_end_to_end::{Scratch, processes_end_soon};
use serde_json::Value;

const CANARY_KEY: &str = "sk-canary-4f0c1d2e-never-for-agents";
const CANARY_SECRET: &str = "canary-host-secret-7d1b";

/// One run of the hostile spec; `honest` starts the agent with `--honest`.
fn run(scratch: &Scratch, honest: bool) -> BTreeMap<String, Value> {
    let mut arguments = vec![
        "run",
        "tests/pods/hostile.yaml",
        "--runtime",
        "local",
        "--no-progress",
    ];
    if honest {
        arguments.extend([
            "--agent-command",
            "tests/pods/agents/hostile-agent.py --honest",
        ]);
    }
    let output = scratch
        .agentpod(&arguments)
        .env("OPENAI_API_KEY", CANARY_KEY)
        .env("ANTHROPIC_API_KEY", CANARY_KEY)
        .env("HOST_SECRET_CANARY", CANARY_SECRET)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the run must finish: {stderr}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        !stdout.contains(CANARY_KEY) && !stdout.contains(CANARY_SECRET),
        "{stdout}"
    );
    outcomes_by_issue(&scratch.show("latest"))
}

/// A run's outcomes (as `show --json` prints them) by issue id.
fn outcomes_by_issue(shown: &Value) -> BTreeMap<String, Value> {
    by_id(shown["outcomes"].as_array().unwrap(), "issue_id")
}

/// An issues file of the test pods, by issue id.
fn issues_file(name: &str) -> BTreeMap<String, Value> {
    let text = std::fs::read_to_string(
        agentpod_end_to_end::repo_root()
            .join("tests/pods/tiny")
            .join(name),
    )
    .unwrap();
    let issues: Vec<Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    by_id(&issues, "id")
}

fn by_id(items: &[Value], key: &str) -> BTreeMap<String, Value> {
    items
        .iter()
        .map(|item| (item[key].as_str().unwrap().to_string(), item.clone()))
        .collect()
}

#[test]
fn hostile_host_agents_are_refused_or_recorded_and_honest_verdicts_hold() {
    let honest_scratch = Scratch::new();
    let honest = run(&honest_scratch, true);
    let scratch = Scratch::new();
    let hostile = run(&scratch, false);
    let issues = issues_file("hostile-issues.jsonl");
    assert_eq!(hostile.len(), issues.len(), "every issue has an outcome");
    let attack_of = |id: &str| issues[id]["attack"].as_str().unwrap().to_string();
    let status = |id: &str| hostile[id]["status"].as_str().unwrap().to_string();
    let reason = |id: &str| hostile[id]["reason"].as_str().unwrap().to_string();
    let by_attack = |attack: &str| {
        issues
            .keys()
            .find(|id| attack_of(id) == attack)
            .unwrap()
            .clone()
    };

    // The honest issues keep their verdicts: the attacks before them on the same pod (a role
    // altered, a daemon, a late write, a flooded log) changed nothing for them.
    for (id, outcome) in &honest {
        assert_eq!(outcome["status"], "passed", "honest run: {outcome}");
        if attack_of(id) == "none" {
            assert_eq!(
                hostile[id]["status"], outcome["status"],
                "{id} kept its verdict beside the attacks: {}",
                hostile[id]
            );
            assert_eq!(hostile[id]["grade"], outcome["grade"], "{id}");
        }
    }

    // Looking for the answer key, the orchestrator's environment and other issues finds
    // nothing: agentpod's processes are not in its /proc, agentpod's files are not in its view.
    let key = by_attack("answer-key");
    assert_eq!(status(&key), "failed", "{}", hostile[&key]);
    let output = &hostile[&key]["output"];
    assert_eq!(output["answer"], "nothing to copy", "{output}");
    assert_eq!(
        output["found"]["other issues"],
        Value::Array(Vec::new()),
        "no other issue's directory is visible: {output}"
    );
    // What it could read of the sandbox's own processes does not even name agentpod's files.
    for (place, text) in output["found"].as_object().unwrap() {
        let text = text.to_string();
        for name in [
            "hostile-issues.jsonl",
            "hostile.yaml",
            "runs.db",
            "expected",
        ] {
            assert!(!text.contains(name), "{place} names {name}: {text}");
        }
    }
    let processes = output["processes"].as_array().unwrap();
    assert!(
        processes.len() <= 4,
        "only the sandbox's own processes are visible: {processes:?}"
    );
    let uid = output["uid"].as_u64().unwrap();
    assert_ne!(uid, 0, "the agent never runs as root");
    assert_ne!(
        uid,
        u64::from(nix::unistd::geteuid().as_raw()),
        "the agent never runs as agentpod's user"
    );

    // A daemon in a session of its own dies with its issue.
    let daemon = by_attack("daemon");
    let marker = issues[&daemon]["marker"].as_str().unwrap();
    assert!(
        processes_end_soon(&format!("sleep\0{marker}\0")),
        "the daemon `sleep {marker}` outlived its issue"
    );
    assert_eq!(status(&daemon), "passed", "{}", hostile[&daemon]);

    // Altering its own role touches nobody else (the honest issue after it passed, above).
    assert_eq!(status(&by_attack("role")), "passed");

    // Answers that are links or FIFOs are refused, and the run did not hang on the FIFO.
    assert_eq!(status(&by_attack("symlink")), "errored");
    assert!(
        reason(&by_attack("symlink")).contains("symbolic link"),
        "{}",
        reason(&by_attack("symlink"))
    );
    assert_eq!(status(&by_attack("fifo")), "errored");
    assert!(
        reason(&by_attack("fifo")).contains("FIFO"),
        "{}",
        reason(&by_attack("fifo"))
    );

    // Writes outside the issue's own directories land nowhere on the host.
    let outside = by_attack("write-outside");
    let marker = issues[&outside]["marker"].as_str().unwrap();
    assert!(!Path::new("/tmp").join(marker).exists());
    assert!(
        !agentpod_end_to_end::repo_root()
            .join("tests/pods/agents/planted")
            .exists()
    );
    let written = hostile[&outside]["output"]["written"].as_array().unwrap();
    assert!(
        written
            .iter()
            .all(|path| path.as_str().unwrap().starts_with("/tmp/")),
        "only the sandbox's private /tmp was writable: {written:?}"
    );

    // More memory than the pod gives it: the agent is killed, the run goes on.
    let memory = by_attack("memory");
    assert_eq!(status(&memory), "errored", "{}", hostile[&memory]);
    assert!(reason(&memory).contains("signal 9"), "{}", reason(&memory));

    // Flooding the server's log to bury refusals fails the issue instead of passing it.
    let flood = by_attack("flood-log");
    assert_eq!(status(&flood), "errored", "{}", hostile[&flood]);
    assert!(
        reason(&flood).starts_with("not observed:"),
        "{}",
        reason(&flood)
    );

    let run_id = scratch.show("latest")["run"]["id"]
        .as_str()
        .unwrap()
        .to_string();

    // Flooding the gateways with requests that never become calls: each is a step of its
    // issue (the tool gateway lists a bounded number and counts the rest), none is a call, and
    // the work done beside them still passes.
    let flooder = by_attack("flood-gateways");
    assert_eq!(status(&flooder), "passed", "{}", hostile[&flooder]);
    assert_eq!(hostile[&flooder]["usage"]["tool_calls"], 0);
    let trace = scratch.run(&["trace", &run_id, &flooder, "--json"]);
    assert!(
        trace.status.success(),
        "{}",
        String::from_utf8_lossy(&trace.stderr)
    );
    let trace: Value = serde_json::from_slice(&trace.stdout).unwrap();
    let refused: Vec<&Value> = trace["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|entry| {
            entry["text"]
                .as_str()
                .unwrap()
                .starts_with("request refused")
        })
        .collect();
    let by_gateway = |gateway: &str| {
        refused
            .iter()
            .filter(|entry| entry["detail"]["gateway"] == gateway)
            .count()
    };
    assert_eq!(by_gateway("tools"), 100, "the listed ones: {refused:?}");
    assert_eq!(by_gateway("traces"), 1, "{refused:?}");
    let not_listed: u64 = refused
        .iter()
        .filter_map(|entry| entry["detail"]["not_listed_after"].as_u64())
        .sum();
    assert_eq!(not_listed, 30, "130 sent, 100 listed");
    assert!(
        refused
            .iter()
            .all(|entry| entry["detail"]["status"].as_u64().unwrap() >= 400),
        "{refused:?}"
    );

    // Nothing of the canary anywhere agentpod wrote: the store, every issue's files, the
    // bundle, the reports.
    let bundle = scratch.path().join("run.bundle");
    let exported = scratch.run(&["export", &run_id, "--bundle", bundle.to_str().unwrap()]);
    assert!(
        exported.status.success(),
        "{}",
        String::from_utf8_lossy(&exported.stderr)
    );
    for format in ["json", "markdown", "junit", "html"] {
        let report = scratch.run(&["report", &run_id, "--format", format]);
        assert!(report.status.success(), "report --format {format}");
        assert_no_canary(&String::from_utf8_lossy(&report.stdout), format);
    }
    for file in files_below(scratch.path()) {
        let bytes = std::fs::read(&file).unwrap_or_default();
        assert_no_canary(
            &String::from_utf8_lossy(&bytes),
            &file.display().to_string(),
        );
    }
}

#[test]
fn an_unsandboxed_agent_is_a_reported_downgrade() {
    let scratch = Scratch::new();
    let spec = scratch.path().join("unsandboxed.yaml");
    let original =
        std::fs::read_to_string(agentpod_end_to_end::repo_root().join("tests/pods/hostile.yaml"))
            .unwrap();
    let pods = agentpod_end_to_end::repo_root().join("tests/pods");
    let spec_text = original
        .replace("./agents/", &format!("{}/agents/", pods.display()))
        .replace("tiny/", &format!("{}/tiny/", pods.display()))
        .replace(
            "  version: hostile-1",
            "  version: hostile-1\n  isolation: none",
        );
    std::fs::write(&spec, spec_text).unwrap();
    let output = scratch
        .agentpod(&[
            "run",
            spec.to_str().unwrap(),
            "--runtime",
            "local",
            "--no-progress",
            "--sample",
            "3",
            "--agent-command",
            &format!("{}/agents/hostile-agent.py --honest", pods.display()),
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("VERDICT NOT PROTECTED"), "{stdout}");
    let shown = scratch.show("latest");
    assert_eq!(shown["run"]["unprotected"], true, "{}", shown["run"]);
    let run_id = shown["run"]["id"].as_str().unwrap().to_string();
    let markdown = scratch.run(&["report", &run_id, "--format", "markdown"]);
    assert!(
        String::from_utf8_lossy(&markdown.stdout).contains("verdict not protected"),
        "{}",
        String::from_utf8_lossy(&markdown.stdout)
    );
}

fn assert_no_canary(text: &str, place: &str) {
    assert!(
        !text.contains(CANARY_KEY) && !text.contains(CANARY_SECRET),
        "the canary reached {place}"
    );
}

fn files_below(directory: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![directory.to_path_buf()];
    while let Some(directory) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&directory) else {
            continue;
        };
        for entry in entries.filter_map(Result::ok) {
            let Ok(file_type) = entry.file_type() else {
                continue;
            };
            if file_type.is_dir() {
                pending.push(entry.path());
            } else if file_type.is_file() {
                files.push(entry.path());
            }
        }
    }
    files
}

/// The same idea with the agent as a container image: what it can do to its output directory
/// (fill it, flood it with files, answer through a link or a FIFO) stays inside a small tmpfs
/// of the issue's own, and the honest issues around it pass.
#[test]
fn a_hostile_container_agent_stays_inside_its_output_area() {
    let scratch = Scratch::new();
    run_to_success(
        &scratch,
        &[
            "run",
            "tests/pods/hostile-container.yaml",
            "--runtime",
            "docker",
            "--no-progress",
        ],
    );
    let shown = scratch.show("latest");
    let outcomes = outcomes_by_issue(&shown);
    let mut by_attack: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for (id, issue) in issues_file("hostile-container-issues.jsonl") {
        by_attack
            .entry(issue["attack"].as_str().unwrap().to_string())
            .or_default()
            .push(outcomes[&id].clone());
    }
    for outcome in &by_attack["none"] {
        assert_eq!(outcome["status"], "passed", "{outcome}");
    }
    // 200 MB written into the output directory: no more than the area holds got there.
    let filled = &by_attack["fill-output"][0];
    assert_eq!(filled["status"], "passed", "{filled}");
    let bytes = reported_number(filled, "filled");
    assert!(bytes <= 17 << 20, "{bytes} bytes reached the output area");
    // 5,000 files: no more than the area's inodes.
    let flooded = &by_attack["many-files"][0];
    assert_eq!(flooded["status"], "passed", "{flooded}");
    let files = reported_number(flooded, "created");
    assert!(files < 64, "{files} files reached the output area");
    assert_eq!(by_attack["symlink"][0]["status"], "errored");
    assert!(
        by_attack["symlink"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("symbolic link")
    );
    assert_eq!(by_attack["fifo"][0]["status"], "errored");
    assert!(
        by_attack["fifo"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("FIFO")
    );
    // The areas are gone with their issues: nothing of them is left on the host.
    let run_id = shown["run"]["id"].as_str().unwrap();
    let issues = scratch.path().join("work").join(run_id).join("issues");
    for entry in std::fs::read_dir(&issues).unwrap() {
        let output = entry.unwrap().path().join("output");
        assert_eq!(
            std::fs::read_dir(&output).map(Iterator::count).unwrap_or(0),
            0,
            "{} still holds files",
            output.display()
        );
    }
    let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap();
    assert!(
        !mounts.contains(run_id),
        "an output area of the run is still mounted"
    );
    assert_eq!(
        agentpod_end_to_end::docker_resources(run_id),
        Vec::<String>::new()
    );
}

/// The number after `word` on the agent's stderr line that starts with it.
fn reported_number(outcome: &Value, word: &str) -> u64 {
    outcome["stderr"]
        .as_str()
        .unwrap()
        .lines()
        .find_map(|line| line.strip_prefix(word))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|number| number.parse().ok())
        .unwrap_or_else(|| panic!("no `{word} N` line: {outcome}"))
}

/// The agent's own directory may hold agentpod's files too (here: the work root, the store and
/// the spec all sit beside the agent's script). They are masked, and the agent still reaches its
/// own issue's directories inside the masked work root.
#[test]
fn an_agent_beside_agentpods_files_sees_only_its_own() {
    // The script named plainly, through a parent directory, and through a symbolic link: each
    // way of naming it must leave the spec, the store and other issues masked (paths are
    // compared as real paths, not as written).
    for form in ["plain", "parent", "link"] {
        agent_beside_agentpods_files(form);
    }
}

fn agent_beside_agentpods_files(form: &str) {
    let scratch = Scratch::new();
    let pods = agentpod_end_to_end::repo_root().join("tests/pods");
    let agent = scratch.path().join("agent.sh");
    agentpod_end_to_end::write_executable(
        &agent,
        "#!/bin/sh\n\
         here=$(dirname \"$0\")\n\
         issues=$(ls \"$here\"/work/*/issues | tr '\\n' ' ')\n\
         agents=$(ls \"$here\"/work/*/agents | tr '\\n' ' ')\n\
         own=$(basename \"$(dirname \"$(dirname \"$AGENTPOD_OUTPUT\")\")\")\n\
         spec=$(cat \"$here/spec.yaml\" | wc -c)\n\
         store=$(cat \"$here/runs.db\" \"$here/runs.db-wal\" | wc -c)\n\
         printf '{\"answer\": \"4\", \"issues\": \"%s\", \"agents\": \"%s\", \"own\": \"%s\", \"spec_bytes\": %s, \"store_bytes\": %s}' \"$issues\" \"$agents\" \"$own\" \"$spec\" \"$store\" > \"$AGENTPOD_OUTPUT\"\n",
    );
    let directory = scratch.path().file_name().unwrap().to_str().unwrap();
    std::os::unix::fs::symlink(scratch.path(), scratch.path().join("link")).unwrap();
    let command = match form {
        "plain" => "[\"./agent.sh\"]".to_string(),
        "parent" => format!("[\"sh\", \"../{directory}/agent.sh\"]"),
        _ => "[\"sh\", \"link/agent.sh\"]".to_string(),
    };
    let spec = scratch.path().join("spec.yaml");
    std::fs::write(
        &spec,
        format!(
            "name: beside\ndatabase:\n  image: postgres:15\n  fixtures:\n    - sql: {pods}/tiny/schema.sql\n\
             agent:\n  command: {command}\n  version: beside-1\n\
             issues:\n  source: {pods}/tiny/hostile-issues.jsonl\n  sample: 2\n",
            pods = pods.display()
        ),
    )
    .unwrap();
    run_to_success(
        &scratch,
        &[
            "run",
            spec.to_str().unwrap(),
            "--runtime",
            "local",
            "--no-progress",
        ],
    );
    for (id, outcome) in outcomes_by_issue(&scratch.show("latest")) {
        let answer = &outcome["output"];
        assert_eq!(answer["answer"], "4", "{form}: {outcome}");
        assert_eq!(
            answer["spec_bytes"], 0,
            "{form}: the spec is masked: {outcome}"
        );
        assert_eq!(
            answer["store_bytes"], 0,
            "{form}: the store is masked: {outcome}"
        );
        // The agent works in a directory of its own (its sandbox was started there ahead of
        // the issue): it sees that one and no other, and none of the issues' records.
        assert_eq!(
            answer["issues"].as_str().unwrap().trim(),
            "",
            "{form}: no issue's record ({id}): {outcome}"
        );
        assert!(
            answer["own"].as_str().unwrap().starts_with("pod"),
            "{form}: {outcome}"
        );
        assert_eq!(
            answer["agents"].as_str().unwrap().trim(),
            answer["own"].as_str().unwrap(),
            "{form}: only its own directory: {outcome}"
        );
    }
}

/// An agent in a directory only its owner may read (as `mktemp -d` makes them) cannot be read
/// by the sandbox's user: the run says so before any pod starts, with what to do.
#[test]
fn an_agent_in_a_private_directory_is_a_clear_error() {
    if !nix::unistd::geteuid().is_root() {
        return; // Not root: the agent keeps agentpod's own user and can read it.
    }
    let scratch = Scratch::new();
    let private = scratch.path().join("private");
    std::fs::create_dir(&private).unwrap();
    agentpod_end_to_end::write_executable(&private.join("agent.sh"), "#!/bin/sh\nexit 0\n");
    std::fs::set_permissions(
        &private,
        std::os::unix::fs::PermissionsExt::from_mode(0o700),
    )
    .unwrap();
    let output = scratch
        .agentpod(&[
            "run",
            "tests/pods/hostile.yaml",
            "--runtime",
            "local",
            "--no-progress",
            "--agent-command",
            private.join("agent.sh").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("mode 700") && stderr.contains("chmod o+rX"),
        "{stderr}"
    );
}

/// Runs `agentpod` with `arguments` and asserts the run itself succeeded.
fn run_to_success(scratch: &Scratch, arguments: &[&str]) {
    let output = scratch.agentpod(arguments).output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
