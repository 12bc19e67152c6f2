//! Building and running the gateway: shared state, the router, the listener.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::Router;
use rand::RngCore;

use crate::config::{Config, ProviderKind};
use crate::error::AppError;
use crate::pages::Pages;
use crate::providers::dev::DevProvider;
use crate::providers::oidc::ProviderSettings;
use crate::providers::{
    logo_for, oauth2_provider, provider_http_client, OidcProvider, Provider, ProviderRegistry,
};
use crate::proxy::{RouteTable, UpstreamClient};
use crate::server::ConnectionLimits;
use crate::session::{CookieSettings, SessionCodec};
use crate::{flow, forward_auth, gate};

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
    pub consumed_flows: flow::ConsumedStates,
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
            consumed_flows: flow::ConsumedStates::new(),
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

/// Every route of the gateway. Middleware, from the outside in: the request log (request id,
/// one line per request), then error rendering (HTML or JSON with the request id); the
/// `/oauth2/*` pages also get the security headers.
pub fn router(state: AppState) -> Router {
    let mut oauth2 = Router::new()
        .route("/oauth2/sign_in", get(flow::sign_in))
        .route("/oauth2/start", get(flow::start))
        .route("/oauth2/callback/{provider}", get(flow::callback))
        .route("/oauth2/sign_out", get(flow::sign_out).post(flow::sign_out))
        .route("/oauth2/signed_out", get(flow::signed_out))
        .route("/oauth2/userinfo", get(flow::userinfo))
        .route("/oauth2/auth", any(forward_auth::auth))
        .route("/oauth2/static/{*path}", get(static_asset))
        .route("/oauth2/{*rest}", any(not_found));
    if let Some(dev) = &state.dev {
        oauth2 = oauth2.merge(Arc::clone(dev).router());
    }
    let oauth2 = oauth2.layer(middleware::map_response(security_headers));

    Router::new()
        .merge(oauth2)
        .route("/ping", get(ping))
        .route("/ready", get(ready))
        .fallback(gate::handle)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::error::render_errors,
        ))
        .layer(middleware::from_fn(crate::telemetry::request_log))
        .with_state(state)
}

/// Headers on every `/oauth2/*` answer: no framing, no referrer, no caching of pages that
/// carry personal data, a CSP that allows only the gateway's own styles and images.
async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

async fn static_asset(Path(path): Path<String>) -> Result<Response, AppError> {
    let (content_type, body) = crate::pages::static_asset(&path).ok_or(AppError::NoRoute)?;
    Ok(([(header::CONTENT_TYPE, content_type)], body).into_response())
}

async fn not_found() -> AppError {
    AppError::NoRoute
}

async fn ping() -> &'static str {
    "OK"
}

/// 200 when every provider is discovered; 503 otherwise.
async fn ready(State(state): State<AppState>) -> Response {
    let pending: Vec<&str> = state
        .providers
        .iter()
        .filter(|p| !p.is_ready())
        .map(|p| p.id())
        .collect();
    if pending.is_empty() {
        (StatusCode::OK, "ready").into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("waiting for providers: {}", pending.join(", ")),
        )
            .into_response()
    }
}

/// A bound, ready-to-run gateway.
pub struct Application {
    listener: tokio::net::TcpListener,
    state: AppState,
    limits: ConnectionLimits,
}

impl Application {
    /// Binds `server.listen` and builds the gateway.
    pub async fn build(config: Config) -> anyhow::Result<Application> {
        let listener = std::net::TcpListener::bind(config.server.listen)
            .with_context(|| format!("binding {}", config.server.listen))?;
        Application::with_listener(config, listener).await
    }

    /// Builds the gateway on an already bound listener (tests bind port 0 first to learn the
    /// port for `public_url`).
    pub async fn with_listener(
        config: Config,
        listener: std::net::TcpListener,
    ) -> anyhow::Result<Application> {
        listener.set_nonblocking(true)?;
        let listener = tokio::net::TcpListener::from_std(listener)?;
        let limits = connection_limits(&config);
        let state = AppState::new(config)?;
        Ok(Application {
            listener,
            state,
            limits,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)))
    }

    /// Serves until the process is asked to stop (Ctrl-C or SIGTERM), finishing in-flight
    /// requests first. Provider discovery starts here, in the background.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.run_until(shutdown_signal()).await
    }

    /// Serves until `stop` completes, then finishes in-flight requests and returns.
    pub async fn run_until(
        self,
        stop: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        self.state.providers.spawn_discovery();
        let server = &self.state.config.server;
        let settings = server.connections;
        let trusted_proxies = server.trusted_proxies.clone();
        let app = router(self.state);
        crate::server::serve(
            self.listener,
            app,
            settings,
            self.limits,
            trusted_proxies,
            stop,
        )
        .await
    }
}

/// `server.max_connections` and `max_connections_per_client`, or the defaults the descriptor
/// limit allows; logged, with a warning when the configured bound needs more descriptors
/// than the process may open.
fn connection_limits(config: &Config) -> ConnectionLimits {
    let settings = &config.server.connections;
    let descriptors = crate::server::descriptor_limit();
    let limits = ConnectionLimits::new(
        settings.max_connections,
        settings.max_connections_per_client,
        descriptors.unwrap_or(1024),
    );
    tracing::info!(
        max_connections = limits.max_connections,
        max_connections_per_client = limits.max_connections_per_client,
        descriptor_limit = descriptors,
        "client connection bounds"
    );
    if let Some(descriptors) = descriptors {
        if limits.descriptors_needed() > descriptors {
            tracing::warn!(
                max_connections = limits.max_connections,
                descriptor_limit = descriptors,
                "server.max_connections needs about {} descriptors (two per proxied request) but \
                 the process may open {descriptors}: raise the hard limit (LimitNOFILE= in a \
                 systemd unit, ulimit -Hn) or lower server.max_connections",
                limits.descriptors_needed()
            );
        }
    }
    limits
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
