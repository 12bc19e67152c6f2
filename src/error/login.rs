//! Why a sign-in failed, and how each failure reads on its page: status, title and message
//! (the one place a login failure's words are chosen; `super::AppError` renders them).

use axum::http::StatusCode;

/// Why a sign-in attempt at the callback failed. Every variant but `StoreUnavailable` is a 4xx: bad input from the
/// browser or the provider is never a server error.
#[derive(Debug, thiserror::Error)]
pub(crate) enum LoginError {
    #[error("the callback has no state parameter")]
    MissingState,
    #[error("no sign-in was started in this browser for this state (or it expired)")]
    NoFlowCookie,
    #[error("the state does not match the sign-in started in this browser")]
    StateMismatch,
    #[error("the sign-in took longer than the allowed time")]
    FlowExpired,
    /// A flow cookie that already went through a callback, replayed (with another code).
    #[error("this sign-in was already completed (or attempted) once")]
    FlowReplayed,
    #[error("the callback belongs to a different provider")]
    ProviderMismatch,
    #[error("the iss parameter does not name the expected issuer (RFC 9207)")]
    IssuerMismatch,
    /// The provider's error answer at the callback (RFC 6749 §4.1.2.1), as shown to the person.
    #[error("the provider answered with an error: {detail}")]
    ProviderError {
        /// The `error` code (`access_denied`, `server_error`, …), printable ASCII only.
        code: String,
        /// The code and its `error_description`, printable and shortened.
        detail: String,
    },
    #[error("the callback has no authorization code")]
    MissingCode,
    #[error("the code exchange failed: {0}")]
    TokenExchange(String),
    #[error("the ID token is invalid: {0}")]
    InvalidIdToken(String),
    #[error("userinfo failed: {0}")]
    Userinfo(String),
    #[error("not authorized: {0}")]
    NotAuthorized(String),
    /// Not authorized because the email the provider sent does not count (no or a false
    /// `email_verified`: `providers::unverified_email`); `why` names the claim and the option.
    #[error("not authorized: {denial}: {why}")]
    UnverifiedEmail {
        denial: String,
        why: String,
        /// The provider said `email_verified: false` (rather than nothing).
        said_false: bool,
    },
    /// An identity value (`sub`, `email`, `preferred_username`, named as
    /// `Identity::ambiguous_field` names it) that an upstream would read as another one.
    #[error("the provider's {0} has surrounding white space or a control character")]
    AmbiguousIdentity(&'static str),
    /// The identity (groups, most often) does not fit in the session cookies.
    #[error("{0}")]
    SessionTooLarge(String),
    /// The session store (Redis) could not record the sign-in: a 503, the one login failure
    /// that is nobody's input.
    #[error("the session store could not be reached")]
    StoreUnavailable,
}

impl LoginError {
    pub(super) fn status(&self) -> StatusCode {
        match self {
            LoginError::NotAuthorized(_) | LoginError::UnverifiedEmail { .. } => {
                StatusCode::FORBIDDEN
            }
            LoginError::StoreUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            LoginError::ProviderError { code, .. } if code == "access_denied" => {
                StatusCode::FORBIDDEN
            }
            _ => StatusCode::BAD_REQUEST,
        }
    }

    /// A short machine-readable reason, used in login-outcome log lines and metrics.
    pub(crate) fn reason(&self) -> &'static str {
        match self {
            LoginError::MissingState => "missing_state",
            LoginError::NoFlowCookie => "no_flow_cookie",
            LoginError::StateMismatch => "state_mismatch",
            LoginError::FlowExpired => "flow_expired",
            LoginError::FlowReplayed => "flow_replayed",
            LoginError::ProviderMismatch => "provider_mismatch",
            LoginError::IssuerMismatch => "issuer_mismatch",
            LoginError::ProviderError { .. } => "provider_error",
            LoginError::MissingCode => "missing_code",
            LoginError::TokenExchange(_) => "token_exchange",
            LoginError::InvalidIdToken(_) => "invalid_id_token",
            LoginError::Userinfo(_) => "userinfo",
            LoginError::NotAuthorized(_) | LoginError::UnverifiedEmail { .. } => "not_authorized",
            LoginError::AmbiguousIdentity(_) => "ambiguous_identity",
            LoginError::SessionTooLarge(_) => "session_too_large",
            LoginError::StoreUnavailable => "session_store",
        }
    }

    /// A sign-in that worked at the provider, for an account that `[authorize]` (or the
    /// provider's own rules: a Workspace domain, an organisation) does not let in: the
    /// "Access denied" page, which names the account and offers another one.
    pub(crate) fn is_denial(&self) -> bool {
        matches!(
            self,
            LoginError::NotAuthorized(_) | LoginError::UnverifiedEmail { .. }
        )
    }

    /// The page's title.
    pub(super) fn title(&self) -> &'static str {
        if self.is_denial() {
            "Access denied"
        } else {
            "Sign-in failed"
        }
    }
}

impl LoginError {
    /// What the page tells the person.
    pub(super) fn message(&self) -> String {
        match self {
            LoginError::NoFlowCookie | LoginError::FlowExpired => {
                "This sign-in attempt has expired or was started in another browser. Please start again."
                    .to_owned()
            }
            LoginError::ProviderError { code, detail } if code == "access_denied" => format!(
                "The sign-in was cancelled, or the provider did not allow it ({detail}). \
                 You can start again."
            ),
            LoginError::ProviderError { detail, .. } => {
                format!("The sign-in provider refused the sign-in ({detail}).")
            }
            LoginError::FlowReplayed => {
                "This sign-in link was already used. Please start again.".to_owned()
            }
            LoginError::NotAuthorized(_) => {
                "You signed in, but your account is not allowed to use this application.".to_owned()
            }
            LoginError::UnverifiedEmail {
                said_false: true, ..
            } => {
                "You signed in, but the provider says your email address is not verified \
                 (“email_verified” is false), so it cannot be used to let you in. Verify the \
                 address with the provider, then sign in again."
                    .to_owned()
            }
            LoginError::UnverifiedEmail { .. } => {
                "You signed in, but the provider did not say that your email address is verified \
                 (its answer has no “email_verified” claim), so the address cannot be used to let \
                 you in. If this provider never asserts verification, an administrator can set \
                 allow_unverified_email = true on its [[provider]]."
                    .to_owned()
            }
            LoginError::AmbiguousIdentity(field) => {
                // `preferred_username` stands for the `name` claim when the provider sends none.
                let claim = match *field {
                    "preferred_username" => "“preferred_username” (or “name”)".to_owned(),
                    other => format!("“{other}”"),
                };
                format!(
                    "The sign-in provider sent your account's {claim} claim with white space at \
                     its start or end, or with a control character, so the applications behind \
                     this gateway could read it as another account's. Ask the provider's \
                     administrator to correct it."
                )
            }
            LoginError::SessionTooLarge(_) => {
                "You signed in, but your account carries more information (groups, most often) than \
                 a session cookie can hold. Ask an administrator to send fewer groups."
                    .to_owned()
            }
            _ => "The sign-in could not be completed. Please start again.".to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The provider's `error` code decides, not how its text begins.
    #[test]
    fn only_the_access_denied_code_is_a_refusal_by_the_provider() {
        let answer = |code: &str, detail: &str| LoginError::ProviderError {
            code: code.to_owned(),
            detail: detail.to_owned(),
        };
        assert_eq!(
            answer("access_denied", "access_denied: the user said no").status(),
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            answer("access_denied_by_policy", "access_denied_by_policy").status(),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            answer("server_error", "server_error").status(),
            StatusCode::BAD_REQUEST
        );
    }
}
