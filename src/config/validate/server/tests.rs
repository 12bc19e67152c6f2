use super::parse_redirect_host;
use crate::config::Config;

/// A whole file with the forward-auth keys of `[server]` and `[session]`; `{server}` and
/// `{domain}` are replaced by each test.
const FORWARD_AUTH: &str = r#"[server]
listen = "127.0.0.1:4180"
public_url = "https://auth.example.com"
{server}

[session]
secret = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
cookie_domain = {domain}

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

fn forward_auth_config(server: &str, domain: &str) -> String {
    FORWARD_AUTH
        .replace("{server}", server)
        .replace("{domain}", domain)
}

#[test]
fn forward_auth_keys_become_domain_values() {
    let source = forward_auth_config(
        "trusted_proxies = [\"127.0.0.1\", \"10.0.0.0/8\", \"::1\", \"127.0.0.1/32\"]\n\
             allowed_redirect_hosts = [\"app.example.com\", \".Example.org\"]",
        "\".Example.com\"",
    );
    let config = Config::parse(&source, "providers.toml", &|_| None).unwrap();
    let proxies: Vec<String> = config
        .server
        .trusted_proxies
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(proxies, ["127.0.0.1/32", "10.0.0.0/8", "::1/128"]);
    assert_eq!(
        config.server.allowed_redirect_hosts,
        ["app.example.com", ".example.org"]
    );
    assert_eq!(config.session.cookie_domain.as_deref(), Some("example.com"));
}

#[test]
fn forward_auth_keys_default_to_nothing_trusted() {
    let source = FORWARD_AUTH
        .replace("{server}", "")
        .replace("cookie_domain = {domain}", "");
    let config = Config::parse(&source, "providers.toml", &|_| None).unwrap();
    assert!(config.server.trusted_proxies.is_empty());
    assert!(config.server.allowed_redirect_hosts.is_empty());
    assert_eq!(config.session.cookie_domain, None);
}

/// `(key, where the value starts, a fragment of the message)` for each expected problem.
fn assert_problems(source: &str, expected: &[(&str, &str, &str)]) {
    let errors = Config::parse(source, "providers.toml", &|_| None)
        .unwrap_err()
        .0;
    let position = |needle: &str| {
        let offset = source.find(needle).unwrap();
        let line = source[..offset].matches('\n').count() + 1;
        let line_start = source[..offset].rfind('\n').map_or(0, |i| i + 1);
        (line, offset - line_start + 1)
    };
    assert_eq!(errors.len(), expected.len(), "{errors:#?}");
    for (error, (key, needle, fragment)) in errors.iter().zip(expected) {
        assert_eq!(error.key, *key, "{error:?}");
        assert_eq!((error.line, error.column), position(needle), "{error:?}");
        assert!(error.message.contains(fragment), "{error:?}");
    }
}

#[test]
fn every_bad_forward_auth_value_is_reported_with_its_position() {
    let source = forward_auth_config(
        "trusted_proxies = [\"127.0.0.1\", \"10.0.0.1/8\", \"proxy.internal\"]\n\
             allowed_redirect_hosts = [\"*.example.com\", \"https://app.example.com\"]",
        "\"*.example.com\"",
    );
    assert_problems(
        &source,
        &[
            (
                "server.trusted_proxies[1]",
                "\"10.0.0.1/8\"",
                "write `10.0.0.0/8`",
            ),
            (
                "server.trusted_proxies[2]",
                "\"proxy.internal\"",
                "not an IP address",
            ),
            (
                "server.allowed_redirect_hosts[0]",
                "\"*.example.com\"",
                "wildcards",
            ),
            (
                "server.allowed_redirect_hosts[1]",
                "\"https://app",
                "not a host name",
            ),
            (
                "session.cookie_domain",
                "\"*.example.com\"\n",
                "not a domain name",
            ),
        ],
    );
}

#[test]
fn the_cookie_domain_must_cover_the_public_url() {
    for domain in [
        "\"example.org\"",
        "\"evil-example.com\"",
        "\"sso.example.com\"",
    ] {
        assert_problems(
            &forward_auth_config("", domain),
            &[("session.cookie_domain", domain, "is not within")],
        );
    }
    let on_an_ip = forward_auth_config("", "\"example.com\"")
        .replace("https://auth.example.com", "https://127.0.0.1");
    assert_problems(
        &on_an_ip,
        &[(
            "session.cookie_domain",
            "\"example.com\"",
            "not an IP address",
        )],
    );
}

#[test]
fn redirect_hosts_are_host_names_with_an_optional_leading_dot() {
    let cases = [
        ("app.example.com", Some("app.example.com")),
        ("App.Example.COM", Some("app.example.com")),
        (".example.com", Some(".example.com")),
        (" .example.com ", Some(".example.com")),
        ("localhost", Some("localhost")),
        ("127.0.0.1", Some("127.0.0.1")),
        ("[::1]", Some("[::1]")),
        ("bücher.example", Some("xn--bcher-kva.example")),
        ("*.example.com", None),
        ("*", None),
        ("", None),
        (".", None),
        ("..example.com", None),
        ("example.com.", None),
        (".127.0.0.1", None),
        ("https://app.example.com", None),
        ("app.example.com:8443", None),
        ("app.example.com/", None),
        ("user@app.example.com", None),
        ("app example.com", None),
        ("[::1", None),
    ];
    for (value, expected) in cases {
        assert_eq!(
            parse_redirect_host(value).ok().as_deref(),
            expected,
            "{value:?}"
        );
    }
}

#[test]
fn login_rate_limit_defaults_to_600_a_minute_and_0_turns_it_off() {
    let parse = |server: &str| {
        let source = FORWARD_AUTH
            .replace("{server}", server)
            .replace("cookie_domain = {domain}", "");
        Config::parse(&source, "providers.toml", &|_| None)
            .map(|config| config.server.login_rate_limit)
    };
    assert_eq!(parse("").unwrap(), Some(600));
    assert_eq!(parse("login_rate_limit = 30").unwrap(), Some(30));
    assert_eq!(parse("login_rate_limit = 0").unwrap(), None);
    for (value, fragment) in [
        ("-1", "not a number of requests"),
        ("\"lots\"", "invalid type"),
    ] {
        let errors = parse(&format!("login_rate_limit = {value}")).unwrap_err();
        let error = errors
            .0
            .iter()
            .find(|error| error.key == "server.login_rate_limit")
            .unwrap_or_else(|| panic!("no error for {value}: {errors:?}"));
        assert_eq!((error.line, error.column), (4, 20), "{error:?}");
        assert!(error.message.contains(fragment), "{}", error.message);
    }
}

#[test]
fn metrics_listen_is_an_address_of_its_own() {
    let parse = |server: &str| {
        let source = FORWARD_AUTH
            .replace("{server}", server)
            .replace("cookie_domain = {domain}", "");
        Config::parse(&source, "providers.toml", &|_| None)
            .map(|config| config.server.metrics_listen)
    };
    assert_eq!(parse("").unwrap(), None, "/metrics on `listen` by default");
    assert_eq!(
        parse("metrics_listen = \"127.0.0.1:9090\"").unwrap(),
        Some("127.0.0.1:9090".parse().unwrap())
    );
    assert_eq!(
        parse("metrics_listen = \"[::1]:0\"").unwrap(),
        Some("[::1]:0".parse().unwrap())
    );
    for (value, fragment) in [
        ("\"localhost:9090\"", "not a socket address"),
        ("\"127.0.0.1\"", "not a socket address"),
        ("\"127.0.0.1:4180\"", "is `listen` itself"),
        ("9090", "invalid type"),
    ] {
        let errors = parse(&format!("metrics_listen = {value}")).unwrap_err();
        let error = errors
            .0
            .iter()
            .find(|error| error.key == "server.metrics_listen")
            .unwrap_or_else(|| panic!("no error for {value}: {errors:?}"));
        assert_eq!((error.line, error.column), (4, 18), "{error:?}");
        assert!(error.message.contains(fragment), "{}", error.message);
    }
}
