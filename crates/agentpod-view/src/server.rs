//! The routes, the checks every request passes and the headers every answer carries.
//!
//! The server binds loopback only (the CLI's job), and also refuses a request whose `Host` is
//! not loopback: a page of another site that resolved its own name to 127.0.0.1 (DNS
//! rebinding) could otherwise read the store through the reader's browser. Every page is sent
//! with a content security policy that allows no script, no outside fetch and no framing, so a
//! text the escapes missed still could not run.
//!
//! Loopback is not private on a machine where agents run: an agent in the host sandbox shares
//! the host's network, and the store holds every issue's expected answer. So every request also
//! carries the viewer's access token, made when it starts and printed only in the URL it gives
//! the user (`?token=`, which leaves a `SameSite=Strict`, HttpOnly cookie for the links after
//! it); without it the answer is 401 and nothing of the store.

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;

use crate::error::ViewError;
use crate::pages;
use crate::source::RunSource;

/// The policy every answer carries: inline style only (the pages' CSS), images only inline
/// (`data:`), forms only to this server, nothing else.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; \
     img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// The icon, embedded (browsers ask for it on every site).
const ICON: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#0969da"/><path d="M4 11l3-6 2 4 1-2 2 4" stroke="#fff" stroke-width="1.5" fill="none"/></svg>"##;

/// The cookie that carries the access token after the first page.
pub const ACCESS_COOKIE: &str = "agentpod_view";

#[derive(Clone)]
struct Served {
    source: Arc<dyn RunSource>,
    port: u16,
    token: Arc<str>,
}

/// A new access token: 32 random letters and digits.
#[must_use]
pub fn new_access_token() -> String {
    use rand::RngExt;
    rand::rng()
        .sample_iter(rand::distr::Alphanumeric)
        .take(32)
        .map(char::from)
        .collect()
}

/// The viewer's routes over `source`, answering only requests addressed to loopback `port`
/// that carry `token`.
pub fn router(source: Arc<dyn RunSource>, port: u16, token: &str) -> Router {
    let served = Served {
        source,
        port,
        token: Arc::from(token),
    };
    Router::new()
        .route("/", get(|| async { Redirect::to("/runs") }))
        .route("/runs", get(runs))
        .route("/runs/{run}", get(run))
        .route("/runs/{run}/issues/{issue}", get(issue))
        .route("/runs/{run}/proposals", get(proposals))
        .route("/compare", get(compare))
        .route("/favicon.ico", get(icon))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(served.clone(), guard))
        .with_state(served)
}

/// Serves `source` on `listener` until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    source: Arc<dyn RunSource>,
    token: &str,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let port = listener.local_addr()?.port();
    axum::serve(listener, router(source, port, token))
        .with_graceful_shutdown(shutdown)
        .await
}

/// Refuses requests not addressed to this loopback server; adds the security headers.
async fn guard(State(served): State<Served>, request: Request, next: Next) -> Response {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|host| host.to_str().ok())
        .unwrap_or_default();
    let allowed = ["127.0.0.1", "localhost", "[::1]"]
        .iter()
        .any(|name| host == format!("{name}:{}", served.port));
    let by_query =
        token_in_query(request.uri().query()).is_some_and(|token| same(token, &served.token));
    let by_cookie = request
        .headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|cookies| cookies.split(';'))
        .filter_map(|cookie| cookie.trim().split_once('='))
        .any(|(name, value)| name == ACCESS_COOKIE && same(value, &served.token));
    let mut response = if allowed && (by_query || by_cookie) {
        let mut response = next.run(request).await;
        if by_query
            && let Ok(cookie) = HeaderValue::from_str(&format!(
                "{ACCESS_COOKIE}={}; Path=/; HttpOnly; SameSite=Strict",
                served.token
            ))
        {
            response.headers_mut().append(header::SET_COOKIE, cookie);
        }
        response
    } else if allowed {
        (
            StatusCode::UNAUTHORIZED,
            "agentpod view needs its access token: open the address it printed (with ?token=)\n",
        )
            .into_response()
    } else {
        (
            StatusCode::FORBIDDEN,
            "agentpod view answers only requests to 127.0.0.1 or localhost with its port\n",
        )
            .into_response()
    };
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::CACHE_CONTROL, "no-store"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

/// The `token` parameter of a query string, as sent.
fn token_in_query(query: Option<&str>) -> Option<&str> {
    query?
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(name, _)| *name == "token")
        .map(|(_, value)| value)
}

/// Whether `given` is `expected`, in time that does not depend on where they differ.
fn same(given: &str, expected: &str) -> bool {
    given.len() == expected.len()
        && given
            .bytes()
            .zip(expected.bytes())
            .fold(0u8, |differ, (a, b)| differ | (a ^ b))
            == 0
}

/// A page that could not be made: its status and an error page saying why.
struct PageError(ViewError);

impl From<ViewError> for PageError {
    fn from(error: ViewError) -> Self {
        PageError(error)
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let status = match &self.0 {
            ViewError::NotFound(_) => StatusCode::NOT_FOUND,
            ViewError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ViewError::Store(_) | ViewError::Report(_) => {
                tracing::warn!(error = %error_chain(&self.0), "a page failed");
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        (
            status,
            Html(pages::error_page(status, &error_chain(&self.0))),
        )
            .into_response()
    }
}

/// The error and its causes, as one line.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut line = error.to_string();
    let mut cause = error.source();
    while let Some(error) = cause {
        line.push_str(": ");
        line.push_str(&error.to_string());
        cause = error.source();
    }
    line
}

type PageResult = Result<Html<String>, PageError>;

/// The query's pairs, decoded.
fn query_pairs(query: Option<String>) -> Vec<(String, String)> {
    form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .into_owned()
        .collect()
}

fn query_value<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(name, value)| name == key && !value.is_empty())
        .map(|(_, value)| value.as_str())
}

/// `?page=N`, from 1; anything else reads as the first page.
fn page_number(pairs: &[(String, String)]) -> usize {
    query_value(pairs, "page")
        .and_then(|page| page.parse::<usize>().ok())
        .filter(|page| *page >= 1)
        .unwrap_or(1)
}

async fn runs(State(served): State<Served>, RawQuery(query): RawQuery) -> PageResult {
    let pairs = query_pairs(query);
    let filter = pages::runs::Filter {
        spec: query_value(&pairs, "spec").map(str::to_string),
        agent_version: query_value(&pairs, "agent").map(str::to_string),
    };
    Ok(Html(
        pages::runs::page(served.source.as_ref(), &filter).await?,
    ))
}

async fn run(State(served): State<Served>, Path(run): Path<String>) -> PageResult {
    Ok(Html(pages::run::page(served.source.as_ref(), &run).await?))
}

async fn issue(
    State(served): State<Served>,
    Path((run, issue)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> PageResult {
    let page = page_number(&query_pairs(query));
    Ok(Html(
        pages::issue::page(served.source.as_ref(), &run, &issue, page).await?,
    ))
}

async fn proposals(
    State(served): State<Served>,
    Path(run): Path<String>,
    RawQuery(query): RawQuery,
) -> PageResult {
    let page = page_number(&query_pairs(query));
    Ok(Html(
        pages::proposals::page(served.source.as_ref(), &run, page).await?,
    ))
}

async fn compare(State(served): State<Served>, RawQuery(query): RawQuery) -> PageResult {
    // `runs=a,b` (the stable address), or `runs=a&runs=b` (the runs page's check boxes).
    let runs: Vec<String> = query_pairs(query)
        .into_iter()
        .filter(|(name, _)| name == "runs")
        .flat_map(|(_, value)| {
            value
                .split(',')
                .map(str::trim)
                .filter(|run| !run.is_empty())
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect();
    Ok(Html(
        pages::compare::page(served.source.as_ref(), &runs).await?,
    ))
}

async fn icon() -> Response {
    Response::builder()
        .header(header::CONTENT_TYPE, "image/svg+xml")
        .body(Body::from(ICON))
        .unwrap_or_default()
}

async fn not_found() -> Response {
    PageError(ViewError::NotFound(
        "no such page (start at /runs)".to_string(),
    ))
    .into_response()
}
