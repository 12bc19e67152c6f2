//! Requests without a session (DESIGN §1, §3; issue 2 point 7): browsers are sent to sign
//! in with the page they wanted, programs get 401 JSON, and the upstream never sees either.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{
    assert_redirects_to, echoed, location, spawn_app, spawn_app_with, BROWSER_ACCEPT,
};

#[tokio::test]
async fn a_browser_navigation_is_sent_to_sign_in_with_the_path_and_query() {
    let app = spawn_app().await;

    let resp = app.navigate("/reports/q3?year=2024&sort=desc").await;

    assert_redirects_to(&resp, "/oauth2/sign_in?");
    let target = url::Url::parse(&location(&resp)).unwrap();
    let rd = target
        .query_pairs()
        .find(|(k, _)| k == "rd")
        .map(|(_, v)| v.into_owned());
    assert_eq!(rd.as_deref(), Some("/reports/q3?year=2024&sort=desc"));
    assert!(app.upstream.requests().is_empty());
}

#[tokio::test]
async fn a_program_gets_401_json_with_www_authenticate() {
    let app = spawn_app().await;

    let resp = app
        .request(reqwest::Method::GET, "/api/items")
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();

    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert!(resp.headers().contains_key("www-authenticate"));
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "unauthenticated");
    assert!(body["request_id"].as_str().is_some_and(|id| !id.is_empty()));
    assert!(app.upstream.requests().is_empty());
}

#[tokio::test]
async fn a_form_post_from_a_browser_is_401_not_a_redirect() {
    let app = spawn_app().await;

    let resp = app
        .request(reqwest::Method::POST, "/app/form")
        .header("accept", BROWSER_ACCEPT)
        .body("a=1")
        .send()
        .await
        .unwrap();

    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert!(app.upstream.requests().is_empty());
}

#[tokio::test]
async fn userinfo_without_a_session_is_401() {
    let app = spawn_app().await;

    let resp = app.get("/oauth2/userinfo").await;

    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_sign_in_page_offers_the_provider_and_keeps_rd() {
    let app = spawn_app().await;

    let resp = app.navigate("/oauth2/sign_in?rd=%2Fdocs%3Fpage%3D2").await;

    assert_eq!(resp.status(), StatusCode::OK);
    let page = resp.text().await.unwrap();
    assert!(page.contains("Mock OpenID"), "no provider button: {page}");
    assert!(
        page.contains("/oauth2/start?provider=mock&amp;rd=%2Fdocs%3Fpage%3D2")
            || page.contains("/oauth2/start?provider=mock&rd=%2Fdocs%3Fpage%3D2"),
        "no start link with rd: {page}"
    );
}

#[tokio::test]
async fn oauth2_pages_carry_the_security_headers() {
    let app = spawn_app().await;

    let resp = app.navigate("/oauth2/sign_in").await;

    let header = |name: &str| {
        resp.headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    };
    assert!(header("content-security-policy").contains("frame-ancestors 'none'"));
    assert_eq!(header("referrer-policy"), "no-referrer");
    assert_eq!(header("cache-control"), "no-store");
}

#[tokio::test]
async fn a_public_route_needs_no_session() {
    let app = spawn_app().await;

    let resp = app.get("/public/docs").await;

    let seen = echoed(resp).await;
    assert_eq!(seen.path, "/public/docs");
    assert!(!seen.has_header("x-forwarded-user"));
}

#[tokio::test]
async fn auto_redirect_sends_browsers_straight_to_the_only_provider() {
    let app = spawn_app_with(|cfg| cfg.auto_redirect = true).await;

    let resp = app.navigate("/app?x=1").await;

    assert_redirects_to(&resp, "/oauth2/start?provider=mock&rd=%2Fapp%3Fx%3D1");
}

#[tokio::test]
async fn an_unknown_oauth2_path_is_404() {
    let app = spawn_app().await;

    let resp = app.get("/oauth2/nothing-here").await;

    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
}
