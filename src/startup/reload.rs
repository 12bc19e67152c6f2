//! Hot reload (DESIGN §11): on SIGHUP, or when the configuration file or a file it names
//! changes (what is watched, and how, is `reload/watch.rs`), the file is read, parsed and
//! validated in full by the code `portcullis check` runs, the new state is built beside the
//! running one (`AppState::successor` says what is rebuilt and what is kept), and only then
//! swapped in (`super::live`). Any problem keeps the running configuration: each is logged with its
//! file, line and column, and the reload is counted as failed.
//!
//! What the listeners were started with cannot change without a restart (`server.listen`,
//! `metrics_listen`, the connection timeouts and bounds): a reload that changes them is
//! taken for everything else, with a warning naming each.

mod watch;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use crate::config::{Config, ConfigErrors};
use crate::error_chain::error_chain;
use crate::state::AppState;
use crate::tls::ServerCertificate;

use super::live::Live;

/// How long a reload waits for the discovery of a provider that is new or has a new issuer
/// before the new configuration takes over anyway (discovery then goes on in the
/// background, as at start-up).
const DISCOVERY_WAIT: Duration = Duration::from_secs(2);

/// How `${VAR}` is resolved.
type EnvLookup = dyn Fn(&str) -> Option<String> + Send + Sync;

/// Where the configuration comes from: its file, and how `${VAR}` is resolved.
#[derive(Clone)]
pub struct ConfigSource {
    path: PathBuf,
    env: Arc<EnvLookup>,
}

impl std::fmt::Debug for ConfigSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConfigSource")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl ConfigSource {
    /// The file at `path`, `${VAR}` from the process environment (as [`Config::load`]).
    pub fn file(path: impl Into<PathBuf>) -> ConfigSource {
        ConfigSource {
            path: path.into(),
            env: Arc::new(|name| std::env::var(name).ok()),
        }
    }

    /// `${VAR}` resolved by `env` instead (tests).
    #[must_use]
    pub fn with_env(
        mut self,
        env: impl Fn(&str) -> Option<String> + Send + Sync + 'static,
    ) -> ConfigSource {
        self.env = Arc::new(env);
        self
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads and validates the file, as `portcullis check` does.
    fn load(&self) -> Result<Config, ConfigErrors> {
        let file = self.path.display().to_string();
        let source = std::fs::read_to_string(&self.path)
            .map_err(|err| ConfigErrors::single(crate::config::ConfigError::io(&file, &err)))?;
        Config::parse(&source, &file, &*self.env)
    }
}

/// Why a reload was refused; the running configuration stays.
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    /// The file has problems, each with its file, line and column.
    #[error("the configuration has {} problem(s)", .0.0.len())]
    Config(ConfigErrors),
    /// The file is valid, but the gateway could not be built from it.
    #[error("the gateway could not be built from the configuration")]
    Build(#[source] anyhow::Error),
}

/// Reloads the configuration on demand; one reload at a time.
#[derive(Clone)]
pub struct Reloader {
    live: Live,
    source: ConfigSource,
    one_at_a_time: Arc<tokio::sync::Mutex<()>>,
    /// The watched files as the last reload (or the start) found them.
    seen: Arc<Mutex<Vec<watch::Seen>>>,
    /// The listener's certificate (`server.tls`), replaced by each reload taken.
    certificate: Option<ServerCertificate>,
}

impl std::fmt::Debug for Reloader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reloader")
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

impl Reloader {
    pub(crate) fn new(
        live: Live,
        source: ConfigSource,
        certificate: Option<ServerCertificate>,
    ) -> Reloader {
        let reloader = Reloader {
            live,
            source,
            one_at_a_time: Arc::default(),
            seen: Arc::default(),
            certificate,
        };
        reloader.note_files();
        reloader
    }

    /// Reads the file again and puts it in effect, or keeps the running configuration and
    /// says why. Logged and counted (`portcullis_config_reloads_total`) either way.
    pub async fn reload(&self) -> Result<(), ReloadError> {
        let _one = self.one_at_a_time.lock().await;
        self.reload_now().await
    }

    /// Whether a watched file is not as the last reload found it.
    fn files_changed(&self) -> bool {
        watch::look(&self.watched()) != *self.seen.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records how the watched files are now.
    fn note_files(&self) {
        *self.seen.lock().unwrap_or_else(PoisonError::into_inner) = watch::look(&self.watched());
    }

    /// [`Reloader::reload`] when a watched file changed since the last reload (which may
    /// have been asked for otherwise in the meantime); `None` when none did.
    async fn reload_if_changed(&self) -> Option<Result<(), ReloadError>> {
        let _one = self.one_at_a_time.lock().await;
        if !self.files_changed() {
            return None;
        }
        Some(self.reload_now().await)
    }

    async fn reload_now(&self) -> Result<(), ReloadError> {
        self.note_files();
        let running = self.live.state();
        let outcome = self.build(&running).await;
        match outcome {
            Ok(next) => {
                warn_about_restart(&running.config, &next.config);
                next.metrics.config_reloaded(true);
                // Validation read the certificate and key again: new handshakes take them.
                if let (Some(certificate), Some(tls)) = (&self.certificate, &next.config.server.tls)
                {
                    certificate.replace(tls.clone());
                }
                self.live.replace(next.clone());
                // The new configuration may name other files.
                self.note_files();
                crate::telemetry::trace::with_tracer(next.tracer.as_ref(), || {
                    next.providers.spawn_discovery();
                });
                next.local.spawn_watch();
                tracing::info!(file = %self.source.path.display(), "configuration reloaded");
                Ok(())
            }
            Err(error) => {
                running.metrics.config_reloaded(false);
                match &error {
                    ReloadError::Config(errors) => {
                        for problem in &errors.0 {
                            tracing::error!("{problem}");
                        }
                    }
                    ReloadError::Build(cause) => {
                        tracing::error!(error = %error_chain(cause.as_ref()), "{error}");
                    }
                }
                tracing::error!(
                    file = %self.source.path.display(),
                    "configuration reload refused ({error}): the running configuration stays"
                );
                Err(error)
            }
        }
    }

    /// The new state, built off the event loop (reading files, compiling templates and the
    /// local providers' dummy password hash are blocking work), its new providers
    /// discovered (within [`DISCOVERY_WAIT`]).
    async fn build(&self, running: &AppState) -> Result<AppState, ReloadError> {
        let source = self.source.clone();
        let running = running.clone();
        let next = tokio::task::spawn_blocking(move || {
            let config = source.load().map_err(ReloadError::Config)?;
            running.successor(config).map_err(ReloadError::Build)
        })
        .await
        .map_err(|err| ReloadError::Build(anyhow::Error::new(err)))??;
        let _ = tokio::time::timeout(DISCOVERY_WAIT, next.providers.discover_pending()).await;
        Ok(next)
    }

    /// The files whose change reloads: the configuration and those it names.
    fn watched(&self) -> Vec<PathBuf> {
        let config = self.live.state().config.clone();
        watch::named_files(&self.source.path, &config)
    }
}

/// Reloads on SIGHUP and on every change of the watched files (`reload/watch.rs`) until
/// `stop` completes.
pub(crate) fn spawn_watch(reloader: Reloader, stop: impl Future<Output = ()> + Send + 'static) {
    tokio::spawn(async move {
        tokio::select! {
            () = watch(&reloader) => {}
            () = stop => {}
        }
    });
}

async fn watch(reloader: &Reloader) {
    #[cfg(unix)]
    let mut hangups = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
        Ok(hangups) => Some(hangups),
        Err(error) => {
            tracing::warn!(%error, "SIGHUP cannot be received: reloads follow file changes only");
            None
        }
    };
    let mut ticks = tokio::time::interval(watch::POLL_EVERY);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        #[cfg(unix)]
        let hangup = async {
            match hangups.as_mut() {
                Some(hangups) => {
                    hangups.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let hangup = std::future::pending::<()>();
        let signalled = tokio::select! {
            () = hangup => true,
            _ = ticks.tick() => false,
        };
        if signalled {
            tracing::info!("SIGHUP: reloading the configuration");
            let _ = reloader.reload().await;
        } else if reloader.files_changed() {
            tokio::time::sleep(watch::SETTLE).await;
            tracing::info!("a configuration file changed: reloading the configuration");
            let _ = reloader.reload_if_changed().await;
        }
    }
}

/// A warning for each setting the listeners were started with that the new configuration
/// changes: they keep their start-up value until a restart.
fn warn_about_restart(running: &Config, next: &Config) {
    let (old, new) = (&running.server, &next.server);
    let mut changed = Vec::new();
    if old.listen != new.listen {
        changed.push("server.listen");
    }
    if old.metrics_listen != new.metrics_listen {
        changed.push("server.metrics_listen");
    }
    if old.connections != new.connections {
        changed.push(
            "server.header_timeout, keepalive_timeout, shutdown_timeout, max_connections or \
             max_connections_per_client",
        );
    }
    if old.tls.is_some() != new.tls.is_some() {
        changed.push("server.tls (turning TLS on or off; a new certificate is taken)");
    }
    if old.trusted_proxies != new.trusted_proxies {
        changed.push("server.trusted_proxies (for the connection bounds per client only)");
    }
    for setting in changed {
        tracing::warn!(
            "{setting} changed: it needs a restart to take effect; the start-up value stays \
             until then (everything else is reloaded)"
        );
    }
}

#[cfg(test)]
mod tests;
