//! The access tokens the gateway signs itself for local accounts (DESIGN §10): JWTs in the
//! RFC 9068 profile, signed with Ed25519 (RFC 8037) under a key derived from the session
//! secret, and checked strictly, without clock leeway, when they come back as bearer tokens.

// The token endpoint and the bearer check that use these keys are wired in separately.

mod claims;
mod errors;
mod header;
mod keys;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use openidconnect::core::{CoreEdDsaPrivateSigningKey, CoreJwsSigningAlgorithm};
use openidconnect::{JsonWebKey as _, PrivateSigningKey as _};
use rand::RngCore as _;

pub(crate) use claims::AccessClaims;
pub(crate) use errors::{InvalidToken, TokenKeyError, TokenSignError};
use keys::VerificationKey;

/// The gateway's token keys: Ed25519, derived from the session secret (HKDF-SHA256, a fixed
/// info string naming the purpose and a version), so every replica has the same key and
/// `session.previous_secrets` keep tokens signed before a rotation verifiable.
pub(crate) struct TokenKeys {
    /// The current secret's key; the previous secrets' keys only verify.
    signing_key: CoreEdDsaPrivateSigningKey,
    /// The base64url JWS header of every token [`TokenKeys::sign`] makes.
    header: String,
    /// The current key first, then the previous secrets' keys, each `kid` once.
    verification_keys: Vec<VerificationKey>,
    jwks: serde_json::Value,
}

impl std::fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kids: Vec<&str> = self
            .verification_keys
            .iter()
            .map(|key| key.kid.as_str())
            .collect();
        f.debug_struct("TokenKeys")
            .field("kids", &kids)
            .finish_non_exhaustive()
    }
}

impl TokenKeys {
    /// The keys of `secret` (signs and verifies) and of `previous` (verify only, in order).
    pub(crate) fn derive(secret: &[u8], previous: &[&[u8]]) -> Result<TokenKeys, TokenKeyError> {
        let signing_key = keys::signing_key(secret)?;
        let current = VerificationKey::of(&signing_key)?;
        let header = serde_json::json!({
            "alg": header::ALGORITHM,
            "typ": header::TYPE,
            "kid": current.kid,
        });
        let header = URL_SAFE_NO_PAD.encode(header.to_string());
        let mut verification_keys = vec![current];
        for secret in previous {
            let key = VerificationKey::of(&keys::signing_key(secret)?)?;
            if verification_keys.iter().all(|known| known.kid != key.kid) {
                verification_keys.push(key);
            }
        }
        let jwks: Vec<&serde_json::Value> = verification_keys.iter().map(|key| &key.jwk).collect();
        let jwks = serde_json::json!({ "keys": jwks });
        Ok(TokenKeys {
            signing_key,
            header,
            verification_keys,
            jwks,
        })
    }

    /// `{"keys": [...]}`: public JWKs (kty OKP, crv Ed25519, x, kid, use "sig", alg "EdDSA"),
    /// the current key first; for `GET /oauth2/jwks.json` (RFC 7517 §5).
    pub(crate) fn jwks(&self) -> &serde_json::Value {
        &self.jwks
    }

    /// A compact JWS (RFC 7515 §7.1), header {"alg":"EdDSA","typ":"at+jwt","kid":current}
    /// (RFC 9068 §2.1).
    pub(crate) fn sign(&self, claims: &AccessClaims) -> Result<String, TokenSignError> {
        let payload = serde_json::to_vec(claims).map_err(TokenSignError::Claims)?;
        self.sign_input(format!(
            "{}.{}",
            self.header,
            URL_SAFE_NO_PAD.encode(payload)
        ))
    }

    /// `signing_input` (`header.payload`, RFC 7515 §5.1) with its signature appended.
    fn sign_input(&self, signing_input: String) -> Result<String, TokenSignError> {
        let signature = self
            .signing_key
            .sign(&CoreJwsSigningAlgorithm::EdDsa, signing_input.as_bytes())
            .map_err(TokenSignError::Sign)?;
        Ok(format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature)
        ))
    }

    /// One of the gateway's own access tokens, checked strictly and in this order: a compact
    /// JWS (`crate::jwt`); the header as `header` reads it (`alg` EdDSA, `typ` at+jwt, no
    /// `crit`, a `kid` naming one of these keys); the signature with that key; then the claims
    /// as [`AccessClaims`] checks them against `issuer`, `audiences` and `now` (seconds since
    /// the epoch), without clock leeway: the gateway checks tokens it signed itself.
    pub(crate) fn verify(
        &self,
        token: &str,
        issuer: &str,
        audiences: &[&str],
        now: u64,
    ) -> Result<AccessClaims, InvalidToken> {
        let jws = crate::jwt::compact_jws(token).ok_or(InvalidToken::Malformed)?;
        let kid = header::key_id(&jws.header)?;
        let key = self
            .verification_keys
            .iter()
            .find(|key| key.kid == kid)
            .ok_or(InvalidToken::UnknownKey)?;
        key.key
            .verify_signature(
                &CoreJwsSigningAlgorithm::EdDsa,
                jws.signing_input.as_bytes(),
                &jws.signature,
            )
            .map_err(InvalidToken::Signature)?;
        AccessClaims::checked(jws.payload, issuer, audiences, now)
    }
}

/// A fresh `jti` (RFC 7519 §4.1.7): 128 random bits, base64url.
pub(crate) fn new_jti() -> String {
    let mut bytes = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests;
