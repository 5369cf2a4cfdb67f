//! How a gateway serves HTTP: its own accept loop over hyper's HTTP/1.1 connections rather than
//! `axum::serve`, because the client is the agent under test, which may be hostile, and
//! `axum::serve` has no setting for the bounds it must not be able to stretch:
//! - a header-read timeout, so a connection that never finishes its request head is dropped;
//! - the same clock on kept-alive connections left idle (hyper restarts it after each response);
//! - a cap on open connections, so idle sockets cannot use up agentpod's file descriptors.
//!
//! The LLM gateway, the tool gateway and the trace intake all serve through [`serve`], so the
//! three servers have one shape and one set of bounds ([`ServerLimits`]); the open connections
//! are counted ([`OpenConnections`]) for gateways that report them.

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

/// How long a client may take to send a request head, counted from when its connection opens and
/// again from each time it goes idle after a response: hyper runs one clock for both, so this is
/// also the keep-alive idle timeout. 5 s: an agent on loopback or the pod bridge sends a head in
/// well under a millisecond, and HTTP clients already expect idle connections to be closed after
/// 5 s (Node's default) and open a new one.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(5);

/// Connections served at once; further ones wait in the kernel's listen backlog, which costs
/// agentpod no file descriptor, until one closes. 32: a pod serves one agent at a time, which
/// holds a few pooled connections and rarely more than a handful of calls in flight; and the
/// three gateways of eight pods at 32 each stay under the usual soft limit of 1024 descriptors.
pub const MAX_CONNECTIONS: usize = 32;

/// The pause after a failed accept that is not about one connection (out of file descriptors,
/// say), so the loop waits for descriptors to free up instead of spinning on the error.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);

/// The bounds one server holds its clients to; tests shrink them to observe them quickly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerLimits {
    /// The longest wait for a complete request head, on a new connection or on a kept-alive one
    /// between requests.
    pub header_read_timeout: Duration,
    /// The most connections served at once.
    pub max_connections: usize,
}

impl Default for ServerLimits {
    fn default() -> ServerLimits {
        ServerLimits {
            header_read_timeout: HEADER_READ_TIMEOUT,
            max_connections: MAX_CONNECTIONS,
        }
    }
}

/// Serves `router` on `listener` until `shutdown` completes, then lets requests in flight finish
/// (idle connections close at once) and returns when every connection has closed.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ServerLimits,
    open_connections: OpenConnections,
    shutdown: impl Future<Output = ()>,
) {
    // No slot at all would never serve; more than the semaphore can count would panic.
    let slots = Arc::new(Semaphore::new(
        limits.max_connections.clamp(1, Semaphore::MAX_PERMITS),
    ));
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
    // Answers are small and written whole; without this Nagle's algorithm can hold the last
    // segment of one back until the client's delayed acknowledgement.
    let _ = stream.set_nodelay(true);
    let service = TowerToHyperService::new(router.clone().into_service::<Incoming>());
    tokio::spawn(async move {
        let connection = builder.serve_connection(TokioIo::new(stream), service);
        let mut connection = std::pin::pin!(connection);
        // The guard `wait_for` returns must not live across an await, so it is dropped here.
        let closing_asked = async {
            let _ = closing.wait_for(|closing| *closing).await;
        };
        tokio::select! {
            served = connection.as_mut() => {
                // A header timeout or a client that went away: routine with a hostile client.
                if let Err(error) = served {
                    tracing::debug!(%error, "connection ended with an error");
                }
            }
            // Also taken when the server itself is gone (the sender dropped).
            () = closing_asked => {
                connection.as_mut().graceful_shutdown();
                if let Err(error) = connection.await {
                    tracing::debug!(%error, "connection ended with an error while closing");
                }
            }
        }
        drop(slot);
    });
}

/// How many connections a server is serving now; cloned, it counts the same connections.
#[derive(Debug, Clone, Default)]
pub struct OpenConnections(Arc<AtomicUsize>);

impl OpenConnections {
    pub fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

/// A connection's place under the cap, counted while it is held.
struct Slot {
    _permit: OwnedSemaphorePermit,
    open_connections: OpenConnections,
}

impl Slot {
    fn taken(permit: OwnedSemaphorePermit, open_connections: &OpenConnections) -> Slot {
        open_connections.0.fetch_add(1, Ordering::SeqCst);
        Slot {
            _permit: permit,
            open_connections: open_connections.clone(),
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.open_connections.0.fetch_sub(1, Ordering::SeqCst);
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
    tracing::warn!(%error, "cannot accept a connection");
    tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::time::timeout;

    /// Far longer than any limit under test, so a slow machine cannot fail a test that is right.
    const DEADLINE: Duration = Duration::from_secs(20);

    const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nhost: test\r\n\r\n";

    async fn start(limits: ServerLimits) -> (std::net::SocketAddr, watch::Sender<bool>) {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free port on loopback");
        let address = listener.local_addr().expect("a bound listener");
        let router = Router::new().route("/", axum::routing::get(|| async { "ok" }));
        let (stop, mut stopped) = watch::channel(false);
        tokio::spawn(serve(
            listener,
            router,
            limits,
            OpenConnections::default(),
            async move {
                let _ = stopped.wait_for(|stop| *stop).await;
            },
        ));
        (address, stop)
    }

    /// Reads one answer to `REQUEST`: the head and its two-byte body.
    async fn read_answer(stream: &mut TcpStream) -> String {
        let mut answer = Vec::new();
        let mut buffer = [0u8; 1024];
        while !answer.ends_with(b"\r\n\r\nok") {
            let read = timeout(DEADLINE, stream.read(&mut buffer))
                .await
                .expect("an answer within the deadline")
                .expect("a readable connection");
            assert!(read > 0, "closed before answering: {answer:?}");
            answer.extend_from_slice(&buffer[..read]);
        }
        String::from_utf8_lossy(&answer).into_owned()
    }

    /// Waits for the server to close `stream`: end of file, or a reset.
    async fn wait_for_close(stream: &mut TcpStream) {
        let mut buffer = [0u8; 64];
        loop {
            match timeout(DEADLINE, stream.read(&mut buffer)).await {
                Ok(Ok(0)) | Ok(Err(_)) => return,
                Ok(Ok(_)) => continue,
                Err(_) => panic!("the server kept the connection open past {DEADLINE:?}"),
            }
        }
    }

    fn short_limits(max_connections: usize) -> ServerLimits {
        ServerLimits {
            header_read_timeout: Duration::from_millis(300),
            max_connections,
        }
    }

    #[tokio::test]
    async fn a_half_sent_head_and_an_idle_connection_are_closed() {
        let (address, _stop) = start(short_limits(4)).await;
        let mut half_sent = TcpStream::connect(address).await.expect("a connection");
        half_sent
            .write_all(b"GET / HTTP/1.1\r\nhost: te")
            .await
            .expect("a write");
        let mut idle = TcpStream::connect(address).await.expect("a connection");
        idle.write_all(REQUEST).await.expect("a write");
        assert!(read_answer(&mut idle).await.starts_with("HTTP/1.1 200"));
        wait_for_close(&mut half_sent).await;
        wait_for_close(&mut idle).await;
    }

    #[tokio::test]
    async fn connections_past_the_cap_wait_until_one_closes() {
        let (address, _stop) = start(ServerLimits {
            header_read_timeout: HEADER_READ_TIMEOUT,
            max_connections: 2,
        })
        .await;
        let mut first = TcpStream::connect(address).await.expect("a connection");
        let mut second = TcpStream::connect(address).await.expect("a connection");
        for stream in [&mut first, &mut second] {
            stream.write_all(REQUEST).await.expect("a write");
            read_answer(stream).await;
        }
        // Both slots are held by kept-alive connections: the third is accepted by the kernel
        // but not served, however long it waits.
        let mut third = TcpStream::connect(address).await.expect("a connection");
        third.write_all(REQUEST).await.expect("a write");
        let mut buffer = [0u8; 16];
        let early = timeout(Duration::from_millis(300), third.read(&mut buffer)).await;
        assert!(early.is_err(), "a third connection was served past the cap");
        drop(first);
        assert!(read_answer(&mut third).await.starts_with("HTTP/1.1 200"));
    }

    #[tokio::test]
    async fn shutdown_closes_idle_connections_and_returns() {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free port on loopback");
        let address = listener.local_addr().expect("a bound listener");
        let router = Router::new().route("/", axum::routing::get(|| async { "ok" }));
        let (stop, mut stopped) = watch::channel(false);
        let server = tokio::spawn(serve(
            listener,
            router,
            ServerLimits::default(),
            OpenConnections::default(),
            async move {
                let _ = stopped.wait_for(|stop| *stop).await;
            },
        ));
        let mut idle = TcpStream::connect(address).await.expect("a connection");
        idle.write_all(REQUEST).await.expect("a write");
        read_answer(&mut idle).await;
        let _ = stop.send(true);
        timeout(DEADLINE, server)
            .await
            .expect("the server returns once its connections closed")
            .expect("the server task ends normally");
        wait_for_close(&mut idle).await;
    }
}
