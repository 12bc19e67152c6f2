//! The cookie store: the whole session, AEAD-sealed, is the cookie's value (chunked above
//! one cookie's size, `session/cookies.rs`). Any replica with the secret opens it. The raw
//! ID token rides along only while it fits: up to one cookie's worth of session when no
//! upstream needs it, up to the chunks' capacity when one does; beyond that the session is
//! kept without it (sign-out then sends `client_id` instead of `id_token_hint`).

use std::sync::Arc;

use axum::http::HeaderValue;

use super::codec::SessionCodec;
use super::cookies::{CookieJar, ONE_COOKIE, SESSION_CAPACITY};
use super::errors::SaveError;
use super::opened::OpenedSessions;
use super::record::Session;

pub(crate) struct CookieStore {
    codec: SessionCodec,
    /// The values opened so far, so a browser's cookie is opened once, not on every request.
    pub(super) opened: OpenedSessions,
    /// Longest sealed session that may still carry the raw ID token.
    id_token_budget: usize,
}

impl CookieStore {
    pub(crate) fn new(codec: SessionCodec, wants_id_token: bool) -> CookieStore {
        CookieStore {
            codec,
            opened: OpenedSessions::default(),
            id_token_budget: if wants_id_token {
                SESSION_CAPACITY
            } else {
                ONE_COOKIE
            },
        }
    }

    /// The session sealed in `value`, and whether a previous secret sealed it.
    pub(crate) fn open(&self, value: &str, now: u64) -> Option<(Arc<Session>, bool)> {
        if let Some(remembered) = self.opened.get(value, now) {
            return Some(remembered);
        }
        let (session, stale_key) = Session::open_keyed(&self.codec, value, now)?;
        self.opened.insert(value, &session, stale_key, now);
        Some((Arc::new(session), stale_key))
    }

    pub(crate) fn save(
        &self,
        session: &Session,
        jar: &CookieJar<'_>,
    ) -> Result<Vec<HeaderValue>, SaveError> {
        let mut sealed = session.seal(&self.codec)?;
        if session.id_token.is_some() && sealed.len() > self.id_token_budget {
            tracing::debug!(
                user = %session.identity.user,
                bytes = sealed.len(),
                "the raw ID token is not kept in the session cookie: it does not fit"
            );
            sealed = session.without_id_token().seal(&self.codec)?;
        }
        Ok(jar.set_session(&sealed)?)
    }
}
