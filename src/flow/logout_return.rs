//! The way back from the provider's end-session endpoint: the `state` of RP-Initiated Logout
//! 1.0 §2 and §3, and `GET /oauth2/signed_out`.
//!
//! Sign-out sends a fresh random `state` (256 bits) with the end-session request and keeps
//! it, with the provider and the sign-out's `rd`, in a short-lived encrypted cookie scoped to
//! `/oauth2/signed_out` (`{cookie_name}_signout`, like the flow cookies: only this browser has
//! it). Some providers (glewlwyd) only send the browser back to `post_logout_redirect_uri`
//! when the request carried `state`. What "checked" means when the browser comes back:
//!
//! - `state` equals the cookie's (constant-time) and the cookie is fresh: this is the end of
//!   the sign-out this browser started. Only then is the kept `rd` followed (validated again),
//!   and the page names the provider the person was sent through.
//! - No `state` (a provider that drops it, or a person who opens the page): the plain
//!   signed-out page; nothing kept is used.
//! - Another `state`, or one without a cookie that opens: the plain signed-out page, nothing
//!   kept is used, and a warning is logged.
//!
//! The cookie is deleted in every case: one sign-out, one return. The page itself changes
//! nothing (the session ended before the browser left), so the worst a forged return can do
//! is show the plain page.

use std::time::Duration;

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, Uri};
use axum::response::{Html, IntoResponse, Response};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand::RngCore as _;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use crate::links::redirect;
use crate::pages::SignedOutPage;
use crate::query::QueryParams;
use crate::redirect::RedirectTarget;
use crate::session::{unix_now, CookieJar, SessionCodec};
use crate::state::AppState;

/// Associated data of the sign-out cookie.
const LOGOUT_PURPOSE: &[u8] = b"portcullis logout return v1";
/// The only path the sign-out cookie is sent to.
const RETURN_PATH: &str = "/oauth2/signed_out";
/// How long the way back stays open: as long as a sign-in may take.
const RETURN_LIFETIME: Duration = Duration::from_secs(600);

/// What the sign-out cookie keeps between the end-session request and the return.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct LogoutReturn {
    /// 32 random bytes, base64url: the `state` sent to the provider.
    #[serde(rename = "s")]
    pub(super) state: String,
    /// The provider id the browser was sent to.
    #[serde(rename = "p")]
    pub(super) provider: String,
    /// Where sign-out was asked to go, when it was asked (`rd`).
    #[serde(rename = "r")]
    pub(super) rd: Option<String>,
    /// Unix seconds.
    #[serde(rename = "t")]
    pub(super) issued_at: u64,
}

/// What a return to `/oauth2/signed_out` proved.
#[derive(Debug, PartialEq)]
pub(super) enum Verdict {
    /// The `state` of this browser's own sign-out came back.
    Confirmed {
        provider: String,
        rd: Option<String>,
    },
    /// No `state` came back: a provider that drops it, or a plain visit.
    NoState,
    /// A `state` came back that this browser did not send (or sent too long ago).
    Mismatch,
}

impl LogoutReturn {
    /// A new way back for a sign-out through `provider`, with a fresh random state.
    pub(super) fn new(provider: &str, rd: Option<&RedirectTarget>, now: u64) -> LogoutReturn {
        let mut state = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut state);
        LogoutReturn {
            state: URL_SAFE_NO_PAD.encode(state),
            provider: provider.to_owned(),
            rd: rd.map(|rd| rd.as_str().to_owned()),
            issued_at: now,
        }
    }

    /// The `Set-Cookie` that keeps this return in the browser.
    pub(super) fn cookie(&self, jar: &CookieJar<'_>, codec: &SessionCodec) -> Option<HeaderValue> {
        let json = serde_json::to_vec(self).ok()?;
        let sealed = codec.seal(LOGOUT_PURPOSE, &json);
        Some(jar.build(
            &cookie_name(&jar.settings().name),
            &sealed,
            RETURN_PATH,
            Some(RETURN_LIFETIME),
        ))
    }

    fn open(codec: &SessionCodec, sealed: &str) -> Option<LogoutReturn> {
        let json = codec.open(LOGOUT_PURPOSE, sealed)?;
        serde_json::from_slice(&json).ok()
    }

    /// Judges a return that brought `returned` as `state` against what was kept.
    pub(super) fn verdict(kept: Option<LogoutReturn>, returned: Option<&str>, now: u64) -> Verdict {
        let Some(returned) = returned else {
            return Verdict::NoState;
        };
        let Some(kept) = kept else {
            return Verdict::Mismatch;
        };
        let fresh = kept.issued_at <= now.saturating_add(60)
            && now.saturating_sub(kept.issued_at) <= RETURN_LIFETIME.as_secs();
        if fresh && bool::from(kept.state.as_bytes().ct_eq(returned.as_bytes())) {
            Verdict::Confirmed {
                provider: kept.provider,
                rd: kept.rd,
            }
        } else {
            Verdict::Mismatch
        }
    }
}

/// `{cookie_name}_signout`: the gateway's by its prefix, so never sent upstream.
fn cookie_name(session_cookie_name: &str) -> String {
    format!("{session_cookie_name}_signout")
}

/// `GET /oauth2/signed_out`: where providers send people back after logout, and where
/// sign-out ends without one (see the module documentation for what `state` decides).
pub(crate) async fn signed_out(
    State(state): State<AppState>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let params = QueryParams::from_uri(&uri);
    let jar = CookieJar::from_headers(&state.cookies, &headers);
    let name = cookie_name(&state.cookies.name);
    let kept = jar
        .get(&name)
        .and_then(|sealed| LogoutReturn::open(&state.codec, sealed));
    let verdict = LogoutReturn::verdict(kept, params.get("state"), unix_now());
    let mut page = SignedOutPage {
        sign_in_url: "/oauth2/sign_in".to_owned(),
        provider: None,
    };
    let mut response = match verdict {
        Verdict::Confirmed { provider, rd } => {
            tracing::info!(provider = %provider, "sign-out: back from the provider's end-session endpoint");
            match rd {
                Some(rd) => {
                    let rd = RedirectTarget::parse(
                        Some(&rd),
                        &state.config.server.allowed_redirect_hosts,
                    );
                    redirect(rd.as_str())
                }
                None => {
                    page.provider = state.providers.get(&provider).map(|p| p.name().to_owned());
                    Html(state.pages.signed_out(&page)).into_response()
                }
            }
        }
        Verdict::NoState => Html(state.pages.signed_out(&page)).into_response(),
        Verdict::Mismatch => {
            tracing::warn!("sign-out return with a state this browser did not send: ignored, showing the plain signed-out page");
            Html(state.pages.signed_out(&page)).into_response()
        }
    };
    if jar.get(&name).is_some() {
        let expired = jar.expire(&name, RETURN_PATH);
        response.headers_mut().append(header::SET_COOKIE, expired);
    }
    response
}

#[cfg(test)]
mod tests;
