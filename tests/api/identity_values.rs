//! Identity values an upstream would read as someone else's (issue 9 point 8): a `sub`,
//! `preferred_username` or `name` with surrounding white space or a control character
//! (`"admin "` is `admin` to every header parser) refuses the login with a page naming the
//! claim, and refuses a bearer token; nothing reaches the upstream.

use reqwest::StatusCode;
use serde_json::{json, Map, Value};

use crate::helpers::{
    assert_no_session_cookie_set, assert_redirects_to, error_code, spawn_app_with, TestApp,
};
use crate::mock_provider::{Signing, UserClaims};

const AMBIGUOUS: [&str; 3] = ["admin ", " admin", "admin\t"];

/// Signs in against a provider that hands out `user`; checks that the login was refused as
/// a person sees it (a 400 page naming `claim`) and as a program does, and that the browser
/// is still signed out and the upstream saw nothing.
async fn assert_login_refused(user: UserClaims, claim: &str) {
    let app = spawn_app_with(|cfg| cfg.behaviour.user = user.clone()).await;

    let callback = app.begin_login(&app.browser, "/app").await;
    let page = app.finish_login(&app.browser, &callback).await;
    assert_no_session_cookie_set(&page, app.cookie_name());
    assert_eq!(page.status(), StatusCode::BAD_REQUEST, "{user:?}");
    let html = page.text().await.unwrap();
    assert!(html.contains(&format!("“{claim}”")), "{user:?}: {html}");

    let callback = app.begin_login(&app.other_browser, "/app").await;
    let program = app
        .finish_login_as_program(&app.other_browser, &callback)
        .await;
    assert_eq!(
        error_code(program).await,
        (StatusCode::BAD_REQUEST, "ambiguous_identity".to_owned()),
        "{user:?}"
    );

    assert!(app.session_cookies(&app.browser).is_empty());
    assert!(app.session_cookies(&app.other_browser).is_empty());
    let after = app.navigate("/app").await;
    assert_redirects_to(&after, "/oauth2/sign_in");
    assert!(
        app.upstream.requests().is_empty(),
        "{user:?} reached the upstream"
    );
}

#[tokio::test]
async fn a_sub_with_surrounding_white_space_or_a_tab_is_refused_at_login() {
    for sub in AMBIGUOUS {
        let user = UserClaims {
            sub: sub.to_owned(),
            ..UserClaims::default()
        };
        assert_login_refused(user, "sub").await;
    }
}

#[tokio::test]
async fn a_preferred_username_with_surrounding_white_space_or_a_tab_is_refused_at_login() {
    for username in AMBIGUOUS {
        let user = UserClaims {
            preferred_username: Some(username.to_owned()),
            ..UserClaims::default()
        };
        assert_login_refused(user, "preferred_username").await;
    }
}

#[tokio::test]
async fn a_name_standing_in_for_the_username_is_refused_at_login() {
    for name in AMBIGUOUS {
        let user = UserClaims {
            preferred_username: None,
            name: Some(name.to_owned()),
            ..UserClaims::default()
        };
        assert_login_refused(user, "name").await;
    }
}

#[tokio::test]
async fn an_honest_identity_with_inner_spaces_still_signs_in() {
    let user = UserClaims {
        preferred_username: None,
        name: Some("Alice Example".to_owned()),
        ..UserClaims::default()
    };
    let app = spawn_app_with(|cfg| cfg.behaviour.user = user).await;

    let resp = app.login(&app.browser, "/").await;

    assert_redirects_to(&resp, "/");
}

// ---- bearer tokens ----

const AUDIENCE: &str = "https://api.example.test";

async fn spawn_api_app() -> TestApp {
    spawn_app_with(|cfg| {
        cfg.provider_extra = format!("bearer = {{ audiences = [\"{AUDIENCE}\"] }}");
    })
    .await
}

fn token_claims(app: &TestApp, claim: &str, value: &str) -> Map<String, Value> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let mut claims = json!({
        "iss": app.provider.issuer(),
        "sub": "api-user-1",
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + 300,
        "email": "alice@example.com",
        "email_verified": true,
        "preferred_username": "alice",
    })
    .as_object()
    .unwrap()
    .clone();
    claims.insert(claim.to_owned(), json!(value));
    claims
}

#[tokio::test]
async fn a_bearer_token_naming_an_ambiguous_identity_is_invalid() {
    let app = spawn_api_app().await;
    let honest = app.provider.sign(
        &token_claims(&app, "sub", "api-user-1"),
        &Signing::Rs256,
        false,
    );
    let resp = app
        .request(reqwest::Method::GET, "/api/items")
        .bearer_auth(&honest)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK, "the honest token");
    let before = app.upstream.requests().len();

    for claim in ["sub", "preferred_username"] {
        for value in AMBIGUOUS {
            let token =
                app.provider
                    .sign(&token_claims(&app, claim, value), &Signing::Rs256, false);
            let resp = app
                .request(reqwest::Method::GET, "/api/items")
                .header("Accept", "application/json")
                .bearer_auth(&token)
                .send()
                .await
                .unwrap();
            let challenge = resp
                .headers()
                .get("www-authenticate")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            assert_eq!(
                error_code(resp).await,
                (StatusCode::UNAUTHORIZED, "invalid_token".to_owned()),
                "{claim} = {value:?}"
            );
            assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
        }
    }
    assert_eq!(
        app.upstream.requests().len(),
        before,
        "a token with an ambiguous identity reached the upstream"
    );
}
