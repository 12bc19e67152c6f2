//! The sign-in page's form of a local provider (DESIGN §10): what the page holds, what a
//! good, a wrong and a disabled user's password come to, and a session that follows the
//! users file after the sign-in.

use reqwest::StatusCode;

use super::fixture::{
    input_value, open_sign_in, signed_in, spawn_local, submit, LocalApp, User, INACTIVE, INCORRECT,
    PASSWORD, PROVIDER,
};
use crate::helpers::{assert_no_session_cookie_set, echoed, location, Browser};

fn alice() -> User {
    User {
        name: "Alice Example".to_owned(),
        groups: vec!["staff".to_owned(), "ops".to_owned()],
        ..User::new("alice")
    }
}

async fn spawn() -> LocalApp {
    spawn_local(&[alice(), User::new("bob")], "").await
}

#[tokio::test]
async fn the_sign_in_page_has_a_form_for_the_local_provider_next_to_the_buttons() {
    let app = spawn().await;

    let first = open_sign_in(&app, &app.browser, "/x").await;
    let second = open_sign_in(&app, &app.browser, "/x").await;

    assert_eq!(first.status, StatusCode::OK);
    let page = &first.body;
    assert!(
        page.contains(&format!("action=\"/oauth2/local/{PROVIDER}\"")),
        "{page}"
    );
    assert!(page.contains("method=\"post\""), "{page}");
    assert!(page.contains("provider-mock"), "no provider button: {page}");
    assert!(page.contains("Staff account"), "{page}");
    assert!(first.csrf_token().len() >= 32, "{page}");
    assert_eq!(input_value(page, "rd").as_deref(), Some("/x"));
    assert!(page.contains("name=\"username\""), "{page}");
    assert!(
        page.contains("name=\"password\" type=\"password\""),
        "{page}"
    );
    let form_cookie = first
        .set_cookies
        .iter()
        .find(|c| c.starts_with("_portcullis_form="))
        .unwrap_or_else(|| panic!("no form cookie in {:?}", first.set_cookies));
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/oauth2/"] {
        assert!(
            form_cookie.contains(attribute),
            "{attribute} missing: {form_cookie}"
        );
    }
    assert!(
        !second
            .set_cookies
            .iter()
            .any(|c| c.starts_with("_portcullis_form=")),
        "a second visit replaced the form cookie: {:?}",
        second.set_cookies
    );
}

#[tokio::test]
async fn the_right_password_signs_in_and_the_upstream_sees_who_it_is() {
    let app = spawn().await;

    let resp = submit(&app, &app.browser, "alice", PASSWORD, "/x?y=1").await;

    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&resp), app.url("/x?y=1"));
    assert!(!app.session_cookies(&app.browser).is_empty());
    let seen = echoed(app.get("/x?y=1").await).await;
    assert_eq!(seen.header("x-forwarded-user"), Some("alice"));
    assert_eq!(seen.header("x-forwarded-email"), Some("alice@example.com"));
    assert_eq!(seen.header("x-forwarded-groups"), Some("staff,ops"));
    assert_eq!(seen.header("x-forwarded-provider"), Some(PROVIDER));
}

#[tokio::test]
async fn the_username_is_matched_ignoring_ascii_case() {
    let app = spawn().await;

    let resp = submit(&app, &app.browser, "ALice", PASSWORD, "/").await;

    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let seen = echoed(app.get("/").await).await;
    assert_eq!(seen.header("x-forwarded-user"), Some("alice"));
}

#[tokio::test]
async fn a_redirect_target_off_the_site_lands_on_the_root() {
    let app = spawn().await;

    let resp = submit(&app, &app.browser, "alice", PASSWORD, "//evil.example").await;

    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&resp), app.url("/"));
}

/// `page` with what legitimately differs between two answers blanked: the form's token, the
/// request id and the username typed.
fn normalised(page: &str, username: &str) -> String {
    let token = input_value(page, "csrf_token").unwrap();
    let request_id = page
        .split("Request ID: <code>")
        .nth(1)
        .and_then(|rest| rest.split("</code>").next())
        .unwrap_or_else(|| panic!("no request id in {page}"));
    page.replace(&token, "TOKEN")
        .replace(request_id, "REQUEST-ID")
        .replace(&format!("value=\"{username}\""), "value=\"USERNAME\"")
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_user_get_the_same_page() {
    let app = spawn().await;

    let wrong = submit(&app, &app.browser, "alice", "not the password", "/x").await;
    let unknown = submit(&app, &app.other_browser, "nobody", PASSWORD, "/x").await;

    for resp in [&wrong, &unknown] {
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
        assert_no_session_cookie_set(resp, app.cookie_name());
    }
    let wrong = wrong.text().await.unwrap();
    let unknown = unknown.text().await.unwrap();
    assert!(wrong.contains(INCORRECT), "{wrong}");
    assert_eq!(normalised(&wrong, "alice"), normalised(&unknown, "nobody"));
    assert!(!signed_in(&app, &app.browser).await);
}

#[tokio::test]
async fn a_disabled_user_is_told_inactive_only_after_the_right_password() {
    let app = spawn_local(&[alice().disabled()], "").await;

    let right = submit(&app, &app.browser, "alice", PASSWORD, "/").await;
    let wrong = submit(&app, &app.other_browser, "alice", "not the password", "/").await;

    assert_eq!(right.status(), StatusCode::FORBIDDEN);
    assert_no_session_cookie_set(&right, app.cookie_name());
    assert!(right.text().await.unwrap().contains(INACTIVE));
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let wrong = wrong.text().await.unwrap();
    assert!(wrong.contains(INCORRECT), "{wrong}");
    assert!(!wrong.contains(INACTIVE), "{wrong}");
    assert!(!signed_in(&app, &app.browser).await);
}

/// Signs `browser` in as `username` and checks that it worked.
async fn signed_in_as(app: &LocalApp, browser: &Browser, username: &str) {
    let resp = submit(app, browser, username, PASSWORD, "/").await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert!(signed_in(app, browser).await);
}

#[tokio::test]
async fn a_user_disabled_in_the_file_after_signing_in_is_signed_out() {
    let app = spawn().await;
    let bob = Browser::new();
    signed_in_as(&app, &app.browser, "alice").await;
    signed_in_as(&app, &bob, "bob").await;

    app.users.write(&[alice().disabled(), User::new("bob")]);

    super::fixture::poll_until("alice's session ends", || async {
        !signed_in(&app, &app.browser).await
    })
    .await;
    assert!(signed_in(&app, &bob).await, "bob was signed out too");
}

#[tokio::test]
async fn a_user_removed_from_the_file_after_signing_in_is_signed_out() {
    let app = spawn().await;
    signed_in_as(&app, &app.browser, "bob").await;

    app.users.write(&[alice()]);

    super::fixture::poll_until("bob's session ends", || async {
        !signed_in(&app, &app.browser).await
    })
    .await;
    let resp = app.get("/whoami").await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
}
