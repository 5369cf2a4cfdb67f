//! The local runtime's seed cache against real Postgres binaries: a seeded cluster kept, every
//! pod restored from it with the seeded data and a superuser password of its own, no password
//! in the cache, nothing of it readable by other users, and a broken entry never used.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use agentpod_runtime::{LocalRuntime, PodRequest, Runtime};
use sqlx::Connection;
use sqlx::postgres::PgConnection;

use crate::support::{query_string, request, unique_run_id};

const KEY: &str = "5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed";

async fn execute(url: &str, statement: &'static str) {
    let mut connection = PgConnection::connect(url).await.expect("connect");
    sqlx::raw_sql(statement)
        .execute(&mut connection)
        .await
        .expect("execute");
    connection.close().await.expect("close");
}

async fn can_log_in(url: &str) -> bool {
    match PgConnection::connect(url).await {
        Ok(connection) => {
            let _ = connection.close().await;
            true
        }
        Err(_) => false,
    }
}

/// Every file and directory under `path` with permission bits open to group or others.
fn open_to_others(path: &Path) -> Vec<String> {
    let mut open = Vec::new();
    let mode = std::fs::symlink_metadata(path)
        .expect("stat")
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        open.push(format!("{} {:o}", path.display(), mode & 0o777));
    }
    if path.is_dir() {
        for item in std::fs::read_dir(path).expect("list") {
            open.extend(open_to_others(&item.expect("item").path()));
        }
    }
    open
}

#[tokio::test]
async fn a_committed_seed_restores_into_pods_with_passwords_of_their_own() {
    let cache = tempfile::tempdir().expect("temp dir");
    let seeds_root = cache.path().join("agentpod/seeds");
    let runtime = LocalRuntime::detect()
        .expect("local postgres binaries")
        .with_seed_directory(seeds_root.clone());
    let seed_cache = runtime.seed_cache().expect("the local runtime keeps seeds");
    let identity = seed_cache
        .image_identity("postgres:15")
        .await
        .expect("identity");
    assert!(identity.starts_with("local-cluster-"), "{identity}");
    assert_eq!(seed_cache.find_seed(KEY).await.expect("find"), None);

    let run_id = unique_run_id("local-seed");
    let server = seed_cache
        .start_seeding(&request(&run_id, 1))
        .await
        .expect("start seeding");
    let seeding_url = server.postgres().admin_url("postgres");
    let seeding_password = server.postgres().password.clone();
    execute(
        &seeding_url,
        "CREATE TABLE seeded (id integer); INSERT INTO seeded VALUES (42)",
    )
    .await;
    let seed = server.commit(KEY).await.expect("commit");
    assert_eq!(seed.id, seeds_root.join(KEY).display().to_string());
    assert_eq!(
        seed_cache.find_seed(KEY).await.expect("find"),
        Some(seed.clone())
    );
    assert_eq!(open_to_others(&seeds_root), Vec::<String>::new());

    let from_seed = |pod_index| PodRequest {
        image: seed.id.clone(),
        ..request(&run_id, pod_index)
    };
    let first = runtime
        .start_pod(&from_seed(1))
        .await
        .expect("restore pod 1");
    let second = runtime
        .start_pod(&from_seed(2))
        .await
        .expect("restore pod 2");
    let seeded = query_string(first.postgres(), "SELECT id::text FROM seeded").await;
    let second_seeded = query_string(second.postgres(), "SELECT id::text FROM seeded").await;
    let own_passwords = first.postgres().password != second.postgres().password;
    // The seeding server's password, and none at all, log in to no restored pod.
    let seeding_password_url = first
        .postgres()
        .admin_url("postgres")
        .replace(&first.postgres().password, &seeding_password);
    let seeding_password_works = can_log_in(&seeding_password_url).await;
    let stored_password: Result<String, _> = query_string(
        first.postgres(),
        "SELECT coalesce(rolpassword, 'none') FROM pg_authid WHERE rolname = 'postgres'",
    )
    .await;
    let empty = PgConnection::connect_with(
        &sqlx::postgres::PgConnectOptions::new()
            .host("127.0.0.1")
            .port(first.postgres().port)
            .username("postgres")
            .database("postgres"),
    )
    .await
    .is_ok();
    first.shutdown().await.expect("shutdown");
    second.shutdown().await.expect("shutdown");

    assert_eq!(seeded.expect("seeded row"), "42");
    assert_eq!(second_seeded.expect("seeded row"), "42");
    assert!(own_passwords);
    assert!(
        !seeding_password_works,
        "the seeding password must not log in"
    );
    assert!(
        stored_password
            .expect("password")
            .starts_with("SCRAM-SHA-256$")
    );
    assert!(!empty, "no password must not log in");
}

#[tokio::test]
async fn a_broken_entry_is_not_used_and_a_pod_from_it_fails_to_start() {
    let cache = tempfile::tempdir().expect("temp dir");
    let seeds_root = cache.path().join("seeds");
    let runtime = LocalRuntime::detect()
        .expect("local postgres binaries")
        .with_seed_directory(seeds_root.clone());
    let seed_cache = runtime.seed_cache().expect("seed cache");
    let run_id = unique_run_id("local-seed-broken");
    let server = seed_cache
        .start_seeding(&request(&run_id, 1))
        .await
        .expect("start seeding");
    let seed = server.commit(KEY).await.expect("commit");
    let entry = seeds_root.join(KEY);
    // One file of the cluster cut short, as a crash or a full disk would leave it.
    let victim = entry.join("data/global/pg_control");
    std::fs::write(&victim, b"cut short").expect("truncate");

    let started = runtime
        .start_pod(&PodRequest {
            image: seed.id.clone(),
            ..request(&run_id, 2)
        })
        .await;
    let found = seed_cache.find_seed(KEY).await.expect("find");
    if let Ok(pod) = started {
        pod.shutdown().await.expect("shutdown");
        panic!("a pod started from a broken seed");
    }
    assert_eq!(found, None);
    assert!(!entry.exists(), "the broken entry is removed");
}
