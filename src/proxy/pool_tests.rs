//! The pool against a raw upstream that numbers its connections: keep-alive reuse, a body
//! left unread, `Connection: close`, and an idle connection the upstream closed.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use http::Request;
use http_body_util::BodyExt;
use hyper_rustls::HttpsConnectorBuilder;
use hyper_util::client::legacy::connect::HttpConnector;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

use super::{Pool, SendError};

fn pool() -> Arc<Pool> {
    let https = HttpsConnectorBuilder::new()
        .with_webpki_roots()
        .https_or_http()
        .enable_http1()
        .wrap_connector(HttpConnector::new());
    Arc::new(Pool::new(https, Duration::from_secs(90)))
}

/// What the upstream does after answering a request on a connection.
#[derive(Clone, Copy)]
enum After {
    KeepAlive,
    /// Answers with `Connection: close` and closes.
    Close,
    /// Keeps the connection for one answer, then closes it without a word once idle.
    CloseWhenIdle,
}

/// An upstream answering `GET /n` with a body naming the connection (`conn 0`, `conn 1`, …),
/// padded to `len` bytes; every accepted connection is reported on the channel.
async fn numbered_upstream(
    after: After,
    len: usize,
) -> (SocketAddr, mpsc::UnboundedReceiver<usize>) {
    numbered_upstream_at("127.0.0.1:0", after, len).await
}

/// [`numbered_upstream`] on the address `bind`.
async fn numbered_upstream_at(
    bind: &str,
    after: After,
    len: usize,
) -> (SocketAddr, mpsc::UnboundedReceiver<usize>) {
    let listener = TcpListener::bind(bind).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (accepted_tx, accepted_rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        for number in 0.. {
            let (stream, _) = listener.accept().await.unwrap();
            let _ = accepted_tx.send(number);
            tokio::spawn(serve(stream, number, after, len));
        }
    });
    (addr, accepted_rx)
}

async fn serve(mut stream: TcpStream, number: usize, after: After, len: usize) {
    let mut buffer = Vec::new();
    loop {
        while !buffer.windows(4).any(|w| w == b"\r\n\r\n") {
            let mut chunk = [0u8; 1024];
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buffer.extend_from_slice(&chunk[..n]),
            }
        }
        let end = buffer.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        buffer.drain(..end);
        let mut body = format!("conn {number}");
        let padding = len.saturating_sub(body.len());
        body.extend(std::iter::repeat_n(' ', padding));
        let close = matches!(after, After::Close);
        let head = format!(
            "HTTP/1.1 200 OK\r\ncontent-length: {}\r\n{}\r\n",
            body.len(),
            if close { "connection: close\r\n" } else { "" }
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        stream.write_all(body.as_bytes()).await.unwrap();
        if !matches!(after, After::KeepAlive) {
            return;
        }
    }
}

fn get(addr: SocketAddr) -> Request<Body> {
    Request::builder()
        .uri(format!("http://{addr}/n"))
        .body(Body::empty())
        .unwrap()
}

async fn text(pool: &Arc<Pool>, addr: SocketAddr) -> String {
    let response = pool.send(get(addr)).await.expect("an answer");
    let body = response.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8(body.to_vec())
        .unwrap()
        .trim_end()
        .to_owned()
}

#[tokio::test]
async fn a_connection_read_to_the_end_carries_the_next_request() {
    let (addr, mut accepted) = numbered_upstream(After::KeepAlive, 16).await;
    let pool = pool();
    for _ in 0..5 {
        assert_eq!(text(&pool, addr).await, "conn 0");
    }
    assert_eq!(accepted.recv().await, Some(0));
    assert!(accepted.try_recv().is_err(), "one connection for all five");
    assert_eq!(pool.idle_count(), 1);
}

/// An origin is one whatever the case its host is written in (RFC 3986 §6.2.2.1): requests
/// to `localhost` and `LocalHost` share one idle list, so the second reuses the first's
/// connection.
#[tokio::test]
async fn an_origin_written_in_another_case_is_the_same_origin() {
    let (addr, mut accepted) = numbered_upstream(After::KeepAlive, 16).await;
    let pool = pool();
    for host in ["localhost", "LocalHost", "LOCALHOST"] {
        let request = Request::builder()
            .uri(format!("http://{host}:{}/n", addr.port()))
            .body(Body::empty())
            .unwrap();
        let response = pool.send(request).await.expect("an answer");
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(
            String::from_utf8_lossy(&body).trim_end(),
            "conn 0",
            "{host}"
        );
    }
    assert_eq!(accepted.recv().await, Some(0));
    assert!(
        accepted.try_recv().is_err(),
        "one connection for every spelling"
    );
    assert_eq!(pool.idle_count(), 1);
}

/// Two origins that differ only before their last 8 characters (`127.0.0.1:P` and
/// `127.1.0.1:P`, both loopback) hash alike in the idle lists; each keeps its own connection.
#[tokio::test]
async fn origins_that_hash_alike_keep_their_own_connections() {
    let (one, mut one_accepted) = numbered_upstream(After::KeepAlive, 16).await;
    let bind = format!("127.1.0.1:{}", one.port());
    let (two, mut two_accepted) = numbered_upstream_at(&bind, After::KeepAlive, 16).await;
    let pool = pool();
    for _ in 0..3 {
        assert_eq!(text(&pool, one).await, "conn 0");
        assert_eq!(text(&pool, two).await, "conn 0");
    }
    for accepted in [&mut one_accepted, &mut two_accepted] {
        assert_eq!(accepted.recv().await, Some(0));
        assert!(
            accepted.try_recv().is_err(),
            "one connection for each origin"
        );
    }
    assert_eq!(pool.idle_count(), 2);
}

#[tokio::test]
async fn requests_at_once_get_connections_of_their_own() {
    let (addr, _accepted) = numbered_upstream(After::KeepAlive, 16).await;
    let pool = pool();
    let (a, b) = tokio::join!(pool.send(get(addr)), pool.send(get(addr)));
    let (a, b) = (a.expect("a"), b.expect("b"));
    let a = a.into_body().collect().await.unwrap().to_bytes();
    let b = b.into_body().collect().await.unwrap().to_bytes();
    assert_ne!(a, b, "two connections");
    assert_eq!(pool.idle_count(), 2);
}

/// A connection that comes back drops those of its list idle too long (the oldest, at its
/// front) and keeps the others.
#[tokio::test]
async fn a_connection_coming_back_drops_those_idle_too_long() {
    let (addr, _accepted) = numbered_upstream(After::KeepAlive, 16).await;
    let https = HttpsConnectorBuilder::new()
        .with_webpki_roots()
        .https_or_http()
        .enable_http1()
        .wrap_connector(HttpConnector::new());
    let pool = Arc::new(Pool::new(https, Duration::from_secs(1)));
    let (a, b, c) = tokio::join!(
        pool.send(get(addr)),
        pool.send(get(addr)),
        pool.send(get(addr))
    );
    // Two come back at once; the third is held, its body unread.
    for response in [a, b] {
        response
            .expect("an answer")
            .into_body()
            .collect()
            .await
            .unwrap();
    }
    assert_eq!(pool.idle_count(), 2);
    // Half a second on, the newer of the two carries a request and comes back.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let d = pool.send(get(addr)).await.expect("an answer");
    d.into_body().collect().await.unwrap();
    assert_eq!(pool.idle_count(), 2);
    // 1.2 s after the first came back, 0.7 s after the second did: the third's return drops
    // the first only.
    tokio::time::sleep(Duration::from_millis(700)).await;
    c.expect("an answer").into_body().collect().await.unwrap();
    assert_eq!(pool.idle_count(), 2);
}

#[tokio::test]
async fn a_body_dropped_before_its_end_takes_its_connection_along() {
    let (addr, _accepted) = numbered_upstream(After::KeepAlive, 1 << 20).await;
    let pool = pool();
    let response = pool.send(get(addr)).await.expect("an answer");
    let mut body = response.into_body();
    let first = body.frame().await.expect("a frame").expect("data");
    assert!(first.is_data());
    drop(body);
    assert_eq!(pool.idle_count(), 0);
    // The next request is answered whole, on a new connection.
    assert_eq!(text(&pool, addr).await.trim_end(), "conn 1");
}

#[tokio::test]
async fn a_connection_the_upstream_closes_is_not_used_again() {
    let (addr, mut accepted) = numbered_upstream(After::Close, 16).await;
    let pool = pool();
    assert_eq!(text(&pool, addr).await, "conn 0");
    assert_eq!(text(&pool, addr).await, "conn 1");
    assert_eq!(accepted.recv().await, Some(0));
    assert_eq!(accepted.recv().await, Some(1));
}

#[tokio::test]
async fn a_request_on_an_idle_connection_the_upstream_closed_goes_out_on_a_new_one() {
    let (addr, mut accepted) = numbered_upstream(After::CloseWhenIdle, 16).await;
    let pool = pool();
    assert_eq!(text(&pool, addr).await, "conn 0");
    // The upstream has closed connection 0; the pool may not have noticed yet.
    for _ in 0..3 {
        let answer = text(&pool, addr).await;
        assert!(answer.starts_with("conn "), "{answer}");
    }
    assert_eq!(accepted.recv().await, Some(0));
    assert_eq!(accepted.recv().await, Some(1));
}

#[tokio::test]
async fn a_target_without_an_origin_is_refused() {
    let request = Request::builder().uri("/n").body(Body::empty()).unwrap();
    let refused = pool().send(request).await;
    assert!(matches!(refused, Err(SendError::NoOrigin)), "{refused:?}");
}
