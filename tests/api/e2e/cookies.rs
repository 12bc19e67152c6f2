//! Cookies as the browser holds them (issue 3, point 5; DESIGN §5.2, §5.7): the session
//! cookie is HttpOnly, SameSite=Lax and scoped to `/`; a failed sign-in leaves no session
//! cookie; and the gateway's cookies never reach the upstream, while the application's own
//! cookies do.

use cookie::SameSite;
use fantoccini::cookies::Cookie;

use super::journey::{is_gateway_cookie, is_session_cookie, Journey};
use super::support::{deployment_with_browser, deployment_with_chromium, Settings};

#[tokio::test]
async fn session_cookie_is_httponly_lax_at_root_and_never_reaches_the_upstream() {
    let Some((e2e, browser)) = deployment_with_chromium(Settings::default()).await else {
        return;
    };
    let journey = Journey::new(&e2e, &browser);
    let echo = journey
        .sign_in("/account?view=cookies", "alice@example.com")
        .await;
    assert_eq!(echo.header("x-forwarded-email"), Some("alice@example.com"));

    // As WebDriver sees the cookies of the page…
    let session: Vec<Cookie<'static>> = browser
        .document_cookies()
        .await
        .into_iter()
        .filter(|c| is_session_cookie(c.name()))
        .collect();
    assert!(!session.is_empty(), "no session cookie in the browser");
    for cookie in &session {
        assert_eq!(cookie.http_only(), Some(true), "{cookie}");
        assert_eq!(cookie.same_site(), Some(SameSite::Lax), "{cookie}");
        assert_eq!(cookie.path(), Some("/"), "{cookie}");
        assert_ne!(
            cookie.secure(),
            Some(true),
            "Secure on plain http: {cookie}"
        );
    }
    // …and as the browser's whole jar holds them: the flow cookie is gone.
    let jar = journey.gateway_cookies().await;
    for cookie in &jar {
        assert!(is_session_cookie(&cookie.name), "left over: {cookie:?}");
        assert!(cookie.http_only, "{cookie:?}");
        assert_eq!(cookie.same_site.as_deref(), Some("Lax"), "{cookie:?}");
        assert_eq!(cookie.path, "/", "{cookie:?}");
    }
    // Scripts cannot read it.
    let visible = browser.execute("return document.cookie;").await;
    assert!(
        !visible.as_str().unwrap_or_default().contains("_portcullis"),
        "document.cookie shows a gateway cookie: {visible}"
    );

    // The application's own cookie reaches the upstream; the gateway's never do.
    browser
        .execute("document.cookie = 'app_theme=dark; path=/; SameSite=Lax'; return null;")
        .await;
    browser.refresh().await;
    let echo = journey
        .expect_echo_at(&e2e.url("/account?view=cookies"))
        .await;
    let names = echo.cookie_names();
    assert!(
        names.iter().any(|n| n == "app_theme"),
        "the application's cookie did not reach the upstream: {names:?}"
    );
    let leaked: Vec<&String> = names.iter().filter(|n| is_gateway_cookie(n)).collect();
    assert!(
        leaked.is_empty(),
        "gateway cookies reached the upstream: {leaked:?}"
    );
    let sent = echo.header("cookie").unwrap_or_default();
    for cookie in &session {
        assert!(
            !sent.contains(cookie.value()),
            "the session cookie's value reached the upstream"
        );
    }

    browser.close().await;
}

#[tokio::test]
async fn denied_sign_in_leaves_no_session_cookie() {
    let Some((e2e, browser)) = deployment_with_chromium(Settings::default()).await else {
        return;
    };
    let journey = Journey::new(&e2e, &browser);

    browser.goto(&e2e.url("/reports")).await;
    journey.expect_sign_in_page().await;
    journey.choose_provider().await;
    journey.log_in_at_op(journey.refused_account()).await;
    journey.allow_at_op().await;
    let page = journey.expect_error_page("/oauth2/callback/op").await;
    assert_eq!(page.status.as_deref(), Some("Error 403"), "{page:?}");
    assert_eq!(page.title.as_deref(), Some("Access denied"), "{page:?}");
    assert_eq!(
        page.retry_href.as_deref(),
        Some("/oauth2/start?provider=op&rd=%2Freports&prompt=select_account"),
        "{page:?}"
    );

    let left = journey.gateway_cookies().await;
    assert!(
        left.is_empty(),
        "gateway cookies after a denied sign-in: {left:?}"
    );
    browser.goto(&e2e.url("/reports")).await;
    journey.expect_sign_in_page().await;

    browser.close().await;
}

#[tokio::test]
async fn sign_in_cancelled_at_the_provider_leaves_no_session_cookie() {
    let Some((e2e, browser)) = deployment_with_browser(Settings::default()).await else {
        return;
    };
    let journey = Journey::new(&e2e, &browser);

    browser.goto(&e2e.url("/reports")).await;
    journey.expect_sign_in_page().await;
    journey.choose_provider().await;
    journey.expect_op_login_form().await;
    browser.click("#cancel").await;
    let page = journey.expect_error_page("/oauth2/callback/op").await;
    assert_eq!(page.title.as_deref(), Some("Sign-in failed"), "{page:?}");
    assert!(
        page.message
            .as_deref()
            .is_some_and(|m| m.contains("access_denied") && m.contains("cancelled")),
        "{page:?}"
    );
    assert_eq!(
        page.retry_href.as_deref(),
        Some("/oauth2/sign_in?rd=%2Freports"),
        "{page:?}"
    );

    let left = journey.gateway_cookies().await;
    assert!(
        left.is_empty(),
        "gateway cookies after a cancelled sign-in: {left:?}"
    );

    browser.close().await;
}
