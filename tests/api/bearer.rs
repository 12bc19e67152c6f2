//! Bearer tokens for API clients (issue 5 point 5): a JWT signed by a provider with
//! `bearer = { audiences = [...] }` gets through with the same rules and identity headers as
//! a cookie session; anything invalid is 401 `invalid_token` and never reaches the upstream.

use reqwest::StatusCode;
use serde_json::{json, Map, Value};

use crate::helpers::{echoed, spawn_app_with, TestApp};
use crate::mock_provider::Signing;

const AUDIENCE: &str = "https://api.example.test";

async fn spawn_api_app() -> TestApp {
    spawn_app_with(|cfg| {
        cfg.provider_extra = format!("bearer = {{ audiences = [\"{AUDIENCE}\"] }}");
    })
    .await
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Honest access-token claims for alice@example.com.
fn claims(app: &TestApp) -> Map<String, Value> {
    let now = now();
    let value = json!({
        "iss": app.provider.issuer(),
        "sub": "api-user-1",
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + 300,
        "email": "alice@example.com",
        "email_verified": true,
        "groups": ["staff"],
    });
    value.as_object().unwrap().clone()
}

fn with(mut claims: Map<String, Value>, key: &str, value: Value) -> Map<String, Value> {
    if value.is_null() {
        claims.remove(key);
    } else {
        claims.insert(key.to_owned(), value);
    }
    claims
}

async fn call_with(app: &TestApp, token: &str) -> reqwest::Response {
    app.request(reqwest::Method::GET, "/api/items")
        .header("Accept", "application/json")
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

async fn assert_rejected(app: &TestApp, token: &str) {
    let before = app.upstream.requests().len();
    let resp = call_with(app, token).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let challenge = resp
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        challenge.starts_with("Bearer") && challenge.contains("error=\"invalid_token\""),
        "WWW-Authenticate was {challenge:?}"
    );
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "invalid_token");
    assert_eq!(
        app.upstream.requests().len(),
        before,
        "a rejected bearer token reached the upstream"
    );
}

#[tokio::test]
async fn a_valid_bearer_token_reaches_the_upstream_with_identity_headers() {
    let app = spawn_api_app().await;
    let token = app.provider.sign(&claims(&app), &Signing::Rs256, false);

    let resp = call_with(&app, &token).await;

    assert_eq!(resp.status(), StatusCode::OK);
    let seen = echoed(resp).await;
    assert_eq!(seen.path, "/api/items");
    assert_eq!(seen.header("x-forwarded-user"), Some("api-user-1"));
    assert_eq!(seen.header("x-forwarded-email"), Some("alice@example.com"));
    assert_eq!(seen.header("x-forwarded-groups"), Some("staff"));
    assert_eq!(seen.header("x-forwarded-provider"), Some("mock"));
}

#[tokio::test]
async fn a_bearer_token_is_held_to_the_authorize_rules() {
    let app = spawn_api_app().await;
    let outsider = with(claims(&app), "email", json!("mallory@evil.example"));
    let token = app.provider.sign(&outsider, &Signing::Rs256, false);

    let resp = call_with(&app, &token).await;

    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "forbidden");
}

#[tokio::test]
async fn an_expired_bearer_token_is_rejected() {
    let app = spawn_api_app().await;
    let expired = with(claims(&app), "exp", json!(now() - 60));
    assert_rejected(&app, &app.provider.sign(&expired, &Signing::Rs256, false)).await;
}

#[tokio::test]
async fn a_bearer_token_not_yet_valid_is_rejected() {
    let app = spawn_api_app().await;
    let early = with(claims(&app), "nbf", json!(now() + 3600));
    assert_rejected(&app, &app.provider.sign(&early, &Signing::Rs256, false)).await;
}

#[tokio::test]
async fn a_bearer_token_for_another_audience_is_rejected() {
    let app = spawn_api_app().await;
    for aud in [
        json!("https://other.example"),
        json!("portcullis-test"),
        json!([]),
    ] {
        let token = app
            .provider
            .sign(&with(claims(&app), "aud", aud), &Signing::Rs256, false);
        assert_rejected(&app, &token).await;
    }
}

#[tokio::test]
async fn a_bearer_token_from_another_issuer_is_rejected() {
    let app = spawn_api_app().await;
    let foreign = with(claims(&app), "iss", json!("https://evil.example"));
    assert_rejected(&app, &app.provider.sign(&foreign, &Signing::Rs256, false)).await;
}

#[tokio::test]
async fn an_unsigned_bearer_token_is_rejected() {
    let app = spawn_api_app().await;
    assert_rejected(
        &app,
        &app.provider.sign(&claims(&app), &Signing::AlgNone, false),
    )
    .await;
}

#[tokio::test]
async fn an_hmac_bearer_token_keyed_with_the_public_key_is_rejected() {
    let app = spawn_api_app().await;
    let token = app
        .provider
        .sign(&claims(&app), &Signing::Hs256WithPublicKey, false);
    assert_rejected(&app, &token).await;
}

#[tokio::test]
async fn a_bearer_token_with_a_bad_signature_is_rejected() {
    let app = spawn_api_app().await;
    let token = app
        .provider
        .sign(&claims(&app), &Signing::BadSignature, false);
    assert_rejected(&app, &token).await;
}

#[tokio::test]
async fn a_bearer_token_with_an_unknown_kid_is_rejected_after_one_refetch() {
    let app = spawn_api_app().await;
    let fetches_before = app.provider.jwks_fetches();
    let token = app
        .provider
        .sign(&claims(&app), &Signing::RotatedKey, false);

    assert_rejected(&app, &token).await;
    assert_eq!(app.provider.jwks_fetches(), fetches_before + 1);

    // Rate limited: a second unknown kid right away does not refetch.
    assert_rejected(&app, &token).await;
    assert_eq!(app.provider.jwks_fetches(), fetches_before + 1);
}

#[tokio::test]
async fn a_bearer_token_signed_with_a_rotated_key_is_accepted_once_published() {
    let app = spawn_api_app().await;
    app.provider.behave(|b| b.publish_rotated_key = true);
    let token = app
        .provider
        .sign(&claims(&app), &Signing::RotatedKey, false);

    let resp = call_with(&app, &token).await;

    assert_eq!(resp.status(), StatusCode::OK);
}

#[tokio::test]
async fn garbage_bearer_tokens_are_rejected() {
    let app = spawn_api_app().await;
    for token in ["not-a-jwt", "a.b.c", "eyJhbGciOiJSUzI1NiJ9.e30.", "...."] {
        assert_rejected(&app, token).await;
    }
}

#[tokio::test]
async fn without_bearer_configuration_the_authorization_header_is_not_a_session() {
    let app = spawn_app_with(|_| {}).await;
    let token = app.provider.sign(&claims(&app), &Signing::Rs256, false);

    let resp = call_with(&app, &token).await;

    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert!(app.upstream.requests().is_empty());
}

#[tokio::test]
async fn a_bearer_token_with_a_fractional_nbf_in_the_future_is_rejected() {
    // RFC 7519 §2: a NumericDate may be non-integer.
    let app = spawn_api_app().await;
    let early = with(claims(&app), "nbf", json!(now() as f64 + 3600.5));
    assert_rejected(&app, &app.provider.sign(&early, &Signing::Rs256, false)).await;
}

#[tokio::test]
async fn a_bearer_token_with_an_empty_sub_is_rejected() {
    let app = spawn_api_app().await;
    let anonymous = with(claims(&app), "sub", json!(""));
    assert_rejected(&app, &app.provider.sign(&anonymous, &Signing::Rs256, false)).await;
}

/// A Google provider restricted to one Workspace domain that also accepts bearer tokens.
async fn spawn_google_api_app() -> TestApp {
    spawn_app_with(|c| {
        c.provider_id = "google".into();
        c.provider_blocks = Some(format!(
            "[[provider]]\nid = \"google\"\nkind = \"google\"\nissuer = \"{{issuer}}\"\n\
             hosted_domain = \"example.com\"\nclient_id = \"portcullis-test\"\n\
             client_secret = \"${{MOCK_CLIENT_SECRET}}\"\n\
             bearer = {{ audiences = [\"{AUDIENCE}\"] }}\n"
        ));
    })
    .await
}

#[tokio::test]
async fn a_google_bearer_token_is_held_to_the_hosted_domain() {
    let app = spawn_google_api_app().await;
    let workspace = with(claims(&app), "hd", json!("example.com"));
    let resp = call_with(&app, &app.provider.sign(&workspace, &Signing::Rs256, false)).await;
    assert_eq!(resp.status(), StatusCode::OK);

    // A consumer account (no `hd`) or another Workspace, even with an allowed address.
    for hd in [Value::Null, json!("evil-example.com")] {
        let outsider = with(claims(&app), "hd", hd);
        assert_rejected(&app, &app.provider.sign(&outsider, &Signing::Rs256, false)).await;
    }
}
