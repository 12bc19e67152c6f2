//! The code flow driven by a plain HTTP client through the real provider's own forms (issue 3,
//! point 3), the way a script or a non-JavaScript client would: every redirect followed by
//! hand so that each hop's parameters and cookies can be checked (DESIGN §1, §3, §5.5, §5.7).

use reqwest::header::ACCEPT;
use reqwest::StatusCode;
use serde_json::Value;
use url::Url;

use super::journey::{is_gateway_cookie, is_session_cookie};
use super::support::{
    attribute_after, attribute_in, deployment, follow_at_op, form_action, text_of, unescape,
    Deployment, Settings, PASSWORD, PROVIDER_ID,
};
use crate::helpers::{assert_redirects_to, local_part, location, set_cookies, Browser};

const DEEP_LINK: &str = "/reports/q3?year=2026&team=ops";

#[tokio::test]
async fn code_flow_through_the_provider_forms_then_proxy_and_userinfo() {
    let Some(e2e) = deployment(Settings::default()).await else {
        return;
    };
    let client = Browser::new();

    let start = start_link_of_sign_in_page(&client, &e2e).await;
    let login = start_login(&client, &e2e, &start).await;
    let callback = sign_in_at_provider(&client, &e2e, &login.authorize).await;
    assert_eq!(param(&callback, "state"), Some(login.state.clone()));
    assert_eq!(param(&callback, "iss"), Some(e2e.op().issuer.clone()));
    assert!(param(&callback, "code").is_some(), "{callback}");
    finish_at_callback(&client, &callback, &login.flow_cookie).await;

    // A proxied request carries the identity, and none of the gateway's cookies.
    let page = text_of(client.navigate(&e2e.url(DEEP_LINK)).await, StatusCode::OK).await;
    let header = |name| echo_header(&page, name);
    assert_eq!(
        header("x-forwarded-email").as_deref(),
        Some("alice@example.com")
    );
    assert_eq!(
        header("x-forwarded-groups").as_deref(),
        Some("staff,admins")
    );
    assert_eq!(header("x-forwarded-user").as_deref(), Some("alice"));
    let upstream_cookies = header("cookie").unwrap_or_default();
    assert!(
        upstream_cookies.contains("op_session="),
        "the provider's cookies share the host and should reach the upstream: {upstream_cookies:?}"
    );
    assert!(
        !upstream_cookies
            .split(';')
            .any(|pair| is_gateway_cookie(pair.split('=').next().unwrap_or_default().trim())),
        "a gateway cookie reached the upstream: {upstream_cookies:?}"
    );

    // Userinfo, as a program asks for it.
    let resp = client
        .client
        .get(e2e.url("/oauth2/userinfo"))
        .header(ACCEPT, "application/json")
        .send()
        .await
        .expect("userinfo");
    assert_eq!(resp.status(), StatusCode::OK);
    let info: Value = resp.json().await.expect("userinfo JSON");
    assert_eq!(info["user"], "alice", "{info}");
    assert_eq!(info["email"], "alice@example.com", "{info}");
    assert_eq!(
        info["groups"],
        serde_json::json!(["staff", "admins"]),
        "{info}"
    );
    assert_eq!(info["preferred_username"], "alice", "{info}");
    assert_eq!(info["provider"], PROVIDER_ID, "{info}");
}

/// Signed out, the deep link sends a browser to the sign-in page, keeping the link; returns
/// the provider button's `/oauth2/start?…` link.
async fn start_link_of_sign_in_page(client: &Browser, e2e: &Deployment) -> String {
    let resp = client.navigate(&e2e.url(DEEP_LINK)).await;
    assert_redirects_to(&resp, "/oauth2/sign_in?rd=");
    let page = text_of(client.navigate(&location(&resp)).await, StatusCode::OK).await;
    let button = "class=\"button provider provider-op\"";
    let start = unescape(
        &attribute_after(&page, button, "href")
            .or_else(|| attribute_before(&page, button, "href"))
            .unwrap_or_else(|| panic!("no provider button on the sign-in page:\n{page}")),
    );
    assert!(
        start.starts_with(&format!("/oauth2/start?provider={PROVIDER_ID}&rd=")),
        "{start}"
    );
    start
}

/// A login as `/oauth2/start` began it.
struct StartedLogin {
    /// The provider's authorization URL.
    authorize: Url,
    state: String,
    /// The `Set-Cookie` of the flow cookie.
    flow_cookie: String,
}

/// `/oauth2/start` redirects to the provider's authorization endpoint with PKCE S256, state
/// and nonce, and sets a short-lived flow cookie that only the gateway's `/oauth2` paths see.
async fn start_login(client: &Browser, e2e: &Deployment, start: &str) -> StartedLogin {
    let resp = client.navigate(&e2e.url(start)).await;
    let authorize = Url::parse(&location(&resp)).expect("authorization URL");
    assert!(
        authorize.as_str().starts_with(&e2e.op().url("/auth?")),
        "{authorize}"
    );
    assert_eq!(param(&authorize, "response_type").as_deref(), Some("code"));
    assert_eq!(
        param(&authorize, "redirect_uri"),
        Some(e2e.url("/oauth2/callback/op"))
    );
    assert_eq!(
        param(&authorize, "code_challenge_method").as_deref(),
        Some("S256")
    );
    assert!(param(&authorize, "code_challenge").is_some_and(|c| c.len() >= 43));
    assert!(param(&authorize, "nonce").is_some_and(|n| n.len() >= 22));
    let state = param(&authorize, "state").expect("state");
    assert!(state.len() >= 22, "state {state:?} is too short");

    let flow_cookie = set_cookies(&resp)
        .into_iter()
        .find(|c| c.starts_with("_portcullis_flow_"))
        .expect("a flow cookie");
    assert_cookie_attributes(&flow_cookie, "/oauth2");
    let max_age: u64 = attribute(&flow_cookie, "Max-Age")
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("flow cookie without Max-Age: {flow_cookie}"));
    assert!(
        max_age <= 600,
        "flow cookie lives {max_age}s: {flow_cookie}"
    );
    StartedLogin {
        authorize,
        state,
        flow_cookie,
    }
}

/// The provider's login form and consent screen, submitted as a person would; returns the
/// gateway callback URL the provider sends the browser back to.
async fn sign_in_at_provider(client: &Browser, e2e: &Deployment, authorize: &Url) -> Url {
    let (page, _) = follow_at_op(client, e2e.op(), authorize.as_str()).await;
    let page = text_of(page, StatusCode::OK).await;
    let action = form_action(&page, "login-form");
    let resp = client
        .client
        .post(e2e.op().url(&action))
        .form(&[("login", "alice@example.com"), ("password", PASSWORD)])
        .send()
        .await
        .expect("submit the login form");
    let (page, _) = follow_at_op(client, e2e.op(), &location(&resp)).await;
    let page = text_of(page, StatusCode::OK).await;
    let action = form_action(&page, "consent-form");
    let resp = client
        .client
        .post(e2e.op().url(&action))
        .send()
        .await
        .expect("submit the consent form");
    let (leaving, callback) = follow_at_op(client, e2e.op(), &location(&resp)).await;
    let callback = callback.unwrap_or_else(|| {
        panic!(
            "the provider did not send the browser back: {}",
            leaving.status()
        )
    });
    assert!(
        callback.starts_with(&e2e.url("/oauth2/callback/op?")),
        "{callback}"
    );
    Url::parse(&callback).expect("callback URL")
}

/// The callback sets the session cookie (HttpOnly, SameSite=Lax, Path=/), clears the flow
/// cookie, and redirects to the deep link.
async fn finish_at_callback(client: &Browser, callback: &Url, flow_cookie: &str) {
    let resp = client.navigate(callback.as_str()).await;
    assert_redirects_to(&resp, DEEP_LINK);
    assert_eq!(local_part(&location(&resp)), DEEP_LINK);
    let cookies = set_cookies(&resp);
    let session: Vec<&String> = cookies
        .iter()
        .filter(|c| is_session_cookie(cookie_name(c)))
        .collect();
    assert!(!session.is_empty(), "no session cookie in {cookies:?}");
    for cookie in session {
        assert_cookie_attributes(cookie, "/");
    }
    let flow_name = cookie_name(flow_cookie);
    let cleared = cookies
        .iter()
        .find(|c| cookie_name(c) == flow_name)
        .unwrap_or_else(|| panic!("the flow cookie {flow_name} is not cleared: {cookies:?}"));
    assert_eq!(attribute(cleared, "Max-Age"), Some("0"), "{cleared}");
    assert_eq!(attribute(cleared, "Path"), Some("/oauth2"), "{cleared}");
    assert!(
        !client
            .cookies(callback.as_str())
            .iter()
            .any(|(name, _)| name.starts_with("_portcullis_flow_")),
        "a flow cookie is still in the jar"
    );
}

/// The value of query parameter `name`.
fn param(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.into_owned())
}

/// The value of attribute `name` in the tag that contains `marker`, before the marker.
fn attribute_before(page: &str, marker: &str, name: &str) -> Option<String> {
    let at = page.find(marker)?;
    let tag_start = page[..at].rfind('<')?;
    attribute_in(&page[tag_start..at], name)
}

/// What the echo page shows for header `name`.
fn echo_header(page: &str, name: &str) -> Option<String> {
    let marker = format!("<th scope=\"row\">{name}</th><td>");
    let start = page.find(&marker)? + marker.len();
    let end = start + page[start..].find("</td>")?;
    Some(unescape(&page[start..end]))
}

fn cookie_name(set_cookie: &str) -> &str {
    set_cookie
        .split(['=', ';'])
        .next()
        .unwrap_or_default()
        .trim()
}

/// The value of attribute `name` (case-insensitive) of a `Set-Cookie` header.
fn attribute<'a>(set_cookie: &'a str, name: &str) -> Option<&'a str> {
    set_cookie.split(';').skip(1).find_map(|part| {
        let (key, value) = part.split_once('=').unwrap_or((part, ""));
        key.trim()
            .eq_ignore_ascii_case(name)
            .then_some(value.trim())
    })
}

/// HttpOnly, SameSite=Lax, the given Path, and not Secure (the public URL is plain http).
#[track_caller]
fn assert_cookie_attributes(set_cookie: &str, path: &str) {
    let flags: Vec<String> = set_cookie
        .split(';')
        .skip(1)
        .map(|part| part.trim().to_ascii_lowercase())
        .collect();
    assert!(
        flags.iter().any(|f| f == "httponly"),
        "not HttpOnly: {set_cookie}"
    );
    assert_eq!(
        attribute(set_cookie, "SameSite"),
        Some("Lax"),
        "{set_cookie}"
    );
    assert_eq!(attribute(set_cookie, "Path"), Some(path), "{set_cookie}");
    assert!(
        !flags.iter().any(|f| f == "secure"),
        "Secure on http: {set_cookie}"
    );
}
