//! Redis for the integration tests: a private `redis-server` per test ([`RedisServer`]: a free
//! port, ready when `start` returns, killed on drop, stopped and restarted on the same port),
//! and the machine's shared Redis on 127.0.0.1:6379 under a fresh key prefix
//! ([`shared_redis_prefix`]) whose keys [`cleanup`] deletes.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fred::prelude::{Builder, ClientLike as _, Config, KeysInterface as _};
use fred::types::Value;
use rand::RngCore as _;

/// The shared Redis every test may use, each under its own prefix.
const SHARED_REDIS: &str = "127.0.0.1:6379";

/// A private `redis-server` (no persistence) on a free port of 127.0.0.1.
pub struct RedisServer {
    port: u16,
    child: Option<Child>,
}

impl RedisServer {
    /// Starts one and returns once it accepts connections. Panics when `redis-server` is not
    /// on PATH (Debian's `redis-server` package; `.ci/run` installs it).
    pub fn start() -> RedisServer {
        for _ in 0..5 {
            let port = free_port();
            if let Some(child) = spawn(port) {
                return RedisServer {
                    port,
                    child: Some(child),
                };
            }
        }
        panic!("redis-server did not start on any of 5 free ports");
    }

    /// `redis://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Kills the server (its data is gone) and waits until it has exited.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops it if running, then starts an empty one on the same port.
    pub fn restart(&mut self) {
        self.stop();
        let child = spawn(self.port);
        assert!(
            child.is_some(),
            "redis-server did not restart on port {}",
            self.port
        );
        self.child = child;
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// `redis-server` on `port`, once its log says it is ready; None when it exited first (the
/// port was taken).
fn spawn(port: u16) -> Option<Child> {
    let mut child = Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|err| panic!("cannot run redis-server (is it on PATH?): {err}"));
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let ready = lines
        .by_ref()
        .map_while(Result::ok)
        .any(|line| line.contains("Ready to accept connections"));
    if !ready {
        let _ = child.wait();
        return None;
    }
    // Keep draining its log so it never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    if answers_ping(&format!("127.0.0.1:{port}")) {
        Some(child)
    } else {
        let _ = child.kill();
        let _ = child.wait();
        None
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Whether a Redis at `address` answers PING within a second or two.
fn answers_ping(address: &str) -> bool {
    let Ok(address) = address.parse() else {
        return false;
    };
    TcpStream::connect_timeout(&address, Duration::from_secs(1))
        .and_then(|mut stream| {
            stream.set_read_timeout(Some(Duration::from_secs(2)))?;
            stream.write_all(b"PING\r\n")?;
            let mut reply = [0u8; 5];
            stream.read_exact(&mut reply)?;
            Ok(&reply == b"+PONG")
        })
        .unwrap_or(false)
}

/// A fresh random key prefix on the shared Redis (127.0.0.1:6379) when it answers; None with
/// a printed reason when not, except under PORTCULLIS_E2E=1, where its absence panics.
pub fn shared_redis_prefix() -> Option<String> {
    if !answers_ping(SHARED_REDIS) {
        let e2e = std::env::var("PORTCULLIS_E2E").is_ok_and(|value| value == "1");
        assert!(
            !e2e,
            "PORTCULLIS_E2E=1 but no Redis answers PING on {SHARED_REDIS}"
        );
        println!("skipped: no Redis answers PING on {SHARED_REDIS}");
        let reason = format!(
            "no Redis answers PING on {SHARED_REDIS} (start one: redis-server --port 6379)"
        );
        crate::e2e::skips::record(&crate::e2e::target_dir(), &reason);
        return None;
    }
    let mut bytes = [0u8; 8];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    Some(format!("portcullis-test:{hex}:"))
}

/// Deletes every key of the shared Redis that starts with `prefix` (SCAN + DEL).
pub async fn cleanup(prefix: &str) {
    let client = connect(&format!("redis://{SHARED_REDIS}")).await;
    let pattern = format!("{}*", glob_escape(prefix));
    let mut cursor = "0".to_owned();
    loop {
        let page: Value = client
            .scan_page(cursor.clone(), pattern.clone(), Some(500), None)
            .await
            .unwrap();
        let (next, keys) = scan_reply(page);
        if !keys.is_empty() {
            client.del::<i64, _>(keys).await.unwrap();
        }
        if next == "0" {
            break;
        }
        cursor = next;
    }
    client.quit().await.unwrap();
}

/// Every key of the shared Redis that starts with `prefix` (SCAN), sorted.
pub async fn keys(prefix: &str) -> Vec<String> {
    let client = connect(&format!("redis://{SHARED_REDIS}")).await;
    let pattern = format!("{}*", glob_escape(prefix));
    let mut cursor = "0".to_owned();
    let mut all = Vec::new();
    loop {
        let page: Value = client
            .scan_page(cursor.clone(), pattern.clone(), Some(500), None)
            .await
            .unwrap();
        let (next, keys) = scan_reply(page);
        all.extend(keys);
        if next == "0" {
            break;
        }
        cursor = next;
    }
    client.quit().await.unwrap();
    all.sort();
    all.dedup();
    all
}

/// A client of the shared Redis (127.0.0.1:6379), for assertions on a test's keys.
pub async fn connect_shared() -> fred::clients::Client {
    connect(&format!("redis://{SHARED_REDIS}")).await
}

/// A connected `fred` client of `url` (for fixtures and assertions, not the code under test).
pub async fn connect(url: &str) -> fred::clients::Client {
    let client = Builder::from_config(Config::from_url(url).unwrap())
        .build()
        .unwrap();
    client.init().await.unwrap();
    client
}

/// `[cursor, [key, …]]`.
fn scan_reply(page: Value) -> (String, Vec<String>) {
    let Value::Array(mut parts) = page else {
        panic!("SCAN answered {page:?}");
    };
    let keys: Vec<String> = parts.pop().unwrap().convert().unwrap();
    let cursor: String = parts.pop().unwrap().convert().unwrap();
    (cursor, keys)
}

/// `prefix` as a literal in a SCAN MATCH pattern.
fn glob_escape(prefix: &str) -> String {
    let mut escaped = String::new();
    for c in prefix.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

#[tokio::test]
async fn private_servers_stop_and_restart_and_shared_prefixes_clean_up() {
    let mut server = RedisServer::start();
    let client = connect(&server.url()).await;
    client
        .set::<(), _, _>("k", "v", None, None, false)
        .await
        .unwrap();
    client.quit().await.unwrap();

    server.stop();
    assert!(!answers_ping(&format!("127.0.0.1:{}", server.port())));
    server.restart();
    let client = connect(&server.url()).await;
    let value: Option<String> = client.get("k").await.unwrap();
    assert_eq!(value, None, "a restarted server starts empty");
    client.quit().await.unwrap();

    let Some(prefix) = shared_redis_prefix() else {
        return;
    };
    let shared = connect(&format!("redis://{SHARED_REDIS}")).await;
    let other = shared_redis_prefix().unwrap();
    assert_ne!(prefix, other);
    for key in [
        format!("{prefix}a"),
        format!("{prefix}b"),
        format!("{other}kept"),
    ] {
        shared
            .set::<(), _, _>(key, "v", Some(fred::types::Expiration::EX(60)), None, false)
            .await
            .unwrap();
    }
    cleanup(&prefix).await;
    let left: i64 = shared
        .exists(vec![format!("{prefix}a"), format!("{prefix}b")])
        .await
        .unwrap();
    assert_eq!(left, 0, "cleanup left keys of its prefix");
    let kept: i64 = shared.exists(format!("{other}kept")).await.unwrap();
    assert_eq!(kept, 1, "cleanup deleted another prefix's key");
    cleanup(&other).await;
    shared.quit().await.unwrap();
}
