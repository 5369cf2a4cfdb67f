//! A minimal OTLP/HTTP client: one protobuf POST, with a deadline, over http or https.

use std::time::Duration;

use bytes::Bytes;
use reqwest::{StatusCode, header};

use crate::trace_error::TraceError;

/// Collector errors are quoted in messages; this keeps a long HTML error page out of them.
const QUOTED_BODY_BYTES: usize = 1024;

pub(crate) struct OtlpClient {
    client: reqwest::Client,
    timeout: Duration,
}

impl OtlpClient {
    /// A client whose every exchange (connect, send, read the answer) ends within `timeout`.
    pub(crate) fn new(timeout: Duration) -> Result<OtlpClient, TraceError> {
        // reqwest is built without a bundled crypto provider; ring is installed process-wide
        // unless the host program already chose one.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .timeout(timeout)
            // A collector answers where it is asked: a redirect is an answer that is not 2xx,
            // and the endpoint is reached directly, as given, whatever proxy the environment names.
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .build()
            .map_err(|source| TraceError::ExportClient { source })?;
        Ok(OtlpClient { client, timeout })
    }

    /// Posts a protobuf body and returns the response body of a 2xx answer.
    pub(crate) async fn post_protobuf(
        &self,
        url: &str,
        body: Vec<u8>,
    ) -> Result<Bytes, TraceError> {
        let failed = |error: reqwest::Error| self.send_error(url, error);
        let response = self
            .client
            .post(url)
            .header(header::CONTENT_TYPE, "application/x-protobuf")
            .body(body)
            .send()
            .await
            .map_err(failed)?;
        let status = response.status();
        let body = response.bytes().await.map_err(failed)?;
        if status.is_success() {
            return Ok(body);
        }
        Err(rejected(url, status, &body))
    }

    fn send_error(&self, url: &str, error: reqwest::Error) -> TraceError {
        if error.is_timeout() {
            return TraceError::ExportTimeout {
                url: url.to_owned(),
                seconds: self.timeout.as_secs(),
            };
        }
        if error.is_builder() {
            return TraceError::InvalidEndpoint {
                endpoint: url.to_owned(),
                reason: error.to_string(),
            };
        }
        TraceError::ExportSend {
            url: url.to_owned(),
            source: Box::new(error),
        }
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
    let Some(rest) = trimmed
        .strip_prefix("http://")
        .or_else(|| trimmed.strip_prefix("https://"))
    else {
        return Err(invalid("it must start with http:// or https://"));
    };
    if rest.is_empty() || rest.starts_with('/') {
        return Err(invalid("it names no host"));
    }
    let url = if trimmed.ends_with("/v1/traces") {
        trimmed.to_owned()
    } else {
        format!("{trimmed}/v1/traces")
    };
    reqwest::Url::parse(&url).map_err(|error| invalid(&error.to_string()))?;
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
        assert_eq!(
            traces_url("https://collector.example:4318").unwrap(),
            "https://collector.example:4318/v1/traces"
        );
    }

    #[test]
    fn traces_url_refuses_what_it_cannot_reach() {
        for endpoint in [
            "collector:4318",
            "ftp://collector:4318",
            "https://",
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
