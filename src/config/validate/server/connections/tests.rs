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
            shutdown_timeout: Duration::from_secs(30),
            max_connections: None,
            max_connections_per_client: None,
        }
    );
    let given = parse(
        "header_timeout = \"5s\"\nkeepalive_timeout = \"2m\"\nshutdown_timeout = \"3s\"\n\
             max_connections = 500\nmax_connections_per_client = 20",
    )
    .unwrap();
    assert_eq!(
        given,
        ConnectionSettings {
            header_timeout: Duration::from_secs(5),
            keepalive_timeout: Duration::from_secs(120),
            shutdown_timeout: Duration::from_secs(3),
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
            "shutdown_timeout = \"later\"",
            "server.shutdown_timeout",
            20,
            "not a duration",
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
