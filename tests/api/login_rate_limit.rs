//! `server.login_rate_limit`: the login endpoints count every request against its client
//! address and answer 429 with `Retry-After` over the limit, before any work; other pages
//! and other clients are not held back; behind a trusted proxy the client is the address the
//! proxy names; the default lets a burst no person makes through.

use std::net::{IpAddr, Ipv4Addr};

use reqwest::StatusCode;

use crate::helpers::{spawn_app_with, TestApp};

async fn app_with_server(lines: &str) -> TestApp {
    let lines = lines.to_owned();
    spawn_app_with(|cfg| cfg.server_extra = lines).await
}

/// A client without redirects sending from `source` (another loopback address is another
/// client).
fn client_from(source: Ipv4Addr) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(IpAddr::V4(source))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn status(request: reqwest::RequestBuilder) -> StatusCode {
    request.send().await.unwrap().status()
}

#[tokio::test]
async fn over_the_limit_a_login_endpoint_answers_429_with_retry_after() {
    let app = app_with_server("login_rate_limit = 3").await;
    let client = client_from(Ipv4Addr::LOCALHOST);
    let start = app.url("/oauth2/start?provider=mock&rd=%2F");

    for _ in 0..3 {
        assert_eq!(status(client.get(&start)).await, StatusCode::FOUND);
    }
    let refused = client.get(&start).send().await.unwrap();
    let refused_status = refused.status();
    let retry_after: u64 = refused
        .headers()
        .get("retry-after")
        .expect("a Retry-After header")
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let body = refused.text().await.unwrap();

    assert_eq!(refused_status, StatusCode::TOO_MANY_REQUESTS);
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert!(body.contains("too_many_requests"), "{body}");
    // The other login endpoints share the client's count; other pages are not limited.
    for path in [
        "/oauth2/callback/mock?code=x&state=y",
        "/oauth2/start?provider=mock",
    ] {
        assert_eq!(
            status(client.get(app.url(path))).await,
            StatusCode::TOO_MANY_REQUESTS,
            "{path}"
        );
    }
    assert_eq!(
        status(client.post(app.url("/oauth2/token"))).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        status(client.get(app.url("/oauth2/sign_in"))).await,
        StatusCode::OK
    );
    // Another client address has its own count.
    let other = client_from(Ipv4Addr::new(127, 0, 0, 2));
    assert_eq!(status(other.get(&start)).await, StatusCode::FOUND);
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_count() {
    let app = app_with_server("login_rate_limit = 2\ntrusted_proxies = [\"127.0.0.1\"]").await;
    let proxy = client_from(Ipv4Addr::LOCALHOST);
    let start = app.url("/oauth2/start?provider=mock&rd=%2F");
    let from = |client: &'static str| proxy.get(&start).header("X-Forwarded-For", client);

    for _ in 0..2 {
        assert_eq!(status(from("203.0.113.9")).await, StatusCode::FOUND);
    }
    assert_eq!(
        status(from("203.0.113.9")).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(status(from("203.0.113.10")).await, StatusCode::FOUND);
}

#[tokio::test]
async fn the_default_limit_lets_a_burst_through_and_0_turns_it_off() {
    for lines in ["", "login_rate_limit = 0"] {
        let app = app_with_server(lines).await;
        let client = client_from(Ipv4Addr::LOCALHOST);
        for _ in 0..50 {
            let answer = status(client.get(app.url("/oauth2/start?provider=mock&rd=%2F"))).await;
            assert_eq!(answer, StatusCode::FOUND, "{lines:?}");
        }
    }
}
