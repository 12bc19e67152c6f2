//! Logout CSRF in a real browser (issue 9 point 13): a link to `/oauth2/sign_out` on another
//! site leads to the gateway's "Sign out?" page and leaves the session alone; its button,
//! under the gateway's strict CSP and `Referrer-Policy: no-referrer`, signs out.

use super::journey::{is_session_cookie, Journey};
use super::support::{deployment_with_chromium, Settings};

#[tokio::test]
async fn a_sign_out_link_on_another_site_asks_first_and_the_button_signs_out() {
    let Some((e2e, browser)) = deployment_with_chromium(Settings::default()).await else {
        return;
    };
    let journey = Journey::new(&e2e, &browser);
    journey.sign_in("/inbox", "alice@example.com").await;

    // A page of another site (a `data:` document has an opaque origin: cross-site).
    let sign_out = e2e.url("/oauth2/sign_out");
    browser
        .goto(&format!(
            "data:text/html,<a id=\"out\" href=\"{sign_out}\">Win a prize</a>"
        ))
        .await;
    browser.click("#out").await;
    browser
        .wait_for_page(
            "the gateway's sign-out confirmation",
            |url| url.as_str().starts_with(&e2e.gateway) && url.path() == "/oauth2/sign_out",
            "form button[type=submit]",
        )
        .await;
    assert!(
        browser.body_text().await.contains("Sign out?"),
        "{}",
        browser.body_text().await
    );
    assert!(
        journey
            .gateway_cookies()
            .await
            .iter()
            .any(|c| is_session_cookie(&c.name)),
        "the link from another site signed the browser out"
    );

    // The button: on to the provider's logout, then the signed-out page.
    browser.click("form button[type=submit]").await;
    journey.confirm_sign_out_at_op().await;
    browser.goto(&e2e.url("/inbox")).await;
    journey.expect_sign_in_page().await;
    assert!(
        !journey
            .gateway_cookies()
            .await
            .iter()
            .any(|c| is_session_cookie(&c.name)),
        "still signed in after the confirmation"
    );

    browser.close().await;
}
