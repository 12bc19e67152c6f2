//! The whole journey works: sign in through the provider with PKCE, state and nonce, reach
//! the upstream with identity headers, read userinfo, sign out (DESIGN §1, §3, §4).

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{
    assert_redirects_to, echoed, local_part, location, set_cookies, spawn_app, spawn_app_with,
    Browser,
};
use crate::mock_provider::{decode_jwt, pkce_verifier_matches, ClientAuthMethod};

#[tokio::test]
async fn ping_answers_ok() {
    let app = spawn_app().await;

    let resp = app.get("/ping").await;

    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.text().await.unwrap(), "OK");
}

#[tokio::test]
async fn ready_answers_200_once_the_provider_is_discovered() {
    let app = spawn_app().await;

    let resp = app.get("/ready").await;

    assert_eq!(resp.status(), StatusCode::OK);
    assert!(app.provider.recorded().discovery_fetches >= 1);
}

#[tokio::test]
async fn login_returns_to_rd_and_the_upstream_sees_the_identity() {
    let app = spawn_app().await;

    let callback = app.login(&app.browser, "/app/page?x=1").await;
    assert_redirects_to(&callback, "/app/page?x=1");
    let seen = echoed(app.navigate(&local_part(&location(&callback))).await).await;

    assert_eq!(seen.path, "/app/page");
    assert_eq!(seen.query.as_deref(), Some("x=1"));
    assert_eq!(
        seen.header_values("x-forwarded-user"),
        vec!["alice-sub-0001"]
    );
    assert_eq!(seen.header("x-forwarded-email"), Some("alice@example.com"));
    assert_eq!(seen.header("x-forwarded-preferred-username"), Some("alice"));
    assert_eq!(seen.header("x-forwarded-groups"), Some("staff,admins"));
    assert!(!seen.has_header("x-forwarded-access-token"));
}

#[tokio::test]
async fn the_authorization_request_uses_pkce_s256_state_and_nonce() {
    let app = spawn_app().await;

    app.begin_login(&app.browser, "/").await;

    let request = app.provider.last_authorize().unwrap();
    assert_eq!(request.get("response_type"), Some("code"));
    assert_eq!(request.get("client_id"), Some("portcullis-test"));
    assert_eq!(
        request.get("redirect_uri"),
        Some(app.callback_url().as_str())
    );
    assert_eq!(request.get("code_challenge_method"), Some("S256"));
    let challenge = request.get("code_challenge").unwrap();
    assert_eq!(URL_SAFE_NO_PAD.decode(challenge).unwrap().len(), 32);
    let scopes: Vec<&str> = request.get("scope").unwrap().split(' ').collect();
    assert!(scopes.contains(&"openid"), "{scopes:?}");
    let state = request.get("state").unwrap();
    assert!(
        state.len() >= 22,
        "state {state:?} is shorter than 128 bits"
    );
    assert!(request.get("nonce").is_some_and(|n| n.len() >= 22));
    assert_ne!(request.get("nonce"), Some(state));
}

#[tokio::test]
async fn every_login_gets_fresh_state_nonce_and_challenge() {
    let app = spawn_app().await;

    app.begin_login(&app.browser, "/").await;
    app.begin_login(&app.browser, "/").await;

    let recorded = app.provider.recorded();
    let (first, second) = (&recorded.authorize[0], &recorded.authorize[1]);
    for name in ["state", "nonce", "code_challenge"] {
        assert_ne!(first.get(name), second.get(name), "{name} was reused");
    }
}

#[tokio::test]
async fn the_code_is_redeemed_with_the_pkce_verifier_and_client_secret_basic() {
    let app = spawn_app().await;

    let resp = app.login(&app.browser, "/").await;

    assert_redirects_to(&resp, "/");
    let authorize = app.provider.last_authorize().unwrap();
    let token = app.provider.last_token_request().unwrap();
    assert_eq!(token.form.get("grant_type"), Some("authorization_code"));
    assert_eq!(
        token.form.get("redirect_uri"),
        Some(app.callback_url().as_str())
    );
    let verifier = token.form.get("code_verifier").unwrap();
    assert!(pkce_verifier_matches(
        verifier,
        authorize.get("code_challenge").unwrap()
    ));
    assert_eq!(token.form.get("client_secret"), None);
    let basic = token.authorization.unwrap();
    let credentials = STANDARD
        .decode(basic.strip_prefix("Basic ").unwrap())
        .unwrap();
    assert_eq!(
        String::from_utf8(credentials).unwrap(),
        "portcullis-test:mock-client-secret-0123456789"
    );
}

#[tokio::test]
async fn client_secret_post_sends_the_secret_in_the_form_when_configured() {
    let app = spawn_app_with(|cfg| {
        cfg.token_endpoint_auth = Some("client_secret_post".into());
        cfg.behaviour.client_auth = ClientAuthMethod::ClientSecretPost;
    })
    .await;

    let resp = app.login(&app.browser, "/").await;

    assert_redirects_to(&resp, "/");
    let token = app.provider.last_token_request().unwrap();
    assert_eq!(token.authorization, None);
    assert_eq!(token.form.get("client_id"), Some("portcullis-test"));
    assert_eq!(
        token.form.get("client_secret"),
        Some("mock-client-secret-0123456789")
    );
}

#[tokio::test]
async fn the_flow_cookie_is_cleared_after_the_callback() {
    let app = spawn_app().await;

    let resp = app.login(&app.browser, "/").await;

    let cleared_flow = set_cookies(&resp)
        .into_iter()
        .filter(|c| c.starts_with("_portcullis_flow_"))
        .count();
    assert_eq!(cleared_flow, 1, "{:?}", set_cookies(&resp));
    let flow_left = app
        .browser
        .cookies(&app.callback_url())
        .into_iter()
        .filter(|(name, _)| name.starts_with("_portcullis_flow_"))
        .count();
    assert_eq!(flow_left, 0);
}

#[tokio::test]
async fn several_logins_in_several_tabs_all_succeed() {
    let app = spawn_app().await;

    let first = app.begin_login(&app.browser, "/first").await;
    let second = app.begin_login(&app.browser, "/second").await;
    let third = app.begin_login(&app.browser, "/third").await;
    let second = app.finish_login(&app.browser, &second).await;
    let first = app.finish_login(&app.browser, &first).await;
    let third = app.finish_login(&app.browser, &third).await;

    assert_redirects_to(&second, "/second");
    assert_redirects_to(&first, "/first");
    assert_redirects_to(&third, "/third");
}

#[tokio::test]
async fn signed_in_pages_are_not_stored_unless_the_upstream_says_how() {
    let app = spawn_app().await;
    app.sign_in().await;
    let cache_control = |resp: &reqwest::Response| {
        resp.headers()
            .get("cache-control")
            .map(|value| value.to_str().unwrap().to_owned())
    };

    let page = app.get("/app/salaries").await;
    let static_asset = app.get("/app/cached").await;
    let public = app.get("/public/docs").await;

    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(cache_control(&page).as_deref(), Some("no-store"));
    assert_eq!(
        cache_control(&static_asset).as_deref(),
        Some("public, max-age=3600")
    );
    assert_eq!(cache_control(&public), None);
}

#[tokio::test]
async fn userinfo_describes_the_signed_in_user() {
    let app = spawn_app().await;
    app.sign_in().await;

    let resp = app.get("/oauth2/userinfo").await;

    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["user"], "alice-sub-0001");
    assert_eq!(body["email"], "alice@example.com");
    assert_eq!(body["preferred_username"], "alice");
    assert_eq!(body["groups"], serde_json::json!(["staff", "admins"]));
    assert_eq!(body["provider"], "mock");
}

#[tokio::test]
async fn tokens_are_passed_upstream_only_when_configured() {
    let app = spawn_app_with(|cfg| {
        cfg.pass_access_token = true;
        cfg.pass_authorization_header = true;
    })
    .await;
    app.sign_in().await;

    let seen = echoed(app.get("/api").await).await;

    let access = seen.header("x-forwarded-access-token").unwrap();
    assert!(access.len() >= 32);
    let bearer = seen.header_values("authorization");
    assert_eq!(bearer.len(), 1);
    let id_token = bearer[0].strip_prefix("Bearer ").unwrap();
    let (_, claims) = decode_jwt(id_token);
    assert_eq!(claims["sub"], "alice-sub-0001");
    assert_eq!(claims["aud"], "portcullis-test");
}

#[tokio::test]
async fn sign_out_clears_the_session_and_logs_out_at_the_provider() {
    let app = spawn_app().await;
    app.sign_in().await;

    let resp = app.navigate("/oauth2/sign_out").await;

    assert_redirects_to(&resp, &app.provider.url("/logout"));
    let target = url::Url::parse(&location(&resp)).unwrap();
    let params: Vec<(String, String)> = target.query_pairs().into_owned().collect();
    let get = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(
        get("post_logout_redirect_uri"),
        Some(app.url("/oauth2/signed_out"))
    );
    let (_, hint) = decode_jwt(&get("id_token_hint").unwrap());
    assert_eq!(hint["sub"], "alice-sub-0001");
    assert!(app.session_cookies(&app.browser).is_empty());
    assert_eq!(
        app.get("/oauth2/userinfo").await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn sign_out_without_an_end_session_endpoint_goes_to_the_signed_out_page() {
    let app = spawn_app_with(|cfg| cfg.behaviour.end_session_endpoint = false).await;
    app.sign_in().await;

    let resp = app.navigate("/oauth2/sign_out").await;

    assert_redirects_to(&resp, "/oauth2/signed_out");
    assert!(app.session_cookies(&app.browser).is_empty());
    let page = app.navigate("/oauth2/signed_out").await;
    assert_eq!(page.status(), StatusCode::OK);
}

#[tokio::test]
async fn signing_in_in_one_browser_does_not_sign_in_another() {
    let app = spawn_app().await;
    app.sign_in().await;
    let stranger = Browser::new();

    let resp = stranger
        .client
        .get(app.url("/oauth2/userinfo"))
        .send()
        .await
        .unwrap();

    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
}
