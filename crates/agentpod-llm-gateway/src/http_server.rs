//! How the gateway serves HTTP: its own accept loop over hyper's HTTP/1.1 connections rather than
//! `axum::serve`, because the client is the agent under test, which may be hostile, and
//! `axum::serve` has no setting for the bounds it must not be able to stretch:
//! - a header-read timeout, so a connection that never finishes its request head is dropped;
//! - the same clock on kept-alive connections left idle (hyper restarts it after each response);
//! - a cap on open connections, so idle sockets cannot use up agentpod's file descriptors.
//!
//! The tool gateway and the trace intake carry the same loop, so the three servers have one
//! shape; this one takes its bounds from [`ConnectionLimits`] and counts its open connections
//! for `LlmGateway::open_connections`.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};

use crate::connection_limits::ConnectionLimits;

/// The pause after a failed accept that is not about one connection (out of file descriptors,
/// say), so the loop waits for descriptors to free up instead of spinning on the error.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);

/// Serves `router` on `listener` until `shutdown` completes, then lets requests in flight finish
/// (idle connections close at once) and returns when every connection has closed.
/// `open_connections` counts the connections being served.
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    open_connections: Arc<AtomicUsize>,
    shutdown: impl Future<Output = ()>,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(true);
    // Every connection task holds a receiver: `true` asks it to finish, and the sender learns
    // that all connections are gone when the last receiver drops.
    let (closing_sender, closing) = watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        // A slot is taken before accepting, so past the cap connections wait in the backlog
        // rather than being accepted into descriptors the server cannot serve.
        let slot = tokio::select! {
            () = &mut shutdown => break,
            slot = Arc::clone(&slots).acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_closed) => break,
            },
        };
        let stream = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => stream,
                Err(error) => {
                    pause_after_accept_error(&error).await;
                    continue;
                }
            },
        };
        let slot = Slot::taken(slot, &open_connections);
        serve_connection(stream, &router, builder.clone(), slot, closing.clone());
    }
    // No new connections from here on; the ones open are asked to finish.
    drop(listener);
    let _ = closing_sender.send(true);
    drop(closing);
    closing_sender.closed().await;
}

fn serve_connection(
    stream: TcpStream,
    router: &Router,
    builder: http1::Builder,
    slot: Slot,
    mut closing: watch::Receiver<bool>,
) {
    // Streamed answers are many small writes; without this Nagle's algorithm can hold one back
    // until the client's delayed acknowledgement.
    let _ = stream.set_nodelay(true);
    let service = TowerToHyperService::new(router.clone().into_service::<Incoming>());
    tokio::spawn(async move {
        let connection = builder.serve_connection(TokioIo::new(stream), service);
        let mut connection = std::pin::pin!(connection);
        tokio::select! {
            served = connection.as_mut() => {
                // A header timeout or a client that went away: routine with a hostile client.
                if let Err(error) = served {
                    tracing::debug!(%error, "llm gateway connection ended with an error");
                }
            }
            // Also taken when the server itself is gone (the sender dropped). The borrow of the
            // watched value ends inside the block: held across the next await it would make
            // the task not `Send`.
            () = async { let _ = closing.wait_for(|closing| *closing).await; } => {
                connection.as_mut().graceful_shutdown();
                if let Err(error) = connection.await {
                    tracing::debug!(%error, "llm gateway connection ended with an error while closing");
                }
            }
        }
        drop(slot);
        drop(closing);
    });
}

/// A served connection's place under the cap, given back (and uncounted) when dropped, however
/// its task ends.
struct Slot {
    _permit: OwnedSemaphorePermit,
    open_connections: Arc<AtomicUsize>,
}

impl Slot {
    fn taken(permit: OwnedSemaphorePermit, open_connections: &Arc<AtomicUsize>) -> Slot {
        open_connections.fetch_add(1, Ordering::SeqCst);
        Slot {
            _permit: permit,
            open_connections: Arc::clone(open_connections),
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.open_connections.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn pause_after_accept_error(error: &std::io::Error) {
    use std::io::ErrorKind;
    // These concern only the connection that failed; the next accept can go ahead at once.
    if matches!(
        error.kind(),
        ErrorKind::ConnectionRefused | ErrorKind::ConnectionAborted | ErrorKind::ConnectionReset
    ) {
        return;
    }
    tracing::warn!(%error, "the llm gateway cannot accept a connection");
    tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
}
