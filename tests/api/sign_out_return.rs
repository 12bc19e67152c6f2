//! The way back from the provider's end-session endpoint (issue 15 point 2, RP-Initiated
//! Logout 1.0 §2-3): sign-out sends a random `state`; only that state, coming back to
//! `/oauth2/signed_out` in the same browser, is trusted (for the sign-out's `rd`); a return
//! without one still shows the signed-out page, a wrong one is trusted for nothing.

use reqwest::StatusCode;

use crate::helpers::{assert_redirects_to, location, set_cookies, spawn_app, TestApp};

/// Signs in, signs out with `query`, and returns the end-session URL the browser was sent to.
async fn sign_out_at_the_provider(app: &TestApp, query: &str) -> url::Url {
    app.sign_in().await;
    let resp = app.navigate(&format!("/oauth2/sign_out{query}")).await;
    assert_redirects_to(&resp, &app.provider.url("/logout"));
    assert!(
        set_cookies(&resp).iter().any(|c| c
            .starts_with(&format!("{}_signout=", app.cookie_name()))
            && c.contains("Path=/oauth2/signed_out")
            && c.contains("HttpOnly")),
        "no sign-out cookie: {:?}",
        set_cookies(&resp)
    );
    url::Url::parse(&location(&resp)).unwrap()
}

fn param(url: &url::Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

fn clears_the_sign_out_cookie(app: &TestApp, resp: &reqwest::Response) -> bool {
    set_cookies(resp)
        .iter()
        .any(|c| c.starts_with(&format!("{}_signout=;", app.cookie_name())))
}

#[tokio::test]
async fn the_end_session_request_carries_a_fresh_random_state() {
    let app = spawn_app().await;

    let first = sign_out_at_the_provider(&app, "").await;
    let second = sign_out_at_the_provider(&app, "").await;

    let first = param(&first, "state").expect("state on the end-session request");
    let second = param(&second, "state").unwrap();
    assert!(first.len() >= 43, "{first}");
    assert_ne!(first, second);
}

#[tokio::test]
async fn the_state_coming_back_confirms_the_sign_out_at_the_provider() {
    let app = spawn_app().await;
    let end_session = sign_out_at_the_provider(&app, "").await;

    // The mock provider sends the browser back with the state, as glewlwyd does.
    let back = app.browser.navigate(end_session.as_str()).await;
    assert_redirects_to(&back, &app.url("/oauth2/signed_out?state="));
    let page = app.browser.navigate(&location(&back)).await;

    assert_eq!(page.status(), StatusCode::OK);
    assert!(clears_the_sign_out_cookie(&app, &page));
    let html = page.text().await.unwrap();
    assert!(html.contains("signed out at Mock OpenID too"), "{html}");
}

#[tokio::test]
async fn the_state_coming_back_leads_on_to_the_sign_outs_rd() {
    let app = spawn_app().await;
    let end_session = sign_out_at_the_provider(&app, "?rd=%2Fgoodbye").await;

    let back = app.browser.navigate(end_session.as_str()).await;
    let returned = app.browser.navigate(&location(&back)).await;

    assert_redirects_to(&returned, "/goodbye");
    assert!(clears_the_sign_out_cookie(&app, &returned));
    // One sign-out, one return: the same URL again is only the plain page.
    let again = app.browser.navigate(&location(&back)).await;
    assert_eq!(again.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_return_without_state_still_shows_the_signed_out_page() {
    let app = spawn_app().await;
    sign_out_at_the_provider(&app, "?rd=%2Fgoodbye").await;

    // A provider that drops `state` sends the browser to the bare redirect URI.
    let page = app.navigate("/oauth2/signed_out").await;

    assert_eq!(page.status(), StatusCode::OK, "rd followed without a state");
    assert!(clears_the_sign_out_cookie(&app, &page));
    let html = page.text().await.unwrap();
    assert!(html.contains("You are signed out"), "{html}");
    assert!(!html.contains("signed out at Mock OpenID"), "{html}");
}

#[tokio::test]
async fn a_wrong_state_is_trusted_for_nothing() {
    let app = spawn_app().await;
    let end_session = sign_out_at_the_provider(&app, "?rd=%2Fgoodbye").await;
    let mut forged = param(&end_session, "state").unwrap();
    forged.replace_range(0..1, if forged.starts_with('A') { "B" } else { "A" });

    let page = app
        .navigate(&format!("/oauth2/signed_out?state={forged}"))
        .await;

    assert_eq!(
        page.status(),
        StatusCode::OK,
        "rd followed on a wrong state"
    );
    assert!(clears_the_sign_out_cookie(&app, &page));
    let html = page.text().await.unwrap();
    assert!(!html.contains("signed out at Mock OpenID"), "{html}");
}

#[tokio::test]
async fn a_state_in_another_browser_is_trusted_for_nothing() {
    let app = spawn_app().await;
    let end_session = sign_out_at_the_provider(&app, "?rd=%2Fgoodbye").await;
    let stranger = crate::helpers::Browser::new();

    let back = stranger.navigate(end_session.as_str()).await;
    let page = stranger.navigate(&location(&back)).await;

    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(!html.contains("signed out at Mock OpenID"), "{html}");
}
