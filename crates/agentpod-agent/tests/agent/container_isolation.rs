//! What a containerised agent can see and reach: its answer gets out, its issue is read-only,
//! it has no privileges and no host environment, and its pod's database is the only thing on
//! the network it reaches. Real Docker pods; the tool agent is `postgres:15` running bash.

use std::collections::BTreeSet;
use std::time::Duration;

use agentpod_agent::{AgentExit, AgentOutput};
use sqlx::Connection;
use sqlx::postgres::PgConnection;
use tokio_util::sync::CancellationToken;

use crate::container_support::{ContainerAgent, TOOL_IMAGE, docker_client, reported, start_pod};

#[tokio::test]
async fn an_answer_gets_out_of_a_locked_down_container() {
    let agent = ContainerAgent::bash(
        "locked",
        r#"
        echo uid=$(id -u)
        echo capabilities=$(awk '/^CapEff/ {print $2}' /proc/self/status)
        echo bounding=$(awk '/^CapBnd/ {print $2}' /proc/self/status)
        echo no_new_privileges=$(awk '/^NoNewPrivs/ {print $2}' /proc/self/status)
        echo rootfs=$(awk '$2 == "/" {split($4, options, ","); print options[1]}' /proc/mounts)
        if echo tampered >> "$AGENTPOD_ISSUE"; then echo issue=written; else echo issue=refused; fi
        if touch /tmp/scratch; then echo scratch=written; else echo scratch=refused; fi
        echo home=$HOME
        echo issue_id=$(grep -o '"T-1"' "$AGENTPOD_ISSUE")
        echo memory_limit=$(cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max)
        echo pids_limit=$(cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max)
        echo '{"category": "billing"}' > "$AGENTPOD_OUTPUT"
        "#,
    )
    .await;
    let run = agent.run().await;
    let issue_after = std::fs::read_to_string(&agent.invocation.issue_path).expect("read issue");
    let facts = reported(&run.stdout.text);
    agent.finish().await;

    assert_eq!(run.exit, AgentExit::Exited { code: 0 }, "{run:?}");
    assert_eq!(
        run.output,
        AgentOutput::Valid(serde_json::json!({"category": "billing"}))
    );
    let fact = |key: &str| facts.get(key).map(String::as_str);
    assert_eq!(fact("uid"), Some("65534"), "{facts:?}");
    assert_eq!(fact("capabilities"), Some("0000000000000000"), "{facts:?}");
    assert_eq!(fact("bounding"), Some("0000000000000000"), "{facts:?}");
    assert_eq!(fact("no_new_privileges"), Some("1"), "{facts:?}");
    assert_eq!(fact("rootfs"), Some("ro"), "{facts:?}");
    assert_eq!(fact("issue"), Some("refused"), "{facts:?}");
    assert_eq!(fact("scratch"), Some("written"), "{facts:?}");
    assert_eq!(fact("home"), Some("/tmp"), "{facts:?}");
    assert_eq!(fact("issue_id"), Some(r#""T-1""#), "{facts:?}");
    assert_eq!(fact("memory_limit"), Some("268435456"), "{facts:?}");
    assert_eq!(fact("pids_limit"), Some("64"), "{facts:?}");
    assert_eq!(issue_after, r#"{"id": "T-1", "subject": "probe"}"#);
}

#[tokio::test]
async fn the_environment_holds_the_contract_and_nothing_of_the_host() {
    // Cargo sets this for the test process; if the host's environment leaked, the agent would
    // see it.
    assert!(std::env::var_os("CARGO_MANIFEST_DIR").is_some());
    let agent = ContainerAgent::bash("env", "env").await;
    let run = agent.run().await;
    let image = docker_client()
        .await
        .inspect_image(TOOL_IMAGE)
        .await
        .expect("inspect tool image");
    let contract: Vec<String> = agent
        .invocation
        .env
        .iter()
        .map(|(name, _)| name.clone())
        .collect();
    let database_url = agent.pod.postgres().admin_url("postgres");
    agent.finish().await;

    assert_eq!(run.exit, AgentExit::Exited { code: 0 }, "{run:?}");
    let seen = reported(&run.stdout.text);
    let names: BTreeSet<&str> = seen.keys().map(String::as_str).collect();
    let image_variables: Vec<String> = image
        .config
        .and_then(|config| config.env)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|variable| variable.split_once('=').map(|(name, _)| name.to_string()))
        .collect();
    let mut expected: BTreeSet<&str> = contract.iter().map(String::as_str).collect();
    expected.extend(image_variables.iter().map(String::as_str));
    // Set by the engine (HOSTNAME), by us (the in-container paths), and by bash itself.
    expected.extend([
        "AGENTPOD_ISSUE",
        "AGENTPOD_OUTPUT",
        "HOME",
        "HOSTNAME",
        "PWD",
        "SHLVL",
        "_",
    ]);
    assert_eq!(names, expected);
    assert_eq!(
        seen.get("AGENTPOD_OUTPUT").map(String::as_str),
        Some("/agentpod/output/output.json")
    );
    assert_eq!(
        seen.get("DATABASE_URL").map(String::as_str),
        Some(database_url.as_str())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_pods_own_database_is_reachable() {
    let mut agent = ContainerAgent::bash(
        "network",
        r#"
        probe() {
          if timeout 5 bash -c "exec 3<>/dev/tcp/$2/$3" 2>/dev/null; then echo "$1=reached"; else echo "$1=blocked"; fi
        }
        echo word=$(psql "$DATABASE_URL" -tAc 'SELECT word FROM probe')
        probe own_database "$OWN_DATABASE" 5432
        probe internet_http 1.1.1.1 80
        probe internet_dns 8.8.8.8 53
        probe other_pod "$OTHER_DATABASE" 5432
        probe host_on_bridge "$HOST_ADDRESS" "$HOST_PORT"
        probe host_on_docker0 172.17.0.1 "$HOST_PORT"
        "#,
    )
    .await;
    let other = start_pod(&agent.run_id, 2).await;
    // A host service listening on every address, as a developer's database or an SSH server
    // would.
    let listener = std::net::TcpListener::bind("0.0.0.0:0").expect("bind host listener");
    let host_port = listener.local_addr().expect("listener address").port();
    let seeded = seed_probe_table(&agent.pod.postgres().admin_url("postgres")).await;
    let host_address = agent.pod.host_address().expect("host address").to_string();
    // Opened as the pod opens its gateways' ports: on the bridge's own address only, so the
    // same port on another host address (docker0) stays closed.
    agent
        .pod
        .allow_host_ports(&[host_port])
        .await
        .expect("open the listener's port to the pod");
    agent.invocation.env.extend([
        (
            "OWN_DATABASE".to_string(),
            agent.pod.postgres().host.clone(),
        ),
        ("OTHER_DATABASE".to_string(), other.postgres().host.clone()),
        ("HOST_ADDRESS".to_string(), host_address),
        ("HOST_PORT".to_string(), host_port.to_string()),
    ]);
    let launched = agent.launch(CancellationToken::new()).await;
    let run = launched.run;
    let host_reaches_listener = std::net::TcpStream::connect_timeout(
        &listener.local_addr().expect("address"),
        Duration::from_secs(5),
    )
    .is_ok();
    other.shutdown().await.expect("shut the other pod down");
    agent.finish().await;

    seeded.expect("seed the probe table");
    assert_eq!(run.exit, AgentExit::Exited { code: 0 }, "{run:?}");
    assert!(host_reaches_listener, "the control: the listener accepts");
    let facts = reported(&run.stdout.text);
    let fact = |key: &str| facts.get(key).map(String::as_str);
    assert_eq!(fact("word"), Some("from-the-pod"), "{run:?}");
    assert_eq!(fact("own_database"), Some("reached"), "{facts:?}");
    assert_eq!(
        fact("host_on_bridge"),
        Some("reached"),
        "an opened port: {facts:?}"
    );
    for target in [
        "internet_http",
        "internet_dns",
        "other_pod",
        "host_on_docker0",
    ] {
        assert_eq!(fact(target), Some("blocked"), "{target}: {facts:?}");
    }
    assert!(
        launched.refused_connections > 0,
        "the pod counted the refused attempts: {}",
        launched.refused_connections
    );
}

async fn seed_probe_table(url: &str) -> Result<(), sqlx::Error> {
    let mut connection = PgConnection::connect(url).await?;
    sqlx::raw_sql("CREATE TABLE probe (word text); INSERT INTO probe VALUES ('from-the-pod');")
        .execute(&mut connection)
        .await?;
    connection.close().await
}

/// The example image, built by the script, triaging one ticket against its pod's database.
#[tokio::test]
async fn the_baseline_agent_image_triages_a_ticket_in_its_pod() {
    let built = std::process::Command::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../scripts/build-agent-image"
    ))
    .status()
    .expect("run scripts/build-agent-image");
    assert!(built.success(), "scripts/build-agent-image failed");
    let agent = ContainerAgent::new("baseline", "agentpod/baseline-agent:local", Vec::new()).await;
    std::fs::write(
        &agent.invocation.issue_path,
        serde_json::json!({
            "id": "T-1001",
            "ticket_id": 1001,
            "subject": "Charged twice",
            "body": "I was charged twice on my card for the renewal.",
            "customer_email": "sara@example.net",
        })
        .to_string(),
    )
    .expect("write issue");
    let url = agent.pod.postgres().admin_url("postgres");
    let seeded = seed_support_desk(&url).await;
    let run = agent.run().await;
    let notes = count_notes(&url).await;
    agent.finish().await;

    seeded.expect("seed the support desk");
    assert_eq!(run.exit, AgentExit::Exited { code: 0 }, "{run:?}");
    let AgentOutput::Valid(answer) = &run.output else {
        panic!("no valid answer: {run:?}");
    };
    assert_eq!(answer["category"], "billing", "{answer}");
    assert_eq!(
        notes.expect("count notes"),
        1,
        "the agent's note on the ticket"
    );
}

async fn seed_support_desk(url: &str) -> Result<(), sqlx::Error> {
    let schema = include_str!("../../../../fixtures/support-triage/schema.sql");
    let mut connection = PgConnection::connect(url).await?;
    sqlx::raw_sql(schema).execute(&mut connection).await?;
    sqlx::raw_sql(
        "INSERT INTO customers VALUES (1, 'Sara', 'sara@example.net', 'pro', 'SE', now());
         INSERT INTO tickets (id, customer_id, subject, body, status, created_at)
         VALUES (1001, 1, 'Charged twice', 'I was charged twice', 'open', now());",
    )
    .execute(&mut connection)
    .await?;
    connection.close().await
}

async fn count_notes(url: &str) -> Result<i64, sqlx::Error> {
    let mut connection = PgConnection::connect(url).await?;
    let count = sqlx::query_scalar("SELECT count(*) FROM ticket_notes WHERE ticket_id = 1001")
        .fetch_one(&mut connection)
        .await?;
    connection.close().await?;
    Ok(count)
}
