//! Session open: a signed-in browser's request headers, its cookie-store session (about
//! 1.6 KB sealed, what a sign-in with an ID token, an access and a refresh token leaves), and
//! the same cookie with one character changed.

use std::sync::Arc;

use axum::http::{header, HeaderMap, HeaderValue};
use serde_json::json;

use super::gateway::{self, ready, Gateway, CLIENT_ID, PROVIDER_ID};
use crate::identity::Identity;
use crate::session::{CookieJar, Session};
use crate::state::AppState;

/// A signed-in request's session, opened the way every request opens it.
pub struct SessionOpen {
    state: AppState,
    /// The session as it was sealed, to compare with what opens.
    session: Session,
    sealed: String,
    valid: HeaderMap,
    tampered: HeaderMap,
    now: u64,
}

impl SessionOpen {
    /// Seals the session and builds both requests' headers (other cookies around it, as a
    /// browser sends them).
    pub fn new() -> anyhow::Result<SessionOpen> {
        let gateway = Gateway::discovered()?;
        let now = gateway::now();
        let session = signed_in_session(&gateway, now)?;
        let sealed = session.seal(&gateway.state.codec)?;
        let tampered = tamper(&sealed);
        let name = gateway.state.cookies.name.clone();
        Ok(SessionOpen {
            valid: cookie_headers(&name, &sealed)?,
            tampered: cookie_headers(&name, &tampered)?,
            state: gateway.state,
            session,
            sealed,
            now,
        })
    }

    /// The measured part: the request's cookies parsed and its session loaded from the store
    /// (opened, its lifetime, idle time and revocations checked), as the gate does.
    pub fn open(&self) -> Option<Arc<Session>> {
        self.load(&self.valid)
    }

    /// The same with the tampered cookie: what refusing it costs (`None` when refused).
    pub fn reject(&self) -> Option<Arc<Session>> {
        self.load(&self.tampered)
    }

    /// Only the unsealing of the cookie's value: base64, AES-256-GCM and the JSON.
    pub fn unseal(&self) -> Option<Session> {
        Session::open(&self.state.codec, &self.sealed, self.now)
    }

    /// The session that was sealed.
    pub fn expected(&self) -> &Session {
        &self.session
    }

    /// Bytes of the sealed session, the session cookie's value.
    pub fn cookie_len(&self) -> usize {
        self.sealed.len()
    }

    fn load(&self, headers: &HeaderMap) -> Option<Arc<Session>> {
        let jar = CookieJar::from_headers(&self.state.cookies, headers);
        let loaded = ready(self.state.sessions.load(&jar, self.now))?;
        loaded.ok().flatten().map(|loaded| loaded.session)
    }
}

/// The person of every benchmark: a verified email, a username and a few groups.
pub(super) fn alice() -> Identity {
    Identity {
        user: "248289761001".to_owned(),
        email: Some("alice.johnson@example.com".to_owned()),
        preferred_username: Some("alice.johnson".to_owned()),
        groups: vec![
            "staff".to_owned(),
            "engineering".to_owned(),
            "oncall".to_owned(),
        ],
        provider: PROVIDER_ID.to_owned(),
    }
}

/// A session as a sign-in leaves it when refresh is on and an upstream receives the ID
/// token: the ID token (RS256 with a 2048-bit key), access and refresh tokens, their times.
fn signed_in_session(gateway: &Gateway, now: u64) -> anyhow::Result<Session> {
    let identity = alice();
    let signed_in = now.saturating_sub(300);
    let id_token = gateway.sign(
        "JWT",
        &json!({
            "iss": gateway.issuer, "aud": CLIENT_ID, "sub": identity.user,
            "iat": signed_in, "exp": signed_in + 3600,
            "nonce": "n-0S6_WzA2Mj", "sid": "08a5019c-17e1-4977-8f42-65a12843ea02",
            "email": identity.email, "email_verified": true,
        }),
    )?;
    Ok(Session {
        sid: Some("08a5019c-17e1-4977-8f42-65a12843ea02".to_owned()),
        id_token: Some(id_token),
        access_token: Some("SlAV32hkKG2MAZdXnUqv0Iq4TWPcRzcXwjGgFIlyrcY".to_owned()),
        refresh_token: Some("8xLOxBtZp8rT3Wq9kN2vY5mHdJ7cF4gQe1sA6uKiPoR".to_owned()),
        access_expires_at: Some(signed_in + 3600),
        refresh_at: Some(signed_in + 3540),
        ..Session::new(identity, signed_in, 12 * 3600)
    })
}

/// `sealed` with its middle character replaced by another base64url character: still a
/// well-formed value, so refusing it takes the whole decryption.
fn tamper(sealed: &str) -> String {
    let middle = sealed.len() / 2;
    let replaced = match sealed.get(middle..=middle) {
        Some("A") => "B",
        _ => "A",
    };
    format!(
        "{}{replaced}{}",
        sealed.get(..middle).unwrap_or_default(),
        sealed.get(middle + 1..).unwrap_or_default()
    )
}

/// A browser's `Cookie` field with the session cookie `name=value` among others.
fn cookie_headers(name: &str, value: &str) -> anyhow::Result<HeaderMap> {
    let mut headers = HeaderMap::new();
    let cookies =
        format!("_ga=GA1.1.1938457120.1779995000; theme=dark; {name}={value}; lang=en-GB");
    headers.insert(header::COOKIE, HeaderValue::from_str(&cookies)?);
    Ok(headers)
}

/// The `Cookie` field of the signed-in browser, for the header rewrite.
pub(super) fn browser_cookies(gateway: &Gateway) -> anyhow::Result<HeaderValue> {
    let session = signed_in_session(gateway, gateway::now())?;
    let sealed = session.seal(&gateway.state.codec)?;
    let headers = cookie_headers(&gateway.state.cookies.name, &sealed)?;
    headers
        .get(header::COOKIE)
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("the cookie field was not set"))
}
