//! Hot reload (DESIGN §11) inside the test process, through the gateway's own reloader: what
//! was in progress finishes on the configuration it began on, new requests see the new
//! one, sessions and discovery carry over, a refused file changes nothing, and requests
//! made during reloads all succeed. The signal and the file watch are in `reload_signals`.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use portcullis::startup::ReloadError;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::connections::start_held_stream;
use crate::helpers::{spawn_app_with, websocket_client_frame, TestApp, TEST_SESSION_SECRET};

const BOUND: Duration = Duration::from_secs(10);

async fn reloadable_app() -> TestApp {
    spawn_app_with(|cfg| cfg.reloadable = true).await
}

async fn status(app: &TestApp, path: &str) -> u16 {
    app.get(path).await.status().as_u16()
}

/// Reads `stream` until what came holds `end`.
async fn read_until(stream: &mut tokio::net::TcpStream, end: &str) -> String {
    let mut answer = Vec::new();
    let mut buffer = [0u8; 1024];
    while !String::from_utf8_lossy(&answer).contains(end) {
        let n = tokio::time::timeout(BOUND, stream.read(&mut buffer))
            .await
            .expect("the answer in time")
            .expect("read");
        assert_ne!(
            n,
            0,
            "closed before {end:?}: {}",
            String::from_utf8_lossy(&answer)
        );
        answer.extend_from_slice(&buffer[..n]);
    }
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn a_stream_and_a_websocket_begun_before_a_reload_finish_on_the_old_configuration() {
    let mut app = reloadable_app().await;
    let mut stream = start_held_stream(app.addr).await;
    let (status_101, head, mut tunnel) = app.websocket_handshake("/public/ws", None).await;
    assert_eq!(status_101, 101, "{head}");

    // The new configuration has no public route: `/public/…` needs a session.
    app.reload_with(|cfg| cfg.public_upstream = false)
        .await
        .expect("the reload is taken");
    let after = status(&app, "/public/after").await;
    app.upstream.release_stream();
    let rest = read_until(&mut stream, "0\r\n\r\n").await;
    // The same kept-alive connection's next request is answered by the new configuration.
    let next = format!("GET /public/next HTTP/1.1\r\nHost: {}\r\n\r\n", app.addr);
    stream.write_all(next.as_bytes()).await.expect("write");
    let next = read_until(&mut stream, "\r\n\r\n").await;
    let frame = websocket_client_frame(b"still open");
    tunnel.write_all(&frame).await.expect("write a frame");
    let mut echoed = vec![0u8; frame.len()];
    tokio::time::timeout(BOUND, tunnel.read_exact(&mut echoed))
        .await
        .expect("the echo in time")
        .expect("read the echo");

    assert_eq!(
        after, 401,
        "a new request is answered by the new configuration"
    );
    assert!(rest.contains("chunk-3"), "the stream ended early: {rest}");
    assert!(next.starts_with("HTTP/1.1 401"), "{next}");
    assert_eq!(echoed, frame, "the tunnel still carries bytes both ways");
}

#[tokio::test]
async fn a_signed_in_session_survives_reloads_and_a_rotated_secret_it_was_sealed_with() {
    let mut app = reloadable_app().await;
    app.sign_in().await;
    // Sealed with the first secret; a fresh browser each time, since a request after the
    // rotation re-seals the cookie in its jar.
    let first = app.session_cookies(&app.browser);
    let root = app.url("/");
    let address = app.address.clone();
    let get = |cookies: &[(String, String)]| {
        let browser = crate::helpers::Browser::new();
        for (name, value) in cookies {
            browser.set_cookie(&address, name, value);
        }
        let request = browser.client.get(&root).send();
        async move { request.await.expect("GET /").status().as_u16() }
    };

    app.reload_with(|cfg| cfg.down_upstream = false)
        .await
        .expect("a route change is taken");
    let after_route_change = get(&first).await;
    app.reload_with(|cfg| {
        cfg.session_secret = "a".repeat(64);
        cfg.previous_secrets = vec![TEST_SESSION_SECRET.to_owned()];
    })
    .await
    .expect("a rotated secret is taken");
    let after_rotation = get(&first).await;
    let login = app.login(&app.other_browser, "/").await;
    app.reload_with(|cfg| cfg.previous_secrets.clear())
        .await
        .expect("dropping the old secret is taken");
    let first_after_drop = get(&first).await;
    let second_after_drop = get(&app.session_cookies(&app.other_browser)).await;

    assert_eq!(after_route_change, 200);
    assert_eq!(after_rotation, 200, "the old secret is still listed");
    assert_eq!(login.status(), 302, "logins go on");
    assert_eq!(
        app.provider.recorded().discovery_fetches,
        1,
        "the provider's discovery was carried over, not fetched again"
    );
    assert_eq!(
        first_after_drop, 401,
        "sealed with a secret no longer configured: the check can fail"
    );
    assert_eq!(second_after_drop, 200, "sealed with the current secret");
}

#[tokio::test]
async fn an_invalid_file_is_refused_and_the_running_configuration_stays() {
    let mut app = reloadable_app().await;

    let refused = app
        .reload_with(|cfg| cfg.server_extra = "no_such_key = 1".to_owned())
        .await;
    let public = status(&app, "/public/x").await;
    let metrics = app.get("/metrics").await.text().await.expect("metrics");

    let Err(ReloadError::Config(errors)) = refused else {
        panic!("the reload was not refused for the file: {refused:?}");
    };
    let file = app
        .reload
        .as_ref()
        .expect("reloadable")
        .file
        .display()
        .to_string();
    let line = app
        .toml
        .lines()
        .position(|line| line.starts_with("no_such_key"))
        .expect("the line")
        + 1;
    assert_eq!(errors.0.len(), 1, "{errors}");
    assert!(
        errors
            .to_string()
            .starts_with(&format!("{file}:{line}:1: ")),
        "{errors}"
    );
    assert_eq!(public, 200, "the running configuration stays");
    assert!(
        metrics.contains("portcullis_config_reloads_total{outcome=\"failed\"} 1\n"),
        "{metrics}"
    );
}

#[tokio::test]
async fn requests_made_during_reloads_all_succeed() {
    let mut app = reloadable_app().await;
    let done = Arc::new(AtomicBool::new(false));
    let answered = Arc::new(AtomicUsize::new(0));
    let mut clients = Vec::new();
    for client in 0..4 {
        let url = app.url(&format!("/public/load-{client}"));
        let (done, answered) = (Arc::clone(&done), Arc::clone(&answered));
        // Half reuse their connections (keep-alive), half open one per request.
        let http = if client % 2 == 0 {
            reqwest::Client::new()
        } else {
            reqwest::Client::builder()
                .pool_max_idle_per_host(0)
                .build()
                .expect("client")
        };
        clients.push(tokio::spawn(async move {
            let mut failures = Vec::new();
            while !done.load(Ordering::Relaxed) {
                match http.get(&url).send().await {
                    Ok(response) if response.status() == 200 => {
                        answered.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(response) => failures.push(response.status().to_string()),
                    Err(error) => failures.push(error.to_string()),
                }
            }
            failures
        }));
    }

    let mut reloads = Vec::new();
    for round in 0..6 {
        let before = answered.load(Ordering::Relaxed);
        while answered.load(Ordering::Relaxed) < before + 20 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        reloads.push(
            app.reload_with(|cfg| cfg.down_upstream = round % 2 == 1)
                .await,
        );
    }
    done.store(true, Ordering::Relaxed);
    let mut failures = Vec::new();
    for client in clients {
        failures.extend(client.await.expect("a client task"));
    }

    assert!(reloads.iter().all(Result::is_ok), "{reloads:?}");
    assert!(answered.load(Ordering::Relaxed) >= 120);
    assert_eq!(
        failures,
        Vec::<String>::new(),
        "requests failed during the reloads"
    );
}
