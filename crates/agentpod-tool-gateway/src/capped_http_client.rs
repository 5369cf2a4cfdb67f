//! The HTTP client the gateway reaches proxied URL servers with: rmcp's streamable HTTP client
//! over reqwest, except that a response body is read chunk by chunk and no further than
//! [`PROXIED_MESSAGE_CAP_BYTES`]. Past the cap, the request gets a stand-in answer instead (see
//! `proxied_message_cap`), and the connection is dropped rather than read to its end.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use axum::http::{HeaderName, HeaderValue};
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use rmcp::model::{ClientJsonRpcMessage, ServerJsonRpcMessage};
use rmcp::transport::common::http_header::{
    EVENT_STREAM_MIME_TYPE, HEADER_SESSION_ID, JSON_MIME_TYPE,
};
use rmcp::transport::streamable_http_client::{
    SseError, StreamableHttpClient, StreamableHttpError, StreamableHttpPostResponse,
};
use serde_json::Value;
use sse_stream::{Sse, SseStream};

use crate::proxied_message_cap::{PROXIED_MESSAGE_CAP_BYTES, stand_in_answer};

type HttpError = StreamableHttpError<reqwest::Error>;

/// A pooled reqwest client whose response bodies are read up to a cap.
#[derive(Clone)]
pub(crate) struct CappedHttpClient {
    client: reqwest::Client,
    cap: usize,
}

impl CappedHttpClient {
    pub(crate) fn new(client: reqwest::Client) -> CappedHttpClient {
        CappedHttpClient {
            client,
            cap: PROXIED_MESSAGE_CAP_BYTES,
        }
    }
}

/// A body read no further than a cap.
enum CappedBody {
    Whole(Bytes),
    /// The body went past the cap after these bytes.
    Cut(Bytes),
}

async fn read_capped(
    mut response: reqwest::Response,
    cap: usize,
) -> Result<CappedBody, reqwest::Error> {
    let mut body = BytesMut::new();
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > cap {
            let room = cap - body.len();
            body.extend_from_slice(&chunk[..room]);
            return Ok(CappedBody::Cut(body.freeze()));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(CappedBody::Whole(body.freeze()))
}

/// The id of the request a stand-in answers; only requests expect an answer.
fn request_id(message: &ClientJsonRpcMessage) -> Option<Value> {
    match message {
        ClientJsonRpcMessage::Request(request) => serde_json::to_value(&request.id).ok(),
        _ => None,
    }
}

fn stand_in_message(id: Value) -> Result<ServerJsonRpcMessage, HttpError> {
    Ok(serde_json::from_value(stand_in_answer(id))?)
}

fn starts_with(content_type: Option<&str>, wanted: &str) -> bool {
    content_type.is_some_and(|content_type| content_type.as_bytes().starts_with(wanted.as_bytes()))
}

/// An SSE body as a stream of chunks that ends at the cap; past it, the event under way is
/// ended (rmcp skips its unreadable data) and, for a request, a stand-in answer follows.
fn capped_event_stream(
    response: reqwest::Response,
    cap: usize,
    answer_to: Option<Value>,
) -> BoxStream<'static, Result<Sse, SseError>> {
    struct Reading {
        response: Option<reqwest::Response>,
        read: usize,
        answer_to: Option<Value>,
    }
    let chunks = futures_util::stream::unfold(
        Reading {
            response: Some(response),
            read: 0,
            answer_to,
        },
        move |mut reading| async move {
            let response = reading.response.as_mut()?;
            match response.chunk().await {
                Ok(Some(chunk)) if reading.read + chunk.len() <= cap => {
                    reading.read += chunk.len();
                    Some((Ok(chunk), reading))
                }
                Ok(Some(chunk)) => {
                    // Dropping the response closes the connection instead of reading on.
                    reading.response = None;
                    let room = cap - reading.read;
                    let mut rest = BytesMut::from(&chunk[..room]);
                    rest.extend_from_slice(b"\n\n");
                    if let Some(id) = reading.answer_to.take() {
                        rest.extend_from_slice(b"data: ");
                        rest.extend_from_slice(stand_in_answer(id).to_string().as_bytes());
                        rest.extend_from_slice(b"\n\n");
                    }
                    Some((Ok(rest.freeze()), reading))
                }
                Ok(None) => None,
                Err(error) => {
                    reading.response = None;
                    Some((Err(error), reading))
                }
            }
        },
    );
    SseStream::from_bytes_stream(chunks).boxed()
}

impl StreamableHttpClient for CappedHttpClient {
    type Error = reqwest::Error;

    async fn post_message(
        &self,
        uri: Arc<str>,
        message: ClientJsonRpcMessage,
        session_id: Option<Arc<str>>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> Result<StreamableHttpPostResponse, HttpError> {
        let mut request = self
            .client
            .post(uri.as_ref())
            .header(ACCEPT, [EVENT_STREAM_MIME_TYPE, JSON_MIME_TYPE].join(", "));
        if let Some(auth_header) = auth_header {
            request = request.bearer_auth(auth_header);
        }
        for (name, value) in custom_headers {
            request = request.header(name, value);
        }
        let session_was_attached = session_id.is_some();
        if let Some(session_id) = session_id {
            request = request.header(HEADER_SESSION_ID, session_id.as_ref());
        }
        let response = request
            .json(&message)
            .send()
            .await
            .map_err(StreamableHttpError::Client)?;
        let status = response.status();
        if matches!(
            status,
            reqwest::StatusCode::ACCEPTED | reqwest::StatusCode::NO_CONTENT
        ) {
            return Ok(StreamableHttpPostResponse::Accepted);
        }
        if status == reqwest::StatusCode::NOT_FOUND && session_was_attached {
            return Err(StreamableHttpError::SessionExpired);
        }
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned());
        let session_id = response
            .headers()
            .get(HEADER_SESSION_ID)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        // Some servers answer a notification with an empty 200 instead of 202.
        if status.is_success()
            && response.content_length() == Some(0)
            && !matches!(message, ClientJsonRpcMessage::Request(_))
        {
            return Ok(StreamableHttpPostResponse::Accepted);
        }
        let answer_to = request_id(&message);
        if !status.is_success() {
            let body = match read_capped(response, self.cap)
                .await
                .map_err(StreamableHttpError::Client)?
            {
                CappedBody::Whole(body) | CappedBody::Cut(body) => body,
            };
            // A JSON-RPC error in the body is the server's answer, and the caller's to see.
            if starts_with(content_type.as_deref(), JSON_MIME_TYPE)
                && let Ok(message @ ServerJsonRpcMessage::Error(_)) =
                    serde_json::from_slice::<ServerJsonRpcMessage>(&body)
            {
                return Ok(StreamableHttpPostResponse::Json(message, session_id));
            }
            return Err(StreamableHttpError::UnexpectedServerResponse(Cow::Owned(
                format!("HTTP {status}: {}", String::from_utf8_lossy(&body)),
            )));
        }
        if starts_with(content_type.as_deref(), EVENT_STREAM_MIME_TYPE) {
            let events = capped_event_stream(response, self.cap, answer_to);
            return Ok(StreamableHttpPostResponse::Sse(events, session_id));
        }
        if !starts_with(content_type.as_deref(), JSON_MIME_TYPE) {
            return Err(StreamableHttpError::UnexpectedContentType(content_type));
        }
        match read_capped(response, self.cap)
            .await
            .map_err(StreamableHttpError::Client)?
        {
            CappedBody::Whole(body) => match serde_json::from_slice(&body) {
                Ok(message) => Ok(StreamableHttpPostResponse::Json(message, session_id)),
                // As rmcp's own client does: a body that is no message (an answer to a
                // notification, say) counts as accepted.
                Err(error) => {
                    tracing::warn!(%error, "a proxied server answered with JSON that is no message");
                    Ok(StreamableHttpPostResponse::Accepted)
                }
            },
            CappedBody::Cut(_) => match answer_to {
                Some(id) => Ok(StreamableHttpPostResponse::Json(
                    stand_in_message(id)?,
                    session_id,
                )),
                None => Ok(StreamableHttpPostResponse::Accepted),
            },
        }
    }

    async fn delete_session(
        &self,
        uri: Arc<str>,
        session_id: Arc<str>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> Result<(), HttpError> {
        self.client
            .delete_session(uri, session_id, auth_header, custom_headers)
            .await
    }

    async fn get_stream(
        &self,
        uri: Arc<str>,
        session_id: Arc<str>,
        last_event_id: Option<String>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> Result<BoxStream<'static, Result<Sse, SseError>>, HttpError> {
        // The stream a stateful server opens for its own requests and notifications; tool
        // results do not travel on it.
        self.client
            .get_stream(uri, session_id, last_event_id, auth_header, custom_headers)
            .await
    }
}
