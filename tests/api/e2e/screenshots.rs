//! Screenshots of the pages people see at the gateway (issue 3, point 6): the sign-in, error
//! and signed-out pages at a desktop and a phone width, and the sign-in and signed-out pages
//! of a branded deployment (`[pages]`, tests/fixtures/brand), saved as PNGs under
//! `target/screenshots/` for a person to look at. The test itself checks what a machine can:
//! the stylesheet applies, nothing is wider than a phone's screen, and the brand's name, logo
//! and stylesheet reach the browser under the gateway's CSP.

use super::journey::Journey;
use super::support::{deployment_with_browser, screenshot_dir, Browser, Settings, DESKTOP, PHONE};

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
    let Some((e2e, browser)) = deployment_with_browser(settings).await else {
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
