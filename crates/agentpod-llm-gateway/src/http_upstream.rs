//! Forwarding to a real provider or an OpenAI-compatible server over HTTP, with the agent's token
//! replaced by the orchestrator's key.
//!
//! Calls go through hyper's pooled client (HTTP/1.1 kept alive, HTTP/2 where the provider's TLS
//! offers it, rustls with the platform's certificate verifier), set up with reqwest 0.13's
//! defaults where the gateway relied on them: idle connections kept 90 s, no Nagle delay, TCP
//! keepalive (15 s, probes every 15 s, 3 of them) and, on Linux, a 30 s `TCP_USER_TIMEOUT`. The
//! upstream URLs and the key's header are prepared when the gateway starts (a base URL that
//! cannot be parsed, or that carries credentials, is refused then); per call the request is
//! assembled from them and the agent's forwarded headers. A call an HTTP/2 server turned away
//! before processing it (GOAWAY with `NO_ERROR`, or `REFUSED_STREAM`) is sent again up to twice,
//! as reqwest did. When the environment names an HTTP proxy, calls go through reqwest instead,
//! which honours it (`HTTPS_PROXY`, `NO_PROXY`, ...), as the gateway always has.
//!
//! The gateway never follows redirects, on either path: a 3xx is the agent's to see (following
//! one to another host would also carry the orchestrator's key there).

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use agentpod_error_chain::ErrorChain;
use axum::http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderName};
use axum::http::{HeaderMap, HeaderValue, Method, Request, Uri};
use bytes::Bytes;
use futures_util::StreamExt;
use http_body_util::{BodyExt, Full};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};

use crate::error::LlmGatewayError;
use crate::upstream_backend::StreamBroken;
use crate::upstream_backend::{UpstreamFailure, UpstreamReply, UpstreamRequest};

/// Request headers that carry meaning for the provider; everything else (notably the agent's
/// token) stays behind.
const FORWARDED_HEADERS: &[&str] = &[
    "accept",
    "anthropic-version",
    "anthropic-beta",
    "openai-beta",
];
const DEFAULT_ANTHROPIC_VERSION: &str = "2023-06-01";
/// How long an idle pooled connection to the upstream is kept (reqwest's default, kept).
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(90);
/// TCP keepalive on upstream connections: idle time before the first probe, time between
/// probes, and probes unanswered before the connection is dropped (reqwest 0.13's defaults).
const TCP_KEEPALIVE: Duration = Duration::from_secs(15);
const TCP_KEEPALIVE_INTERVAL: Duration = Duration::from_secs(15);
const TCP_KEEPALIVE_RETRIES: u32 = 3;
/// How long sent data may stay unacknowledged before the connection is dropped (Linux's
/// `TCP_USER_TIMEOUT`; reqwest 0.13's default).
#[cfg(any(target_os = "android", target_os = "fuchsia", target_os = "linux"))]
const TCP_USER_TIMEOUT: Duration = Duration::from_secs(30);
/// How many more times a call is sent when an HTTP/2 server turned it away unprocessed
/// (reqwest 0.13's default).
const MAX_TURNED_AWAY_RETRIES: usize = 2;
/// The variables reqwest reads proxies from; any of them set sends calls through reqwest.
const PROXY_VARIABLES: &[&str] = &[
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "ALL_PROXY",
    "all_proxy",
];

#[derive(Debug, Clone)]
pub(crate) enum UpstreamAuth {
    Bearer(String),
    ApiKey(String),
    None,
}

/// The routes the gateway forwards, whose upstream URLs are parsed once when it starts.
const ROUTES: &[&str] = &[
    "/v1/chat/completions",
    "/v1/responses",
    "/v1/messages",
    "/v1/models",
];

type DirectClient = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// How calls reach the upstream.
enum Transport {
    Direct(Box<DirectClient>),
    /// The environment names a proxy, which reqwest honours.
    Proxied(reqwest::Client),
}

pub(crate) struct HttpUpstream {
    transport: Transport,
    base_url: String,
    /// Each of [`ROUTES`] as its upstream URL, parsed once rather than on every call.
    route_urls: Vec<(&'static str, Uri)>,
    /// OpenAI-style base URLs already end in `/v1`.
    base_includes_version: bool,
    /// The orchestrator's key as the header it goes in, made once; `Err` when the key cannot be
    /// a header value (every call then fails as unreachable, as it always did).
    auth: Result<Option<(HeaderName, HeaderValue)>, String>,
    anthropic: bool,
}

impl HttpUpstream {
    pub(crate) fn new(
        base_url: &str,
        base_includes_version: bool,
        auth: UpstreamAuth,
        anthropic: bool,
        connect_timeout: Duration,
    ) -> Result<HttpUpstream, LlmGatewayError> {
        let invalid = |reason: &str| LlmGatewayError::UpstreamUrl {
            url: without_userinfo(base_url).into_owned(),
            reason: reason.to_owned(),
        };
        if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
            return Err(invalid("it must start with http:// or https://"));
        }
        if userinfo_range(base_url).is_some() {
            // The hyper client would drop it silently; the key goes in `UpstreamAuth`.
            return Err(invalid(
                "it must not carry a user name or password; the upstream key is configured apart",
            ));
        }
        let base_url = base_url.trim_end_matches('/').to_owned();
        let route_urls = ROUTES
            .iter()
            .map(|route| {
                let url = route_url(&base_url, base_includes_version, route);
                Uri::try_from(&url)
                    .map(|parsed| (*route, parsed))
                    .map_err(|error| LlmGatewayError::UpstreamUrl {
                        url,
                        reason: format!("it cannot be parsed as a url: {error}"),
                    })
            })
            .collect::<Result<_, _>>()?;
        // rustls is built without a bundled crypto provider; ring is installed process-wide
        // unless the host program already chose one.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let transport = if proxy_in_environment() {
            Transport::Proxied(
                reqwest::Client::builder()
                    .connect_timeout(connect_timeout)
                    // As on the direct path: a 3xx goes back to the agent, and the key never
                    // follows a redirect to another host.
                    .redirect(reqwest::redirect::Policy::none())
                    .build()
                    .map_err(|source| LlmGatewayError::HttpClient { source })?,
            )
        } else {
            Transport::Direct(Box::new(direct_client(connect_timeout)?))
        };
        Ok(HttpUpstream {
            transport,
            base_url,
            route_urls,
            base_includes_version,
            auth: auth_header(&auth),
            anthropic,
        })
    }

    fn url(&self, route: &str) -> String {
        route_url(&self.base_url, self.base_includes_version, route)
    }

    /// The upstream URL of `route`: parsed when the gateway started for the routes it serves.
    fn parsed_url(&self, route: &str) -> Result<Uri, String> {
        if let Some((_, url)) = self.route_urls.iter().find(|(known, _)| *known == route) {
            return Ok(url.clone());
        }
        let url = self.url(route);
        Uri::try_from(&url).map_err(|error| format!("cannot reach the upstream at {url}: {error}"))
    }

    /// The headers sent upstream besides the body's: those of the agent's that carry meaning
    /// for the provider, the default `anthropic-version`, and the orchestrator's key.
    fn upstream_headers(&self, request: &UpstreamRequest<'_>) -> Result<HeaderMap, String> {
        let mut headers = HeaderMap::with_capacity(8);
        for name in FORWARDED_HEADERS {
            // Only values that are visible text, as always.
            if let Some(value) = request.headers.get(*name)
                && value.to_str().is_ok()
            {
                headers.insert(*name, value.clone());
            }
        }
        if self.anthropic && !headers.contains_key("anthropic-version") {
            headers.insert(
                "anthropic-version",
                HeaderValue::from_static(DEFAULT_ANTHROPIC_VERSION),
            );
        }
        if request.method != "GET" {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
        if let Some((name, value)) = self.auth.clone()? {
            headers.insert(name, value);
        }
        Ok(headers)
    }

    pub(crate) async fn send(
        &self,
        request: &UpstreamRequest<'_>,
    ) -> Result<UpstreamReply, UpstreamFailure> {
        let url = self
            .parsed_url(request.route)
            .map_err(UpstreamFailure::Unreachable)?;
        let unreachable = |error: &(dyn std::error::Error + 'static)| {
            UpstreamFailure::Unreachable(format!(
                "cannot reach the upstream at {url}: {}",
                ErrorChain(error)
            ))
        };
        let headers = self.upstream_headers(request).map_err(|error| {
            UpstreamFailure::Unreachable(format!("cannot reach the upstream at {url}: {error}"))
        })?;
        let method = if request.method == "GET" {
            Method::GET
        } else {
            Method::POST
        };
        let body = if method == Method::GET {
            Bytes::new()
        } else {
            request.upstream_body.clone()
        };
        match &self.transport {
            Transport::Direct(client) => {
                let mut headers = headers;
                // What reqwest sent when the agent named no `accept`.
                headers
                    .entry(ACCEPT)
                    .or_insert(HeaderValue::from_static("*/*"));
                let mut retries = 0;
                let response = loop {
                    let mut upstream_request = Request::new(Full::new(body.clone()));
                    *upstream_request.method_mut() = method.clone();
                    *upstream_request.uri_mut() = url.clone();
                    *upstream_request.headers_mut() = headers.clone();
                    match client.request(upstream_request).await {
                        Ok(response) => break response,
                        // Unprocessed by the server: safe to send again, on another stream or
                        // connection, as reqwest did.
                        Err(error)
                            if retries < MAX_TURNED_AWAY_RETRIES
                                && turned_away_unprocessed(&error) =>
                        {
                            retries += 1;
                        }
                        Err(error) => return Err(unreachable(&error)),
                    }
                };
                let (parts, body) = response.into_parts();
                let body = body
                    .into_data_stream()
                    .map(|chunk| chunk.map_err(|error| StreamBroken(Box::new(error))))
                    .boxed();
                Ok(reply(parts.status.as_u16(), &parts.headers, body))
            }
            Transport::Proxied(client) => {
                let mut builder = client.request(method.clone(), url.to_string());
                if method != Method::GET {
                    builder = builder.body(body);
                }
                let response = builder
                    .headers(headers)
                    .send()
                    .await
                    .map_err(|error| unreachable(&error))?;
                let status = response.status().as_u16();
                let response_headers = response.headers().clone();
                let body = response
                    .bytes_stream()
                    .map(|chunk| chunk.map_err(|error| StreamBroken(Box::new(error))))
                    .boxed();
                Ok(reply(status, &response_headers, body))
            }
        }
    }
}

fn reply(
    status: u16,
    headers: &HeaderMap,
    body: crate::upstream_backend::ByteStream,
) -> UpstreamReply {
    let content_type = headers
        .get("content-type")
        .and_then(|value| value.to_str().ok())
        .unwrap_or("application/json")
        .to_owned();
    UpstreamReply {
        status,
        content_type,
        body,
        retry_after: crate::throttled_send::retry_after_of(status, headers),
    }
}

/// Whether the environment names a proxy for reqwest to honour.
fn proxy_in_environment() -> bool {
    PROXY_VARIABLES
        .iter()
        .any(|name| std::env::var_os(name).is_some_and(|value| !value.is_empty()))
}

/// `route`'s upstream URL on `base_url` (without its trailing `/`).
fn route_url(base_url: &str, base_includes_version: bool, route: &str) -> String {
    let path = if base_includes_version {
        route.strip_prefix("/v1").unwrap_or(route)
    } else {
        route
    };
    format!("{base_url}{path}")
}

/// Where `url`'s userinfo (`user:password` before an `@` in the authority) is, if it has one.
fn userinfo_range(url: &str) -> Option<std::ops::Range<usize>> {
    let start = url.find("://").map_or(0, |scheme_end| scheme_end + 3);
    let authority_len = url[start..]
        .find(['/', '?', '#'])
        .unwrap_or(url.len() - start);
    let at = url[start..start + authority_len].rfind('@')?;
    Some(start..start + at)
}

/// `url` with any userinfo masked, so an error message never shows a password.
fn without_userinfo(url: &str) -> Cow<'_, str> {
    match userinfo_range(url) {
        Some(range) => Cow::Owned(format!("{}***{}", &url[..range.start], &url[range.end..])),
        None => Cow::Borrowed(url),
    }
}

/// Whether `error` says an HTTP/2 server turned the call away before processing it, so that
/// sending it again is safe: a GOAWAY with `NO_ERROR` (a graceful shutdown) or a
/// `REFUSED_STREAM` reset, sent by the server. reqwest 0.13 sent such calls again (its
/// `retry::is_retryable_error`); hyper's client does not. The `h2` error is looked for down the
/// whole chain of sources (hyper-util's error, then hyper's, then `h2`'s).
fn turned_away_unprocessed(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(error);
    while let Some(error) = next {
        if let Some(error) = error.downcast_ref::<h2::Error>() {
            let go_away = error.is_go_away() && error.reason() == Some(h2::Reason::NO_ERROR);
            let refused = error.is_reset() && error.reason() == Some(h2::Reason::REFUSED_STREAM);
            return error.is_remote() && (go_away || refused);
        }
        next = error.source();
    }
    false
}

/// hyper's pooled client over rustls, with reqwest 0.13's settings where the gateway relied on
/// them: TLS 1.2 and 1.3 with the platform's verifier, HTTP/2 offered over TLS, no Nagle delay,
/// TCP keepalive and (Linux) `TCP_USER_TIMEOUT`, idle connections kept 90 s. It follows no
/// redirects (hyper's client never does).
fn direct_client(connect_timeout: Duration) -> Result<DirectClient, LlmGatewayError> {
    let provider = rustls::crypto::CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| Arc::new(rustls::crypto::ring::default_provider()));
    let verifier = rustls_platform_verifier::Verifier::new(Arc::clone(&provider))
        .map_err(|source| LlmGatewayError::Tls { source })?;
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|source| LlmGatewayError::Tls { source })?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_nodelay(true);
    http.set_connect_timeout(Some(connect_timeout));
    http.set_keepalive(Some(TCP_KEEPALIVE));
    http.set_keepalive_interval(Some(TCP_KEEPALIVE_INTERVAL));
    http.set_keepalive_retries(Some(TCP_KEEPALIVE_RETRIES));
    #[cfg(any(target_os = "android", target_os = "fuchsia", target_os = "linux"))]
    http.set_tcp_user_timeout(Some(TCP_USER_TIMEOUT));
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_all_versions()
        .wrap_connector(http);
    Ok(Client::builder(TokioExecutor::new())
        .pool_timer(TokioTimer::new())
        .pool_idle_timeout(POOL_IDLE_TIMEOUT)
        .build(connector))
}

/// The header the orchestrator's key goes in, marked sensitive so that it is never logged.
fn auth_header(auth: &UpstreamAuth) -> Result<Option<(HeaderName, HeaderValue)>, String> {
    let (name, text) = match auth {
        UpstreamAuth::Bearer(key) => (AUTHORIZATION, format!("Bearer {key}")),
        UpstreamAuth::ApiKey(key) => (HeaderName::from_static("x-api-key"), key.clone()),
        UpstreamAuth::None => return Ok(None),
    };
    let mut value = HeaderValue::try_from(text)
        .map_err(|_| "the upstream api key cannot be sent in a header".to_owned())?;
    value.set_sensitive(true);
    Ok(Some((name, value)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upstream(auth: UpstreamAuth, anthropic: bool) -> HttpUpstream {
        HttpUpstream::new(
            "http://127.0.0.1:9/v1/",
            true,
            auth,
            anthropic,
            Duration::from_secs(1),
        )
        .expect("an upstream")
    }

    fn sent_headers(upstream: &HttpUpstream, agent_headers: &HeaderMap) -> HeaderMap {
        let body = Bytes::from_static(b"{}");
        let request = UpstreamRequest {
            api: None,
            method: "POST",
            route: "/v1/messages",
            headers: agent_headers,
            client_body: &body,
            upstream_body: body.clone(),
        };
        upstream.upstream_headers(&request).expect("headers")
    }

    #[test]
    fn the_agents_token_stays_behind_and_the_key_goes_in_its_header() {
        let mut agent = HeaderMap::new();
        agent.insert(
            "authorization",
            HeaderValue::from_static("Bearer agent-token"),
        );
        agent.insert("x-api-key", HeaderValue::from_static("agent-token"));
        agent.insert("anthropic-beta", HeaderValue::from_static("tools-1"));
        agent.insert("cookie", HeaderValue::from_static("a=b"));
        let openai = sent_headers(&upstream(UpstreamAuth::Bearer("key".into()), false), &agent);
        assert_eq!(openai["authorization"], "Bearer key");
        assert!(openai["authorization"].is_sensitive());
        assert_eq!(openai.get("x-api-key"), None);
        assert_eq!(openai["anthropic-beta"], "tools-1");
        assert_eq!(openai["content-type"], "application/json");
        assert_eq!(openai.get("cookie"), None);
        assert_eq!(openai.get("anthropic-version"), None);

        let anthropic = sent_headers(&upstream(UpstreamAuth::ApiKey("key".into()), true), &agent);
        assert_eq!(anthropic["x-api-key"], "key");
        assert_eq!(anthropic.get("authorization"), None);
        assert_eq!(anthropic["anthropic-version"], DEFAULT_ANTHROPIC_VERSION);
        agent.insert("anthropic-version", HeaderValue::from_static("2024-01-01"));
        let anthropic = sent_headers(&upstream(UpstreamAuth::ApiKey("key".into()), true), &agent);
        assert_eq!(anthropic["anthropic-version"], "2024-01-01");

        let keyless = sent_headers(&upstream(UpstreamAuth::None, false), &agent);
        assert_eq!(keyless.get("authorization"), None);
        assert_eq!(keyless.get("x-api-key"), None);
    }

    #[test]
    fn routes_are_parsed_once_onto_the_base_url() {
        let upstream = upstream(UpstreamAuth::None, false);
        assert_eq!(
            upstream.parsed_url("/v1/chat/completions").expect("a url"),
            "http://127.0.0.1:9/v1/chat/completions"
        );
        assert_eq!(upstream.route_urls.len(), ROUTES.len());
    }

    #[test]
    fn a_base_url_that_cannot_be_parsed_or_carries_credentials_is_refused() {
        let new = |base_url: &str| {
            HttpUpstream::new(
                base_url,
                true,
                UpstreamAuth::None,
                false,
                Duration::from_secs(1),
            )
        };
        match new("https://user:s3cret@example.com/v1") {
            Err(LlmGatewayError::UpstreamUrl { url, reason }) => {
                assert_eq!(url, "https://***@example.com/v1");
                assert!(reason.contains("password"), "{reason}");
            }
            other => panic!("credentials in the base url were taken: {:?}", other.err()),
        }
        let message = new("https://user:s3cret@exa mple.com/v1")
            .err()
            .expect("refused")
            .to_string();
        assert!(!message.contains("s3cret"), "{message}");
        match new("http://exa mple.com/v1") {
            Err(LlmGatewayError::UpstreamUrl { url, reason }) => {
                assert!(url.starts_with("http://exa mple.com/"), "{url}");
                assert!(reason.contains("cannot be parsed"), "{reason}");
            }
            other => panic!("an unparsable base url was taken: {:?}", other.err()),
        }
        let message = new("ftp://user:s3cret@example.com")
            .err()
            .expect("refused")
            .to_string();
        assert!(!message.contains("s3cret"), "{message}");
        // An `@` outside the authority is not userinfo.
        assert!(new("http://127.0.0.1:9/v1/@team").is_ok());
    }

    /// An error whose source is `inner`, as hyper-util's and hyper's errors wrap `h2`'s.
    #[derive(Debug)]
    struct Wrapped(h2::Error);

    impl std::fmt::Display for Wrapped {
        fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            formatter.write_str("wrapped")
        }
    }

    impl std::error::Error for Wrapped {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    /// The error an HTTP/2 client gets for one request when the server, over an in-memory
    /// connection, either shuts down gracefully before reading it (`Some(NO_ERROR)`: a GOAWAY
    /// that names no stream as processed) or resets its stream with `reason`.
    async fn h2_error_from_server(go_away: bool, reason: h2::Reason) -> h2::Error {
        let (client_io, server_io) = tokio::io::duplex(64 * 1024);
        let (mut client, connection) = h2::client::handshake(client_io).await.expect("client");
        let client_connection = tokio::spawn(connection);
        let request = Request::post("http://upstream/v1/messages")
            .body(())
            .expect("a request");
        // The stream is opened before the server reads anything: a GOAWAY naming no stream as
        // processed then covers it.
        client = client.ready().await.expect("ready");
        let (response, _) = client.send_request(request, true).expect("sent");
        let server = tokio::spawn(async move {
            let mut connection = h2::server::handshake(server_io).await.expect("server");
            if go_away {
                connection.abrupt_shutdown(reason);
            }
            while let Some(Ok((_, mut respond))) = connection.accept().await {
                respond.send_reset(reason);
            }
        });
        let error = response.await.expect_err("the server answered");
        client_connection.abort();
        server.abort();
        error
    }

    #[tokio::test]
    async fn calls_an_http2_server_turned_away_unprocessed_are_sent_again() {
        for (go_away, reason, again) in [
            (true, h2::Reason::NO_ERROR, true),
            (false, h2::Reason::REFUSED_STREAM, true),
            (true, h2::Reason::INTERNAL_ERROR, false),
            (false, h2::Reason::INTERNAL_ERROR, false),
            (false, h2::Reason::CANCEL, false),
        ] {
            let error = h2_error_from_server(go_away, reason).await;
            assert!(error.is_remote(), "{error:?}");
            assert_eq!(error.reason(), Some(reason), "{error:?}");
            assert_eq!(turned_away_unprocessed(&error), again, "{error:?}");
            assert_eq!(turned_away_unprocessed(&Wrapped(error)), again);
        }
        // The same reasons raised on this side (not by the server) are not a reason to send
        // again: h2 makes such errors from a bare `Reason`.
        for reason in [h2::Reason::NO_ERROR, h2::Reason::REFUSED_STREAM] {
            let local = h2::Error::from(reason);
            assert!(!local.is_remote());
            assert!(!turned_away_unprocessed(&Wrapped(local)));
        }
        assert!(!turned_away_unprocessed(&std::io::Error::other("reset")));
    }
}
