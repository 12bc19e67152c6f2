//! `POST /oauth2/backchannel_logout/{id}` (OpenID Connect Back-Channel Logout 1.0): the
//! provider tells the gateway that a user's session there has ended, and every gateway
//! session of that `sid` (or of that `sub` at that provider) ends with it, on every replica
//! (`crate::session`'s `end_matching`).
//!
//! The `logout_token` is validated by the provider (`providers/oidc/logout_token.rs`); its
//! `jti` counts once (`crate::one_time`). Answers (§2.8): 200 when the token is valid, whether
//! or not a session matched; 400 JSON `{error, error_description}` for a missing or invalid
//! token; 503 JSON when the session store could not record the logout (the provider may
//! retry). Always `Cache-Control: no-store`. Each answer is counted (`crate::metrics`).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::metrics::LogoutOutcome;
use crate::query::QueryParams;
use crate::session::{unix_now, Ending};
use crate::state::AppState;

/// Handles one back-channel logout request (see the module documentation).
pub(crate) async fn logout(
    State(state): State<AppState>,
    Path(provider_id): Path<String>,
    body: Bytes,
) -> Response {
    let response = answer(&state, &provider_id, &body).await;
    let outcome = match response.status() {
        StatusCode::OK => LogoutOutcome::Accepted,
        StatusCode::SERVICE_UNAVAILABLE => LogoutOutcome::Failed,
        _ => LogoutOutcome::Rejected,
    };
    state.metrics.backchannel_logout(&provider_id, outcome);
    response
}

async fn answer(state: &AppState, provider_id: &str, body: &[u8]) -> Response {
    let params = QueryParams::from_form(body);
    let Some(token) = params.get("logout_token") else {
        return refused("invalid_request", "the logout_token parameter is missing");
    };
    let Some(provider) = state.providers.get(provider_id) else {
        return refused("invalid_request", "no provider has this id");
    };
    let claims = match provider.verify_logout_token(token).await {
        Ok(claims) => claims,
        Err(err) => {
            tracing::warn!(provider = %provider_id, reason = %err, "back-channel logout refused");
            return refused("invalid_request", &err.to_string());
        }
    };
    let now = unix_now();
    match state
        .one_time
        .first_use(
            "logout-jti",
            &format!("{provider_id}\0{}", claims.jti),
            claims.remember_until,
            now,
        )
        .await
    {
        Ok(true) => {}
        Ok(false) => {
            tracing::warn!(provider = %provider_id, "back-channel logout refused: its jti was seen before");
            return refused(
                "invalid_request",
                "this logout token was already used (jti)",
            );
        }
        Err(err) => return unavailable(provider_id, &err),
    }
    let ending = Ending {
        provider: provider_id.to_owned(),
        sid: claims.sid,
        sub: claims.sub,
    };
    if let Err(err) = state.sessions.end_matching(&ending, now).await {
        return unavailable(provider_id, &err);
    }
    tracing::info!(
        provider = %provider_id,
        by = if ending.sid.is_some() { "sid" } else { "sub" },
        user = ending.sub.as_deref().unwrap_or(""),
        "back-channel logout: the matching sessions ended"
    );
    no_store(StatusCode::OK.into_response())
}

fn refused(error: &str, description: &str) -> Response {
    let body = serde_json::json!({ "error": error, "error_description": description });
    no_store((StatusCode::BAD_REQUEST, Json(body)).into_response())
}

fn unavailable(provider: &str, err: &dyn std::error::Error) -> Response {
    tracing::error!(provider, error = %crate::error_chain::error_chain(err), "back-channel logout: the session store could not record it");
    let body = serde_json::json!({
        "error": "temporarily_unavailable",
        "error_description": "the session store could not be reached; try again",
    });
    no_store((StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response())
}

fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
