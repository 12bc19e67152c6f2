//! The local sign-in form in a real browser (DESIGN §10): a protected deep link leads to the
//! sign-in page, a wrong password shows "Incorrect username or password" there, and the
//! right one, typed into the same form, lands on the deep link as the local user.

use super::journey::Journey;
use super::support::{deployment_with_chromium, Settings};
use crate::local_accounts::fixture::{provider_block, User, UsersFile, PASSWORD};

const DEEP_LINK: &str = "/reports/q3?year=2026";
const FORM: &str = "#local-local";

#[tokio::test]
async fn a_wrong_password_is_shown_and_the_right_one_signs_in_at_the_form() {
    let users = UsersFile::create(&[User::new("alice")]);
    let settings = Settings {
        extra_toml: provider_block("local", users.path(), ""),
        ..Settings::default()
    };
    let Some((e2e, browser)) = deployment_with_chromium(settings).await else {
        return;
    };
    let journey = Journey::new(&e2e, &browser);
    let deep_link = e2e.url(DEEP_LINK);

    browser.goto(&deep_link).await;
    journey.expect_sign_in_page().await;
    browser.fill("#username-local", "alice").await;
    browser.fill("#password-local", "not the password").await;
    browser.click(&format!("{FORM} button[type=submit]")).await;

    browser
        .wait_for_page(
            "the sign-in form again, with what went wrong",
            |url| url.path() == "/oauth2/local/local",
            &format!("{FORM} .notice"),
        )
        .await;
    let text = browser.body_text().await;
    assert!(text.contains("Incorrect username or password"), "{text}");

    browser.fill("#username-local", "alice").await;
    browser.fill("#password-local", PASSWORD).await;
    browser.click(&format!("{FORM} button[type=submit]")).await;

    let echo = journey.expect_echo_at(&deep_link).await;
    assert_eq!(echo.header("x-forwarded-user"), Some("alice"));
    assert_eq!(echo.header("x-forwarded-email"), Some("alice@example.com"));
    assert_eq!(echo.header("x-forwarded-provider"), Some("local"));

    browser.close().await;
}
