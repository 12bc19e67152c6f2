//! The Redis store on the deployments `redis_url` names besides one server (DESIGN §6): a
//! Sentinel-managed master (`redis+sentinel://host:port/service`) and a three-node Redis
//! Cluster (`cluster = true` with the nodes listed). Each test builds the topology from private
//! `redis-server` processes, signs in through the gateway, and checks that the session lives
//! in that Redis, is used, and is gone after sign-out.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fred::prelude::ClientLike as _;
use reqwest::StatusCode;

use crate::helpers::{echoed, spawn_app_with, TestApp};
use crate::redis_server::{connect, RedisServer};

/// A process killed when the test ends, with the directory it works in.
struct Process {
    child: Child,
    _dir: Option<TempDir>,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let mut bytes = [0u8; 8];
        rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut bytes);
        let suffix: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let dir = std::env::temp_dir().join(format!("portcullis-{name}-{suffix}"));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `redis-cli -p port args…`, its output.
fn redis_cli(port: u16, args: &[&str]) -> String {
    let output = Command::new("redis-cli")
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(args)
        .output()
        .expect("redis-cli runs (Debian's redis-tools)");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Polls `check` every 100 ms for up to 20 s: the topology settling is the redis processes'
/// business, not the gateway's.
async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    for _ in 0..200 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{what} did not happen within 20 s");
}

/// Every key of the Redis at `url` (these Redis servers belong to the test alone).
async fn keys_at(url: &str) -> Vec<String> {
    let client = connect(url).await;
    let keys: Vec<String> = client.custom(fred::cmd!("KEYS"), vec!["*"]).await.unwrap();
    let _ = client.quit().await;
    keys
}

async fn signed_in_request(app: &TestApp) -> StatusCode {
    app.browser
        .client
        .get(app.url("/app"))
        .send()
        .await
        .unwrap()
        .status()
}

async fn sign_out(app: &TestApp) {
    let resp = app
        .browser
        .client
        .get(app.url("/oauth2/sign_out"))
        .send()
        .await
        .unwrap();
    assert!(
        resp.status().is_redirection(),
        "sign-out: {}",
        resp.status()
    );
}

#[tokio::test]
async fn the_redis_store_works_through_a_sentinel() {
    let master = RedisServer::start();
    let dir = TempDir::new("sentinel");
    let port = free_port();
    let conf = dir.0.join("sentinel.conf");
    std::fs::write(
        &conf,
        format!(
            "port {port}\nbind 127.0.0.1\nsentinel monitor mymaster 127.0.0.1 {} 1\n\
             sentinel down-after-milliseconds mymaster 60000\n",
            master.port()
        ),
    )
    .unwrap();
    let child = Command::new("redis-server")
        .arg(&conf)
        .arg("--sentinel")
        .stdout(Stdio::null())
        .spawn()
        .expect("redis-server runs in sentinel mode");
    let _sentinel = Process {
        child,
        _dir: Some(dir),
    };
    eventually("the sentinel naming the master", || {
        redis_cli(port, &["SENTINEL", "get-master-addr-by-name", "mymaster"])
            .contains(&master.port().to_string())
    })
    .await;

    let app = spawn_app_with(|c| {
        c.session_extra = format!(
            "store = \"redis\"\nredis_url = \"redis+sentinel://127.0.0.1:{port}/mymaster\"\n"
        );
    })
    .await;
    app.sign_in().await;

    let resp = app
        .browser
        .client
        .get(app.url("/app"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(echoed(resp).await.header("x-forwarded-user").is_some());
    let stored = keys_at(&master.url()).await;
    assert!(
        stored.iter().any(|k| k.starts_with("portcullis:session:")),
        "the master holds the session: {stored:?}"
    );

    sign_out(&app).await;
    assert!(!keys_at(&master.url())
        .await
        .iter()
        .any(|k| k.starts_with("portcullis:session:")));
}

#[tokio::test]
async fn the_redis_store_works_on_a_cluster() {
    let dir = TempDir::new("cluster");
    let ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
    let mut nodes = Vec::new();
    for port in &ports {
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .args(["--cluster-enabled", "yes", "--cluster-node-timeout", "5000"])
            .arg("--cluster-config-file")
            .arg(dir.0.join(format!("nodes-{port}.conf")))
            .arg("--dir")
            .arg(&dir.0)
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server runs with cluster-enabled");
        nodes.push(Process { child, _dir: None });
    }
    for port in &ports {
        eventually("a cluster node answering", || {
            redis_cli(*port, &["PING"]).contains("PONG")
        })
        .await;
    }
    let addresses: Vec<String> = ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
    let created = Command::new("redis-cli")
        .arg("--cluster")
        .arg("create")
        .args(&addresses)
        .args(["--cluster-replicas", "0", "--cluster-yes"])
        .output()
        .expect("redis-cli --cluster create");
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stdout)
    );
    for port in &ports {
        eventually("the cluster state ok", || {
            redis_cli(*port, &["CLUSTER", "INFO"]).contains("cluster_state:ok")
        })
        .await;
    }

    let urls: Vec<String> = ports
        .iter()
        .map(|p| format!("\"redis://127.0.0.1:{p}\""))
        .collect();
    let app = spawn_app_with(|c| {
        c.session_extra = format!(
            "store = \"redis\"\ncluster = true\nredis_url = [{}]\n",
            urls.join(", ")
        );
    })
    .await;
    app.sign_in().await;
    assert_eq!(signed_in_request(&app).await, StatusCode::OK);
    let copied = app.browser_with_cookies(&app.session_cookies(&app.browser));

    let mut stored = Vec::new();
    for port in &ports {
        stored.extend(keys_at(&format!("redis://127.0.0.1:{port}")).await);
    }
    assert!(
        stored.iter().any(|k| k.starts_with("portcullis:session:")),
        "a node holds the session: {stored:?}"
    );
    assert!(
        stored
            .iter()
            .any(|k| k.starts_with("portcullis:index:sub:")),
        "a node holds the sub index: {stored:?}"
    );

    sign_out(&app).await;
    let resp = copied.client.get(app.url("/app")).send().await.unwrap();
    assert_eq!(
        resp.status(),
        StatusCode::UNAUTHORIZED,
        "a copy of the cookie after sign-out"
    );
    drop(nodes);
}
