//! The sign-in form's CSRF protection (RFC 9700 §4.7 and the OWASP double-submit pattern,
//! with the token sealed rather than merely repeated).
//!
//! The sign-in page gives the browser a random *form cookie* (HttpOnly, SameSite=Lax,
//! `Path=/oauth2/`) and puts in each form a token sealed by the gateway that binds a hash of
//! that cookie and the time. A submission counts only with both, matching and fresh; and, when
//! the browser says where the form came from (`Sec-Fetch-Site`, else `Origin`), only from the
//! gateway's own origin. Another site can neither read the cookie nor forge the token, and a
//! cross-site POST does not even carry the cookie (SameSite=Lax), so no one can submit a
//! password, or sign a browser into someone else's account (login CSRF), from elsewhere.

use std::time::Duration;

use axum::http::{header, HeaderMap, HeaderValue};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use crate::session::{cookie_binding, CookieJar, SessionCodec};

/// Associated data of form tokens.
const FORM_PURPOSE: &[u8] = b"portcullis sign-in form v1";
/// How long a sign-in page's form works, and its cookie lives.
const FORM_LIFETIME: Duration = Duration::from_secs(12 * 3600);
const FORM_COOKIE_PATH: &str = "/oauth2/";

/// What a form token seals.
#[derive(Serialize, Deserialize)]
struct FormToken {
    /// [`cookie_binding`] of the form cookie.
    #[serde(rename = "b")]
    binding: String,
    #[serde(rename = "t")]
    issued_at: u64,
}

/// The form cookie's name: the session cookie's with `_form`.
pub(crate) fn cookie_name(session_cookie: &str) -> String {
    format!("{session_cookie}_form")
}

/// The token for the sign-in page's forms, and the `Set-Cookie` of a new form cookie when the
/// browser has none yet (one cookie for every tab, so a page opened earlier keeps working).
pub(crate) fn form_token(
    jar: &CookieJar<'_>,
    codec: &SessionCodec,
    now: u64,
) -> (String, Option<HeaderValue>) {
    let name = cookie_name(&jar.settings().name);
    let (value, set_cookie) = match jar.get(&name).filter(|v| is_cookie_value(v)) {
        Some(value) => (value.to_owned(), None),
        None => {
            let mut bytes = [0u8; 32];
            rand::thread_rng().fill_bytes(&mut bytes);
            let value = URL_SAFE_NO_PAD.encode(bytes);
            let cookie = jar.build(&name, &value, FORM_COOKIE_PATH, Some(FORM_LIFETIME));
            (value, Some(cookie))
        }
    };
    let token = FormToken {
        binding: cookie_binding(&value),
        issued_at: now,
    };
    let sealed = serde_json::to_vec(&token)
        .map(|json| codec.seal(FORM_PURPOSE, &json))
        .unwrap_or_default();
    (sealed, set_cookie)
}

/// Why a submitted form is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum FormRefused {
    #[error("the browser says the form was sent from another site")]
    CrossSite,
    #[error("the form has no token")]
    NoToken,
    #[error("the browser sent no form cookie")]
    NoCookie,
    #[error("the form's token does not open or belongs to another browser")]
    Mismatch,
    #[error("the form's token has expired")]
    Expired,
}

/// Whether a form submitted with `token`, in a request with `headers` and the cookies of
/// `jar`, came from a sign-in page this gateway showed this browser (see the module
/// documentation). `origin` is the public URL's origin (`https://login.example.com`).
pub(crate) fn check(
    jar: &CookieJar<'_>,
    headers: &HeaderMap,
    codec: &SessionCodec,
    token: Option<&str>,
    origin: &str,
    now: u64,
) -> Result<(), FormRefused> {
    if !same_origin(headers, origin) {
        return Err(FormRefused::CrossSite);
    }
    let token = token
        .filter(|t| !t.is_empty())
        .ok_or(FormRefused::NoToken)?;
    let cookie = jar
        .get(&cookie_name(&jar.settings().name))
        .filter(|v| is_cookie_value(v))
        .ok_or(FormRefused::NoCookie)?;
    let token = codec
        .open(FORM_PURPOSE, token)
        .and_then(|json| serde_json::from_slice::<FormToken>(&json).ok())
        .ok_or(FormRefused::Mismatch)?;
    if !bool::from(
        token
            .binding
            .as_bytes()
            .ct_eq(cookie_binding(cookie).as_bytes()),
    ) {
        return Err(FormRefused::Mismatch);
    }
    let fresh = token.issued_at <= now.saturating_add(60)
        && now.saturating_sub(token.issued_at) <= FORM_LIFETIME.as_secs();
    if !fresh {
        return Err(FormRefused::Expired);
    }
    Ok(())
}

/// `Sec-Fetch-Site` (Fetch Metadata), when sent, must be `same-origin`: a sibling subdomain
/// (`same-site`) is another site here. Without it, an `Origin` must be the gateway's public
/// origin or the host the request was sent to (the sign-in page of a routed host posts back
/// to that host). Without either (older browsers, programs), the token and cookie decide.
fn same_origin(headers: &HeaderMap, origin: &str) -> bool {
    if let Some(site) = headers.get("sec-fetch-site") {
        return site.as_bytes().eq_ignore_ascii_case(b"same-origin");
    }
    let Some(sent) = headers.get(header::ORIGIN) else {
        return true;
    };
    let Ok(sent) = sent.to_str() else {
        return false;
    };
    if sent.eq_ignore_ascii_case(origin) {
        return true;
    }
    let authority = url::Url::parse(sent)
        .ok()
        .filter(|url| matches!(url.scheme(), "http" | "https"))
        .and_then(|url| {
            let host = url.host_str()?.to_ascii_lowercase();
            Some(match url.port() {
                Some(port) => format!("{host}:{port}"),
                None => host,
            })
        });
    let host = headers
        .get(header::HOST)
        .and_then(|host| host.to_str().ok())
        .map(str::to_ascii_lowercase);
    authority.is_some() && authority == host
}

/// 43 base64url characters: what [`form_token`] sets, nothing else.
fn is_cookie_value(value: &str) -> bool {
    value.len() == 43
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests;
