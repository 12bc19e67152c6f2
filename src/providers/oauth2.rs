//! Plain OAuth 2.0 providers (`kind = "oauth2"`, and GitHub in `providers/github.rs`): the
//! authorization code grant with PKCE and state, the code exchange, then the identity from a
//! user information API instead of an ID token.
//!
//! Specs: RFC 6749 §4.1 (code grant), §2.3.1 (client authentication), §5 (token response);
//! RFC 7636 (PKCE S256, sent even to providers that ignore it); RFC 6901 (JSON pointers of
//! the claim mapping). There is no nonce (no ID token carries it back): state and PKCE bind
//! the callback to the browser that started the login.

use secrecy::SecretString;
use serde_json::Value;
use url::Url;

pub(crate) use crate::config::OAuth2Api;
use crate::config::{ClaimMapping, TokenEndpointAuth};
use crate::error::LoginError;
use crate::identity::Identity;
use crate::providers::api::get_json;
use crate::providers::github;
use crate::providers::oidc::{groups_from_json, json_bool, VerifiedLogin};
use crate::providers::refresh::{RefreshError, Renewed};
use crate::providers::token_endpoint::{TokenClient, Tokens};
use crate::providers::unverified_email::{email_that_counts, EmailDrop};
use crate::telemetry::trace::provider_call;

/// Settings for one plain OAuth 2.0 provider, fixed at start-up.
pub(crate) struct OAuth2Settings {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) client_id: String,
    pub(crate) client_secret: SecretString,
    pub(crate) scopes: Vec<String>,
    pub(crate) token_endpoint_auth: TokenEndpointAuth,
    /// `{public_url}/oauth2/callback/{id}`.
    pub(crate) redirect_uri: String,
    pub(crate) logo: &'static str,
    pub(crate) api: OAuth2Api,
    /// `allow_unverified_email`: an email without `email_verified` counts (`unverified_email`).
    pub(crate) allow_unverified_email: bool,
}

/// A plain OAuth 2.0 provider the gateway signs people in with.
pub(crate) struct OAuth2Provider {
    settings: OAuth2Settings,
    http: reqwest::Client,
}

impl std::fmt::Debug for OAuth2Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuth2Provider")
            .field("id", &self.settings.id)
            .field("client_id", &self.settings.client_id)
            .field("client_secret", &"[redacted]")
            .finish()
    }
}

impl OAuth2Provider {
    pub(crate) fn new(settings: OAuth2Settings, http: reqwest::Client) -> OAuth2Provider {
        OAuth2Provider { settings, http }
    }

    pub(crate) fn id(&self) -> &str {
        &self.settings.id
    }

    pub(crate) fn name(&self) -> &str {
        &self.settings.name
    }

    pub(crate) fn logo(&self) -> &'static str {
        self.settings.logo
    }

    /// How a session's groups are read again; `None` when they are fixed at login (every
    /// plain OAuth 2.0 provider but GitHub).
    pub(crate) fn membership_check(&self) -> Option<github::MembershipCheck<'_>> {
        match &self.settings.api {
            OAuth2Api::Github(config) => Some(github::MembershipCheck::new(&self.http, config)),
            OAuth2Api::Generic(_) => None,
        }
    }

    fn endpoints(&self) -> (Url, Url) {
        match &self.settings.api {
            OAuth2Api::Generic(config) => (config.auth_url.clone(), config.token_url.clone()),
            OAuth2Api::Github(config) => github::oauth_endpoints(config),
        }
    }

    /// The authorization request (RFC 6749 §4.1.1) with PKCE S256 (RFC 7636 §4.3).
    /// The `prompt` that shows the account chooser: GitHub's authorize endpoint documents
    /// `prompt=select_account`; OAuth 2.0 itself has no such parameter.
    pub(crate) fn account_prompt(&self) -> Option<&'static str> {
        match &self.settings.api {
            OAuth2Api::Github(_) => Some("select_account"),
            OAuth2Api::Generic(_) => None,
        }
    }

    pub(crate) fn authorization_url(
        &self,
        state: &str,
        code_challenge: &str,
        choose_account: bool,
    ) -> Url {
        let (mut url, _) = self.endpoints();
        {
            let mut query = url.query_pairs_mut();
            query
                .append_pair("response_type", "code")
                .append_pair("client_id", &self.settings.client_id)
                .append_pair("redirect_uri", &self.settings.redirect_uri);
            if !self.settings.scopes.is_empty() {
                query.append_pair("scope", &self.settings.scopes.join(" "));
            }
            query
                .append_pair("state", state)
                .append_pair("code_challenge", code_challenge)
                .append_pair("code_challenge_method", "S256");
            if let Some(prompt) = self.account_prompt().filter(|_| choose_account) {
                query.append_pair("prompt", prompt);
            }
        }
        url
    }

    /// Exchanges the code and reads the identity from the provider's API.
    pub(crate) async fn complete_login(
        &self,
        code: &str,
        pkce_verifier: &str,
    ) -> Result<VerifiedLogin, LoginError> {
        let tokens = self.exchange_code(code, pkce_verifier).await?;
        let access_token = tokens.access_token;
        let (identity, email_drop) = match &self.settings.api {
            OAuth2Api::Generic(config) => {
                let url = &config.userinfo_url;
                let fetch = get_json(&self.http, url, &access_token);
                let userinfo = provider_call("userinfo", self.id(), url.as_str(), fetch)
                    .await
                    .map_err(|err| LoginError::Userinfo(err.to_string()))?;
                let allow = self.settings.allow_unverified_email;
                identity_from_userinfo(&userinfo, &config.claims, self.id(), allow)?
            }
            OAuth2Api::Github(config) => (
                github::identity(&self.http, config, &access_token, self.id()).await?,
                None,
            ),
        };
        Ok(VerifiedLogin {
            identity,
            id_token: None,
            access_token,
            refresh_token: tokens.refresh_token,
            expires_in: tokens.expires_in,
            sid: None,
            email_drop,
        })
    }

    /// Redeems `refresh_token` (RFC 6749 §6). There is no ID token to take a new identity
    /// from: `current` stays (GitHub's groups are read again by `crate::membership`).
    pub(crate) async fn refresh(
        &self,
        refresh_token: &str,
        current: &Identity,
    ) -> Result<Renewed, RefreshError> {
        let (_, token_url) = self.endpoints();
        let url = token_url.to_string();
        let tokens = provider_call(
            "refresh",
            self.id(),
            &url,
            self.token_client().refresh(token_url, refresh_token),
        )
        .await
        .map_err(RefreshError::TokenEndpoint)?;
        Ok(Renewed::keeping(current, tokens))
    }

    /// Who the gateway is at the token endpoint.
    fn token_client(&self) -> TokenClient<'_> {
        TokenClient {
            http: &self.http,
            client_id: &self.settings.client_id,
            client_secret: &self.settings.client_secret,
            auth: self.settings.token_endpoint_auth,
            redirect_uri: &self.settings.redirect_uri,
        }
    }

    /// RFC 6749 §4.1.3 with the PKCE verifier; client authentication as configured. Plain
    /// OAuth 2.0 answers carry no ID token (one that comes is not read).
    async fn exchange_code(&self, code: &str, pkce_verifier: &str) -> Result<Tokens, LoginError> {
        let (_, token_url) = self.endpoints();
        let url = token_url.to_string();
        let client = self.token_client();
        let exchange = client.exchange_code(token_url, code, pkce_verifier);
        Ok(provider_call("token_exchange", self.id(), &url, exchange).await?)
    }
}

/// The identity in a userinfo answer, by the configured JSON pointers. The id is required
/// (a string or a number); the email counts only when `email_verified` says `true` (or, with
/// `allow_unverified_email`, says nothing: `unverified_email`).
pub(crate) fn identity_from_userinfo(
    userinfo: &Value,
    claims: &ClaimMapping,
    provider: &str,
    allow_unverified_email: bool,
) -> Result<(Identity, Option<EmailDrop>), LoginError> {
    let text = |pointer: &str| match userinfo.pointer(pointer) {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let user = text(&claims.id).ok_or_else(|| {
        LoginError::Userinfo(format!("the answer has no user id at {}", claims.id))
    })?;
    let verified = userinfo.pointer(&claims.email_verified).and_then(json_bool);
    let (email, drop) = email_that_counts(text(&claims.email), verified, allow_unverified_email);
    let identity = Identity {
        user,
        email,
        preferred_username: text(&claims.username).or_else(|| text(&claims.name)),
        groups: userinfo
            .pointer(&claims.groups)
            .map(groups_from_json)
            .unwrap_or_default(),
        provider: provider.to_owned(),
    };
    Ok((identity, drop))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_mapping_reads_pointers_and_drops_unverified_emails() {
        let mapping = ClaimMapping {
            id: "/data/id".into(),
            email: "/data/mail".into(),
            email_verified: "/data/verified".into(),
            name: "/data/name".into(),
            username: "/data/login".into(),
            groups: "/data/teams".into(),
        };
        let answer = json!({ "data": { "id": 42, "mail": "a@example.com", "verified": true,
            "login": "alice", "teams": ["x", "y"] } });
        let identity = identity_from_userinfo(&answer, &mapping, "corp", false)
            .unwrap()
            .0;
        assert_eq!(identity.user, "42");
        assert_eq!(identity.email.as_deref(), Some("a@example.com"));
        assert_eq!(identity.preferred_username.as_deref(), Some("alice"));
        assert_eq!(identity.groups, ["x", "y"]);

        let unverified =
            json!({ "data": { "id": "7", "mail": "a@example.com", "verified": false } });
        let identity = identity_from_userinfo(&unverified, &mapping, "corp", false)
            .unwrap()
            .0;
        assert_eq!(identity.email, None);

        let anonymous = json!({ "data": { "mail": "a@example.com" } });
        assert!(identity_from_userinfo(&anonymous, &mapping, "corp", false).is_err());
    }
}
