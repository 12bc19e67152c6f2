//! Session cookies (DESIGN §5 item 7, §6): their attributes, chunking, and that anything
//! the gateway did not seal with its own secret, or sealed too long ago, is simply "signed
//! out": a 401 or a redirect to sign in, never a 500 and never a way through.

use portcullis::identity::Identity;
use portcullis::session::{unix_now, Session};
use reqwest::StatusCode;

use crate::helpers::{
    assert_redirects_to, echoed, set_cookies, spawn_app, spawn_app_with, Browser, TestApp,
};
use crate::mock_provider::UserClaims;

/// Whether `browser` gets through to the upstream as a program would ask.
async fn is_signed_in(app: &TestApp, browser: &Browser) -> bool {
    let resp = browser.client.get(app.url("/app")).send().await.unwrap();
    match resp.status() {
        StatusCode::OK => true,
        StatusCode::UNAUTHORIZED => false,
        other => panic!("expected 200 or 401, got {other}"),
    }
}

fn session_cookie_line<'a>(lines: &'a [String], name: &str) -> &'a str {
    lines
        .iter()
        .find(|line| line.starts_with(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no {name} cookie in {lines:?}"))
}

fn with_char_flipped(value: &str, at: usize) -> String {
    value
        .char_indices()
        .map(|(i, c)| match (i == at, c) {
            (true, 'A') => 'B',
            (true, _) => 'A',
            (false, c) => c,
        })
        .collect()
}

fn alice() -> Identity {
    Identity {
        user: "forged-sub".into(),
        email: Some("alice@example.com".into()),
        preferred_username: Some("forged".into()),
        groups: vec![],
        provider: "mock".into(),
    }
}

#[tokio::test]
async fn the_session_cookie_is_http_only_lax_and_not_secure_on_http() {
    let app = spawn_app().await;

    let resp = app.login(&app.browser, "/").await;

    let lines = set_cookies(&resp);
    let cookie = session_cookie_line(&lines, "_portcullis");
    let attributes: Vec<String> = cookie
        .split(';')
        .skip(1)
        .map(|a| a.trim().to_ascii_lowercase())
        .collect();
    assert!(attributes.contains(&"httponly".into()), "{cookie}");
    assert!(attributes.contains(&"samesite=lax".into()), "{cookie}");
    assert!(attributes.contains(&"path=/".into()), "{cookie}");
    assert!(!attributes.contains(&"secure".into()), "{cookie}");
    assert!(attributes.contains(&"max-age=43200".into()), "{cookie}");
}

#[tokio::test]
async fn the_configured_lifetime_and_cookie_name_are_used() {
    let app = spawn_app_with(|cfg| {
        cfg.lifetime = Some("2h".into());
        cfg.cookie_name = Some("_gw".into());
    })
    .await;

    let resp = app.login(&app.browser, "/").await;

    let lines = set_cookies(&resp);
    let cookie = session_cookie_line(&lines, "_gw");
    assert!(
        cookie.to_ascii_lowercase().contains("max-age=7200"),
        "{cookie}"
    );
    assert!(is_signed_in(&app, &app.browser).await);
}

#[tokio::test]
async fn a_tampered_session_cookie_is_signed_out() {
    let app = spawn_app().await;
    app.sign_in().await;
    let (name, value) = app.session_cookies(&app.browser).remove(0);
    let tampered = app.browser_with_cookies(&[(name, with_char_flipped(&value, value.len() / 2))]);

    let signed_in = is_signed_in(&app, &tampered).await;

    assert!(!signed_in);
    assert!(
        is_signed_in(&app, &app.browser).await,
        "the original cookie stopped working"
    );
}

#[tokio::test]
async fn a_truncated_session_cookie_is_signed_out() {
    let app = spawn_app().await;
    app.sign_in().await;
    let (name, value) = app.session_cookies(&app.browser).remove(0);
    let truncated = app.browser_with_cookies(&[(name, value[..value.len() - 10].to_owned())]);

    let signed_in = is_signed_in(&app, &truncated).await;

    assert!(!signed_in);
}

#[tokio::test]
async fn garbage_session_cookies_are_signed_out_never_an_error() {
    let app = spawn_app().await;
    let garbage = [
        String::new(),
        "x".into(),
        "!!!!****".into(),
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".into(),
        "eyJhbGciOiJub25lIn0.eyJzdWIiOiJtYWxsb3J5In0.".into(),
        "%00%ff%fe".into(),
        "A".repeat(3500),
    ];

    for value in garbage {
        let browser = app.browser_with_cookies(&[("_portcullis".into(), value.clone())]);

        let api = browser.client.get(app.url("/app")).send().await.unwrap();
        let navigation = browser.navigate(&app.url("/app")).await;

        assert_eq!(api.status(), StatusCode::UNAUTHORIZED, "cookie {value:?}");
        assert_redirects_to(&navigation, "/oauth2/sign_in");
    }
    assert!(app.upstream.requests().is_empty());
}

#[tokio::test]
async fn a_cookie_sealed_with_another_secret_is_signed_out() {
    let first = spawn_app().await;
    first.sign_in().await;
    let cookies = first.session_cookies(&first.browser);
    let second = spawn_app_with(|cfg| {
        cfg.session_secret = "11".repeat(32);
    })
    .await;
    let foreign = second.browser_with_cookies(&cookies);

    let signed_in = is_signed_in(&second, &foreign).await;

    assert!(!signed_in);
}

#[tokio::test]
async fn a_cookie_sealed_with_a_previous_secret_is_still_accepted() {
    let first = spawn_app().await;
    first.sign_in().await;
    let cookies = first.session_cookies(&first.browser);
    let rotated = spawn_app_with(|cfg| {
        cfg.previous_secrets = vec![cfg.session_secret.clone()];
        cfg.session_secret = "22".repeat(32);
    })
    .await;
    let carried_over = rotated.browser_with_cookies(&cookies);

    let signed_in = is_signed_in(&rotated, &carried_over).await;

    assert!(signed_in);
}

#[tokio::test]
async fn a_session_sealed_with_the_right_secret_and_within_its_lifetime_is_accepted() {
    let app = spawn_app().await;
    let now = unix_now();
    let session = Session {
        issued_at: now - 60,
        expires_at: now + 3600,
        checked_at: now,
        ..Session::new(alice(), 0, 0)
    };
    let browser = app.browser_with_session(&session);

    let resp = browser.client.get(app.url("/app")).send().await.unwrap();

    assert_eq!(
        echoed(resp).await.header("x-forwarded-user"),
        Some("forged-sub")
    );
}

#[tokio::test]
async fn an_expired_session_is_signed_out() {
    let app = spawn_app().await;
    let now = unix_now();
    let session = Session {
        issued_at: now - 7200,
        expires_at: now - 1,
        checked_at: now,
        ..Session::new(alice(), 0, 0)
    };
    let browser = app.browser_with_session(&session);

    let signed_in = is_signed_in(&app, &browser).await;

    assert!(!signed_in);
}

#[tokio::test]
async fn a_session_older_than_the_configured_lifetime_is_signed_out() {
    // Sealed two hours ago while the lifetime was longer; it is now one hour.
    let app = spawn_app_with(|c| c.lifetime = Some("1h".into())).await;
    let now = unix_now();
    let session = Session {
        issued_at: now - 7200,
        expires_at: now + 3600,
        checked_at: now,
        ..Session::new(alice(), 0, 0)
    };
    let browser = app.browser_with_session(&session);

    let signed_in = is_signed_in(&app, &browser).await;

    assert!(!signed_in);
}

#[tokio::test]
async fn a_session_issued_in_the_future_is_signed_out() {
    let app = spawn_app().await;
    let now = unix_now();
    let session = Session {
        issued_at: now + 3600,
        expires_at: now + 7200,
        checked_at: now,
        ..Session::new(alice(), 0, 0)
    };
    let browser = app.browser_with_session(&session);

    let signed_in = is_signed_in(&app, &browser).await;

    assert!(!signed_in);
}

#[tokio::test]
async fn a_flow_cookie_cannot_be_used_as_a_session() {
    let app = spawn_app().await;
    app.begin_login(&app.browser, "/").await;
    let (_, flow) = app
        .browser
        .cookies(&app.callback_url())
        .into_iter()
        .find(|(name, _)| name.starts_with("_portcullis_flow_"))
        .expect("a flow cookie");
    let browser = app.browser_with_cookies(&[("_portcullis".into(), flow)]);

    let signed_in = is_signed_in(&app, &browser).await;

    assert!(!signed_in);
}

fn many_groups() -> Vec<String> {
    (0..160)
        .map(|i| format!("engineering-team-{i:04}"))
        .collect()
}

#[tokio::test]
async fn a_large_session_is_split_into_chunks_that_browsers_keep() {
    let app = spawn_app().await;
    app.provider.behave(|b| {
        b.user = UserClaims {
            groups: many_groups(),
            ..UserClaims::default()
        }
    });

    let resp = app.login(&app.browser, "/").await;
    assert_redirects_to(&resp, "/");
    let seen = echoed(app.get("/app").await).await;

    let chunks: Vec<String> = set_cookies(&resp)
        .into_iter()
        .filter(|line| line.starts_with("_portcullis_") && !line.starts_with("_portcullis_flow_"))
        .collect();
    assert!(chunks.len() >= 2, "expected chunks, got {chunks:?}");
    for line in &chunks {
        assert!(line.len() < 4096, "a {}-byte Set-Cookie", line.len());
    }
    assert_eq!(
        seen.header("x-forwarded-groups"),
        Some(many_groups().join(",").as_str())
    );
}

#[tokio::test]
async fn a_session_too_large_for_its_cookies_refuses_the_login_instead_of_looping() {
    // More groups than ten cookie chunks hold: a session the gateway could not read back
    // would send the browser straight back to sign in, again and again.
    let app = spawn_app().await;
    app.provider.behave(|b| {
        b.user = UserClaims {
            groups: (0..1500)
                .map(|i| format!("engineering-team-{i:04}"))
                .collect(),
            ..UserClaims::default()
        }
    });

    let callback = app.begin_login(&app.browser, "/").await;
    let resp = app.finish_login_as_program(&app.browser, &callback).await;

    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert!(app.session_cookies(&app.browser).is_empty());
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "session_too_large");
}

#[tokio::test]
async fn a_chunked_session_missing_a_chunk_is_signed_out() {
    let app = spawn_app().await;
    app.provider.behave(|b| {
        b.user = UserClaims {
            groups: many_groups(),
            ..UserClaims::default()
        }
    });
    app.sign_in().await;
    let partial: Vec<(String, String)> = app
        .session_cookies(&app.browser)
        .into_iter()
        .filter(|(name, _)| name != "_portcullis_1")
        .collect();
    let browser = app.browser_with_cookies(&partial);

    let signed_in = is_signed_in(&app, &browser).await;

    assert!(!signed_in);
}

#[tokio::test]
async fn sign_out_clears_every_chunk() {
    let app = spawn_app().await;
    app.provider.behave(|b| {
        b.user = UserClaims {
            groups: many_groups(),
            ..UserClaims::default()
        }
    });
    app.sign_in().await;
    let chunk_count = app.session_cookies(&app.browser).len();

    let resp = app.navigate("/oauth2/sign_out").await;

    assert!(chunk_count >= 2);
    assert!(
        app.session_cookies(&app.browser).is_empty(),
        "{:?}",
        set_cookies(&resp)
    );
    assert!(!is_signed_in(&app, &app.browser).await);
}
