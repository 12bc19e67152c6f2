//! `POST /oauth2/local/{id}`: the sign-in page's username/password form of a local provider
//! (DESIGN §10).
//!
//! The form must come from a sign-in page this gateway showed this browser (`csrf`). Then
//! the failure limits, then exactly one password verification: an unknown user and a wrong
//! password get the same page, "Incorrect username or password", in the same time; a
//! disabled user gets "Inactive user", and only after a correct password. A refused attempt
//! shows the sign-in page again (with a fresh form). Success is any login's: the `[authorize]`
//! rules, the session, and a 303 to the validated `rd` (never 307/308, which would send the
//! password again).

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;

use crate::authz;
use crate::client_address::client_address;
use crate::error::{AppError, LoginError};
use crate::flow::{establish, login_failed, sign_in_page, Failure, FormNotice};
use crate::links::see_other;
use crate::local::csrf;
use crate::local::registry::{Attempt, LocalProvider};
use crate::query::QueryParams;
use crate::redirect::RedirectTarget;
use crate::session::{unix_now, CookieJar, Issued};
use crate::state::AppState;
use crate::telemetry::RequestId;

pub(crate) const INCORRECT: &str = "Incorrect username or password";
pub(crate) const INACTIVE: &str = "Inactive user";

/// `POST /oauth2/local/{id}`.
pub(crate) async fn submit(
    State(state): State<AppState>,
    Path(provider_id): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Extension(request_id): Extension<RequestId>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(provider) = state.local.get(&provider_id).cloned() else {
        return AppError::UnknownProvider.into_response();
    };
    let form = QueryParams::from_form(&body);
    let rd = RedirectTarget::parse(form.get("rd"), &state.config.server.allowed_redirect_hosts);
    let jar = CookieJar::from_headers(&state.cookies, &headers);
    let username = form.get("username").unwrap_or_default();
    let again = |status: StatusCode, message: &str| {
        let notice = FormNotice {
            provider: &provider.id,
            username: shown(username),
            message,
        };
        sign_in_page(&state, &jar, &rd, &request_id, Some(&notice), status)
    };
    let origin = state
        .config
        .server
        .public_url
        .origin()
        .ascii_serialization();
    if let Err(refused) = csrf::check(
        &jar,
        &headers,
        &state.codec,
        form.get("csrf_token"),
        &origin,
        unix_now(),
    ) {
        log_failure(&state, &provider, username, "csrf", &refused.to_string());
        return again(
            StatusCode::FORBIDDEN,
            "This sign-in form expired or was sent from another site. Sign in again here.",
        );
    }
    let password = form.get("password").unwrap_or_default();
    if username.is_empty() || password.is_empty() {
        return again(StatusCode::BAD_REQUEST, "Enter your username and password.");
    }
    let client = client_address(peer.ip(), &headers, &state.config.server.trusted_proxies);
    let user = match provider.attempt(username, password, client).await {
        Attempt::Valid(user) => user,
        Attempt::Incorrect => {
            log_failure(&state, &provider, username, "incorrect_password", INCORRECT);
            return again(StatusCode::UNAUTHORIZED, INCORRECT);
        }
        Attempt::Inactive => {
            log_failure(&state, &provider, username, "inactive_user", INACTIVE);
            return again(StatusCode::FORBIDDEN, INACTIVE);
        }
        Attempt::Limited(retry) => {
            log_failure(
                &state,
                &provider,
                username,
                "rate_limited",
                "too many failed attempts",
            );
            let message = format!(
                "Too many failed sign-in attempts. Try again in {}.",
                humantime::format_duration(std::time::Duration::from_secs(retry.seconds()))
            );
            let mut response = again(StatusCode::TOO_MANY_REQUESTS, &message);
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry.seconds()));
            return response;
        }
    };
    let identity = provider.identity(&user);
    let subject = authz::Subject::new(&identity, authz::Claims::None);
    if let Err(denial) = authz::authorize(&state.config.authorize, &subject) {
        return login_failed(
            &state,
            &provider.id,
            Failure {
                error: LoginError::NotAuthorized(denial.to_string()),
                account: identity.shown_account().map(str::to_owned),
                user: Some(identity.user),
                rd: Some(rd),
            },
        );
    }
    let session = state.needs.new_session(
        Issued {
            identity,
            id_token: None,
            access_token: String::new(),
            refresh_token: None,
            expires_in: None,
            sid: None,
            reads_memberships: false,
        },
        unix_now(),
    );
    establish(&state, &jar, &session, &rd, see_other).await
}

/// The typed username as the page may show it again: bounded, without control characters.
fn shown(username: &str) -> &str {
    let end = username
        .char_indices()
        .take_while(|(index, c)| *index < 128 && !c.is_control())
        .last()
        .map_or(0, |(index, c)| index + c.len_utf8());
    username.get(..end).unwrap_or_default()
}

/// Logs and counts a refused attempt (`crate::metrics`: `reason` is one of its login failures).
fn log_failure(
    state: &AppState,
    provider: &LocalProvider,
    username: &str,
    reason: &'static str,
    detail: &str,
) {
    tracing::warn!(provider = %provider.id, user = %shown(username), result = "failure", reason, detail, "login");
    state.metrics.login_failed(&provider.id, reason);
}
