//! What glewlwyd's login page (its JavaScript web app, `login.html`) does in a browser, done
//! with plain HTTP: glewlwyd's authorization and end-session endpoints send the browser to
//! that page with the request in its query, and the page drives glewlwyd's REST API
//! (docs/API.md) before it sends the browser on.

use reqwest::StatusCode;
use serde_json::{json, Value};
use url::Url;

use super::provider::{Glewlwyd, PASSWORD};
use crate::helpers::{location, Browser};

/// From glewlwyd's authorization URL (where the gateway's `/oauth2/start` leads), signs in as
/// `username` the way the login page does (`POST /api/auth/` with the password, the grant of
/// the requested scopes to the client with `PUT /api/auth/grant/{client_id}`, then back to
/// the page's `callback_url` with `g_continue`); returns the URL glewlwyd then sends the
/// browser to outside itself (the gateway's callback with `code`, `state` and `iss`). A
/// browser that already holds a glewlwyd session with that grant goes straight through.
pub async fn sign_in(
    browser: &Browser,
    glewlwyd: &Glewlwyd,
    authorize: &str,
    username: &str,
) -> Url {
    let resp = browser.navigate(authorize).await;
    let next = location(&resp);
    if !next.starts_with(&glewlwyd.url("/login.html")) {
        return Url::parse(&next).expect("glewlwyd's redirect");
    }
    let page = Url::parse(&next).expect("login page URL");
    let client_id = param(&page, "client_id");
    let scope = param(&page, "scope");

    let resp = browser
        .client
        .post(glewlwyd.url("/api/auth/"))
        .json(&json!({ "username": username, "password": PASSWORD }))
        .send()
        .await
        .expect("POST /api/auth/");
    assert_eq!(
        resp.status(),
        StatusCode::OK,
        "glewlwyd refused {username}'s password"
    );
    // The grant takes the scopes space-separated, as the login page sends them.
    let resp = browser
        .client
        .put(glewlwyd.url(&format!("/api/auth/grant/{client_id}")))
        .json(&json!({ "scope": scope }))
        .send()
        .await
        .expect("PUT /api/auth/grant");
    assert_eq!(
        resp.status(),
        StatusCode::OK,
        "grant of {scope:?} to {client_id}"
    );

    let resp = browser
        .navigate(&format!("{}&g_continue", param(&page, "callback_url")))
        .await;
    let back = location(&resp);
    assert!(
        !back.starts_with(&glewlwyd.url("/login.html")),
        "glewlwyd still wants the login page after the password and the grant: {back}"
    );
    Url::parse(&back).expect("glewlwyd's redirect")
}

/// The end-session prompt glewlwyd's end-session endpoint sent the browser to: its login page
/// with `prompt=end_session` (an `id_token_hint` glewlwyd accepted; `single_logout` means it
/// did not), the session's `sid`, the plugin and the client, and in `callback_url` the
/// `post_logout_redirect_uri` with `state` appended.
pub struct EndSessionPrompt {
    pub page: Url,
}

impl EndSessionPrompt {
    /// Where glewlwyd's end-session endpoint sent the browser.
    pub fn from_redirect(glewlwyd: &Glewlwyd, resp: &reqwest::Response) -> EndSessionPrompt {
        let target = location(resp);
        assert!(
            target.starts_with(&glewlwyd.url("/login.html?")),
            "glewlwyd's end-session endpoint did not lead to its login page: {target}"
        );
        EndSessionPrompt {
            page: Url::parse(&target).expect("login page URL"),
        }
    }

    /// The page's query parameter `name`, if present.
    pub fn param(&self, name: &str) -> Option<String> {
        self.page
            .query_pairs()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.into_owned())
    }

    /// What the page does when the person chooses "Sign out" (EndSession.js): reads the
    /// session's clients (`GET /api/{plugin}/session/{sid}/{client_id}`, which confirms the
    /// way back only when it is one of the client's `post_logout_redirect_uris`), ends the
    /// OpenID session (`DELETE /api/{plugin}/session/{sid}`: its tokens are disabled) and
    /// glewlwyd's own (`DELETE /api/auth/`), then sends the browser to `callback_url`, but only
    /// when the way back was confirmed; returns that URL, or `None` where the page stays.
    pub async fn sign_out(&self, browser: &Browser, glewlwyd: &Glewlwyd) -> Option<String> {
        let required = |name| {
            self.param(name)
                .unwrap_or_else(|| panic!("no {name} on the end-session prompt {}", self.page))
        };
        let (sid, plugin, client_id) = (required("sid"), required("plugin"), required("client_id"));
        let mut list =
            Url::parse(&glewlwyd.url(&format!("/api/{plugin}/session/{sid}/{client_id}")))
                .expect("session list URL");
        if let Some(to) = self.param("post_redirect_to") {
            list.query_pairs_mut().append_pair("post_redirect_to", &to);
        }
        let resp = browser
            .client
            .get(list)
            .send()
            .await
            .expect("GET the session's clients");
        assert_eq!(resp.status(), StatusCode::OK, "{}", resp.url());
        let clients: Value = resp.json().await.expect("the session's clients");

        let resp = browser
            .client
            .delete(glewlwyd.url(&format!("/api/{plugin}/session/{sid}")))
            .send()
            .await
            .expect("DELETE the OpenID session");
        assert_eq!(resp.status(), StatusCode::OK, "{}", resp.url());
        let resp = browser
            .client
            .delete(glewlwyd.url("/api/auth/"))
            .send()
            .await
            .expect("DELETE glewlwyd's session");
        assert_eq!(resp.status(), StatusCode::OK, "{}", resp.url());

        clients
            .get("post_redirect_to")
            .and_then(Value::as_str)
            .map(|_| required("callback_url"))
    }
}

fn param(url: &Url, name: &str) -> String {
    url.query_pairs()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| panic!("no {name} in {url}"))
}
