//! A session's life in both stores (DESIGN §6): `idle_timeout` (activity re-recorded while
//! used, the session ended once unused past it) and secret rotation (a session sealed with a
//! secret now in `previous_secrets` is accepted and re-sealed with the current one). The
//! waits are real seconds because `idle_timeout` counts them; they are not synchronisation.
//! Also what Redis holds counting on every request, though the store remembers the entries
//! it has opened.

use std::time::Duration;

use portcullis::identity::Identity;
use portcullis::session::{unix_now, Session};
use reqwest::StatusCode;

use crate::helpers::{set_cookies, spawn_app_with, Browser, TestApp, TEST_SESSION_SECRET};
use crate::redis_server::connect_shared;
use crate::redis_server::keys;
use crate::session_store::{entry_hash, in_both_stores, in_redis_store, is_signed_in, StoreSetup};

/// A GET of `/app` as a program would; returns the status and whether the answer set a
/// (non-empty) session cookie.
async fn use_session(app: &TestApp, browser: &Browser) -> (StatusCode, bool) {
    let resp = browser.client.get(app.url("/app")).send().await.unwrap();
    let name = format!("{}=", app.cookie_name());
    let resealed = set_cookies(&resp)
        .iter()
        .any(|line| line.starts_with(&name) && !line.starts_with(&format!("{name};")));
    (resp.status(), resealed)
}

/// The Redis store's session entries under the test's prefix.
async fn session_entries(store: &StoreSetup) -> Vec<String> {
    keys(store.prefix())
        .await
        .into_iter()
        .filter(|key| key.contains(":session:"))
        .collect()
}

#[tokio::test]
async fn idle_timeout_keeps_a_used_session_and_ends_an_unused_one() {
    in_both_stores(|store| async move {
        // Activity is recorded every quarter of idle_timeout, at least every second.
        let app = spawn_app_with(|c| {
            store.apply(c);
            c.session_extra.push_str("idle_timeout = \"3s\"\n");
        })
        .await;
        app.sign_in().await;

        // Used every 1.5 s for 4.5 s (longer than the timeout since sign-in): it lives on.
        for round in 1..=3 {
            tokio::time::sleep(Duration::from_millis(1500)).await;
            let (status, resealed) = use_session(&app, &app.browser).await;
            assert_eq!(status, StatusCode::OK, "use {round}");
            if !store.is_redis() {
                assert!(
                    resealed,
                    "use {round}: activity not re-recorded in the cookie"
                );
            }
        }
        // Then unused for longer than the timeout: signed out.
        tokio::time::sleep(Duration::from_millis(3500)).await;
        let (status, _) = use_session(&app, &app.browser).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        if store.is_redis() {
            assert_eq!(session_entries(&store).await, Vec::<String>::new());
        }
    })
    .await;
}

fn alice() -> Identity {
    Identity {
        user: "alice-sub-0001".into(),
        email: Some("alice@example.com".into()),
        preferred_username: Some("alice".into()),
        groups: vec![],
        provider: "mock".into(),
    }
}

#[tokio::test]
async fn a_cookie_last_seen_longer_ago_than_idle_timeout_is_signed_out() {
    let app = spawn_app_with(|c| c.session_extra.push_str("idle_timeout = \"10m\"\n")).await;
    let now = unix_now();
    let seen = |seen_at: u64| Session {
        issued_at: now - 3600,
        seen_at,
        checked_at: now,
        ..Session::new(alice(), now - 3600, 12 * 3600)
    };
    let idle = app.browser_with_session(&seen(now - 601));
    let active = app.browser_with_session(&seen(now - 60));

    assert!(!is_signed_in(&app, &idle).await);
    assert!(is_signed_in(&app, &active).await);
}

const NEW_SECRET: &str = "2222222222222222222222222222222222222222222222222222222222222222";

#[tokio::test]
async fn a_session_sealed_with_a_previous_secret_is_resealed_with_the_current_one() {
    in_both_stores(|store| async move {
        let old_only = spawn_app_with(|c| store.apply(c)).await;
        let both = spawn_app_with(|c| {
            store.apply(c);
            c.session_secret = NEW_SECRET.into();
            c.previous_secrets = vec![TEST_SESSION_SECRET.into()];
        })
        .await;
        let new_only = spawn_app_with(|c| {
            store.apply(c);
            c.session_secret = NEW_SECRET.into();
        })
        .await;
        old_only.sign_in().await;
        let sealed_with_old = old_only.session_cookies(&old_only.browser);
        let carried = both.browser_with_cookies(&sealed_with_old);
        assert!(
            !is_signed_in(&new_only, &new_only.browser_with_cookies(&sealed_with_old)).await,
            "a gateway without the old secret opened the old session"
        );

        let (status, resealed) = use_session(&both, &carried).await;

        assert_eq!(status, StatusCode::OK);
        let cookies = both.session_cookies(&carried);
        if store.is_redis() {
            // The cookie is the session id; the entry behind it was sealed again.
            assert_eq!(cookies, sealed_with_old);
        } else {
            assert!(resealed, "no new session cookie");
            assert_ne!(cookies, sealed_with_old);
        }
        let after = new_only.browser_with_cookies(&cookies);
        assert!(
            is_signed_in(&new_only, &after).await,
            "a gateway with only the new secret refused the re-sealed session"
        );
    })
    .await;
}

/// The Redis store remembers the entries it has opened, so the same bytes are not opened on
/// every request; what Redis holds still decides each request: an entry copied over another
/// session's opens for neither that session nor anyone else, and a deleted one is gone.
#[tokio::test]
async fn redis_decides_every_request_though_opened_entries_are_remembered() {
    in_redis_store(|store| async move {
        let app = spawn_app_with(|c| store.apply(c)).await;
        app.login(&app.browser, "/app").await;
        app.login(&app.other_browser, "/app").await;
        // Each entry opened (and remembered) at least once.
        assert!(is_signed_in(&app, &app.browser).await);
        assert!(is_signed_in(&app, &app.other_browser).await);
        let id = |browser: &Browser| app.session_cookies(browser)[0].1.clone();
        let entry = |id: &str| format!("{}session:{}", store.prefix(), entry_hash(id));
        let first = entry(&id(&app.browser));
        let second = entry(&id(&app.other_browser));

        let redis = connect_shared().await;
        let sealed: String = fred::prelude::KeysInterface::get(&redis, &first)
            .await
            .unwrap();
        let _: () = fred::prelude::KeysInterface::set(&redis, &second, sealed, None, None, false)
            .await
            .unwrap();
        assert!(
            !is_signed_in(&app, &app.other_browser).await,
            "the first session's entry, copied under the second's key, let the second browser in"
        );
        assert!(is_signed_in(&app, &app.browser).await);

        let _: i64 = fred::prelude::KeysInterface::del(&redis, &first)
            .await
            .unwrap();
        assert!(
            !is_signed_in(&app, &app.browser).await,
            "a deleted entry still let its browser in"
        );
    })
    .await;
}
