//! After signing out, the browser's back button must not bring the protected page back
//! (issue 3, point 4): going back must fetch the page again, and the signed-out browser is
//! then sent to sign in. Checked for the built-in echo page and for an ordinary upstream app
//! that says nothing about caching.

use super::journey::{Journey, PROVIDER_BUTTON};
use super::support::{deployment_with_browser, Browser, Deployment, Page, Settings};
use crate::echo_upstream::EchoUpstream;

#[tokio::test]
async fn back_button_after_sign_out_does_not_show_the_protected_page() {
    let Some((e2e, browser)) = deployment_with_browser(Settings::default()).await else {
        return;
    };
    let journey = Journey::new(&e2e, &browser);
    let echo = journey
        .sign_in("/payroll/2026?employee=42", "alice@example.com")
        .await;
    assert_eq!(echo.header("x-forwarded-email"), Some("alice@example.com"));

    sign_out_and_go_back(&e2e, &browser, "/payroll/2026?employee=42", "table.headers").await;

    browser.close().await;
}

#[tokio::test]
async fn back_button_after_sign_out_does_not_show_a_page_of_an_upstream_app() {
    let app = EchoUpstream::start().await;
    let settings = Settings {
        app_upstream: Some(app.url()),
        ..Settings::default()
    };
    let Some((e2e, browser)) = deployment_with_browser(settings).await else {
        return;
    };
    let journey = Journey::new(&e2e, &browser);
    journey.sign_in("/", "alice@example.com").await;

    // The app answers with its own page (the test upstream's JSON echo, which says nothing
    // about caching, like most apps) for the signed-in person.
    let app_page = e2e.url("/app/salaries?year=2026");
    browser.goto(&app_page).await;
    browser
        .wait_for_page("the app's page", |url| url.as_str() == app_page, "body")
        .await;
    assert!(
        browser.body_text().await.contains("alice@example.com"),
        "the app did not get the identity: {}",
        browser.body_text().await
    );

    sign_out_and_go_back(&e2e, &browser, "/app/salaries?year=2026", "body").await;

    browser.close().await;
}

/// From a protected page showing alice's identity: signs out, goes back through the
/// provider's logout page to the protected page's history entry, and checks that the page is
/// not shown again, neither from history nor after a reload.
async fn sign_out_and_go_back(e2e: &Deployment, browser: &Browser, path: &str, page_css: &str) {
    let journey = Journey::new(e2e, browser);
    let protected = e2e.url(path);
    // Marks the document, to tell a page restored from the back/forward cache from a new one.
    browser
        .execute("window.__e2eBeforeSignOut = true; return null;")
        .await;
    browser.goto(&e2e.url("/oauth2/sign_out")).await;
    journey.confirm_sign_out_at_op().await;

    let mut steps = Vec::new();
    for _ in 0..4 {
        browser.back().await;
        let url = browser.current_url().await;
        steps.push(url.to_string());
        if url.as_str().starts_with(&e2e.gateway) && url.path() != "/oauth2/signed_out" {
            break;
        }
    }

    let at_protected = |url: &url::Url| url.as_str() == protected;
    let at_sign_in =
        |url: &url::Url| url.as_str().starts_with(&e2e.gateway) && url.path() == "/oauth2/sign_in";
    let (shown, _) = browser
        .wait_for_one_of(&[
            Page::new("the sign-in page", &at_sign_in, PROVIDER_BUTTON),
            Page::new("the protected page from history", &at_protected, page_css),
        ])
        .await;
    let text = browser.body_text().await;
    let same_document = browser
        .execute("return window.__e2eBeforeSignOut === true;")
        .await;
    assert!(
        shown == 0 && !text.contains("alice@example.com"),
        "after sign-out, Back ({steps:?}) shows the protected page {path} again{}:\n{text}",
        if same_document == true {
            ", restored from the back/forward cache (the same document, not fetched again)"
        } else {
            ""
        }
    );

    browser.refresh().await;
    journey.expect_sign_in_page().await;
    assert!(!browser.body_text().await.contains("alice@example.com"));
}
