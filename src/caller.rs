//! Who is calling, found out once for the gate and for forward auth alike: the subject of a
//! valid `Authorization: Bearer` token where a provider accepts them (an invalid one is a 401
//! `invalid_token`, `crate::bearer`), else the session's, checked by `crate::signed_in`
//! (renewed, its memberships read again when due).

use std::sync::Arc;

use axum::http::HeaderMap;
use axum::response::Response;

use crate::authz::Claims;
use crate::bearer;
use crate::error::AppError;
use crate::session::{unix_now, CookieJar, Session};
use crate::signed_in::{checked_session, CheckedSession};
use crate::state::AppState;

/// The caller of one request, if anyone is signed in, with where the `[authorize]` rules
/// find their claims.
pub(crate) struct Caller {
    /// The session; for a bearer token, one made from it that lives for this request only
    /// (its subject, the token as access token for the identity headers, never stored).
    checked: CheckedSession,
    /// The bearer token, whose payload claim rules read.
    bearer_token: Option<String>,
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
                access_token: Some(bearer.token.clone()),
                ..Session::new(bearer.identity, now, 0)
            };
            return Ok(Caller {
                checked: CheckedSession::unchanged(Some(Arc::new(session))),
                bearer_token: Some(bearer.token),
            });
        }
        let jar = CookieJar::from_headers(&state.cookies, headers);
        let checked = checked_session(state, &jar).await?;
        Ok(Caller {
            checked,
            bearer_token: None,
        })
    }

    /// `None` when nobody is signed in (or the session ended on this request).
    pub(crate) fn session(&self) -> Option<&Session> {
        self.checked.session.as_deref()
    }

    /// Where claim rules read: the bearer token's payload, or the claims the session kept.
    pub(crate) fn claims(&self) -> Claims<'_> {
        match (&self.bearer_token, self.session()) {
            (Some(token), _) => Claims::Token(token),
            (None, Some(session)) => session.claims.as_ref().map_or(Claims::None, Claims::Kept),
            (None, None) => Claims::None,
        }
    }

    /// `response` with the outcome of the session check recorded in the browser (see
    /// [`CheckedSession::record_on`]).
    pub(crate) fn record_on(self, response: Response) -> Response {
        self.checked.record_on(response)
    }
}
