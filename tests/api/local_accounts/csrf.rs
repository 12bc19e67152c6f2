//! The sign-in form only counts when it comes from a sign-in page this gateway showed this
//! browser (DESIGN §10; RFC 9700 §4.7): a missing, forged or foreign token, a missing form
//! cookie, or a browser saying the form came from another site is a 403 with the sign-in
//! page again, and no session, even with the right password.

use reqwest::{Response, StatusCode};

use super::fixture::{
    open_sign_in, post_form, signed_in, spawn_local, LocalApp, User, PASSWORD, PROVIDER,
};
use crate::helpers::{assert_no_session_cookie_set, Browser};

async fn spawn() -> LocalApp {
    spawn_local(&[User::new("alice")], "").await
}

/// The form's fields with alice's right password and `token`.
fn fields(token: Option<&str>) -> Vec<(&'static str, String)> {
    let mut fields = vec![
        ("username", "alice".to_owned()),
        ("password", PASSWORD.to_owned()),
        ("rd", "/x".to_owned()),
    ];
    if let Some(token) = token {
        fields.push(("csrf_token", token.to_owned()));
    }
    fields
}

async fn post(
    app: &LocalApp,
    browser: &Browser,
    token: Option<&str>,
    headers: &[(&str, &str)],
) -> Response {
    let fields = fields(token);
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    post_form(app, browser, &fields, headers).await
}

/// A 403 showing the sign-in form again, with no session for `browser`.
async fn assert_refused(app: &LocalApp, browser: &Browser, resp: Response) {
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert_no_session_cookie_set(&resp, app.cookie_name());
    let page = resp.text().await.unwrap();
    assert!(
        page.contains(&format!("action=\"/oauth2/local/{PROVIDER}\"")),
        "not the sign-in page: {page}"
    );
    assert!(!signed_in(app, browser).await, "signed in after all");
}

/// A token the sign-in page gave `browser`.
async fn token_of(app: &LocalApp, browser: &Browser) -> String {
    open_sign_in(app, browser, "/x").await.csrf_token()
}

#[tokio::test]
async fn a_form_from_the_page_with_same_origin_headers_signs_in() {
    let app = spawn().await;
    let token = token_of(&app, &app.browser).await;
    let origin = app.address.clone();

    let resp = post(
        &app,
        &app.browser,
        Some(&token),
        &[("Sec-Fetch-Site", "same-origin"), ("Origin", &origin)],
    )
    .await;

    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert!(signed_in(&app, &app.browser).await);
}

#[tokio::test]
async fn a_form_without_a_token_is_refused() {
    let app = spawn().await;
    token_of(&app, &app.browser).await;

    let resp = post(&app, &app.browser, None, &[]).await;

    assert_refused(&app, &app.browser, resp).await;
}

#[tokio::test]
async fn a_made_up_token_is_refused() {
    let app = spawn().await;
    token_of(&app, &app.browser).await;

    let resp = post(
        &app,
        &app.browser,
        Some("bm90IGEgdG9rZW4gb2YgdGhpcyBnYXRld2F5"),
        &[],
    )
    .await;

    assert_refused(&app, &app.browser, resp).await;
}

#[tokio::test]
async fn a_token_from_another_browser_is_refused() {
    let app = spawn().await;
    token_of(&app, &app.browser).await;
    let foreign = token_of(&app, &app.other_browser).await;

    let resp = post(&app, &app.browser, Some(&foreign), &[]).await;

    assert_refused(&app, &app.browser, resp).await;
}

#[tokio::test]
async fn a_token_without_the_form_cookie_is_refused() {
    let app = spawn().await;
    let token = token_of(&app, &app.browser).await;
    let cookieless = Browser::new();

    let resp = post(&app, &cookieless, Some(&token), &[]).await;

    assert_refused(&app, &cookieless, resp).await;
}

#[tokio::test]
async fn a_form_the_browser_says_came_from_another_site_is_refused() {
    let app = spawn().await;
    let token = token_of(&app, &app.browser).await;

    let resp = post(
        &app,
        &app.browser,
        Some(&token),
        &[("Sec-Fetch-Site", "cross-site")],
    )
    .await;

    assert_refused(&app, &app.browser, resp).await;
}

#[tokio::test]
async fn a_form_from_another_origin_is_refused() {
    let app = spawn().await;
    let token = token_of(&app, &app.browser).await;

    let resp = post(
        &app,
        &app.browser,
        Some(&token),
        &[("Origin", "https://evil.example")],
    )
    .await;

    assert_refused(&app, &app.browser, resp).await;
}
