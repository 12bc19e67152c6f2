//! Failed passwords are limited per username and per client address (DESIGN §10): past the
//! limit an attempt is a 429 with `Retry-After` and is not even checked, so the right
//! password does not help. The client address is the peer's unless the peer is a trusted
//! proxy, so a forged `X-Forwarded-For` does not buy new attempts.

use reqwest::StatusCode;

use super::fixture::{
    granting, oauth_error, retry_after, spawn_local, spawn_local_with, submit_with, token_request,
    LocalApp, User, PASSWORD,
};
use crate::helpers::{assert_no_session_cookie_set, Browser};

fn users() -> Vec<User> {
    vec![User::new("alice"), User::new("bob")]
}

fn limits(per_username: u32, per_client: u32) -> String {
    format!("failed_logins = {{ per_username = {per_username}, per_client = {per_client}, window = \"10m\" }}")
}

/// One form attempt from a fresh browser, with `headers`; returns the status.
async fn attempt(
    app: &LocalApp,
    username: &str,
    password: &str,
    headers: &[(&str, &str)],
) -> StatusCode {
    submit_with(app, &Browser::new(), username, password, "/", headers)
        .await
        .status()
}

#[tokio::test]
async fn past_the_per_username_limit_even_the_right_password_is_refused() {
    let app = spawn_local(&users(), &limits(3, 100)).await;
    for _ in 0..3 {
        assert_eq!(
            attempt(&app, "alice", "wrong", &[]).await,
            StatusCode::UNAUTHORIZED
        );
    }

    let limited = submit_with(&app, &app.browser, "ALICE", PASSWORD, "/", &[]).await;

    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(retry_after(&limited) >= 1);
    assert_no_session_cookie_set(&limited, app.cookie_name());
    assert_eq!(
        attempt(&app, "bob", PASSWORD, &[]).await,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn past_the_per_client_limit_the_address_is_refused_for_every_username() {
    let app = spawn_local(&users(), &limits(100, 3)).await;
    for username in ["carol", "dave", "erin"] {
        assert_eq!(
            attempt(&app, username, PASSWORD, &[]).await,
            StatusCode::UNAUTHORIZED
        );
    }

    let limited = submit_with(&app, &app.browser, "alice", PASSWORD, "/", &[]).await;

    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(retry_after(&limited) >= 1);
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_address_counts_alone() {
    let app = spawn_local_with(&users(), &limits(100, 2), |cfg| {
        cfg.server_extra = "trusted_proxies = [\"127.0.0.1/32\"]".to_owned();
    })
    .await;
    let first = [("X-Forwarded-For", "203.0.113.7")];
    let second = [("X-Forwarded-For", "203.0.113.8")];
    for username in ["carol", "dave"] {
        assert_eq!(
            attempt(&app, username, "wrong", &first).await,
            StatusCode::UNAUTHORIZED
        );
    }

    let from_first = attempt(&app, "alice", PASSWORD, &first).await;
    let from_second = attempt(&app, "alice", PASSWORD, &second).await;

    assert_eq!(from_first, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(from_second, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn without_trusted_proxies_a_forged_forwarded_address_does_not_escape_the_limit() {
    let app = spawn_local(&users(), &limits(100, 2)).await;
    for username in ["carol", "dave"] {
        let forged = [("X-Forwarded-For", "203.0.113.7")];
        assert_eq!(
            attempt(&app, username, "wrong", &forged).await,
            StatusCode::UNAUTHORIZED
        );
    }

    let forged_anew = attempt(
        &app,
        "alice",
        PASSWORD,
        &[("X-Forwarded-For", "203.0.113.8")],
    )
    .await;

    assert_eq!(forged_anew, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn the_token_endpoint_counts_against_the_same_limits() {
    let app = spawn_local(&users(), &granting(&limits(2, 100))).await;
    let grant = |password: &'static str| {
        [
            ("grant_type", "password"),
            ("username", "alice"),
            ("password", password),
        ]
    };
    for _ in 0..2 {
        let (status, error, _) = oauth_error(token_request(&app, &grant("wrong")).await).await;
        assert_eq!(
            (status, error.as_str()),
            (StatusCode::BAD_REQUEST, "invalid_grant")
        );
    }

    let limited = token_request(&app, &grant(PASSWORD)).await;
    let by_form = attempt(&app, "alice", PASSWORD, &[]).await;

    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(retry_after(&limited) >= 1);
    let (_, error, _) = oauth_error(limited).await;
    assert!(!error.is_empty());
    assert_eq!(by_form, StatusCode::TOO_MANY_REQUESTS);
}
