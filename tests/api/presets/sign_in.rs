//! Several providers at once: one button each, in configuration order, with its logo.

use crate::helpers::{echoed, location, spawn_app_with};

#[tokio::test]
async fn three_providers_get_three_buttons_in_order_with_logos() {
    let app = spawn_app_with(|c| {
        c.provider_id = "google".into();
        c.provider_blocks = Some(
            "[[provider]]\nid = \"google\"\nkind = \"google\"\nissuer = \"{issuer}\"\n\
             client_id = \"portcullis-test\"\nclient_secret = \"${MOCK_CLIENT_SECRET}\"\n\n\
             [[provider]]\nid = \"github\"\nkind = \"github\"\nclient_id = \"Iv1.x\"\n\
             client_secret = \"${MOCK_CLIENT_SECRET}\"\n\n\
             [[provider]]\nid = \"corp\"\nkind = \"oauth2\"\nname = \"Corp ID\"\n\
             auth_url = \"https://id.example.com/authorize\"\n\
             token_url = \"https://id.example.com/token\"\n\
             userinfo_url = \"https://id.example.com/me\"\n\
             client_id = \"portcullis\"\nclient_secret = \"${MOCK_CLIENT_SECRET}\"\n"
                .into(),
        );
    })
    .await;

    let page = app.navigate("/oauth2/sign_in?rd=%2Fapp").await;

    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    let at = |needle: &str| {
        html.find(needle)
            .unwrap_or_else(|| panic!("{needle} not on the page:\n{html}"))
    };
    let google = at("/oauth2/start?provider=google&amp;rd=%2Fapp");
    let github = at("/oauth2/start?provider=github&amp;rd=%2Fapp");
    let corp = at("/oauth2/start?provider=corp&amp;rd=%2Fapp");
    assert!(google < github && github < corp, "configuration order");
    assert!(at("/oauth2/static/google.svg") < at("/oauth2/static/github.svg"));
    assert!(at("/oauth2/static/github.svg") < at("/oauth2/static/key.svg"));
    at("Sign in with Google");
    at("Sign in with GitHub");
    at("Sign in with Corp ID");

    for logo in ["google.svg", "github.svg", "key.svg"] {
        let resp = app.get(&format!("/oauth2/static/{logo}")).await;
        assert_eq!(resp.status(), 200, "{logo}");
        assert_eq!(resp.headers()["content-type"], "image/svg+xml");
    }
}

#[tokio::test]
async fn each_provider_has_its_own_callback_and_github_gets_pkce() {
    let app = spawn_app_with(|c| {
        c.provider_id = "google".into();
        c.provider_blocks = Some(
            "[[provider]]\nid = \"google\"\nkind = \"google\"\nissuer = \"{issuer}\"\n\
             client_id = \"portcullis-test\"\nclient_secret = \"${MOCK_CLIENT_SECRET}\"\n\n\
             [[provider]]\nid = \"github\"\nkind = \"github\"\nclient_id = \"Iv1.x\"\n\
             client_secret = \"${MOCK_CLIENT_SECRET}\"\n"
                .into(),
        );
    })
    .await;

    let resp = app.navigate("/oauth2/start?provider=github&rd=%2F").await;

    let target = url::Url::parse(&location(&resp)).unwrap();
    assert_eq!(
        target.as_str().split('?').next(),
        Some("https://github.com/login/oauth/authorize")
    );
    let query: std::collections::HashMap<_, _> = target.query_pairs().into_owned().collect();
    assert_eq!(query["redirect_uri"], app.url("/oauth2/callback/github"));
    assert_eq!(query["code_challenge_method"], "S256");
    assert!(!query.contains_key("nonce"));

    let resp = app.navigate("/oauth2/start?provider=google&rd=%2F").await;
    let target = url::Url::parse(&location(&resp)).unwrap();
    let query: std::collections::HashMap<_, _> = target.query_pairs().into_owned().collect();
    assert_eq!(query["redirect_uri"], app.url("/oauth2/callback/google"));
}

#[tokio::test]
async fn the_session_remembers_its_provider_and_routes_can_require_one() {
    // Arrange: two OpenID providers on one sign-in page; a route for each one's users.
    let block = |id: &str| {
        format!(
            "[[provider]]\nid = \"{id}\"\nkind = \"oidc\"\nissuer = \"{{issuer}}\"\n\
             client_id = \"portcullis-test\"\nclient_secret = \"${{MOCK_CLIENT_SECRET}}\"\n"
        )
    };
    let app = spawn_app_with(|c| {
        c.provider_id = "corp".into();
        c.provider_blocks = Some(format!("{}\n{}", block("partners"), block("corp")));
        c.extra_toml = "[[upstream]]\npath = \"/corp-only\"\nurl = \"{echo}\"\n\
                        allow = { providers = [\"corp\"] }\n\n\
                        [[upstream]]\npath = \"/partners-only\"\nurl = \"{echo}\"\n\
                        allow = { providers = [\"partners\"] }\n"
            .into();
    })
    .await;
    let sign_in = app.navigate("/oauth2/sign_in").await.text().await.unwrap();
    assert!(sign_in.contains("provider=partners") && sign_in.contains("provider=corp"));

    // Act: sign in with the second provider.
    app.sign_in().await;
    let userinfo: serde_json::Value = app.get("/oauth2/userinfo").await.json().await.unwrap();
    let corp = app.get("/corp-only/report").await;
    let partners = app.get("/partners-only/report").await;

    // Assert
    assert_eq!(userinfo["provider"], "corp");
    assert_eq!(corp.status(), 200);
    assert_eq!(
        echoed(corp).await.header("x-forwarded-provider"),
        Some("corp")
    );
    assert_eq!(partners.status(), 403);
}
