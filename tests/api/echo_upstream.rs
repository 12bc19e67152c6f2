//! An upstream app for the integration tests that answers every request with what it
//! received, so tests can check from the upstream's side which headers, cookies and body
//! the gateway forwarded.
//!
//! It is a plain hyper HTTP/1.1 server (no framework in between), so duplicate headers and
//! unusual names such as `X_Forwarded_User` arrive as sent. Header names are shown
//! lower-cased, as hyper stores them (field names are case-insensitive, RFC 9110 §5.1).
//!
//! Paths (matched on the last segments, so any prefix works):
//! - `…/slow`: waits [`SLOW_DELAY`] before answering (gateway timeout tests).
//! - `…/stream`: sends `chunk-1\n` at once, then waits for [`EchoUpstream::release_stream`]
//!   before `chunk-2\n` and `chunk-3\n` (streaming tests without timing).
//! - `…/status/NNN`: the echo, with status NNN.
//! - `…/cached`: the echo, with `Cache-Control: public, max-age=3600`.
//! - any request with `Upgrade: websocket`: 101 with `Sec-WebSocket-Accept` (RFC 6455
//!   §4.2.2), then every byte received is sent back unchanged.
//! - anything else: 200 `application/json` [`EchoedRequest`].

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt as _, Full};
use hyper::body::{Body, Bytes, Frame, Incoming};
use hyper::header::{HeaderValue, CONNECTION, CONTENT_TYPE, UPGRADE};
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde::{Deserialize, Serialize};
use sha1::{Digest as _, Sha1};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, Notify};

/// How long `…/slow` waits before answering.
pub const SLOW_DELAY: Duration = Duration::from_secs(5);

/// A request as the upstream received it; also the JSON body of every echo answer.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct EchoedRequest {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    /// In the order received, duplicates kept, names lower-cased by hyper.
    pub headers: Vec<(String, String)>,
    /// The body, decoded as UTF-8 (lossy).
    pub body: String,
}

impl EchoedRequest {
    /// The first value of `name` (compared case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.header_values(name).into_iter().next()
    }

    /// Every value of `name` (compared case-insensitively), in order.
    pub fn header_values(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    pub fn has_header(&self, name: &str) -> bool {
        self.header(name).is_some()
    }

    /// The `name=value` pairs of every `Cookie` header.
    pub fn cookies(&self) -> Vec<(String, String)> {
        self.header_values("cookie")
            .into_iter()
            .flat_map(|line| line.split(';'))
            .filter_map(|pair| {
                let (name, value) = pair.trim().split_once('=')?;
                Some((name.to_owned(), value.to_owned()))
            })
            .collect()
    }
}

struct Shared {
    requests: Mutex<Vec<EchoedRequest>>,
    release: Notify,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Handle on a running echo upstream; it stops with the test's runtime.
#[derive(Clone)]
pub struct EchoUpstream {
    addr: SocketAddr,
    shared: Arc<Shared>,
}

type EchoBody = BoxBody<Bytes, Infallible>;

impl EchoUpstream {
    pub async fn start() -> EchoUpstream {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the echo upstream");
        let addr = listener.local_addr().expect("echo upstream address");
        let shared = Arc::new(Shared {
            requests: Mutex::new(Vec::new()),
            release: Notify::new(),
        });
        let accept_shared = shared.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let shared = accept_shared.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req| handle(shared.clone(), req));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .with_upgrades()
                        .await;
                });
            }
        });
        EchoUpstream { addr, shared }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<EchoedRequest> {
        lock(&self.shared.requests).clone()
    }

    /// Lets one held `…/stream` response (current or next) send the rest of its chunks.
    pub fn release_stream(&self) {
        self.shared.release.notify_one();
    }
}

async fn handle(
    shared: Arc<Shared>,
    req: Request<Incoming>,
) -> Result<Response<EchoBody>, Infallible> {
    if is_websocket_upgrade(&req) {
        return Ok(websocket(&shared, req));
    }
    let (parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map(|collected| collected.to_bytes())
        .unwrap_or_default();
    let echoed = EchoedRequest {
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().map(str::to_owned),
        headers: header_pairs(&parts.headers),
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    lock(&shared.requests).push(echoed.clone());

    let segments: Vec<&str> = echoed.path.rsplit('/').take(2).collect();
    match segments.as_slice() {
        ["slow", ..] => {
            tokio::time::sleep(SLOW_DELAY).await;
            Ok(json_response(StatusCode::OK, &echoed))
        }
        ["stream", ..] => Ok(stream_response(shared)),
        ["cached", ..] => {
            let mut response = json_response(StatusCode::OK, &echoed);
            response.headers_mut().insert(
                hyper::header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=3600"),
            );
            Ok(response)
        }
        [code, "status", ..] => {
            let status = code
                .parse()
                .ok()
                .and_then(|code| StatusCode::from_u16(code).ok())
                .unwrap_or(StatusCode::BAD_REQUEST);
            Ok(json_response(status, &echoed))
        }
        _ => Ok(json_response(StatusCode::OK, &echoed)),
    }
}

fn header_pairs(headers: &hyper::HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect()
}

fn json_response(status: StatusCode, echoed: &EchoedRequest) -> Response<EchoBody> {
    let body = serde_json::to_vec(echoed).expect("echo serializes");
    let mut response = Response::new(Full::new(Bytes::from(body)).boxed());
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

fn stream_response(shared: Arc<Shared>) -> Response<EchoBody> {
    let (tx, rx) = mpsc::channel::<Bytes>(4);
    tokio::spawn(async move {
        if tx.send(Bytes::from_static(b"chunk-1\n")).await.is_err() {
            return;
        }
        let _ = tokio::time::timeout(Duration::from_secs(10), shared.release.notified()).await;
        for chunk in [&b"chunk-2\n"[..], &b"chunk-3\n"[..]] {
            if tx.send(Bytes::from_static(chunk)).await.is_err() {
                return;
            }
        }
    });
    let mut response = Response::new(ChannelBody(rx).boxed());
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    response
}

/// A response body fed chunk by chunk through a channel; ends when the sender is dropped.
struct ChannelBody(mpsc::Receiver<Bytes>);

impl Body for ChannelBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.0
            .poll_recv(cx)
            .map(|chunk| chunk.map(|bytes| Ok(Frame::data(bytes))))
    }
}

fn is_websocket_upgrade(req: &Request<Incoming>) -> bool {
    req.headers()
        .get(UPGRADE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.eq_ignore_ascii_case("websocket"))
}

/// RFC 6455 §4.2.2: the `Sec-WebSocket-Accept` value for a `Sec-WebSocket-Key`.
pub fn websocket_accept(key: &str) -> String {
    let mut sha1 = Sha1::new();
    sha1.update(key.as_bytes());
    sha1.update(b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
    STANDARD.encode(sha1.finalize())
}

/// Answers 101 and then echoes every byte on the upgraded connection.
fn websocket(shared: &Shared, req: Request<Incoming>) -> Response<EchoBody> {
    lock(&shared.requests).push(EchoedRequest {
        method: req.method().to_string(),
        path: req.uri().path().to_owned(),
        query: req.uri().query().map(str::to_owned),
        headers: header_pairs(req.headers()),
        body: String::new(),
    });
    let Some(key) = req
        .headers()
        .get("sec-websocket-key")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
    else {
        let mut response = Response::new(Full::new(Bytes::from_static(b"no key")).boxed());
        *response.status_mut() = StatusCode::BAD_REQUEST;
        return response;
    };
    tokio::spawn(async move {
        if let Ok(upgraded) = hyper::upgrade::on(req).await {
            let (mut reader, mut writer) = tokio::io::split(TokioIo::new(upgraded));
            let _ = tokio::io::copy(&mut reader, &mut writer).await;
        }
    });
    let mut response = Response::new(Full::new(Bytes::new()).boxed());
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = response.headers_mut();
    headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
    headers.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
    headers.insert(
        "sec-websocket-accept",
        HeaderValue::from_str(&websocket_accept(&key)).expect("base64 is a valid header value"),
    );
    response
}
