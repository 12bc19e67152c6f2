//! `kind = "oauth2"`: endpoints and a JSON-pointer claim mapping, no ID token.

use serde_json::json;

use crate::helpers::{assert_redirects_to, spawn_app_with, TestApp};
use crate::presets::fake::{userinfo, Fake};

async fn generic() -> (Fake, TestApp) {
    let fake = Fake::start().await;
    fake.script().token =
        json!({ "access_token": "opaque-at", "token_type": "Bearer", "expires_in": 3600 });
    fake.answer(
        "/api/me",
        json!({ "data": { "id": 1234, "email": "carol@example.com", "verified": true,
                          "login": "carol", "display": "Carol", "roles": ["ops", "dev"] } }),
    );
    let base = fake.url.clone();
    let block = format!(
        "[[provider]]\nid = \"corp\"\nkind = \"oauth2\"\nname = \"Corp ID\"\n\
         auth_url = \"{base}/oauth/authorize\"\ntoken_url = \"{base}/oauth/token\"\n\
         userinfo_url = \"{base}/api/me\"\nscopes = [\"profile\"]\n\
         claims = {{ id = \"/data/id\", email = \"/data/email\", email_verified = \"/data/verified\", \
         name = \"/data/display\", username = \"/data/login\", groups = \"/data/roles\" }}\n\
         client_id = \"portcullis-test\"\nclient_secret = \"${{MOCK_CLIENT_SECRET}}\"\n"
    );
    let app = spawn_app_with(|c| {
        c.provider_id = "corp".into();
        c.provider_blocks = Some(block);
    })
    .await;
    (fake, app)
}

#[tokio::test]
async fn the_claim_mapping_gives_the_identity() {
    let (fake, app) = generic().await;

    let resp = fake.login(&app, &app.browser, "corp").await;

    assert_redirects_to(&resp, "/");
    let me = userinfo(&app, &app.browser).await;
    assert_eq!(me["user"], "1234");
    assert_eq!(me["email"], "carol@example.com");
    assert_eq!(me["preferred_username"], "carol");
    assert_eq!(me["groups"], json!(["ops", "dev"]));
    assert_eq!(me["provider"], "corp");
    let script = fake.script();
    assert_eq!(script.authorize[0].get("scope"), Some("profile"));
    assert_eq!(
        script.token_requests[0].get("grant_type"),
        Some("authorization_code")
    );
    assert_eq!(
        script.api_authorization.last().unwrap().as_deref(),
        Some("Bearer opaque-at")
    );
}

#[tokio::test]
async fn an_answer_without_the_id_is_refused() {
    let (fake, app) = generic().await;
    fake.answer(
        "/api/me",
        json!({ "data": { "email": "carol@example.com", "verified": true } }),
    );

    let resp = fake.login(&app, &app.browser, "corp").await;

    assert_eq!(resp.status(), 400);
    assert!(app.session_cookies(&app.browser).is_empty());
}

#[tokio::test]
async fn a_failing_userinfo_endpoint_is_refused() {
    let (fake, app) = generic().await;
    fake.script().get.insert(
        "/api/me".into(),
        (401, json!({ "error": "invalid_token" }), None),
    );

    let resp = fake.login(&app, &app.browser, "corp").await;

    assert_eq!(resp.status(), 400);
}

#[tokio::test]
async fn an_unverified_email_does_not_count() {
    let (fake, app) = generic().await;
    fake.answer(
        "/api/me",
        json!({ "data": { "id": 1234, "email": "carol@example.com", "verified": false } }),
    );

    let resp = fake.login(&app, &app.browser, "corp").await;

    // email_domains = ["example.com"] cannot match an unverified address.
    assert_eq!(resp.status(), 403);
}
