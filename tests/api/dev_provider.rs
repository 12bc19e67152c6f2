//! The embedded development provider (`kind = "dev"`, issue 10): a whole sign-in through
//! its pages, and its refusals shown through the gateway's one error renderer (with the
//! request id) rather than a page of its own.

use reqwest::header::ACCEPT;
use reqwest::StatusCode;
use url::Url;

use crate::helpers::{assert_redirects_to, location, spawn_app_with, TestApp};

pub(crate) async fn spawn_dev_app() -> TestApp {
    spawn_app_with(|c| {
        c.provider_id = "dev".into();
        c.provider_blocks = Some("[[provider]]\nid = \"dev\"\nkind = \"dev\"\n".into());
        c.extra_toml = "\n[[upstream]]\npath = \"/echo\"\nurl = \"builtin:echo\"\n".into();
    })
    .await
}

/// Through the development provider's form as `email`, from a login started for `rd`: the
/// gateway's answer at the callback.
pub(crate) async fn sign_in_as(app: &TestApp, rd: &str, email: &str) -> reqwest::Response {
    let start = app.browser.navigate(&app.start_url(rd)).await;
    assert_redirects_to(&start, &app.url("/oauth2/dev/authorize"));
    let authorize = Url::parse(&location(&start)).unwrap();
    let mut fields: Vec<(String, String)> = authorize.query_pairs().into_owned().collect();
    fields.push(("email".into(), email.into()));
    let submitted = app
        .client
        .post(app.url("/oauth2/dev/authorize"))
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_redirects_to(&submitted, &app.callback_url());
    app.browser.navigate(&location(&submitted)).await
}

/// The echo page lists who signed in before the browser's own headers (issue 15 point 5:
/// on a phone, the identity came after 14 browser headers).
#[tokio::test]
async fn the_echo_page_shows_the_identity_first() {
    let app = spawn_dev_app().await;
    let callback = sign_in_as(&app, "/echo/", "ada@example.com").await;
    assert_redirects_to(&callback, "/echo/");

    let page = app
        .browser
        .client
        .get(app.url("/echo/"))
        .header(ACCEPT, crate::helpers::BROWSER_ACCEPT)
        .header("user-agent", "Mozilla/5.0 (Linux; Android 14)")
        .send()
        .await
        .unwrap();

    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    let row = |name: &str| {
        html.find(&format!("<th scope=\"row\">{name}</th>"))
            .unwrap_or_else(|| panic!("no {name} row: {html}"))
    };
    for identity in [
        "x-forwarded-user",
        "x-forwarded-email",
        "x-forwarded-provider",
    ] {
        for other in ["user-agent", "accept", "host", "x-forwarded-for"] {
            assert!(
                row(identity) < row(other),
                "{identity} after {other}: {html}"
            );
        }
    }
    assert!(html.contains("<td>ada@example.com</td>"), "{html}");
}

/// "Sign in with a different account" on the "Access denied" page leads back to the
/// development provider's form, where another identity can be entered.
#[tokio::test]
async fn a_refused_identity_can_sign_in_again_as_another() {
    let app = spawn_dev_app().await;

    let denied = sign_in_as(&app, "/echo/", "mallory@other.org").await;

    assert_eq!(denied.status(), StatusCode::FORBIDDEN);
    let html = denied.text().await.unwrap();
    assert!(html.contains("<h1>Access denied</h1>"), "{html}");
    assert!(html.contains(">mallory@other.org</strong>"), "{html}");
    let other = "/oauth2/start?provider=dev&rd=%2Fecho%2F&prompt=select_account";
    assert!(
        html.contains(&format!("href=\"{}\"", other.replace('&', "&amp;"))),
        "{html}"
    );
    let start = app.browser.navigate(&app.url(other)).await;
    assert_redirects_to(&start, &app.url("/oauth2/dev/authorize"));
    let form = app.browser.navigate(&location(&start)).await;
    assert_eq!(form.status(), StatusCode::OK);
    assert!(form.text().await.unwrap().contains("Sign in as"));
    let callback = sign_in_as(&app, "/echo/", "ada@example.com").await;
    assert_redirects_to(&callback, "/echo/");
}

/// `/oauth2/start` → the development provider's authorization URL.
async fn authorization_url(app: &TestApp) -> Url {
    let start = app.browser.navigate(&app.start_url("/")).await;
    assert_redirects_to(&start, &app.url("/oauth2/dev/authorize"));
    Url::parse(&location(&start)).unwrap()
}

#[tokio::test]
async fn a_person_signs_in_through_the_development_provider() {
    let app = spawn_dev_app().await;
    let authorize = authorization_url(&app).await;

    let form = app.browser.navigate(authorize.as_str()).await;
    assert_eq!(form.status(), StatusCode::OK);
    let callback = sign_in_as(&app, "/", "ada@example.com").await;
    assert_redirects_to(&callback, "/");

    let me: serde_json::Value = app
        .client
        .get(app.url("/oauth2/userinfo"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["email"], "ada@example.com");
}

#[tokio::test]
async fn a_refused_authorization_request_is_a_page_with_the_request_id() {
    let app = spawn_dev_app().await;
    let mut authorize = authorization_url(&app).await;
    let tampered: Vec<(String, String)> = authorize
        .query_pairs()
        .into_owned()
        .map(|(k, v)| match k.as_str() {
            "client_id" => (k, "someone-else".to_owned()),
            _ => (k, v),
        })
        .collect();
    authorize.query_pairs_mut().clear().extend_pairs(&tampered);

    let resp = app.browser.navigate(authorize.as_str()).await;

    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let request_id = resp
        .headers()
        .get("x-request-id")
        .expect("x-request-id")
        .to_str()
        .unwrap()
        .to_owned();
    let page = resp.text().await.unwrap();
    assert!(page.contains("unknown client_id"), "{page}");
    assert!(
        page.contains(&request_id),
        "no request id in the page: {page}"
    );

    // A program gets the same refusal as JSON.
    let json: serde_json::Value = app
        .client
        .get(authorize.as_str())
        .header(ACCEPT, "application/json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(json["error"], "bad_request");
}
