//! `[server]` keys that bound what client connections may hold: `header_timeout`,
//! `keepalive_timeout`, `max_connections` and `max_connections_per_client`.

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
        let max_connections =
            self.connection_count(raw.max_connections.as_ref(), "server.max_connections");
        let max_connections_per_client = self.connection_count(
            raw.max_connections_per_client.as_ref(),
            "server.max_connections_per_client",
        );
        Some(ConnectionSettings {
            header_timeout: header_timeout?.unwrap_or(DEFAULT_HEADER_TIMEOUT),
            keepalive_timeout: keepalive_timeout?.unwrap_or(DEFAULT_KEEPALIVE_TIMEOUT),
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
mod tests {
    use std::time::Duration;

    use crate::config::{Config, ConnectionSettings};

    const SOURCE: &str = r#"[server]
listen = "127.0.0.1:4180"
public_url = "https://auth.example.com"
{server}

[session]
secret = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

[[provider]]
id = "corp"
kind = "oidc"
issuer = "https://sso.example.com"
client_id = "portcullis"
client_secret = "not-a-real-secret"

[authorize]
email_domains = ["example.com"]

[[upstream]]
path = "/"
url = "http://127.0.0.1:8080"
"#;

    fn parse(server: &str) -> Result<ConnectionSettings, Vec<(String, usize, usize, String)>> {
        let source = SOURCE.replace("{server}", server);
        Config::parse(&source, "providers.toml", &|_| None)
            .map(|config| config.server.connections)
            .map_err(|errors| {
                errors
                    .0
                    .into_iter()
                    .map(|e| (e.key, e.line, e.column, e.message))
                    .collect()
            })
    }

    #[test]
    fn connection_keys_default_and_parse() {
        assert_eq!(
            parse("").unwrap(),
            ConnectionSettings {
                header_timeout: Duration::from_secs(10),
                keepalive_timeout: Duration::from_secs(60),
                max_connections: None,
                max_connections_per_client: None,
            }
        );
        let given = parse(
            "header_timeout = \"5s\"\nkeepalive_timeout = \"2m\"\nmax_connections = 500\n\
             max_connections_per_client = 20",
        )
        .unwrap();
        assert_eq!(
            given,
            ConnectionSettings {
                header_timeout: Duration::from_secs(5),
                keepalive_timeout: Duration::from_secs(120),
                max_connections: Some(500),
                max_connections_per_client: Some(20),
            }
        );
    }

    #[test]
    fn every_bad_connection_value_is_reported_with_its_position() {
        let cases = [
            (
                "header_timeout = \"soon\"",
                "server.header_timeout",
                18,
                "not a duration",
            ),
            (
                "keepalive_timeout = \"0s\"",
                "server.keepalive_timeout",
                21,
                "longer than zero",
            ),
            (
                "max_connections = 0",
                "server.max_connections",
                19,
                "at least 1",
            ),
            (
                "max_connections = -5",
                "server.max_connections",
                19,
                "at least 1",
            ),
            (
                "max_connections = \"100\"",
                "server.max_connections",
                19,
                "invalid type",
            ),
            (
                "max_connections_per_client = 0",
                "server.max_connections_per_client",
                30,
                "at least 1",
            ),
        ];
        for (line, key, column, fragment) in cases {
            let errors = parse(line).unwrap_err();
            assert_eq!(errors.len(), 1, "{line}: {errors:?}");
            let (found_key, found_line, found_column, message) = &errors[0];
            assert_eq!(
                (found_key.as_str(), *found_line, *found_column),
                (key, 4, column),
                "{line}: {message}"
            );
            assert!(message.contains(fragment), "{line}: {message}");
        }
    }
}
