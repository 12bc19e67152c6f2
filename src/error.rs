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

mod login;
pub(crate) mod render;

pub(crate) use login::LoginError;

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

/// What the renderer needs, stored in the response extensions by `AppError::into_response`.
#[derive(Debug, Clone)]
pub(crate) struct ErrorReport {
    pub(crate) status: StatusCode,
    pub(crate) code: &'static str,
    pub(crate) title: &'static str,
    pub(crate) message: String,
    pub(crate) retry_url: Option<String>,
    /// The retry link's label; "Try again" when `None`.
    pub(crate) retry_label: Option<&'static str>,
    /// The account a denied sign-in was refused for, as it may be shown
    /// (`Identity::shown_account`).
    pub(crate) account: Option<String>,
    /// A second way on, to the sign-in page (another provider, another way to sign in).
    pub(crate) sign_in_url: Option<String>,
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
                error.title(),
                error.message(),
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
            retry_label: None,
            account: None,
            sign_in_url: None,
            cause: self.to_string(),
        }
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

/// The ways on from the "Access denied" page of a sign-in that `[authorize]` refused.
pub(crate) struct Denied {
    /// The refused account, as it may be shown; `None` when nothing about it may be.
    pub(crate) account: Option<String>,
    /// "Sign in with a different account": a login that asks the provider to let the person
    /// choose or sign in to another account (`links::other_account_url`), or the sign-in
    /// page when the provider cannot be asked.
    pub(crate) other_account_url: String,
    pub(crate) sign_in_url: String,
}

impl AppError {
    /// The error's response as the "Access denied" page of a refused sign-in.
    pub(crate) fn into_denied_response(self, denied: Denied) -> Response {
        let mut report = self.report();
        report.retry_url = Some(denied.other_account_url);
        report.retry_label = Some("Sign in with a different account");
        report.account = denied.account;
        report.sign_in_url = Some(denied.sign_in_url);
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
