//! Tests of the Redis client layer: every method against the machine's Redis on
//! 127.0.0.1:6379 (each test under its own random key prefix, deleting its keys), and the
//! failure modes against a closed port, a silent server, a garbage-speaking server and a
//! private `redis-server` that is killed and restarted.

use std::io::{BufRead, BufReader, Write as _};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fred::interfaces::KeysInterface;
use fred::types::config::ServerConfig;
use rand::RngCore as _;
use tokio::io::AsyncReadExt as _;
use tokio::io::AsyncWriteExt as _;

use super::link::{self, LinkState};
use super::{settings, ttl_seconds, Redis, RedisError};
use crate::config::RedisConfig;
use crate::metrics::Metrics;

/// A generous bound for waits on the client's own events, so a broken test fails, not hangs.
const EVENT_BOUND: Duration = Duration::from_secs(30);

fn config(urls: &[&str], key_prefix: &str, timeout: Duration) -> RedisConfig {
    RedisConfig {
        urls: urls.iter().map(|url| (*url).to_owned()).collect(),
        cluster: false,
        key_prefix: key_prefix.to_owned(),
        timeout,
    }
}

/// A client counting its failures in metrics of its own.
fn connect(config: &RedisConfig) -> Result<Redis, RedisError> {
    Redis::connect(config, Arc::new(Metrics::new(&[], &[])))
}

fn random_prefix() -> String {
    let mut bytes = [0u8; 8];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("portcullis-test:{hex}:")
}

fn e2e() -> bool {
    std::env::var("PORTCULLIS_E2E").is_ok_and(|value| value == "1")
}

/// A client of the machine's Redis under a fresh prefix, or None (with a reason) without one.
fn shared_redis() -> Option<Redis> {
    let answers =
        TcpStream::connect_timeout(&"127.0.0.1:6379".parse().ok()?, Duration::from_secs(1))
            .and_then(|mut stream| {
                stream.set_read_timeout(Some(Duration::from_secs(2)))?;
                stream.write_all(b"PING\r\n")?;
                let mut line = String::new();
                BufReader::new(stream).read_line(&mut line)?;
                Ok(line.starts_with("+PONG"))
            })
            .unwrap_or(false);
    if !answers {
        assert!(
            !e2e(),
            "PORTCULLIS_E2E=1 but no Redis answers on 127.0.0.1:6379"
        );
        println!("skipped: no Redis answers PING on 127.0.0.1:6379");
        return None;
    }
    let config = config(
        &["redis://127.0.0.1:6379"],
        &random_prefix(),
        Duration::from_secs(2),
    );
    Some(connect(&config).unwrap())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A private `redis-server` without persistence, ready when `start` returns.
struct LocalServer(Child);

impl LocalServer {
    fn start(port: u16) -> Option<LocalServer> {
        let spawned = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::piped())
            .spawn();
        let mut child = match spawned {
            Ok(child) => child,
            Err(err) => {
                assert!(
                    !e2e(),
                    "PORTCULLIS_E2E=1 but redis-server cannot start: {err}"
                );
                println!("skipped: redis-server cannot start: {err}");
                return None;
            }
        };
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let ready = lines
            .by_ref()
            .map_while(Result::ok)
            .any(|line| line.contains("Ready to accept connections"));
        assert!(
            ready,
            "redis-server on port {port} exited before it was ready"
        );
        // Keep draining its log so it never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Some(LocalServer(child))
    }

    fn kill(mut self) {
        self.0.kill().unwrap();
        self.0.wait().unwrap();
    }
}

impl Drop for LocalServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn ttls_round_up_to_whole_seconds_of_at_least_one() {
    assert_eq!(ttl_seconds(Duration::ZERO), 1);
    assert_eq!(ttl_seconds(Duration::from_millis(1)), 1);
    assert_eq!(ttl_seconds(Duration::from_secs(3)), 3);
    assert_eq!(ttl_seconds(Duration::from_millis(3001)), 4);
}

#[test]
fn urls_become_a_server_a_sentinel_service_or_a_cluster() {
    let one = settings::client_config(&config(
        &["rediss://:pw@cache:6380/2"],
        "p:",
        Duration::from_secs(1),
    ))
    .unwrap();
    assert!(matches!(one.server, ServerConfig::Centralized { .. }));
    assert!(one.tls.is_some());
    assert_eq!(
        (one.password.as_deref(), one.database),
        (Some("pw"), Some(2))
    );

    let sentinel = settings::client_config(&config(
        &["redis+sentinel://:pw@sentinel:26379/mymaster"],
        "p:",
        Duration::from_secs(1),
    ))
    .unwrap();
    let ServerConfig::Sentinel {
        hosts,
        service_name,
    } = &sentinel.server
    else {
        panic!("not a sentinel configuration: {:?}", sentinel.server);
    };
    assert_eq!(service_name, "mymaster");
    assert_eq!((&*hosts[0].host, hosts[0].port), ("sentinel", 26379));
    assert_eq!(sentinel.password.as_deref(), Some("pw"));

    let mut cluster = config(
        &["redis://a:7000", "redis://b:7001"],
        "p:",
        Duration::from_secs(1),
    );
    cluster.cluster = true;
    let cluster = settings::client_config(&cluster).unwrap();
    let ServerConfig::Clustered { hosts, .. } = &cluster.server else {
        panic!("not a cluster configuration: {:?}", cluster.server);
    };
    assert_eq!(hosts.len(), 2);
}

#[tokio::test]
async fn an_unusable_url_is_an_error_that_quotes_no_password() {
    for url in [
        "redis+sentinel://:hunter2@sentinel:26379/",
        "redis://:hunter2@:6379",
    ] {
        let Err(err) = connect(&config(&[url], "p:", Duration::from_secs(1))) else {
            panic!("{url} was accepted");
        };
        assert!(matches!(err, RedisError::InvalidUrl(_)), "{url}: {err:?}");
        assert!(
            !crate::error_chain::error_chain(&err).contains("hunter2"),
            "{url}"
        );
        assert!(!format!("{err:?}").contains("hunter2"), "{url}");
    }
}

#[test]
fn a_loss_and_a_recovery_are_logged_once_each() {
    let buffer = Arc::new(Mutex::new(Vec::new()));
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_writer(move || LogSink(writer.clone()))
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        let mut state = LinkState::Up;
        let lost = || fred::error::Error::new(fred::error::ErrorKind::IO, "connection reset");
        link::went_down(&mut state, lost());
        link::went_down(&mut state, lost());
        link::came_up(&mut state);
        link::came_up(&mut state);
    });
    let logged = String::from_utf8(buffer.lock().unwrap().clone()).unwrap();
    assert_eq!(logged.matches("WARN").count(), 1, "{logged}");
    assert_eq!(logged.matches("INFO").count(), 1, "{logged}");
}

struct LogSink(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogSink {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn keys_carry_the_prefix() {
    let redis = connect(&config(
        &["redis://127.0.0.1:1"],
        "gw:",
        Duration::from_secs(1),
    ))
    .unwrap();
    assert_eq!(redis.key("session:abc"), "gw:session:abc");
}

#[tokio::test]
async fn set_get_and_delete_with_rounded_up_ttls() {
    let Some(redis) = shared_redis() else { return };
    let (a, b) = (redis.key("a"), redis.key("b"));
    assert_eq!(redis.get(&a).await.unwrap(), None);

    redis
        .set(&a, b"one", Duration::from_millis(100_001))
        .await
        .unwrap();
    redis.set(&b, b"two", Duration::ZERO).await.unwrap();
    assert_eq!(redis.get(&a).await.unwrap().as_deref(), Some(&b"one"[..]));
    let pttl_a: i64 = redis.inner.client.pttl(&a).await.unwrap();
    assert!(
        pttl_a > 100_001,
        "the TTL was not rounded up to 101 s: {pttl_a} ms"
    );
    let pttl_b: i64 = redis.inner.client.pttl(&b).await.unwrap();
    assert!(
        pttl_b > 0 || redis.get(&b).await.unwrap().is_none(),
        "no TTL on b: {pttl_b}"
    );

    redis
        .delete(&[a.clone(), redis.key("missing"), b.clone()])
        .await
        .unwrap();
    assert_eq!(redis.get(&a).await.unwrap(), None);
    assert_eq!(redis.get(&b).await.unwrap(), None);
    redis.delete(&[]).await.unwrap();
}

#[tokio::test]
async fn get_many_keeps_the_order_and_the_gaps() {
    let Some(redis) = shared_redis() else { return };
    let keys = [redis.key("1"), redis.key("2"), redis.key("3")];
    redis
        .set(&keys[0], b"first", Duration::from_secs(60))
        .await
        .unwrap();
    redis
        .set(&keys[2], b"third", Duration::from_secs(60))
        .await
        .unwrap();

    let values = redis.get_many(&keys).await.unwrap();
    assert_eq!(
        values,
        vec![Some(b"first".to_vec()), None, Some(b"third".to_vec())]
    );
    assert_eq!(
        redis.get_many(&[]).await.unwrap(),
        Vec::<Option<Vec<u8>>>::new()
    );
    redis.delete(&keys).await.unwrap();
}

#[tokio::test]
async fn set_new_creates_once() {
    let Some(redis) = shared_redis() else { return };
    let lock = redis.key("lock");
    assert!(redis
        .set_new(&lock, b"me", Duration::from_secs(60))
        .await
        .unwrap());
    assert!(!redis
        .set_new(&lock, b"you", Duration::from_secs(60))
        .await
        .unwrap());
    assert_eq!(redis.get(&lock).await.unwrap().as_deref(), Some(&b"me"[..]));
    let pttl: i64 = redis.inner.client.pttl(&lock).await.unwrap();
    assert!(pttl > 0, "set_new left no TTL: {pttl}");
    redis.delete(&[lock]).await.unwrap();
}

#[tokio::test]
async fn delete_if_only_deletes_the_holders_value() {
    let Some(redis) = shared_redis() else { return };
    let lock = redis.key("lock");
    redis
        .set(&lock, b"mine", Duration::from_secs(60))
        .await
        .unwrap();

    assert!(!redis.delete_if(&lock, b"theirs").await.unwrap());
    assert_eq!(
        redis.get(&lock).await.unwrap().as_deref(),
        Some(&b"mine"[..])
    );
    assert!(redis.delete_if(&lock, b"mine").await.unwrap());
    assert_eq!(redis.get(&lock).await.unwrap(), None);
    assert!(!redis.delete_if(&lock, b"mine").await.unwrap());
}

#[tokio::test]
async fn set_members_live_at_least_their_ttl_and_never_shorter() {
    let Some(redis) = shared_redis() else { return };
    let index = redis.key("index");
    redis
        .add_member(&index, "s1", Duration::from_secs(100))
        .await
        .unwrap();
    let created: i64 = redis.inner.client.pttl(&index).await.unwrap();
    assert!(created > 0, "a new set got no TTL: {created}");

    redis
        .add_member(&index, "s2", Duration::from_secs(1))
        .await
        .unwrap();
    let kept: i64 = redis.inner.client.pttl(&index).await.unwrap();
    assert!(kept > 1_000, "a shorter TTL shortened the set: {kept} ms");

    redis
        .add_member(&index, "s3", Duration::from_secs(1_000))
        .await
        .unwrap();
    let extended: i64 = redis.inner.client.pttl(&index).await.unwrap();
    assert!(
        extended > 100_000,
        "a longer TTL did not extend the set: {extended} ms"
    );

    let mut members = redis.members(&index).await.unwrap();
    members.sort();
    assert_eq!(members, ["s1", "s2", "s3"]);
    redis.remove_member(&index, "s2").await.unwrap();
    redis.remove_member(&index, "absent").await.unwrap();
    let mut members = redis.members(&index).await.unwrap();
    members.sort();
    assert_eq!(members, ["s1", "s3"]);
    assert!(redis.members(&redis.key("none")).await.unwrap().is_empty());
    redis.delete(&[index]).await.unwrap();
}

#[tokio::test]
async fn ping_answers() {
    let Some(redis) = shared_redis() else { return };
    redis.ping().await.unwrap();
}

#[tokio::test]
async fn a_closed_port_makes_calls_unavailable() {
    let url = format!("redis://:hunter2@127.0.0.1:{}", free_port());
    let metrics = Arc::new(Metrics::new(&[], &[]));
    let redis = Redis::connect(
        &config(&[&url], "p:", Duration::from_secs(2)),
        Arc::clone(&metrics),
    )
    .unwrap();
    let ping = redis.ping().await.unwrap_err();
    assert!(matches!(ping, RedisError::Unavailable(_)), "{ping:?}");
    assert!(!crate::error_chain::error_chain(&ping).contains("hunter2"));
    assert!(!format!("{ping:?}").contains("hunter2"));
    let get = redis.get("k").await.unwrap_err();
    assert!(matches!(get, RedisError::Unavailable(_)), "{get:?}");
    let set = redis
        .set("k", b"v", Duration::from_secs(1))
        .await
        .unwrap_err();
    assert!(matches!(set, RedisError::Unavailable(_)), "{set:?}");
    let counted = metrics.value("portcullis_session_store_errors_total{kind=\"unavailable\"}");
    assert_eq!(counted, Some(3), "{}", metrics.render());
}

#[tokio::test]
async fn a_silent_server_times_out() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("redis://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let metrics = Arc::new(Metrics::new(&[], &[]));
    let redis = Redis::connect(
        &config(&[&url], "p:", Duration::from_millis(300)),
        Arc::clone(&metrics),
    )
    .unwrap();
    for _ in 0..2 {
        let err = redis.get("k").await.unwrap_err();
        assert!(matches!(err, RedisError::Timeout(_)), "{err:?}");
    }
    let counted = metrics.value("portcullis_session_store_errors_total{kind=\"timeout\"}");
    assert_eq!(counted, Some(2), "{}", metrics.render());
}

#[tokio::test]
async fn a_server_speaking_garbage_gives_errors_not_panics() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("redis://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buffer = [0u8; 1024];
                while socket.read(&mut buffer).await.is_ok_and(|n| n > 0) {
                    let _ = socket
                        .write_all(b"?not resp\r\n:12x\r\n$-7\r\n*9\r\n")
                        .await;
                }
            });
        }
    });
    let redis = connect(&config(&[&url], "p:", Duration::from_millis(500))).unwrap();
    assert!(redis.ping().await.is_err());
    assert!(redis
        .get_many(&["a".to_owned(), "b".to_owned()])
        .await
        .is_err());
    assert!(redis.delete_if("a", b"v").await.is_err());
}

#[tokio::test]
async fn calls_recover_when_the_server_is_back() {
    let port = free_port();
    let Some(server) = LocalServer::start(port) else {
        return;
    };
    let url = format!("redis://127.0.0.1:{port}");
    let redis = connect(&config(&[&url], "p:", Duration::from_secs(2))).unwrap();
    tokio::time::timeout(EVENT_BOUND, redis.until_connected())
        .await
        .unwrap();
    redis
        .set("k", b"before", Duration::from_secs(60))
        .await
        .unwrap();

    server.kill();
    tokio::time::timeout(EVENT_BOUND, redis.until_disconnected())
        .await
        .unwrap();
    let err = redis.get("k").await.unwrap_err();
    assert!(matches!(err, RedisError::Unavailable(_)), "{err:?}");

    let _server = LocalServer::start(port).unwrap();
    tokio::time::timeout(EVENT_BOUND, redis.until_connected())
        .await
        .unwrap();
    redis
        .set("k", b"after", Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(
        redis.get("k").await.unwrap().as_deref(),
        Some(&b"after"[..])
    );
    redis.ping().await.unwrap();
}
