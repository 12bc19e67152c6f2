//! `kind = "google"`: `hd` sent and enforced on the ID token, verified email required.

use serde_json::json;

use crate::helpers::{assert_redirects_to, spawn_app_with, TestApp};
use crate::presets::fake::userinfo;

async fn google_app(change: impl FnOnce(&mut crate::mock_provider::Behaviour)) -> TestApp {
    spawn_app_with(|c| {
        c.provider_id = "google".into();
        c.provider_blocks = Some(
            "[[provider]]\nid = \"google\"\nkind = \"google\"\nissuer = \"{issuer}\"\n\
             hosted_domain = \"example.com\"\nclient_id = \"portcullis-test\"\n\
             client_secret = \"${MOCK_CLIENT_SECRET}\"\n"
                .into(),
        );
        c.behaviour
            .id_token_overrides
            .insert("hd".into(), json!("example.com"));
        change(&mut c.behaviour);
    })
    .await
}

#[tokio::test]
async fn a_workspace_account_signs_in_and_hd_is_requested() {
    let app = google_app(|_| {}).await;

    let resp = app.login(&app.browser, "/").await;

    assert_redirects_to(&resp, "/");
    let authorize = app.provider.last_authorize().unwrap();
    assert_eq!(authorize.get("hd"), Some("example.com"));
    assert_eq!(authorize.get("code_challenge_method"), Some("S256"));
    assert!(authorize.get("nonce").is_some());
    let me = userinfo(&app, &app.browser).await;
    assert_eq!(me["provider"], "google");
    assert_eq!(me["email"], "alice@example.com");
}

#[tokio::test]
async fn a_token_without_hd_is_refused() {
    let app = google_app(|b| {
        b.id_token_overrides
            .insert("hd".into(), serde_json::Value::Null);
    })
    .await;

    let resp = app.login(&app.browser, "/").await;

    assert_eq!(resp.status(), 403);
    assert!(app.session_cookies(&app.browser).is_empty());
}

#[tokio::test]
async fn a_token_from_another_workspace_is_refused() {
    let app = google_app(|b| {
        b.id_token_overrides
            .insert("hd".into(), json!("evil-example.com"));
    })
    .await;

    let resp = app.login(&app.browser, "/").await;

    assert_eq!(resp.status(), 403);
}

#[tokio::test]
async fn an_unverified_email_is_refused() {
    let app = google_app(|b| b.user.email_verified = Some(false)).await;

    let resp = app.login(&app.browser, "/").await;

    assert_eq!(resp.status(), 403);
    assert!(app.session_cookies(&app.browser).is_empty());
}
