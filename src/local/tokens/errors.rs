//! Why the gateway's token keys cannot be made, a token cannot be signed, or a token is
//! refused.

use openidconnect::{SignatureVerificationError, SigningError};

/// Why the token keys cannot be derived from the session secrets (at start-up).
#[derive(Debug, thiserror::Error)]
pub(crate) enum TokenKeyError {
    /// The library's key parser reports only a message.
    #[error("the access-token signing key derived from the session secret is not accepted as an Ed25519 key: {0}")]
    SigningKey(String),
    #[error("the Ed25519 library gave no base64url public key for the access-token signing key")]
    PublicKey,
    #[error("the access-token verification key cannot be written as a JWK")]
    Jwk(#[source] serde_json::Error),
}

/// Why an access token could not be signed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum TokenSignError {
    #[error("the access token's claims cannot be written as JSON")]
    Claims(#[source] serde_json::Error),
    #[error("the access token could not be signed with the gateway's Ed25519 key")]
    Sign(#[source] SigningError),
}

/// Why a token the gateway is shown as its own is refused. The text names the check that
/// failed, for the log line; the client is only ever told `invalid_token` (RFC 6750 §3.1).
/// Claims are quoted only once the signature has verified: they are then the gateway's own.
#[derive(Debug, thiserror::Error)]
pub(crate) enum InvalidToken {
    #[error("not a compact JWS (three base64url parts, a JSON object header and payload)")]
    Malformed,
    #[error("the alg header is not EdDSA, the only algorithm the gateway signs with")]
    Algorithm,
    #[error("the typ header is not at+jwt (RFC 9068 §2.1)")]
    Type,
    #[error("the token has a crit header, which the gateway's tokens never carry")]
    Critical,
    #[error("the kid header is missing or not a string")]
    MissingKeyId,
    #[error(
        "the kid header names none of the gateway's keys (signed with a secret no longer in \
         session.previous_secrets, or not by this gateway)"
    )]
    UnknownKey,
    #[error("the signature does not verify with the key the kid header names")]
    Signature(#[source] SignatureVerificationError),
    #[error("the aud claim is an array; the gateway's access tokens name one audience")]
    AudienceArray,
    #[error("the claims are not an access token's (a missing claim or one of the wrong type)")]
    Claims(#[source] serde_json::Error),
    #[error("the iss claim {found:?} is not this gateway's public URL {expected:?}")]
    Issuer { found: String, expected: String },
    #[error("the aud claim {found:?} names none of the providers the token is accepted for")]
    Audience { found: String },
    #[error("expired at {exp} (now {now})")]
    Expired { exp: u64, now: u64 },
    #[error("issued in the future, at {iat} (now {now})")]
    IssuedInTheFuture { iat: u64, now: u64 },
    #[error("the sub claim is empty")]
    EmptySubject,
    #[error("the jti claim is empty")]
    EmptyTokenId,
}
