//! The state every request handler shares, built once from the validated configuration:
//! the providers, the session codec and cookie settings, the pages, the route table and the
//! upstream client. It sits at the bottom of the module graph: handlers import it, it imports
//! no handler, and they take only the piece they need (`FromRef`).

use std::sync::Arc;

use anyhow::Context as _;
use axum::extract::FromRef;
use rand::RngCore;

use crate::config::{Config, ProviderKind};
use crate::flow::ConsumedStates;
use crate::pages::Pages;
use crate::providers::dev::DevProvider;
use crate::providers::oidc::ProviderSettings;
use crate::providers::{
    logo_for, oauth2_provider, provider_http_client, OidcProvider, Provider, ProviderRegistry,
};
use crate::proxy::{RouteTable, UpstreamClient};
use crate::session::{CookieSettings, SessionCodec};

/// Everything request handlers share; cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub config: Config,
    /// The public URL without a trailing slash.
    pub public_url: String,
    pub providers: ProviderRegistry,
    pub codec: SessionCodec,
    pub cookies: CookieSettings,
    pub pages: Arc<Pages>,
    pub routes: RouteTable,
    pub upstream: UpstreamClient,
    pub dev: Option<Arc<DevProvider>>,
    /// Flows already used at a callback, so that each signs in once.
    pub consumed_flows: ConsumedStates,
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    /// Builds the state from a validated configuration.
    pub fn new(config: Config) -> anyhow::Result<AppState> {
        let public_url = config
            .server
            .public_url
            .as_str()
            .trim_end_matches('/')
            .to_owned();
        let pages = Arc::new(Pages::new().context("loading the page templates")?);
        let http = provider_http_client().context("building the provider HTTP client")?;

        let mut dev = None;
        let mut providers = Vec::new();
        for provider in &config.providers {
            let (issuer, client_secret) = match provider.kind {
                ProviderKind::Github | ProviderKind::OAuth2 => {
                    let oauth2 = oauth2_provider(provider, &public_url, http.clone())
                        .context("a plain OAuth 2.0 provider without its settings")?;
                    providers.push(Arc::new(Provider::OAuth2(oauth2)));
                    continue;
                }
                ProviderKind::Oidc
                | ProviderKind::Google
                | ProviderKind::Gitlab
                | ProviderKind::Microsoft
                | ProviderKind::Keycloak => (
                    provider
                        .issuer
                        .clone()
                        .context("an oidc provider without issuer")?,
                    provider
                        .client_secret
                        .clone()
                        .context("an oidc provider without client_secret")?,
                ),
                ProviderKind::Dev => {
                    anyhow::ensure!(
                        dev.is_none(),
                        "only one provider of kind \"dev\" can be configured"
                    );
                    let embedded = Arc::new(
                        DevProvider::new(
                            &public_url,
                            &provider.id,
                            &provider.client_id,
                            Arc::clone(&pages),
                        )
                        .map_err(|err| {
                            anyhow::anyhow!("starting the development provider: {err}")
                        })?,
                    );
                    let issuer = embedded.issuer().to_owned();
                    let secret = embedded.client_secret();
                    dev = Some(embedded);
                    (issuer, secret)
                }
            };
            providers.push(Arc::new(Provider::Oidc(OidcProvider::new(
                ProviderSettings {
                    id: provider.id.clone(),
                    name: provider.name.clone(),
                    issuer,
                    client_id: provider.client_id.clone(),
                    client_secret,
                    scopes: provider.scopes.clone(),
                    token_endpoint_auth: provider.token_endpoint_auth,
                    redirect_uri: format!("{public_url}/oauth2/callback/{}", provider.id),
                    preset: provider.preset.clone(),
                    logo: logo_for(provider.kind),
                },
                http.clone(),
            ))));
        }

        let codec = session_codec(&config);
        let cookies = CookieSettings {
            name: config.session.cookie_name.clone(),
            secure: config.server.public_url.scheme() == "https",
            lifetime: config.session.lifetime,
            domain: config.session.cookie_domain.clone(),
        };
        Ok(AppState(Arc::new(Inner {
            routes: RouteTable::new(config.upstreams.clone()),
            upstream: UpstreamClient::new(),
            public_url,
            providers: ProviderRegistry::new(providers),
            codec,
            cookies,
            pages,
            dev,
            consumed_flows: ConsumedStates::new(),
            config,
        })))
    }
}

fn session_codec(config: &Config) -> SessionCodec {
    let previous: Vec<&[u8]> = config
        .session
        .previous_secrets
        .iter()
        .map(|s| s.0.as_slice())
        .collect();
    match &config.session.secret {
        Some(secret) => SessionCodec::new(&secret.0, &previous),
        None => {
            tracing::warn!("session.secret is not set: using an ephemeral secret (only allowed with the dev provider); sessions end when the gateway restarts");
            let mut ephemeral = [0u8; 32];
            rand::thread_rng().fill_bytes(&mut ephemeral);
            SessionCodec::new(&ephemeral, &previous)
        }
    }
}

/// The page templates, for handlers and middleware that render and need nothing else (the
/// error renderer).
impl FromRef<AppState> for Arc<Pages> {
    fn from_ref(state: &AppState) -> Arc<Pages> {
        Arc::clone(&state.pages)
    }
}
