//! A sign-in left open at the provider for longer than `login_timeout` (the flow cookie's
//! lifetime) fails with a page that says so and offers to start again, and leaves no session
//! (issue 3, point 4; DESIGN §1: the flow cookie is short-lived).

use std::time::Duration;

use super::journey::{is_session_cookie, Journey};
use super::support::{deployment_with_browser, Settings};

const LOGIN_TIMEOUT: &str = "2s";
/// How long the person dawdles at the provider's login form: past the 2 s lifetime. This
/// wait is the behaviour under test, not synchronisation.
const DAWDLE: Duration = Duration::from_secs(3);

#[tokio::test]
async fn login_left_open_past_login_timeout_fails_with_a_page_that_offers_to_start_again() {
    let settings = Settings {
        login_timeout: Some(LOGIN_TIMEOUT),
        ..Settings::default()
    };
    let Some((e2e, browser)) = deployment_with_browser(settings).await else {
        return;
    };
    let journey = Journey::new(&e2e, &browser);

    browser.goto(&e2e.url("/reports/q3?year=2026")).await;
    journey.expect_sign_in_page().await;
    journey.choose_provider().await;
    journey.expect_op_login_form().await;

    tokio::time::sleep(DAWDLE).await;

    journey.log_in_at_op("alice@example.com").await;
    journey.allow_at_op().await;
    let page = journey.expect_error_page("/oauth2/callback/op").await;
    assert_eq!(page.status.as_deref(), Some("Error 400"), "{page:?}");
    assert_eq!(page.title.as_deref(), Some("Sign-in failed"), "{page:?}");
    let message = page.message.clone().unwrap_or_default();
    assert!(
        message.contains("expired") && message.contains("start again"),
        "the page does not say the sign-in expired: {page:?}"
    );
    assert!(
        page.request_id.as_deref().is_some_and(|id| !id.is_empty()),
        "{page:?}"
    );
    assert_eq!(
        page.retry_href.as_deref(),
        Some("/oauth2/sign_in"),
        "{page:?}"
    );
    assert_eq!(page.retry_text.as_deref(), Some("Try again"), "{page:?}");
    let cookies = journey.gateway_cookies().await;
    assert!(
        !cookies.iter().any(|c| is_session_cookie(&c.name)),
        "a session cookie was set by an expired sign-in: {cookies:?}"
    );

    // "Try again" starts again: the sign-in page, whose button signs in at once (the
    // provider still has its session) and this time succeeds.
    browser.click("main a.button").await;
    journey.expect_sign_in_page().await;
    journey.choose_provider().await;
    let echo = journey.expect_echo_at(&e2e.url("/")).await;
    assert_eq!(echo.header("x-forwarded-email"), Some("alice@example.com"));

    browser.close().await;
}
