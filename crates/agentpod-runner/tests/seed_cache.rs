//! The seed cache against the real Docker engine (these tests need it and the `postgres:15`
//! image): a template seeded once and committed, then restored in a pod that attaches to it
//! without running the fixtures again; two commits of the same key at once; a changed fixture
//! making a new key; and `gc --seeds` removing the images. It lives with the runner, the crate
//! that joins the Docker runtime's seed cache and the pod database, so the database crate needs
//! no runtime.

use agentpod_db::{PodDatabase, seed_key};
use agentpod_runtime::{DockerRuntime, GcOptions, PodRequest, Runtime, SeedImage, collect_garbage};
use agentpod_spec::{AccessClass, BoundarySpec, Fixture, FixtureKind, TableRule};
use sqlx::{Connection, PgConnection};

const IMAGE: &str = "postgres:15";

/// A fixture that leaves a trace of every time it runs: a row in `seed_log` stamped with the
/// time and a sequence number. A template seeded once has one row, in every clone.
fn fixture(directory: &tempfile::TempDir, marker: &str) -> Fixture {
    let path = directory.path().join("schema.sql");
    std::fs::write(
        &path,
        format!(
            "-- {marker}: unique per test run, so the key is new and the cache misses first.
             CREATE TABLE tickets (id integer PRIMARY KEY, title text NOT NULL);
             INSERT INTO tickets VALUES (1, 'printer on fire'), (2, 'cannot log in');
             CREATE TABLE seed_log (id serial PRIMARY KEY, seeded_at timestamptz DEFAULT now());
             INSERT INTO seed_log DEFAULT VALUES;"
        ),
    )
    .expect("write the fixture");
    Fixture {
        path,
        kind: FixtureKind::Sql,
        line: 1,
    }
}

fn boundary() -> BoundarySpec {
    let rule = |table: &str, access| TableRule {
        table: table.to_string(),
        access,
        line: 1,
        column: 1,
    };
    BoundarySpec {
        default: None,
        on_proposal: Default::default(),
        tables: vec![
            rule("tickets", AccessClass::Writable),
            rule("seed_log", AccessClass::ReadOnly),
        ],
        columns: Vec::new(),
        line: 1,
        column: 1,
    }
}

fn request(run_id: &str, image: &str) -> PodRequest {
    PodRequest {
        run_id: run_id.to_string(),
        pod_index: 1,
        image: image.to_string(),
    }
}

/// Image ids with the seed-key label `key`, from the docker CLI rather than the code under test.
fn images_labelled(key: &str) -> Vec<String> {
    let output = std::process::Command::new("docker")
        .args([
            "images",
            "--quiet",
            "--no-trunc",
            "--filter",
            &format!("label=dev.agentpod.seed-key={key}"),
        ])
        .output()
        .expect("docker CLI");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

fn unique(test: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_nanos())
        .unwrap_or(0);
    format!("t-{test}-{}-{nanos:x}", std::process::id())
}

/// Seeds one server for the cache with `fixtures` and the boundary, and commits it as `key`.
async fn seed_and_commit(
    runtime: &DockerRuntime,
    run_id: &str,
    fixtures: &[Fixture],
    key: &str,
) -> SeedImage {
    let cache = runtime.seed_cache().expect("docker keeps seeds");
    let server = cache
        .start_seeding(&request(run_id, IMAGE))
        .await
        .expect("start a seeding server");
    let mut database = PodDatabase::seed(server.postgres(), fixtures)
        .await
        .expect("seed");
    database
        .apply_boundary(Some(&boundary()))
        .await
        .expect("apply the boundary");
    database.close().await;
    server.commit(key).await.expect("commit the seed")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cached_seed_restores_the_template_without_running_the_fixtures_again() {
    let runtime = DockerRuntime::connect()
        .await
        .expect("a Docker engine answers");
    let cache = runtime.seed_cache().expect("docker keeps seeds");
    let run_id = unique("seed-cache");
    let directory = tempfile::tempdir().expect("temp dir");
    let fixtures = vec![fixture(&directory, &run_id)];
    let identity = cache.image_identity(IMAGE).await.expect("image identity");
    let key = seed_key(&identity, &fixtures, Some(&boundary())).expect("key");
    assert_eq!(cache.find_seed(&key).await.expect("look up"), None);

    // Two runs missing the same seed at once: both commit, neither fails, and they settle on one
    // image rather than keeping a duplicate.
    let (first, second) = tokio::join!(
        seed_and_commit(&runtime, &run_id, &fixtures, &key),
        seed_and_commit(&runtime, &run_id, &fixtures, &key),
    );
    assert_eq!(first, second);
    assert_eq!(images_labelled(&key), std::slice::from_ref(&first.id));
    let found = cache
        .find_seed(&key)
        .await
        .expect("look up")
        .expect("a seed is cached under the key");
    assert_eq!(found, first);
    assert!(found.name.starts_with("agentpod-seed:"), "{}", found.name);

    let pod = runtime
        .start_pod(&request(&run_id, &first.id))
        .await
        .expect("start a pod from the seed");
    let (database, effective) = PodDatabase::attach(pod.postgres(), Some(&boundary()))
        .await
        .expect("attach to the restored template");
    let classes: Vec<(String, AccessClass)> = effective
        .tables
        .iter()
        .map(|table| (table.name.clone(), table.access))
        .collect();
    assert_eq!(
        classes,
        [
            ("seed_log".to_string(), AccessClass::ReadOnly),
            ("tickets".to_string(), AccessClass::Writable),
        ]
    );

    let issue = database
        .create_issue_database("cached-1")
        .await
        .expect("clone the restored template");
    let mut agent = PgConnection::connect(&issue.agent_url)
        .await
        .expect("the agent logs in with this pod's password");
    let seeded_rows: i64 = sqlx::query_scalar("SELECT count(*) FROM seed_log")
        .fetch_one(&mut agent)
        .await
        .expect("count seed_log");
    let tickets: i64 = sqlx::query_scalar("SELECT count(*) FROM tickets")
        .fetch_one(&mut agent)
        .await
        .expect("count tickets");
    let write_to_read_only = sqlx::query("INSERT INTO seed_log DEFAULT VALUES")
        .execute(&mut agent)
        .await;
    let superuser: bool =
        sqlx::query_scalar("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
            .fetch_one(&mut agent)
            .await
            .expect("read the agent's role");
    agent.close().await.expect("close");
    assert_eq!(
        seeded_rows, 1,
        "the fixtures ran once, when the seed was made"
    );
    assert_eq!(tickets, 2);
    assert!(
        write_to_read_only.is_err(),
        "the boundary's grants came with the seed"
    );
    assert!(!superuser);
    database.drop_issue_database(issue).await.expect("drop");
    database.close().await;
    pod.shutdown().await.expect("shut down");

    // A changed fixture is another template: the cache must miss.
    std::fs::write(
        &fixtures[0].path,
        std::fs::read_to_string(&fixtures[0].path).expect("read") + "\n-- changed",
    )
    .expect("change the fixture");
    let changed = seed_key(&identity, &fixtures, Some(&boundary())).expect("key");
    assert_ne!(changed, key);
    assert_eq!(cache.find_seed(&changed).await.expect("look up"), None);

    let report = collect_garbage(GcOptions {
        seeds: true,
        ..GcOptions::default()
    })
    .await
    .expect("gc --seeds");
    assert!(
        report
            .seed_images
            .iter()
            .any(|image| image.contains(&first.name)),
        "{report:?}"
    );
    assert_eq!(cache.find_seed(&key).await.expect("look up"), None);
}

#[tokio::test]
async fn plain_gc_keeps_seed_images() {
    let report = collect_garbage(GcOptions {
        dry_run: true,
        ..GcOptions::default()
    })
    .await
    .expect("gc");
    assert!(report.seed_images.is_empty(), "{report:?}");
}
