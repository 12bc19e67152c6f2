//! `kind = "gitlab"`: OpenID Connect at `base_url`; every group from userinfo's `groups`
//! (the ID token carries only `groups_direct`).

use serde_json::json;

use crate::helpers::{assert_redirects_to, spawn_app_with, TestApp};
use crate::presets::fake::userinfo;

async fn gitlab_app(change: impl FnOnce(&mut crate::mock_provider::Behaviour)) -> TestApp {
    spawn_app_with(|c| {
        c.provider_id = "gitlab".into();
        c.provider_blocks = Some(
            "[[provider]]\nid = \"gitlab\"\nkind = \"gitlab\"\nbase_url = \"{issuer}\"\n\
             client_id = \"portcullis-test\"\nclient_secret = \"${MOCK_CLIENT_SECRET}\"\n"
                .into(),
        );
        let b = &mut c.behaviour;
        b.user.groups = vec!["acme".into(), "acme/platform".into()];
        b.id_token_overrides
            .insert("groups".into(), serde_json::Value::Null);
        b.id_token_overrides
            .insert("groups_direct".into(), json!(["acme"]));
        change(b);
    })
    .await
}

#[tokio::test]
async fn groups_come_from_userinfo() {
    let app = gitlab_app(|_| {}).await;

    let resp = app.login(&app.browser, "/").await;

    assert_redirects_to(&resp, "/");
    assert_eq!(
        app.provider.recorded().userinfo.len(),
        1,
        "userinfo fetched"
    );
    let me = userinfo(&app, &app.browser).await;
    assert_eq!(me["groups"], json!(["acme", "acme/platform"]));
    assert_eq!(me["provider"], "gitlab");
}

#[tokio::test]
async fn userinfo_for_another_subject_is_refused() {
    let app = gitlab_app(|b| b.userinfo_sub = Some("someone-else".into())).await;

    let resp = app.login(&app.browser, "/").await;

    assert_eq!(resp.status(), 400);
}

#[tokio::test]
async fn a_token_from_another_issuer_is_refused() {
    let app = gitlab_app(|b| b.id_token_iss = Some("https://gitlab.com".into())).await;

    let resp = app.login(&app.browser, "/").await;

    assert_eq!(resp.status(), 400);
    assert!(app.session_cookies(&app.browser).is_empty());
}
