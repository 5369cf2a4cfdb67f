//! A panic inside a pod's task (here: a reporter that panics when the first issue finishes) must
//! not leave the pod behind: the worker's future is dropped and the pod's drop guard removes its
//! container and network. The other pod carries on. Real Docker engine, real Postgres.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use agentpod_runner::{
    Interrupt, RunEvent, RunOptions, RunPlan, RunReporter, SampleSize, execute, new_run_id,
};
use agentpod_runtime::DockerRuntime;
use agentpod_store::{RunStatus, RunStore};

struct PanicsOnFirstOutcome {
    panicked: AtomicBool,
}

impl RunReporter for PanicsOnFirstOutcome {
    fn report(&self, event: &RunEvent<'_>) {
        if let RunEvent::IssueFinished { .. } = event
            && !self.panicked.swap(true, Ordering::SeqCst)
        {
            panic!("a reporter bug, on purpose");
        }
    }
}

fn docker_resources(run_id: &str) -> String {
    let filter = format!("label=dev.agentpod.run={run_id}");
    let mut found = String::new();
    for args in [
        vec!["ps", "-aq", "--filter", &filter],
        vec!["network", "ls", "-q", "--filter", &filter],
    ] {
        let output = Command::new("docker")
            .args(&args)
            .output()
            .expect("docker CLI");
        found.push_str(&String::from_utf8_lossy(&output.stdout));
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_pod_task_removes_its_pod_and_the_run_carries_on() {
    let spec_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../pods/support-triage.yaml");
    let spec = agentpod_spec::load(&spec_path).expect("the demo spec loads");
    let scratch = tempfile::tempdir().unwrap();
    let run_id = new_run_id();
    let options = RunOptions {
        pods: Some(2),
        sample: Some(SampleSize::Count(6)),
        // The agent does not matter here; `true` writes no answer, so issues end as errored.
        agent_command: Some(vec!["true".to_string()]),
        work_root: scratch.path().join("work"),
        ..RunOptions::default()
    };
    let plan = RunPlan::prepare(run_id.clone(), spec, options).unwrap();
    let store = RunStore::open(&scratch.path().join("runs.db"))
        .await
        .unwrap();
    let runtime = DockerRuntime::connect()
        .await
        .expect("a Docker engine answers");
    let reporter = Arc::new(PanicsOnFirstOutcome {
        panicked: AtomicBool::new(false),
    });

    let result = execute(
        plan,
        Arc::new(runtime),
        store.clone(),
        reporter.clone(),
        Interrupt::new(),
    )
    .await
    .unwrap();

    assert!(
        reporter.panicked.load(Ordering::SeqCst),
        "the reporter did panic"
    );
    assert_eq!(
        docker_resources(&run_id),
        "",
        "the panicking pod's resources were left behind"
    );
    let outcomes = store.outcomes(&run_id).await.unwrap();
    // The panicking pod recorded its first outcome before the reporter ran; the other pod served
    // the rest of the queue.
    assert_eq!(
        outcomes.len(),
        6,
        "the run carried on without the panicked pod"
    );
    assert_eq!(result.status, RunStatus::Finished);
}
