//! The provider's own pages driven by a plain HTTP client (no JavaScript, no browser): sign in
//! through the gateway, run a code flow of the test's own at the provider (to hold a refresh
//! token), and end the provider session the way the user would at the provider, without the
//! gateway. Also the few HTML readers these need.

use base64::Engine as _;
use reqwest::{Response, StatusCode};
use sha2::{Digest as _, Sha256};
use url::Url;

use super::op::OpenIdProvider;
use super::{Deployment, PASSWORD, PROVIDER_ID, SESSION_COOKIE};
use crate::helpers::{assert_redirects_to, location, Browser};

/// A new client signed in as `login` (password [`PASSWORD`]) through the gateway: gateway
/// `/oauth2/start`, the provider's login and consent forms (skipped when the client already
/// has a provider session and a grant), the gateway's callback. The client holds the
/// gateway's session cookie and the provider's `op_session` (cookies ignore ports).
pub async fn sign_in_browserless(e2e: &Deployment, login: &str) -> Browser {
    let browser = Browser::new();
    sign_in_again(&browser, e2e, login).await;
    browser
}

/// [`sign_in_browserless`] with an existing client.
pub async fn sign_in_again(browser: &Browser, e2e: &Deployment, login: &str) {
    let start = e2e.url(&format!("/oauth2/start?provider={PROVIDER_ID}&rd=/"));
    let authorize = location(&browser.navigate(&start).await);
    let callback = sign_in_at_op(browser, e2e.op(), &authorize, login).await;
    assert!(
        callback
            .as_str()
            .starts_with(&e2e.url("/oauth2/callback/op?")),
        "{callback}"
    );
    let resp = browser.navigate(callback.as_str()).await;
    assert_redirects_to(&resp, "/");
    assert!(
        browser
            .cookies(&e2e.gateway)
            .iter()
            .any(|(name, _)| name.starts_with(SESSION_COOKIE) && !name.contains("flow")),
        "no session cookie after the callback"
    );
}

/// From an authorization URL at the provider, follows its redirects and submits its login
/// form (as `login`) and consent form when they come; returns the URL the provider sends the
/// browser to outside itself (the redirect URI with `code`, `state` and `iss`).
pub async fn sign_in_at_op(browser: &Browser, op: &OpenIdProvider, url: &str, login: &str) -> Url {
    let mut url = url.to_owned();
    for _ in 0..4 {
        let (resp, leaving) = follow_at_op(browser, op, &url).await;
        if let Some(leaving) = leaving {
            return Url::parse(&leaving).expect("the provider's redirect URL");
        }
        let page = text_of(resp, StatusCode::OK).await;
        let resp = if page.contains("<form id=\"login-form\"") {
            let form = [("login", login), ("password", PASSWORD)];
            let action = op.url(&form_action(&page, "login-form"));
            browser.client.post(action).form(&form).send().await
        } else {
            let action = op.url(&form_action(&page, "consent-form"));
            browser.client.post(action).send().await
        };
        url = location(&resp.expect("submit a form of the provider"));
    }
    panic!("the provider kept showing forms from {url}");
}

/// Follows redirects from `url` while they stay at the provider. Returns the last response
/// and, when it is a redirect out of the provider (to the gateway's callback), its target.
pub async fn follow_at_op(
    browser: &Browser,
    op: &OpenIdProvider,
    url: &str,
) -> (Response, Option<String>) {
    let mut url = url.to_owned();
    for _ in 0..10 {
        let resp = browser.navigate(&url).await;
        if !resp.status().is_redirection() {
            return (resp, None);
        }
        let next = location(&resp);
        if !next.starts_with(&op.issuer) {
            return (resp, Some(next));
        }
        url = next;
    }
    panic!("more than 10 redirects at the provider from {url}");
}

/// A code flow of the test's own at the provider, as the gateway's client and with the
/// gateway's redirect URI (whose callback is never called): PKCE S256, the forms when the
/// provider asks, the code redeemed at the token endpoint. Returns the token response
/// (`access_token`, `id_token`, `refresh_token`, …).
pub async fn tokens_at_op(browser: &Browser, e2e: &Deployment, login: &str) -> serde_json::Value {
    let verifier =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(Sha256::digest(verifier.as_bytes()));
    let redirect_uri = e2e.url("/oauth2/callback/op");
    let authorize = Url::parse_with_params(
        &e2e.op().url("/auth"),
        [
            ("client_id", super::op::CLIENT_ID),
            ("response_type", "code"),
            ("scope", "openid email profile groups"),
            ("redirect_uri", &redirect_uri),
            ("state", "tokens-at-op"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    )
    .expect("authorization URL");
    let back = sign_in_at_op(browser, e2e.op(), authorize.as_str(), login).await;
    let code = back
        .query_pairs()
        .find(|(name, _)| name == "code")
        .map(|(_, code)| code.into_owned())
        .unwrap_or_else(|| panic!("no code in {back}"));
    let (status, tokens) = e2e
        .op()
        .token_request(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", &redirect_uri),
            ("code_verifier", &verifier),
        ])
        .await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    tokens
}

/// Ends `browser`'s session at the provider as its user would there, without the gateway:
/// `/session/end` with the browser's `op_session` cookie, then its form confirmed with
/// `logout=yes`. The provider sends its back-channel logout for that session (to the
/// client's `backchannel_logout_uri`, when one is registered) before it answers.
pub async fn end_op_session(browser: &Browser, op: &OpenIdProvider) {
    let page = text_of(
        browser.navigate(&op.url("/session/end")).await,
        StatusCode::OK,
    )
    .await;
    let marker = "<form id=\"op.logoutForm\"";
    let action = attribute_after(&page, marker, "action")
        .map(|action| unescape(&action))
        .unwrap_or_else(|| panic!("no logout form (is there a provider session?):\n{page}"));
    let xsrf = attribute_after(&page, "name=\"xsrf\"", "value")
        .unwrap_or_else(|| panic!("no xsrf field in the logout form:\n{page}"));
    let resp = browser
        .client
        .post(action)
        .form(&[("xsrf", xsrf.as_str()), ("logout", "yes")])
        .send()
        .await
        .expect("confirm the logout");
    assert_eq!(resp.status(), StatusCode::SEE_OTHER, "{}", resp.url());
    assert_redirects_to(&resp, &op.url("/session/end/success"));
}

/// The body of `resp`, which must have status `expected`.
pub async fn text_of(resp: Response, expected: StatusCode) -> String {
    let status = resp.status();
    let url = resp.url().clone();
    let body = resp.text().await.expect("response body");
    assert_eq!(status, expected, "{url}:\n{body}");
    body
}

/// The `action` of `<form id="{id}" method="post" action="…">` on a provider page.
pub fn form_action(page: &str, id: &str) -> String {
    attribute_after(page, &format!("<form id=\"{id}\""), "action")
        .map(|action| unescape(&action))
        .unwrap_or_else(|| panic!("no form {id} on the page:\n{page}"))
}

/// The value of attribute `name` in the tag that contains `marker`, after the marker.
pub fn attribute_after(page: &str, marker: &str, name: &str) -> Option<String> {
    let at = page.find(marker)?;
    let tag_end = at + page[at..].find('>')?;
    attribute_in(&page[at..tag_end], name)
}

/// The value of attribute `name` in `tag`, as written (still HTML-escaped).
pub fn attribute_in(tag: &str, name: &str) -> Option<String> {
    let start = tag.find(&format!("{name}=\""))? + name.len() + 2;
    let end = start + tag[start..].find('"')?;
    Some(tag[start..end].to_owned())
}

/// `html` with the entities the gateway's and the provider's templates write decoded.
pub fn unescape(html: &str) -> String {
    html.replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&#x2f;", "/")
        .replace("&#x2F;", "/")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}
