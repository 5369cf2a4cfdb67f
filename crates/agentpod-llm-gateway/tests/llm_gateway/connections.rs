//! The agent's connections are bounded by the gateway, not by the agent: a head or a body that
//! never finishes and an idle kept-alive connection are closed, and connections past the cap
//! wait without breaking the requests that come after them.

use std::time::{Duration, Instant};

use agentpod_llm_gateway::{
    CallOutcome, ConnectionLimits, LlmBudget, LlmGateway, StandInRules, Upstream,
};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

use crate::support::{http_client, start_gateway_with};

/// Far longer than any limit under test, so a slow machine cannot fail a test that is right.
const DEADLINE: Duration = Duration::from_secs(20);

async fn gateway_with(limits: ConnectionLimits) -> LlmGateway {
    start_gateway_with(Upstream::StandIn(StandInRules::default()), |config| {
        config.connection_limits = limits;
    })
    .await
}

async fn connect(gateway: &LlmGateway) -> TcpStream {
    TcpStream::connect(gateway.local_addr())
        .await
        .expect("connect to the gateway")
}

/// Reads until the server closes the connection (end of file, or a reset) and returns what it
/// sent before; panics past the deadline.
async fn read_until_closed(stream: &mut TcpStream) -> String {
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        match timeout(DEADLINE, stream.read(&mut buffer)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return String::from_utf8_lossy(&received).into_owned(),
            Ok(Ok(read)) => received.extend_from_slice(&buffer[..read]),
            Err(_) => panic!(
                "the gateway kept the connection open past {DEADLINE:?}; it sent {:?}",
                String::from_utf8_lossy(&received)
            ),
        }
    }
}

/// Reads one whole answer: its head, then as many body bytes as its `content-length` says.
async fn read_answer(stream: &mut TcpStream) -> String {
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    while !answer_is_complete(&received) {
        let read = timeout(DEADLINE, stream.read(&mut buffer))
            .await
            .expect("an answer within the deadline")
            .expect("a readable connection");
        assert!(
            read > 0,
            "closed before answering: {:?}",
            String::from_utf8_lossy(&received)
        );
        received.extend_from_slice(&buffer[..read]);
    }
    String::from_utf8_lossy(&received).into_owned()
}

fn answer_is_complete(received: &[u8]) -> bool {
    let text = String::from_utf8_lossy(received);
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return false;
    };
    let length = head
        .lines()
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, value)| value.trim().parse::<usize>().ok())
        .expect("the gateway's answers carry a content-length");
    body.len() >= length
}

fn models_request(token: &str) -> String {
    format!("GET /v1/models HTTP/1.1\r\nhost: gateway\r\nauthorization: Bearer {token}\r\n\r\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_half_sent_head_and_an_idle_kept_alive_connection_are_closed() {
    let header_read_timeout = Duration::from_millis(500);
    let gateway = gateway_with(ConnectionLimits {
        header_read_timeout,
        ..ConnectionLimits::default()
    })
    .await;
    let access = gateway.register_issue("issue-idle", LlmBudget::default());
    let started = Instant::now();
    let mut half_sent = connect(&gateway).await;
    half_sent
        .write_all(b"POST /v1/chat/completions HTTP/1.1\r\nhost: gateway\r\ncontent-ty")
        .await
        .expect("write half a head");
    let mut idle = connect(&gateway).await;
    idle.write_all(models_request(&access.token).as_bytes())
        .await
        .expect("write a request");
    let answer = read_answer(&mut idle).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");

    let sent_back = read_until_closed(&mut half_sent).await;
    assert!(
        !sent_back.contains(" 200 "),
        "a half-sent head was served: {sent_back}"
    );
    // After its answer the connection stays open for the next request only as long as a head
    // may take, then closes without sending anything more.
    assert_eq!(read_until_closed(&mut idle).await, "");
    assert!(
        started.elapsed() >= header_read_timeout,
        "closed before the timeout"
    );
    assert_eq!(gateway.finish_issue(&access.token).calls.len(), 0);
    gateway.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_never_finishes_is_answered_408_and_recorded() {
    let gateway = gateway_with(ConnectionLimits {
        body_read_timeout: Duration::from_millis(500),
        ..ConnectionLimits::default()
    })
    .await;
    let access = gateway.register_issue("issue-slow-body", LlmBudget::default());
    let mut stream = connect(&gateway).await;
    let head = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nhost: gateway\r\nauthorization: Bearer {}\r\n\
         content-type: application/json\r\ncontent-length: 1000\r\n\r\n{{\"model\":",
        access.token
    );
    stream
        .write_all(head.as_bytes())
        .await
        .expect("write a head and part of a body");
    let answer = read_until_closed(&mut stream).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("did not arrive"), "{answer}");
    let calls = gateway.finish_issue(&access.token).calls;
    assert_eq!(calls.len(), 1, "{calls:#?}");
    assert_eq!(calls[0].status, 408);
    assert_eq!(calls[0].outcome, CallOutcome::BadRequest);
    gateway.shutdown().await;
}

/// Waits until the gateway holds `expected` connections, checking it never holds more than `cap`.
async fn wait_for_open_connections(gateway: &LlmGateway, expected: usize, cap: usize) {
    let started = Instant::now();
    loop {
        let open = gateway.open_connections();
        assert!(open <= cap, "{open} connections open past the cap of {cap}");
        if open == expected {
            return;
        }
        assert!(
            started.elapsed() < DEADLINE,
            "{open} connections open, not {expected}, after {DEADLINE:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_past_the_cap_wait_and_requests_after_them_are_served() {
    const CAP: usize = 64;
    const OPENED: usize = 80;
    // A long header timeout, so only the cap (not the timeout) frees slots during the test.
    let gateway = gateway_with(ConnectionLimits {
        header_read_timeout: Duration::from_secs(60),
        max_connections: CAP,
        ..ConnectionLimits::default()
    })
    .await;
    let access = gateway.register_issue("issue-flood", LlmBudget::default());
    let mut held = Vec::with_capacity(OPENED);
    for _ in 0..OPENED {
        held.push(connect(&gateway).await);
    }
    wait_for_open_connections(&gateway, CAP, CAP).await;
    // The last connection waits in the backlog: its request is not served while the cap is full.
    let mut waiting = held.pop().expect("a connection past the cap");
    waiting
        .write_all(models_request(&access.token).as_bytes())
        .await
        .expect("write a request");
    let mut buffer = [0u8; 64];
    let early = timeout(Duration::from_millis(300), waiting.read(&mut buffer)).await;
    assert!(early.is_err(), "a connection past the cap was served");
    assert_eq!(gateway.open_connections(), CAP);
    // Closing the held ones lets the waiting one in, and it is answered.
    drop(held);
    let answer = read_answer(&mut waiting).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    drop(waiting);
    wait_for_open_connections(&gateway, 0, CAP).await;

    let response = timeout(
        DEADLINE,
        http_client()
            .post(format!("http://{}/v1/chat/completions", gateway.local_addr()))
            .bearer_auth(&access.token)
            .header("content-type", "application/json")
            .body(
                json!({"model": "agentpod-stand-in", "messages": [{"role": "user", "content": "hi"}]})
                    .to_string(),
            )
            .send(),
    )
    .await
    .expect("answered within the deadline")
    .expect("reach the gateway");
    assert_eq!(response.status(), 200);
    let calls = gateway.finish_issue(&access.token).calls;
    assert_eq!(calls.len(), 1, "{calls:#?}");
    assert_eq!(calls[0].outcome, CallOutcome::Ok);
    gateway.shutdown().await;
}
