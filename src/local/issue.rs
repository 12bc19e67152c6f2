//! What the token endpoint hands out (RFC 6749 §5.1): an access token the gateway signs
//! (RFC 9068 profile, `tokens`), and a refresh token sealed with the session secret that
//! names the user, the provider, the client, a fresh `jti` and the user's credential tag.
//!
//! Refresh tokens rotate (RFC 9700 §4.14.2): each is redeemed once (its `jti` is recorded in
//! `crate::one_time`, shared by replicas through Redis when there is one) and replaced by a
//! new one; a password change (a new credential tag) or a disabled or removed user ends every
//! refresh token issued before.

use serde::{Deserialize, Serialize};

use crate::config::LocalUser;
use crate::local::registry::LocalProvider;
use crate::local::tokens::{new_jti, AccessClaims, TokenKeys, TokenSignError};
use crate::session::SessionCodec;

/// Associated data of refresh tokens.
const REFRESH_PURPOSE: &[u8] = b"portcullis local refresh v1";

/// Why no tokens could be made (a fault of the gateway, never of the request).
#[derive(Debug, thiserror::Error)]
pub(crate) enum IssueError {
    #[error("signing the access token")]
    Sign(#[source] TokenSignError),
    #[error("writing the refresh token")]
    Serialise(#[source] serde_json::Error),
}

/// A successful token response's content.
pub(crate) struct Grant {
    pub(crate) access_token: String,
    pub(crate) expires_in: u64,
    pub(crate) refresh_token: String,
}

/// What a refresh token seals.
#[derive(Serialize, Deserialize)]
pub(crate) struct RefreshClaims {
    /// The provider id.
    #[serde(rename = "p")]
    pub(crate) provider: String,
    #[serde(rename = "u")]
    pub(crate) username: String,
    /// Redeemed once.
    #[serde(rename = "j")]
    pub(crate) jti: String,
    #[serde(rename = "x")]
    pub(crate) expires_at: u64,
    /// `LocalUser::credential_tag` when issued.
    #[serde(rename = "c")]
    pub(crate) credential: String,
    /// The authenticated client it was issued to (RFC 6749 §6: only that client may redeem it).
    #[serde(rename = "k", default, skip_serializing_if = "Option::is_none")]
    pub(crate) client_id: Option<String>,
    #[serde(rename = "s", default, skip_serializing_if = "Option::is_none")]
    pub(crate) scope: Option<String>,
}

impl RefreshClaims {
    /// The claims of `sealed`, when the gateway sealed it (with the current or a previous
    /// secret); expiry is the caller's to check.
    pub(crate) fn open(codec: &SessionCodec, sealed: &str) -> Option<RefreshClaims> {
        codec
            .open(REFRESH_PURPOSE, sealed)
            .and_then(|json| serde_json::from_slice(&json).ok())
    }
}

/// For whom and to whom tokens are issued.
pub(crate) struct Recipient<'a> {
    pub(crate) provider: &'a LocalProvider,
    pub(crate) user: &'a LocalUser,
    pub(crate) client_id: Option<&'a str>,
    pub(crate) scope: Option<&'a str>,
}

/// A new access token and refresh token for `to`, at `now`.
pub(crate) fn grant(
    keys: &TokenKeys,
    codec: &SessionCodec,
    issuer: &str,
    to: &Recipient<'_>,
    now: u64,
) -> Result<Grant, IssueError> {
    let settings = &to.provider.settings;
    let expires_in = settings.token_lifetime.as_secs();
    let identity = to.provider.identity(to.user);
    let claims = AccessClaims {
        iss: issuer.to_owned(),
        aud: identity.provider,
        sub: identity.user,
        email: identity.email,
        name: to.user.name.clone(),
        preferred_username: identity.preferred_username,
        groups: identity.groups,
        exp: now.saturating_add(expires_in),
        iat: now,
        jti: new_jti(),
        client_id: to.client_id.map(str::to_owned),
        scope: to.scope.map(str::to_owned),
    };
    let access_token = keys.sign(&claims).map_err(IssueError::Sign)?;
    let refresh = RefreshClaims {
        provider: to.provider.id.clone(),
        username: to.user.username.clone(),
        jti: new_jti(),
        expires_at: now.saturating_add(settings.refresh_lifetime.as_secs()),
        credential: to.user.credential_tag(),
        client_id: claims.client_id,
        scope: claims.scope,
    };
    let json = serde_json::to_vec(&refresh).map_err(IssueError::Serialise)?;
    let refresh_token = codec.seal(REFRESH_PURPOSE, &json);
    Ok(Grant {
        access_token,
        expires_in,
        refresh_token,
    })
}
