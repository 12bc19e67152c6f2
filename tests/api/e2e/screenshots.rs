//! Screenshots of the pages people see at the gateway (issue 3, point 6): the sign-in, error
//! and signed-out pages at a desktop and a phone width, and the sign-in and signed-out pages
//! of a branded deployment (`[pages]`, tests/fixtures/brand), saved as PNGs under
//! `target/screenshots/` for a person to look at. The test itself checks what a machine can:
//! the stylesheet applies, nothing is wider than a phone's screen, and the brand's name, logo
//! and stylesheet reach the browser under the gateway's CSP.

use super::journey::Journey;
use super::support::{
    deployment_with_browser, deployment_with_chromium, screenshot_dir, Browser, Page, Settings,
    DESKTOP, PHONE,
};

#[tokio::test]
async fn sign_in_error_and_signed_out_pages_at_desktop_and_phone_widths() {
    let Some((e2e, browser)) = deployment_with_browser(Settings::default()).await else {
        return;
    };
    let journey = Journey::new(&e2e, &browser);
    let dir = screenshot_dir();

    browser
        .goto(&e2e.url("/reports/q3?year=2026&team=ops"))
        .await;
    journey.expect_sign_in_page().await;
    capture(&browser, &dir, "sign-in").await;

    // A real error: the person cancels at the provider.
    journey.choose_provider().await;
    journey.expect_op_login_form().await;
    browser.click("#cancel").await;
    journey.expect_error_page("/oauth2/callback/op").await;
    capture(&browser, &dir, "error").await;

    browser.goto(&e2e.url("/oauth2/signed_out")).await;
    journey.expect_signed_out_page().await;
    capture(&browser, &dir, "signed-out").await;

    browser.close().await;
}

#[tokio::test]
async fn branded_sign_in_and_signed_out_pages_at_desktop_and_phone_widths() {
    let settings = Settings {
        extra_toml: crate::branding::brand_toml(),
        ..Settings::default()
    };
    let Some((e2e, browser)) = deployment_with_chromium(settings).await else {
        return;
    };
    let journey = Journey::new(&e2e, &browser);
    let dir = screenshot_dir();

    browser.goto(&e2e.url("/reports/q3")).await;
    journey.expect_sign_in_page().await;
    let brand = browser
        .execute(
            "const logo = document.querySelector('.site-header img');
             return {
               title: document.title,
               name: document.querySelector('.brand-name').textContent,
               logo: logo.getAttribute('src'),
               logo_shown: logo.complete && logo.naturalWidth > 0,
               background: getComputedStyle(document.body).backgroundColor,
             };",
        )
        .await;
    assert_eq!(brand["title"], "Sign in · Acme Intranet", "{brand}");
    assert_eq!(brand["name"], "Acme Intranet", "{brand}");
    assert_eq!(brand["logo"], "/oauth2/static/brand-logo", "{brand}");
    assert_eq!(
        brand["logo_shown"], true,
        "the CSP let the logo through: {brand}"
    );
    // brand.css's --bg, light or dark: the CSP let the stylesheet through.
    assert!(
        ["rgb(236, 253, 245)", "rgb(4, 47, 46)"]
            .contains(&brand["background"].as_str().unwrap_or("")),
        "the brand's stylesheet did not apply: {brand}"
    );
    capture(&browser, &dir, "branded-sign-in").await;

    browser.goto(&e2e.url("/oauth2/signed_out")).await;
    journey.expect_signed_out_page().await;
    let heading = browser
        .execute("return document.querySelector('main h1').textContent;")
        .await;
    assert_eq!(
        heading, "See you soon",
        "the brand's own signed-out template"
    );
    capture(&browser, &dir, "branded-signed-out").await;

    browser.close().await;
}

/// The "Access denied" page of a refused account, its "Sign in with a different account"
/// (which shows the provider's login form again, though the provider has a session for the
/// refused account: `prompt=login`), and the echo page, identity first (issue 15 point 5).
#[tokio::test]
async fn access_denied_and_echo_pages_at_desktop_and_phone_widths() {
    let Some((e2e, browser)) = deployment_with_chromium(Settings::default()).await else {
        return;
    };
    let journey = Journey::new(&e2e, &browser);
    let dir = screenshot_dir();

    browser.goto(&e2e.url("/reports/q3")).await;
    journey.expect_sign_in_page().await;
    journey.choose_provider().await;
    journey.log_in_at_op(journey.refused_account()).await;
    journey.allow_at_op().await;
    let page = journey.expect_error_page("/oauth2/callback/op").await;
    assert_eq!(page.title.as_deref(), Some("Access denied"), "{page:?}");
    assert_eq!(
        page.retry_text.as_deref(),
        Some("Sign in with a different account"),
        "{page:?}"
    );
    let account = browser
        .execute("const el = document.querySelector('.account-name'); return el ? el.textContent : null;")
        .await;
    let expected = if e2e.is_dev() {
        "carol@other.org"
    } else {
        "carol"
    };
    assert_eq!(account, expected, "the refused account on the page");
    capture(&browser, &dir, "access-denied").await;

    browser.click("main a.button").await;
    journey.log_in_at_op("alice@example.com").await;
    let deep_link = e2e.url("/reports/q3");
    let on_provider = |url: &url::Url| journey.on_provider(url);
    let at_link = |url: &url::Url| url.as_str() == deep_link;
    let (shown, _) = browser
        .wait_for_one_of(&[
            Page::new("the provider's consent screen", &on_provider, "#allow"),
            Page::new("the deep link", &at_link, "table.headers"),
        ])
        .await;
    if shown == 0 {
        browser.click("#allow").await;
    }
    let echo = journey.expect_echo_at(&deep_link).await;
    assert_eq!(echo.header("x-forwarded-email"), Some("alice@example.com"));
    let first_row = browser
        .execute("return document.querySelector('table.headers tbody th').textContent;")
        .await;
    assert_eq!(first_row, "x-forwarded-user", "the echo page's first row");
    capture(&browser, &dir, "echo").await;

    browser.close().await;
}

/// Saves `{name}-desktop.png` and `{name}-phone.png` of the current page, checking at each
/// size that the page is styled and fits the viewport's width.
async fn capture(browser: &Browser, dir: &std::path::Path, name: &str) {
    for (label, size) in [("desktop", DESKTOP), ("phone", PHONE)] {
        browser.resize(size).await;
        let layout = browser
            .execute(
                "const main = document.querySelector('main');
                 return {
                   viewport: window.innerWidth,
                   content: document.documentElement.scrollWidth,
                   styled: getComputedStyle(main).borderTopLeftRadius !== '0px',
                 };",
            )
            .await;
        assert_eq!(
            layout["viewport"], size.0,
            "{name} at {label}: viewport {layout}"
        );
        assert!(
            layout["content"].as_u64() <= layout["viewport"].as_u64(),
            "{name} at {label}: the page is wider than the screen ({layout})"
        );
        assert_eq!(
            layout["styled"], true,
            "{name} at {label}: the stylesheet did not apply"
        );
        let png = browser.screenshot().await;
        assert!(png.starts_with(b"\x89PNG"), "{name} at {label}: not a PNG");
        let path = dir.join(format!("{name}-{label}.png"));
        std::fs::write(&path, png).unwrap_or_else(|err| panic!("write {}: {err}", path.display()));
    }
    browser.resize(DESKTOP).await;
}
