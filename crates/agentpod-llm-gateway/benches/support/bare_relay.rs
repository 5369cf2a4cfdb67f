//! The gateway bench's floor for any proxy: an HTTP/1.1 relay that does nothing but pass each
//! request on to one upstream and its answer back, with hyper's own server and pooled client and
//! no reading of the bodies (no parsing, no metering, no record). What it adds to the direct path
//! is what one more loopback hop and one more process's sockets cost on this machine; what the
//! gateway adds beyond it is the gateway's own work.

use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::BodyExt;
use http_body_util::combinators::BoxBody;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;

type Body = BoxBody<Bytes, hyper::Error>;

/// Starts the relay on `runtime` in front of `upstream` (`http://host:port`) and returns the
/// address it listens on. It runs until the runtime is dropped.
pub fn start(runtime: &tokio::runtime::Runtime, upstream: &str) -> SocketAddr {
    let upstream: Uri = upstream.parse().expect("the upstream's URL");
    let authority = upstream
        .authority()
        .expect("the upstream's URL has a host")
        .clone();
    let client: Client<HttpConnector, Incoming> =
        Client::builder(TokioExecutor::new()).build_http();
    runtime.block_on(async move {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
        let address = listener.local_addr().expect("the relay's address");
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let _ = stream.set_nodelay(true);
                let client = client.clone();
                let authority = authority.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |mut request: Request<Incoming>| {
                        let client = client.clone();
                        let authority = authority.clone();
                        async move {
                            let path = request
                                .uri()
                                .path_and_query()
                                .map(|path| path.as_str().to_owned())
                                .unwrap_or_else(|| "/".to_owned());
                            *request.uri_mut() = Uri::builder()
                                .scheme("http")
                                .authority(authority)
                                .path_and_query(path)
                                .build()
                                .expect("the upstream's URI");
                            request.headers_mut().remove(hyper::header::HOST);
                            let answer = match client.request(request).await {
                                Ok(answer) => answer.map(|body| body.boxed()),
                                Err(_) => Response::builder()
                                    .status(502)
                                    .body(empty())
                                    .expect("a 502"),
                            };
                            Ok::<Response<Body>, hyper::Error>(answer)
                        }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        address
    })
}

fn empty() -> Body {
    http_body_util::Empty::new()
        .map_err(|never| match never {})
        .boxed()
}
