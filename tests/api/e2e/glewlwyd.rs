//! glewlwyd (Debian's package, a C OpenID provider nobody here wrote) as a second,
//! independent provider (issue 15, point 1; DESIGN §8): provisioned from nothing by
//! `e2e/glewlwyd/run.sh` for each test, driven without a browser through its REST API as its
//! login page would, in front of an echo upstream that shows what the app behind receives.
//!
//! Sign-in with the identity the app sees and `/oauth2/userinfo`; an unverified email that
//! glewlwyd asserts as such keeps the user out; sign-out through glewlwyd's end-session
//! endpoint back to `/oauth2/signed_out`; a signing-key rotation at glewlwyd during the run;
//! and the access token renewed with glewlwyd's rotating refresh tokens. Without glewlwyd and
//! the tools `run.sh` needs a test prints `skipped: …` and passes, unless `PORTCULLIS_E2E=1`.

mod deployment;
mod login_page;
mod provider;

use base64::Engine as _;
use portcullis::session::unix_now;
use reqwest::header::ACCEPT;
use reqwest::StatusCode;
use serde_json::Value;

use super::support::{text_of, SESSION_COOKIE};
use crate::echo_upstream::EchoedRequest;
use crate::helpers::{assert_redirects_to, location, Browser};
use crate::refresh::sleep_until;
use deployment::{Deployment, PROVIDER_ID};
use login_page::EndSessionPrompt;
use provider::{plain_client, Glewlwyd};

/// The `kid` in a JWT's header.
fn kid_of(jwt: &str) -> String {
    let header = jwt.split('.').next().expect("a JWT");
    let header = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .expect("base64url header");
    let header: Value = serde_json::from_slice(&header).expect("JSON header");
    header["kid"]
        .as_str()
        .unwrap_or_else(|| panic!("no kid in {header}"))
        .to_owned()
}

/// The access token the app got, which glewlwyd issued.
fn access_token(request: &EchoedRequest) -> String {
    request
        .header("x-forwarded-access-token")
        .expect("the app gets the access token")
        .to_owned()
}

/// glewlwyd's userinfo answer for `access_token`: its status and JSON (or `Null`).
async fn glewlwyd_userinfo(glewlwyd: &Glewlwyd, access_token: &str) -> (StatusCode, Value) {
    let resp = plain_client()
        .get(format!("{}/userinfo", glewlwyd.issuer))
        .bearer_auth(access_token)
        .send()
        .await
        .expect("glewlwyd's userinfo");
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn sign_in_through_glewlwyd_reaches_the_app_with_the_identity_and_userinfo() {
    let Some(e2e) = Deployment::start(None, "").await else {
        return;
    };

    let browser = e2e.sign_in("alice").await;

    // The user is glewlwyd's `sub` for alice, an opaque id of its own.
    let seen = e2e.app_request(&browser).await;
    let (status, info) = glewlwyd_userinfo(&e2e.glewlwyd, &access_token(&seen)).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "glewlwyd refuses the token the app got: {info}"
    );
    assert_eq!(info["preferred_username"], "alice", "{info}");
    let sub = info["sub"].as_str().expect("a sub").to_owned();
    assert!(!sub.is_empty() && sub != "alice", "{info}");
    assert_eq!(seen.path, "/whoami");
    assert_eq!(seen.header("x-forwarded-user"), Some(sub.as_str()));
    assert_eq!(seen.header("x-forwarded-email"), Some("alice@example.com"));
    assert_eq!(seen.header("x-forwarded-preferred-username"), Some("alice"));
    assert_eq!(seen.header("x-forwarded-groups"), Some("staff,admins"));
    assert_eq!(seen.header("x-forwarded-provider"), Some(PROVIDER_ID));
    assert!(
        !seen
            .cookies()
            .iter()
            .any(|(name, _)| name.starts_with(SESSION_COOKIE)),
        "a gateway cookie reached the app: {:?}",
        seen.cookies()
    );

    let resp = browser
        .client
        .get(e2e.url("/oauth2/userinfo"))
        .header(ACCEPT, "application/json")
        .send()
        .await
        .expect("userinfo");
    assert_eq!(resp.status(), StatusCode::OK);
    let info: Value = resp.json().await.expect("userinfo JSON");
    assert_eq!(info["user"], sub, "{info}");
    assert_eq!(info["email"], "alice@example.com", "{info}");
    assert_eq!(info["preferred_username"], "alice", "{info}");
    assert_eq!(
        info["groups"],
        serde_json::json!(["staff", "admins"]),
        "{info}"
    );
    assert_eq!(info["provider"], PROVIDER_ID, "{info}");
}

#[tokio::test]
async fn an_email_glewlwyd_marks_unverified_does_not_count() {
    let Some(e2e) = Deployment::start(None, "").await else {
        return;
    };
    let browser = Browser::new();

    // carol@example.com would pass `email_domains`, but glewlwyd says email_verified false.
    let callback = e2e.through_glewlwyd(&browser, "carol").await;
    let resp = browser.navigate(&callback).await;

    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let resp = browser.navigate(&e2e.url("/")).await;
    assert_redirects_to(&resp, "/oauth2/sign_in");
    assert!(e2e.app.requests().is_empty(), "carol reached the app");
}

#[tokio::test]
async fn sign_out_ends_the_glewlwyd_session_and_returns_to_signed_out() {
    let Some(e2e) = Deployment::start(None, "").await else {
        return;
    };
    let browser = e2e.sign_in("alice").await;
    let token = access_token(&e2e.app_request(&browser).await);

    // The gateway ends its session and sends the browser to glewlwyd's end-session endpoint.
    let resp = browser.navigate(&e2e.url("/oauth2/sign_out")).await;
    let end_session = url::Url::parse(&location(&resp)).expect("end-session URL");
    let param = |name| {
        end_session
            .query_pairs()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.into_owned())
    };
    assert!(
        end_session
            .as_str()
            .starts_with(&format!("{}/end_session?", e2e.glewlwyd.issuer)),
        "{end_session}"
    );
    let signed_out = e2e.url("/oauth2/signed_out");
    assert_eq!(param("post_logout_redirect_uri"), Some(signed_out.clone()));
    assert!(param("id_token_hint").is_some(), "{end_session}");
    // glewlwyd only sends the browser back when the request carries `state` (issue 15).
    let state = param("state").unwrap_or_else(|| {
        panic!("no state in the end-session request, so glewlwyd will not send the browser back: {end_session}")
    });
    let resp = browser.navigate(&e2e.url("/")).await;
    assert_redirects_to(&resp, "/oauth2/sign_in");

    // glewlwyd accepts the ID token hint and the way back, and keeps the state for it.
    let prompt = EndSessionPrompt::from_redirect(
        &e2e.glewlwyd,
        &browser.navigate(end_session.as_str()).await,
    );
    assert_eq!(
        prompt.param("prompt").as_deref(),
        Some("end_session"),
        "{}",
        prompt.page
    );
    assert_eq!(
        prompt.param("client_id").as_deref(),
        Some(provider::CLIENT_ID)
    );
    let way_back = format!("{signed_out}?state={state}");
    assert_eq!(prompt.param("callback_url"), Some(way_back.clone()));

    // The person confirms at glewlwyd: its session and the tokens it issued for it end, and
    // the browser goes back to the gateway's signed-out page.
    let back = prompt.sign_out(&browser, &e2e.glewlwyd).await;
    assert_eq!(
        back,
        Some(way_back.clone()),
        "glewlwyd does not send the browser back"
    );
    let (status, _) = glewlwyd_userinfo(&e2e.glewlwyd, &token).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "the access token outlived the sign-out"
    );
    // The state comes back as sent: the page names the provider the person was signed out
    // at (the provider's display name), once; a second visit is the plain page.
    let page = text_of(browser.navigate(&way_back).await, StatusCode::OK).await;
    assert!(
        page.contains("glewlwyd"),
        "the way back was not recognised:\n{page}"
    );
    let again = text_of(browser.navigate(&way_back).await, StatusCode::OK).await;
    assert!(
        !again.contains("glewlwyd"),
        "one sign-out, one return:\n{again}"
    );

    // Signing in again means glewlwyd's login again.
    let start = e2e.url(&format!("/oauth2/start?provider={PROVIDER_ID}&rd=/"));
    let authorize = location(&browser.navigate(&start).await);
    let resp = browser.navigate(&authorize).await;
    assert_redirects_to(&resp, &e2e.glewlwyd.url("/login.html?"));
}

#[tokio::test]
async fn a_signing_key_rotated_at_glewlwyd_is_picked_up_from_its_jwks() {
    let Some(e2e) = Deployment::start(None, "").await else {
        return;
    };
    // Signed in under the first key: the gateway has glewlwyd's JWKS with only that key.
    let before = e2e.sign_in("alice").await;
    let old_token = access_token(&e2e.app_request(&before).await);
    assert_eq!(kid_of(&old_token), "key-1");
    assert_eq!(e2e.glewlwyd.published_kids().await, ["key-1"]);

    let new_kid = e2e.glewlwyd.rotate_signing_key().await;
    assert_eq!(
        e2e.glewlwyd.published_kids().await,
        [new_kid.as_str(), "key-1"]
    );

    // A sign-in now brings an ID token signed with a key the gateway has not seen.
    let after = e2e.sign_in("alice").await;
    let seen = e2e.app_request(&after).await;
    assert_eq!(seen.header("x-forwarded-email"), Some("alice@example.com"));
    assert_eq!(
        kid_of(&access_token(&seen)),
        new_kid,
        "glewlwyd did not rotate"
    );
    // The session from before the rotation goes on.
    let seen = e2e.app_request(&before).await;
    assert_eq!(seen.header("x-forwarded-email"), Some("alice@example.com"));
    assert_eq!(access_token(&seen), old_token);
}

/// Seconds glewlwyd's access tokens live in the refresh journey.
const SHORT_TTL: u64 = 6;

#[tokio::test]
async fn the_access_token_is_renewed_with_glewlwyds_rotating_refresh_tokens() {
    // At most half the token's lifetime.
    let Some(e2e) = Deployment::start(Some(SHORT_TTL as u32), "refresh_before = \"3s\"\n").await
    else {
        return;
    };
    let browser = e2e.sign_in("alice").await;
    let mut issued_by = unix_now();
    let mut token = access_token(&e2e.app_request(&browser).await);

    // Twice, so that the second renewal uses the refresh token the first one rotated in.
    for renewal in 1..=2 {
        sleep_until(issued_by + SHORT_TTL).await;
        let seen = e2e.app_request(&browser).await;
        issued_by = unix_now();
        let renewed = access_token(&seen);
        assert_ne!(
            renewed, token,
            "renewal {renewal}: the expired token was passed on"
        );
        assert_eq!(seen.header("x-forwarded-email"), Some("alice@example.com"));
        let (status, info) = glewlwyd_userinfo(&e2e.glewlwyd, &renewed).await;
        assert_eq!(
            status,
            StatusCode::OK,
            "renewal {renewal}: glewlwyd refuses {info}"
        );
        token = renewed;
    }
    let resp = browser.navigate(&e2e.url("/")).await;
    assert_eq!(
        resp.status(),
        StatusCode::OK,
        "the session ended: {}",
        resp.url()
    );
}
