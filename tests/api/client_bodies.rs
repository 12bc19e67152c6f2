//! A client whose request body breaks on the way to a proxied route (issue 9 item 11): a
//! malformed chunk, or a `Content-Length` longer than what it sends before it stops. That is
//! the client's fault: a 400 with a WARN, never a 502 logged as an upstream failure.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::helpers::{spawn_app, TestApp};

/// The gateway's log lines while a [`LogCapture`] is alive, on this test's thread. The
/// harness runs the gateway on the test's own single-threaded runtime, so its events are
/// seen by the thread's default subscriber.
struct LogCapture {
    lines: Arc<Mutex<Vec<u8>>>,
    _guard: tracing::subscriber::DefaultGuard,
}

#[derive(Clone)]
struct SharedWriter(Arc<Mutex<Vec<u8>>>);

impl Write for SharedWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl LogCapture {
    fn start() -> LogCapture {
        let lines: Arc<Mutex<Vec<u8>>> = Arc::default();
        let writer = SharedWriter(Arc::clone(&lines));
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::INFO)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        LogCapture {
            lines,
            _guard: tracing::subscriber::set_default(subscriber),
        }
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.lines.lock().expect("lock")).into_owned()
    }
}

/// Writes `request`, then shuts the write side down when `half_close`, and returns what the
/// gateway answered before closing (bounded).
async fn send(app: &TestApp, request: &str, half_close: bool) -> String {
    let mut stream = TcpStream::connect(app.addr).await.expect("connect");
    let request = request.replace("{host}", &app.addr.to_string());
    stream.write_all(request.as_bytes()).await.expect("write");
    if half_close {
        stream.shutdown().await.expect("shut the write side");
    }
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer)).await;
    String::from_utf8_lossy(&answer).into_owned()
}

fn assert_blamed_on_the_client(logs: &str, case: &str) {
    assert!(
        !logs.contains("ERROR"),
        "{case}: logged as a server error:\n{logs}"
    );
    assert!(
        !logs.contains("upstream protocol error"),
        "{case}: blamed on the upstream:\n{logs}"
    );
    assert!(logs.contains("WARN"), "{case}: no warning:\n{logs}");
}

#[tokio::test]
async fn a_malformed_chunk_is_a_400_blamed_on_the_client() {
    // Arrange: `/public` is proxied to the echo upstream without a session.
    let app = spawn_app().await;
    let logs = LogCapture::start();

    // Act: a chunked body whose second chunk size is not hexadecimal (RFC 9112 §7.1).
    let answer = send(
        &app,
        "POST /public/upload HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding: chunked\r\n\r\n\
         5\r\nhello\r\nzz\r\nnot a chunk\r\n",
        false,
    )
    .await;

    // Assert
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("bad_request"), "{answer}");
    assert_blamed_on_the_client(&logs.text(), "malformed chunk");
    let seen = app.upstream.requests();
    assert!(
        seen.iter().all(|request| request.body.is_empty()),
        "the upstream took part of a body for the whole: {seen:#?}"
    );
}

#[tokio::test]
async fn a_body_cut_short_is_blamed_on_the_client() {
    // Arrange
    let app = spawn_app().await;
    let logs = LogCapture::start();

    // Act: 100 bytes announced, 10 sent, then the client stops writing (it can still read).
    let answer = send(
        &app,
        "POST /public/upload HTTP/1.1\r\nHost: {host}\r\nContent-Length: 100\r\n\r\n0123456789",
        true,
    )
    .await;

    // Assert: not a 502; a 400 when the connection still carries an answer.
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 400"),
        "{answer}"
    );
    let text = logs.text();
    assert_blamed_on_the_client(&text, "body cut short");
    assert!(text.contains("status=400"), "{text}");
    let seen = app.upstream.requests();
    assert!(
        seen.iter().all(|request| request.body.is_empty()),
        "the upstream took part of a body for the whole: {seen:#?}"
    );
}

#[tokio::test]
async fn a_whole_body_still_reaches_the_upstream() {
    // Arrange
    let app = spawn_app().await;
    let logs = LogCapture::start();

    // Act
    let answer = send(
        &app,
        "POST /public/upload HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding: chunked\r\n\
         Connection: close\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        false,
    )
    .await;

    // Assert
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let seen = app.upstream.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].body, "hello");
    assert!(!logs.text().contains("WARN"), "{}", logs.text());
}
