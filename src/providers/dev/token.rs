//! The development provider's token endpoint (RFC 6749 §4.1.3 with client authentication,
//! single-use codes, the redirect URI and PKCE S256 checked; the refresh token grant, §6,
//! rotating: each refresh token is redeemed once and replaced) and its userinfo endpoint
//! (OpenID Connect Core §5.3).

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Form, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use chrono::Utc;
use openidconnect::core::{
    CoreGenderClaim, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm,
};
use openidconnect::{
    Audience, EndUserEmail, EndUserName, EndUserUsername, IdToken, IdTokenClaims, IssuerUrl,
    LocalizedClaim, Nonce, StandardClaims, SubjectIdentifier,
};
use secrecy::ExposeSecret;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{random_token, DevProvider, DevUser, CODE_LIFETIME, REFRESH_LIFETIME, TOKEN_LIFETIME};
use crate::error_chain::error_chain;
use crate::providers::oidc::ExtraClaims;

/// Why an ID token could not be signed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SignError {
    #[error("the issuer is not a URL")]
    Issuer(#[source] url::ParseError),
    #[error("the ID token could not be signed")]
    Sign(#[source] openidconnect::JsonWebTokenError),
}

impl DevProvider {
    fn sign_id_token(&self, user: &DevUser, nonce: Option<String>) -> Result<String, SignError> {
        let issuer = IssuerUrl::new(self.issuer.clone()).map_err(SignError::Issuer)?;
        let now = Utc::now();
        let mut name = LocalizedClaim::new();
        name.insert(None, EndUserName::new(user.name.clone()));
        let standard = StandardClaims::<CoreGenderClaim>::new(SubjectIdentifier::new(user.sub()))
            .set_email(Some(EndUserEmail::new(user.email.clone())))
            .set_email_verified(Some(true))
            .set_name(Some(name))
            .set_preferred_username(Some(EndUserUsername::new(user.username())));
        let claims = IdTokenClaims::new(
            issuer,
            vec![Audience::new(self.client_id.clone())],
            now + chrono::Duration::minutes(5),
            now,
            standard,
            ExtraClaims {
                groups: Some(serde_json::json!(user.groups)),
                sid: None,
            },
        )
        .set_nonce(nonce.map(Nonce::new));
        let token = IdToken::<
            ExtraClaims,
            CoreGenderClaim,
            CoreJweContentEncryptionAlgorithm,
            CoreJwsSigningAlgorithm,
        >::new(
            claims,
            &self.signing_key,
            CoreJwsSigningAlgorithm::EdDsa,
            None,
            None,
        )
        .map_err(SignError::Sign)?;
        Ok(token.to_string())
    }

    /// Client authentication by HTTP Basic or form parameters (RFC 6749 §2.3.1).
    fn client_authenticated(&self, headers: &HeaderMap, form: &TokenForm) -> bool {
        let basic = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Basic "))
            .and_then(|b64| STANDARD.decode(b64).ok())
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .and_then(|pair| {
                let (id, secret) = pair.split_once(':')?;
                Some((form_decode(id), form_decode(secret)))
            });
        let (id, secret) = match (basic, &form.client_id, &form.client_secret) {
            (Some(pair), _, _) => pair,
            (None, Some(id), Some(secret)) => (id.clone(), secret.clone()),
            _ => return false,
        };
        id == self.client_id
            && bool::from(
                secret
                    .as_bytes()
                    .ct_eq(self.client_secret.expose_secret().as_bytes()),
            )
    }
}

#[derive(Deserialize)]
pub(super) struct TokenForm {
    grant_type: Option<String>,
    code: Option<String>,
    refresh_token: Option<String>,
    redirect_uri: Option<String>,
    code_verifier: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

/// RFC 6749 §5.2 error answer.
fn token_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        Json(serde_json::json!({ "error": error, "error_description": description })),
    )
        .into_response()
}

pub(super) async fn token(
    State(dev): State<Arc<DevProvider>>,
    headers: HeaderMap,
    Form(form): Form<TokenForm>,
) -> Response {
    if !dev.client_authenticated(&headers, &form) {
        return token_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client authentication failed",
        );
    }
    let granted = match form.grant_type.as_deref() {
        Some("authorization_code") => code_grant(&dev, &form),
        Some("refresh_token") => refresh_grant(&dev, &form),
        _ => {
            return token_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "only authorization_code and refresh_token",
            )
        }
    };
    match granted {
        Ok((user, nonce)) => issue(&dev, user, nonce),
        Err(Refused(description)) => {
            token_error(StatusCode::BAD_REQUEST, "invalid_grant", description)
        }
    }
}

/// An `invalid_grant` refusal (RFC 6749 §5.2), with its description.
struct Refused(&'static str);

/// RFC 6749 §4.1.3: the user and nonce of a valid, unused code.
fn code_grant(dev: &DevProvider, form: &TokenForm) -> Result<(DevUser, Option<String>), Refused> {
    let pending = form.code.as_ref().and_then(|code| {
        dev.codes
            .lock()
            .ok()
            .and_then(|mut codes| codes.remove(code))
    });
    let Some(pending) = pending.filter(|p| p.issued.elapsed() < CODE_LIFETIME) else {
        return Err(Refused("unknown, used or expired code"));
    };
    if form.redirect_uri.as_deref() != Some(pending.redirect_uri.as_str()) {
        return Err(Refused("redirect_uri mismatch"));
    }
    let challenge = form
        .code_verifier
        .as_ref()
        .map(|v| URL_SAFE_NO_PAD.encode(Sha256::digest(v.as_bytes())));
    if challenge.as_deref() != Some(pending.code_challenge.as_str()) {
        return Err(Refused("PKCE verification failed"));
    }
    Ok((pending.user, pending.nonce))
}

/// RFC 6749 §6: the user of a valid refresh token, which is consumed (a new one is issued
/// with the answer); the refreshed ID token has no nonce (OpenID Connect Core §12.2).
fn refresh_grant(
    dev: &DevProvider,
    form: &TokenForm,
) -> Result<(DevUser, Option<String>), Refused> {
    let user = form.refresh_token.as_ref().and_then(|token| {
        let mut tokens = dev.refresh_tokens.lock().ok()?;
        let (user, issued) = tokens.remove(token)?;
        (issued.elapsed() < REFRESH_LIFETIME).then_some(user)
    });
    user.map(|user| (user, None))
        .ok_or(Refused("unknown, used or expired refresh token"))
}

/// The answer to a granted request: an ID token, an access token and a refresh token.
fn issue(dev: &DevProvider, user: DevUser, nonce: Option<String>) -> Response {
    let id_token = match dev.sign_id_token(&user, nonce) {
        Ok(token) => token,
        Err(err) => {
            tracing::error!(error = %error_chain(&err), "development provider could not sign an ID token");
            return token_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "signing failed",
            );
        }
    };
    let access_token = random_token();
    let refresh_token = random_token();
    if let Ok(mut tokens) = dev.refresh_tokens.lock() {
        tokens.retain(|_, (_, issued)| issued.elapsed() < REFRESH_LIFETIME);
        tokens.insert(refresh_token.clone(), (user.clone(), Instant::now()));
    }
    if let Ok(mut tokens) = dev.tokens.lock() {
        tokens.retain(|_, (_, issued)| issued.elapsed() < TOKEN_LIFETIME);
        tokens.insert(access_token.clone(), (user, Instant::now()));
    }
    let mut response = Json(serde_json::json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": TOKEN_LIFETIME.as_secs(),
        "refresh_token": refresh_token,
        "id_token": id_token,
    }))
    .into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    response
}

pub(super) async fn userinfo(State(dev): State<Arc<DevProvider>>, headers: HeaderMap) -> Response {
    let user = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .and_then(|token| {
            let tokens = dev.tokens.lock().ok()?;
            let (user, issued) = tokens.get(token)?;
            (issued.elapsed() < TOKEN_LIFETIME).then(|| user.clone())
        });
    match user {
        Some(user) => Json(serde_json::json!({
            "sub": user.sub(),
            "email": user.email,
            "email_verified": true,
            "name": user.name,
            "preferred_username": user.username(),
            "groups": user.groups,
        }))
        .into_response(),
        None => (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer error=\"invalid_token\"")],
        )
            .into_response(),
    }
}

fn form_decode(text: &str) -> String {
    url::form_urlencoded::parse(format!("x={text}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests;
