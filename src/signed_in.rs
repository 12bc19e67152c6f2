//! Who is signed in on this request, found once for the gate, `/oauth2/auth` and
//! `/oauth2/userinfo`: the store's live session (`crate::session`), renewed when its access
//! token is about to expire (`crate::renewal`), its memberships read again when due
//! (`crate::membership`), and saved again when any of that, a previous secret or the
//! activity record (`idle_timeout`) asks for it. A store that cannot answer is a 503, never
//! a sign-in redirect (DESIGN §6).

use std::sync::Arc;

use axum::http::{header, HeaderValue};
use axum::response::Response;

use crate::error::AppError;
use crate::membership::{self, Membership};
use crate::renewal;
use crate::session::{unix_now, CookieJar, Loaded, Outcome, SaveError, Session};
use crate::state::AppState;

/// The request's session once it is checked, with the `Set-Cookie` headers that record the
/// outcome in the browser.
pub(crate) struct CheckedSession {
    /// `None`: nobody is signed in, or the session ended on this request. Shared with the
    /// store's memory of opened sessions.
    pub(crate) session: Option<Arc<Session>>,
    set_cookies: Vec<HeaderValue>,
}

impl CheckedSession {
    /// A session with nothing to record (none, or a bearer token's subject).
    pub(crate) fn unchanged(session: Option<Arc<Session>>) -> CheckedSession {
        CheckedSession {
            session,
            set_cookies: Vec::new(),
        }
    }

    fn ended(jar: &CookieJar<'_>) -> CheckedSession {
        CheckedSession {
            session: None,
            set_cookies: jar.clear_session(),
        }
    }

    /// `response`, whatever it is (a proxied answer, a redirect, an error), with the saved
    /// session's cookie or its clearing.
    pub(crate) fn record_on(self, mut response: Response) -> Response {
        for cookie in self.set_cookies {
            response.headers_mut().append(header::SET_COOKIE, cookie);
        }
        response
    }
}

/// The request's checked session (see the module documentation).
pub(crate) async fn checked_session(
    state: &AppState,
    jar: &CookieJar<'_>,
) -> Result<CheckedSession, AppError> {
    let now = unix_now();
    let loaded = state.sessions.load(jar, now).await.map_err(|err| {
        tracing::error!(error = %crate::error_chain::error_chain(&err), "the session store could not be read");
        AppError::SessionStore
    })?;
    let Some(Loaded {
        mut session,
        mut needs_save,
        superseded,
    }) = loaded
    else {
        return Ok(CheckedSession::unchanged(None));
    };
    if superseded.is_some() {
        // The cookie from before a refresh: the renewed session, while it is fresh.
        // Boxed, as the refresh below: their futures (a token exchange, waits on another
        // request's refresh) are many KiB, which every request's future would otherwise
        // carry and move, though few requests ever need them.
        match Box::pin(renewal::renewed_elsewhere(state, &session)).await {
            Some(renewed) => {
                session = Arc::new(renewed);
                needs_save = true;
            }
            None => return Ok(CheckedSession::ended(jar)),
        }
    }
    if renewal::is_due(&session, now) {
        match Box::pin(renewal::renew(state, &session)).await {
            Outcome::Renewed(renewed) => {
                session = Arc::from(renewed);
                needs_save = true;
            }
            Outcome::Ended => return Ok(CheckedSession::ended(jar)),
            Outcome::Unavailable => {
                if session.access_expires_at.is_some_and(|at| now >= at) {
                    return Err(AppError::ProviderUnavailable(
                        session.identity.provider.clone(),
                    ));
                }
            }
        }
    }
    match membership::check(state, &mut session, now).await {
        Membership::Unchanged => {}
        Membership::Checked => needs_save = true,
        Membership::Ended => {
            if let Err(err) = state.sessions.forget(&session, now).await {
                tracing::warn!(error = %crate::error_chain::error_chain(&err), "the ended session could not be removed from the store");
            }
            return Ok(CheckedSession::ended(jar));
        }
    }
    if !needs_save {
        return Ok(CheckedSession::unchanged(Some(session)));
    }
    match state.sessions.save(&session, jar, now).await {
        Ok(set_cookies) => Ok(CheckedSession {
            session: Some(session),
            set_cookies,
        }),
        Err(SaveError::TooLarge(too_large)) => {
            tracing::info!(user = %session.identity.user, reason = %too_large, "session ended: it no longer fits its cookies");
            Ok(CheckedSession::ended(jar))
        }
        Err(err) => {
            // This request is answered with the session as it is; the next one tries again.
            tracing::error!(user = %session.identity.user, error = %crate::error_chain::error_chain(&err), "saving the session failed");
            Ok(CheckedSession::unchanged(Some(session)))
        }
    }
}
