//! WebSocket tunnels through the gateway (RFC 6455, issue 9 items 6 and 10), driven from raw
//! TCP at both ends: a tunnel opens only when the upstream's `101` proves it read the client's
//! handshake (`Sec-WebSocket-Accept`, RFC 6455 §4.2.2), and a tunnel in which no byte moves
//! for the route's `websocket_idle_timeout` is closed at both ends.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

use crate::echo_upstream::websocket_accept;
use crate::helpers::{spawn_app_with, toml_str, websocket_client_frame, TestApp, WEBSOCKET_KEY};

/// The upper bound of every wait on an event; never reached when the gateway behaves.
const GENEROUS: Duration = Duration::from_secs(10);

/// A raw-TCP upstream that answers each request head by a script chosen from its path, then
/// records every byte it receives (echoing it back unless the path has `silent`) until the
/// gateway closes the connection, which it reports on `closed`.
///
/// Paths (anywhere in the request target): `accept-right` answers `101` with the correct
/// `Sec-WebSocket-Accept`; `accept-missing` with none; `accept-wrong` with the accept of
/// another key; `accept-twice` with the correct one and a wrong one. Every `101` is followed
/// at once, in the same write, by the tunnel bytes `upstream-tunnel-bytes`. Anything else
/// answers `200`.
struct ScriptedUpstream {
    url: String,
    received: Arc<Mutex<Vec<u8>>>,
    closed: mpsc::UnboundedReceiver<()>,
}

impl ScriptedUpstream {
    async fn start() -> ScriptedUpstream {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let received: Arc<Mutex<Vec<u8>>> = Arc::default();
        let (closed_tx, closed) = mpsc::unbounded_channel();
        let shared = Arc::clone(&received);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let shared = Arc::clone(&shared);
                let closed_tx = closed_tx.clone();
                tokio::spawn(async move {
                    serve_script(stream, &shared).await;
                    let _ = closed_tx.send(());
                });
            }
        });
        ScriptedUpstream {
            url,
            received,
            closed,
        }
    }

    fn received(&self) -> String {
        String::from_utf8_lossy(&self.received.lock().expect("lock")).to_ascii_lowercase()
    }

    /// Waits (bounded) until the gateway has closed one more connection to this upstream.
    async fn wait_for_a_close(&mut self, what: &str) {
        tokio::time::timeout(GENEROUS, self.closed.recv())
            .await
            .unwrap_or_else(|_| panic!("{what}: the gateway kept its upstream connection open"))
            .expect("the upstream's accept loop ended");
    }
}

async fn serve_script(mut stream: TcpStream, received: &Mutex<Vec<u8>>) {
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read_u8().await {
            Ok(byte) => head.push(byte),
            Err(_) => return,
        }
    }
    received.lock().expect("lock").extend_from_slice(&head);
    let head = String::from_utf8_lossy(&head).into_owned();
    let key = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("sec-websocket-key")
                .then(|| value.trim().to_owned())
        })
        .unwrap_or_default();
    let target = head.split(' ').nth(1).unwrap_or_default().to_owned();
    let switch = |accept: &str| {
        format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             {accept}\r\nupstream-tunnel-bytes"
        )
    };
    let other = websocket_accept("AAAAAAAAAAAAAAAAAAAAAA==");
    let answer = if target.contains("accept-right") {
        switch(&format!(
            "Sec-WebSocket-Accept: {}\r\n",
            websocket_accept(&key)
        ))
    } else if target.contains("accept-missing") {
        switch("")
    } else if target.contains("accept-wrong") {
        switch(&format!("Sec-WebSocket-Accept: {other}\r\n"))
    } else if target.contains("accept-twice") {
        switch(&format!(
            "Sec-WebSocket-Accept: {}\r\nSec-WebSocket-Accept: {other}\r\n",
            websocket_accept(&key)
        ))
    } else {
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok".to_owned()
    };
    if stream.write_all(answer.as_bytes()).await.is_err() {
        return;
    }
    let echo = !target.contains("silent");
    let mut buffer = [0u8; 4096];
    loop {
        match stream.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                received
                    .lock()
                    .expect("lock")
                    .extend_from_slice(&buffer[..n]);
                if echo && stream.write_all(&buffer[..n]).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// The harness app plus public routes `/open` (default idle timeout) and `/idle`
/// (`websocket_idle_timeout = "1s"`) and a protected `/raw`, all on one [`ScriptedUpstream`].
async fn tunnel_app() -> (TestApp, ScriptedUpstream) {
    let scripted = ScriptedUpstream::start().await;
    let url = toml_str(&scripted.url);
    let extra = format!(
        "[[upstream]]\npath = \"/open\"\nurl = {url}\npublic = true\n\n\
         [[upstream]]\npath = \"/idle\"\nurl = {url}\npublic = true\n\
         websocket_idle_timeout = \"1s\"\n\n\
         [[upstream]]\npath = \"/raw\"\nurl = {url}\n",
    );
    let app = spawn_app_with(|cfg| cfg.extra_toml = extra).await;
    (app, scripted)
}

/// Sends a WebSocket handshake for `path` and returns the response head and the stream.
async fn handshake(app: &TestApp, path: &str) -> (String, TcpStream) {
    let mut stream = TcpStream::connect(app.addr).await.expect("connect");
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {WEBSOCKET_KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n",
        app.addr
    );
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let byte = tokio::time::timeout(GENEROUS, stream.read_u8())
            .await
            .expect("response head in time")
            .expect("read the response head");
        head.push(byte);
    }
    (String::from_utf8_lossy(&head).into_owned(), stream)
}

/// Whether the peer has closed `stream`: waits (bounded) for end of file or a reset,
/// discarding anything still arriving before it.
async fn closes(stream: &mut TcpStream) -> bool {
    let mut buffer = [0u8; 1024];
    let wait = async {
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    };
    tokio::time::timeout(GENEROUS, wait).await.is_ok()
}

/// Writes one frame and reads its echo (bounded).
async fn round_trip(stream: &mut TcpStream, payload: &[u8]) -> Vec<u8> {
    let frame = websocket_client_frame(payload);
    stream.write_all(&frame).await.expect("write a frame");
    let mut back = vec![0u8; frame.len()];
    tokio::time::timeout(GENEROUS, stream.read_exact(&mut back))
        .await
        .expect("the echo in time")
        .expect("read the echo");
    assert_eq!(back, frame);
    back
}

#[tokio::test]
async fn an_upstream_101_without_the_right_accept_opens_no_tunnel() {
    // Arrange: an upstream that switches protocols without proving it read the handshake
    // (RFC 6455 §4.2.2): a plain HTTP server behind it would then take the tunnel's bytes for
    // requests of its own, with whatever identity headers they carry.
    let (app, mut upstream) = tunnel_app().await;
    let smuggled = format!(
        "GET /raw/admin HTTP/1.1\r\nHost: {}\r\nX-Tunnel: client-tunnel-bytes\r\n\
         Connection: close\r\n\r\n",
        app.addr
    );

    for case in ["accept-missing", "accept-wrong", "accept-twice"] {
        // Act: the handshake, then what a client would send through an open tunnel.
        let before = upstream.received().len();
        let (head, mut stream) = handshake(&app, &format!("/open/ws/{case}")).await;
        assert!(head.starts_with("HTTP/1.1 502"), "{case}: {head}");
        let _ = stream.write_all(smuggled.as_bytes()).await;
        let mut rest = Vec::new();
        let _ = tokio::time::timeout(GENEROUS, stream.read_to_end(&mut rest)).await;
        upstream.wait_for_a_close(case).await;

        // Assert: no byte crossed in either direction.
        let answer = String::from_utf8_lossy(&rest).to_ascii_lowercase();
        assert!(
            !answer.contains("upstream-tunnel-bytes") && !head.contains("upstream-tunnel-bytes"),
            "{case}: the upstream's tunnel bytes reached the client:\n{head}{answer}"
        );
        let received = upstream.received();
        let received = received.get(before..).unwrap_or_default();
        assert!(
            !received.contains("client-tunnel-bytes"),
            "{case}: the client's tunnel bytes reached the upstream:\n{received}"
        );
        assert!(received.contains("sec-websocket-key"), "{case}: {received}");
    }
}

#[tokio::test]
async fn an_upstream_101_with_the_right_accept_opens_the_tunnel() {
    // Arrange
    let (app, upstream) = tunnel_app().await;

    // Act
    let (head, mut stream) = handshake(&app, "/open/ws/accept-right").await;
    let mut first = [0u8; 21];
    tokio::time::timeout(GENEROUS, stream.read_exact(&mut first))
        .await
        .expect("the upstream's first bytes in time")
        .expect("read");
    round_trip(&mut stream, b"through the tunnel").await;

    // Assert
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    assert!(
        head.contains(&websocket_accept(WEBSOCKET_KEY)),
        "the accept did not reach the client: {head}"
    );
    assert_eq!(&first, b"upstream-tunnel-bytes");
    assert!(upstream.received().contains("sec-websocket-key"));
}

#[tokio::test]
async fn a_tunnel_in_which_nothing_moves_is_closed_at_both_ends() {
    // Arrange: `/idle` has `websocket_idle_timeout = "1s"`; the upstream never writes after
    // its 101 and never closes.
    let (app, mut upstream) = tunnel_app().await;
    let (head, mut stream) = handshake(&app, "/idle/ws/accept-right/silent").await;
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");

    // Act + Assert: the gateway closes both connections on its own.
    assert!(
        closes(&mut stream).await,
        "the gateway kept the idle tunnel open to the client"
    );
    upstream.wait_for_a_close("idle tunnel").await;
}

#[tokio::test]
async fn a_tunnel_with_traffic_outlives_its_idle_timeout() {
    // Arrange: `/idle` closes tunnels idle for 1 s; this one carries a frame every 300 ms.
    let (app, mut upstream) = tunnel_app().await;
    let (head, mut stream) = handshake(&app, "/idle/ws/accept-right").await;
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    let mut first = [0u8; 21];
    stream.read_exact(&mut first).await.expect("read");

    // Act: ten round trips 300 ms apart, three times the idle timeout in all.
    for round in 0..10u8 {
        round_trip(&mut stream, format!("frame {round}").as_bytes()).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }

    // Assert: still open at both ends.
    round_trip(&mut stream, b"still open").await;
    assert!(
        upstream.closed.try_recv().is_err(),
        "the gateway closed its upstream connection"
    );
}

#[tokio::test]
async fn a_websocket_idle_timeout_of_zero_is_a_config_error() {
    // Arrange + Act
    let started = crate::helpers::try_spawn_app_with(|cfg| {
        cfg.extra_toml = "[[upstream]]\npath = \"/ws\"\nurl = \"{echo}\"\n\
                          websocket_idle_timeout = \"0s\"\n"
            .to_owned();
    })
    .await;

    // Assert: refused, naming the key and its place.
    let Err(message) = started else {
        panic!("a zero idle timeout was accepted")
    };
    let line = message
        .lines()
        .find(|line| line.contains("websocket_idle_timeout"))
        .unwrap_or_default();
    assert!(
        line.starts_with("providers.toml:")
            && line.contains("upstream[3].websocket_idle_timeout")
            && line.contains("longer than zero"),
        "{message}"
    );
}
