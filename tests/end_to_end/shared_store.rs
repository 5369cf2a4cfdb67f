//! The shared Postgres run store (`--store postgres://…`, here through `AGENTPOD_STORE`): two
//! machines — network namespaces with their own host names, on a bridge this test makes — run
//! the four shards of one run at once, every shard writing straight into one Postgres server at a
//! third address; `merge --group` makes them one run in that store, with the outcomes, report
//! figures and gate of the same run on one machine; and runs move between a SQLite store and the
//! Postgres store with `export --bundle` and `import`. Needs root (namespaces, a bridge).

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

use agentpod_end_to_end::{Scratch, binary, run_id_from_stderr, stderr_text};
use agentpod_test_postgres::LocalPostgres;
use serde_json::Value;

use crate::shards::{merged_run_id, outcomes_by_pair, report_figures, run_to_end, strip_measured};

const SPEC: &str = "tests/pods/shards.yaml";
const GROUP: &str = "shared-store-e2e";
/// The store server's address on the bridge; machine K is .1K.
const SERVER_ADDRESS: &str = "192.168.212.1";

/// Two network namespaces on a bridge of their own, removed on drop (also when the test fails).
struct Machines {
    bridge: String,
    namespaces: Vec<String>,
}

impl Machines {
    fn new(count: usize) -> Machines {
        let id = std::process::id();
        let mut machines = Machines {
            bridge: format!("apst{id}"),
            namespaces: Vec::new(),
        };
        ip(&["link", "add", &machines.bridge, "type", "bridge"]);
        ip(&[
            "addr",
            "add",
            &format!("{SERVER_ADDRESS}/24"),
            "dev",
            &machines.bridge,
        ]);
        ip(&["link", "set", &machines.bridge, "up"]);
        for machine in 1..=count {
            let namespace = format!("agentpod-store-m{machine}-{id}");
            let (host_end, machine_end) =
                (format!("apst{id}h{machine}"), format!("apst{id}m{machine}"));
            ip(&["netns", "add", &namespace]);
            machines.namespaces.push(namespace.clone());
            ip(&[
                "link",
                "add",
                &host_end,
                "type",
                "veth",
                "peer",
                "name",
                &machine_end,
            ]);
            ip(&["link", "set", &machine_end, "netns", &namespace]);
            ip(&["link", "set", &host_end, "master", &machines.bridge, "up"]);
            let inside = |args: &[&str]| {
                let mut all = vec!["netns", "exec", &namespace, "ip"];
                all.extend_from_slice(args);
                ip(&all);
            };
            inside(&[
                "addr",
                "add",
                &format!("192.168.212.1{machine}/24"),
                "dev",
                &machine_end,
            ]);
            inside(&["link", "set", &machine_end, "up"]);
            inside(&["link", "set", "lo", "up"]);
        }
        machines
    }

    /// `agentpod ARGS` on machine `index` (from 0), under its own host name `machine-K`, with
    /// the store named by `AGENTPOD_STORE` and its work files in `scratch`.
    fn agentpod(&self, index: usize, store: &str, scratch: &Scratch, args: &[&str]) -> Command {
        let mut command = Command::new("ip");
        command
            .args([
                "netns",
                "exec",
                &self.namespaces[index],
                "unshare",
                "--uts",
                "--",
            ])
            .args(["sh", "-c", "hostname \"$0\" && exec \"$@\""])
            .arg(format!("machine-{}", index + 1))
            .arg(binary("agentpod"));
        let mut command = scratch.with_arguments(command, args);
        command.env("AGENTPOD_STORE", store);
        command
    }
}

impl Drop for Machines {
    fn drop(&mut self) {
        for namespace in &self.namespaces {
            let _ = Command::new("ip")
                .args(["netns", "del", namespace])
                .status();
        }
        let _ = Command::new("ip")
            .args(["link", "del", &self.bridge])
            .status();
    }
}

fn ip(args: &[&str]) {
    let output = Command::new("ip").args(args).output().expect("ip runs");
    assert!(
        output.status.success(),
        "ip {args:?}: {}",
        stderr_text(&output)
    );
}

/// `agentpod ARGS` on this machine against the shared store.
fn on_this_machine(store: &str, scratch: &Scratch, args: &[&str]) -> Output {
    scratch
        .with_arguments(Command::new(binary("agentpod")), args)
        .env("AGENTPOD_STORE", store)
        .output()
        .expect("agentpod starts")
}

fn json_of(output: &Output) -> Value {
    assert!(output.status.success(), "{}", stderr_text(output));
    serde_json::from_slice(&output.stdout).expect("JSON on stdout")
}

#[test]
fn shards_on_two_machines_write_one_postgres_store_and_merge_there_into_the_run_on_one_machine() {
    let machines = Machines::new(2);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = runtime
        .block_on(LocalPostgres::start_on(SERVER_ADDRESS))
        .expect("a Postgres server on the bridge");
    let store = runtime
        .block_on(server.create_database("team_runs"))
        .unwrap();
    let here = Scratch::new();

    // The run on one machine, in a SQLite store, for comparison.
    let whole = run_to_end(&here, &["run", SPEC, "--runtime", "local"]);

    // Four shards at once, two per machine, all writing into the one new Postgres store (which
    // the first of them to get there migrates).
    let scratches: Vec<Scratch> = (0..4).map(|_| Scratch::new()).collect();
    let shards: Vec<(String, Child)> = (1..=4)
        .map(|part| {
            let part_argument = format!("{part}/4");
            let args = [
                "run",
                SPEC,
                "--runtime",
                "local",
                "--pods",
                "1",
                "--shard",
                &part_argument,
                "--group",
                GROUP,
            ];
            let child = machines
                .agentpod((part - 1) % 2, &store, &scratches[part - 1], &args)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("agentpod starts in the namespace");
            (part_argument, child)
        })
        .collect();
    let password = server.endpoint.password.clone();
    let mut shard_runs = Vec::new();
    for (part, child) in shards {
        let output = child.wait_with_output().unwrap();
        let stderr = stderr_text(&output);
        assert!(output.status.success(), "shard {part}: {stderr}");
        // The password never shows in what agentpod prints.
        assert!(
            !stderr.contains(&password)
                && !String::from_utf8_lossy(&output.stdout).contains(&password)
        );
        shard_runs.push(run_id_from_stderr(&stderr).expect("the shard announces its run"));
    }
    for help in [
        vec!["--help"],
        vec!["run", "--help"],
        vec!["merge", "--help"],
    ] {
        let output = on_this_machine(&store, &here, &help);
        assert!(output.status.success());
        let text = String::from_utf8_lossy(&output.stdout);
        assert!(
            text.contains("AGENTPOD_STORE") && !text.contains(&password),
            "{text}"
        );
    }
    let listed = json_of(&on_this_machine(&store, &here, &["runs", "--json"]));
    assert_eq!(listed.as_array().unwrap().len(), 4, "{listed}");
    for run in listed.as_array().unwrap() {
        assert_eq!(run["status"], "finished", "{run}");
    }

    // Merged from the store itself: no bundles.
    let output = on_this_machine(&store, &here, &["merge", "--group", GROUP]);
    let stderr = stderr_text(&output);
    assert!(output.status.success(), "{stderr}");
    let merged = merged_run_id(&stderr);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("spread      4 shards on 2 machines"),
        "{stdout}"
    );
    assert!(!format!("{stdout}{stderr}").contains(&password));

    let shown = json_of(&on_this_machine(
        &store,
        &here,
        &["show", &merged, "--json"],
    ));
    let merged_pairs = outcomes_by_pair(&shown);
    assert_eq!(merged_pairs, outcomes_by_pair(&here.show(&whole)));
    assert_eq!(merged_pairs.len(), 120);
    let per_shard = shown["summary"]["spread"]["per_shard"]
        .as_array()
        .unwrap()
        .clone();
    let hosts: std::collections::BTreeSet<&str> = per_shard
        .iter()
        .map(|shard| shard["host"].as_str().unwrap())
        .collect();
    assert_eq!(hosts, ["machine-1", "machine-2"].into_iter().collect());
    for (index, shard) in per_shard.iter().enumerate() {
        assert_eq!(shard["run_id"], shard_runs[index].as_str());
    }

    // The whole run joins the merged one in the Postgres store by bundle (SQLite → Postgres);
    // there, report figures, compare and gate treat them as the same run.
    let whole_bundle = here.path().join("whole.json");
    let output = here.run(&["export", &whole, "--bundle", whole_bundle.to_str().unwrap()]);
    assert!(output.status.success(), "{}", stderr_text(&output));
    let output = on_this_machine(&store, &here, &["import", whole_bundle.to_str().unwrap()]);
    assert!(output.status.success(), "{}", stderr_text(&output));
    let figures = |run: &str| {
        let report = on_this_machine(&store, &here, &["report", run, "--format", "json"]);
        let mut report = json_of(&report);
        strip_measured(&mut report);
        report
    };
    assert_eq!(figures(&merged), figures(&whole));
    assert_eq!(
        figures(&whole),
        report_figures(&here, &whole),
        "the same run, read from either store"
    );
    let compare = json_of(&on_this_machine(
        &store,
        &here,
        &["compare", &whole, &merged, "--format", "json"],
    ));
    assert_eq!(compare["shared_issues"], 60);
    assert_eq!(
        compare["runs"][1]["against_baseline"]["flips"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    let gate = |run: &str| {
        on_this_machine(&store, &here, &["gate", run, "--min-pass-rate", "0.7"])
            .status
            .code()
    };
    assert_eq!(gate(&merged), Some(0));
    assert_eq!(gate(&whole), Some(0));

    // And back (Postgres → SQLite): the merged run reads the same from a SQLite store.
    let merged_bundle = here.path().join("merged.json");
    let output = on_this_machine(
        &store,
        &here,
        &[
            "export",
            &merged,
            "--bundle",
            merged_bundle.to_str().unwrap(),
        ],
    );
    assert!(output.status.success(), "{}", stderr_text(&output));
    let output = here.run(&["import", merged_bundle.to_str().unwrap()]);
    assert!(output.status.success(), "{}", stderr_text(&output));
    assert_eq!(outcomes_by_pair(&here.show(&merged)), merged_pairs);
    assert_eq!(report_figures(&here, &merged), figures(&merged));

    // A group the store does not hold is refused by name.
    let output = on_this_machine(&store, &here, &["merge", "--group", "no-such-group"]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr_text(&output));
    assert!(
        stderr_text(&output).contains("no shard of group `no-such-group`"),
        "{}",
        stderr_text(&output)
    );
    assert!(
        !stderr_text(&output).contains(&server.endpoint.password),
        "{}",
        stderr_text(&output)
    );
    drop(machines);
    assert_no_namespace_left();
}

fn assert_no_namespace_left() {
    let output = Command::new("ip").args(["netns", "list"]).output().unwrap();
    let listed = String::from_utf8_lossy(&output.stdout);
    let mine = format!("-{}", std::process::id());
    assert!(!listed.lines().any(|line| line.contains(&mine)), "{listed}");
    assert!(!Path::new(&format!("/sys/class/net/apst{}", std::process::id())).exists());
}
