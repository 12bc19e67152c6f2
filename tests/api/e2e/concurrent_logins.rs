//! Two tabs of one browser start signing in before either finishes (issue 3, point 4): each
//! login has its own flow cookie, so neither clobbers the other and both tabs end at their
//! own deep links (DESIGN §1: "several logins in several tabs must not clobber each other").

use super::journey::Journey;
use super::support::{deployment_with_chromium, Page, Settings};

#[tokio::test]
async fn two_tabs_signing_in_at_once_both_end_signed_in_at_their_own_deep_links() {
    let Some((e2e, browser)) = deployment_with_chromium(Settings::default()).await else {
        return;
    };
    let journey = Journey::new(&e2e, &browser);
    let first_link = e2e.url("/inbox?tab=first");
    let second_link = e2e.url("/calendar/week?tab=second&day=mon");

    // Both tabs reach the provider's login form before either signs in.
    let first_tab = browser.current_tab().await;
    browser.goto(&first_link).await;
    journey.expect_sign_in_page().await;
    let second_tab = browser.new_tab().await;
    browser.goto(&second_link).await;
    journey.expect_sign_in_page().await;

    browser.switch_to(&first_tab).await;
    journey.choose_provider().await;
    journey.expect_op_login_form().await;
    browser.switch_to(&second_tab).await;
    journey.choose_provider().await;
    journey.expect_op_login_form().await;
    let flows = journey
        .gateway_cookies()
        .await
        .into_iter()
        .filter(|c| c.name.starts_with("_portcullis_flow_"))
        .count();
    assert_eq!(flows, 2, "each tab's login should have its own flow cookie");

    // The second tab finishes first…
    journey.log_in_at_op("alice@example.com").await;
    journey.allow_at_op().await;
    let second = journey.expect_echo_at(&second_link).await;
    assert_eq!(
        second.header("x-forwarded-email"),
        Some("alice@example.com")
    );

    // …then the first tab, whose login form was shown before the provider had a session.
    // Depending on the provider, it may not ask for consent a second time.
    browser.switch_to(&first_tab).await;
    journey.log_in_at_op("alice@example.com").await;
    let on_op = |url: &url::Url| journey.on_provider(url);
    let at_link = |url: &url::Url| url.as_str() == first_link;
    let (shown, _) = browser
        .wait_for_one_of(&[
            Page::new("the provider's consent screen", &on_op, "#allow"),
            Page::new("the first tab's deep link", &at_link, "table.headers"),
        ])
        .await;
    if shown == 0 {
        browser.click("#allow").await;
    }
    let first = journey.expect_echo_at(&first_link).await;
    assert_eq!(first.header("x-forwarded-email"), Some("alice@example.com"));
    assert_eq!(
        first.line.as_deref(),
        Some("GET /inbox?tab=first"),
        "the first tab landed on the wrong page"
    );

    // Both tabs are signed in, and no flow cookie is left over.
    browser.switch_to(&second_tab).await;
    browser.refresh().await;
    let second = journey.expect_echo_at(&second_link).await;
    assert_eq!(
        second.line.as_deref(),
        Some("GET /calendar/week?tab=second&day=mon")
    );
    assert_eq!(
        second.header("x-forwarded-email"),
        Some("alice@example.com")
    );
    let left: Vec<String> = journey
        .gateway_cookies()
        .await
        .into_iter()
        .map(|c| c.name)
        .filter(|name| name.starts_with("_portcullis_flow_"))
        .collect();
    assert!(left.is_empty(), "flow cookies left over: {left:?}");

    browser.close().await;
}
