//! `POST /oauth2/token` for local providers with `password_grant = true` (DESIGN §10): the
//! resource owner password credentials grant (RFC 6749 §4.3) and the refresh token grant
//! (§6, rotating), answered as RFC 6749 §5.1 and §5.2 say, never cached (`no-store`).
//!
//! The body must be form-encoded; credentials in the query string, repeated parameters and
//! JSON bodies are `invalid_request`. With several granting providers, a `provider` field
//! names one. Clients authenticate (HTTP Basic or `client_id`/`client_secret`, RFC 6749
//! §2.3.1) only when the provider lists `clients`.

mod outcome;
mod request;

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::authz;
use crate::client_address::client_address;
use crate::local::issue::{grant, Grant, Recipient, RefreshClaims};
use crate::local::registry::{Attempt, LocalProvider};
use crate::metrics::RefreshOutcome;
use crate::query::QueryParams;
use crate::rate_limit::RetryAfter;
use crate::session::unix_now;
use crate::state::AppState;

use outcome::{count, log_refusal, PASSWORD, REFRESH_TOKEN};
use request::{basic_credentials, is_form};

/// Parameters that carry credentials, refused in the query string (RFC 6749 §3.2 and RFC 9700
/// §2.4: they would end up in logs).
const SECRET_PARAMETERS: [&str; 4] = ["password", "refresh_token", "client_secret", "username"];

/// An RFC 6749 §5.2 error answer.
#[derive(Debug)]
enum TokenError {
    InvalidRequest(String),
    /// Client authentication failed (401, `WWW-Authenticate: Basic`).
    InvalidClient(&'static str),
    InvalidGrant(String),
    UnsupportedGrantType(String),
    /// Too many failed passwords for this username or client.
    Limited(RetryAfter),
    /// The gateway could not answer (signing failed, the one-time store is down).
    Unavailable(String),
}

impl IntoResponse for TokenError {
    fn into_response(self) -> Response {
        let retry_after = match &self {
            TokenError::Limited(retry) => Some(retry.seconds()),
            _ => None,
        };
        let (status, code, description) = match self {
            TokenError::InvalidRequest(d) => (StatusCode::BAD_REQUEST, "invalid_request", d),
            TokenError::InvalidClient(d) => (StatusCode::UNAUTHORIZED, "invalid_client", d.into()),
            TokenError::InvalidGrant(d) => (StatusCode::BAD_REQUEST, "invalid_grant", d),
            TokenError::UnsupportedGrantType(d) => {
                (StatusCode::BAD_REQUEST, "unsupported_grant_type", d)
            }
            TokenError::Limited(retry) => (
                StatusCode::TOO_MANY_REQUESTS,
                "temporarily_unavailable",
                format!(
                    "too many failed sign-in attempts: try again in {} s",
                    retry.seconds()
                ),
            ),
            TokenError::Unavailable(d) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                d,
            ),
        };
        let body = serde_json::json!({ "error": code, "error_description": description });
        let mut response = (status, axum::Json(body)).into_response();
        let headers = response.headers_mut();
        no_store(headers);
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"portcullis\""),
            );
        }
        if let Some(seconds) = retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// RFC 6749 §5.1: token answers are never stored.
fn no_store(headers: &mut HeaderMap) {
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}

/// `POST /oauth2/token`.
pub(crate) async fn token(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match answer(&state, peer, &uri, &headers, &body).await {
        Ok(grant) => {
            let body = serde_json::json!({
                "access_token": grant.access_token,
                "token_type": "Bearer",
                "expires_in": grant.expires_in,
                "refresh_token": grant.refresh_token,
            });
            let mut response = axum::Json(body).into_response();
            no_store(response.headers_mut());
            response
        }
        Err(error) => error.into_response(),
    }
}

async fn answer(
    state: &AppState,
    peer: SocketAddr,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Grant, TokenError> {
    if state.local.granting().next().is_none() {
        return Err(TokenError::UnsupportedGrantType(
            "no provider of this gateway accepts the password grant (password_grant = true)".into(),
        ));
    }
    if !is_form(headers) {
        return Err(TokenError::InvalidRequest(
            "the request body must be application/x-www-form-urlencoded (RFC 6749 §4.3.2)".into(),
        ));
    }
    let query = QueryParams::from_uri(uri);
    if let Some(name) = SECRET_PARAMETERS
        .iter()
        .find(|name| query.get(name).is_some())
    {
        return Err(TokenError::InvalidRequest(format!(
            "`{name}` must be sent in the form body, never in the URL"
        )));
    }
    let params = QueryParams::from_form(body);
    if let Some(name) = params.repeated() {
        return Err(TokenError::InvalidRequest(format!(
            "the parameter `{name}` is repeated (RFC 6749 §3.2)"
        )));
    }
    match params.get("grant_type") {
        Some("password") => password_grant(state, peer, headers, &params).await,
        Some("refresh_token") => refresh_grant(state, headers, &params).await,
        Some(other) => Err(TokenError::UnsupportedGrantType(format!(
            "grant_type `{}` is not supported: use \"password\" or \"refresh_token\"",
            other.chars().take(64).collect::<String>()
        ))),
        None => Err(TokenError::InvalidRequest(
            "`grant_type` is required".into(),
        )),
    }
}

/// RFC 6749 §4.3.
async fn password_grant(
    state: &AppState,
    peer: SocketAddr,
    headers: &HeaderMap,
    params: &QueryParams,
) -> Result<Grant, TokenError> {
    let provider = granting_provider(state, params.get("provider"))?;
    let client_id = authenticate_client(provider, headers, params)?;
    let (Some(username), Some(password)) = (
        params.get("username").filter(|u| !u.is_empty()),
        params.get("password").filter(|p| !p.is_empty()),
    ) else {
        return Err(TokenError::InvalidRequest(
            "`username` and `password` are required".into(),
        ));
    };
    let client = client_address(peer.ip(), headers, &state.config.server.trusted_proxies);
    let user = match provider.attempt(username, password, client).await {
        Attempt::Valid(user) => user,
        Attempt::Incorrect => {
            log_refusal(state, provider, PASSWORD, username, "incorrect_password");
            return Err(TokenError::InvalidGrant(
                "Incorrect username or password".into(),
            ));
        }
        Attempt::Inactive => {
            log_refusal(state, provider, PASSWORD, username, "inactive_user");
            return Err(TokenError::InvalidGrant("Inactive user".into()));
        }
        Attempt::Limited(retry) => {
            log_refusal(state, provider, PASSWORD, username, "rate_limited");
            return Err(TokenError::Limited(retry));
        }
    };
    let scope = params.get("scope").filter(|s| !s.is_empty());
    issue(
        state,
        provider,
        &user,
        client_id.as_deref(),
        scope,
        PASSWORD,
    )
}

/// RFC 6749 §6, with rotation: the old refresh token is spent.
async fn refresh_grant(
    state: &AppState,
    headers: &HeaderMap,
    params: &QueryParams,
) -> Result<Grant, TokenError> {
    let sealed = params
        .get("refresh_token")
        .filter(|t| !t.is_empty())
        .ok_or_else(|| TokenError::InvalidRequest("`refresh_token` is required".into()))?;
    let invalid = |why: &str| TokenError::InvalidGrant(format!("the refresh token {why}"));
    let claims =
        RefreshClaims::open(&state.codec, sealed).ok_or_else(|| invalid("is not valid"))?;
    let now = unix_now();
    let refused = |why: &str| {
        state
            .metrics
            .refreshed(&claims.provider, RefreshOutcome::Refused);
        invalid(why)
    };
    if claims.expires_at <= now {
        return Err(refused("has expired: sign in again"));
    }
    let provider = state
        .local
        .granting()
        .find(|p| p.id == claims.provider)
        .ok_or_else(|| refused("belongs to a provider that no longer issues tokens"))?;
    if params.get("provider").is_some_and(|p| p != provider.id) {
        return Err(refused("belongs to another provider"));
    }
    let client_id = authenticate_client(provider, headers, params)?;
    if client_id != claims.client_id {
        return Err(refused("was issued to another client"));
    }
    let Some(user) = provider.accounts.active(&claims.username) else {
        log_refusal(
            state,
            provider,
            REFRESH_TOKEN,
            &claims.username,
            "inactive_user",
        );
        return Err(TokenError::InvalidGrant("Inactive user".into()));
    };
    let credential = user.credential_tag();
    if !bool::from(credential.as_bytes().ct_eq(claims.credential.as_bytes())) {
        return Err(refused(
            "was issued before the password changed: sign in again",
        ));
    }
    match state
        .one_time
        .first_use("local-refresh", &claims.jti, claims.expires_at, now)
        .await
    {
        Ok(true) => {}
        Ok(false) => {
            log_refusal(
                state,
                provider,
                REFRESH_TOKEN,
                &claims.username,
                "refresh_token_reused",
            );
            return Err(invalid("was already used (refresh tokens are single-use)"));
        }
        Err(err) => {
            tracing::error!(error = %crate::error_chain::error_chain(&err), "the refresh token could not be recorded as used");
            state
                .metrics
                .refreshed(&provider.id, RefreshOutcome::SessionStore);
            return Err(TokenError::Unavailable(
                "the gateway's store cannot be reached; try again".into(),
            ));
        }
    }
    issue(
        state,
        provider,
        &user,
        claims.client_id.as_deref(),
        claims.scope.as_deref(),
        REFRESH_TOKEN,
    )
}

/// Tokens for `user`, once the `[authorize]` rules admit them (as at any login).
fn issue(
    state: &AppState,
    provider: &LocalProvider,
    user: &crate::config::LocalUser,
    client_id: Option<&str>,
    scope: Option<&str>,
    grant_type: &'static str,
) -> Result<Grant, TokenError> {
    let identity = provider.identity(user);
    let subject = authz::Subject::new(&identity, authz::Claims::None);
    if let Err(denial) = authz::authorize(&state.config.authorize, &subject) {
        log_refusal(
            state,
            provider,
            grant_type,
            &user.username,
            "not_authorized",
        );
        return Err(TokenError::InvalidGrant(format!(
            "not authorized: {denial}"
        )));
    }
    let recipient = Recipient {
        provider,
        user,
        client_id,
        scope,
    };
    let grant = grant(
        state.local.keys(),
        &state.codec,
        state.local.issuer(),
        &recipient,
        unix_now(),
    )
    .map_err(|err| {
        tracing::error!(error = %crate::error_chain::error_chain(&err), "tokens could not be issued");
        count(state, provider, grant_type, Err("other"));
        TokenError::Unavailable("the tokens could not be issued".into())
    })?;
    tracing::info!(provider = %provider.id, user = %user.username, grant_type, client_id = client_id.unwrap_or(""), result = "success", "token");
    count(state, provider, grant_type, Ok(()));
    Ok(grant)
}

/// The provider `named`, or the only one that grants tokens.
fn granting_provider<'a>(
    state: &'a AppState,
    named: Option<&str>,
) -> Result<&'a LocalProvider, TokenError> {
    let mut granting = state.local.granting();
    match named {
        Some(id) => granting.find(|p| p.id == id).map(|p| &**p).ok_or_else(|| {
            TokenError::InvalidRequest(
                "`provider` names no provider that accepts the password grant".into(),
            )
        }),
        None => match (granting.next(), granting.next()) {
            (Some(only), None) => Ok(only),
            _ => Err(TokenError::InvalidRequest(
                "several providers accept the password grant: name one with `provider`".into(),
            )),
        },
    }
}

/// The authenticated client's id when the provider lists `clients` (RFC 6749 §2.3.1: HTTP
/// Basic with form-encoded id and secret, or the two body parameters, not both); `None`
/// when it lists none (public clients).
fn authenticate_client(
    provider: &LocalProvider,
    headers: &HeaderMap,
    params: &QueryParams,
) -> Result<Option<String>, TokenError> {
    let basic = basic_credentials(headers);
    let posted = params.get("client_secret").is_some();
    if basic.is_some() && posted {
        return Err(TokenError::InvalidRequest(
            "use one client authentication method, not both (RFC 6749 §2.3)".into(),
        ));
    }
    if provider.settings.clients.is_empty() {
        return Ok(None);
    }
    let (id, secret) = match basic {
        Some(Some(pair)) => pair,
        Some(None) => return Err(TokenError::InvalidClient("malformed Basic credentials")),
        None => match (params.get("client_id"), params.get("client_secret")) {
            (Some(id), Some(secret)) => (id.to_owned(), secret.to_owned()),
            _ => {
                return Err(TokenError::InvalidClient(
                    "client authentication is required",
                ))
            }
        },
    };
    let known = provider.settings.clients.iter().find(|c| c.id == id);
    // Digests compared in constant time, so neither the secret's length nor its first
    // differing byte shows in the answer time.
    let given = Sha256::digest(secret.as_bytes());
    let matches = known.is_some_and(|client| {
        use secrecy::ExposeSecret as _;
        let expected = Sha256::digest(client.secret.expose_secret().as_bytes());
        bool::from(expected.ct_eq(&given))
    });
    if matches {
        Ok(Some(id))
    } else {
        Err(TokenError::InvalidClient("unknown client or wrong secret"))
    }
}
