//! The upstream side of the proxy (issue 2 point 7): an upstream that refuses connections
//! is a 502, one that is too slow a 504, each with a request id; the upstream's own answers,
//! streams and WebSocket upgrades pass through.

use reqwest::StatusCode;
use serde_json::Value;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::echo_upstream::websocket_accept;
use crate::helpers::{
    fixed_answer_upstream, spawn_app, spawn_app_with, toml_str, websocket_client_frame,
    WEBSOCKET_KEY,
};

#[tokio::test]
async fn an_upstream_that_refuses_connections_is_a_502_json_for_programs() {
    let app = spawn_app().await;
    app.sign_in().await;

    let resp = app.get("/down/anything").await;

    assert_eq!(resp.status(), StatusCode::BAD_GATEWAY);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "upstream_unavailable");
    assert!(body["request_id"].as_str().is_some_and(|id| !id.is_empty()));
}

#[tokio::test]
async fn an_upstream_that_refuses_connections_is_a_502_page_for_browsers() {
    let app = spawn_app().await;
    app.sign_in().await;

    let resp = app.navigate("/down/page").await;

    assert_eq!(resp.status(), StatusCode::BAD_GATEWAY);
    let request_id = resp.headers()["x-request-id"].to_str().unwrap().to_owned();
    let content_type = resp.headers()["content-type"].to_str().unwrap().to_owned();
    let page = resp.text().await.unwrap();
    assert!(content_type.starts_with("text/html"), "{content_type}");
    assert!(page.contains(&request_id), "no request id in the page");
    assert!(
        !page.contains(&app.refused_addr.to_string()),
        "the page leaks the upstream address"
    );
}

#[tokio::test]
async fn an_upstream_slower_than_the_timeout_is_a_504() {
    let app = spawn_app().await;
    app.sign_in().await;

    let resp = app.get("/slow").await;

    assert_eq!(resp.status(), StatusCode::GATEWAY_TIMEOUT);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "upstream_timeout");
}

#[tokio::test]
async fn the_upstreams_own_error_statuses_pass_through() {
    let app = spawn_app().await;
    app.sign_in().await;

    let not_found = app.get("/app/status/404").await;
    let server_error = app.get("/app/status/503").await;

    assert_eq!(not_found.status(), StatusCode::NOT_FOUND);
    let echoed: Value = not_found.json().await.unwrap();
    assert_eq!(echoed["path"], "/app/status/404");
    assert_eq!(server_error.status(), StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test]
async fn a_streamed_response_reaches_the_client_before_the_upstream_finishes() {
    let app = spawn_app().await;
    app.sign_in().await;
    let mut resp = app.get("/app/stream").await;

    let first = resp.chunk().await.unwrap().unwrap();
    app.upstream.release_stream();
    let rest = resp.text().await.unwrap();

    assert_eq!(&first[..], b"chunk-1\n");
    assert_eq!(rest, "chunk-2\nchunk-3\n");
}

#[tokio::test]
async fn a_websocket_upgrade_is_proxied_for_a_signed_in_user() {
    let app = spawn_app().await;
    app.sign_in().await;
    let cookie: Vec<String> = app
        .session_cookies(&app.browser)
        .into_iter()
        .map(|(n, v)| format!("{n}={v}"))
        .collect();

    let (status, head, mut stream) = app
        .websocket_handshake("/ws/chat", Some(&cookie.join("; ")))
        .await;
    let frame = websocket_client_frame(b"hello through the gateway");
    stream.write_all(&frame).await.unwrap();
    let mut back = vec![0u8; frame.len()];
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        stream.read_exact(&mut back),
    )
    .await
    .expect("echo in time")
    .unwrap();

    assert_eq!(status, 101, "{head}");
    assert!(head.contains(&websocket_accept(WEBSOCKET_KEY)), "{head}");
    assert_eq!(back, frame);
    let handshake = app.upstream.requests().pop().unwrap();
    assert_eq!(handshake.path, "/ws/chat");
    assert_eq!(handshake.header("x-forwarded-user"), Some("alice-sub-0001"));
    assert_eq!(handshake.header("upgrade"), Some("websocket"));
}

#[tokio::test]
async fn a_websocket_upgrade_without_a_session_is_refused() {
    let app = spawn_app().await;

    let (status, head, _stream) = app.websocket_handshake("/ws/chat", None).await;

    assert_eq!(status, 401, "{head}");
    assert!(app.upstream.requests().is_empty());
}

#[tokio::test]
async fn a_response_framed_both_ways_reaches_the_client_by_its_chunks() {
    // Arrange: `Content-Length` next to `Transfer-Encoding: chunked`. The chunked framing
    // counts, and a proxy must drop the length before forwarding (RFC 9112 §6.3): a client
    // reading it would take a short body and the rest of the chunk for the next response.
    let upstream = fixed_answer_upstream(
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\
          Connection: close\r\n\r\n21\r\nhelloHTTP/1.1 200 OK\r\nX-Sm: 1\r\n\r\n\r\n\
          0\r\n\r\n",
    )
    .await;
    let app = spawn_app_with(|cfg| {
        cfg.extra_toml = format!(
            "[[upstream]]\npath = \"/framed\"\nurl = {}\npublic = true\n",
            toml_str(&upstream)
        );
    })
    .await;

    // Act
    let resp = app.get("/framed/x").await;

    // Assert
    assert_eq!(resp.status(), StatusCode::OK);
    assert_ne!(
        resp.headers()
            .get("content-length")
            .map(|value| value.as_bytes()),
        Some(&b"5"[..]),
        "the upstream's Content-Length was forwarded next to its chunked body"
    );
    let body = resp.text().await.unwrap();
    assert_eq!(body, "helloHTTP/1.1 200 OK\r\nX-Sm: 1\r\n\r\n");
}
