//! What renewing a session's tokens at its provider (RFC 6749 §6) gives back, and why it can
//! fail, sorted into "the session must end" and "the provider cannot answer now". The grant
//! itself is `providers/token_endpoint.rs`; OpenID providers check a returned ID token in
//! `providers/oidc.rs` (OpenID Connect Core §12.2), plain OAuth 2.0 ones have none.

use crate::error::LoginError;
use crate::identity::Identity;
use crate::providers::oidc::IdTokenError;
use crate::providers::token_endpoint::{TokenEndpointError, Tokens};

/// A successful refresh. `Debug` is left out: it holds tokens.
pub(crate) struct Renewed {
    /// Recomputed from the new ID token (and userinfo, as at login) when one came back; else
    /// `current` unchanged.
    pub(crate) identity: Identity,
    /// The new ID token, if any.
    pub(crate) id_token: Option<String>,
    pub(crate) access_token: String,
    /// `Some` when the provider rotated the refresh token: it replaces the one redeemed.
    pub(crate) refresh_token: Option<String>,
    pub(crate) expires_in: Option<u64>,
    /// The new ID token's `sid` (OpenID Connect Back-Channel Logout 1.0 §2.1); `None` when
    /// no ID token came back or it has none.
    pub(crate) sid: Option<String>,
}

impl Renewed {
    /// An answer without an ID token to take the identity from (or from a plain OAuth 2.0
    /// provider, whose ID token, if it sends one, is not read): `current` stays.
    pub(crate) fn keeping(current: &Identity, tokens: Tokens) -> Renewed {
        Renewed {
            identity: current.clone(),
            id_token: None,
            access_token: tokens.access_token,
            refresh_token: tokens.refresh_token,
            expires_in: tokens.expires_in,
            sid: None,
        }
    }
}

/// Why a refresh failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RefreshError {
    #[error("the provider is not discovered yet")]
    NotDiscovered,
    #[error("the refresh grant failed")]
    TokenEndpoint(#[source] TokenEndpointError),
    #[error("the refreshed ID token is not accepted")]
    IdToken(#[source] IdTokenError),
    /// OpenID Connect Core §12.2: a refreshed ID token's `sub` must be the session's.
    #[error("the refreshed ID token names another user")]
    SubjectChanged,
    /// Userinfo could not be read: unreachable, an error status, not JSON.
    #[error("userinfo could not be read after the refresh")]
    Userinfo(#[source] LoginError),
    /// Userinfo for another subject, or the kind's rules refuse the new claims.
    #[error("the refreshed claims are not accepted")]
    Rejected(#[source] LoginError),
}

impl RefreshError {
    /// The grant is gone (RFC 6749 §5.2 `invalid_grant`, and `invalid_client`/`unauthorized_client`)
    /// or the answer cannot be accepted (a returned ID token that fails validation, or whose
    /// `sub` differs from `current.user`, or whose `iss` differs): the session must end.
    /// Anything else means the provider is unavailable for now.
    pub(crate) fn ends_session(&self) -> bool {
        match self {
            RefreshError::TokenEndpoint(err) => err.grant_is_gone(),
            RefreshError::IdToken(IdTokenError::Invalid(_))
            | RefreshError::SubjectChanged
            | RefreshError::Rejected(_) => true,
            RefreshError::IdToken(IdTokenError::KeysUnavailable(_))
            | RefreshError::NotDiscovered
            | RefreshError::Userinfo(_) => false,
        }
    }
}

#[cfg(test)]
mod provider_tests;
#[cfg(test)]
mod tests;
