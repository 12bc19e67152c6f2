//! Memberships kept current during a session. Where a provider's groups can be read again
//! with the session's access token (GitHub's orgs and teams, every `membership_refresh`),
//! a request whose session was checked longer ago than that has them read again before it
//! is authorized, and the session follows the answer:
//!
//! - the groups as they are now: they replace the session's, `checked_at` moves to now and
//!   the re-sealed session cookie is set on the response;
//! - the token refused (401) or the `orgs` / `teams` restriction no longer met: the session
//!   ends, its cookie is cleared, and the request goes on as a signed-out one;
//! - no usable answer (the provider unreachable, a timeout, a 5xx, a rate limit): the
//!   session is kept unchanged for this request and the check is tried again on the next
//!   one. A provider outage must not sign everyone out; the price is that someone removed
//!   during the outage keeps the groups of the last successful check until it ends.
//!
//! The gate, `/oauth2/auth` and `/oauth2/userinfo` all take their session from
//! [`checked_session`].

use axum::http::{header, HeaderValue};
use axum::response::Response;

use crate::providers::MembershipCheck;
use crate::session::{current_session, unix_now, CookieJar, Session};
use crate::state::AppState;

/// The request's session once any due membership check is done, with the `Set-Cookie`
/// headers that record the outcome in the browser.
pub(crate) struct CheckedSession {
    /// `None`: nobody is signed in, or the check ended the session.
    pub(crate) session: Option<Session>,
    set_cookies: Vec<HeaderValue>,
}

impl CheckedSession {
    /// A session with nothing to record (none, or a bearer token's subject).
    pub(crate) fn unchanged(session: Option<Session>) -> CheckedSession {
        CheckedSession {
            session,
            set_cookies: Vec::new(),
        }
    }

    /// `response`, whatever it is (a proxied answer, a redirect, an error), with the re-sealed
    /// session cookie or its clearing.
    pub(crate) fn record_on(self, mut response: Response) -> Response {
        for cookie in self.set_cookies {
            response.headers_mut().append(header::SET_COOKIE, cookie);
        }
        response
    }
}

/// The valid session this request carries, if any, after reading its provider's
/// memberships again when they are due (see the module documentation).
pub(crate) async fn checked_session(state: &AppState, jar: &CookieJar<'_>) -> CheckedSession {
    let Some(session) = current_session(&state.codec, jar) else {
        return CheckedSession::unchanged(None);
    };
    let now = unix_now();
    let check = state
        .providers
        .get(&session.identity.provider)
        .and_then(|provider| provider.membership_check())
        .filter(|check| now.saturating_sub(session.checked_at) >= check.interval().as_secs());
    match check {
        Some(check) => refresh(state, jar, session, &check, now).await,
        None => CheckedSession::unchanged(Some(session)),
    }
}

async fn refresh(
    state: &AppState,
    jar: &CookieJar<'_>,
    mut session: Session,
    check: &MembershipCheck<'_>,
    now: u64,
) -> CheckedSession {
    let provider = session.identity.provider.as_str();
    let user = session.identity.user.as_str();
    let Some(access_token) = session.access_token.as_deref() else {
        tracing::info!(
            provider,
            user,
            reason = "the session has no access token to read memberships with",
            "session ended by the membership check"
        );
        return ended(jar);
    };
    match check.groups(access_token).await {
        Ok(groups) => {
            if groups != session.identity.groups {
                tracing::info!(provider, user, groups = ?groups, "memberships changed");
            }
            session.identity.groups = groups;
            session.checked_at = now;
            let set_cookies = match session.seal(&state.codec).map(|s| jar.set_session(&s)) {
                Ok(Ok(set_cookies)) => set_cookies,
                Ok(Err(too_large)) => {
                    // Such a session could not be read back; a new login is refused the same way.
                    tracing::info!(provider, user, reason = %too_large, "session ended by the membership check");
                    return ended(jar);
                }
                Err(err) => {
                    // This request still sees the new groups; the next one checks again.
                    tracing::error!(provider = %session.identity.provider, error = %err, "sealing the refreshed session failed");
                    Vec::new()
                }
            };
            CheckedSession {
                session: Some(session),
                set_cookies,
            }
        }
        Err(err) if err.ends_session() => {
            tracing::info!(provider, user, reason = %err, "session ended by the membership check");
            ended(jar)
        }
        Err(err) => {
            tracing::warn!(provider, user, error = %err, "membership check failed; the session is kept and checked again on the next request");
            CheckedSession::unchanged(Some(session))
        }
    }
}

fn ended(jar: &CookieJar<'_>) -> CheckedSession {
    CheckedSession {
        session: None,
        set_cookies: jar.clear_session(),
    }
}
