//! The state every request handler shares, built once from the validated configuration:
//! the providers, the session codec and cookie settings, the pages, the route table and the
//! upstream client. It sits at the bottom of the module graph: handlers import it, it imports
//! no handler, and they take only the piece they need (`FromRef`).

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use axum::extract::FromRef;
use rand::RngCore;

use crate::config::Config;
use crate::local::LocalProviders;
use crate::metrics::Metrics;
use crate::one_time::OneTime;
use crate::pages::Pages;
use crate::providers::dev::DevProvider;
use crate::providers::ProviderRegistry;
use crate::proxy::{RouteTable, UpstreamClient};
use crate::rate_limit::FailureLimit;
use crate::session::{CookieSettings, Flights, SessionCodec, SessionNeeds, SessionStore};
use crate::telemetry::trace::Tracer;

/// Everything request handlers share; cheap to clone.
#[derive(Clone)]
pub(crate) struct AppState(Arc<Inner>);

pub(crate) struct Inner {
    pub(crate) config: Config,
    /// The public URL without a trailing slash.
    pub(crate) public_url: String,
    pub(crate) providers: ProviderRegistry,
    pub(crate) codec: SessionCodec,
    pub(crate) cookies: CookieSettings,
    /// Where sessions live (DESIGN §6).
    pub(crate) sessions: SessionStore,
    /// What a session keeps, from the configuration.
    pub(crate) needs: SessionNeeds,
    /// The renewal flights of this process (`crate::renewal`).
    pub(crate) flights: Flights,
    pub(crate) pages: Arc<Pages>,
    pub(crate) routes: RouteTable,
    pub(crate) upstream: UpstreamClient,
    pub(crate) dev: Option<Arc<DevProvider>>,
    /// The `kind = "local"` providers and the keys of the tokens they issue (DESIGN §10).
    pub(crate) local: LocalProviders,
    /// Flow states used at a callback and back-channel logout `jti`s: each counts once.
    pub(crate) one_time: OneTime,
    /// `server.login_rate_limit` per client address on the login endpoints
    /// (`crate::login_limit`); `None` when turned off.
    pub(crate) login_limit: Option<FailureLimit>,
    /// The Prometheus metrics (`crate::metrics`), laid out from the route table and the
    /// providers.
    pub(crate) metrics: Arc<Metrics>,
    /// `[telemetry]`: the OpenTelemetry tracer and its exporter (`crate::telemetry::trace`);
    /// `None` traces nothing.
    pub(crate) tracer: Option<Tracer>,
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    /// Builds the state from a validated configuration.
    pub(crate) fn new(config: Config) -> anyhow::Result<AppState> {
        let public_url = config
            .server
            .public_url
            .as_str()
            .trim_end_matches('/')
            .to_owned();
        // Checked when the configuration was validated; fails only on a bug.
        let pages = Pages::branded(&config.pages.brand()).map_err(|problems| {
            let problems: Vec<String> = problems.iter().map(ToString::to_string).collect();
            anyhow::anyhow!("loading the page templates: {}", problems.join("; "))
        })?;
        let pages = Arc::new(pages);
        let crate::providers::BuiltProviders { providers, dev } =
            crate::providers::build(&config.providers, &public_url, &pages)
                .context("building the providers")?;

        let secret = session_secret(&config);
        let previous: Vec<&[u8]> = config
            .session
            .previous_secrets
            .iter()
            .map(|s| s.0.as_slice())
            .collect();
        let codec = SessionCodec::new(&secret, &previous);
        let local = LocalProviders::new(&config.providers, &public_url, &secret, &previous)
            .context("setting up the local providers")?;
        let cookies = CookieSettings {
            name: config.session.cookie_name.clone(),
            secure: config.server.public_url.scheme() == "https",
            lifetime: config.session.lifetime,
            domain: config.session.cookie_domain.clone(),
        };
        let needs = SessionNeeds::new(&config);
        let routes = RouteTable::new(config.upstreams.clone());
        let metrics = Arc::new(Metrics::new(routes.upstreams(), &config.providers));
        let sessions = SessionStore::new(
            &config,
            codec.clone(),
            needs.wants_id_token(),
            Arc::clone(&metrics),
        )
        .context("connecting to the session store")?;
        // A new exporter for every state: the one of a state replaced by a reload sends what
        // it holds once the requests still on that state are done, then stops.
        let tracer = config
            .telemetry
            .as_ref()
            .map(|telemetry| Tracer::start(telemetry, &config.server.trusted_proxies))
            .transpose()
            .context("starting the trace exporter")?;
        Ok(AppState(Arc::new(Inner {
            one_time: OneTime::new(sessions.redis().cloned()),
            login_limit: config
                .server
                .login_rate_limit
                .map(|per_minute| FailureLimit::new(per_minute, Duration::from_secs(60))),
            sessions,
            needs,
            flights: Flights::default(),
            routes,
            metrics,
            tracer,
            upstream: UpstreamClient::new(),
            public_url,
            providers: ProviderRegistry::new(providers),
            codec,
            cookies,
            pages,
            dev,
            local,
            config,
        })))
    }
}

/// The configured session secret, or (only allowed with the dev provider) an ephemeral one.
fn session_secret(config: &Config) -> Vec<u8> {
    match &config.session.secret {
        Some(secret) => secret.0.clone(),
        None => {
            tracing::warn!("session.secret is not set: using an ephemeral secret (only allowed with the dev provider); sessions end when the gateway restarts");
            let mut ephemeral = [0u8; 32];
            rand::thread_rng().fill_bytes(&mut ephemeral);
            ephemeral.to_vec()
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
