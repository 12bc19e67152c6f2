//! The claims the gateway keeps from an ID token (OpenID Connect Core §2, §5.1), completed
//! from userinfo (§5.3) when the token lacks them, and turned into the session's identity.

use openidconnect::core::CoreGenderClaim;
use openidconnect::{AdditionalClaims, ClaimsVerificationError};
use serde::{Deserialize, Serialize};

use crate::error::LoginError;
use crate::identity::Identity;
use crate::providers::unverified_email::{email_that_counts, EmailDrop};

/// ID token claims beyond the standard ones: `groups`, as a list or a single string, and
/// the session id `sid` (OpenID Connect Back-Channel Logout 1.0 §2.1). Both are read as any
/// JSON value, so one of an unexpected type is ignored rather than failing the token.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub(crate) struct ExtraClaims {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) groups: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) sid: Option<serde_json::Value>,
}
impl AdditionalClaims for ExtraClaims {}

/// The claims the gateway keeps, from the ID token and possibly userinfo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LoginClaims {
    pub(crate) sub: String,
    pub(crate) email: Option<String>,
    pub(crate) email_verified: Option<bool>,
    pub(crate) preferred_username: Option<String>,
    pub(crate) name: Option<String>,
    pub(crate) groups: Vec<String>,
    /// The provider's session id, when it is a non-empty string.
    pub(crate) sid: Option<String>,
    audiences: Vec<String>,
    authorized_party: Option<String>,
}

impl LoginClaims {
    /// The claims of a verified token; its `sub` must not be empty (OpenID Connect Core §2:
    /// the user's never reassigned identifier).
    pub(super) fn from_id_token(
        claims: &openidconnect::IdTokenClaims<ExtraClaims, CoreGenderClaim>,
    ) -> Result<LoginClaims, ClaimsVerificationError> {
        if claims.subject().is_empty() {
            return Err(ClaimsVerificationError::Other(
                "the sub claim is empty".into(),
            ));
        }
        Ok(LoginClaims {
            sub: claims.subject().as_str().to_owned(),
            email: claims.email().map(|e| e.as_str().to_owned()),
            email_verified: claims.email_verified(),
            preferred_username: claims.preferred_username().map(|u| u.as_str().to_owned()),
            name: claims
                .name()
                .and_then(|n| n.get(None))
                .map(|n| n.as_str().to_owned()),
            groups: claims
                .additional_claims()
                .groups
                .as_ref()
                .map(groups_from_json)
                .unwrap_or_default(),
            sid: claims
                .additional_claims()
                .sid
                .as_ref()
                .and_then(serde_json::Value::as_str)
                .filter(|sid| !sid.is_empty())
                .map(str::to_owned),
            audiences: claims
                .audiences()
                .iter()
                .map(|a| a.as_str().to_owned())
                .collect(),
            authorized_party: claims.authorized_party().map(|a| a.as_str().to_owned()),
        })
    }

    /// OpenID Connect Core §3.1.3.7 items 4–5: with several audiences, `azp` must be present
    /// and name this client; when present it must always name this client.
    pub(super) fn check_authorized_party(self, client_id: &str) -> Result<LoginClaims, LoginError> {
        match &self.authorized_party {
            Some(azp) if azp != client_id => Err(LoginError::InvalidIdToken(format!(
                "azp is `{azp}`, not this client"
            ))),
            None if self.audiences.len() > 1 => Err(LoginError::InvalidIdToken(
                "several audiences but no azp claim".into(),
            )),
            _ => Ok(self),
        }
    }

    pub(super) fn needs_userinfo(&self) -> bool {
        self.email.is_none() || (self.preferred_username.is_none() && self.name.is_none())
    }

    /// Fills claims missing from the ID token; rejects userinfo for another subject.
    pub(super) fn merge_userinfo(
        &mut self,
        userinfo: &serde_json::Value,
    ) -> Result<(), LoginError> {
        let sub = userinfo.get("sub").and_then(|s| s.as_str());
        if sub != Some(self.sub.as_str()) {
            return Err(LoginError::Userinfo(
                "its sub differs from the ID token's".into(),
            ));
        }
        let text = |key: &str| {
            userinfo
                .get(key)
                .and_then(|v| v.as_str())
                .map(str::to_owned)
        };
        if self.email.is_none() {
            self.email = text("email");
            self.email_verified = userinfo.get("email_verified").and_then(json_bool);
        }
        if self.preferred_username.is_none() {
            self.preferred_username = text("preferred_username");
        }
        if self.name.is_none() {
            self.name = text("name");
        }
        if self.groups.is_empty() {
            if let Some(groups) = userinfo.get("groups") {
                self.groups = groups_from_json(groups);
            }
        }
        Ok(())
    }

    /// Unverified email addresses are dropped here, so no rule or header can rely on one
    /// (`unverified_email`); the second value says why a sent one was.
    pub(super) fn into_identity(
        self,
        provider: &str,
        allow_unverified_email: bool,
    ) -> (Identity, Option<EmailDrop>) {
        let (email, drop) =
            email_that_counts(self.email, self.email_verified, allow_unverified_email);
        let identity = Identity {
            user: self.sub,
            email,
            preferred_username: self.preferred_username.or(self.name),
            groups: self.groups,
            provider: provider.to_owned(),
        };
        (identity, drop)
    }
}

pub(crate) fn json_bool(value: &serde_json::Value) -> Option<bool> {
    match value {
        serde_json::Value::Bool(b) => Some(*b),
        serde_json::Value::String(s) if s == "true" => Some(true),
        serde_json::Value::String(s) if s == "false" => Some(false),
        _ => None,
    }
}

pub(crate) fn groups_from_json(value: &serde_json::Value) -> Vec<String> {
    match value {
        serde_json::Value::String(group) => vec![group.clone()],
        serde_json::Value::Array(items) => items
            .iter()
            .filter_map(|item| item.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}
