//! The state every request handler shares, built once from the validated configuration:
//! the providers, the session codec and cookie settings, the pages, the route table and the
//! upstream client. It sits at the bottom of the module graph: handlers import it, it imports
//! no handler, and they take only the piece they need (`FromRef`).

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use axum::extract::FromRef;
use rand::RngCore;

use crate::config::{Config, SessionSecret};
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
    /// `session.secret`, or the ephemeral one made when it is not set (kept by a reload).
    session_secret: SessionSecret,
    pub(crate) codec: SessionCodec,
    pub(crate) cookies: CookieSettings,
    /// Where sessions live (DESIGN §6).
    pub(crate) sessions: Arc<SessionStore>,
    /// What a session keeps, from the configuration.
    pub(crate) needs: SessionNeeds,
    /// The renewal flights of this process (`crate::renewal`).
    pub(crate) flights: Arc<Flights>,
    pub(crate) pages: Arc<Pages>,
    pub(crate) routes: RouteTable,
    pub(crate) upstream: UpstreamClient,
    pub(crate) dev: Option<Arc<DevProvider>>,
    /// The `kind = "local"` providers and the keys of the tokens they issue (DESIGN §10).
    pub(crate) local: Arc<LocalProviders>,
    /// Flow states used at a callback and back-channel logout `jti`s: each counts once.
    pub(crate) one_time: Arc<OneTime>,
    /// `server.login_rate_limit` per client address on the login endpoints
    /// (`crate::login_limit`); `None` when turned off.
    pub(crate) login_limit: Option<Arc<FailureLimit>>,
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
        AppState::build(config, None)
    }

    /// The state of a reloaded configuration (DESIGN §11 "Hot reload"), built beside this
    /// one, which goes on serving the requests already in progress. Rebuilt from `config`:
    /// the route table, the pages, the providers, the session codec and cookie settings.
    /// Kept from this state: the process's runtime state, where its configuration did not
    /// change: the session store (with the sessions it opened) when `[session]` is
    /// unchanged, else a new one on the same Redis connection and revocation table; the
    /// one-time records and the Redis connection when the Redis settings are unchanged; the
    /// login rate limit's counts when its limit is unchanged; a local provider's failed-login
    /// counts when its limits are unchanged; what discovery found for a provider whose issuer
    /// is unchanged; the development provider when it serves the same URL and client; the
    /// renewal flights, the upstream connection pool, the metrics' counters and the trace
    /// exporter always.
    pub(crate) fn successor(&self, config: Config) -> anyhow::Result<AppState> {
        let next = AppState::build(config, Some(self))?;
        next.providers.adopt_discovery(&self.providers);
        Ok(next)
    }

    fn build(config: Config, running: Option<&AppState>) -> anyhow::Result<AppState> {
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
        let crate::providers::BuiltProviders { providers, dev } = crate::providers::build(
            &config.providers,
            &public_url,
            &pages,
            running.and_then(|running| running.dev.as_ref()),
        )
        .context("building the providers")?;

        let secret = match (&config.session.secret, running) {
            (Some(secret), _) => secret.clone(),
            (None, Some(running)) => running.session_secret.clone(),
            (None, None) => ephemeral_secret(),
        };
        let previous: Vec<&[u8]> = config
            .session
            .previous_secrets
            .iter()
            .map(|s| s.0.as_slice())
            .collect();
        let codec = SessionCodec::new(&secret.0, &previous);
        let local = LocalProviders::new(
            &config.providers,
            &public_url,
            &secret.0,
            &previous,
            running.map(|running| &*running.local),
        )
        .context("setting up the local providers")?;
        let cookies = CookieSettings {
            name: config.session.cookie_name.clone(),
            secure: config.server.public_url.scheme() == "https",
            lifetime: config.session.lifetime,
            domain: config.session.cookie_domain.clone(),
        };
        let needs = SessionNeeds::new(&config);
        let routes = RouteTable::new(config.upstreams.clone());
        let metrics = Arc::new(match running {
            Some(running) => running
                .metrics
                .relaid(routes.upstreams(), &config.providers),
            None => Metrics::new(routes.upstreams(), &config.providers),
        });
        let sessions = match running {
            Some(running) => carried_sessions(running, &config, &codec, &needs, &metrics)?,
            None => Arc::new(
                SessionStore::new(
                    &config,
                    codec.clone(),
                    needs.wants_id_token(),
                    Arc::clone(&metrics),
                )
                .context("connecting to the session store")?,
            ),
        };
        let same_redis = running.is_some_and(|r| r.config.session.redis == config.session.redis);
        let one_time = match running {
            Some(running) if same_redis => Arc::clone(&running.one_time),
            _ => Arc::new(OneTime::new(sessions.redis().cloned())),
        };
        let login_limit = match running {
            Some(running)
                if running.config.server.login_rate_limit == config.server.login_rate_limit =>
            {
                running.login_limit.clone()
            }
            _ => config
                .server
                .login_rate_limit
                .map(|per_minute| Arc::new(FailureLimit::new(per_minute, Duration::from_secs(60)))),
        };
        // `[telemetry]` is read at start-up: a reload keeps the running tracer and exporter.
        let tracer = match running {
            Some(running) => running.tracer.clone(),
            None => config
                .telemetry
                .as_ref()
                .map(|telemetry| Tracer::start(telemetry, &config.server.trusted_proxies))
                .transpose()
                .context("starting the trace exporter")?,
        };
        Ok(AppState(Arc::new(Inner {
            one_time,
            login_limit,
            sessions,
            needs,
            flights: running.map_or_else(Arc::default, |running| Arc::clone(&running.flights)),
            routes,
            metrics,
            tracer,
            upstream: running.map_or_else(
                || UpstreamClient::for_upstreams(&config.upstreams),
                |running| running.upstream.successor(&config.upstreams),
            ),
            public_url,
            providers: ProviderRegistry::new(providers),
            session_secret: secret,
            codec,
            cookies,
            pages,
            dev,
            local: Arc::new(local),
            config,
        })))
    }
}

/// The session store after a reload: the running one when nothing it is made from changed
/// (so the sessions it opened stay opened), else a new one on the running Redis connection
/// when the Redis settings are unchanged, keeping the in-memory revocations.
fn carried_sessions(
    running: &AppState,
    config: &Config,
    codec: &SessionCodec,
    needs: &SessionNeeds,
    metrics: &Arc<Metrics>,
) -> anyhow::Result<Arc<SessionStore>> {
    let wants_id_token = needs.wants_id_token();
    // Equal `[session]`s have equal secrets (an ephemeral one is carried over).
    if running.config.session == config.session && running.needs.wants_id_token() == wants_id_token
    {
        return Ok(Arc::clone(&running.sessions));
    }
    let redis = match (&config.session.redis, running.sessions.redis()) {
        (Some(settings), Some(redis))
            if running.config.session.redis.as_ref() == Some(settings) =>
        {
            Some(redis.clone())
        }
        (Some(settings), _) => Some(
            crate::redis::Redis::connect(settings, Arc::clone(metrics))
                .context("connecting to the session store")?,
        ),
        (None, _) => None,
    };
    Ok(Arc::new(SessionStore::succeeding(
        config,
        codec.clone(),
        wants_id_token,
        redis,
        &running.sessions,
    )))
}

/// The secret when `session.secret` is not set (only allowed with the dev provider).
fn ephemeral_secret() -> SessionSecret {
    tracing::warn!("session.secret is not set: using an ephemeral secret (only allowed with the dev provider); sessions end when the gateway restarts");
    let mut ephemeral = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut ephemeral);
    SessionSecret(ephemeral.to_vec())
}

/// The page templates, for handlers and middleware that render and need nothing else (the
/// error renderer).
impl FromRef<AppState> for Arc<Pages> {
    fn from_ref(state: &AppState) -> Arc<Pages> {
        Arc::clone(&state.pages)
    }
}
