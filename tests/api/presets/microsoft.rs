//! `kind = "microsoft"` with `tenant = "organizations"`: discovery names the `{tenantid}`
//! issuer template; the token's `iss` must be the template filled with its `tid`, which must
//! be in `tenants`; a groups overage is refused, not silently dropped.

use serde_json::{json, Map, Value};

use crate::helpers::{assert_redirects_to, spawn_app_with, TestApp};
use crate::presets::fake::{now, userinfo, Fake};

const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const OTHER_TENANT: &str = "0b9c1a52-3e57-4c6e-9e5d-7f1b9d6a2c11";

async fn entra() -> (Fake, TestApp) {
    let fake = Fake::start().await;
    let base = fake.url.clone();
    // As https://login.microsoftonline.com/organizations/v2.0/.well-known/openid-configuration answers.
    fake.answer(
        "/organizations/v2.0/.well-known/openid-configuration",
        json!({
            "issuer": format!("{base}/{{tenantid}}/v2.0"),
            "authorization_endpoint": format!("{base}/organizations/oauth2/v2.0/authorize"),
            "token_endpoint": format!("{base}/organizations/oauth2/v2.0/token"),
            "jwks_uri": format!("{base}/organizations/discovery/v2.0/keys"),
            "userinfo_endpoint": format!("{base}/oidc/userinfo"),
            "end_session_endpoint": format!("{base}/organizations/oauth2/v2.0/logout"),
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nonce", "tid", "email"],
            "tenant_region_scope": null,
            "cloud_instance_name": "microsoftonline.com",
        }),
    );
    fake.answer("/organizations/discovery/v2.0/keys", Fake::jwks());
    fake.script().token = json!({
        "token_type": "Bearer",
        "scope": "openid profile email",
        "expires_in": 3599,
        "access_token": "eyJ0eXAi.entra-access-token",
    });
    fake.script().id_token = Some(claims(TENANT, TENANT, &base));
    let block = format!(
        "[[provider]]\nid = \"entra\"\nkind = \"microsoft\"\nbase_url = \"{base}\"\n\
         tenant = \"organizations\"\ntenants = [\"{TENANT}\"]\nclient_id = \"portcullis-test\"\n\
         client_secret = \"${{MOCK_CLIENT_SECRET}}\"\n"
    );
    let app = spawn_app_with(|c| {
        c.provider_id = "entra".into();
        c.provider_blocks = Some(block);
    })
    .await;
    (fake, app)
}

/// An Entra v2.0 ID token as documented in "ID token claims reference".
fn claims(iss_tenant: &str, tid: &str, base: &str) -> Map<String, Value> {
    let now = now();
    let Value::Object(claims) = json!({
        "ver": "2.0",
        "iss": format!("{base}/{iss_tenant}/v2.0"),
        "sub": "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ",
        "aud": "portcullis-test",
        "exp": now + 3600,
        "iat": now,
        "nbf": now,
        "name": "Alice Example",
        "preferred_username": "alice@example.com",
        "email": "alice@example.com",
        "xms_edov": true,
        "oid": "00000000-0000-0000-66f3-3332eca7ea81",
        "tid": tid,
        "groups": ["b7a1c2d3-0000-4000-8000-000000000001"],
    }) else {
        unreachable!()
    };
    claims
}

#[tokio::test]
async fn an_allowed_tenant_signs_in_with_its_groups() {
    let (fake, app) = entra().await;

    let resp = fake.login(&app, &app.browser, "entra").await;

    assert_redirects_to(&resp, "/");
    let me = userinfo(&app, &app.browser).await;
    assert_eq!(me["email"], "alice@example.com");
    assert_eq!(
        me["groups"],
        json!(["b7a1c2d3-0000-4000-8000-000000000001"])
    );
    assert_eq!(me["provider"], "entra");
    assert!(fake.script().authorize[0].get("nonce").is_some());
}

#[tokio::test]
async fn a_token_from_another_tenant_is_refused() {
    let (fake, app) = entra().await;
    fake.script().id_token = Some(claims(OTHER_TENANT, OTHER_TENANT, &fake.url));

    let resp = fake.login(&app, &app.browser, "entra").await;

    assert_eq!(resp.status(), 403);
    assert!(app.session_cookies(&app.browser).is_empty());
}

#[tokio::test]
async fn an_issuer_that_does_not_match_tid_is_refused() {
    let (fake, app) = entra().await;
    fake.script().id_token = Some(claims(OTHER_TENANT, TENANT, &fake.url));

    let resp = fake.login(&app, &app.browser, "entra").await;

    assert_eq!(resp.status(), 400);
}

#[tokio::test]
async fn a_groups_overage_is_reported_not_dropped() {
    let (fake, app) = entra().await;
    let mut overage = claims(TENANT, TENANT, &fake.url);
    overage.remove("groups");
    overage.insert("_claim_names".into(), json!({ "groups": "src1" }));
    overage.insert(
        "_claim_sources".into(),
        json!({ "src1": { "endpoint": "https://graph.microsoft.com/v1.0/users/x/getMemberObjects" } }),
    );
    fake.script().id_token = Some(overage);

    let resp = fake.login(&app, &app.browser, "entra").await;

    // The email is verified and its domain admitted: only the overage refuses the login
    // (the log line names it), instead of a session with an empty group list.
    assert_eq!(resp.status(), 403);
    assert!(app.session_cookies(&app.browser).is_empty());
}

#[tokio::test]
async fn an_email_entra_does_not_vouch_for_is_dropped() {
    let (fake, app) = entra().await;
    let mut unverified = claims(TENANT, TENANT, &fake.url);
    unverified.remove("xms_edov");
    fake.script().id_token = Some(unverified);

    let resp = fake.login(&app, &app.browser, "entra").await;

    // No verified email: the email_domains rule cannot admit the user.
    assert_eq!(resp.status(), 403);
}
