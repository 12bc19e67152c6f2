//! Client connections that try to hold the gateway: silent connections, request heads sent a
//! line at a time, idle keep-alive connections, many connections from one address or from
//! everyone. Each test holds raw TCP connections open, configures the timeout under test
//! short (1 s) and the others long, and waits on the socket closing with a generous bound;
//! what reached the upstream is checked on the echo upstream.

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use http_body_util::{BodyExt as _, Empty};
use hyper::body::Bytes;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpSocket, TcpStream};

use crate::helpers::{spawn_app_with, TestApp};

/// Longer than any timeout these tests configure (1 s) by far, shorter than the long ones
/// (30 s), so a connection still open at the bound was held by the wrong timeout or none.
const BOUND: Duration = Duration::from_secs(15);

/// A gateway with these `[server]` lines. The harness does not wait for `/ready`, so the
/// test's own connections are the only ones the gateway has (the public routes need no
/// provider).
async fn app_with_server(lines: &str) -> TestApp {
    let lines = lines.to_owned();
    spawn_app_with(|cfg| {
        cfg.server_extra = lines;
        cfg.wait_until_ready = false;
    })
    .await
}

/// A connection to the gateway from `source` (another loopback address is another client).
async fn connect_from(app: &TestApp, source: Ipv4Addr) -> TcpStream {
    let socket = TcpSocket::new_v4().expect("socket");
    socket
        .bind(SocketAddr::new(IpAddr::V4(source), 0))
        .expect("bind the client address");
    socket.connect(app.addr).await.expect("connect")
}

/// A connection to `addr` on which `GET /public/stream` has sent its first chunk; the echo
/// upstream holds the rest until `release_stream`.
pub async fn start_held_stream(addr: SocketAddr) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let request = format!("GET /public/stream HTTP/1.1\r\nHost: {addr}\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut answer = Vec::new();
    let mut buffer = [0u8; 1024];
    while !String::from_utf8_lossy(&answer).contains("chunk-1") {
        let n = tokio::time::timeout(BOUND, stream.read(&mut buffer))
            .await
            .expect("the first chunk in time")
            .expect("read");
        assert_ne!(n, 0, "closed before the first chunk");
        answer.extend_from_slice(&buffer[..n]);
    }
    stream
}

/// Everything the gateway sends until it closes the connection (an end of stream or a
/// reset); panics if it is still open after [`BOUND`].
pub async fn read_until_closed(stream: &mut TcpStream) -> String {
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    let reading = async {
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => received.extend_from_slice(&buffer[..n]),
            }
        }
    };
    tokio::time::timeout(BOUND, reading)
        .await
        .expect("the gateway to close the connection within the bound");
    String::from_utf8_lossy(&received).into_owned()
}

fn get(app: &TestApp, path: &str, connection: &str) -> String {
    format!(
        "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: {connection}\r\n\r\n",
        app.addr
    )
}

/// Sends a `Connection: close` request for `path` and returns the whole answer.
async fn request_on(app: &TestApp, stream: &mut TcpStream, path: &str) -> String {
    stream
        .write_all(get(app, path, "close").as_bytes())
        .await
        .expect("write the request");
    read_until_closed(stream).await
}

fn upstream_saw(app: &TestApp, path: &str) -> bool {
    app.upstream.requests().iter().any(|r| r.path == path)
}

/// Repeats `attempt` (25 ms apart) until it gives `Some`, for the gateway noticing that
/// clients went away, which the test cannot await directly.
async fn eventually<T, F: Future<Output = Option<T>>>(
    what: &str,
    mut attempt: impl FnMut() -> F,
) -> T {
    let polling = async {
        loop {
            if let Some(value) = attempt().await {
                return value;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    };
    tokio::time::timeout(BOUND, polling)
        .await
        .unwrap_or_else(|_| panic!("timed out waiting until {what}"))
}

#[tokio::test]
async fn a_connection_that_sends_nothing_is_closed_after_header_timeout() {
    let app = app_with_server("header_timeout = \"1s\"\nkeepalive_timeout = \"30s\"").await;
    let mut silent = TcpStream::connect(app.addr).await.expect("connect");

    let answer = read_until_closed(&mut silent).await;

    assert_eq!(
        answer, "",
        "a silent connection gets no answer, only closed"
    );
}

#[tokio::test]
async fn a_client_dribbling_header_lines_is_cut_off_after_header_timeout() {
    let app = app_with_server("header_timeout = \"1s\"\nkeepalive_timeout = \"30s\"").await;
    let mut stream = TcpStream::connect(app.addr).await.expect("connect");
    let start = format!("GET /public/dribble HTTP/1.1\r\nHost: {}\r\n", app.addr);
    stream.write_all(start.as_bytes()).await.expect("write");

    // One header line every 250 ms, each well within any per-read timeout, until the
    // gateway closes the connection or the bound passes.
    let dribble = async {
        let mut buffer = [0u8; 1024];
        for line in 0.. {
            let header = format!("X-Dribble-{line}: still typing\r\n");
            if stream.write_all(header.as_bytes()).await.is_err() {
                return;
            }
            match tokio::time::timeout(Duration::from_millis(250), stream.read(&mut buffer)).await {
                Err(_) => {}
                Ok(Ok(0) | Err(_)) => return,
                Ok(Ok(_)) => {}
            }
        }
    };
    tokio::time::timeout(BOUND, dribble)
        .await
        .expect("the gateway to cut the dribbling client off within the bound");

    assert!(
        !upstream_saw(&app, "/public/dribble"),
        "no request may reach the upstream from a head that never ended"
    );
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_keepalive_timeout() {
    // header_timeout is long: only keepalive_timeout can close this connection in time.
    let app = app_with_server("header_timeout = \"30s\"\nkeepalive_timeout = \"1s\"").await;
    let mut stream = TcpStream::connect(app.addr).await.expect("connect");
    stream
        .write_all(get(&app, "/public/first", "keep-alive").as_bytes())
        .await
        .expect("write");

    let answer = read_until_closed(&mut stream).await;

    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert_eq!(answer.matches("HTTP/1.1 ").count(), 1, "{answer}");
    assert!(upstream_saw(&app, "/public/first"));
}

#[tokio::test]
async fn an_idle_http2_connection_is_closed_after_keepalive_timeout() {
    let app = app_with_server("header_timeout = \"30s\"\nkeepalive_timeout = \"1s\"").await;
    let stream = TcpStream::connect(app.addr).await.expect("connect");
    // HTTP/2 with prior knowledge (RFC 9113 §3.3), as the gateway has always served it.
    let (mut sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
            .await
            .expect("HTTP/2 handshake");
    let connection = tokio::spawn(connection);
    let request = http::Request::get(app.url("/public/h2"))
        .body(Empty::<Bytes>::new())
        .expect("request");

    let response = sender.send_request(request).await.expect("response");
    let status = response.status();
    response.into_body().collect().await.expect("body");

    assert_eq!(status, 200);
    assert!(upstream_saw(&app, "/public/h2"));
    let _ended = tokio::time::timeout(BOUND, connection)
        .await
        .expect("the gateway to close the idle HTTP/2 connection within the bound")
        .expect("the connection task");
}

#[tokio::test]
async fn one_address_at_its_connection_limit_does_not_stop_another() {
    let app = app_with_server(
        "header_timeout = \"30s\"\nkeepalive_timeout = \"30s\"\nmax_connections_per_client = 3",
    )
    .await;
    let localhost = Ipv4Addr::new(127, 0, 0, 1);
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(connect_from(&app, localhost).await);
    }

    let mut one_too_many = connect_from(&app, localhost).await;
    let refused = read_until_closed(&mut one_too_many).await;
    let mut other = connect_from(&app, Ipv4Addr::new(127, 0, 0, 2)).await;
    let served = request_on(&app, &mut other, "/public/other-client").await;
    let held_answer = request_on(&app, &mut held[0], "/public/held").await;

    assert_eq!(
        refused, "",
        "the fourth connection from one address is closed at once"
    );
    assert!(served.starts_with("HTTP/1.1 200"), "{served}");
    assert!(upstream_saw(&app, "/public/other-client"));
    assert!(
        held_answer.starts_with("HTTP/1.1 200"),
        "the held connections stay usable: {held_answer}"
    );
}

#[tokio::test]
async fn at_max_connections_new_ones_are_refused_until_some_go_away() {
    let app = app_with_server(
        "header_timeout = \"30s\"\nkeepalive_timeout = \"30s\"\nmax_connections = 2\n\
         max_connections_per_client = 10",
    )
    .await;
    let first = connect_from(&app, Ipv4Addr::new(127, 0, 0, 1)).await;
    let second = connect_from(&app, Ipv4Addr::new(127, 0, 0, 2)).await;

    let mut third = connect_from(&app, Ipv4Addr::new(127, 0, 0, 3)).await;
    let refused = request_on(&app, &mut third, "/public/refused").await;
    drop((first, second));
    let served = eventually("a connection is served again", || async {
        let mut stream = connect_from(&app, Ipv4Addr::new(127, 0, 0, 3)).await;
        let answer = request_on(&app, &mut stream, "/public/recovered").await;
        (!answer.is_empty()).then_some(answer)
    })
    .await;

    assert_eq!(
        refused, "",
        "a connection over max_connections is closed at once"
    );
    assert!(!upstream_saw(&app, "/public/refused"));
    assert!(served.starts_with("HTTP/1.1 200"), "{served}");
}

/// A second gateway on `app`'s configuration that runs until told to stop: its address,
/// the sender that stops it, and its task.
async fn stoppable_gateway(
    app: &TestApp,
) -> (
    SocketAddr,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<std::io::Result<()>>,
) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let gateway =
        portcullis::startup::Application::with_listener(app.gateway_config.clone(), listener)
            .await
            .expect("a second gateway on the same configuration");
    let addr = gateway.local_addr();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(gateway.run_until(async {
        let _ = stopped.await;
    }));
    (addr, stop, running)
}

#[tokio::test]
async fn shutting_down_finishes_the_request_in_flight_and_accepts_no_more() {
    let app = app_with_server("").await;
    let (addr, stop, running) = stoppable_gateway(&app).await;
    let mut stream = start_held_stream(addr).await;

    stop.send(()).expect("the gateway is running");
    eventually("the gateway stops accepting", || async {
        TcpStream::connect(addr).await.is_err().then_some(())
    })
    .await;
    app.upstream.release_stream();
    let rest = read_until_closed(&mut stream).await;
    let result = tokio::time::timeout(BOUND, running)
        .await
        .expect("the gateway to stop once the request is done")
        .expect("the gateway task");

    assert!(
        rest.contains("chunk-2") && rest.contains("chunk-3"),
        "{rest}"
    );
    assert!(result.is_ok(), "{result:?}");
}

#[tokio::test]
async fn shutting_down_cuts_off_what_outlasts_the_shutdown_timeout() {
    let app = app_with_server("shutdown_timeout = \"1s\"").await;
    let (addr, stop, running) = stoppable_gateway(&app).await;
    // Never released: only the shutdown timeout ends it.
    let mut stream = start_held_stream(addr).await;

    stop.send(()).expect("the gateway is running");
    let rest = read_until_closed(&mut stream).await;
    let result = tokio::time::timeout(BOUND, running)
        .await
        .expect("the gateway to stop once the shutdown timeout has passed")
        .expect("the gateway task");

    assert!(!rest.contains("chunk-2"), "{rest}");
    assert!(result.is_ok(), "{result:?}");
}

#[tokio::test]
async fn a_websocket_tunnel_keeps_its_place_until_it_closes() {
    let app = app_with_server(
        "header_timeout = \"30s\"\nkeepalive_timeout = \"30s\"\nmax_connections = 1\n\
         max_connections_per_client = 10",
    )
    .await;
    let (status, head, tunnel) = app.websocket_handshake("/public/ws", None).await;
    assert_eq!(status, 101, "{head}");

    let mut while_open = connect_from(&app, Ipv4Addr::new(127, 0, 0, 2)).await;
    let refused = request_on(&app, &mut while_open, "/public/while-tunnel").await;
    drop(tunnel);
    let served = eventually("a connection is served once the tunnel closed", || async {
        let mut stream = connect_from(&app, Ipv4Addr::new(127, 0, 0, 2)).await;
        let answer = request_on(&app, &mut stream, "/public/after-tunnel").await;
        (!answer.is_empty()).then_some(answer)
    })
    .await;

    assert_eq!(
        refused, "",
        "the tunnel's connection still counts towards max_connections"
    );
    assert!(served.starts_with("HTTP/1.1 200"), "{served}");
}

#[tokio::test]
async fn http2_streams_beyond_a_connections_first_count_towards_the_bounds() {
    let app = app_with_server(
        "header_timeout = \"30s\"\nkeepalive_timeout = \"30s\"\nmax_connections = 2\n\
         max_connections_per_client = 10",
    )
    .await;
    let stream = connect_from(&app, Ipv4Addr::new(127, 0, 0, 1)).await;
    let (mut sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
            .await
            .expect("HTTP/2 handshake");
    tokio::spawn(connection);
    let get = |path: &str| {
        http::Request::get(app.url(path))
            .body(Empty::<Bytes>::new())
            .expect("request")
    };
    // `…/stream` answers its head and first chunk, then holds the rest: both stay open.
    let first = sender
        .send_request(get("/public/stream"))
        .await
        .expect("first");
    let second = sender
        .send_request(get("/public/stream"))
        .await
        .expect("second");

    let third = sender.send_request(get("/public/h2-third")).await;
    let mut other = connect_from(&app, Ipv4Addr::new(127, 0, 0, 2)).await;
    let other_answer = request_on(&app, &mut other, "/public/h2-other").await;

    assert_eq!(
        (first.status().as_u16(), second.status().as_u16()),
        (200, 200)
    );
    let refused = third.expect_err("a third stream at once is over max_connections = 2");
    let reason = std::error::Error::source(&refused)
        .and_then(|source| source.downcast_ref::<h2::Error>())
        .and_then(h2::Error::reason);
    assert_eq!(reason, Some(h2::Reason::REFUSED_STREAM), "{refused:?}");
    assert!(!upstream_saw(&app, "/public/h2-third"));
    assert_eq!(other_answer, "", "both places are taken by the two streams");
}
