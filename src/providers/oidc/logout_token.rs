//! Validation of the `logout_token` an OpenID provider posts to the back-channel logout
//! endpoint (OpenID Connect Back-Channel Logout 1.0 §2.4, §2.6): the signature through
//! `oidc/verify.rs` (the ID tokens' algorithms and key rotation), then the claims, in §2.6
//! order, each refusal its own [`LogoutTokenError`]. What a valid token asks for (ending
//! sessions, remembering its `jti`) is the caller's.

use openidconnect::core::CoreJsonWebKeySet;
use serde_json::Value;
use std::future::Future;
use std::time::Duration;

use super::discovery::DiscoveryError;
use super::settings::ProviderSettings;
use super::verify::{self, JwsError, CLOCK_SKEW};

/// The member of `events` that makes a JWT a logout token (§2.4).
const BACKCHANNEL_LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// The `typ` headers accepted (§2.4 asks for `logout+jwt`; older providers send `JWT`).
const ACCEPTED_TYPES: [&str; 2] = ["logout+jwt", "jwt"];

/// How long after its `iat` a logout token without `exp` is accepted (plus [`CLOCK_SKEW`]):
/// beyond it its `jti` could no longer be told from a replay, so it is refused as expired.
const LIFETIME_WITHOUT_EXP: Duration = Duration::from_secs(600);

/// What a valid logout token asks: end the sessions of `sid`, or of `sub` at this provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LogoutClaims {
    pub(crate) sub: Option<String>,
    pub(crate) sid: Option<String>,
    /// For the caller's replay check (§2.6 step 8).
    pub(crate) jti: String,
    /// Unix seconds until which the `jti` must be remembered: the last moment this token is
    /// accepted, `exp` plus [`CLOCK_SKEW`] when it has one, else `iat` plus
    /// [`LIFETIME_WITHOUT_EXP`] plus [`CLOCK_SKEW`].
    pub(crate) remember_until: u64,
}

/// Why a logout token is refused (400, §2.8). The texts are the response's
/// `error_description`: specific, and naming no part of the token.
#[derive(Debug, thiserror::Error)]
pub(crate) enum LogoutTokenError {
    #[error("this provider is not an OpenID provider and has no keys for logout tokens")]
    NotOpenId,
    #[error("the provider's keys are not known yet (discovery has not succeeded)")]
    NotDiscovered,
    #[error(transparent)]
    Signature(#[from] JwsError),
    #[error("the iss claim is not this provider's issuer")]
    Issuer,
    #[error("the aud claim does not name this client")]
    Audience,
    #[error("the iat claim is missing or not a number")]
    IssuedAtMissing,
    #[error("the iat claim lies in the future")]
    IssuedInTheFuture,
    #[error("the exp claim is not a number")]
    ExpiryNotANumber,
    #[error("the logout token has expired")]
    Expired,
    #[error("the {0} claim is not a non-empty string")]
    SubjectNotAString(&'static str),
    #[error("the logout token has neither a sid nor a sub claim")]
    NoSubject,
    #[error("the events claim has no back-channel logout event object")]
    Events,
    #[error("a logout token must not have a nonce claim")]
    Nonce,
    #[error("the jti claim is missing or not a non-empty string")]
    MissingJti,
}

/// §2.6: the signature as for ID tokens with `jwks` (and the keys of `refetch` for an unknown
/// `kid`), then the claims against `settings`.
pub(super) async fn verify(
    settings: &ProviderSettings,
    raw: &str,
    jwks: &CoreJsonWebKeySet,
    refetch: impl Future<Output = Result<CoreJsonWebKeySet, DiscoveryError>>,
) -> Result<LogoutClaims, LogoutTokenError> {
    let payload = verify::signed_payload(raw, jwks, refetch, &ACCEPTED_TYPES).await?;
    check_claims(&payload, settings, chrono::Utc::now().timestamp())
}

/// §2.6 steps 4–8 on a verified payload, at `now` (unix seconds).
fn check_claims(
    payload: &Value,
    settings: &ProviderSettings,
    now: i64,
) -> Result<LogoutClaims, LogoutTokenError> {
    if payload.get("iss").and_then(Value::as_str) != Some(settings.issuer.as_str()) {
        return Err(LogoutTokenError::Issuer);
    }
    let client_id = settings.client_id.as_str();
    let audience_ok = match payload.get("aud") {
        Some(Value::String(aud)) => aud == client_id,
        Some(Value::Array(auds)) => auds.iter().any(|aud| aud.as_str() == Some(client_id)),
        _ => false,
    };
    if !audience_ok {
        return Err(LogoutTokenError::Audience);
    }
    let remember_until = check_times(payload, now)?;
    let sub = non_empty_string(payload, "sub")?;
    let sid = non_empty_string(payload, "sid")?;
    if sub.is_none() && sid.is_none() {
        return Err(LogoutTokenError::NoSubject);
    }
    let has_event = payload
        .get("events")
        .and_then(Value::as_object)
        .and_then(|events| events.get(BACKCHANNEL_LOGOUT_EVENT))
        .is_some_and(Value::is_object);
    if !has_event {
        return Err(LogoutTokenError::Events);
    }
    if payload.get("nonce").is_some() {
        return Err(LogoutTokenError::Nonce);
    }
    let jti = non_empty_string(payload, "jti")
        .ok()
        .flatten()
        .ok_or(LogoutTokenError::MissingJti)?;
    Ok(LogoutClaims {
        sub,
        sid,
        jti,
        remember_until,
    })
}

/// `iat` present and not beyond the skew in the future, `exp` (when present) not beyond the
/// skew in the past, a token without `exp` not older than [`LIFETIME_WITHOUT_EXP`]; the answer
/// is [`LogoutClaims::remember_until`]. NumericDates may be fractional (RFC 7519 §2).
fn check_times(payload: &Value, now: i64) -> Result<u64, LogoutTokenError> {
    let now = now as f64;
    let skew = CLOCK_SKEW.as_secs_f64();
    let iat = payload
        .get("iat")
        .and_then(Value::as_f64)
        .ok_or(LogoutTokenError::IssuedAtMissing)?;
    if iat > now + skew {
        return Err(LogoutTokenError::IssuedInTheFuture);
    }
    let last_accepted = match payload.get("exp") {
        Some(exp) => exp.as_f64().ok_or(LogoutTokenError::ExpiryNotANumber)? + skew,
        None => iat + LIFETIME_WITHOUT_EXP.as_secs_f64() + skew,
    };
    if now > last_accepted {
        return Err(LogoutTokenError::Expired);
    }
    // Saturating: a negative time is 0, a huge one u64::MAX.
    Ok(last_accepted.ceil() as u64)
}

/// The claim `name` when present: it must then be a non-empty string.
fn non_empty_string(
    payload: &Value,
    name: &'static str,
) -> Result<Option<String>, LogoutTokenError> {
    match payload.get(name) {
        None => Ok(None),
        Some(Value::String(value)) if !value.is_empty() => Ok(Some(value.clone())),
        Some(_) => Err(LogoutTokenError::SubjectNotAString(name)),
    }
}

#[cfg(test)]
mod tests;
