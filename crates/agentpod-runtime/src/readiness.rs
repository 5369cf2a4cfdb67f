//! Readiness of a pod's Postgres: it is ready when the host can log in over TCP and run a query.
//!
//! A TCP login is the real signal for both runtimes: the official image's entrypoint runs its
//! temporary init server on the unix socket only, so a TCP login reaches the final server, and
//! `pg_isready`-style probes would report "accepting connections" before authentication works.

use std::future::Future;
use std::time::Duration;

use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgSslMode};
use tokio::time::Instant;

use crate::error::RuntimeError;
use agentpod_postgres_server::PostgresEndpoint;

/// One attempt must not hang on a silently dropped SYN.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(2);
const RETRY_INTERVAL: Duration = Duration::from_millis(50);

/// Retries logging in as the superuser until it works or `timeout` passes. Between attempts
/// `check_still_starting` is asked whether the server can still come up, so a crashed server
/// fails fast with its own reason instead of waiting out the deadline.
pub(crate) async fn wait_until_ready<Check, CheckFuture>(
    endpoint: &PostgresEndpoint,
    timeout: Duration,
    mut check_still_starting: Check,
) -> Result<(), RuntimeError>
where
    Check: FnMut() -> CheckFuture,
    CheckFuture: Future<Output = Result<(), RuntimeError>>,
{
    let deadline = Instant::now() + timeout;
    let options = PgConnectOptions::new()
        .host(&endpoint.host)
        .port(endpoint.port)
        .username(&endpoint.user)
        .password(&endpoint.password)
        .database("postgres")
        .ssl_mode(PgSslMode::Disable);
    loop {
        let last_error = match try_query(&options).await {
            Ok(()) => return Ok(()),
            Err(error) => error,
        };
        check_still_starting().await?;
        if Instant::now() + RETRY_INTERVAL >= deadline {
            return Err(RuntimeError::NotReady {
                host: endpoint.host.clone(),
                port: endpoint.port,
                seconds: timeout.as_secs(),
                last_error,
            });
        }
        tokio::time::sleep(RETRY_INTERVAL).await;
    }
}

/// Why one readiness attempt did not get its answer.
#[derive(Debug, thiserror::Error)]
pub enum NotReadyYet {
    #[error("the connection attempt timed out after {} s", ATTEMPT_TIMEOUT.as_secs())]
    TimedOut,
    #[error("cannot log in")]
    Login(#[source] sqlx::Error),
    #[error("cannot run SELECT 1")]
    Query(#[source] sqlx::Error),
    #[error("SELECT 1 returned {0}")]
    WrongAnswer(i32),
}

async fn try_query(options: &PgConnectOptions) -> Result<(), NotReadyYet> {
    let mut connection = tokio::time::timeout(ATTEMPT_TIMEOUT, PgConnection::connect_with(options))
        .await
        .map_err(|_| NotReadyYet::TimedOut)?
        .map_err(NotReadyYet::Login)?;
    let one: i32 = sqlx::query_scalar("SELECT 1")
        .fetch_one(&mut connection)
        .await
        .map_err(NotReadyYet::Query)?;
    let _ = connection.close().await;
    if one == 1 {
        Ok(())
    } else {
        Err(NotReadyYet::WrongAnswer(one))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn gives_up_at_the_deadline_with_the_last_error() {
        // A port nothing listens on: bind one, then free it.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .map(|address| address.port())
            .unwrap_or(1);
        let endpoint = PostgresEndpoint {
            host: "127.0.0.1".to_string(),
            port,
            user: "postgres".to_string(),
            password: "x".to_string(),
        };
        let started = Instant::now();
        let result =
            wait_until_ready(&endpoint, Duration::from_millis(300), || async { Ok(()) }).await;
        let Err(error) = result else {
            panic!("{result:?}")
        };
        assert!(matches!(error, RuntimeError::NotReady { .. }), "{error:?}");
        // The last attempt's failure is the cause, down to the refused connection.
        let text = agentpod_error_chain::error_chain(&error);
        assert!(text.contains("cannot log in: "), "{text}");
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[tokio::test]
    async fn stops_early_when_the_server_died() {
        let endpoint = PostgresEndpoint {
            host: "127.0.0.1".to_string(),
            port: 1,
            user: "postgres".to_string(),
            password: "x".to_string(),
        };
        let result = wait_until_ready(&endpoint, Duration::from_secs(60), || async {
            Err(RuntimeError::Task("server died".to_string()))
        })
        .await;
        assert!(matches!(result, Err(RuntimeError::Task(_))), "{result:?}");
    }
}
