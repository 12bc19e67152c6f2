//! The gateway binary as the process-level tests start it (`shutdown`, `reload_signals`,
//! `json_logs`): a free loopback port, a work directory, a configuration that routes every
//! path to an echo upstream, and the wait for its first `/ping`.

use std::path::PathBuf;
use std::time::Duration;

use crate::echo_upstream::EchoUpstream;

pub(crate) const BINARY: &str = env!("CARGO_BIN_EXE_portcullis");

/// A loopback port nothing listens on at the moment.
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

/// `portcullis-{name}-{pid}-{port}` in the temporary directory, created.
pub(crate) fn work_dir(name: &str, port: u16) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("portcullis-{name}-{}-{port}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a work directory");
    dir
}

/// The gateway on `port` with the dev provider, every path a public route to `upstream`;
/// `server_lines` go into `[server]`.
pub(crate) fn public_echo_config(port: u16, upstream: &EchoUpstream, server_lines: &str) -> String {
    format!(
        r#"[server]
listen = "127.0.0.1:{port}"
public_url = "http://127.0.0.1:{port}"
{server_lines}

[session]
secret = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

[[provider]]
id = "dev"
kind = "dev"

[authorize]
email_domains = ["example.com"]

[[upstream]]
path = "/"
url = "{upstream}"
public = true
"#,
        upstream = upstream.url()
    )
}

/// Whether `{base}/ping` answers within 10 s.
pub(crate) async fn answers_ping(base: &str) -> bool {
    let client = reqwest::Client::new();
    for _ in 0..200 {
        if client.get(format!("{base}/ping")).send().await.is_ok() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}
