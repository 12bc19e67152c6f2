//! `[server]` keys that bound what client connections may hold: `header_timeout`,
//! `keepalive_timeout`, `shutdown_timeout`, `max_connections` and
//! `max_connections_per_client`.

use std::time::Duration;

use toml::Spanned;

use super::super::Checker;
use crate::config::raw::RawServer;
use crate::config::ConnectionSettings;

/// nginx's `client_header_timeout` is 60s; a person's browser sends a whole head at once, so
/// a request head that takes longer than this is someone holding the connection on purpose.
pub(crate) const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// nginx's `keepalive_timeout` is 75s, browsers keep idle connections for 60s to 300s.
pub(crate) const DEFAULT_KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(60);
/// Kubernetes gives a pod 30s between SIGTERM and SIGKILL (`terminationGracePeriodSeconds`),
/// systemd 90s (`TimeoutStopSec`): requests still running after 30s are cut off, so that the
/// gateway exits on its own before either kills it.
pub(crate) const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(30);

impl Checker<'_, '_> {
    pub(super) fn connections(&mut self, raw: &RawServer) -> Option<ConnectionSettings> {
        let header_timeout = self.optional(
            raw.header_timeout.as_ref(),
            "server.header_timeout",
            |this, text, key| this.duration(&text, key),
        );
        let keepalive_timeout = self.optional(
            raw.keepalive_timeout.as_ref(),
            "server.keepalive_timeout",
            |this, text, key| this.duration(&text, key),
        );
        let shutdown_timeout = self.optional(
            raw.shutdown_timeout.as_ref(),
            "server.shutdown_timeout",
            |this, text, key| this.duration(&text, key),
        );
        let max_connections =
            self.connection_count(raw.max_connections.as_ref(), "server.max_connections");
        let max_connections_per_client = self.connection_count(
            raw.max_connections_per_client.as_ref(),
            "server.max_connections_per_client",
        );
        Some(ConnectionSettings {
            header_timeout: header_timeout?.unwrap_or(DEFAULT_HEADER_TIMEOUT),
            keepalive_timeout: keepalive_timeout?.unwrap_or(DEFAULT_KEEPALIVE_TIMEOUT),
            shutdown_timeout: shutdown_timeout?.unwrap_or(DEFAULT_SHUTDOWN_TIMEOUT),
            max_connections: max_connections?,
            max_connections_per_client: max_connections_per_client?,
        })
    }

    /// `Some(None)` when absent, `Some(Some(n))` for a whole number of at least 1.
    fn connection_count(&mut self, raw: Option<&Spanned<i64>>, key: &str) -> Option<Option<usize>> {
        let Some(raw) = raw else {
            return Some(None);
        };
        match usize::try_from(*raw.get_ref()) {
            Ok(count) if count >= 1 => Some(Some(count)),
            _ => {
                self.error(
                    raw.span().start,
                    key,
                    format!(
                        "`{}` is not a number of connections: write a whole number of at least 1, \
                         or leave the key out to derive it from the descriptor limit",
                        raw.get_ref()
                    ),
                );
                None
            }
        }
    }
}

#[cfg(test)]
mod tests;
