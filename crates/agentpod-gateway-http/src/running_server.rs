//! A gateway's server on a task of its own: bound first (so the gateway can say where it
//! listens, or why it cannot), then serving through [`serve`] until `shutdown`, or until it is
//! dropped, which stops it at once: no server task outlives its gateway.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::http_server::{OpenConnections, ServerLimits, serve};

/// A bound socket, not serving yet.
#[derive(Debug)]
pub struct GatewayListener {
    listener: TcpListener,
    local_addr: SocketAddr,
}

impl GatewayListener {
    /// Binds `address`; port 0 picks a free port.
    pub async fn bind(address: SocketAddr) -> std::io::Result<GatewayListener> {
        let listener = TcpListener::bind(address).await?;
        let local_addr = listener.local_addr()?;
        Ok(GatewayListener {
            listener,
            local_addr,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Starts serving `router` within `limits`.
    pub fn serve(self, router: Router, limits: ServerLimits) -> RunningServer {
        let open_connections = OpenConnections::default();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(serve(
            self.listener,
            router,
            limits,
            open_connections.clone(),
            async move {
                // A dropped sender stops the server too.
                let _ = stopped.await;
            },
        ));
        RunningServer {
            local_addr: self.local_addr,
            open_connections,
            stop: Some(stop),
            task: Some(task),
        }
    }
}

/// A serving gateway server. Stop it with [`RunningServer::shutdown`]; dropping it aborts the
/// server without waiting.
#[derive(Debug)]
pub struct RunningServer {
    local_addr: SocketAddr,
    open_connections: OpenConnections,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl RunningServer {
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// How many connections the server holds open now; never more than the limits allow.
    pub fn open_connections(&self) -> usize {
        self.open_connections.count()
    }

    /// Stops accepting and lets requests in flight finish: for at most `grace`, after which they
    /// are cut, or, with `None`, for as long as they take (for servers whose requests are
    /// bounded already).
    pub async fn shutdown(mut self, grace: Option<Duration>) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let Some(mut task) = self.task.take() else {
            return;
        };
        match grace {
            Some(grace) => {
                if tokio::time::timeout(grace, &mut task).await.is_err() {
                    task.abort();
                }
            }
            None => {
                let _ = task.await;
            }
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        // The fallback when `shutdown` was not awaited: never leave a server task behind.
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    const DEADLINE: Duration = Duration::from_secs(20);

    async fn started() -> RunningServer {
        let listener = GatewayListener::bind("127.0.0.1:0".parse().expect("an address"))
            .await
            .expect("a free port on loopback");
        let router = Router::new().route("/", axum::routing::get(|| async { "ok" }));
        listener.serve(router, ServerLimits::default())
    }

    async fn answers(address: SocketAddr) -> bool {
        let Ok(mut stream) = TcpStream::connect(address).await else {
            return false;
        };
        if stream
            .write_all(b"GET / HTTP/1.1\r\nhost: test\r\nconnection: close\r\n\r\n")
            .await
            .is_err()
        {
            return false;
        }
        let mut answer = Vec::new();
        let read = tokio::time::timeout(DEADLINE, stream.read_to_end(&mut answer)).await;
        matches!(read, Ok(Ok(_))) && answer.starts_with(b"HTTP/1.1 200")
    }

    #[tokio::test]
    async fn serves_until_shut_down_then_refuses_connections() {
        let server = started().await;
        let address = server.local_addr();
        assert!(answers(address).await);
        tokio::time::timeout(DEADLINE, server.shutdown(None))
            .await
            .expect("shutdown returns once the connections closed");
        assert!(!answers(address).await);
    }

    #[tokio::test]
    async fn a_dropped_server_stops_serving() {
        let server = started().await;
        let address = server.local_addr();
        drop(server);
        // The aborted task drops its listener when the runtime next polls it.
        let deadline = tokio::time::Instant::now() + DEADLINE;
        while TcpStream::connect(address).await.is_ok() {
            assert!(tokio::time::Instant::now() < deadline, "still listening");
            tokio::task::yield_now().await;
        }
    }
}
