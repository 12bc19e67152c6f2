//! The Ed25519 keys of the gateway's access tokens, each derived from one session secret, so
//! that every replica given the same secret holds the same key.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use hkdf::Hkdf;
use openidconnect::core::{CoreEdDsaPrivateSigningKey, CoreJsonWebKey};
use openidconnect::PrivateSigningKey as _;
use secrecy::zeroize::Zeroizing;
use secrecy::{ExposeSecret as _, SecretString};
use serde::Deserialize as _;
use sha2::{Digest, Sha256};

use super::errors::TokenKeyError;
use super::header::ALGORITHM;

/// The HKDF info (RFC 5869 §2.3) naming what the derived bytes are for; a new version
/// gives every secret a new key.
const KEY_INFO: &[u8] = b"portcullis access token signing key v1";
/// PKCS#8 v1 DER prefix of an Ed25519 private key (RFC 8410 §7); the 32-byte seed follows.
const ED25519_PKCS8_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];
/// How many bytes of the public key's SHA-256 make its `kid` (12 base64url characters).
const KID_DIGEST_BYTES: usize = 9;

/// The signing key of `secret`: an Ed25519 seed by HKDF-SHA256 (RFC 5869) over it.
pub(super) fn signing_key(secret: &[u8]) -> Result<CoreEdDsaPrivateSigningKey, TokenKeyError> {
    let hkdf = Hkdf::<Sha256>::new(Some(b"portcullis"), secret);
    let mut seed = Zeroizing::new([0u8; 32]);
    // 32 bytes is far below HKDF-SHA256's 8160-byte output limit, so expand cannot fail.
    let _ = hkdf.expand(KEY_INFO, seed.as_mut());
    let mut der = Zeroizing::new(ED25519_PKCS8_PREFIX.to_vec());
    der.extend_from_slice(seed.as_ref());
    let pem = SecretString::from(format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        STANDARD.encode(der.as_slice())
    ));
    CoreEdDsaPrivateSigningKey::from_ed25519_pem(pem.expose_secret(), None)
        .map_err(TokenKeyError::SigningKey)
}

/// The public half of a signing key, as tokens name it and as it is published.
pub(super) struct VerificationKey {
    pub(super) kid: String,
    pub(super) key: CoreJsonWebKey,
    /// The public JWK (RFC 8037 §2): `kty` OKP, `crv` Ed25519, `x`, `kid`, `use` sig,
    /// `alg` EdDSA.
    pub(super) jwk: serde_json::Value,
}

impl VerificationKey {
    /// The key `signing_key` signs for, with a `kid` of its own: the start of the public
    /// key's SHA-256, so it is the same on every replica and changes with the secret.
    pub(super) fn of(
        signing_key: &CoreEdDsaPrivateSigningKey,
    ) -> Result<VerificationKey, TokenKeyError> {
        let library_jwk =
            serde_json::to_value(signing_key.as_verification_key()).map_err(TokenKeyError::Jwk)?;
        let x = library_jwk
            .get("x")
            .and_then(serde_json::Value::as_str)
            .ok_or(TokenKeyError::PublicKey)?;
        let public_key = URL_SAFE_NO_PAD
            .decode(x)
            .map_err(|_| TokenKeyError::PublicKey)?;
        let digest = Sha256::digest(&public_key);
        let kid = URL_SAFE_NO_PAD.encode(digest.get(..KID_DIGEST_BYTES).unwrap_or_default());
        let jwk = serde_json::json!({
            "kty": "OKP",
            "crv": "Ed25519",
            "x": x,
            "kid": kid,
            "use": "sig",
            "alg": ALGORITHM,
        });
        let key = CoreJsonWebKey::deserialize(&jwk).map_err(TokenKeyError::Jwk)?;
        Ok(VerificationKey { kid, key, jwk })
    }
}
