//! The claims of the gateway's access tokens (RFC 9068 §2.2) and their checks, read from a
//! payload whose signature has verified.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::errors::InvalidToken;

/// What an access token says (RFC 9068 §2.2, RFC 7519 §4.1). Numbers are NumericDates in
/// whole seconds; the options are left out when `None`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct AccessClaims {
    /// The gateway's public URL, without a trailing slash.
    pub(crate) iss: String,
    /// The id of the local provider that issued the token.
    pub(crate) aud: String,
    /// The username.
    pub(crate) sub: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) preferred_username: Option<String>,
    pub(crate) groups: Vec<String>,
    pub(crate) exp: u64,
    pub(crate) iat: u64,
    pub(crate) jti: String,
    /// RFC 9068 §2.2: the client that authenticated at the token endpoint, if one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) client_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) scope: Option<String>,
}

impl AccessClaims {
    /// A verified payload as claims with exact types (a string `exp` is refused), then
    /// checked without clock leeway: `iss` is `issuer`, `aud` one of `audiences` (a string: the
    /// gateway never issues an array), `exp > now`, `iat <= now`, `sub` and `jti` not
    /// empty. `iat < exp` follows from the two times and needs no check of its own.
    pub(super) fn checked(
        payload: Value,
        issuer: &str,
        audiences: &[&str],
        now: u64,
    ) -> Result<AccessClaims, InvalidToken> {
        if payload.get("aud").is_some_and(Value::is_array) {
            return Err(InvalidToken::AudienceArray);
        }
        let claims: AccessClaims = serde_json::from_value(payload).map_err(InvalidToken::Claims)?;
        if claims.iss != issuer {
            return Err(InvalidToken::Issuer {
                found: claims.iss,
                expected: issuer.to_owned(),
            });
        }
        if !audiences.contains(&claims.aud.as_str()) {
            return Err(InvalidToken::Audience { found: claims.aud });
        }
        if claims.exp <= now {
            return Err(InvalidToken::Expired {
                exp: claims.exp,
                now,
            });
        }
        if claims.iat > now {
            return Err(InvalidToken::IssuedInTheFuture {
                iat: claims.iat,
                now,
            });
        }
        if claims.sub.is_empty() {
            return Err(InvalidToken::EmptySubject);
        }
        if claims.jti.is_empty() {
            return Err(InvalidToken::EmptyTokenId);
        }
        Ok(claims)
    }
}
