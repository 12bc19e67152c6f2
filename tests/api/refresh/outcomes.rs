//! What a renewal comes to besides new tokens (DESIGN §6): `invalid_grant` signs the user out
//! and removes the session from the store; a provider that is down keeps the session until
//! its access token has expired, then 503 until it is back; `[authorize]` is applied to the
//! renewed identity; `refresh = false` never renews; `refresh_before` is capped at half the
//! token's lifetime.

use reqwest::StatusCode;

use super::{access_token_at, redis_store, refreshing, signed_in, sleep_until, LIFETIME, WINDOW};
use crate::helpers::{assert_redirects_to, error_code, spawn_app_with, TestApp, BROWSER_ACCEPT};
use crate::redis_server::{cleanup, keys, shared_redis_prefix};

/// Status of one program request of the default browser.
async fn status(app: &TestApp) -> StatusCode {
    app.get("/app").await.status()
}

/// The provider refuses the grant at the renewal: the browser is sent to sign in, a copy of
/// the cookie (a program) gets 401, and nothing is redeemed again.
async fn invalid_grant_signs_out(app: &TestApp) {
    let issued_by = signed_in(app).await;
    let copy = app.browser_with_cookies(&app.session_cookies(&app.browser));
    app.provider
        .behave(|b| b.refresh_error = Some((400, "invalid_grant")));

    sleep_until(issued_by + LIFETIME - WINDOW).await;
    let resp = app.navigate("/app").await;
    assert_redirects_to(&resp, "/oauth2/sign_in?");
    assert_eq!(app.provider.refresh_grants(), 1);

    let resp = copy.client.get(app.url("/app")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        app.provider.refresh_grants(),
        1,
        "an ended session redeems nothing"
    );
}

#[tokio::test]
async fn invalid_grant_signs_the_cookie_session_out() {
    let app = spawn_app_with(|c| refreshing(c, "")).await;
    invalid_grant_signs_out(&app).await;
}

#[tokio::test]
async fn invalid_grant_removes_the_redis_session() {
    let Some(prefix) = shared_redis_prefix() else {
        return;
    };
    let app = spawn_app_with(|c| refreshing(c, &redis_store(&prefix))).await;
    invalid_grant_signs_out(&app).await;
    let sessions = keys(&format!("{prefix}session:")).await;
    let indexes = keys(&format!("{prefix}index:")).await;
    cleanup(&prefix).await;
    assert!(
        sessions.is_empty(),
        "the session is still stored: {sessions:?}"
    );
    assert!(
        indexes.is_empty(),
        "its index entries are still stored: {indexes:?}"
    );
}

#[tokio::test]
async fn a_provider_that_is_down_keeps_the_session_until_expiry_then_503_until_it_is_back() {
    let app = spawn_app_with(|c| refreshing(c, "")).await;
    let issued_by = signed_in(&app).await;
    let token = access_token_at(&app.address, &app.browser).await;
    app.provider
        .behave(|b| b.refresh_error = Some((503, "temporarily_unavailable")));

    sleep_until(issued_by + LIFETIME - WINDOW).await;
    assert_eq!(access_token_at(&app.address, &app.browser).await, token);
    assert!(app.provider.refresh_grants() >= 1, "the renewal was tried");

    sleep_until(issued_by + LIFETIME).await;
    let (code, error) = error_code(app.get("/app").await).await;
    assert_eq!(
        (code, error.as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, "provider_unavailable")
    );
    let page = app.navigate("/app").await;
    assert_eq!(page.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(page
        .text()
        .await
        .unwrap()
        .contains("Sign-in provider unavailable"));

    app.provider.behave(|b| b.refresh_error = None);
    let renewed = access_token_at(&app.address, &app.browser).await;
    assert_ne!(renewed, token, "the recovered provider renews at once");
}

#[tokio::test]
async fn the_renewed_identity_meets_authorize_again() {
    let app = spawn_app_with(|c| {
        refreshing(c, "");
        c.authorize_extra = "groups = [\"staff\"]\n".to_owned();
    })
    .await;
    let issued_by = signed_in(&app).await;
    assert_eq!(status(&app).await, StatusCode::OK);
    app.provider
        .behave(|b| b.user.groups = vec!["other".to_owned()]);

    sleep_until(issued_by + LIFETIME - WINDOW).await;
    assert_eq!(status(&app).await, StatusCode::UNAUTHORIZED);
    assert_eq!(app.provider.refresh_grants(), 1);
    let resp = app
        .request(reqwest::Method::GET, "/app")
        .header("accept", BROWSER_ACCEPT)
        .send()
        .await
        .unwrap();
    assert_redirects_to(&resp, "/oauth2/sign_in?");
}

#[tokio::test]
async fn refresh_off_never_renews_and_the_session_outlives_its_access_token() {
    let app = spawn_app_with(|c| refreshing(c, "refresh = false\n")).await;
    let issued_by = signed_in(&app).await;
    let token = access_token_at(&app.address, &app.browser).await;

    sleep_until(issued_by + LIFETIME + 1).await;
    assert_eq!(access_token_at(&app.address, &app.browser).await, token);
    assert_eq!(app.provider.refresh_grants(), 0);
}

#[tokio::test]
async fn refresh_before_is_capped_at_half_the_token_lifetime() {
    let app = spawn_app_with(|c| {
        refreshing(c, "");
        c.behaviour.access_token_lifetime = Some(8);
        c.session_extra = "refresh_before = \"60s\"\n".to_owned();
    })
    .await;
    let issued_by = signed_in(&app).await;
    let token = access_token_at(&app.address, &app.browser).await;
    // Uncapped, a 60 s window over an 8 s token would renew on every request from the start.
    assert_eq!(access_token_at(&app.address, &app.browser).await, token);
    assert_eq!(app.provider.refresh_grants(), 0);

    sleep_until(issued_by + 4).await;
    assert_ne!(access_token_at(&app.address, &app.browser).await, token);
    assert_eq!(app.provider.refresh_grants(), 1);
}
