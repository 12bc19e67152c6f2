//! The gateway binary with `server.log_format = "json"`: every line it writes is one JSON
//! object with its timestamp, level, message and fields, and a line logged while a request
//! is answered names that request's id under `span`. `--log-format` wins over the file.

#![cfg(unix)]

use std::io::Read as _;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use serde_json::Value;

use crate::binary::{answers_ping, free_port, public_echo_config, work_dir, BINARY};
use crate::echo_upstream::EchoUpstream;

/// The binary on a free loopback port with `server_lines` in `[server]`, every path a public
/// route to `upstream`, its stdout kept.
pub(crate) struct Gateway {
    child: Child,
    url: String,
    dir: PathBuf,
}

impl Gateway {
    pub(crate) async fn start(
        upstream: &EchoUpstream,
        server_lines: &str,
        args: &[&str],
    ) -> Gateway {
        let port = free_port();
        let dir = work_dir("logs", port);
        let config = dir.join("providers.toml");
        std::fs::write(&config, public_echo_config(port, upstream, server_lines))
            .expect("the configuration");
        let child = Command::new(BINARY)
            .arg("--config")
            .arg(&config)
            .args(args)
            .env("RUST_LOG", "info")
            .env_remove("PORTCULLIS_LOG_FORMAT")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the gateway binary");
        let gateway = Gateway {
            child,
            url: format!("http://127.0.0.1:{port}"),
            dir,
        };
        assert!(
            answers_ping(&gateway.url).await,
            "the gateway did not answer /ping"
        );
        gateway
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    /// Stops the gateway with SIGTERM and returns everything it wrote to stdout.
    pub(crate) fn stop(mut self) -> String {
        let status = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status()
            .expect("kill");
        assert!(status.success(), "kill -TERM failed");
        let mut output = String::new();
        self.child
            .stdout
            .take()
            .expect("stdout")
            .read_to_string(&mut output)
            .expect("the gateway's stdout");
        output
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn request_id(response: &reqwest::Response) -> String {
    response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn json_log_format_writes_one_object_per_line_with_the_request_id() {
    let upstream = EchoUpstream::start().await;
    let gateway = Gateway::start(&upstream, "log_format = \"json\"", &[]).await;
    let client = reqwest::Client::new();

    let proxied = client
        .get(gateway.url("/app/page?token=secret"))
        .send()
        .await
        .unwrap();
    assert_eq!(proxied.status(), 200);
    let proxied_id = request_id(&proxied);
    // A callback without its flow cookie: the refused login is logged inside the request.
    let refused = client
        .get(gateway.url("/oauth2/callback/dev?code=abc&state=xyz"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 400);
    let refused_id = request_id(&refused);
    let output = gateway.stop();

    let lines: Vec<Value> = output
        .lines()
        .map(|line| {
            serde_json::from_str(line).unwrap_or_else(|err| panic!("not JSON ({err}): {line}"))
        })
        .collect();
    assert!(lines.len() >= 4, "{output}");
    for line in &lines {
        assert!(line["timestamp"].is_string(), "{line}");
        assert!(
            matches!(line["level"].as_str(), Some("INFO" | "WARN" | "ERROR")),
            "{line}"
        );
        assert!(line["message"].is_string(), "{line}");
    }
    assert!(
        lines
            .iter()
            .any(|line| line["message"] == "portcullis is listening" && line["listen"].is_string()),
        "the start-up line is JSON too: {output}"
    );
    let proxied_line = lines
        .iter()
        .find(|line| line["message"] == "request" && line["request_id"] == proxied_id.as_str())
        .unwrap_or_else(|| panic!("no request line for {proxied_id}: {output}"));
    assert_eq!(proxied_line["method"], "GET");
    assert_eq!(proxied_line["path"], "/app/page", "no query in the log");
    assert_eq!(proxied_line["status"], 200);
    assert!(proxied_line["latency_us"].is_u64(), "{proxied_line}");
    let login = lines
        .iter()
        .find(|line| line["message"] == "login")
        .unwrap_or_else(|| panic!("no login line: {output}"));
    assert_eq!(login["level"], "WARN");
    assert_eq!(login["result"], "failure");
    assert_eq!(login["span"]["request_id"], refused_id.as_str(), "{login}");
    assert!(
        !output.contains("secret"),
        "the query never reaches the log: {output}"
    );
}

#[tokio::test]
async fn the_log_format_flag_wins_over_the_file() {
    let upstream = EchoUpstream::start().await;
    let gateway = Gateway::start(
        &upstream,
        "log_format = \"json\"",
        &["--log-format", "text"],
    )
    .await;
    let output = gateway.stop();

    let listening = output
        .lines()
        .find(|line| line.contains("portcullis is listening"))
        .unwrap_or_else(|| panic!("no start-up line: {output}"));
    assert!(
        serde_json::from_str::<Value>(listening).is_err(),
        "{listening}"
    );
    assert!(listening.contains(" INFO "), "{listening}");
}
