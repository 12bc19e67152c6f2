//! Bearer check: an API client's RS256 access token (RFC 9068) for the provider's API
//! audience, checked against the JWKS the provider holds since discovery, and the same token
//! with its payload changed after signing.

use axum::http::{header, HeaderMap, HeaderValue};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::json;

use super::gateway::{self, ready, Gateway, API_AUDIENCE};
use crate::bearer;
use crate::identity::Identity;
use crate::state::AppState;

/// The subject of the API token.
pub const API_USER: &str = "svc-reporting-7f3a";

/// A discovered gateway, and requests with a valid and a tampered bearer token.
pub struct BearerCheck {
    state: AppState,
    valid: HeaderMap,
    tampered: HeaderMap,
}

impl BearerCheck {
    pub fn new() -> anyhow::Result<BearerCheck> {
        let gateway = Gateway::discovered()?;
        let now = gateway::now();
        let claims = json!({
            "iss": gateway.issuer, "aud": API_AUDIENCE, "sub": API_USER,
            "client_id": "reporting", "scope": "openid reports:read",
            "iat": now, "exp": now + 3600, "jti": "b61d4c57-1f2e-4b8a-9a37-0c1d2e3f4a5b",
            "email": "reporting@example.com", "email_verified": true,
        });
        let token = gateway.sign("at+jwt", &claims)?;
        let mut forged = claims;
        if let Some(forged) = forged.as_object_mut() {
            forged.insert("sub".to_owned(), json!("admin"));
        }
        let tampered = tamper(&token, &forged);
        Ok(BearerCheck {
            valid: authorization(&token)?,
            tampered: authorization(&tampered)?,
            state: gateway.state,
        })
    }

    /// The measured part: the request's `Authorization: Bearer` token found, routed to its
    /// provider by `iss` and validated (signature, `iss`, `aud`, times, `sub`), as every
    /// request with one is.
    pub fn valid(&self) -> Option<Identity> {
        self.check(&self.valid)
    }

    /// The same with the tampered token: what refusing it costs (`None` when refused).
    pub fn tampered(&self) -> Option<Identity> {
        self.check(&self.tampered)
    }

    fn check(&self, headers: &HeaderMap) -> Option<Identity> {
        let checked = ready(bearer::authenticate(&self.state, headers))??;
        checked.ok().map(|bearer| bearer.identity)
    }
}

/// `token` with its payload replaced by `claims` and its signature kept.
fn tamper(token: &str, claims: &serde_json::Value) -> String {
    let mut parts = token.split('.');
    let header = parts.next().unwrap_or_default();
    let signature = parts.nth(1).unwrap_or_default();
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    format!("{header}.{payload}.{signature}")
}

fn authorization(token: &str) -> anyhow::Result<HeaderMap> {
    let mut headers = HeaderMap::new();
    headers.insert(
        header::AUTHORIZATION,
        HeaderValue::from_str(&format!("Bearer {token}"))?,
    );
    Ok(headers)
}
