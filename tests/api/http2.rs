//! Attacks over HTTP/2 (h2c with prior knowledge, RFC 9113 §3.3) on the gateway's own
//! listener, judged from what the upstream received: `CONNECT`, extended `CONNECT`
//! (RFC 8441) and an `:authority` that is not a host.

use http_body_util::{BodyExt as _, Empty};
use hyper::body::Bytes;
use hyper::client::conn::http2::{self, SendRequest};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpStream;

use crate::helpers::{spawn_app, TestApp};

/// An HTTP/2 connection to the gateway, past its SETTINGS (one `GET /ping` answered), so
/// that extended CONNECT may be sent when the gateway allows it.
async fn connect(app: &TestApp) -> SendRequest<Empty<Bytes>> {
    let stream = TcpStream::connect(app.addr).await.expect("connect");
    let (mut sender, connection) = http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
        .await
        .expect("HTTP/2 handshake");
    tokio::spawn(connection);
    let ping = Request::get(format!("http://{}/ping", app.addr))
        .body(Empty::new())
        .unwrap();
    let resp = sender.send_request(ping).await.expect("GET /ping");
    assert_eq!(resp.status(), StatusCode::OK);
    sender
}

async fn send(
    sender: &mut SendRequest<Empty<Bytes>>,
    request: Request<Empty<Bytes>>,
) -> (StatusCode, hyper::HeaderMap, String) {
    let resp = sender.send_request(request).await.expect("an answer");
    let (parts, body) = resp.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    (
        parts.status,
        parts.headers,
        String::from_utf8_lossy(&body).into_owned(),
    )
}

#[tokio::test]
async fn extended_connect_is_refused_with_405() {
    // Arrange: a WebSocket over HTTP/2 (RFC 8441), to the public route and to the
    // protected root; the gateway's upstream client speaks HTTP/1.1 and would send a
    // path-less `CONNECT`.
    let app = spawn_app().await;
    let mut sender = connect(&app).await;

    for path in ["/public/ws", "/ws"] {
        let mut request = Request::builder()
            .method(Method::CONNECT)
            .uri(format!("http://{}{path}", app.addr))
            .header("sec-websocket-version", "13")
            .body(Empty::new())
            .unwrap();
        request
            .extensions_mut()
            .insert(hyper::ext::Protocol::from_static("websocket"));

        // Act
        let (status, headers, body) = send(&mut sender, request).await;

        // Assert
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{path}: {body}");
        let allow = headers.get("allow").map(|v| v.to_str().unwrap().to_owned());
        assert!(
            allow
                .as_deref()
                .is_some_and(|allow| allow.contains("GET") && !allow.contains("CONNECT")),
            "{path}: Allow {allow:?}"
        );
    }
    let seen = app.upstream.requests();
    assert!(seen.is_empty(), "the upstream was reached: {seen:#?}");
}

#[tokio::test]
async fn connect_is_refused_over_http2_and_http1() {
    // Arrange
    let app = spawn_app().await;
    let mut sender = connect(&app).await;
    let request = Request::builder()
        .method(Method::CONNECT)
        .uri(app.addr.to_string())
        .body(Empty::new())
        .unwrap();

    // Act
    let (over_h2, _, _) = send(&mut sender, request).await;
    let (over_h1_authority, _) = app
        .raw_request(&format!("CONNECT {0} HTTP/1.1\r\nHost: {0}", app.addr), "")
        .await;
    let (over_h1_path, _) = app
        .raw_request("CONNECT /public/x HTTP/1.1\r\nHost: {host}", "")
        .await;

    // Assert
    assert_eq!(over_h2, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(over_h1_authority, 405);
    assert_eq!(over_h1_path, 405);
    let seen = app.upstream.requests();
    assert!(seen.is_empty(), "the upstream was reached: {seen:#?}");
}

#[tokio::test]
async fn an_authority_with_list_separators_is_refused() {
    // Arrange: alice may use the protected root; `:authority` is HTTP/2's `Host`.
    let app = spawn_app().await;
    app.sign_in().await;
    let cookie = app
        .session_cookies(&app.browser)
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join("; ");
    let mut sender = connect(&app).await;

    for authority in ["admin.test,x", "x,admin.test", "admin.test;x"] {
        let request = Request::get(format!("http://{authority}/x"))
            .header("cookie", cookie.as_str())
            .body(Empty::new())
            .unwrap();

        // Act
        let (status, _, body) = send(&mut sender, request).await;

        // Assert
        assert_eq!(status, StatusCode::BAD_REQUEST, "{authority}: {body}");
    }
    let seen = app.upstream.requests();
    assert!(seen.is_empty(), "the upstream was reached: {seen:#?}");

    // A valid authority is served, and named to the upstream normalised.
    let request = Request::get(format!("http://LOCALHOST.:{}/x", app.addr.port()))
        .header("cookie", cookie.as_str())
        .body(Empty::new())
        .unwrap();
    let (status, _, body) = send(&mut sender, request).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let seen = app.upstream.requests();
    assert_eq!(
        seen[0].header_values("x-forwarded-host"),
        [format!("localhost:{}", app.addr.port())]
    );
}
