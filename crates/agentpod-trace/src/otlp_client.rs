//! A minimal OTLP/HTTP client: one protobuf POST, with a deadline, plain HTTP only.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, StatusCode, header};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::trace_error::TraceError;

/// Collector errors are quoted in messages; this keeps a long HTML error page out of them.
const QUOTED_BODY_BYTES: usize = 1024;

pub(crate) struct OtlpClient {
    client: Client<HttpConnector, Full<Bytes>>,
    timeout: Duration,
}

impl OtlpClient {
    pub(crate) fn new(timeout: Duration) -> OtlpClient {
        OtlpClient {
            client: Client::builder(TokioExecutor::new()).build_http(),
            timeout,
        }
    }

    /// Posts a protobuf body and returns the response body of a 2xx answer.
    pub(crate) async fn post_protobuf(
        &self,
        url: &str,
        body: Vec<u8>,
    ) -> Result<Bytes, TraceError> {
        let request = Request::post(url)
            .header(header::CONTENT_TYPE, "application/x-protobuf")
            .body(Full::new(Bytes::from(body)))
            .map_err(|error| TraceError::InvalidEndpoint {
                endpoint: url.to_owned(),
                reason: error.to_string(),
            })?;
        let exchange = async {
            let response =
                self.client
                    .request(request)
                    .await
                    .map_err(|error| TraceError::ExportSend {
                        url: url.to_owned(),
                        source: Box::new(error),
                    })?;
            let status = response.status();
            let body = response
                .into_body()
                .collect()
                .await
                .map_err(|error| TraceError::ExportSend {
                    url: url.to_owned(),
                    source: Box::new(error),
                })?
                .to_bytes();
            Ok::<_, TraceError>((status, body))
        };
        let (status, body) = tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_elapsed| TraceError::ExportTimeout {
                url: url.to_owned(),
                seconds: self.timeout.as_secs(),
            })??;
        if status.is_success() {
            return Ok(body);
        }
        Err(rejected(url, status, &body))
    }
}

fn rejected(url: &str, status: StatusCode, body: &[u8]) -> TraceError {
    let mut text = String::from_utf8_lossy(body).into_owned();
    crate::capped_text::cap_text(&mut text, QUOTED_BODY_BYTES);
    TraceError::ExportRejected {
        url: url.to_owned(),
        status: status.as_u16(),
        body: text,
    }
}

/// The traces URL for an OTLP endpoint: `<endpoint>/v1/traces`, unless the endpoint already
/// names it.
pub(crate) fn traces_url(endpoint: &str) -> Result<String, TraceError> {
    let invalid = |reason: &str| TraceError::InvalidEndpoint {
        endpoint: endpoint.to_owned(),
        reason: reason.to_owned(),
    };
    let trimmed = endpoint.trim().trim_end_matches('/');
    if trimmed.starts_with("https://") {
        return Err(invalid(
            "https is not supported; reach the collector over http (for example through a local collector)",
        ));
    }
    let Some(rest) = trimmed.strip_prefix("http://") else {
        return Err(invalid("it must start with http://"));
    };
    if rest.is_empty() || rest.starts_with('/') {
        return Err(invalid("it names no host"));
    }
    let url = if trimmed.ends_with("/v1/traces") {
        trimmed.to_owned()
    } else {
        format!("{trimmed}/v1/traces")
    };
    url.parse::<hyper::Uri>()
        .map_err(|error| invalid(&error.to_string()))?;
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traces_url_appends_the_signal_path_once() {
        assert_eq!(
            traces_url("http://127.0.0.1:4318").unwrap(),
            "http://127.0.0.1:4318/v1/traces"
        );
        assert_eq!(
            traces_url("http://collector:4318/").unwrap(),
            "http://collector:4318/v1/traces"
        );
        assert_eq!(
            traces_url("http://collector:4318/v1/traces").unwrap(),
            "http://collector:4318/v1/traces"
        );
        assert_eq!(
            traces_url("http://host/i/token").unwrap(),
            "http://host/i/token/v1/traces"
        );
    }

    #[test]
    fn traces_url_refuses_what_it_cannot_reach() {
        for endpoint in [
            "https://collector:4318",
            "collector:4318",
            "http://",
            "http://a b",
        ] {
            assert!(
                matches!(
                    traces_url(endpoint),
                    Err(TraceError::InvalidEndpoint { .. })
                ),
                "{endpoint} should be refused"
            );
        }
    }
}
