//! `allow_unverified_email` (issue 15 point 2): providers that never send `email_verified`
//! (glewlwyd, LemonLDAP::NG) are refused by default with a page and a log line that name the
//! missing claim and the option; with the option, their email counts; `email_verified: false`
//! never does.

use reqwest::StatusCode;

use crate::helpers::{assert_redirects_to, echoed, spawn_app_with, TestApp};
use crate::mock_provider::UserClaims;

fn carol(verified: Option<bool>) -> UserClaims {
    UserClaims {
        email: Some("carol@example.com".to_owned()),
        email_verified: verified,
        ..UserClaims::default()
    }
}

async fn app(allow_unverified_email: bool, verified: Option<bool>) -> TestApp {
    spawn_app_with(|cfg| {
        cfg.behaviour.user = carol(verified);
        if allow_unverified_email {
            cfg.provider_extra = "allow_unverified_email = true\n".to_owned();
        }
    })
    .await
}

#[tokio::test]
async fn by_default_an_email_without_email_verified_is_refused_naming_claim_and_option() {
    let app = app(false, None).await;

    let callback = app.begin_login(&app.browser, "/").await;
    let resp = app.finish_login(&app.browser, &callback).await;

    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let html = resp.text().await.unwrap();
    assert!(html.contains("email_verified"), "{html}");
    assert!(html.contains("allow_unverified_email = true"), "{html}");
    assert_eq!(
        app.get("/oauth2/userinfo").await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn with_the_option_an_email_without_email_verified_counts() {
    let app = app(true, None).await;

    let resp = app.login(&app.browser, "/").await;

    assert_redirects_to(&resp, "/");
    let info: serde_json::Value = app.get("/oauth2/userinfo").await.json().await.unwrap();
    assert_eq!(info["email"], "carol@example.com");
    let seen = echoed(app.get("/app").await).await;
    assert_eq!(seen.header("x-forwarded-email"), Some("carol@example.com"));
}

#[tokio::test]
async fn with_the_option_email_verified_false_is_still_refused() {
    let app = app(true, Some(false)).await;

    let callback = app.begin_login(&app.browser, "/").await;
    let resp = app.finish_login(&app.browser, &callback).await;

    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let html = resp.text().await.unwrap();
    assert!(html.contains("not verified"), "{html}");
}
