//! Several providers at once: one button each, in configuration order, with its logo.

use crate::helpers::{location, spawn_app_with};

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
