//! The gateway's one error type and the one place that turns errors into responses.
//!
//! Policy: handlers return [`AppError`]. Its `IntoResponse` only records *what* went wrong
//! (status, a message safe to show, an optional "try again" link) in the response extensions;
//! the [`render::RequestLayer`] middleware, which knows the request, then renders an HTML
//! page for browsers or JSON for programs, both carrying the request id, and logs the cause
//! once.
//! Messages shown to people never contain secrets, tokens or provider response bodies.

use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::proxy::ProxyError;

pub(crate) mod render;

/// Everything that can go wrong while serving a request, grouped by where the fault lies.
#[derive(Debug, thiserror::Error)]
pub(crate) enum AppError {
    // The client's fault.
    #[error("unknown provider")]
    UnknownProvider,
    #[error("no route for this address")]
    NoRoute,
    #[error("not signed in")]
    Unauthenticated,
    #[error("invalid bearer token: {0}")]
    InvalidBearer(String),
    #[error("sign-in rejected: {0}")]
    Login(#[from] LoginError),
    #[error("access denied: {0}")]
    Forbidden(String),
    #[error("bad request: {0}")]
    BadRequest(String),
    /// A request the upstream client could not forward because of the client: its body broke
    /// off, or its upgrade cannot be checked ([`ProxyError::is_clients_fault`]).
    #[error("bad request for the upstream: {0}")]
    UpstreamRequest(ProxyError),
    /// A method the gateway never forwards (`CONNECT`, RFC 9110 §9.3.6).
    #[error("method not allowed: {0}")]
    MethodNotAllowed(String),
    /// A peer outside `server.trusted_proxies` described another request to `/oauth2/auth`.
    #[error("forward auth: {0}")]
    UntrustedProxy(String),
    /// Over `server.login_rate_limit`: the client may try again after this many seconds.
    #[error("over server.login_rate_limit; retry after {0} s")]
    TooManyRequests(u64),

    // The identity provider's fault.
    #[error("provider {0} is not available yet")]
    ProviderUnavailable(String),

    // The session store's fault (Redis unreachable or too slow; the cause is logged where it
    // happened).
    #[error("the session store is unavailable")]
    SessionStore,

    // The upstream's fault.
    #[error("upstream: {0}")]
    Upstream(ProxyError),

    // Ours.
    #[error("internal error: {0}")]
    Internal(String),
}

/// An upstream exchange that failed is the upstream's fault (5xx), unless the client broke it.
impl From<ProxyError> for AppError {
    fn from(error: ProxyError) -> AppError {
        if error.is_clients_fault() {
            AppError::UpstreamRequest(error)
        } else {
            AppError::Upstream(error)
        }
    }
}

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
    fn status(&self) -> StatusCode {
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
}

/// What the renderer needs, stored in the response extensions by `AppError::into_response`.
#[derive(Debug, Clone)]
pub(crate) struct ErrorReport {
    pub(crate) status: StatusCode,
    pub(crate) code: &'static str,
    pub(crate) title: &'static str,
    pub(crate) message: String,
    pub(crate) retry_url: Option<String>,
    /// The full cause, for the log line only.
    pub(crate) cause: String,
    /// `WWW-Authenticate` for 401 answers (RFC 6750 §3).
    pub(crate) www_authenticate: &'static str,
}

impl AppError {
    fn report(&self) -> ErrorReport {
        let (status, code, title, message, retry_url) = match self {
            AppError::UnknownProvider => (
                StatusCode::BAD_REQUEST,
                "unknown_provider",
                "Unknown sign-in provider",
                "This sign-in link names a provider that is not configured.".to_owned(),
                Some("/oauth2/sign_in".to_owned()),
            ),
            AppError::NoRoute => (
                StatusCode::NOT_FOUND,
                "not_found",
                "Not found",
                "Nothing is served at this address.".to_owned(),
                None,
            ),
            AppError::Unauthenticated => (
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "Sign-in required",
                "You need to sign in to see this.".to_owned(),
                Some("/oauth2/sign_in".to_owned()),
            ),
            AppError::InvalidBearer(_) => (
                StatusCode::UNAUTHORIZED,
                "invalid_token",
                "Invalid bearer token",
                "The bearer token is invalid, expired or not meant for this service.".to_owned(),
                None,
            ),
            AppError::Login(error) => (
                error.status(),
                error.reason(),
                "Sign-in failed",
                login_message(error),
                Some("/oauth2/sign_in".to_owned()),
            ),
            AppError::Forbidden(_) => (
                StatusCode::FORBIDDEN,
                "forbidden",
                "Access denied",
                "You are signed in, but your account is not allowed to use this application."
                    .to_owned(),
                Some("/oauth2/sign_out".to_owned()),
            ),
            AppError::BadRequest(message) => (
                StatusCode::BAD_REQUEST,
                "bad_request",
                "Bad request",
                message.clone(),
                None,
            ),
            AppError::UpstreamRequest(error) => (
                StatusCode::BAD_REQUEST,
                "bad_request",
                "Bad request",
                match error {
                    ProxyError::BadUpgrade(_) => "The request asks for a protocol upgrade that \
                        cannot be forwarded: a WebSocket handshake needs one valid \
                        Sec-WebSocket-Key."
                        .to_owned(),
                    _ => "The request body is malformed or ended before its announced length."
                        .to_owned(),
                },
                None,
            ),
            AppError::MethodNotAllowed(_) => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "Method not allowed",
                "The gateway does not forward this request method.".to_owned(),
                None,
            ),
            AppError::TooManyRequests(seconds) => (
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_requests",
                "Too many sign-in attempts",
                format!(
                    "Too many sign-in requests came from your network just now. Please wait \
                     {seconds} s and try again."
                ),
                None,
            ),
            AppError::UntrustedProxy(_) => (
                StatusCode::FORBIDDEN,
                "untrusted_proxy",
                "Proxy not trusted",
                "The gateway answers questions about other requests only from the proxies \
                 listed in server.trusted_proxies."
                    .to_owned(),
                None,
            ),
            AppError::ProviderUnavailable(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "provider_unavailable",
                "Sign-in provider unavailable",
                "The sign-in provider cannot be reached right now. Please try again shortly."
                    .to_owned(),
                Some("/oauth2/sign_in".to_owned()),
            ),
            AppError::SessionStore => (
                StatusCode::SERVICE_UNAVAILABLE,
                "session_store_unavailable",
                "Sessions unavailable",
                "The gateway cannot reach its session store right now. Please try again \
                 shortly."
                    .to_owned(),
                None,
            ),
            AppError::Upstream(ProxyError::Timeout) => (
                StatusCode::GATEWAY_TIMEOUT,
                "upstream_timeout",
                "The application did not answer in time",
                "The application behind this gateway took too long to answer.".to_owned(),
                None,
            ),
            AppError::Upstream(_) => (
                StatusCode::BAD_GATEWAY,
                "upstream_unavailable",
                "The application is unavailable",
                "The application behind this gateway cannot be reached.".to_owned(),
                None,
            ),
            AppError::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal_error",
                "Something went wrong",
                "The gateway hit an unexpected problem.".to_owned(),
                None,
            ),
        };
        let www_authenticate = match self {
            AppError::InvalidBearer(_) => "Bearer realm=\"portcullis\", error=\"invalid_token\"",
            _ => "Bearer realm=\"portcullis\"",
        };
        ErrorReport {
            www_authenticate,
            status,
            code,
            title,
            message,
            retry_url,
            cause: self.to_string(),
        }
    }
}

fn login_message(error: &LoginError) -> String {
    match error {
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

impl AppError {
    /// The error's response, with the page's "Try again" link going to `retry_url`.
    pub(crate) fn into_response_retrying_at(self, retry_url: String) -> Response {
        let mut report = self.report();
        report.retry_url = Some(retry_url);
        report.into_status_response()
    }
}

impl ErrorReport {
    /// A bare response with the status, carrying the report for [`render::RequestLayer`].
    fn into_status_response(self) -> Response {
        let mut response = self.status.into_response();
        response.extensions_mut().insert(Arc::new(self));
        response
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        self.report().into_status_response()
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
