//! Redis faults with `store = "redis"` (DESIGN §6, §5 item 9): a Redis that goes away, one
//! that was never there, and one that accepts connections but never answers. A request that
//! needs the store gets a 503 page or JSON — never a redirect to sign in, never a 500 — and
//! `/ready` says 503 naming Redis; the gateway keeps running and recovers, without a restart,
//! when Redis is back. The gateway's log lines say why.

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use fred::prelude::{ClientLike as _, KeysInterface as _};
use fred::types::Value;
use rand::RngCore as _;
use reqwest::header::CONTENT_TYPE;
use reqwest::{Client, Response, StatusCode};

use crate::captured_logs::Logs;
use crate::helpers::{spawn_app_with, Browser, TestApp, BROWSER_ACCEPT};
use crate::redis_server::{connect, RedisServer};

/// A gateway on `store = "redis"` at `url`, not waiting for `/ready` (Redis may be down).
async fn spawn_on_redis(url: &str, extra: &str) -> TestApp {
    let lines = format!("store = \"redis\"\nredis_url = \"{url}\"\n{extra}");
    spawn_app_with(|c| {
        c.session_extra = lines;
        c.wait_until_ready = false;
    })
    .await
}

/// Polls `/ready` until `done` accepts its answer (at most 1200 tries, 25 ms apart: Redis
/// reconnection backs off up to 5 s); returns the status and body.
async fn ready_until(
    app: &TestApp,
    done: impl Fn(StatusCode, &str) -> bool,
) -> (StatusCode, String) {
    let probe = guarded_client();
    let mut last = (StatusCode::IM_A_TEAPOT, String::from("no answer"));
    for _ in 0..1200 {
        if let Ok(resp) = probe.get(app.url("/ready")).send().await {
            last = (resp.status(), resp.text().await.unwrap_or_default());
            if done(last.0, &last.1) {
                return last;
            }
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!(
        "/ready never answered as expected; last: {} {}",
        last.0, last.1
    );
}

/// A client whose generous timeout only guards against a hang (the assertions are on status).
fn guarded_client() -> Client {
    Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// Asserts a 503 HTML page (a browser navigation).
async fn assert_html_503(resp: Response) {
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    let content_type = resp.headers()[CONTENT_TYPE].to_str().unwrap().to_owned();
    assert!(content_type.starts_with("text/html"), "{content_type}");
}

/// Asserts a 503 JSON answer and returns its `error`.
async fn json_503(resp: Response) -> String {
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: serde_json::Value = resp.json().await.expect("a JSON error");
    body["error"].as_str().unwrap_or_default().to_owned()
}

/// Every key of a private server with its remaining TTL (ms) and `DUMP` serialisation.
async fn snapshot(url: &str) -> Vec<(String, i64, Value)> {
    let client = connect(url).await;
    let keys: Vec<String> = client
        .custom(
            fred::types::CustomCommand::new("KEYS", fred::types::ClusterHash::FirstKey, false),
            vec!["*"],
        )
        .await
        .unwrap();
    let mut entries = Vec::new();
    for key in keys {
        let ttl: i64 = client.pttl(&key).await.unwrap();
        let dump: Value = client.dump(&key).await.unwrap();
        entries.push((key, ttl.max(0), dump));
    }
    client.quit().await.unwrap();
    entries
}

/// Writes `entries` back, as a Redis with persistence would come back with its data.
async fn restore(url: &str, entries: Vec<(String, i64, Value)>) {
    let client = connect(url).await;
    for (key, ttl, dump) in entries {
        client
            .restore::<(), _>(key, ttl, dump, true, false, None, None)
            .await
            .unwrap();
    }
    client.quit().await.unwrap();
}

#[tokio::test]
async fn when_redis_stops_a_signed_in_request_gets_503_and_the_session_works_again_after() {
    let (logs, _guard) = Logs::capture("info");
    let mut redis = RedisServer::start();
    let app = spawn_on_redis(&redis.url(), "").await;
    ready_until(&app, |status, _| status == StatusCode::OK).await;
    app.sign_in().await;
    assert_eq!(app.get("/app").await.status(), StatusCode::OK);
    let data = snapshot(&redis.url()).await;
    assert!(!data.is_empty(), "the session is not in Redis");

    redis.stop();
    let page = app.navigate("/app").await;
    let api = app.get("/app").await;
    let ready = guarded_client()
        .get(app.url("/ready"))
        .send()
        .await
        .unwrap();

    assert_html_503(page).await;
    assert_eq!(json_503(api).await, "session_store_unavailable");
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    let reason = ready.text().await.unwrap();
    assert!(reason.contains("Redis"), "{reason}");
    assert!(
        logs.text().contains("the session store could not be read"),
        "{}",
        logs.text()
    );

    redis.restart();
    restore(&redis.url(), data).await;
    ready_until(&app, |status, _| status == StatusCode::OK).await;

    let again = app.get("/app").await;
    assert_eq!(
        again.status(),
        StatusCode::OK,
        "the kept session does not work"
    );
}

#[tokio::test]
async fn with_redis_on_a_wrong_port_the_gateway_starts_but_is_not_ready_and_a_callback_gets_503() {
    let (logs, _guard) = Logs::capture("info");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let app = spawn_on_redis(&format!("redis://127.0.0.1:{port}"), "").await;

    let (status, reason) =
        ready_until(&app, |_, body| !body.contains("waiting for providers")).await;
    let callback = app.begin_login(&app.browser, "/").await;
    let resp = app.finish_login_as_program(&app.browser, &callback).await;

    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(reason.contains("Redis"), "{reason}");
    assert_eq!(json_503(resp).await, "session_store");
    assert!(
        logs.text()
            .contains("the flow could not be recorded as used"),
        "{}",
        logs.text()
    );
    assert!(app.session_cookies(&app.browser).is_empty());
}

#[tokio::test]
async fn a_silent_redis_makes_requests_answer_503_instead_of_hanging() {
    let (logs, _guard) = Logs::capture("info");
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("redis://{}", silent.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = silent.accept().await {
            held.push(stream);
        }
    });
    let app = spawn_on_redis(&url, "redis_timeout = \"300ms\"\n").await;
    ready_until(&app, |_, body| !body.contains("waiting for providers")).await;
    let mut id = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut id);
    let cookie = URL_SAFE_NO_PAD.encode(id);
    let browser = app.browser_with_cookies(&[(app.cookie_name().to_owned(), cookie)]);
    let guarded = Browser {
        client: Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .cookie_provider(browser.jar.clone())
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap(),
        jar: browser.jar.clone(),
    };

    let api = guarded.client.get(app.url("/app")).send().await.unwrap();
    let page = guarded
        .client
        .get(app.url("/app"))
        .header(reqwest::header::ACCEPT, BROWSER_ACCEPT)
        .send()
        .await
        .unwrap();
    let ready = guarded_client()
        .get(app.url("/ready"))
        .send()
        .await
        .unwrap();
    let callback = app.begin_login(&guarded, "/").await;
    let login = app.finish_login_as_program(&guarded, &callback).await;

    assert_eq!(json_503(api).await, "session_store_unavailable");
    assert_html_503(page).await;
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    let reason = ready.text().await.unwrap();
    assert!(reason.contains("Redis"), "{reason}");
    assert_eq!(json_503(login).await, "session_store");
    let log = logs.text();
    assert!(log.contains("Redis did not answer within 300ms"), "{log}");
}
