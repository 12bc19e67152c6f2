//! The gateway process asked to stop with SIGTERM, as systemd and Kubernetes ask: a request
//! in flight is answered in full and the process exits 0; a request that outlasts
//! `server.shutdown_timeout` is cut off, and the process still exits 0, in time.

#![cfg(unix)]

use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use crate::binary::{answers_ping, free_port, public_echo_config, work_dir, BINARY};
use crate::echo_upstream::EchoUpstream;

/// How long anything here may take at most.
const BOUND: Duration = Duration::from_secs(20);

/// The gateway binary on a free loopback port, every path a public route to `upstream`.
struct Process {
    child: Child,
    url: String,
    _dir: TempDir,
}

struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Process {
    async fn start(upstream: &EchoUpstream, server_lines: &str) -> Process {
        let port = free_port();
        let dir = work_dir("shutdown", port);
        let config = dir.join("providers.toml");
        std::fs::write(&config, public_echo_config(port, upstream, server_lines))
            .expect("the configuration");
        let child = Command::new(BINARY)
            .arg("--config")
            .arg(&config)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the gateway binary");
        let process = Process {
            child,
            url: format!("http://127.0.0.1:{port}"),
            _dir: TempDir(dir),
        };
        assert!(
            answers_ping(&process.url).await,
            "the gateway did not answer /ping"
        );
        process
    }

    fn terminate(&self) {
        let status = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status()
            .expect("kill");
        assert!(status.success(), "kill -TERM failed");
    }

    /// The exit status, once the process has exited; panics after [`BOUND`].
    async fn exited(&mut self) -> ExitStatus {
        for _ in 0..(BOUND.as_millis() / 50) {
            if let Some(status) = self.child.try_wait().expect("the child's status") {
                return status;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the gateway had not exited {BOUND:?} after SIGTERM");
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn received(upstream: &EchoUpstream, path: &str) {
    for _ in 0..200 {
        if upstream
            .requests()
            .iter()
            .any(|request| request.path == path)
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the upstream never received {path}");
}

#[tokio::test]
async fn sigterm_lets_the_request_in_flight_finish_then_exits_0() {
    let upstream = EchoUpstream::start().await;
    let mut gateway = Process::start(&upstream, "").await;
    let in_flight = tokio::spawn(reqwest::get(format!("{}/slow", gateway.url)));
    received(&upstream, "/slow").await;

    gateway.terminate();
    let response = tokio::time::timeout(BOUND, in_flight)
        .await
        .expect("the answer in time")
        .expect("the request task")
        .expect("an answer, not a cut connection");
    let status = response.status();
    let body = response.text().await.expect("the whole body");
    let exit = gateway.exited().await;

    assert_eq!(status, 200);
    assert!(body.contains("\"/slow\""), "{body}");
    assert_eq!(exit.code(), Some(0), "{exit}");
    assert!(
        reqwest::get(format!("{}/ping", gateway.url)).await.is_err(),
        "nothing listens any more"
    );
}

#[tokio::test]
async fn sigterm_cuts_off_what_outlasts_the_shutdown_timeout_and_still_exits_0() {
    let upstream = EchoUpstream::start().await;
    let mut gateway = Process::start(&upstream, "shutdown_timeout = \"1s\"").await;
    // `/stream` sends its first chunk and holds the rest until released, which it never is.
    let response = reqwest::get(format!("{}/stream", gateway.url))
        .await
        .expect("the head of the held stream");
    assert_eq!(response.status(), 200);

    gateway.terminate();
    let body = tokio::time::timeout(BOUND, response.text())
        .await
        .expect("the held stream to end within the bound");
    let exit = gateway.exited().await;

    assert!(
        !body.as_deref().unwrap_or_default().contains("chunk-2"),
        "{body:?}"
    );
    assert_eq!(exit.code(), Some(0), "{exit}");
}
