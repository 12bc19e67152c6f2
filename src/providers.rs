//! Identity providers: the configured ones, in configuration order. OpenID Connect ones
//! (`oidc`, `dev` and the presets google, gitlab, microsoft, keycloak, whose rules live in
//! `providers/presets.rs`) go through `providers/oidc.rs`; plain OAuth 2.0 ones (`oauth2`,
//! and GitHub in `providers/github.rs`) through `providers/oauth2.rs`, both calling REST
//! APIs with the user's access token through `providers/api.rs`. The embedded
//! development provider (`providers/dev.rs`) is a real OpenID provider served by the gateway.

pub(crate) mod api;
pub(crate) mod dev;
pub(crate) mod github;
pub(crate) mod oauth2;
pub(crate) mod oidc;
pub(crate) mod presets;
pub(crate) mod refresh;
pub(crate) mod token_endpoint;
pub(crate) mod unverified_email;

use std::sync::Arc;
use std::time::Duration;

use url::Url;

use crate::config::{ProviderConfig, ProviderKind, ProviderPreset, ProviderProtocol};
use crate::error::LoginError;
use crate::error_chain::error_chain;
use crate::identity::Identity;
use crate::pages::Pages;
use crate::tls::CaFile;
use dev::DevProvider;
pub(crate) use github::MembershipCheck;
pub(crate) use oauth2::OAuth2Provider;
use oidc::ProviderSettings;
pub(crate) use oidc::{
    BearerError, DiscoveryError, LogoutClaims, LogoutTokenError, OidcProvider, VerifiedLogin,
};
pub(crate) use refresh::{RefreshError, Renewed};

/// One configured provider, whichever protocol it speaks; the flow calls these methods
/// without knowing which.
#[derive(Debug)]
pub(crate) enum Provider {
    Oidc(OidcProvider),
    OAuth2(OAuth2Provider),
}

impl Provider {
    pub(crate) fn id(&self) -> &str {
        match self {
            Provider::Oidc(p) => p.id(),
            Provider::OAuth2(p) => p.id(),
        }
    }

    pub(crate) fn name(&self) -> &str {
        match self {
            Provider::Oidc(p) => p.name(),
            Provider::OAuth2(p) => p.name(),
        }
    }

    /// The OpenID issuer; empty for plain OAuth 2.0 providers, which have none.
    pub(crate) fn issuer(&self) -> &str {
        match self {
            Provider::Oidc(p) => p.issuer(),
            Provider::OAuth2(_) => "",
        }
    }

    /// The sign-in button's logo, a file under `/oauth2/static/`.
    pub(crate) fn logo(&self) -> &'static str {
        match self {
            Provider::Oidc(p) => p.logo(),
            Provider::OAuth2(p) => p.logo(),
        }
    }

    /// Why the provider is not ready, when its last discovery failed.
    pub(crate) fn discovery_failure(&self) -> Option<String> {
        match self {
            Provider::Oidc(p) => p.discovery_failure(),
            Provider::OAuth2(_) => None,
        }
    }

    /// Plain OAuth 2.0 providers need no discovery and are always ready.
    pub(crate) fn is_ready(&self) -> bool {
        match self {
            Provider::Oidc(p) => p.is_ready(),
            Provider::OAuth2(_) => true,
        }
    }

    pub(crate) async fn discover(&self) -> Result<(), DiscoveryError> {
        match self {
            Provider::Oidc(p) => p.discover().await,
            Provider::OAuth2(_) => Ok(()),
        }
    }

    /// Takes what discovery found for `previous`, the same provider in the configuration
    /// before a reload, when it has the same issuer and rules: no rediscovery, and no login
    /// waits for one.
    fn adopt_discovery(&self, previous: &Provider) {
        if let (Provider::Oidc(p), Provider::Oidc(previous)) = (self, previous) {
            p.adopt_discovery(previous);
        }
    }

    /// The authorization request; `nonce` is only sent to OpenID providers.
    pub(crate) fn authorization_url(
        &self,
        state: &str,
        nonce: &str,
        code_challenge: &str,
        choose_account: bool,
    ) -> Option<Url> {
        match self {
            Provider::Oidc(p) => p.authorization_url(state, nonce, code_challenge, choose_account),
            Provider::OAuth2(p) => Some(p.authorization_url(state, code_challenge, choose_account)),
        }
    }

    /// Whether the authorization request can ask for another account than the one the
    /// provider has a session for (`prompt`); a generic OAuth 2.0 provider cannot be asked.
    pub(crate) fn offers_other_account(&self) -> bool {
        match self {
            Provider::Oidc(_) => true,
            Provider::OAuth2(p) => p.account_prompt().is_some(),
        }
    }

    /// RFC 9207; plain OAuth 2.0 providers have no issuer to compare (state and PKCE still
    /// bind the callback to this provider's flow).
    pub(crate) fn check_callback_issuer(&self, iss: Option<&str>) -> Result<(), LoginError> {
        match self {
            Provider::Oidc(p) => p.check_callback_issuer(iss),
            Provider::OAuth2(_) => Ok(()),
        }
    }

    /// How the session's groups are read again during the session (GitHub's orgs and teams,
    /// see `crate::membership`); `None` when they are fixed at login.
    pub(crate) fn membership_check(&self) -> Option<MembershipCheck<'_>> {
        match self {
            Provider::Oidc(_) => None,
            Provider::OAuth2(p) => p.membership_check(),
        }
    }

    pub(crate) async fn complete_login(
        &self,
        code: &str,
        pkce_verifier: &str,
        nonce: &str,
    ) -> Result<VerifiedLogin, LoginError> {
        match self {
            Provider::Oidc(p) => p.complete_login(code, pkce_verifier, nonce).await,
            Provider::OAuth2(p) => p.complete_login(code, pkce_verifier).await,
        }
    }

    /// Renews the tokens with `refresh_token` (RFC 6749 §6; DESIGN §6 "Refresh"): an OpenID
    /// provider's returned ID token is checked and makes the identity again; otherwise
    /// `current` stays. [`RefreshError::ends_session`] says what a failure means.
    pub(crate) async fn refresh(
        &self,
        refresh_token: &str,
        current: &Identity,
    ) -> Result<Renewed, RefreshError> {
        match self {
            Provider::Oidc(p) => p.refresh(refresh_token, current).await,
            Provider::OAuth2(p) => p.refresh(refresh_token, current).await,
        }
    }

    pub(crate) fn end_session_url(
        &self,
        id_token_hint: Option<&str>,
        post_logout_redirect_uri: &str,
    ) -> Option<Url> {
        match self {
            Provider::Oidc(p) => p.end_session_url(id_token_hint, post_logout_redirect_uri),
            Provider::OAuth2(_) => None,
        }
    }

    /// Bearer JWTs are validated against an OpenID provider's JWKS; plain OAuth 2.0
    /// providers have none (configuration refuses `bearer` for them).
    pub(crate) async fn verify_bearer(
        &self,
        token: &str,
        audiences: &[String],
    ) -> Result<Identity, BearerError> {
        match self {
            Provider::Oidc(p) => p.verify_bearer(token, audiences).await,
            Provider::OAuth2(_) => Err(BearerError::NotOpenId),
        }
    }

    /// A back-channel logout token (OpenID Connect Back-Channel Logout 1.0 §2.6), validated
    /// against an OpenID provider's JWKS; plain OAuth 2.0 providers have no OpenID keys.
    pub(crate) async fn verify_logout_token(
        &self,
        token: &str,
    ) -> Result<LogoutClaims, LogoutTokenError> {
        match self {
            Provider::Oidc(p) => p.verify_logout_token(token).await,
            Provider::OAuth2(_) => Err(LogoutTokenError::NotOpenId),
        }
    }
}

/// The configured providers, looked up by id.
#[derive(Debug, Clone, Default)]
pub(crate) struct ProviderRegistry {
    providers: Vec<Arc<Provider>>,
}

impl ProviderRegistry {
    pub(crate) fn new(providers: Vec<Arc<Provider>>) -> ProviderRegistry {
        ProviderRegistry { providers }
    }

    pub(crate) fn get(&self, id: &str) -> Option<&Arc<Provider>> {
        self.providers.iter().find(|p| p.id() == id)
    }

    /// In configuration order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Arc<Provider>> {
        self.providers.iter()
    }

    /// Takes, for each provider, what discovery found for the provider of the same id in
    /// `previous` (the registry before a reload), where the issuer is unchanged.
    pub(crate) fn adopt_discovery(&self, previous: &ProviderRegistry) {
        for provider in &self.providers {
            if let Some(old) = previous.get(provider.id()) {
                provider.adopt_discovery(old);
            }
        }
    }

    /// Discovers, once and at the same time, every provider not discovered yet; for a
    /// reload, before the new providers take over (the caller bounds the wait).
    pub(crate) async fn discover_pending(&self) {
        let pending = self.providers.iter().filter(|p| !p.is_ready());
        futures::future::join_all(pending.map(|provider| async move {
            if let Err(err) = provider.discover().await {
                tracing::warn!(provider = provider.id(), error = %error_chain(&err), "provider discovery failed");
            }
        }))
        .await;
    }

    /// Starts discovery for every provider not discovered yet in the background, retrying
    /// with back-off until it succeeds, so a provider that is down at start-up does not stop
    /// the gateway.
    pub(crate) fn spawn_discovery(&self) {
        for provider in self.providers.iter().filter(|p| !p.is_ready()) {
            let provider = Arc::clone(provider);
            let scope = crate::telemetry::trace::Current::background(None);
            tokio::spawn(crate::telemetry::trace::run_in(scope, async move {
                let mut delay = Duration::from_millis(250);
                loop {
                    match provider.discover().await {
                        Ok(()) => {
                            tracing::info!(provider = provider.id(), "provider discovered");
                            return;
                        }
                        Err(err) => {
                            tracing::warn!(provider = provider.id(), error = %error_chain(&err), retry_in_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX), "provider discovery failed");
                        }
                    }
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(5));
                }
            }));
        }
    }
}

/// The sign-in button's logo for a kind, a file under `static/`.
pub(crate) fn logo_for(kind: ProviderKind) -> &'static str {
    match kind {
        ProviderKind::Google => "google.svg",
        ProviderKind::Github => "github.svg",
        ProviderKind::Gitlab => "gitlab.svg",
        ProviderKind::Microsoft => "microsoft.svg",
        ProviderKind::Keycloak => "keycloak.svg",
        ProviderKind::OAuth2 | ProviderKind::Oidc => "key.svg",
        ProviderKind::Dev => "logo.svg",
        ProviderKind::Local => "key.svg",
    }
}

/// Why the providers could not be built at start-up.
#[derive(Debug, thiserror::Error)]
pub(crate) enum BuildError {
    #[error("building the provider HTTP client")]
    HttpClient(#[source] reqwest::Error),
    #[error("only one provider of kind \"dev\" can be configured")]
    SecondDev,
    #[error("starting the development provider")]
    Dev(#[source] dev::DevKeyError),
}

/// What [`build`] makes from the configuration.
pub(crate) struct BuiltProviders {
    /// In configuration order.
    pub(crate) providers: Vec<Arc<Provider>>,
    /// The embedded development provider, whose routes the gateway serves.
    pub(crate) dev: Option<Arc<DevProvider>>,
}

/// Every configured provider, in configuration order, by protocol; and the embedded
/// development provider when one is configured (its routes are served by the gateway).
/// `public_url` has no trailing slash. `running_dev` is the development provider of the
/// configuration before a reload: kept, with its key and the codes and tokens it issued,
/// when it serves the same public URL, id and client.
pub(crate) fn build(
    configs: &[ProviderConfig],
    public_url: &str,
    pages: &Arc<Pages>,
    running_dev: Option<&Arc<DevProvider>>,
) -> Result<BuiltProviders, BuildError> {
    let http = provider_http_client().map_err(BuildError::HttpClient)?;
    let mut dev = None;
    let mut providers = Vec::with_capacity(configs.len());
    for config in configs {
        let redirect_uri = format!("{public_url}/oauth2/callback/{}", config.id);
        let logo = logo_for(config.kind);
        let http = trusting(&http, &config.ca_files).map_err(BuildError::HttpClient)?;
        let provider = match &config.protocol {
            // Local accounts sign in at the gateway itself (`crate::local`).
            ProviderProtocol::Local(_) => continue,
            ProviderProtocol::OAuth2(client) => Provider::OAuth2(OAuth2Provider::new(
                oauth2::OAuth2Settings {
                    id: config.id.clone(),
                    name: config.name.clone(),
                    client_id: config.client_id.clone(),
                    client_secret: client.credentials.secret.clone(),
                    scopes: config.scopes.clone(),
                    token_endpoint_auth: client.credentials.auth,
                    redirect_uri,
                    logo,
                    api: client.api.clone(),
                    allow_unverified_email: config.allow_unverified_email,
                },
                http.clone(),
            )),
            ProviderProtocol::Oidc(client) => Provider::Oidc(OidcProvider::new(
                ProviderSettings {
                    id: config.id.clone(),
                    name: config.name.clone(),
                    issuer: client.issuer.clone(),
                    client_id: config.client_id.clone(),
                    client_secret: client.credentials.secret.clone(),
                    scopes: config.scopes.clone(),
                    token_endpoint_auth: client.credentials.auth,
                    redirect_uri,
                    preset: client.preset.clone(),
                    logo,
                    allow_unverified_email: config.allow_unverified_email,
                },
                http.clone(),
            )),
            ProviderProtocol::Dev(client) => {
                if dev.is_some() {
                    return Err(BuildError::SecondDev);
                }
                let embedded = match running_dev
                    .filter(|dev| dev.serves(public_url, &config.id, &config.client_id))
                {
                    Some(running) => Arc::clone(running),
                    None => Arc::new(
                        DevProvider::new(
                            public_url,
                            &config.id,
                            &config.client_id,
                            Arc::clone(pages),
                        )
                        .map_err(BuildError::Dev)?,
                    ),
                };
                // The gateway signs in with its own development provider like with any
                // other: discovery, the code exchange and ID-token checks over HTTP.
                let client = Provider::Oidc(OidcProvider::new(
                    ProviderSettings {
                        id: config.id.clone(),
                        name: config.name.clone(),
                        issuer: embedded.issuer().to_owned(),
                        client_id: config.client_id.clone(),
                        client_secret: embedded.client_secret(),
                        scopes: config.scopes.clone(),
                        token_endpoint_auth: client.token_endpoint_auth,
                        redirect_uri,
                        preset: ProviderPreset::None,
                        logo,
                        allow_unverified_email: false,
                    },
                    http.clone(),
                ));
                dev = Some(embedded);
                client
            }
        };
        providers.push(Arc::new(provider));
    }
    Ok(BuiltProviders { providers, dev })
}

/// The provider client for `ca_files`: the shared one when there are none, else one of its
/// own that trusts them on top of the built-in roots (`crate::tls`).
fn trusting(
    shared: &reqwest::Client,
    ca_files: &[CaFile],
) -> Result<reqwest::Client, reqwest::Error> {
    if ca_files.is_empty() {
        return Ok(shared.clone());
    }
    let mut builder = provider_client_builder();
    for certificate in ca_files.iter().flat_map(CaFile::certificates) {
        builder = builder.add_root_certificate(reqwest::Certificate::from_der(certificate)?);
    }
    builder.build()
}

/// The one HTTP client for all provider calls (but those with a `ca_file` of their own, see
/// [`build`]): timeouts, a user agent, redirects off (a provider endpoint that redirects is
/// a misconfiguration, not something to follow).
pub(crate) fn provider_http_client() -> Result<reqwest::Client, reqwest::Error> {
    provider_client_builder().build()
}

fn provider_client_builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .user_agent(concat!("portcullis/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(10))
        // Servers close idle keep-alive connections on their own schedule (Node's default is
        // 5 s): a pooled connection reused just as the provider closes it fails the code
        // exchange, which cannot be retried (the code is single-use). Idle connections are
        // dropped before the common server timeouts instead.
        .pool_idle_timeout(Duration::from_secs(4))
        .redirect(reqwest::redirect::Policy::none())
}
