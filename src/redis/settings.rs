//! Turns the validated `[session]` Redis settings into the `fred` client's configuration:
//! which servers (one, a Sentinel service, or a Cluster's seed nodes), TLS for `rediss://`,
//! credentials, and the time bounds and reconnection policy of DESIGN.md §6.

use std::time::Duration;

use fred::types::config::{
    ClusterDiscoveryPolicy, Config, ConnectionConfig, PerformanceConfig, ReconnectPolicy,
    ServerConfig, UnresponsiveConfig,
};
use fred::types::Builder;

use crate::config::RedisConfig;

/// Reconnection back-off: from 50 ms, doubling, capped at 5 s, retried forever.
const RECONNECT_MIN_DELAY_MS: u32 = 50;
const RECONNECT_MAX_DELAY_MS: u32 = 5_000;

/// A client builder for `config`, not yet connected.
pub(super) fn builder(config: &RedisConfig) -> Result<Builder, UrlProblem> {
    let client_config = client_config(config)?;
    let timeout = config.timeout;
    let mut builder = Builder::from_config(client_config);
    builder
        .with_connection_config(|connection: &mut ConnectionConfig| {
            connection.connection_timeout = timeout;
            connection.internal_command_timeout = timeout;
            // A command is sent once: a retry after a reconnection could outlive the caller's
            // bound and run a SET the caller already reported as failed.
            connection.max_command_attempts = 1;
            // A server that stops answering on an open connection is dropped and redialled.
            connection.unresponsive = UnresponsiveConfig {
                max_timeout: Some(timeout),
                interval: unresponsive_interval(timeout),
            };
        })
        .with_performance_config(|performance: &mut PerformanceConfig| {
            performance.default_command_timeout = timeout;
        })
        .set_policy(ReconnectPolicy::new_exponential(
            0,
            RECONNECT_MIN_DELAY_MS,
            RECONNECT_MAX_DELAY_MS,
            2,
        ));
    Ok(builder)
}

/// How often the unresponsive-connection check runs: a quarter of the timeout, 100 ms to 1 s.
fn unresponsive_interval(timeout: Duration) -> Duration {
    (timeout / 4).clamp(Duration::from_millis(100), Duration::from_secs(1))
}

/// The server part of the configuration, from the URL forms `src/config` accepts.
pub(super) fn client_config(config: &RedisConfig) -> Result<Config, UrlProblem> {
    let first = config.urls.first().ok_or(UrlProblem::NoUrl)?;
    if config.cluster {
        let mut base = centralized(first)?;
        let mut hosts = Vec::new();
        for url in &config.urls {
            match centralized(url)?.server {
                ServerConfig::Centralized { server } => hosts.push(server),
                _ => return Err(UrlProblem::NotANode),
            }
        }
        base.server = ServerConfig::Clustered {
            hosts,
            policy: ClusterDiscoveryPolicy::default(),
        };
        Ok(base)
    } else if let Some(plain_scheme) = sentinel_scheme(first) {
        sentinel(first, plain_scheme)
    } else {
        centralized(first)
    }
}

/// `redis://` or `rediss://` for one server (credentials, database, TLS from the URL).
fn centralized(url: &str) -> Result<Config, UrlProblem> {
    Config::from_url_centralized(url).map_err(UrlProblem::Client)
}

/// The scheme of the Redis servers behind a `redis+sentinel://` / `rediss+sentinel://` URL.
fn sentinel_scheme(url: &str) -> Option<&'static str> {
    if url.starts_with("redis+sentinel://") {
        Some("redis")
    } else if url.starts_with("rediss+sentinel://") {
        Some("rediss")
    } else {
        None
    }
}

/// `redis+sentinel://[user:password@]host:26379/service[/database]`: the host is a Sentinel,
/// the path names the monitored service; the credentials serve both.
fn sentinel(text: &str, plain_scheme: &str) -> Result<Config, UrlProblem> {
    let mut url = url::Url::parse(text).map_err(UrlProblem::Url)?;
    let path = url.path().trim_matches('/').to_owned();
    let (service, database) = match path.split_once('/') {
        Some((service, database)) => (service.to_owned(), Some(database.to_owned())),
        None => (path, None),
    };
    if service.is_empty() {
        return Err(UrlProblem::NoService);
    }
    url.set_scheme(plain_scheme)
        .map_err(|()| UrlProblem::NoService)?;
    url.set_path(&database.map_or_else(|| "/".to_owned(), |db| format!("/{db}")));
    let mut config = centralized(url.as_str())?;
    let ServerConfig::Centralized { server } = config.server else {
        return Err(UrlProblem::NoService);
    };
    config.server = ServerConfig::Sentinel {
        hosts: vec![server],
        service_name: service,
    };
    Ok(config)
}

/// Why a configured Redis URL cannot be used (the URL itself is never quoted: it may hold a
/// password).
#[derive(Debug, thiserror::Error)]
pub(crate) enum UrlProblem {
    #[error("no Redis URL is configured")]
    NoUrl,
    #[error("a cluster node is not a plain redis:// or rediss:// URL")]
    NotANode,
    #[error("a Sentinel URL names no service, like redis+sentinel://host:26379/mymaster")]
    NoService,
    #[error("the URL does not parse")]
    Url(#[source] url::ParseError),
    #[error("the Redis client rejects the URL")]
    Client(#[source] fred::error::Error),
}
