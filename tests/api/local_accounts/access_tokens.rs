//! The access tokens the gateway signs for a local provider (DESIGN §10; RFC 9068 profile):
//! their header and claims, the JWKS that publishes their key, their use as `Authorization:
//! Bearer` on proxied routes, `/oauth2/auth` and `/oauth2/userinfo`, and every way one is
//! refused with `WWW-Authenticate: Bearer error="invalid_token"` (RFC 6750 §3.1). Replicas
//! with one session secret accept each other's tokens, also after the secret is rotated.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use reqwest::StatusCode;
use serde_json::{json, Value};

use super::fixture::{
    accepted_at, access_token, assert_invalid_token, granting, poll_until, spawn_gateway,
    spawn_local, tokens, tokens_at, with_bearer, LocalApp, User, PASSWORD, PROVIDER,
};
use crate::helpers::echoed;
use crate::mock_provider::decode_jwt;

async fn spawn() -> LocalApp {
    spawn_local(&[User::new("alice"), User::new("bob")], &granting("")).await
}

/// A token for alice at `app`.
async fn alice_token(app: &LocalApp) -> String {
    access_token(&tokens(app, "alice").await)
}

fn encode(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap())
}

fn signature(token: &str) -> &str {
    token.rsplit('.').next().unwrap()
}

#[tokio::test]
async fn the_access_token_is_a_jwt_the_gateway_signs_with_a_published_key() {
    let app = spawn().await;

    let token = alice_token(&app).await;
    let jwks: Value = app.get("/oauth2/jwks.json").await.json().await.unwrap();

    let (header, claims) = decode_jwt(&token);
    assert_eq!(header["alg"], "EdDSA");
    assert_eq!(header["typ"], "at+jwt");
    let kid = header["kid"].as_str().unwrap();
    assert_eq!(claims["iss"], app.address.as_str());
    assert_eq!(claims["aud"], PROVIDER);
    assert_eq!(claims["sub"], "alice");
    assert_eq!(claims["email"], "alice@example.com");
    assert_eq!(claims["groups"], json!(["staff"]));
    assert_eq!(
        claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(),
        900
    );
    assert!(
        claims["jti"].as_str().is_some_and(|jti| jti.len() >= 16),
        "{claims}"
    );
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|key| key["kid"].as_str())
        .collect();
    assert!(kids.contains(&kid), "{kid} not in {jwks}");
}

#[tokio::test]
async fn a_bearer_token_is_who_it_names_on_proxied_routes_auth_and_userinfo() {
    let app = spawn().await;
    let token = alice_token(&app).await;

    let proxied = with_bearer(&app.address, "/api/items", &token).await;
    let auth = with_bearer(&app.address, "/oauth2/auth", &token).await;
    let userinfo = with_bearer(&app.address, "/oauth2/userinfo", &token).await;

    let seen = echoed(proxied).await;
    assert_eq!(seen.header("x-forwarded-user"), Some("alice"));
    assert_eq!(seen.header("x-forwarded-email"), Some("alice@example.com"));
    assert_eq!(seen.header("x-forwarded-groups"), Some("staff"));
    assert_eq!(seen.header("x-forwarded-provider"), Some(PROVIDER));
    assert_eq!(auth.status(), StatusCode::ACCEPTED);
    let user = auth.headers().get("x-auth-request-user").unwrap();
    assert_eq!(user.to_str().unwrap(), "alice");
    assert_eq!(userinfo.status(), StatusCode::OK);
    let body: Value = userinfo.json().await.unwrap();
    assert_eq!(body["user"], "alice");
    assert_eq!(body["email"], "alice@example.com");
    assert_eq!(body["groups"], json!(["staff"]));
    assert_eq!(body["provider"], PROVIDER);
}

/// Asserts that `token` is refused on a proxied route, and never reaches the upstream.
async fn assert_refused(app: &LocalApp, token: &str) {
    let before = app.upstream.requests().len();
    let resp = with_bearer(&app.address, "/api/items", token).await;
    assert_invalid_token(&resp);
    assert_eq!(
        app.upstream.requests().len(),
        before,
        "it reached the upstream"
    );
}

#[tokio::test]
async fn a_token_whose_payload_was_changed_is_refused() {
    let app = spawn().await;
    let token = alice_token(&app).await;
    let (header, mut claims) = decode_jwt(&token);
    claims["sub"] = json!("bob");
    claims["email"] = json!("bob@example.com");

    let tampered = format!(
        "{}.{}.{}",
        encode(&header),
        encode(&claims),
        signature(&token)
    );

    assert_refused(&app, &tampered).await;
}

#[tokio::test]
async fn a_token_whose_alg_was_swapped_is_refused() {
    let app = spawn().await;
    let token = alice_token(&app).await;
    let (header, claims) = decode_jwt(&token);
    let with_alg = |alg: &str| {
        let mut header = header.clone();
        header["alg"] = json!(alg);
        encode(&header)
    };

    let none = format!("{}.{}.", with_alg("none"), encode(&claims));
    let hs256 = format!(
        "{}.{}.{}",
        with_alg("HS256"),
        encode(&claims),
        signature(&token)
    );

    assert_refused(&app, &none).await;
    assert_refused(&app, &hs256).await;
}

#[tokio::test]
async fn a_token_is_refused_once_it_has_expired() {
    let app = spawn_local(&[User::new("alice")], &granting("token_lifetime = \"1s\"")).await;
    // A 1 s token may already be spent when the machine is slow: take fresh ones until one
    // is seen accepted, so the refusal that follows is the expiry's.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    let token = loop {
        let token = alice_token(&app).await;
        if accepted_at(&app.address, &token).await {
            break token;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no fresh token was accepted"
        );
    };

    poll_until("the token is refused", || async {
        !accepted_at(&app.address, &token).await
    })
    .await;

    assert_refused(&app, &token).await;
}

#[tokio::test]
async fn a_token_of_a_gateway_with_another_secret_is_refused() {
    let app = spawn().await;
    let other_secret = "0123456789abcdef".repeat(4);
    let other = spawn_gateway(&app, &app.toml, &other_secret).await;
    let foreign = access_token(&tokens_at(&other, "alice", PASSWORD).await);
    assert!(
        accepted_at(&other, &foreign).await,
        "its own gateway refuses it"
    );

    assert_refused(&app, &foreign).await;
}

#[tokio::test]
async fn a_token_for_another_provider_id_is_refused() {
    let app = spawn().await;
    // Same secret and public URL, but the provider is called `other`: a valid signature
    // over `aud = "other"`, which this gateway issues nothing for.
    let renamed = app
        .toml
        .replace(&format!("id = \"{PROVIDER}\""), "id = \"other\"");
    let other = spawn_gateway(&app, &renamed, &app.config.session_secret).await;
    let foreign = access_token(&tokens_at(&other, "alice", PASSWORD).await);
    assert_eq!(decode_jwt(&foreign).1["aud"], "other");
    assert!(accepted_at(&other, &foreign).await);

    assert_refused(&app, &foreign).await;
}

#[tokio::test]
async fn a_user_disabled_in_the_file_loses_their_token() {
    let app = spawn().await;
    let alice = alice_token(&app).await;
    let bob = access_token(&tokens(&app, "bob").await);
    assert!(accepted_at(&app.address, &alice).await);

    app.users
        .write(&[User::new("alice").disabled(), User::new("bob")]);

    poll_until("alice's token is refused", || async {
        !accepted_at(&app.address, &alice).await
    })
    .await;
    assert_refused(&app, &alice).await;
    assert!(
        accepted_at(&app.address, &bob).await,
        "bob's token went too"
    );
}

#[tokio::test]
async fn replicas_with_one_secret_accept_each_others_tokens() {
    let app = spawn().await;
    let replica = spawn_gateway(&app, &app.toml, &app.config.session_secret).await;

    let from_app = alice_token(&app).await;
    let from_replica = access_token(&tokens_at(&replica, "alice", PASSWORD).await);

    assert!(accepted_at(&replica, &from_app).await);
    assert!(accepted_at(&app.address, &from_replica).await);
}

#[tokio::test]
async fn after_the_secret_is_rotated_the_old_token_still_works() {
    let app = spawn().await;
    let old_token = alice_token(&app).await;
    let old_kid = decode_jwt(&old_token).0["kid"].clone();
    let secret_line = "secret = \"${PORTCULLIS_TEST_SECRET}\"\n";
    let rotated = app.toml.replace(
        secret_line,
        &format!(
            "{secret_line}previous_secrets = [\"{}\"]\n",
            app.config.session_secret
        ),
    );
    assert_ne!(rotated, app.toml);

    let new_secret = "fedcba9876543210".repeat(4);
    let rotated = spawn_gateway(&app, &rotated, &new_secret).await;
    let new_token = access_token(&tokens_at(&rotated, "alice", PASSWORD).await);
    let jwks: Value = reqwest::get(format!("{rotated}/oauth2/jwks.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    assert!(accepted_at(&rotated, &old_token).await);
    assert_ne!(decode_jwt(&new_token).0["kid"], old_kid);
    let kids: Vec<&Value> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| &k["kid"])
        .collect();
    assert!(
        kids.contains(&&old_kid),
        "the old key is not published: {jwks}"
    );
}
