//! Signed-token checks with the provider's JWKS: ID tokens at login (OpenID Connect Core
//! §3.1.3.7) and API clients' bearer JWTs (RFC 6750, RFC 9068), with one more try on the
//! keys of the provider's rate-limited JWKS refetch when a token names an unknown key (key
//! rotation).

use std::future::Future;
use std::time::Duration;

use openidconnect::core::{
    CoreGenderClaim, CoreIdTokenVerifier, CoreJsonWebKeySet, CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
};
use openidconnect::{
    ClaimsVerificationError, ClientId, IdToken, IssuerUrl, Nonce, SignatureVerificationError,
};

use super::claims::{ExtraClaims, LoginClaims};
use super::discovery::DiscoveryError;
use super::settings::ProviderSettings;
use crate::error::LoginError;
use crate::error_chain::error_chain;
use crate::identity::Identity;
use crate::jwt;
use crate::providers::presets;

/// Asymmetric signature algorithms accepted on ID tokens. `none` and the HMAC family are
/// never accepted: an HMAC "signed" with a provider's public key must not verify
/// (DESIGN §5 item 6).
const ALLOWED_ALGS: [CoreJwsSigningAlgorithm; 9] = [
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha384,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha512,
    CoreJwsSigningAlgorithm::RsaSsaPssSha256,
    CoreJwsSigningAlgorithm::RsaSsaPssSha384,
    CoreJwsSigningAlgorithm::RsaSsaPssSha512,
    CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    CoreJwsSigningAlgorithm::EcdsaP384Sha384,
    CoreJwsSigningAlgorithm::EdDsa,
];

/// Tolerated clock difference with the provider for `iat` and `nbf`.
const CLOCK_SKEW: Duration = Duration::from_secs(300);

pub(super) type ProviderIdToken = IdToken<
    ExtraClaims,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;

/// Why a bearer JWT is refused (answered 401 `invalid_token`).
#[derive(Debug, thiserror::Error)]
pub(crate) enum BearerError {
    #[error("malformed")]
    Malformed(#[source] serde_json::Error),
    #[error("the provider is not discovered yet")]
    NotDiscovered,
    #[error("no key matches the token's kid")]
    UnknownKey(#[source] DiscoveryError),
    #[error(transparent)]
    Claims(#[from] ClaimsVerificationError),
    #[error(transparent)]
    NotBefore(#[from] NotBeforeError),
    /// The kind's own rules, applied as at login.
    #[error(transparent)]
    Rules(#[from] LoginError),
    #[error("this provider issues no JWTs")]
    NotOpenId,
}

/// RFC 7519 §4.1.5.
#[derive(Debug, thiserror::Error)]
pub(crate) enum NotBeforeError {
    #[error("not valid before {0}")]
    InTheFuture(f64),
    #[error("the nbf claim is not a number")]
    NotANumber,
}

/// What the ID token's `nonce` must be.
#[derive(Clone, Copy)]
pub(crate) enum ExpectedNonce<'a> {
    /// At login: present and equal to the authorization request's (§3.1.3.7 item 11).
    Equals(&'a str),
    /// A refreshed ID token (OpenID Connect Core §12.2) need not carry one; one it carries
    /// is not compared (it could only repeat the login's).
    NotCompared,
}

/// Why an ID token was not accepted.
#[derive(Debug, thiserror::Error)]
pub(crate) enum IdTokenError {
    /// It fails a check, or the kind's issuer rules.
    #[error(transparent)]
    Invalid(#[from] LoginError),
    /// It names a key the JWKS does not hold, and the JWKS could not be fetched again:
    /// nothing is known about the token yet.
    #[error("no key matches the token's kid, and the JWKS could not be fetched again")]
    KeysUnavailable(#[source] DiscoveryError),
}

/// At login both are an invalid ID token, with the message it always had.
impl From<IdTokenError> for LoginError {
    fn from(err: IdTokenError) -> LoginError {
        match err {
            IdTokenError::Invalid(err) => err,
            IdTokenError::KeysUnavailable(err) => LoginError::InvalidIdToken(format!(
                "no key matches the token's kid ({})",
                error_chain(&err)
            )),
        }
    }
}

/// OpenID Connect Core §3.1.3.7: signature by a JWKS key with an allow-listed asymmetric
/// algorithm, `iss`, `aud` (and `azp`), `exp`, `iat`, `nonce` as `nonce` says, `sub`.
/// `token` is parsed from `raw`; `jwks` are the keys held now. When the token names an
/// unknown `kid`, `refetch` (the provider's rate-limited JWKS refetch, run only then) brings
/// the keys for one more try before the token is rejected (key rotation).
pub(super) async fn id_token(
    settings: &ProviderSettings,
    token: &ProviderIdToken,
    raw: &str,
    jwks: &CoreJsonWebKeySet,
    refetch: impl Future<Output = Result<CoreJsonWebKeySet, DiscoveryError>>,
    nonce: ExpectedNonce<'_>,
) -> Result<LoginClaims, IdTokenError> {
    let payload = jwt::payload(raw).unwrap_or_default();
    let issuer = presets::token_issuer(&settings.preset, &settings.issuer, &payload)?;
    let claims = match id_token_with(token, jwks, nonce, &issuer, &settings.client_id) {
        Err(ClaimsVerificationError::SignatureVerification(
            SignatureVerificationError::NoMatchingKey,
        )) => {
            let jwks = refetch.await.map_err(IdTokenError::KeysUnavailable)?;
            id_token_with(token, &jwks, nonce, &issuer, &settings.client_id)
        }
        other => other,
    }
    .map_err(|err| LoginError::InvalidIdToken(error_chain(&err)))?;
    // The signature is verified: the payload's `nbf` can be trusted.
    check_not_before(&payload).map_err(|err| LoginError::InvalidIdToken(err.to_string()))?;
    Ok(claims.check_authorized_party(&settings.client_id)?)
}

fn id_token_with(
    token: &ProviderIdToken,
    jwks: &CoreJsonWebKeySet,
    nonce: ExpectedNonce<'_>,
    issuer: &str,
    client_id: &str,
) -> Result<LoginClaims, ClaimsVerificationError> {
    let issuer = IssuerUrl::new(issuer.to_owned())
        .map_err(|err| ClaimsVerificationError::Other(err.to_string()))?;
    let verifier = CoreIdTokenVerifier::new_public_client(
        ClientId::new(client_id.to_owned()),
        issuer,
        jwks.clone(),
    )
    .set_allowed_algs(ALLOWED_ALGS)
    // Extra audiences are allowed only with `azp` naming us, checked in `check_authorized_party`.
    .set_other_audience_verifier_fn(|_| true)
    .set_issue_time_verifier_fn(check_issue_time);
    let claims = match nonce {
        ExpectedNonce::Equals(nonce) => token.claims(&verifier, &Nonce::new(nonce.to_owned()))?,
        // The library's nonce-verifier signature.
        ExpectedNonce::NotCompared => token
            .claims(&verifier, |_: Option<&Nonce>| -> Result<(), String> {
                Ok(())
            })?,
    };
    LoginClaims::from_id_token(claims)
}

/// An API client's `Authorization: Bearer` JWT (RFC 6750, RFC 9068), checked with the same
/// strictness as ID tokens: signature by a JWKS key with an allow-listed asymmetric
/// algorithm, `iss`, `exp`, `iat`, `nbf`, `sub`, and an `aud` containing one of `audiences`.
/// An unknown `kid` runs `refetch` as for [`id_token`].
pub(super) async fn bearer(
    settings: &ProviderSettings,
    token: &ProviderIdToken,
    raw: &str,
    jwks: &CoreJsonWebKeySet,
    refetch: impl Future<Output = Result<CoreJsonWebKeySet, DiscoveryError>>,
    audiences: &[String],
) -> Result<Identity, BearerError> {
    let claims = match bearer_with(token, jwks, audiences, &settings.issuer) {
        Err(ClaimsVerificationError::SignatureVerification(
            SignatureVerificationError::NoMatchingKey,
        )) => {
            let jwks = refetch.await.map_err(BearerError::UnknownKey)?;
            bearer_with(token, &jwks, audiences, &settings.issuer)
        }
        other => other,
    }?;
    // The signature is verified: the payload can be read for the claims the library
    // does not check, and for the kind's own rules, applied as at login (Google's `hd`,
    // Entra's groups overage and email, GitLab's and Keycloak's groups).
    let payload = jwt::payload(raw).unwrap_or_default();
    check_not_before(&payload)?;
    let mut claims = claims;
    presets::finish(&settings.preset, &mut claims, &payload, None)?;
    Ok(claims.into_identity(&settings.id))
}

fn bearer_with(
    token: &ProviderIdToken,
    jwks: &CoreJsonWebKeySet,
    audiences: &[String],
    issuer: &str,
) -> Result<LoginClaims, ClaimsVerificationError> {
    let issuer = IssuerUrl::new(issuer.to_owned())
        .map_err(|err| ClaimsVerificationError::Other(err.to_string()))?;
    // The audience is checked below against the configured list instead of the client id;
    // RFC 9068 tokens carry `typ: at+jwt`, so any JOSE type is accepted.
    let verifier =
        CoreIdTokenVerifier::new_public_client(ClientId::new(String::new()), issuer, jwks.clone())
            .set_allowed_algs(ALLOWED_ALGS)
            .require_audience_match(false)
            .allow_all_jose_types()
            .set_issue_time_verifier_fn(check_issue_time);
    // The library's nonce-verifier signature.
    let no_nonce = |_: Option<&Nonce>| -> Result<(), String> { Ok(()) };
    let claims = token.claims(&verifier, no_nonce)?;
    let accepted = claims
        .audiences()
        .iter()
        .any(|aud| audiences.iter().any(|allowed| allowed == aud.as_str()));
    if !accepted {
        return Err(ClaimsVerificationError::InvalidAudience(
            "no accepted audience".into(),
        ));
    }
    LoginClaims::from_id_token(claims)
}

/// `iat` may not lie in the future beyond the tolerated clock skew (the library's
/// issue-time verifier signature).
fn check_issue_time(iat: chrono::DateTime<chrono::Utc>) -> Result<(), String> {
    if iat > chrono::Utc::now() + CLOCK_SKEW {
        Err(format!("issued in the future ({iat})"))
    } else {
        Ok(())
    }
}

/// `nbf`, when present, may not lie in the future beyond the tolerated clock skew
/// (RFC 7519 §4.1.5; a NumericDate may be fractional, §2).
fn check_not_before(payload: &serde_json::Value) -> Result<(), NotBeforeError> {
    let Some(nbf) = payload.get("nbf") else {
        return Ok(());
    };
    let skew = i64::try_from(CLOCK_SKEW.as_secs()).unwrap_or(0);
    let latest = chrono::Utc::now().timestamp().saturating_add(skew) as f64;
    match nbf.as_f64() {
        Some(nbf) if nbf <= latest => Ok(()),
        Some(nbf) => Err(NotBeforeError::InTheFuture(nbf)),
        None => Err(NotBeforeError::NotANumber),
    }
}
