//! One OpenID Connect provider as the gateway's relying party: the authorization request,
//! the callback's `iss`, the login (code exchange, ID token, userinfo), the refresh and logout, with what
//! discovery found kept here and the JWKS refetched here, rate-limited, for an unknown key.
//! The children take what they need and never this file: the settings in
//! `oidc/settings.rs`, the discovery request in `oidc/discovery.rs`, token checks in
//! `oidc/verify.rs`, the claims in `oidc/claims.rs`, the userinfo request in
//! `oidc/userinfo.rs`, back-channel logout tokens in `oidc/logout_token.rs`; the
//! token-endpoint call (code and refresh grants) is shared with plain OAuth 2.0
//! (`providers/token_endpoint.rs`), what a refresh gives back is `providers/refresh.rs`.
//!
//! Specs: OpenID Connect Core 1.0 §3.1 (code flow) and §3.1.3.7 (ID token validation),
//! OpenID Connect Discovery 1.0, OpenID Connect Back-Channel Logout 1.0, RFC 6749 (OAuth 2.0), RFC 7636 (PKCE), RFC 9207 (`iss`).

mod claims;
mod discovery;
mod logout_token;
mod mismatch;
mod settings;
mod userinfo;
mod verify;

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use openidconnect::core::CoreJsonWebKeySet;
use tokio::sync::Mutex;
use url::Url;

pub(crate) use claims::{groups_from_json, json_bool};
pub(crate) use claims::{ExtraClaims, LoginClaims};
use discovery::Discovered;
pub(crate) use discovery::DiscoveryError;
pub(crate) use logout_token::{LogoutClaims, LogoutTokenError};
pub(crate) use settings::ProviderSettings;
use userinfo::CompletionError;
use verify::ProviderIdToken;
pub(crate) use verify::{BearerError, ExpectedNonce, IdTokenError};

use crate::error::LoginError;
use crate::identity::Identity;
use crate::jwt;
use crate::providers::presets;
use crate::providers::refresh::{RefreshError, Renewed};
use crate::providers::token_endpoint::TokenClient;
use crate::providers::unverified_email::EmailDrop;
use crate::telemetry::trace::provider_call;

/// A token naming an unknown `kid` may trigger a JWKS refetch at most this often.
const JWKS_REFETCH_INTERVAL: Duration = Duration::from_secs(60);

/// A provider the gateway signs people in with.
pub(crate) struct OidcProvider {
    settings: ProviderSettings,
    http: reqwest::Client,
    discovered: RwLock<Option<Arc<Discovered>>>,
    last_jwks_refetch: Mutex<Option<Instant>>,
    /// Why the last discovery failed, while none has succeeded since (for `/ready`).
    discovery_failure: std::sync::Mutex<Option<String>>,
}

impl std::fmt::Debug for OidcProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcProvider")
            .field("id", &self.settings.id)
            .field("issuer", &self.settings.issuer)
            .field("client_id", &self.settings.client_id)
            .field("client_secret", &"[redacted]")
            .field("ready", &self.is_ready())
            .finish()
    }
}

/// A validated login: the identity plus the tokens worth keeping in the session.
pub(crate) struct VerifiedLogin {
    pub(crate) identity: Identity,
    /// `None` for plain OAuth 2.0 providers, which issue no ID token.
    pub(crate) id_token: Option<String>,
    pub(crate) access_token: String,
    /// For [`crate::providers::Provider::refresh`], when the provider issued one.
    pub(crate) refresh_token: Option<String>,
    /// Seconds the access token is valid, when the provider said.
    pub(crate) expires_in: Option<u64>,
    /// The ID token's `sid` (OpenID Connect Back-Channel Logout 1.0 §2.1); `None` for plain
    /// OAuth 2.0 providers.
    pub(crate) sid: Option<String>,
    /// Why the email the provider sent does not count, when it does not.
    pub(crate) email_drop: Option<EmailDrop>,
}

impl OidcProvider {
    pub(crate) fn new(settings: ProviderSettings, http: reqwest::Client) -> OidcProvider {
        OidcProvider {
            settings,
            http,
            discovered: RwLock::new(None),
            last_jwks_refetch: Mutex::new(None),
            discovery_failure: std::sync::Mutex::new(None),
        }
    }

    pub(crate) fn id(&self) -> &str {
        &self.settings.id
    }

    pub(crate) fn name(&self) -> &str {
        &self.settings.name
    }

    pub(crate) fn issuer(&self) -> &str {
        &self.settings.issuer
    }

    pub(crate) fn logo(&self) -> &'static str {
        self.settings.logo
    }

    pub(crate) fn is_ready(&self) -> bool {
        self.current().is_some()
    }

    fn current(&self) -> Option<Arc<Discovered>> {
        self.discovered.read().ok().and_then(|d| d.clone())
    }

    fn store(&self, discovered: Discovered) {
        if let Ok(mut slot) = self.discovered.write() {
            *slot = Some(Arc::new(discovered));
        }
    }

    fn ready(&self) -> Result<Arc<Discovered>, LoginError> {
        self.current().ok_or_else(|| {
            LoginError::TokenExchange(format!("provider {} is not discovered yet", self.id()))
        })
    }

    /// Takes what discovery found for `previous` when it has the same issuer and rules.
    pub(crate) fn adopt_discovery(&self, previous: &OidcProvider) {
        if previous.settings.issuer != self.settings.issuer
            || previous.settings.preset != self.settings.preset
        {
            return;
        }
        if let Some(discovered) = previous.current() {
            if let Ok(mut slot) = self.discovered.write() {
                *slot = Some(discovered);
            }
        }
    }

    /// Fetches the discovery document and the JWKS (`oidc/discovery.rs`) and keeps them.
    pub(crate) async fn discover(&self) -> Result<(), DiscoveryError> {
        let discover =
            discovery::discover(&self.http, &self.settings.issuer, &self.settings.preset);
        let discovered = provider_call("discovery", self.id(), &self.settings.issuer, discover)
            .await
            .inspect_err(|err| {
                self.set_discovery_failure(Some(crate::error_chain::error_chain(err)))
            })?;
        self.store(discovered);
        self.set_discovery_failure(None);
        Ok(())
    }

    /// Why the last discovery failed, while none has succeeded since: a provider behind a
    /// private CA without `ca_file` says so here (an unknown issuer of its certificate).
    pub(crate) fn discovery_failure(&self) -> Option<String> {
        self.discovery_failure
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn set_discovery_failure(&self, failure: Option<String>) {
        *self
            .discovery_failure
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = failure;
    }

    /// Refetches the JWKS unless that happened less than [`JWKS_REFETCH_INTERVAL`] ago; then
    /// the keys held now are the answer: a token that arrived during another token's refetch
    /// waited for it here and is checked against the keys it brought.
    async fn refetch_jwks(&self) -> Result<CoreJsonWebKeySet, DiscoveryError> {
        let mut last = self.last_jwks_refetch.lock().await;
        let discovered = self.current().ok_or(DiscoveryError::NotDiscovered)?;
        if last.is_some_and(|at| at.elapsed() < JWKS_REFETCH_INTERVAL) {
            return Ok(discovered.jwks.clone());
        }
        *last = Some(Instant::now());
        let fetch = discovery::fetch_jwks(&self.http, &discovered.jwks_uri);
        let jwks =
            provider_call("jwks", self.id(), discovered.jwks_uri.url().as_str(), fetch).await?;
        tracing::info!(
            provider = self.id(),
            keys = jwks.keys().len(),
            "JWKS refetched for an unknown key id"
        );
        let mut updated = (*discovered).clone();
        updated.jwks = jwks.clone();
        self.store(updated);
        Ok(jwks)
    }

    /// An ID token at login or refresh, checked as `oidc/verify.rs` says (OpenID Connect
    /// Core §3.1.3.7, §12.2), with one rate-limited JWKS refetch for an unknown key.
    async fn verify_id_token(
        &self,
        discovered: &Discovered,
        id_token: &str,
        nonce: ExpectedNonce<'_>,
    ) -> Result<LoginClaims, IdTokenError> {
        let token: ProviderIdToken = id_token
            .parse()
            .map_err(|err| LoginError::InvalidIdToken(format!("malformed: {err}")))?;
        let refetch = self.refetch_jwks();
        verify::id_token(
            &self.settings,
            &token,
            id_token,
            &discovered.jwks,
            refetch,
            nonce,
        )
        .await
    }

    /// An API client's `Authorization: Bearer` JWT (RFC 6750, RFC 9068), checked as
    /// `oidc/verify.rs` says, with the same JWKS refetch for an unknown key.
    pub(crate) async fn verify_bearer(
        &self,
        token: &str,
        audiences: &[String],
    ) -> Result<Identity, BearerError> {
        let parsed: ProviderIdToken = token.parse().map_err(BearerError::Malformed)?;
        let discovered = self.current().ok_or(BearerError::NotDiscovered)?;
        let refetch = self.refetch_jwks();
        verify::bearer(
            &self.settings,
            &parsed,
            token,
            &discovered.jwks,
            refetch,
            audiences,
        )
        .await
    }

    /// A back-channel `logout_token` (OpenID Connect Back-Channel Logout 1.0 §2.6), checked
    /// as `oidc/logout_token.rs` says, with the same JWKS refetch for an unknown key.
    pub(crate) async fn verify_logout_token(
        &self,
        token: &str,
    ) -> Result<LogoutClaims, LogoutTokenError> {
        let discovered = self.current().ok_or(LogoutTokenError::NotDiscovered)?;
        let refetch = self.refetch_jwks();
        logout_token::verify(&self.settings, token, &discovered.jwks, refetch).await
    }

    /// The authorization request URL (OpenID Connect Core §3.1.2.1) with PKCE S256
    /// (RFC 7636 §4.3); `None` until discovery has succeeded.
    pub(crate) fn authorization_url(
        &self,
        state: &str,
        nonce: &str,
        code_challenge: &str,
        choose_account: bool,
    ) -> Option<Url> {
        let discovered = self.current()?;
        let mut url = discovered.authorization_endpoint.clone();
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.settings.client_id)
            .append_pair("redirect_uri", &self.settings.redirect_uri)
            .append_pair("scope", &self.settings.scopes.join(" "))
            .append_pair("state", state)
            .append_pair("nonce", nonce)
            .append_pair("code_challenge", code_challenge)
            .append_pair("code_challenge_method", "S256");
        let choice = choose_account.then_some(discovered.select_account_supported);
        for (name, value) in presets::authorization_params(&self.settings.preset, choice) {
            url.query_pairs_mut().append_pair(name, &value);
        }
        Some(url)
    }

    /// RFC 9207 §2.4: when the callback carries `iss` it must be this provider's issuer; when
    /// the provider advertises the parameter it must be present.
    pub(crate) fn check_callback_issuer(&self, iss: Option<&str>) -> Result<(), LoginError> {
        let advertised = self.current().is_some_and(|d| d.iss_parameter_supported);
        match iss {
            Some(iss)
                if presets::callback_issuer_matches(
                    &self.settings.preset,
                    &self.settings.issuer,
                    iss,
                ) =>
            {
                Ok(())
            }
            Some(_) => Err(LoginError::IssuerMismatch),
            None if advertised => Err(LoginError::IssuerMismatch),
            None => Ok(()),
        }
    }

    /// The end-session URL for RP-initiated logout, when the provider has one.
    pub(crate) fn end_session_url(
        &self,
        id_token_hint: Option<&str>,
        post_logout_redirect_uri: &str,
    ) -> Option<Url> {
        let mut url = self.current()?.end_session_endpoint.clone()?;
        {
            let mut query = url.query_pairs_mut();
            if let Some(hint) = id_token_hint {
                query.append_pair("id_token_hint", hint);
            }
            query
                .append_pair("post_logout_redirect_uri", post_logout_redirect_uri)
                .append_pair("client_id", &self.settings.client_id);
        }
        Some(url)
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

    /// Exchanges the code, validates the ID token and, when it lacks email or profile
    /// claims, completes them from userinfo.
    pub(crate) async fn complete_login(
        &self,
        code: &str,
        pkce_verifier: &str,
        nonce: &str,
    ) -> Result<VerifiedLogin, LoginError> {
        let discovered = self.ready()?;
        let (endpoint, client) = (&discovered.token_endpoint, self.token_client());
        let exchange = client.exchange_code(endpoint.clone(), code, pkce_verifier);
        let tokens =
            provider_call("token_exchange", self.id(), endpoint.as_str(), exchange).await?;
        let id_token = tokens.id_token.ok_or_else(|| {
            LoginError::TokenExchange("the token response has no id_token".into())
        })?;
        let claims = self
            .verify_id_token(&discovered, &id_token, ExpectedNonce::Equals(nonce))
            .await?;
        let sid = claims.sid.clone();
        let (identity, email_drop) = self
            .identity(&discovered, claims, &id_token, &tokens.access_token)
            .await?;
        Ok(VerifiedLogin {
            email_drop,
            identity,
            id_token: Some(id_token),
            access_token: tokens.access_token,
            refresh_token: tokens.refresh_token,
            expires_in: tokens.expires_in,
            sid,
        })
    }

    /// Redeems `refresh_token` (RFC 6749 §6). A returned ID token is checked as at login but
    /// for the nonce (OpenID Connect Core §12.2), must name `current.user`, and makes the
    /// identity again, with userinfo as at login; without one, `current` stays.
    pub(crate) async fn refresh(
        &self,
        refresh_token: &str,
        current: &Identity,
    ) -> Result<Renewed, RefreshError> {
        let discovered = self.current().ok_or(RefreshError::NotDiscovered)?;
        let (endpoint, client) = (&discovered.token_endpoint, self.token_client());
        let renewal = client.refresh(endpoint.clone(), refresh_token);
        let tokens = provider_call("refresh", self.id(), endpoint.as_str(), renewal)
            .await
            .map_err(RefreshError::TokenEndpoint)?;
        let Some(id_token) = tokens.id_token.clone() else {
            return Ok(Renewed::keeping(current, tokens));
        };
        let claims = self
            .verify_id_token(&discovered, &id_token, ExpectedNonce::NotCompared)
            .await
            .map_err(RefreshError::IdToken)?;
        if claims.sub != current.user {
            return Err(RefreshError::SubjectChanged);
        }
        let sid = claims.sid.clone();
        let (identity, _) = self
            .identity(&discovered, claims, &id_token, &tokens.access_token)
            .await?;
        Ok(Renewed {
            identity,
            id_token: Some(id_token),
            access_token: tokens.access_token,
            refresh_token: tokens.refresh_token,
            expires_in: tokens.expires_in,
            sid,
        })
    }

    /// The identity from a verified ID token's claims, completed from userinfo when they
    /// lack email or profile claims (or the kind wants userinfo), then the kind's rules.
    async fn identity(
        &self,
        discovered: &Discovered,
        mut claims: LoginClaims,
        id_token: &str,
        access_token: &str,
    ) -> Result<(Identity, Option<EmailDrop>), CompletionError> {
        let mut userinfo = None;
        if claims.needs_userinfo() || presets::wants_userinfo(&self.settings.preset) {
            if let Some(endpoint) = &discovered.userinfo_endpoint {
                let fetch = userinfo::fetch(&self.http, endpoint, access_token);
                let answer = provider_call("userinfo", self.id(), endpoint.as_str(), fetch)
                    .await
                    .map_err(CompletionError::Userinfo)?;
                claims
                    .merge_userinfo(&answer)
                    .map_err(CompletionError::Rejected)?;
                userinfo = Some(answer);
            }
        }
        // The signature was verified: the payload can be read for the kind's claims.
        let payload = jwt::payload(id_token).unwrap_or_default();
        presets::finish(
            &self.settings.preset,
            &mut claims,
            &payload,
            userinfo.as_ref(),
        )
        .map_err(CompletionError::Rejected)?;
        let allow_unverified_email = self.settings.allow_unverified_email;
        Ok(claims.into_identity(self.id(), allow_unverified_email))
    }
}

#[cfg(test)]
mod tests;
