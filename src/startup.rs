//! The top of the gateway: the router (`routes`: every route in one function, the middleware
//! order commented), the service every connection answers with (`app`: the router, with a
//! shortcut to the gate; `live`: the one in effect, which a reload swaps), hot reload
//! (`reload`) and the listener ([`Application`]). Nothing imports this module; the shared
//! state it hands to the handlers lives in `crate::state`.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use futures::FutureExt as _;

use crate::config::Config;
use crate::server::{ConnectionLimits, Transport};
use crate::state::AppState;
use crate::tls::ServerCertificate;

mod app;
mod hint;
mod live;
mod reload;
mod routes;

pub use reload::{ConfigSource, ReloadError, Reloader};

/// Connections `server.metrics_listen` serves at once (each scraper holds one or two).
const METRICS_CONNECTIONS: usize = 64;

/// A bound, ready-to-run gateway.
pub struct Application {
    listener: std::net::TcpListener,
    /// `server.metrics_listen`, bound.
    metrics_listener: Option<std::net::TcpListener>,
    live: live::Live,
    /// Where a reload reads the configuration; `None`: no reloads.
    source: Option<ConfigSource>,
    limits: ConnectionLimits,
    threads: usize,
    /// `server.tls`: the listener's certificate, swapped by a reload.
    certificate: Option<ServerCertificate>,
}

impl Application {
    /// Binds `server.listen` and builds the gateway.
    pub async fn build(config: Config) -> anyhow::Result<Application> {
        let listener = std::net::TcpListener::bind(config.server.listen)
            .with_context(|| format!("binding {}", config.server.listen))?;
        Application::with_listener(config, listener).await
    }

    /// Builds the gateway on an already bound listener (tests bind port 0 first to learn the
    /// port for `public_url`); binds `server.metrics_listen` when set.
    pub async fn with_listener(
        config: Config,
        listener: std::net::TcpListener,
    ) -> anyhow::Result<Application> {
        let metrics_listener = config
            .server
            .metrics_listen
            .map(|address| {
                std::net::TcpListener::bind(address)
                    .with_context(|| format!("binding server.metrics_listen {address}"))
            })
            .transpose()?;
        let limits = connection_limits(&config);
        let certificate = config.server.tls.clone().map(ServerCertificate::new);
        let state = AppState::new(config)?;
        Ok(Application {
            listener,
            metrics_listener,
            live: live::Live::new(state),
            source: None,
            limits,
            threads: 1,
            certificate,
        })
    }

    /// Reloads from `source` on SIGHUP and when it (or a file it names) changes, once
    /// running (DESIGN §11, `reload`).
    #[must_use]
    pub fn reloading_from(mut self, source: ConfigSource) -> Application {
        self.source = Some(source);
        self
    }

    /// Reloads on demand, from the source given to [`Application::reloading_from`].
    pub fn reloader(&self) -> Option<Reloader> {
        self.source
            .clone()
            .map(|source| Reloader::new(self.live.clone(), source, self.certificate.clone()))
    }

    /// Serves on `threads` event loops: the runtime that runs the gateway and `threads - 1`
    /// threads with a single-threaded runtime each (see `crate::server::serve`). The default
    /// is 1: the calling runtime alone.
    #[must_use]
    pub fn with_threads(mut self, threads: usize) -> Application {
        self.threads = threads.max(1);
        self
    }

    /// The listener's certificate when `server.tls` is set: a handle whose
    /// [`ServerCertificate::reload`] re-reads the files for every new handshake (hot reload).
    pub fn tls_certificate(&self) -> Option<ServerCertificate> {
        self.certificate.clone()
    }

    /// The line that tells a newcomer where to sign in: the page to open at `public_url`
    /// and what to choose there (see `hint`).
    pub fn sign_in_hint(&self) -> String {
        hint::sign_in_hint(&self.live.state())
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)))
    }

    /// Where `/metrics` is served when `server.metrics_listen` is set (the bound port, when
    /// the configuration asked for port 0).
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_listener
            .as_ref()
            .and_then(|listener| listener.local_addr().ok())
    }

    /// Serves until the process is asked to stop (Ctrl-C or SIGTERM), finishing in-flight
    /// requests first. Provider discovery starts here, in the background.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.run_until(shutdown_signal()).await
    }

    /// Serves until `stop` completes, then finishes in-flight requests and returns; the same
    /// for `server.metrics_listen`, on the calling runtime.
    pub async fn run_until(
        self,
        stop: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        // Discovery's provider calls are traced, each call a trace of its own.
        let state = self.live.state();
        crate::telemetry::trace::with_tracer(state.tracer.as_ref(), || {
            state.providers.spawn_discovery();
        });
        state.local.spawn_watch();
        let server = &state.config.server;
        let settings = server.connections;
        let trusted_proxies = server.trusted_proxies.clone();
        let tracer = state.tracer.clone();
        let transport = transport(self.certificate.as_ref(), &server.public_url);
        let stop = stop.boxed().shared();
        if let Some(reloader) = self.reloader() {
            reload::spawn_watch(reloader, stop.clone());
        }
        let gateway = crate::server::serve(
            self.listener,
            self.live.clone(),
            settings,
            self.limits,
            trusted_proxies,
            transport,
            self.threads,
            stop.clone(),
        );
        let live = self.live.clone();
        let Some(metrics_listener) = self.metrics_listener else {
            let served = gateway.await;
            flush_traces(tracer.as_ref()).await;
            return served;
        };
        let limits = ConnectionLimits {
            max_connections: METRICS_CONNECTIONS,
            max_connections_per_client: METRICS_CONNECTIONS,
        };
        let scrapes = crate::server::serve(
            metrics_listener,
            routes::metrics_router(move || Arc::clone(&live.state().metrics)),
            settings,
            limits,
            Vec::new(),
            Transport::default(),
            1,
            stop,
        );
        let (gateway, scrapes) = tokio::join!(gateway, scrapes);
        flush_traces(tracer.as_ref()).await;
        gateway.and(scrapes)
    }
}

/// Sends the spans still queued before the process exits, 5 s at most.
async fn flush_traces(tracer: Option<&crate::telemetry::trace::Tracer>) {
    if let Some(tracer) = tracer {
        tracer.flush(std::time::Duration::from_secs(5)).await;
    }
}

/// The main listener's TLS (`server.tls`) and HSTS: `max-age` one year (RFC 6797 §6.1,
/// what the HSTS preload list asks for) when the public URL is https, without
/// `includeSubDomains`, which would bind hosts the gateway does not serve. `/metrics` on
/// `server.metrics_listen` is plain HTTP without HSTS.
fn transport(certificate: Option<&ServerCertificate>, public_url: &url::Url) -> Transport {
    Transport {
        tls: certificate
            .map(|certificate| tokio_rustls::TlsAcceptor::from(certificate.server_config())),
        hsts: (public_url.scheme() == "https")
            .then(|| axum::http::HeaderValue::from_static("max-age=31536000")),
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
