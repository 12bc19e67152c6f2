//! `/oauth2/sign_out`, safe from logout CSRF: another site cannot sign a person out (and
//! end their session at the provider) by a link, an image or a form.
//!
//! The rule, for a browser that holds a session:
//! - A request with a valid sign-out token (the confirmation page's button) signs out.
//! - `Sec-Fetch-Site: same-origin`, `same-site` or `none` (typed, bookmarked) signs out in
//!   one click; `cross-site` (or any other value) gets the confirmation page.
//! - Without `Sec-Fetch-Site` (older browsers), an `Origin`, else a `Referer`, naming the
//!   gateway's own origin, the request's host or an `allowed_redirect_hosts` host signs out;
//!   one naming another site (or `Origin: null`) gets the confirmation page.
//! - Without any of these headers (programs, and links from pages that send no referrer),
//!   sign-out works in one click, as oauth2-proxy users expect of a plain link. Every current
//!   browser sends `Sec-Fetch-Site`, so a cross-site request from one is always recognised.
//!
//! The confirmation page is a "Sign out?" card whose button POSTs back with a token sealed
//! by the gateway, bound to the session cookie the page was shown with (a hash of it) and
//! valid for ten minutes: another site can neither read nor forge it, and a token does
//! nothing in another browser, even one signed in as the same person. A request that fails
//! the rule is shown the page again (so is one whose session cookie was re-sealed in the
//! meantime), never signed out. A browser without a session has nothing to lose and is signed
//! out as before.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, Uri};
use axum::response::{Html, IntoResponse, Response};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use super::logout_return::LogoutReturn;
use crate::error::AppError;
use crate::links::redirect;
use crate::pages::{SignOutPage, SigningOutPage};
use crate::query::QueryParams;
use crate::redirect::RedirectTarget;
use crate::session::{cookie_binding, unix_now, CookieJar, Session, SessionCodec};
use crate::state::AppState;

/// Associated data for sign-out tokens.
const SIGN_OUT_PURPOSE: &[u8] = b"portcullis sign-out v1";
/// How long the confirmation page's button works.
const TOKEN_LIFETIME_SECS: u64 = 600;

/// What a sign-out token seals.
#[derive(Serialize, Deserialize)]
struct SignOutToken {
    /// [`cookie_binding`] of the session cookie the page was shown with.
    #[serde(rename = "b")]
    binding: String,
    #[serde(rename = "t")]
    issued_at: u64,
}

impl SignOutToken {
    fn seal(codec: &SessionCodec, session_cookie: &str, now: u64) -> String {
        let token = SignOutToken {
            binding: cookie_binding(session_cookie),
            issued_at: now,
        };
        serde_json::to_vec(&token)
            .map(|json| codec.seal(SIGN_OUT_PURPOSE, &json))
            .unwrap_or_default()
    }

    /// Whether `sealed` is a fresh token for the session cookie `session_cookie`.
    fn is_valid(codec: &SessionCodec, sealed: &str, session_cookie: &str, now: u64) -> bool {
        let Some(token) = codec
            .open(SIGN_OUT_PURPOSE, sealed)
            .and_then(|json| serde_json::from_slice::<SignOutToken>(&json).ok())
        else {
            return false;
        };
        let fresh = token.issued_at <= now.saturating_add(60)
            && now.saturating_sub(token.issued_at) <= TOKEN_LIFETIME_SECS;
        fresh
            && bool::from(
                token
                    .binding
                    .as_bytes()
                    .ct_eq(cookie_binding(session_cookie).as_bytes()),
            )
    }
}

/// `GET|POST /oauth2/sign_out?rd=`: clears the session; then RP-initiated logout at the
/// provider when it has an end-session endpoint, else `rd` or the signed-out page. A
/// cross-site request is asked to confirm first (see the module documentation).
pub(crate) async fn sign_out(
    State(state): State<AppState>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = QueryParams::from_uri(&uri);
    let jar = CookieJar::from_headers(&state.cookies, &headers);
    let now = unix_now();
    let session = match state.sessions.load(&jar, now).await {
        Ok(loaded) => loaded.map(|loaded| loaded.session),
        Err(err) => return store_failed(&jar, &err),
    };
    let mut confirmed = false;
    if let (Some(session), Some(cookie)) = (&session, jar.session_value()) {
        confirmed = QueryParams::from_form(&body)
            .get("csrf_token")
            .is_some_and(|token| SignOutToken::is_valid(&state.codec, token, &cookie, now));
        if !confirmed && is_cross_site(&state, &headers) {
            return confirmation_page(&state, session, &cookie, params.get("rd"), now);
        }
    }
    // Dead everywhere before the browser is sent on: a copy of the cookie opens nothing.
    if let Some(s) = &session {
        if let Err(err) = state.sessions.forget(s, now).await {
            return store_failed(&jar, &err);
        }
        tracing::info!(provider = %s.identity.provider, user = %s.identity.user, "sign-out");
    }
    let (target, way_back) = sign_out_target(&state, session.as_deref(), params.get("rd"), now);
    let mut response = if confirmed && !target.starts_with('/') {
        let page = SigningOutPage { next_url: target };
        Html(state.pages.signing_out(&page)).into_response()
    } else {
        redirect(&target)
    };
    let way_back = way_back.and_then(|way_back| way_back.cookie(&jar, &state.codec));
    for cookie in jar.clear_session().into_iter().chain(way_back) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

/// A sign-out the store could not record: 503, so the person knows to try again (the cookie
/// is cleared anyway, but a copy of it would still work until the store answers).
fn store_failed(jar: &CookieJar<'_>, err: &crate::session::StoreError) -> Response {
    tracing::error!(error = %crate::error_chain::error_chain(err), "sign-out: the session store could not be reached");
    let mut response = AppError::SessionStore.into_response();
    for cookie in jar.clear_session() {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

/// The longest ID token sent as `id_token_hint`: the end-session request is a redirect, and
/// servers commonly refuse request lines over 8 KB (nginx's default buffer). Beyond it the
/// request names the client by `client_id` alone, as RP-Initiated Logout 1.0 §2 allows.
const MAX_ID_TOKEN_HINT: usize = 4096;

fn id_token_hint(session: &Session) -> Option<&str> {
    session
        .id_token
        .as_deref()
        .filter(|token| token.len() <= MAX_ID_TOKEN_HINT)
}

/// Where sign-out sends the browser: the provider's end-session endpoint when it has one
/// (RP-Initiated Logout 1.0 §2, with a fresh `state` and the [`LogoutReturn`] that checks it
/// on the way back), else `rd`, else the signed-out page.
fn sign_out_target(
    state: &AppState,
    session: Option<&Session>,
    rd: Option<&str>,
    now: u64,
) -> (String, Option<LogoutReturn>) {
    let allowed_hosts = &state.config.server.allowed_redirect_hosts;
    let rd = rd.map(|rd| RedirectTarget::parse(Some(rd), allowed_hosts));
    let signed_out_url = format!("{}/oauth2/signed_out", state.public_url);
    let end_session = session.and_then(|s| {
        let provider = state.providers.get(&s.identity.provider)?;
        let url = provider.end_session_url(id_token_hint(s), &signed_out_url)?;
        Some((url, LogoutReturn::new(provider.id(), rd.as_ref(), now)))
    });
    match (end_session, rd) {
        (Some((mut url, way_back)), _) => {
            url.query_pairs_mut().append_pair("state", &way_back.state);
            (url.to_string(), Some(way_back))
        }
        (None, Some(rd)) => (rd.as_str().to_owned(), None),
        (None, None) => ("/oauth2/signed_out".to_owned(), None),
    }
}

/// The "Sign out?" page: a form that POSTs back here with a fresh token (and `rd`).
fn confirmation_page(
    state: &AppState,
    session: &Session,
    session_cookie: &str,
    rd: Option<&str>,
    now: u64,
) -> Response {
    tracing::info!(provider = %session.identity.provider, user = %session.identity.user, "cross-site sign-out: asking for confirmation");
    let action = match rd {
        Some(rd) => {
            let rd = RedirectTarget::parse(Some(rd), &state.config.server.allowed_redirect_hosts);
            let query: String = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("rd", rd.as_str())
                .finish();
            format!("/oauth2/sign_out?{query}")
        }
        None => "/oauth2/sign_out".to_owned(),
    };
    let page = SignOutPage {
        action,
        csrf_token: SignOutToken::seal(&state.codec, session_cookie, now),
        cancel_url: "/".to_owned(),
    };
    Html(state.pages.sign_out(&page)).into_response()
}

/// Whether the request comes from another site, by `Sec-Fetch-Site` (W3C Fetch Metadata),
/// else `Origin` (RFC 6454), else `Referer` (RFC 9110 §10.1.3); without any, it does not.
fn is_cross_site(state: &AppState, headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site") {
        return !matches!(site.as_bytes(), b"same-origin" | b"same-site" | b"none");
    }
    match headers
        .get(header::ORIGIN)
        .or_else(|| headers.get(header::REFERER))
    {
        Some(source) => !is_own_site(state, headers, source.to_str().unwrap_or_default()),
        None => false,
    }
}

/// Whether `source` (an origin or a URL) is the gateway's public origin, the host the
/// request was sent to, or a host `rd` may name.
fn is_own_site(state: &AppState, headers: &HeaderMap, source: &str) -> bool {
    let Ok(url) = url::Url::parse(source) else {
        return false;
    };
    if !matches!(url.scheme(), "http" | "https") {
        return false;
    }
    let authority = |url: &url::Url| -> Option<String> {
        let host = url.host_str()?.to_ascii_lowercase();
        Some(match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host,
        })
    };
    let Some(source_authority) = authority(&url) else {
        return false;
    };
    let request_host = headers
        .get(header::HOST)
        .and_then(|host| host.to_str().ok())
        .map(str::to_ascii_lowercase);
    request_host.as_deref() == Some(source_authority.as_str())
        || authority(&state.config.server.public_url).as_deref() == Some(source_authority.as_str())
        || RedirectTarget::parse(
            Some(url.as_str()),
            &state.config.server.allowed_redirect_hosts,
        ) != RedirectTarget::root()
}
