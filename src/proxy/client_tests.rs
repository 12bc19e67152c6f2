//! Tests of `UpstreamClient` against small servers started on 127.0.0.1:0: streaming,
//! failures, response hop-by-hop fields, what an upstream really receives, and a WebSocket
//! upgrade driven through a hyper server that runs `prepare_request` + `send`.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use http::{Request, Response, StatusCode};
use http_body_util::BodyExt;
use hyper::body::{Frame, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};

use super::{prepare_request, ForwardContext, ProxyError, UpstreamClient};
use crate::config::{UpstreamConfig, UpstreamTarget};

const GENEROUS: Duration = Duration::from_secs(10);

fn upstream_at(addr: SocketAddr) -> UpstreamConfig {
    UpstreamConfig {
        path: "/".to_owned(),
        target: UpstreamTarget::Http(format!("http://{addr}").parse().unwrap()),
        public: true,
        pass_access_token: false,
        pass_authorization_header: false,
        timeout: GENEROUS,
        websocket_idle_timeout: crate::config::DEFAULT_WEBSOCKET_IDLE_TIMEOUT,
        host: None,
        allow: None,
        skip_auth: Vec::new(),
        cors_preflight: false,
        ca_files: Vec::new(),
    }
}

fn anonymous(peer: SocketAddr) -> ForwardContext<'static> {
    ForwardContext {
        host: None,
        peer,
        proto: "http",
        gateway_cookie_name: "_portcullis",
        identity: None,
    }
}

fn test_peer() -> SocketAddr {
    "198.51.100.4:40000".parse().unwrap()
}

/// A request body fed chunk by chunk from the test.
struct ChannelBody(mpsc::Receiver<Bytes>);

impl hyper::body::Body for ChannelBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.0
            .poll_recv(cx)
            .map(|chunk| chunk.map(|chunk| Ok(Frame::data(chunk))))
    }
}

async fn next_chunk(body: &mut Body) -> Option<Bytes> {
    loop {
        let frame = body.frame().await?.unwrap();
        if let Ok(data) = frame.into_data() {
            return Some(data);
        }
    }
}

/// An HTTP/1.1 upstream whose responses stream its request bodies straight back.
async fn spawn_echo_body_upstream() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            tokio::spawn(async move {
                let echo = service_fn(|req: Request<Incoming>| async move {
                    Ok::<_, Infallible>(Response::new(req.into_body()))
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), echo)
                    .await;
            });
        }
    });
    addr
}

/// Reads one request or response head, byte by byte so nothing after it is consumed.
async fn read_head(stream: &mut TcpStream) -> String {
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        head.push(stream.read_u8().await.unwrap());
    }
    String::from_utf8(head).unwrap()
}

/// A raw TCP upstream for one connection: hands the request head it received to the test,
/// writes `response`, then echoes bytes until the peer closes.
async fn spawn_raw_upstream(response: &'static str) -> (SocketAddr, oneshot::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (head_tx, head_rx) = oneshot::channel();
    tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let head = read_head(&mut stream).await;
        let _ = head_tx.send(head);
        stream.write_all(response.as_bytes()).await.unwrap();
        let (mut reader, mut writer) = stream.split();
        let _ = tokio::io::copy(&mut reader, &mut writer).await;
    });
    (addr, head_rx)
}

fn get(addr: SocketAddr, path: &str) -> Request<Body> {
    Request::builder()
        .uri(format!("http://{addr}{path}"))
        .body(Body::empty())
        .unwrap()
}

#[tokio::test]
async fn bodies_stream_both_ways() {
    let addr = spawn_echo_body_upstream().await;
    let (chunks, receiver) = mpsc::channel(1);
    let request = Request::builder()
        .method("POST")
        .uri(format!("http://{addr}/upload"))
        .body(Body::new(ChannelBody(receiver)))
        .unwrap();
    chunks.send(Bytes::from_static(b"first")).await.unwrap();

    let response = UpstreamClient::new().send(request, GENEROUS).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let mut body = response.into_body();

    // Each chunk comes back before the next is even sent: nothing is buffered whole.
    assert_eq!(next_chunk(&mut body).await.unwrap(), "first");
    chunks.send(Bytes::from_static(b"second")).await.unwrap();
    assert_eq!(next_chunk(&mut body).await.unwrap(), "second");
    drop(chunks);
    assert_eq!(next_chunk(&mut body).await, None);
}

#[tokio::test]
async fn a_refused_connection_is_unreachable() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);

    let err = UpstreamClient::new()
        .send(get(addr, "/"), GENEROUS)
        .await
        .unwrap_err();
    assert!(matches!(err, ProxyError::Unreachable(_)), "{err:?}");
}

#[tokio::test]
async fn an_upstream_that_never_answers_times_out() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (accepted_tx, accepted_rx) = oneshot::channel::<TcpStream>();
    tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        // Hand the connection to the test so it stays open and silent.
        let _ = accepted_tx.send(stream);
    });

    let err = UpstreamClient::new()
        .send(get(addr, "/slow"), Duration::from_millis(200))
        .await
        .unwrap_err();
    assert!(matches!(err, ProxyError::Timeout), "{err:?}");
    drop(accepted_rx);
}

#[tokio::test]
async fn an_upstream_that_closes_without_answering_is_a_protocol_error() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        read_head(&mut stream).await;
    });

    let err = UpstreamClient::new()
        .send(get(addr, "/"), GENEROUS)
        .await
        .unwrap_err();
    assert!(matches!(err, ProxyError::Protocol(_)), "{err:?}");
}

#[tokio::test]
async fn hop_by_hop_fields_are_removed_from_responses() {
    let (addr, _head) = spawn_raw_upstream(
        "HTTP/1.1 200 OK\r\nConnection: keep-alive, X-Upstream-Hop\r\nX-Upstream-Hop: 1\r\n\
         Keep-Alive: timeout=5\r\nProxy-Authenticate: Basic\r\nUpgrade: websocket\r\n\
         X-End-To-End: kept\r\nContent-Length: 2\r\n\r\nok",
    )
    .await;

    let response = UpstreamClient::new()
        .send(get(addr, "/"), GENEROUS)
        .await
        .unwrap();
    let headers = response.headers();
    for name in [
        "connection",
        "x-upstream-hop",
        "keep-alive",
        "proxy-authenticate",
        "upgrade",
    ] {
        assert!(headers.get(name).is_none(), "{name} passed");
    }
    assert_eq!(headers["x-end-to-end"], "kept");
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(body, "ok");
}

#[tokio::test]
async fn an_upstream_receives_no_forged_or_hop_by_hop_header_and_no_gateway_cookie() {
    let (addr, head) =
        spawn_raw_upstream("HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n").await;
    let request = Request::builder()
        .uri("/app/x?q=1")
        .header("Host", "gateway.example.com")
        .header("X_Forwarded_User", "forged")
        .header("x-auth-request-email", "forged@evil.example")
        .header("X-Forwarded-For", "10.9.9.9")
        .header("Connection", "X-Hop")
        .header("X-Hop", "forged")
        .header("Proxy-Authorization", "Basic forged")
        .header("Cookie", "_portcullis=SESSIONSECRET; theme=dark")
        .header("Cookie", "_portcullis_1=CHUNKSECRET")
        .body(Body::empty())
        .unwrap();
    let prepared = prepare_request(request, &upstream_at(addr), &anonymous(test_peer()));

    let response = UpstreamClient::new()
        .send(prepared, GENEROUS)
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);

    let head = head.await.unwrap();
    let lower = head.to_ascii_lowercase();
    assert!(head.starts_with("GET /app/x?q=1 HTTP/1.1\r\n"), "{head}");
    for absent in [
        "forged",
        "10.9.9.9",
        "secret",
        "x-hop",
        "proxy-authorization",
        "x_forwarded_user",
    ] {
        assert!(
            !lower.contains(absent),
            "{absent:?} reached the upstream:\n{head}"
        );
    }
    for present in [
        "host: gateway.example.com\r\n",
        "cookie: theme=dark\r\n",
        "x-forwarded-for: 198.51.100.4\r\n",
        "x-forwarded-proto: http\r\n",
        "x-forwarded-host: gateway.example.com\r\n",
    ] {
        assert!(lower.contains(present), "{present:?} missing:\n{head}");
    }
}

#[tokio::test]
async fn an_unrequested_switch_of_protocols_is_a_protocol_error() {
    let (addr, _head) = spawn_raw_upstream(
        "HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n",
    )
    .await;

    let err = UpstreamClient::new()
        .send(get(addr, "/"), GENEROUS)
        .await
        .unwrap_err();
    assert!(matches!(err, ProxyError::Protocol(_)), "{err:?}");
}

/// The gateway side of the upgrade test: a hyper HTTP/1.1 server (upgrades enabled, as axum
/// serves) whose one handler runs `prepare_request` and `UpstreamClient::send`.
async fn spawn_gateway(upstream: UpstreamConfig) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let client = UpstreamClient::new();
    tokio::spawn(async move {
        loop {
            let (stream, peer) = listener.accept().await.unwrap();
            let (client, upstream) = (client.clone(), upstream.clone());
            tokio::spawn(async move {
                let proxy = service_fn(move |req: Request<Incoming>| {
                    let (client, upstream) = (client.clone(), upstream.clone());
                    async move {
                        let req = prepare_request(req.map(Body::new), &upstream, &anonymous(peer));
                        let response = match client.send(req, upstream.timeout).await {
                            Ok(response) => response,
                            Err(err) => Response::builder()
                                .status(StatusCode::BAD_GATEWAY)
                                .body(Body::from(err.to_string()))
                                .unwrap(),
                        };
                        Ok::<_, Infallible>(response)
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), proxy)
                    .with_upgrades()
                    .await;
            });
        }
    });
    addr
}

#[tokio::test]
async fn a_websocket_upgrade_joins_client_and_upstream() {
    let (upstream_addr, upstream_head) = spawn_raw_upstream(
        "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
    )
    .await;
    let gateway = spawn_gateway(upstream_at(upstream_addr)).await;

    let mut browser = TcpStream::connect(gateway).await.unwrap();
    browser
        .write_all(
            b"GET /chat HTTP/1.1\r\nHost: gateway.example.com\r\nConnection: keep-alive, Upgrade\r\n\
              Upgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
              Sec-WebSocket-Version: 13\r\nX-Forwarded-User: forged\r\n\r\n",
        )
        .await
        .unwrap();
    let response_head = read_head(&mut browser).await;
    let response_lower = response_head.to_ascii_lowercase();
    assert!(response_head.starts_with("HTTP/1.1 101"), "{response_head}");
    assert!(
        response_lower.contains("connection: upgrade\r\n"),
        "{response_head}"
    );
    assert!(
        response_lower.contains("upgrade: websocket\r\n"),
        "{response_head}"
    );
    assert!(
        response_lower.contains("sec-websocket-accept: "),
        "{response_head}"
    );

    let request_head = upstream_head.await.unwrap().to_ascii_lowercase();
    assert!(
        request_head.contains("connection: upgrade\r\n"),
        "{request_head}"
    );
    assert!(
        request_head.contains("upgrade: websocket\r\n"),
        "{request_head}"
    );
    assert!(
        request_head.contains("sec-websocket-key: "),
        "{request_head}"
    );
    assert!(!request_head.contains("forged"), "{request_head}");

    for message in [&b"hello"[..], &b"\x81\x05binary frame bytes"[..]] {
        browser.write_all(message).await.unwrap();
        let mut echoed = vec![0; message.len()];
        browser.read_exact(&mut echoed).await.unwrap();
        assert_eq!(echoed, message);
    }
}

/// A request body that yields one chunk, then fails the way hyper's server does when the
/// client's chunked framing is malformed or its connection ends early.
struct BrokenBody(bool);

impl hyper::body::Body for BrokenBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        if std::mem::replace(&mut self.0, true) {
            Poll::Ready(Some(Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "the client closed before the end of its body",
            ))))
        } else {
            Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(b"part")))))
        }
    }
}

#[tokio::test]
async fn a_request_body_that_breaks_off_is_the_clients_fault() {
    let addr = spawn_echo_body_upstream().await;
    let request = Request::builder()
        .method("POST")
        .uri(format!("http://{addr}/upload"))
        .header("content-length", "100")
        .body(Body::new(BrokenBody(false)))
        .unwrap();

    let err = UpstreamClient::new()
        .send(request, GENEROUS)
        .await
        .unwrap_err();

    assert!(matches!(err, ProxyError::ClientBody(_)), "{err:?}");
    assert!(err.is_clients_fault());
    assert!(err.to_string().contains("closed before the end"), "{err}");
}

#[tokio::test]
async fn a_101_without_the_accept_for_the_clients_key_opens_no_tunnel() {
    let (upstream_addr, _head) = spawn_raw_upstream(
        "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n\r\n",
    )
    .await;
    let gateway = spawn_gateway(upstream_at(upstream_addr)).await;

    let mut browser = TcpStream::connect(gateway).await.unwrap();
    browser
        .write_all(
            b"GET /chat HTTP/1.1\r\nHost: gateway.example.com\r\nConnection: Upgrade\r\n\
              Upgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
              Sec-WebSocket-Version: 13\r\n\r\n",
        )
        .await
        .unwrap();
    let response_head = read_head(&mut browser).await;

    assert!(response_head.starts_with("HTTP/1.1 502"), "{response_head}");
}
