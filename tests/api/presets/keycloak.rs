//! `kind = "keycloak"`: the realm URL is the issuer; realm roles and groups become groups.

use serde_json::json;

use crate::helpers::{assert_redirects_to, spawn_app_with, TestApp};
use crate::mock_provider::NonceMode;
use crate::presets::fake::userinfo;

async fn keycloak_app(change: impl FnOnce(&mut crate::mock_provider::Behaviour)) -> TestApp {
    spawn_app_with(|c| {
        c.provider_id = "sso".into();
        c.provider_blocks = Some(
            "[[provider]]\nid = \"sso\"\nkind = \"keycloak\"\nrealm_url = \"{issuer}\"\n\
             client_id = \"portcullis-test\"\nclient_secret = \"${MOCK_CLIENT_SECRET}\"\n"
                .into(),
        );
        c.extra_toml = "[[upstream]]\npath = \"/admin\"\nurl = \"{echo}\"\n\
                        allow = { groups = [\"admin\"] }\n"
            .into();
        let b = &mut c.behaviour;
        b.user.groups = vec!["/staff".into()];
        b.id_token_overrides.insert(
            "realm_access".into(),
            json!({ "roles": ["admin", "offline_access"] }),
        );
        change(b);
    })
    .await
}

#[tokio::test]
async fn realm_roles_and_groups_are_groups() {
    let app = keycloak_app(|_| {}).await;

    let resp = app.login(&app.browser, "/").await;

    assert_redirects_to(&resp, "/");
    let me = userinfo(&app, &app.browser).await;
    assert_eq!(me["groups"], json!(["/staff", "admin", "offline_access"]));
    assert_eq!(
        app.get("/admin/x").await.status(),
        200,
        "the admin role passes the route rule"
    );
}

#[tokio::test]
async fn without_the_role_the_route_is_refused() {
    let app = keycloak_app(|b| {
        b.id_token_overrides
            .insert("realm_access".into(), json!({ "roles": ["user"] }));
    })
    .await;

    assert_redirects_to(&app.login(&app.browser, "/").await, "/");
    assert_eq!(app.get("/admin/x").await.status(), 403);
}

#[tokio::test]
async fn a_token_for_another_client_is_refused() {
    let app = keycloak_app(|b| b.id_token_aud = Some(json!("another-client"))).await;

    assert_eq!(app.login(&app.browser, "/").await.status(), 400);
}

#[tokio::test]
async fn a_replayed_nonce_is_refused() {
    let app = keycloak_app(|b| b.nonce = NonceMode::Wrong).await;

    assert_eq!(app.login(&app.browser, "/").await.status(), 400);
}
