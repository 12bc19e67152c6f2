//! Who is calling, found out once for the gate and for forward auth alike: the subject of a
//! valid `Authorization: Bearer` token where a provider accepts them (an invalid one is a 401
//! `invalid_token`, `crate::bearer`), else the session cookie's, its memberships read again
//! when due (`crate::membership`).

use axum::http::HeaderMap;
use axum::response::Response;

use crate::bearer;
use crate::error::AppError;
use crate::membership::{checked_session, CheckedSession};
use crate::session::{unix_now, CookieJar, Session};
use crate::state::AppState;

/// The caller of one request, if anyone is signed in, with the verified JWT whose claims the
/// `[authorize]` rules read.
pub(crate) struct Caller {
    /// The session; for a bearer token, one made from it that lives for this request only
    /// (its subject, the token as access token for the identity headers, never sealed).
    checked: CheckedSession,
    /// The bearer token, or the session's ID token.
    claims_token: Option<String>,
}

impl Caller {
    /// The caller of the request whose headers are `headers` (see the module documentation).
    pub(crate) async fn identify(
        state: &AppState,
        headers: &HeaderMap,
    ) -> Result<Caller, AppError> {
        if let Some(bearer) = bearer::authenticate(state, headers).await {
            let bearer = bearer?;
            let now = unix_now();
            let session = Session {
                identity: bearer.identity,
                id_token: None,
                access_token: Some(bearer.token.clone()),
                issued_at: now,
                expires_at: now,
                checked_at: now,
            };
            return Ok(Caller {
                checked: CheckedSession::unchanged(Some(session)),
                claims_token: Some(bearer.token),
            });
        }
        let jar = CookieJar::from_headers(&state.cookies, headers);
        let checked = checked_session(state, &jar).await;
        let claims_token = checked.session.as_ref().and_then(|s| s.id_token.clone());
        Ok(Caller {
            checked,
            claims_token,
        })
    }

    /// `None` when nobody is signed in (or a membership check ended the session).
    pub(crate) fn session(&self) -> Option<&Session> {
        self.checked.session.as_ref()
    }

    /// The JWT whose payload claim rules read: the bearer token, or the session's ID token.
    pub(crate) fn claims_token(&self) -> Option<&str> {
        self.claims_token.as_deref()
    }

    /// `response` with the outcome of a membership check recorded in the browser (see
    /// [`CheckedSession::record_on`]).
    pub(crate) fn record_on(self, response: Response) -> Response {
        self.checked.record_on(response)
    }
}
