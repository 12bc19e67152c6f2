//! Sign-out cannot be forced from another site (issue 9 point 13, logout CSRF): a cross-site
//! GET or form POST gets a "Sign out?" page whose button POSTs with a token bound to the
//! browser's session; only that POST, or a same-site or typed request, signs out.

use reqwest::header::{ACCEPT, CONTENT_TYPE, ORIGIN, REFERER};
use reqwest::{RequestBuilder, Response, StatusCode};

use crate::helpers::{
    assert_redirects_to, location, set_cookies, spawn_app, Browser, TestApp, BROWSER_ACCEPT,
};

const EVIL: &str = "https://evil.example";

fn navigation(
    app: &TestApp,
    browser: &Browser,
    method: reqwest::Method,
    path: &str,
) -> RequestBuilder {
    browser
        .client
        .request(method, app.url(path))
        .header(ACCEPT, BROWSER_ACCEPT)
}

async fn is_signed_in(app: &TestApp, browser: &Browser) -> bool {
    let resp = browser
        .client
        .get(app.url("/oauth2/userinfo"))
        .send()
        .await
        .unwrap();
    resp.status() == StatusCode::OK
}

/// Asserts that `resp` is the confirmation page and left the session alone; returns the
/// form's action and CSRF token.
async fn assert_confirmation_page(app: &TestApp, resp: Response) -> (String, String) {
    assert_eq!(resp.status(), StatusCode::OK, "not the confirmation page");
    for cookie in set_cookies(&resp) {
        assert!(
            !cookie.starts_with(&format!("{}=", app.cookie_name())),
            "the session cookie was touched: {cookie}"
        );
    }
    let html = resp.text().await.unwrap();
    assert!(html.contains("Sign out?"), "{html}");
    let action = attribute_after(&html, "<form", "action");
    let token = attribute_after(&html, "name=\"csrf_token\"", "value");
    assert!(action.starts_with("/oauth2/sign_out"), "{action}");
    assert!(token.len() >= 32, "{token}");
    assert!(is_signed_in(app, &app.browser).await, "signed out");
    assert!(app.provider.recorded().end_session.is_empty());
    (action.replace("&amp;", "&"), token)
}

/// The value of attribute `name` in the first tag at or after `marker`.
fn attribute_after(html: &str, marker: &str, name: &str) -> String {
    let at = html
        .find(marker)
        .unwrap_or_else(|| panic!("no {marker} in {html}"));
    let rest = &html[at..];
    let start = rest
        .find(&format!("{name}=\""))
        .unwrap_or_else(|| panic!("no {name} after {marker}"))
        + name.len()
        + 2;
    let end = rest[start..].find('"').unwrap() + start;
    rest[start..end].to_owned()
}

async fn assert_signed_out_to_provider(app: &TestApp, resp: &Response) {
    assert_redirects_to(resp, &app.provider.url("/logout"));
    assert!(app.session_cookies(&app.browser).is_empty());
    assert!(!is_signed_in(app, &app.browser).await);
}

/// The confirmation button's answer: signed out, and a page that moves on to the provider's
/// end-session endpoint (a redirect there would break the CSP's `form-action 'self'`).
async fn assert_signed_out_on_to_provider(app: &TestApp, resp: Response) {
    assert_eq!(resp.status(), StatusCode::OK);
    let html = resp.text().await.unwrap();
    let refresh = attribute_after(&html, "http-equiv=\"refresh\"", "content");
    let next = refresh
        .strip_prefix("0; url=")
        .unwrap_or_else(|| panic!("{refresh}"))
        .replace("&amp;", "&");
    assert!(next.starts_with(&app.provider.url("/logout?")), "{next}");
    assert!(next.contains("id_token_hint="), "{next}");
    assert!(app.session_cookies(&app.browser).is_empty());
    assert!(!is_signed_in(app, &app.browser).await);
}

#[tokio::test]
async fn a_cross_site_get_asks_for_confirmation() {
    let app = spawn_app().await;
    app.sign_in().await;

    let resp = navigation(&app, &app.browser, reqwest::Method::GET, "/oauth2/sign_out")
        .header("Sec-Fetch-Site", "cross-site")
        .send()
        .await
        .unwrap();

    assert_confirmation_page(&app, resp).await;
}

#[tokio::test]
async fn a_get_referred_by_another_site_asks_for_confirmation() {
    let app = spawn_app().await;
    app.sign_in().await;

    let resp = navigation(&app, &app.browser, reqwest::Method::GET, "/oauth2/sign_out")
        .header(REFERER, format!("{EVIL}/innocent-page"))
        .send()
        .await
        .unwrap();

    assert_confirmation_page(&app, resp).await;
}

#[tokio::test]
async fn a_cross_site_form_post_without_the_token_does_not_sign_out() {
    let app = spawn_app().await;
    app.sign_in().await;

    for sec_fetch_site in [Some("cross-site"), None] {
        let mut request = navigation(
            &app,
            &app.browser,
            reqwest::Method::POST,
            "/oauth2/sign_out",
        )
        .header(ORIGIN, EVIL)
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body("rd=%2F");
        if let Some(value) = sec_fetch_site {
            request = request.header("Sec-Fetch-Site", value);
        }
        let resp = request.send().await.unwrap();

        assert_confirmation_page(&app, resp).await;
    }
}

#[tokio::test]
async fn a_token_from_another_session_does_not_sign_out() {
    let app = spawn_app().await;
    app.sign_in().await;
    let attacker = app.other_browser.clone();
    app.login(&attacker, "/").await;
    let page = navigation(&app, &attacker, reqwest::Method::GET, "/oauth2/sign_out")
        .header("Sec-Fetch-Site", "cross-site")
        .send()
        .await
        .unwrap();
    let html = page.text().await.unwrap();
    let attackers_token = attribute_after(&html, "name=\"csrf_token\"", "value");

    let resp = navigation(
        &app,
        &app.browser,
        reqwest::Method::POST,
        "/oauth2/sign_out",
    )
    .header("Sec-Fetch-Site", "cross-site")
    .header(ORIGIN, EVIL)
    .form(&[("csrf_token", attackers_token.as_str())])
    .send()
    .await
    .unwrap();

    assert_confirmation_page(&app, resp).await;
    assert!(is_signed_in(&app, &attacker).await);
}

#[tokio::test]
async fn the_confirmation_button_signs_out_and_logs_out_at_the_provider() {
    let app = spawn_app().await;
    app.sign_in().await;
    let page = navigation(
        &app,
        &app.browser,
        reqwest::Method::GET,
        "/oauth2/sign_out?rd=%2Fbye",
    )
    .header("Sec-Fetch-Site", "cross-site")
    .send()
    .await
    .unwrap();
    let (action, token) = assert_confirmation_page(&app, page).await;

    // The gateway's own page answers with `Referrer-Policy: no-referrer`, so the browser
    // sends `Origin: null` with the form.
    let resp = navigation(&app, &app.browser, reqwest::Method::POST, &action)
        .header("Sec-Fetch-Site", "same-origin")
        .header(ORIGIN, "null")
        .form(&[("csrf_token", token.as_str())])
        .send()
        .await
        .unwrap();

    assert_signed_out_on_to_provider(&app, resp).await;
}

#[tokio::test]
async fn the_token_alone_signs_out_whatever_the_headers_say() {
    let app = spawn_app().await;
    app.sign_in().await;
    let page = navigation(&app, &app.browser, reqwest::Method::GET, "/oauth2/sign_out")
        .header("Sec-Fetch-Site", "cross-site")
        .send()
        .await
        .unwrap();
    let (action, token) = assert_confirmation_page(&app, page).await;

    let resp = navigation(&app, &app.browser, reqwest::Method::POST, &action)
        .header(ORIGIN, "null")
        .form(&[("csrf_token", token.as_str())])
        .send()
        .await
        .unwrap();

    assert_signed_out_on_to_provider(&app, resp).await;
}

#[tokio::test]
async fn same_site_typed_and_unmarked_requests_sign_out_in_one_click() {
    // `{gateway}` stands for the gateway's address.
    let cases = [
        ("same-origin", Some(("Sec-Fetch-Site", "same-origin"))),
        ("same-site", Some(("Sec-Fetch-Site", "same-site"))),
        ("typed", Some(("Sec-Fetch-Site", "none"))),
        ("own referer", Some(("Referer", "{gateway}/app/page"))),
        ("no header", None),
    ];
    for (case, header) in cases {
        let app = spawn_app().await;
        app.sign_in().await;
        let mut request = navigation(&app, &app.browser, reqwest::Method::GET, "/oauth2/sign_out");
        if let Some((name, value)) = header {
            request = request.header(name, value.replace("{gateway}", &app.address));
        }

        let resp = request.send().await.unwrap();

        assert!(
            resp.status().is_redirection(),
            "{case}: {} instead of a redirect",
            resp.status()
        );
        assert_eq!(
            location(&resp).split('?').next(),
            Some(app.provider.url("/logout").as_str()),
            "{case}"
        );
        assert_signed_out_to_provider(&app, &resp).await;
    }
}

#[tokio::test]
async fn a_same_origin_form_post_signs_out_in_one_click() {
    let app = spawn_app().await;
    app.sign_in().await;

    let resp = navigation(
        &app,
        &app.browser,
        reqwest::Method::POST,
        "/oauth2/sign_out",
    )
    .header("Sec-Fetch-Site", "same-origin")
    .header(ORIGIN, app.address.clone())
    .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
    .body("")
    .send()
    .await
    .unwrap();

    assert_signed_out_to_provider(&app, &resp).await;
}
