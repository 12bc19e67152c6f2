//! Token renewal (DESIGN §6, "Refresh") against the mock provider: single flight per session
//! in one process and across two gateway processes sharing Redis, the pre-refresh cookie's
//! grace period, in both stores. What a refresh may come to (signed out, provider down, rules
//! re-applied, refresh off, the window's cap) is in `refresh/outcomes.rs`.
//!
//! The mock's access tokens live 6 s and `refresh_before` is 3 s, so a session is due three
//! seconds after it was signed in or renewed; the tests wait for that moment on the clock.

mod outcomes;

use std::time::Duration;

use futures::future::join_all;
use portcullis::session::unix_now;
use reqwest::StatusCode;

use crate::helpers::{echoed, set_cookies, spawn_app_with, Browser, TestApp, TestConfig};
use crate::redis_server::{cleanup, shared_redis_prefix};

/// Seconds every mock access token lives.
pub(crate) const LIFETIME: u64 = 6;
/// The configured `refresh_before`: a session is due `LIFETIME - WINDOW` seconds after its
/// tokens were issued.
pub(crate) const WINDOW: u64 = 3;

/// The mock issues rotating refresh tokens with short-lived access tokens, the upstream gets
/// the access token, and `extra` goes under `[session]`.
pub(crate) fn refreshing(c: &mut TestConfig, extra: &str) {
    c.behaviour.issue_refresh_tokens = true;
    c.behaviour.access_token_lifetime = Some(LIFETIME);
    c.pass_access_token = true;
    c.session_extra = format!("refresh_before = \"{WINDOW}s\"\n{extra}");
}

/// `[session]` lines for the Redis store on the shared Redis under `prefix`.
pub(crate) fn redis_store(prefix: &str) -> String {
    format!(
        "store = \"redis\"\nredis_url = \"redis://127.0.0.1:6379/0\"\nkey_prefix = \"{prefix}\"\n"
    )
}

/// Waits until the wall clock (whole seconds, as the gateway reads it) reaches `at`.
pub(crate) async fn sleep_until(at: u64) {
    while unix_now() < at {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Signs the default browser in; answers the clock (seconds) right after, from which the
/// session is due `LIFETIME - WINDOW` seconds later at the latest.
pub(crate) async fn signed_in(app: &TestApp) -> u64 {
    app.sign_in().await;
    unix_now()
}

/// The access token the upstream got for one program request of `browser` to `base`.
pub(crate) async fn access_token_at(base: &str, browser: &Browser) -> String {
    let resp = browser
        .client
        .get(format!("{base}/app"))
        .send()
        .await
        .unwrap();
    let seen = echoed(resp).await;
    seen.header("x-forwarded-access-token")
        .expect("the upstream gets the access token")
        .to_owned()
}

/// `n` concurrent requests of `browser` (one session), spread over `bases`; the access token
/// the upstream got for each.
async fn burst(bases: &[&str], browser: &Browser, n: usize) -> Vec<String> {
    let requests = (0..n).map(|i| access_token_at(bases[i % bases.len()], browser));
    join_all(requests).await
}

/// Three renewals of one session, each hit by 20 concurrent requests at the moment it is due:
/// every request reaches the upstream with the one new access token, one grant per renewal.
async fn twenty_requests_at_three_expiries(app: &TestApp) {
    let mut issued_by = signed_in(app).await;
    let mut token = access_token_at(&app.address, &app.browser).await;
    for renewal in 1..=3 {
        sleep_until(issued_by + LIFETIME - WINDOW).await;
        let tokens = burst(&[&app.address], &app.browser, 20).await;
        issued_by = unix_now();
        assert_eq!(
            app.provider.refresh_grants(),
            renewal,
            "one grant per expiry"
        );
        assert_ne!(tokens[0], token, "renewal {renewal} passed the old token");
        assert!(
            tokens.iter().all(|t| *t == tokens[0]),
            "renewal {renewal}: the requests saw different tokens: {tokens:?}"
        );
        token = tokens[0].clone();
        assert_eq!(access_token_at(&app.address, &app.browser).await, token);
    }
    assert_eq!(app.provider.refresh_grants(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_concurrent_requests_at_expiry_share_one_grant_in_the_cookie_store() {
    let app = spawn_app_with(|c| refreshing(c, "")).await;
    twenty_requests_at_three_expiries(&app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_concurrent_requests_at_expiry_share_one_grant_in_the_redis_store() {
    let Some(prefix) = shared_redis_prefix() else {
        return;
    };
    let app = spawn_app_with(|c| refreshing(c, &redis_store(&prefix))).await;
    twenty_requests_at_three_expiries(&app).await;
    cleanup(&prefix).await;
}

#[tokio::test]
async fn the_pre_refresh_cookie_gets_the_renewed_session_within_the_grace_period_only() {
    let app = spawn_app_with(|c| refreshing(c, "")).await;
    let issued_by = signed_in(&app).await;
    let old_token = access_token_at(&app.address, &app.browser).await;
    let old_cookies = app.session_cookies(&app.browser);
    let late_copy = app.browser_with_cookies(&old_cookies);

    sleep_until(issued_by + LIFETIME - WINDOW).await;
    let new_token = access_token_at(&app.address, &app.browser).await;
    let renewed_at = unix_now();
    assert_ne!(new_token, old_token);
    assert_eq!(app.provider.refresh_grants(), 1);

    // Another tab's request, sent before its browser stored the new cookie.
    let tab = app.browser_with_cookies(&old_cookies);
    let resp = tab.client.get(app.url("/app")).send().await.unwrap();
    assert!(
        !set_cookies(&resp).is_empty(),
        "the pre-refresh cookie is replaced by the renewed one"
    );
    let seen = echoed(resp).await;
    assert_eq!(seen.header("x-forwarded-access-token"), Some(&*new_token));
    assert_eq!(app.provider.refresh_grants(), 1, "no second redemption");

    // After the grace period (10 s), a copy of the pre-refresh cookie is signed out.
    sleep_until(renewed_at + 11).await;
    let resp = late_copy.client.get(app.url("/app")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        app.provider.refresh_grants(),
        1,
        "a stale cookie redeems nothing"
    );
    // The renewed session itself renews on.
    assert_ne!(access_token_at(&app.address, &app.browser).await, new_token);
    assert_eq!(app.provider.refresh_grants(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_gateway_processes_sharing_redis_redeem_the_session_once() {
    let Some(prefix) = shared_redis_prefix() else {
        return;
    };
    let first = spawn_app_with(|c| refreshing(c, &redis_store(&prefix))).await;
    // The second process trusts the first one's provider (it never signs anyone in).
    let issuer = first.provider.issuer();
    let second = spawn_app_with(|c| {
        refreshing(c, &redis_store(&prefix));
        c.provider_blocks = Some(format!(
            "[[provider]]\nid = \"mock\"\nkind = \"oidc\"\nname = \"Mock OpenID\"\n\
             issuer = \"{issuer}\"\nclient_id = \"{}\"\nclient_secret = \"${{MOCK_CLIENT_SECRET}}\"\n",
            c.client_id
        ));
    })
    .await;
    let issued_by = signed_in(&first).await;
    // Cookies are per host, not port: the browser's session cookie goes to both.
    let old = access_token_at(&second.address, &first.browser).await;

    sleep_until(issued_by + LIFETIME - WINDOW).await;
    let tokens = burst(&[&first.address, &second.address], &first.browser, 20).await;

    assert_eq!(first.provider.refresh_grants(), 1);
    assert_eq!(second.provider.refresh_grants(), 0);
    assert_ne!(tokens[0], old);
    assert!(tokens.iter().all(|t| *t == tokens[0]), "{tokens:?}");
    cleanup(&prefix).await;
}
