//! The end of every successful sign-in, whichever way it came (a provider's callback, the
//! local sign-in form): the browser's previous session ends, the new one is stored, and the
//! browser goes on to `rd`; and the one way a failed sign-in is logged and shown.

use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::error::{AppError, Denied, LoginError};
use crate::links::{other_account_url, sign_in_url};
use crate::redirect::RedirectTarget;
use crate::session::{unix_now, CookieJar, SaveError, Session};
use crate::state::AppState;

/// Stores `session` for the browser whose cookies are `jar` and answers `go(rd)` with its
/// cookies; a session that cannot be stored is a failed login instead.
pub(crate) async fn establish(
    state: &AppState,
    jar: &CookieJar<'_>,
    session: &Session,
    rd: &RedirectTarget,
    go: fn(&str) -> Response,
) -> Response {
    let provider_id = &session.identity.provider;
    replace_previous_session(state, jar).await;
    let failed = |error: LoginError| {
        login_failed(
            state,
            provider_id,
            Failure {
                error,
                user: Some(session.identity.user.clone()),
                account: None,
                rd: Some(rd.clone()),
            },
        )
    };
    match state.sessions.save(session, jar, unix_now()).await {
        Ok(cookies) => {
            tracing::info!(provider = %provider_id, user = %session.identity.user, email = session.identity.email.as_deref().unwrap_or(""), result = "success", "login");
            state.metrics.login_succeeded(provider_id);
            let mut response = go(rd.as_str());
            for cookie in cookies {
                response.headers_mut().append(header::SET_COOKIE, cookie);
            }
            response
        }
        // Cookies that are not read back would sign the browser out at once and send it
        // round to the provider again, and again.
        Err(SaveError::TooLarge(too_large)) => {
            failed(LoginError::SessionTooLarge(too_large.to_string()))
        }
        Err(SaveError::Store(err)) => {
            tracing::error!(provider = %provider_id, error = %crate::error_chain::error_chain(&err), "the session could not be stored");
            failed(LoginError::StoreUnavailable)
        }
        Err(err @ SaveError::Serialise(_)) => AppError::Internal(err.to_string()).into_response(),
    }
}

/// A new sign-in replaces the browser's previous session, if it still had one: it ends in the
/// store too, so no copy of its cookie outlives it. A store that cannot answer here only
/// leaves the old session to its expiry.
async fn replace_previous_session(state: &AppState, jar: &CookieJar<'_>) {
    let now = unix_now();
    if let Ok(Some(previous)) = state.sessions.load(jar, now).await {
        if let Err(err) = state.sessions.forget(&previous.session, now).await {
            tracing::warn!(error = %crate::error_chain::error_chain(&err), "the previous session could not be ended at sign-in");
        }
    }
}

/// Logs and counts a failed login and answers its error page, whose "Try again" link leads
/// back to where the person was going, when that is known. A denial (the provider signed the
/// person in, the gateway does not let that account in) is the "Access denied" page instead:
/// it names the account and offers to sign in with a different one, at the same provider
/// asked to let the person choose (`prompt`) when it can be, else from the sign-in page.
pub(crate) fn login_failed(
    state: &AppState,
    provider_id: &str,
    Failure {
        error,
        user,
        account,
        rd,
    }: Failure,
) -> Response {
    tracing::warn!(provider = %provider_id, user = user.as_deref().unwrap_or(""), result = "failure", reason = error.reason(), detail = %error, "login");
    state.metrics.login_failed(provider_id, error.reason());
    let retry = match &rd {
        Some(rd) if rd.as_str() != "/" => sign_in_url(rd),
        _ => "/oauth2/sign_in".to_owned(),
    };
    if !error.is_denial() {
        return AppError::Login(error).into_response_retrying_at(retry);
    }
    let rd = rd.unwrap_or_else(|| RedirectTarget::parse(None, &[]));
    let asks_provider = state
        .providers
        .get(provider_id)
        .is_some_and(|provider| provider.offers_other_account());
    let other_account_url = if asks_provider {
        other_account_url(provider_id, &rd)
    } else {
        retry.clone()
    };
    AppError::Login(error).into_denied_response(Denied {
        account,
        other_account_url,
        sign_in_url: retry,
    })
}

/// A failed login, with the user when the failure came after validation and the login's
/// destination once the flow cookie has been read.
pub(crate) struct Failure {
    pub(crate) error: LoginError,
    /// The user id, for the log line.
    pub(crate) user: Option<String>,
    /// The account as the "Access denied" page may name it (`Identity::shown_account`).
    pub(crate) account: Option<String>,
    pub(crate) rd: Option<RedirectTarget>,
}

impl From<LoginError> for Failure {
    fn from(error: LoginError) -> Failure {
        Failure {
            error,
            user: None,
            account: None,
            rd: None,
        }
    }
}
