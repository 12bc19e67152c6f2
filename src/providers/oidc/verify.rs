//! Signed-token checks with the provider's JWKS: ID tokens at login (OpenID Connect Core
//! §3.1.3.7) and API clients' bearer JWTs (RFC 6750, RFC 9068) through the crate's ID-token
//! verifier, and the signature alone of tokens whose claims that verifier cannot read (logout
//! tokens, `oidc/logout_token.rs`), with the same allow-listed algorithms; all of them get one
//! more try on the keys of the provider's rate-limited JWKS refetch when a token names an
//! unknown key (key rotation), through [`with_refetch`].

use std::future::Future;
use std::time::Duration;

use openidconnect::core::{
    CoreGenderClaim, CoreIdTokenVerifier, CoreJsonWebKey, CoreJsonWebKeySet,
    CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm,
};
use openidconnect::{
    ClaimsVerificationError, ClientId, IdToken, IssuerUrl, JsonWebKey as _, JsonWebKeyAlgorithm,
    JsonWebKeyUse as _, JwsSigningAlgorithm as _, Nonce, SignatureVerificationError,
};
use serde::Deserialize as _;

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

/// Tolerated clock difference with the provider for `iat`, `nbf` and `exp`.
pub(super) const CLOCK_SKEW: Duration = Duration::from_secs(300);

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
    let check =
        |keys: &CoreJsonWebKeySet| id_token_with(token, keys, nonce, &issuer, &settings.client_id);
    let claims = with_refetch(jwks, refetch, check, names_unknown_key)
        .await
        .map_err(|err| match err {
            Keyed::Refetch(err) => IdTokenError::KeysUnavailable(err),
            Keyed::Check(err) => match super::mismatch::algorithm_advice(&err) {
                Some(advice) => {
                    LoginError::InvalidIdToken(format!("{}: {advice}", error_chain(&err)))
                }
                None => LoginError::InvalidIdToken(error_chain(&err)),
            }
            .into(),
        })?;
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
    let check = |keys: &CoreJsonWebKeySet| bearer_with(token, keys, audiences, &settings.issuer);
    let claims = with_refetch(jwks, refetch, check, names_unknown_key)
        .await
        .map_err(|err| match err {
            Keyed::Refetch(err) => BearerError::UnknownKey(err),
            Keyed::Check(err) => BearerError::Claims(err),
        })?;
    // The signature is verified: the payload can be read for the claims the library
    // does not check, and for the kind's own rules, applied as at login (Google's `hd`,
    // Entra's groups overage and email, GitLab's and Keycloak's groups).
    let payload = jwt::payload(raw).unwrap_or_default();
    check_not_before(&payload)?;
    let mut claims = claims;
    presets::finish(&settings.preset, &mut claims, &payload, None)?;
    Ok(claims
        .into_identity(&settings.id, settings.allow_unverified_email)
        .0)
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

/// What [`with_refetch`] ends with: the check's own error, or the refetch's that an unknown
/// key triggered.
enum Keyed<E> {
    Check(E),
    Refetch(DiscoveryError),
}

/// The one key-rotation path of every signed token: `check` with the keys held now and, only
/// when `unknown_key` says it found no key for the token, once more with the keys `refetch`
/// (the provider's rate-limited JWKS refetch, awaited only then) brings.
async fn with_refetch<T, E>(
    jwks: &CoreJsonWebKeySet,
    refetch: impl Future<Output = Result<CoreJsonWebKeySet, DiscoveryError>>,
    check: impl Fn(&CoreJsonWebKeySet) -> Result<T, E>,
    unknown_key: impl Fn(&E) -> bool,
) -> Result<T, Keyed<E>> {
    match check(jwks) {
        Err(err) if unknown_key(&err) => {
            let jwks = refetch.await.map_err(Keyed::Refetch)?;
            check(&jwks).map_err(Keyed::Check)
        }
        other => other.map_err(Keyed::Check),
    }
}

fn names_unknown_key(err: &ClaimsVerificationError) -> bool {
    matches!(
        err,
        ClaimsVerificationError::SignatureVerification(SignatureVerificationError::NoMatchingKey)
    )
}

/// Why [`signed_payload`] refuses a token. The texts name no part of the token: they are
/// given back to the provider (a logout endpoint's `error_description`).
#[derive(Debug, thiserror::Error)]
pub(crate) enum JwsError {
    #[error("not a signed JWT (three base64url parts, a JSON header and payload)")]
    Malformed,
    #[error("the alg header is not an allowed asymmetric signature algorithm")]
    DisallowedAlgorithm,
    #[error("the typ header is not a type accepted here")]
    UnexpectedType,
    #[error("the crit and cty headers are not supported")]
    UnsupportedHeader,
    #[error("no key of the provider's JWKS matches the token's kid and alg")]
    NoMatchingKey,
    #[error("the provider's JWKS could not be refetched for the token's unknown kid")]
    Refetch(#[source] DiscoveryError),
    #[error("several keys of the provider's JWKS match the token's kid and alg")]
    AmbiguousKey,
    #[error("the signature does not verify with the provider's key")]
    BadSignature(#[source] SignatureVerificationError),
}

/// The signature of a compact JWS whose claims the ID-token verifier cannot read (a logout
/// token need not have `sub` or `exp`), checked as that verifier checks ID tokens here: `alg`
/// one of [`ALLOWED_ALGS`] (never `none`, never HMAC), no `crit` or `cty`, and the one JWKS
/// key matching `kid` and `alg`, with the keys of `refetch` when none does (key rotation).
/// `typ`, when present, must be one of `types`, compared as RFC 7515 §4.1.9 says (case aside,
/// `application/` optional). Returns the payload, read by `crate::jwt`, now to be trusted.
pub(super) async fn signed_payload(
    raw: &str,
    jwks: &CoreJsonWebKeySet,
    refetch: impl Future<Output = Result<CoreJsonWebKeySet, DiscoveryError>>,
    types: &[&str],
) -> Result<serde_json::Value, JwsError> {
    let jws = jwt::compact_jws(raw).ok_or(JwsError::Malformed)?;
    let (alg, kid) = read_header(&jws.header, types)?;
    let check = |keys: &CoreJsonWebKeySet| {
        signing_key(keys, kid, &alg)?
            .verify_signature(&alg, jws.signing_input.as_bytes(), &jws.signature)
            .map_err(JwsError::BadSignature)
    };
    let unknown_key = |err: &JwsError| matches!(err, JwsError::NoMatchingKey);
    with_refetch(jwks, refetch, check, unknown_key)
        .await
        .map_err(|err| match err {
            Keyed::Check(err) => err,
            Keyed::Refetch(err) => JwsError::Refetch(err),
        })?;
    Ok(jws.payload)
}

/// The header's allow-listed `alg` and its `kid`, when `typ` is one of `types` (or absent).
fn read_header<'h>(
    header: &'h serde_json::Value,
    types: &[&str],
) -> Result<(CoreJwsSigningAlgorithm, Option<&'h str>), JwsError> {
    let alg = header
        .get("alg")
        .and_then(|alg| CoreJwsSigningAlgorithm::deserialize(alg).ok())
        .filter(|alg| ALLOWED_ALGS.contains(alg))
        .ok_or(JwsError::DisallowedAlgorithm)?;
    if let Some(typ) = header.get("typ") {
        let typ = typ
            .as_str()
            .ok_or(JwsError::UnexpectedType)?
            .to_ascii_lowercase();
        let typ = typ.strip_prefix("application/").unwrap_or(&typ);
        if !types
            .iter()
            .any(|accepted| accepted.eq_ignore_ascii_case(typ))
        {
            return Err(JwsError::UnexpectedType);
        }
    }
    if header.get("crit").is_some() || header.get("cty").is_some() {
        return Err(JwsError::UnsupportedHeader);
    }
    let kid = match header.get("kid") {
        None => None,
        Some(kid) => Some(kid.as_str().ok_or(JwsError::Malformed)?),
    };
    Ok((alg, kid))
}

/// The one key of `keys` that may check a signature by `alg` under `kid` (any key when the
/// token names none): usable for signatures, of `alg`'s key type, and for `alg` when the key
/// names one; what the crate's ID-token verifier selects (OpenID Connect Core §10.1).
fn signing_key<'k>(
    keys: &'k CoreJsonWebKeySet,
    kid: Option<&str>,
    alg: &CoreJwsSigningAlgorithm,
) -> Result<&'k CoreJsonWebKey, JwsError> {
    let fits = |key: &&CoreJsonWebKey| {
        kid.is_none_or(|kid| key.key_id().is_some_and(|id| id.as_str() == kid))
            && key
                .key_use()
                .is_none_or(|key_use| key_use.allows_signature())
            && alg.key_type().as_ref() == Some(key.key_type())
            && match key.signing_alg() {
                JsonWebKeyAlgorithm::Unspecified => true,
                JsonWebKeyAlgorithm::Algorithm(key_alg) => key_alg == alg,
                JsonWebKeyAlgorithm::Unsupported => false,
            }
    };
    let mut matching = keys.keys().iter().filter(fits);
    match (matching.next(), matching.next()) {
        (Some(key), None) => Ok(key),
        (None, _) => Err(JwsError::NoMatchingKey),
        (Some(_), Some(_)) => Err(JwsError::AmbiguousKey),
    }
}
