//! The development provider's discovery document (OpenID Connect Discovery 1.0 §3), its
//! JWKS, and RP-initiated logout.

use std::sync::Arc;

use axum::extract::State;
use axum::http::Uri;
use axum::response::Response;
use axum::Json;

use super::DevProvider;
use crate::query::QueryParams;

pub(super) async fn discovery(State(dev): State<Arc<DevProvider>>) -> Json<serde_json::Value> {
    let issuer = &dev.issuer;
    Json(serde_json::json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "userinfo_endpoint": format!("{issuer}/userinfo"),
        "jwks_uri": format!("{issuer}/jwks"),
        "end_session_endpoint": format!("{issuer}/end_session"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["EdDSA"],
        "scopes_supported": ["openid", "email", "profile", "groups"],
        "claims_supported": ["sub", "email", "email_verified", "name", "preferred_username", "groups"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "authorization_response_iss_parameter_supported": true,
    }))
}

pub(super) async fn jwks(State(dev): State<Arc<DevProvider>>) -> Json<serde_json::Value> {
    Json(dev.jwks.clone())
}

/// RP-initiated logout: the development provider keeps no session of its own, so it only
/// sends the browser to the gateway's signed-out page (never to a caller-chosen address),
/// with the request's `state` as RP-Initiated Logout 1.0 §3 asks.
pub(super) async fn end_session(State(dev): State<Arc<DevProvider>>, uri: Uri) -> Response {
    let params = QueryParams::from_uri(&uri);
    let mut target = dev.signed_out_uri.clone();
    if let Some(state) = params.get("state") {
        let query: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("state", state)
            .finish();
        target = format!("{target}?{query}");
    }
    crate::links::redirect(&target)
}
