//! The rate limit on the login endpoints (`server.login_rate_limit`, DESIGN §11):
//! `/oauth2/start`, `/oauth2/callback/*`, `/oauth2/local/*` and `/oauth2/token`. Every
//! request counts against its client address (the peer, or behind `server.trusted_proxies`
//! the address they name; an IPv6 /64 as one); over the limit the answer is 429 with
//! `Retry-After` (RFC 6585 §4, RFC 9110 §10.2.3), before the handler does any work (a
//! callback makes the gateway call the provider, a password is hashed).
//!
//! The limit is a bucket of `login_rate_limit` requests refilled over a minute
//! (`crate::rate_limit`), in addition to the limits on failed passwords.

use std::net::SocketAddr;
use std::time::Instant;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::client_address::{client_address, client_key};
use crate::error::AppError;
use crate::state::AppState;

/// The middleware of the login routes.
pub(crate) async fn limit(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
    next: Next,
) -> Response {
    let Some(limit) = &state.login_limit else {
        return next.run(request).await;
    };
    let address = client_address(
        peer.ip(),
        request.headers(),
        &state.config.server.trusted_proxies,
    );
    match limit.take(&client_key(address), Instant::now()) {
        Ok(()) => next.run(request).await,
        Err(retry) => {
            let seconds = retry.seconds();
            tracing::warn!(
                client = %address,
                path = %request.uri().path(),
                retry_after = seconds,
                "a login endpoint refused a client over server.login_rate_limit"
            );
            let mut response = AppError::TooManyRequests(seconds).into_response();
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
            response
        }
    }
}
