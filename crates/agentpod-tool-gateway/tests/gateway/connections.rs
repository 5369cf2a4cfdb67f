//! Connections a hostile agent holds open for nothing: one that never finishes its request head
//! and one left idle after an answer are both closed by the gateway within its timeout (5 s),
//! so idle sockets cannot pile up. Raw TCP, waiting for the end of the stream, never sleeping.

use std::time::Duration;

use agentpod_tool_gateway::{ToolConfig, ToolGateway};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::TestResult;

/// Far longer than the gateway's 5 s timeout, so a slow machine cannot fail a test that is right.
const DEADLINE: Duration = Duration::from_secs(30);

/// Waits for the gateway to close `stream`: end of file, or a reset.
async fn wait_for_close(stream: &mut TcpStream) -> TestResult {
    let mut buffer = [0u8; 4096];
    loop {
        match tokio::time::timeout(DEADLINE, stream.read(&mut buffer)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return Ok(()),
            Ok(Ok(_)) => continue,
            Err(_) => {
                return Err(format!("the gateway kept a connection open past {DEADLINE:?}").into());
            }
        }
    }
}

#[tokio::test]
async fn half_sent_heads_and_idle_connections_are_closed() -> TestResult {
    let gateway = ToolGateway::start("127.0.0.1:0".parse()?, ToolConfig::default()).await?;
    let address = gateway.local_addr();
    let result: TestResult = async {
        let mut half_sent = TcpStream::connect(address).await?;
        half_sent
            .write_all(b"POST /i/some-token/mcp HTTP/1.1\r\nhost: gateway\r\ncontent-ty")
            .await?;

        // A whole request, answered on a kept-alive connection that is then left idle.
        let mut idle = TcpStream::connect(address).await?;
        idle.write_all(b"GET /nothing HTTP/1.1\r\nhost: gateway\r\n\r\n")
            .await?;
        let mut answer = Vec::new();
        let mut buffer = [0u8; 4096];
        while !answer.windows(4).any(|window| window == b"\r\n\r\n") {
            let read = tokio::time::timeout(DEADLINE, idle.read(&mut buffer)).await??;
            if read == 0 {
                return Err("the gateway closed the connection before answering".into());
            }
            answer.extend_from_slice(&buffer[..read]);
        }
        assert!(
            answer.starts_with(b"HTTP/1.1 404"),
            "{}",
            String::from_utf8_lossy(&answer)
        );

        wait_for_close(&mut half_sent).await?;
        wait_for_close(&mut idle).await?;
        Ok(())
    }
    .await;
    gateway.shutdown().await;
    result
}
