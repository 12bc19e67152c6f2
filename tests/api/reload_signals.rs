//! Hot reload of the gateway binary as operators trigger it: `kill -HUP` (systemd's
//! `ExecReload`), and an edit of `providers.toml` with no signal at all. A refused file keeps
//! the running configuration, is reported in the gateway's own log with file:line:column,
//! and counts in `portcullis_config_reloads_total{outcome="failed"}`.

#![cfg(unix)]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::binary::{answers_ping, free_port, public_echo_config, work_dir, BINARY};
use crate::echo_upstream::EchoUpstream;

/// DESIGN §11: a change is in effect within 5 s.
const IN_EFFECT_WITHIN: Duration = Duration::from_secs(5);
/// How long anything else here may take at most.
const BOUND: Duration = Duration::from_secs(20);

/// The gateway binary on a free loopback port, its configuration file and its log.
struct Gateway {
    child: Child,
    url: String,
    port: u16,
    dir: PathBuf,
}

impl Gateway {
    async fn start(upstream: &EchoUpstream) -> Gateway {
        let port = free_port();
        let dir = work_dir("reload", port);
        let file = dir.join("providers.toml");
        std::fs::write(&file, public_echo_config(port, upstream, "")).expect("write");
        let log = std::fs::File::create(dir.join("log")).expect("the log file");
        let child = Command::new(BINARY)
            .arg("--config")
            .arg(&file)
            .env("RUST_LOG", "info")
            .stdout(Stdio::from(log.try_clone().expect("the log file")))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("the gateway binary");
        let gateway = Gateway {
            child,
            url: format!("http://127.0.0.1:{port}"),
            port,
            dir,
        };
        assert!(
            answers_ping(&gateway.url).await,
            "the gateway did not answer /ping:\n{}",
            gateway.log()
        );
        gateway
    }

    fn config_file(&self) -> PathBuf {
        self.dir.join("providers.toml")
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("log")).unwrap_or_default()
    }

    fn config(&self, upstream: &EchoUpstream, server_extra: &str) -> String {
        public_echo_config(self.port, upstream, server_extra)
    }
}

impl Gateway {
    fn hang_up(&self) {
        let status = Command::new("kill")
            .arg("-HUP")
            .arg(self.child.id().to_string())
            .status()
            .expect("kill");
        assert!(status.success(), "kill -HUP failed");
    }

    async fn metric(&self, series: &str) -> Option<u64> {
        let text = reqwest::get(self.url("/metrics"))
            .await
            .expect("GET /metrics")
            .text()
            .await
            .expect("the metrics");
        text.lines()
            .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Writes `text` over `file` so that polling cannot see it: the same inode, the same size
/// (`text` is padded with a comment) and the same modification time. Only a signal makes
/// the gateway read it.
fn write_unseen(file: &PathBuf, text: &str) {
    let before = std::fs::metadata(file).expect("the file");
    let length = usize::try_from(before.len()).expect("a small file");
    let mut padded = format!("{text}\n#");
    assert!(
        padded.len() <= length,
        "the new text is longer than the old"
    );
    while padded.len() < length {
        padded.push('#');
    }
    let modified = before.modified().expect("a modification time");
    std::fs::write(file, padded).expect("write in place");
    std::fs::File::options()
        .write(true)
        .open(file)
        .and_then(|handle| handle.set_modified(modified))
        .expect("the old modification time");
}

/// Whether a request to `path` through `gateway` reached `upstream`.
async fn reaches(gateway: &Gateway, upstream: &EchoUpstream, path: &str) -> bool {
    let answer = reqwest::get(gateway.url(path)).await;
    answer.is_ok_and(|answer| answer.status() == 200)
        && upstream
            .requests()
            .iter()
            .any(|request| request.path == path)
}

/// Asks `path` until it reaches `upstream`; the time that took, or `None` after [`BOUND`].
async fn time_until_it_reaches(
    gateway: &Gateway,
    upstream: &EchoUpstream,
    path: &str,
) -> Option<Duration> {
    let start = Instant::now();
    let mut attempt = 0;
    while start.elapsed() < BOUND {
        attempt += 1;
        if reaches(gateway, upstream, &format!("{path}-{attempt}")).await {
            return Some(start.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    None
}

#[tokio::test]
async fn sighup_puts_a_changed_route_in_effect() {
    let (first, second) = (EchoUpstream::start().await, EchoUpstream::start().await);
    let gateway = Gateway::start(&first).await;
    // Room for `write_unseen`'s padding; wait for this edit to be taken (it changes nothing).
    let padding = format!("# {}", "-".repeat(60));
    std::fs::write(gateway.config_file(), gateway.config(&first, &padding)).expect("write");
    let settled = Instant::now();
    while gateway
        .metric("portcullis_config_reloads_total{outcome=\"ok\"}")
        .await
        != Some(1)
    {
        assert!(settled.elapsed() < BOUND, "{}", gateway.log());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    write_unseen(&gateway.config_file(), &gateway.config(&second, ""));
    let before_signal = reaches(&gateway, &first, "/before-signal").await;
    gateway.hang_up();
    let after_signal = time_until_it_reaches(&gateway, &second, "/after-signal").await;

    assert!(before_signal, "unchanged until the signal");
    assert!(
        after_signal.is_some(),
        "SIGHUP did not reload:\n{}",
        gateway.log()
    );
    assert_eq!(
        gateway
            .metric("portcullis_config_reloads_total{outcome=\"ok\"}")
            .await,
        Some(2)
    );
}

#[tokio::test]
async fn an_edited_file_is_in_effect_within_5_seconds_without_a_signal() {
    let (first, second) = (EchoUpstream::start().await, EchoUpstream::start().await);
    let gateway = Gateway::start(&first).await;

    std::fs::write(gateway.config_file(), gateway.config(&second, "")).expect("write");
    let took = time_until_it_reaches(&gateway, &second, "/after-edit").await;

    let took = took.unwrap_or_else(|| panic!("the edit was never taken:\n{}", gateway.log()));
    assert!(took < IN_EFFECT_WITHIN, "in effect after {took:?}");
}

#[tokio::test]
async fn an_invalid_file_keeps_the_running_configuration_and_is_logged_with_its_position() {
    let (first, second) = (EchoUpstream::start().await, EchoUpstream::start().await);
    let gateway = Gateway::start(&first).await;
    let invalid = gateway.config(&second, "listen_on = \"everywhere\"");
    let line = invalid
        .lines()
        .position(|line| line.starts_with("listen_on"))
        .expect("the line")
        + 1;
    let position = format!("{}:{line}:1: ", gateway.config_file().display());

    std::fs::write(gateway.config_file(), &invalid).expect("write");
    let start = Instant::now();
    while !gateway.log().contains(&position) {
        assert!(
            start.elapsed() < BOUND,
            "never logged {position}:\n{}",
            gateway.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let failed = gateway
        .metric("portcullis_config_reloads_total{outcome=\"failed\"}")
        .await;
    let still_first = reaches(&gateway, &first, "/while-invalid").await;
    std::fs::write(gateway.config_file(), gateway.config(&second, "")).expect("write");
    let fixed = time_until_it_reaches(&gateway, &second, "/after-fix").await;

    assert_eq!(failed, Some(1), "{}", gateway.log());
    assert!(still_first, "the running configuration stays");
    assert!(
        gateway.log().contains("configuration reload refused"),
        "{}",
        gateway.log()
    );
    assert!(
        fixed.is_some(),
        "the next good file is taken:\n{}",
        gateway.log()
    );
}
