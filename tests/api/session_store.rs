//! Both session stores (DESIGN §6) from the outside: [`in_both_stores`] runs a test body
//! against `store = "cookie"` and against `store = "redis"` on the shared Redis under a fresh
//! key prefix (deleted afterwards, also when the body fails). Here: compact sessions (hundreds
//! of groups, a 20 KB ID token), what the Redis store keeps and deletes, and sign-out
//! revoking copies of the cookie. Idle timeout and secret rotation are in
//! `session_store_lifecycle.rs`.

use std::future::Future;

use portcullis::session::{unix_now, Session};
use reqwest::StatusCode;
use serde_json::json;
use sha2::{Digest as _, Sha256};

use crate::helpers::{
    assert_redirects_to, echoed, location, spawn_app_with, Browser, TestApp, TestConfig,
};
use crate::mock_provider::decode_jwt;
use crate::redis_server::{cleanup, connect_shared, keys, shared_redis_prefix};

/// Which store a test body runs against.
#[derive(Clone, Debug)]
pub struct StoreSetup {
    /// The Redis key prefix of the Redis store; `None`: the cookie store.
    pub redis_prefix: Option<String>,
}

impl StoreSetup {
    pub fn is_redis(&self) -> bool {
        self.redis_prefix.is_some()
    }

    /// Configures `cfg` for this store (lines under `[session]`).
    pub fn apply(&self, cfg: &mut TestConfig) {
        if let Some(prefix) = &self.redis_prefix {
            cfg.session_extra.push_str(&format!(
                "store = \"redis\"\nredis_url = \"redis://127.0.0.1:6379\"\nkey_prefix = \"{prefix}\"\n"
            ));
        } else {
            cfg.session_extra.push_str("store = \"cookie\"\n");
        }
    }

    /// The Redis prefix; panics in the cookie store.
    pub fn prefix(&self) -> &str {
        self.redis_prefix.as_deref().expect("a Redis store test")
    }
}

/// Runs `body` with the cookie store, then with the Redis store (when the shared Redis
/// answers; see [`shared_redis_prefix`]).
pub async fn in_both_stores<F, Fut>(body: F)
where
    F: Fn(StoreSetup) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    run(StoreSetup { redis_prefix: None }, &body).await;
    in_redis_store(body).await;
}

/// Runs `body` with the Redis store under a fresh prefix, then deletes its keys.
pub async fn in_redis_store<F, Fut>(body: F)
where
    F: Fn(StoreSetup) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Some(prefix) = shared_redis_prefix() else {
        return;
    };
    run(
        StoreSetup {
            redis_prefix: Some(prefix),
        },
        &body,
    )
    .await;
}

async fn run<F, Fut>(setup: StoreSetup, body: &F)
where
    F: Fn(StoreSetup) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let store = if setup.is_redis() { "redis" } else { "cookie" };
    println!("--- store = \"{store}\"");
    let outcome = tokio::spawn(body(setup.clone())).await;
    if let Some(prefix) = &setup.redis_prefix {
        cleanup(prefix).await;
    }
    if let Err(error) = outcome {
        match error.try_into_panic() {
            Ok(panic) => {
                eprintln!("failed with store = \"{store}\"");
                std::panic::resume_unwind(panic)
            }
            Err(error) => panic!("store = \"{store}\": the test body did not finish: {error}"),
        }
    }
}

/// Whether `browser` gets through to the upstream as a program would ask.
pub async fn is_signed_in(app: &TestApp, browser: &Browser) -> bool {
    let resp = browser.client.get(app.url("/app")).send().await.unwrap();
    match resp.status() {
        StatusCode::OK => true,
        StatusCode::UNAUTHORIZED => false,
        other => panic!("expected 200 or 401, got {other}"),
    }
}

/// Signs the default browser out and returns the query of the provider's end-session
/// URL it was sent to.
async fn sign_out_at_provider(app: &TestApp) -> Vec<(String, String)> {
    let resp = app.navigate("/oauth2/sign_out").await;
    assert_redirects_to(&resp, &app.provider.url("/logout"));
    let target = url::Url::parse(&location(&resp)).unwrap();
    target.query_pairs().into_owned().collect()
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

/// The session the cookie store sealed into `browser`'s cookies (joined chunks).
fn cookie_session(app: &TestApp, browser: &Browser) -> Session {
    let mut cookies = app.session_cookies(browser);
    cookies.sort_by_key(|(name, _)| {
        name.rsplit('_')
            .next()
            .and_then(|n| n.parse::<usize>().ok())
            .unwrap_or(0)
    });
    let sealed: String = cookies.into_iter().map(|(_, value)| value).collect();
    Session::open(&app.session_codec(), &sealed, unix_now()).expect("the session cookie opens")
}

/// 300 group names of 30 characters each.
fn many_groups() -> Vec<String> {
    (0..300)
        .map(|i| format!("department-of-engineering-{i:04}"))
        .collect()
}

#[tokio::test]
async fn a_login_with_300_groups_works_and_sign_out_then_sends_client_id() {
    in_both_stores(|store| async move {
        let app = spawn_app_with(|c| {
            store.apply(c);
            c.behaviour.user.groups = many_groups();
        })
        .await;

        let resp = app.login(&app.browser, "/app/reports").await;
        assert_eq!(resp.status(), StatusCode::FOUND);
        assert_redirects_to(&resp, "/app/reports");
        let seen = echoed(app.get("/app/reports").await).await;

        assert_eq!(seen.header("x-forwarded-user"), Some("alice-sub-0001"));
        assert_eq!(seen.header("x-forwarded-email"), Some("alice@example.com"));
        assert_eq!(
            seen.header("x-forwarded-groups"),
            Some(many_groups().join(",").as_str())
        );
        if !store.is_redis() {
            assert!(
                cookie_session(&app, &app.browser).id_token.is_none(),
                "the cookie still carries the raw ID token"
            );
        }
        let params = sign_out_at_provider(&app).await;
        assert_eq!(param(&params, "client_id"), Some("portcullis-test"));
        // Either store: an ID token this big is never put in the end-session URL.
        assert_eq!(param(&params, "id_token_hint"), None, "{params:?}");
    })
    .await;
}

#[tokio::test]
async fn a_login_with_a_20_kb_id_token_works_and_sign_out_then_sends_client_id() {
    in_both_stores(|store| async move {
        let app = spawn_app_with(|c| {
            store.apply(c);
            c.behaviour
                .id_token_overrides
                .insert("profile_blob".into(), json!("p".repeat(20_000)));
        })
        .await;

        let resp = app.login(&app.browser, "/app").await;
        assert_eq!(resp.status(), StatusCode::FOUND);
        assert_redirects_to(&resp, "/app");
        let seen = echoed(app.get("/app").await).await;

        assert_eq!(seen.header("x-forwarded-user"), Some("alice-sub-0001"));
        assert_eq!(seen.header("x-forwarded-groups"), Some("staff,admins"));
        if !store.is_redis() {
            assert!(
                cookie_session(&app, &app.browser).id_token.is_none(),
                "the cookie still carries the raw ID token"
            );
        }
        let params = sign_out_at_provider(&app).await;
        assert_eq!(param(&params, "client_id"), Some("portcullis-test"));
        // Either store: an ID token this big is never put in the end-session URL.
        assert_eq!(param(&params, "id_token_hint"), None, "{params:?}");
    })
    .await;
}

#[tokio::test]
async fn with_a_small_id_token_sign_out_still_sends_id_token_hint() {
    in_both_stores(|store| async move {
        let app = spawn_app_with(|c| store.apply(c)).await;
        app.sign_in().await;

        let params = sign_out_at_provider(&app).await;

        let hint = param(&params, "id_token_hint").expect("an id_token_hint");
        let (_, claims) = decode_jwt(hint);
        assert_eq!(claims["sub"], "alice-sub-0001");
    })
    .await;
}

#[tokio::test]
async fn an_8_kb_id_token_still_reaches_an_upstream_with_pass_authorization_header() {
    in_both_stores(|store| async move {
        let app = spawn_app_with(|c| {
            store.apply(c);
            c.pass_authorization_header = true;
            c.behaviour
                .id_token_overrides
                .insert("profile_blob".into(), json!("q".repeat(8_000)));
        })
        .await;
        app.sign_in().await;

        let seen = echoed(app.get("/app").await).await;

        let bearer = seen
            .header("authorization")
            .expect("an Authorization header");
        let (_, claims) = decode_jwt(bearer.strip_prefix("Bearer ").expect("a Bearer token"));
        assert_eq!(claims["sub"], "alice-sub-0001");
        assert_eq!(claims["profile_blob"].as_str().map(str::len), Some(8_000));
    })
    .await;
}

/// `{prefix}session:…` as the Redis store names the entry of session id `id`:
/// SHA-256 over the id's length (8 bytes, big-endian) and the id, in hex.
pub fn entry_hash(id: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update((id.len() as u64).to_be_bytes());
    hasher.update(id.as_bytes());
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Every string value and set member under `prefix`, with its key.
async fn redis_contents(prefix: &str) -> Vec<(String, Vec<String>)> {
    redis_contents_matching(prefix, |_| true).await
}

/// The session entries and index sets under `prefix`, with their values and members
/// (sign-in also leaves one-time `used:flow:` records, which are not the session's).
async fn session_keys(prefix: &str) -> Vec<(String, Vec<String>)> {
    redis_contents_matching(prefix, |key| {
        key.contains(":session:") || key.contains(":index:")
    })
    .await
}

async fn redis_contents_matching(
    prefix: &str,
    wanted: impl Fn(&str) -> bool,
) -> Vec<(String, Vec<String>)> {
    let client = connect_shared().await;
    let mut contents = Vec::new();
    for key in keys(prefix).await.into_iter().filter(|key| wanted(key)) {
        let values: Vec<String> = if key.contains(":index:") {
            fred::prelude::SetsInterface::smembers(&client, &key)
                .await
                .unwrap()
        } else {
            let value: Option<String> = fred::prelude::KeysInterface::get(&client, &key)
                .await
                .unwrap();
            value.into_iter().collect()
        };
        contents.push((key, values));
    }
    contents
}

#[tokio::test]
async fn the_redis_store_keeps_a_short_cookie_and_nothing_in_clear_with_the_remaining_lifetime() {
    in_redis_store(|store| async move {
        let app = spawn_app_with(|c| {
            store.apply(c);
            c.lifetime = Some("1h".into());
            c.behaviour.sid = Some("provider-session-7f3a".into());
        })
        .await;
        app.sign_in().await;
        let cookies = app.session_cookies(&app.browser);
        let [(_, cookie)] = cookies.as_slice() else {
            panic!("expected one session cookie, got {cookies:?}");
        };

        assert!(cookie.len() < 200, "a {}-character cookie", cookie.len());
        let contents = redis_contents(store.prefix()).await;
        assert!(contents.len() >= 2, "{contents:?}");
        for (key, values) in &contents {
            for secret in [
                cookie.as_str(),
                "alice@example.com",
                "alice-sub-0001",
                "provider-session-7f3a",
            ] {
                assert!(!key.contains(secret), "{key} contains {secret}");
                assert!(
                    values.iter().all(|value| !value.contains(secret)),
                    "the value of {key} contains {secret}"
                );
            }
        }
        let entry = format!("{}session:{}", store.prefix(), entry_hash(cookie));
        assert!(
            contents.iter().any(|(key, _)| *key == entry),
            "no {entry} in {contents:?}"
        );
        let ttl: i64 = fred::prelude::KeysInterface::ttl(&connect_shared().await, &entry)
            .await
            .unwrap();
        assert!((3590..=3600).contains(&ttl), "TTL {ttl}");
    })
    .await;
}

#[tokio::test]
async fn redis_sign_out_deletes_the_entry_and_its_index_members_only() {
    in_redis_store(|store| async move {
        let app = spawn_app_with(|c| {
            store.apply(c);
            c.behaviour.sid = Some("provider-session-1".into());
        })
        .await;
        app.sign_in().await;
        app.provider
            .behave(|b| b.sid = Some("provider-session-2".into()));
        let other = app.login(&app.other_browser, "/").await;
        assert_redirects_to(&other, "/");
        let id_of = |browser: &Browser| app.session_cookies(browser).remove(0).1;
        let (mine, theirs) = (
            entry_hash(&id_of(&app.browser)),
            entry_hash(&id_of(&app.other_browser)),
        );
        let before = session_keys(store.prefix()).await;
        let members_of = |contents: &[(String, Vec<String>)], kind: &str| -> Vec<String> {
            contents
                .iter()
                .filter(|(key, _)| key.contains(&format!(":index:{kind}:")))
                .flat_map(|(_, members)| members.clone())
                .collect()
        };
        assert_eq!(
            before.len(),
            5,
            "two entries, one sub index, two sid indexes: {before:?}"
        );
        assert!(members_of(&before, "sub").contains(&mine));

        app.navigate("/oauth2/sign_out").await;

        let after = session_keys(store.prefix()).await;
        let keys_after: Vec<&String> = after.iter().map(|(key, _)| key).collect();
        assert_eq!(after.len(), 3, "{keys_after:?}");
        assert!(!keys_after.contains(&&format!("{}session:{mine}", store.prefix())));
        assert!(keys_after.contains(&&format!("{}session:{theirs}", store.prefix())));
        assert_eq!(members_of(&after, "sub"), vec![theirs.clone()]);
        assert_eq!(members_of(&after, "sid"), vec![theirs]);
        assert!(is_signed_in(&app, &app.other_browser).await);
    })
    .await;
}

#[tokio::test]
async fn sign_out_revokes_a_copied_cookie_but_not_the_users_other_session() {
    in_both_stores(|store| async move {
        let app = spawn_app_with(|c| store.apply(c)).await;
        app.sign_in().await;
        let other = app.login(&app.other_browser, "/").await;
        assert_redirects_to(&other, "/");
        let copy = app.browser_with_cookies(&app.session_cookies(&app.browser));
        assert!(is_signed_in(&app, &copy).await);

        app.navigate("/oauth2/sign_out").await;

        assert!(
            !is_signed_in(&app, &copy).await,
            "the copied cookie still works"
        );
        assert!(!is_signed_in(&app, &app.browser).await);
        assert!(
            is_signed_in(&app, &app.other_browser).await,
            "the user's other session ended too"
        );
    })
    .await;
}
