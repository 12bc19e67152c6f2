//! After signing out, the browser's back button must not bring the protected page back
//! (issue 3, point 4): the gateway serves protected pages with `Cache-Control: no-store`,
//! so going back fetches them again and the signed-out browser is sent to sign in.

use super::journey::Journey;
use super::support::{deployment_with_browser, Page, Settings};

const DEEP_LINK: &str = "/payroll/2026?employee=42";

#[tokio::test]
async fn back_button_after_sign_out_does_not_show_the_protected_page() {
    let Some((e2e, browser)) = deployment_with_browser(Settings::default()).await else {
        return;
    };
    let journey = Journey::new(&e2e, &browser);
    let deep_link = e2e.url(DEEP_LINK);
    let echo = journey.sign_in(DEEP_LINK, "alice@example.com").await;
    assert_eq!(echo.header("x-forwarded-email"), Some("alice@example.com"));
    journey.sign_out().await;

    // Back through the provider's logout page to the history entry of the protected page.
    let mut steps = Vec::new();
    for _ in 0..4 {
        browser.back().await;
        let url = browser.current_url().await;
        steps.push(url.to_string());
        if url.as_str().starts_with(&e2e.gateway) && url.path() != "/oauth2/signed_out" {
            break;
        }
    }

    let at_link = |url: &url::Url| url.as_str() == deep_link;
    let at_sign_in =
        |url: &url::Url| url.as_str().starts_with(&e2e.gateway) && url.path() == "/oauth2/sign_in";
    let (shown, _) = browser
        .wait_for_one_of(&[
            Page::new(
                "the sign-in page",
                &at_sign_in,
                super::journey::PROVIDER_BUTTON,
            ),
            Page::new("the protected page from history", &at_link, "table.headers"),
        ])
        .await;
    let text = browser.body_text().await;
    assert!(
        shown == 0 && !text.contains("alice@example.com"),
        "after sign-out, Back ({steps:?}) shows the protected page again:\n{text}"
    );

    // A reload does not bring it back either.
    browser.refresh().await;
    journey.expect_sign_in_page().await;
    assert!(!browser.body_text().await.contains("alice@example.com"));

    browser.close().await;
}
