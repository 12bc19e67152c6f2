//! Identity providers: the configured ones, in configuration order, each reached through the
//! same OpenID Connect code path (`providers/oidc.rs`). The embedded development provider
//! (`providers/dev.rs`) is a real OpenID provider served by the gateway itself.

pub mod dev;
pub mod oidc;

use std::sync::Arc;
use std::time::Duration;

pub use oidc::{OidcProvider, VerifiedLogin};

/// The configured providers, looked up by id.
#[derive(Debug, Clone, Default)]
pub struct ProviderRegistry {
    providers: Vec<Arc<OidcProvider>>,
}

impl ProviderRegistry {
    pub fn new(providers: Vec<Arc<OidcProvider>>) -> ProviderRegistry {
        ProviderRegistry { providers }
    }

    pub fn get(&self, id: &str) -> Option<&Arc<OidcProvider>> {
        self.providers.iter().find(|p| p.id() == id)
    }

    /// In configuration order.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<OidcProvider>> {
        self.providers.iter()
    }

    pub fn len(&self) -> usize {
        self.providers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.providers.is_empty()
    }

    /// Whether every provider's discovery has succeeded.
    pub fn all_ready(&self) -> bool {
        self.providers.iter().all(|p| p.is_ready())
    }

    /// Starts discovery for every provider in the background, retrying with back-off until
    /// it succeeds, so a provider that is down at start-up does not stop the gateway.
    pub fn spawn_discovery(&self) {
        for provider in &self.providers {
            let provider = Arc::clone(provider);
            tokio::spawn(async move {
                let mut delay = Duration::from_millis(250);
                loop {
                    match provider.discover().await {
                        Ok(()) => {
                            tracing::info!(provider = provider.id(), "provider discovered");
                            return;
                        }
                        Err(err) => {
                            tracing::warn!(provider = provider.id(), error = %err, retry_in_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX), "provider discovery failed");
                        }
                    }
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(5));
                }
            });
        }
    }
}

/// The one HTTP client for all provider calls: timeouts, a user agent, redirects off
/// (a provider endpoint that redirects is a misconfiguration, not something to follow).
pub fn provider_http_client() -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .user_agent(concat!("portcullis/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .build()
}
