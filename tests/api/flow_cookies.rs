//! Flow cookies stay few and small, and each is good for one sign-in (issue 9 points 7 and
//! 12): abandoned sign-ins cannot grow the callback's `Cookie` header past what a reverse
//! proxy accepts, and a consumed flow cookie replayed with a fresh code issues no session.

use reqwest::cookie::CookieStore as _;
use reqwest::StatusCode;

use crate::helpers::{
    assert_no_session_cookie_set, assert_redirects_to, error_code, location, spawn_app, Browser,
    TestApp,
};

/// nginx's default `large_client_header_buffers 4 8k` refuses a header line over 8 KB; the
/// flow cookies of one browser must stay well under it.
const COOKIE_HEADER_BOUND: usize = 2048;

fn flow_cookies(app: &TestApp, browser: &Browser) -> Vec<(String, String)> {
    browser
        .cookies(&app.callback_url())
        .into_iter()
        .filter(|(name, _)| name.starts_with("_portcullis_flow_"))
        .collect()
}

/// The `Cookie` header `browser` sends with `url`, in bytes.
fn cookie_header_len(browser: &Browser, url: &str) -> usize {
    browser
        .jar
        .cookies(&url::Url::parse(url).unwrap())
        .map_or(0, |value| value.len())
}

#[tokio::test]
async fn thirty_abandoned_sign_ins_do_not_stop_the_thirty_first() {
    let app = spawn_app().await;
    for i in 0..30 {
        let start = app
            .browser
            .navigate(&app.start_url(&format!("/abandoned/{i}?tab={i}")))
            .await;
        assert_redirects_to(&start, &app.provider.url("/authorize"));
    }

    let callback = app.begin_login(&app.browser, "/finally").await;
    let header_len = cookie_header_len(&app.browser, &callback);
    let flows = flow_cookies(&app, &app.browser).len();
    let resp = app.finish_login(&app.browser, &callback).await;

    assert!(
        header_len < COOKIE_HEADER_BOUND,
        "the callback's Cookie header is {header_len} bytes with {flows} flow cookies"
    );
    assert!(flows <= 4, "{flows} flow cookies in the jar");
    assert_redirects_to(&resp, "/finally");
    assert!(!app.session_cookies(&app.browser).is_empty());
}

#[tokio::test]
async fn a_new_sign_in_evicts_the_oldest_beyond_four() {
    let app = spawn_app().await;
    let mut callbacks = Vec::new();
    for tab in 0..5 {
        callbacks.push(app.begin_login(&app.browser, &format!("/tab/{tab}")).await);
    }

    let oldest = app
        .finish_login_as_program(&app.browser, &callbacks[0])
        .await;
    assert_no_session_cookie_set(&oldest, app.cookie_name());
    assert_eq!(
        error_code(oldest).await,
        (StatusCode::BAD_REQUEST, "no_flow_cookie".to_owned())
    );
    for (tab, callback) in callbacks.iter().enumerate().skip(1).rev() {
        let resp = app.finish_login(&app.browser, callback).await;
        assert_redirects_to(&resp, &format!("/tab/{tab}"));
    }
    assert!(flow_cookies(&app, &app.browser).is_empty());
}

#[tokio::test]
async fn a_flow_cookie_carries_little() {
    let app = spawn_app().await;

    app.begin_login(&app.browser, "/a/rather/ordinary/page?with=query")
        .await;

    let flows = flow_cookies(&app, &app.browser);
    assert_eq!(flows.len(), 1);
    let (name, value) = &flows[0];
    // 412 bytes before the flow carried one seed instead of three secrets.
    assert!(
        name.len() + value.len() < 256,
        "a {}-byte flow cookie",
        name.len() + value.len() + 1
    );
}

#[tokio::test]
async fn a_long_destination_does_not_make_a_large_flow_cookie() {
    let app = spawn_app().await;
    let long = format!("/report?filter={}", "x".repeat(1800));

    app.begin_login(&app.browser, &long).await;

    let flows = flow_cookies(&app, &app.browser);
    let size: usize = flows.iter().map(|(n, v)| n.len() + v.len() + 1).sum();
    assert!(size < 1000, "a {size}-byte flow cookie");
}

#[tokio::test]
async fn a_consumed_flow_cookie_replayed_with_a_new_code_is_refused() {
    let app = spawn_app().await;
    let start = app.browser.navigate(&app.start_url("/")).await;
    let authorize_url = location(&start);
    let stolen = flow_cookies(&app, &app.browser);
    let authorize = app.browser.navigate(&authorize_url).await;
    let first = app.finish_login(&app.browser, &location(&authorize)).await;
    assert_redirects_to(&first, "/");
    // The provider hands out another code for the same authorization request: same state,
    // same nonce, same PKCE challenge.
    let again = Browser::new().navigate(&authorize_url).await;
    assert_redirects_to(&again, &app.callback_url());
    let replayer = app.browser_with_cookies(&stolen);

    let resp = app
        .finish_login_as_program(&replayer, &location(&again))
        .await;

    assert_no_session_cookie_set(&resp, app.cookie_name());
    assert_eq!(
        error_code(resp).await,
        (StatusCode::BAD_REQUEST, "flow_replayed".to_owned())
    );
    assert!(app.session_cookies(&replayer).is_empty());
    assert_eq!(
        app.provider.recorded().token.len(),
        1,
        "the second code was redeemed"
    );
}
