//! The main journey in a real browser against a real provider (issue 3, point 2): a deep
//! link with a query string survives the whole sign-in, the upstream sees who signed in,
//! and signing out ends both the gateway's session and the provider's (DESIGN §1, §3).

use super::journey::{is_session_cookie, Journey};
use super::support::{deployment_with_browser, Page, Settings};

const DEEP_LINK: &str = "/reports/q3?year=2026&team=ops";

#[tokio::test]
async fn deep_link_signs_in_at_the_real_provider_and_sign_out_ends_both_sessions() {
    let Some((e2e, browser)) = deployment_with_browser(Settings::default()).await else {
        return;
    };
    let journey = Journey::new(&e2e, &browser);
    let deep_link = e2e.url(DEEP_LINK);

    // A signed-out browser asking for a deep link lands on the sign-in page, which keeps it.
    browser.goto(&deep_link).await;
    let sign_in = journey.expect_sign_in_page().await;
    let rd = sign_in
        .query_pairs()
        .find(|(name, _)| name == "rd")
        .map(|(_, value)| value.into_owned());
    assert_eq!(rd.as_deref(), Some(DEEP_LINK));

    // Provider button → the provider's own login form and consent screen.
    journey.choose_provider().await;
    journey.log_in_at_op("alice@example.com").await;
    journey.allow_at_op().await;

    // Back at exactly the deep link, and the upstream knows who it is.
    let echo = journey.expect_echo_at(&deep_link).await;
    assert_eq!(echo.line.as_deref(), Some(&*format!("GET {DEEP_LINK}")));
    assert_eq!(echo.header("x-forwarded-email"), Some("alice@example.com"));
    assert_eq!(echo.header("x-forwarded-groups"), Some("staff,admins"));
    assert_eq!(echo.header("x-forwarded-user"), Some("alice"));
    assert_eq!(echo.header("x-forwarded-preferred-username"), Some("alice"));

    // Sign out: the gateway sends the browser to the provider's end-session endpoint with an
    // ID token hint and the registered post-logout URI; confirming there lands on the
    // gateway's signed-out page.
    let logout_page = journey.sign_out().await;
    let param = |name: &str| {
        logout_page
            .query_pairs()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.into_owned())
    };
    assert_eq!(
        param("post_logout_redirect_uri"),
        Some(e2e.url("/oauth2/signed_out"))
    );
    assert!(
        param("id_token_hint").is_some_and(|hint| hint.split('.').count() == 3),
        "no ID token hint in {logout_page}"
    );
    assert!(
        browser.body_text().await.contains("You are signed out"),
        "{}",
        browser.body_text().await
    );
    let left: Vec<String> = journey
        .gateway_cookies()
        .await
        .into_iter()
        .map(|c| c.name)
        .collect();
    assert!(
        left.is_empty(),
        "gateway cookies left after sign-out: {left:?}"
    );

    // The protected page needs a login again…
    browser.goto(&deep_link).await;
    journey.expect_sign_in_page().await;

    // …and so does the provider: starting a login shows its login form again instead of
    // sending the browser straight back signed in.
    journey.choose_provider().await;
    let (shown, _) = browser
        .wait_for_one_of(&[
            Page::new(
                "the provider's login form",
                &|url| url.as_str().starts_with(&e2e.op().issuer),
                "#password",
            ),
            Page::new(
                "the deep link, signed in again without a login",
                &|url| url.as_str() == deep_link,
                "table.headers",
            ),
        ])
        .await;
    assert_eq!(shown, 0, "the provider's session survived sign-out");
    assert!(
        !journey
            .gateway_cookies()
            .await
            .iter()
            .any(|c| is_session_cookie(&c.name)),
        "a session cookie appeared without a login"
    );

    browser.close().await;
}
