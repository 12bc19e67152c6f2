//! Back-channel logout over HTTP (OpenID Connect Back-Channel Logout 1.0, DESIGN §6): logout
//! tokens signed with the mock provider's key end the sessions of their `sid`, or of their
//! `sub` at that provider, in both stores, and nothing else; replays, forgeries and malformed
//! requests get 400 JSON. (Each claim rule has its unit test in
//! src/providers/oidc/logout_token/tests.rs; here only a few at the HTTP level.)

use portcullis::identity::Identity;
use portcullis::session::{unix_now, Session};
use rand::RngCore as _;
use reqwest::header::CACHE_CONTROL;
use reqwest::{Response, StatusCode};
use serde_json::{json, Map, Value};

use crate::helpers::{assert_redirects_to, spawn_app_with, Browser, TestApp, TestConfig};
use crate::mock_provider::Signing;
use crate::redis_server::{cleanup, shared_redis_prefix};
use crate::replicas::spawn_replica;

/// The member of `events` that makes a JWT a logout token (§2.4).
pub const BACKCHANNEL_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// The sub of the mock provider's default user.
const ALICE: &str = "alice-sub-0001";

/// Which session store a test runs against.
#[derive(Clone, Copy, Debug)]
pub enum Store {
    /// `store = "cookie"`, no `redis_url`: revocations in memory.
    Cookie,
    /// `store = "cookie"` with `redis_url`: revocations in Redis.
    CookieWithRedis,
    /// `store = "redis"`.
    Redis,
}

/// A gateway on `store` (the shared Redis under a fresh prefix where it needs one), with
/// `change` applied, and the prefix to clean up; `None` when Redis is needed and absent.
pub async fn spawn_on(
    store: Store,
    change: impl FnOnce(&mut TestConfig),
) -> Option<(TestApp, Option<String>)> {
    let prefix = match store {
        Store::Cookie => None,
        Store::CookieWithRedis | Store::Redis => Some(shared_redis_prefix()?),
    };
    let lines = match (&prefix, store) {
        (Some(prefix), Store::Redis) => redis_lines("redis", prefix),
        (Some(prefix), _) => redis_lines("cookie", prefix),
        (None, _) => "store = \"cookie\"\n".to_owned(),
    };
    let app = spawn_app_with(|c| {
        c.session_extra = lines;
        change(c);
    })
    .await;
    Some((app, prefix))
}

fn redis_lines(store: &str, prefix: &str) -> String {
    format!(
        "store = \"{store}\"\nredis_url = \"redis://127.0.0.1:6379\"\nkey_prefix = \"{prefix}\"\n"
    )
}

/// Deletes the test's keys from the shared Redis, if it used any.
pub async fn clean(prefix: Option<String>) {
    if let Some(prefix) = prefix {
        cleanup(&prefix).await;
    }
}

/// The claims of a valid logout token for the mock provider's client, naming `subject`
/// (`("sid", …)` and/or `("sub", …)`), with a fresh `jti`.
pub fn logout_claims(app: &TestApp, subject: &[(&str, &str)]) -> Map<String, Value> {
    let mut jti = [0u8; 12];
    rand::rngs::OsRng.fill_bytes(&mut jti);
    let now = unix_now();
    let mut claims = json!({
        "iss": app.provider.issuer(),
        "aud": app.config.client_id,
        "iat": now,
        "exp": now + 120,
        "jti": jti.iter().map(|b| format!("{b:02x}")).collect::<String>(),
        "events": { BACKCHANNEL_EVENT: {} },
    });
    for (name, value) in subject {
        claims[*name] = json!(value);
    }
    claims.as_object().expect("an object").clone()
}

/// `claims` signed with the mock provider's current key.
pub fn signed(app: &TestApp, claims: &Map<String, Value>) -> String {
    app.provider.sign(claims, &Signing::Rs256, false)
}

/// POSTs the form `fields` to the back-channel logout endpoint of `provider` at `base`.
pub async fn post_logout(base: &str, provider: &str, fields: &[(&str, &str)]) -> Response {
    reqwest::Client::new()
        .post(format!("{base}/oauth2/backchannel_logout/{provider}"))
        .form(fields)
        .send()
        .await
        .expect("back-channel logout request")
}

/// POSTs `token` as the provider would, to `base` (the gateway or a replica).
pub async fn send_logout(app: &TestApp, base: &str, token: &str) -> Response {
    post_logout(base, &app.config.provider_id, &[("logout_token", token)]).await
}

/// Whether `browser` gets through `base`'s gate to the upstream, as a program would ask.
pub async fn signed_in_at(base: &str, browser: &Browser) -> bool {
    let resp = browser
        .client
        .get(format!("{base}/app"))
        .send()
        .await
        .expect("GET /app");
    match resp.status() {
        StatusCode::OK => true,
        StatusCode::UNAUTHORIZED => false,
        other => panic!("expected 200 or 401, got {other}"),
    }
}

/// A new browser signed in through `app` as the mock provider's current user.
pub async fn signed_in_browser(app: &TestApp) -> Browser {
    let browser = Browser::new();
    let resp = app.login(&browser, "/").await;
    assert_redirects_to(&resp, "/");
    browser
}

/// Asserts a 400 JSON `{error, error_description}` that may not be cached; returns `error`.
async fn assert_refused(resp: Response) -> String {
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        resp.headers().get(CACHE_CONTROL).map(|v| v.as_bytes()),
        Some(&b"no-store"[..])
    );
    let body: Value = resp.json().await.expect("a JSON refusal");
    let description = body["error_description"].as_str().unwrap_or_default();
    assert!(!description.is_empty(), "{body}");
    body["error"].as_str().unwrap_or_default().to_owned()
}

async fn a_sid_logout_ends_that_sid_only(store: Store) {
    let Some((app, prefix)) = spawn_on(store, |c| c.behaviour.sid = Some("sid-one".into())).await
    else {
        return;
    };
    let first = signed_in_browser(&app).await;
    app.provider.behave(|b| b.sid = Some("sid-two".into()));
    let second = signed_in_browser(&app).await;

    let token = signed(&app, &logout_claims(&app, &[("sid", "sid-one")]));
    let resp = send_logout(&app, &app.address, &token).await;

    assert_eq!(resp.status(), StatusCode::OK);
    assert!(!signed_in_at(&app.address, &first).await, "sid-one lives");
    assert!(signed_in_at(&app.address, &second).await, "sid-two ended");
    clean(prefix).await;
}

#[tokio::test]
async fn a_logout_by_sid_ends_that_session_and_not_another_sids_cookie_store() {
    a_sid_logout_ends_that_sid_only(Store::Cookie).await;
}

#[tokio::test]
async fn a_logout_by_sid_ends_that_session_and_not_another_sids_redis_store() {
    a_sid_logout_ends_that_sid_only(Store::Redis).await;
}

async fn a_sub_logout_ends_that_users_sessions_only(store: Store) {
    let Some((app, prefix)) = spawn_on(store, |_| {}).await else {
        return;
    };
    let alice_here = signed_in_browser(&app).await;
    let alice_there = signed_in_browser(&app).await;
    app.provider.behave(|b| {
        b.user.sub = "bob-sub-0002".into();
        b.user.email = Some("bob@example.com".into());
    });
    let bob = signed_in_browser(&app).await;

    let token = signed(&app, &logout_claims(&app, &[("sub", ALICE)]));
    let resp = send_logout(&app, &app.address, &token).await;

    assert_eq!(resp.status(), StatusCode::OK);
    assert!(!signed_in_at(&app.address, &alice_here).await);
    assert!(!signed_in_at(&app.address, &alice_there).await);
    assert!(
        signed_in_at(&app.address, &bob).await,
        "another user's session ended"
    );
    clean(prefix).await;
}

#[tokio::test]
async fn a_logout_by_sub_ends_every_session_of_that_user_and_no_one_elses_cookie_store() {
    a_sub_logout_ends_that_users_sessions_only(Store::Cookie).await;
}

#[tokio::test]
async fn a_logout_by_sub_ends_every_session_of_that_user_and_no_one_elses_redis_store() {
    a_sub_logout_ends_that_users_sessions_only(Store::Redis).await;
}

#[tokio::test]
async fn a_logout_by_sub_spares_that_users_sessions_issued_after_it_cookie_store() {
    let Some((app, _)) = spawn_on(Store::Cookie, |_| {}).await else {
        return;
    };
    let before = signed_in_browser(&app).await;
    let token = signed(&app, &logout_claims(&app, &[("sub", ALICE)]));
    assert_eq!(
        send_logout(&app, &app.address, &token).await.status(),
        StatusCode::OK
    );
    // A sign-in after the logout (the clock has moved on): a session issued later.
    let identity = Identity {
        user: ALICE.into(),
        email: Some("alice@example.com".into()),
        preferred_username: None,
        groups: vec![],
        provider: app.config.provider_id.clone(),
    };
    let after = app.browser_with_session(&Session::new(identity, unix_now() + 2, 3600));

    assert!(!signed_in_at(&app.address, &before).await);
    assert!(signed_in_at(&app.address, &after).await);
}

#[tokio::test]
async fn a_logout_by_sub_spares_a_sign_in_after_it_redis_store() {
    let Some((app, prefix)) = spawn_on(Store::Redis, |_| {}).await else {
        return;
    };
    let before = signed_in_browser(&app).await;
    let token = signed(&app, &logout_claims(&app, &[("sub", ALICE)]));
    assert_eq!(
        send_logout(&app, &app.address, &token).await.status(),
        StatusCode::OK
    );

    let after = signed_in_browser(&app).await;

    assert!(!signed_in_at(&app.address, &before).await);
    assert!(signed_in_at(&app.address, &after).await);
    clean(prefix).await;
}

#[tokio::test]
async fn a_valid_logout_token_that_matches_no_session_gets_200_and_a_replay_400() {
    let Some((app, _)) = spawn_on(Store::Cookie, |_| {}).await else {
        return;
    };
    let token = signed(
        &app,
        &logout_claims(&app, &[("sid", "nobody-has-this-sid")]),
    );

    let first = send_logout(&app, &app.address, &token).await;
    assert_eq!(first.status(), StatusCode::OK);
    assert_eq!(
        first.headers().get(CACHE_CONTROL).map(|v| v.as_bytes()),
        Some(&b"no-store"[..])
    );
    let again = send_logout(&app, &app.address, &token).await;

    assert_eq!(assert_refused(again).await, "invalid_request");
}

#[tokio::test]
async fn forged_and_malformed_logout_tokens_get_400_json_and_end_nothing() {
    let Some((app, _)) =
        spawn_on(Store::Cookie, |c| c.behaviour.sid = Some("sid-one".into())).await
    else {
        return;
    };
    let browser = signed_in_browser(&app).await;
    let valid = logout_claims(&app, &[("sid", "sid-one")]);
    let mut wrong_aud = valid.clone();
    wrong_aud.insert("aud".into(), json!("another-client"));
    let mut no_events = valid.clone();
    no_events.remove("events");
    let tokens = [
        (
            "bad signature",
            app.provider.sign(&valid, &Signing::BadSignature, false),
        ),
        ("wrong aud", signed(&app, &wrong_aud)),
        ("no events", signed(&app, &no_events)),
    ];

    for (what, token) in tokens {
        let resp = send_logout(&app, &app.address, &token).await;
        assert_eq!(assert_refused(resp).await, "invalid_request", "{what}");
    }
    assert!(
        signed_in_at(&app.address, &browser).await,
        "a refused token ended the session"
    );
}

#[tokio::test]
async fn a_missing_logout_token_or_an_unknown_provider_gets_400_json() {
    let Some((app, _)) = spawn_on(Store::Cookie, |_| {}).await else {
        return;
    };
    let token = signed(&app, &logout_claims(&app, &[("sub", ALICE)]));

    let missing = post_logout(&app.address, &app.config.provider_id, &[("other", "x")]).await;
    let unknown = post_logout(
        &app.address,
        "no-such-provider",
        &[("logout_token", &token)],
    )
    .await;

    assert_eq!(assert_refused(missing).await, "invalid_request");
    assert_eq!(assert_refused(unknown).await, "invalid_request");
}

#[tokio::test]
async fn without_redis_url_a_cookie_store_revocation_is_one_replicas_memory() {
    let Some((app, _)) =
        spawn_on(Store::Cookie, |c| c.behaviour.sid = Some("sid-one".into())).await
    else {
        return;
    };
    let browser = signed_in_browser(&app).await;
    let replica = spawn_replica(&app).await;
    let token = signed(&app, &logout_claims(&app, &[("sid", "sid-one")]));

    assert_eq!(
        send_logout(&app, &app.address, &token).await.status(),
        StatusCode::OK
    );

    assert!(!signed_in_at(&app.address, &browser).await);
    // Documented (README, DESIGN §6): kept in memory, the revocation is this process's only.
    assert!(signed_in_at(&replica.address, &browser).await);
}

#[tokio::test]
async fn with_redis_url_a_cookie_store_revocation_is_honoured_by_a_second_gateway() {
    let Some((app, prefix)) = spawn_on(Store::CookieWithRedis, |c| {
        c.behaviour.sid = Some("sid-one".into());
    })
    .await
    else {
        return;
    };
    let browser = signed_in_browser(&app).await;
    let replica = spawn_replica(&app).await;
    assert!(signed_in_at(&replica.address, &browser).await);
    let token = signed(&app, &logout_claims(&app, &[("sid", "sid-one")]));

    assert_eq!(
        send_logout(&app, &app.address, &token).await.status(),
        StatusCode::OK
    );

    assert!(!signed_in_at(&replica.address, &browser).await);
    assert!(!signed_in_at(&app.address, &browser).await);
    clean(prefix).await;
}
