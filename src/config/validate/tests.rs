//! Whole-file tests of `validate`: every rule with its position, several problems at once,
//! a full round trip, `${VAR}` substitution and the shipped `providers.toml`.

use secrecy::ExposeSecret as _;

use std::time::Duration;

use crate::config::{
    ClaimRule, ClaimValue, Config, ConfigErrors, HostPattern, ProviderKind, TokenEndpointAuth,
    UpstreamTarget,
};

/// A valid file; the bad-config table edits one line of it at a time. Lines:
/// 1 [server], 2 listen, 3 public_url, 5 [session], 6 secret, 8 [[provider]], 9 id, 10 kind,
/// 11 issuer, 12 client_id, 13 client_secret, 15 [authorize], 16 email_domains,
/// 18 [[upstream]], 19 path, 20 url.
const BASE: &str = r#"[server]
listen = "127.0.0.1:4180"
public_url = "https://auth.example.com"

[session]
secret = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

[[provider]]
id = "corp"
kind = "oidc"
issuer = "https://sso.example.com/realms/staff"
client_id = "portcullis"
client_secret = "${CLIENT_SECRET}"

[authorize]
email_domains = ["example.com"]

[[upstream]]
path = "/"
url = "http://127.0.0.1:8080"
"#;

fn env(name: &str) -> Option<String> {
    match name {
        "CLIENT_SECRET" => Some("client-secret-value".into()),
        "PORTCULLIS_SECRET" => Some("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8".into()),
        "ISSUER_HOST" => Some("sso.example.com".into()),
        _ => None,
    }
}

fn parse(source: &str) -> Result<Config, ConfigErrors> {
    Config::parse(source, "providers.toml", &env)
}

fn edit(edits: &[(&str, &str)]) -> String {
    let mut source = BASE.to_owned();
    for (from, to) in edits {
        assert!(source.contains(from), "BASE lacks {from:?}");
        source = source.replacen(from, to, 1);
    }
    source
}

#[test]
fn base_is_valid() {
    let config = parse(BASE).unwrap();
    assert_eq!(config.providers[0].id, "corp");
}

#[test]
fn bad_configs_are_reported_with_key_line_and_column() {
    struct Case {
        edits: &'static [(&'static str, &'static str)],
        key: &'static str,
        at: (usize, usize),
        fragment: &'static str,
    }
    const LISTEN: &str = r#"listen = "127.0.0.1:4180""#;
    const PUBLIC_URL: &str = r#"public_url = "https://auth.example.com""#;
    const SECRET: &str =
        r#"secret = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f""#;
    const ID: &str = r#"id = "corp""#;
    const KIND: &str = r#"kind = "oidc""#;
    const ISSUER: &str = r#"issuer = "https://sso.example.com/realms/staff""#;
    const CLIENT_SECRET: &str = r#"client_secret = "${CLIENT_SECRET}""#;
    const DOMAINS: &str = r#"email_domains = ["example.com"]"#;
    const PATH: &str = r#"path = "/""#;
    const URL: &str = r#"url = "http://127.0.0.1:8080""#;
    #[rustfmt::skip]
    let cases = [
        // Structure: unknown keys and wrong types.
        Case { edits: &[(LISTEN, "listen = \"127.0.0.1:4180\"\nlistn = 1")], key: "server.listn", at: (3, 1), fragment: "unknown key `listn`" },
        Case { edits: &[("[authorize]", "[metrics]\nenabled = true\n\n[authorize]")], key: "metrics", at: (15, 2), fragment: "unknown key `metrics`, expected one of `server`" },
        Case { edits: &[(LISTEN, "listen = 4180")], key: "server.listen", at: (2, 10), fragment: "expected a string" },
        Case { edits: &[("[server]", "[server]\nauto_redirect = \"yes\"")], key: "server.auto_redirect", at: (2, 17), fragment: "expected a boolean" },
        Case { edits: &[(URL, "url = \"http://127.0.0.1:8080\"\npublic = \"yes\"")], key: "upstream[0].public", at: (21, 10), fragment: "expected a boolean" },
        // [server]
        Case { edits: &[(LISTEN, "listen = \"localhost:4180\"")], key: "server.listen", at: (2, 10), fragment: "not a socket address" },
        Case { edits: &[(LISTEN, "")], key: "server.listen", at: (1, 1), fragment: "`listen` is required" },
        Case { edits: &[(PUBLIC_URL, "public_url = \"auth.example.com\"")], key: "server.public_url", at: (3, 14), fragment: "not an absolute URL" },
        Case { edits: &[(PUBLIC_URL, "public_url = \"ftp://auth.example.com\"")], key: "server.public_url", at: (3, 14), fragment: "http:// or https://" },
        Case { edits: &[(PUBLIC_URL, "public_url = \"https://auth.example.com/app\"")], key: "server.public_url", at: (3, 14), fragment: "without a path (found `/app`)" },
        Case { edits: &[(PUBLIC_URL, "public_url = \"https://auth.example.com/?a=1\"")], key: "server.public_url", at: (3, 14), fragment: "must not have a query" },
        Case { edits: &[(PUBLIC_URL, "public_url = \"http://auth.example.com\"")], key: "server.public_url", at: (3, 14), fragment: "set `allow_insecure_http = true` under [server]" },
        // [session]
        Case { edits: &[(SECRET, "secret = \"abcd\"")], key: "session.secret", at: (6, 10), fragment: "2 bytes, fewer than the 32 needed: run `portcullis secret`" },
        Case { edits: &[(SECRET, "secret = \"not a secret!\"")], key: "session.secret", at: (6, 10), fragment: "neither hex nor base64" },
        Case { edits: &[(SECRET, "")], key: "session.secret", at: (5, 1), fragment: "`secret` is required" },
        Case { edits: &[(SECRET, "secret = \"${PORTCULLIS_SECRET}\"\nprevious_secrets = [\"abcd\"]")], key: "session.previous_secrets[0]", at: (7, 21), fragment: "run `portcullis secret`" },
        Case { edits: &[(SECRET, "secret = \"${PORTCULLIS_SECRET}\"\ncookie_name = \"my cookie\"")], key: "session.cookie_name", at: (7, 15), fragment: "not a valid cookie name" },
        Case { edits: &[(SECRET, "secret = \"${PORTCULLIS_SECRET}\"\nlifetime = \"forever\"")], key: "session.lifetime", at: (7, 12), fragment: "not a duration" },
        Case { edits: &[(SECRET, "secret = \"${PORTCULLIS_SECRET}\"\nlifetime = \"0s\"")], key: "session.lifetime", at: (7, 12), fragment: "longer than zero" },
        // [session] store (DESIGN §6)
        Case { edits: &[(SECRET, "secret = \"${PORTCULLIS_SECRET}\"\nstore = \"redis\"")], key: "session.redis_url", at: (5, 1), fragment: "store = \"redis\" needs redis_url" },
        Case { edits: &[(SECRET, "secret = \"${PORTCULLIS_SECRET}\"\nstore = \"memcached\"")], key: "session.store", at: (7, 9), fragment: "`memcached` is not a session store" },
        Case { edits: &[(SECRET, "secret = \"${PORTCULLIS_SECRET}\"\nstore = \"redis\"\nredis_url = \"http://127.0.0.1:6379\"")], key: "session.redis_url", at: (8, 13), fragment: "`http` is not a Redis URL scheme" },
        Case { edits: &[(SECRET, "secret = \"${PORTCULLIS_SECRET}\"\nstore = \"redis\"\nredis_url = [\"redis://10.0.0.1:6379\", \"redis://10.0.0.2:6379\"]")], key: "session.redis_url", at: (8, 14), fragment: "set cluster = true" },
        Case { edits: &[(SECRET, "secret = \"${PORTCULLIS_SECRET}\"\nstore = \"redis\"\nredis_url = \"redis+sentinel://127.0.0.1:26379\"")], key: "session.redis_url", at: (8, 13), fragment: "a Sentinel URL names the service" },
        Case { edits: &[(SECRET, "secret = \"${PORTCULLIS_SECRET}\"\nstore = \"redis\"\nredis_url = \"redis+sentinel://127.0.0.1:26379/\"")], key: "session.redis_url", at: (8, 13), fragment: "a Sentinel URL names the service" },
        // [[provider]]
        Case { edits: &[(ID, "id = \"Corp!\"")], key: "provider[0].id", at: (9, 6), fragment: "must match [a-z0-9_-]{1,64}" },
        Case { edits: &[("[authorize]", "[[provider]]\nid = \"corp\"\nkind = \"dev\"\n\n[authorize]")], key: "provider[1].id", at: (16, 6), fragment: "duplicate provider id `corp`: it is already used on line 9" },
        Case { edits: &[(KIND, "kind = \"saml\"")], key: "provider[0].kind", at: (10, 8), fragment: "unknown provider kind `saml`" },
        Case { edits: &[(KIND, "")], key: "provider[0].kind", at: (8, 1), fragment: "`kind` is required" },
        Case { edits: &[(ISSUER, "")], key: "provider[0].issuer", at: (8, 1), fragment: "`issuer` is required for kind \"oidc\"" },
        Case { edits: &[(ISSUER, "issuer = \"http://sso.example.com\"")], key: "provider[0].issuer", at: (11, 10), fragment: "must use https://" },
        Case { edits: &[(CLIENT_SECRET, "")], key: "provider[0].client_secret", at: (8, 1), fragment: "`client_secret` is required" },
        Case { edits: &[(CLIENT_SECRET, "client_secret = \"${NOPE}\"")], key: "provider[0].client_secret", at: (13, 18), fragment: "environment variable `NOPE` is not set" },
        Case { edits: &[(KIND, "kind = \"dev\""), (CLIENT_SECRET, "")], key: "provider[0].issuer", at: (11, 10), fragment: "remove `issuer`" },
        Case { edits: &[(KIND, "kind = \"dev\""), (ISSUER, "")], key: "provider[0].client_secret", at: (13, 17), fragment: "remove `client_secret`" },
        Case { edits: &[(KIND, "kind = \"dev\""), (ISSUER, ""), (CLIENT_SECRET, ""), (LISTEN, "listen = \"0.0.0.0:4180\"")], key: "provider[0].kind", at: (10, 8), fragment: "loopback address" },
        Case { edits: &[(ID, "id = \"corp\"\nscopes = \"openid\"")], key: "provider[0].scopes", at: (10, 10), fragment: "invalid type: string \"openid\", expected an array" },
        Case { edits: &[(ID, "id = \"corp\"\nscopes = [\"open id\"]")], key: "provider[0].scopes[0]", at: (10, 11), fragment: "not a valid scope" },
        Case { edits: &[(ID, "id = \"corp\"\ntoken_endpoint_auth = \"private_key_jwt\"")], key: "provider[0].token_endpoint_auth", at: (10, 23), fragment: "use \"client_secret_basic\"" },
        // [authorize]
        Case { edits: &[("[authorize]\n", ""), (DOMAINS, "")], key: "authorize", at: (1, 1), fragment: "no implicit allow-all" },
        Case { edits: &[(DOMAINS, "email_domains = []")], key: "authorize", at: (15, 1), fragment: "email_domains = [\"*\"]" },
        Case { edits: &[(DOMAINS, "emails = [\"alice\"]")], key: "authorize.emails[0]", at: (16, 11), fragment: "exactly one `@`" },
        Case { edits: &[(DOMAINS, "emails = [\"a@b@example.com\"]")], key: "authorize.emails[0]", at: (16, 11), fragment: "exactly one `@`" },
        Case { edits: &[(DOMAINS, "email_domains = [\"example.com\", \"*\"]")], key: "authorize.email_domains[1]", at: (16, 33), fragment: "must be the only entry" },
        Case { edits: &[(DOMAINS, "email_domains = [\"a.*.example.com\"]")], key: "authorize.email_domains[0]", at: (16, 18), fragment: "the only wildcard is a leading `*.`" },
        Case { edits: &[(DOMAINS, "email_domains = [\"*.exa mple.com\"]")], key: "authorize.email_domains[0]", at: (16, 18), fragment: "after `*.` comes a domain name" },
        Case { edits: &[(DOMAINS, "email_domains = [\".example.com\"]")], key: "authorize.email_domains[0]", at: (16, 18), fragment: "write \"*.example.com\" for its subdomains" },
        Case { edits: &[(DOMAINS, "groups = [\"\"]")], key: "authorize.groups[0]", at: (16, 11), fragment: "must not be empty" },
        Case { edits: &[(DOMAINS, "providers = [\"nope\"]")], key: "authorize.providers[0]", at: (16, 14), fragment: "unknown provider `nope`: the configured [[provider]] ids are \"corp\"" },
        Case { edits: &[(DOMAINS, "claims = { \"/org/a~2\" = [\"x\"] }")], key: "authorize.claims.\"/org/a~2\"", at: (16, 25), fragment: "is not a JSON pointer (RFC 6901)" },
        Case { edits: &[(DOMAINS, "claims = { dept = [] }")], key: "authorize.claims.dept", at: (16, 19), fragment: "at least one accepted value" },
        Case { edits: &[(DOMAINS, "claims = { dept = [\"eng\", [1]] }")], key: "authorize.claims.dept[1]", at: (16, 27), fragment: "a string, a boolean or a finite number" },
        Case { edits: &[(DOMAINS, "claims = { dept = [\"${NOPE}\"] }")], key: "authorize.claims.dept[0]", at: (16, 21), fragment: "environment variable `NOPE` is not set" },
        Case { edits: &[(DOMAINS, "claims = { dept = \"eng\" }")], key: "authorize.claims.dept", at: (16, 19), fragment: "expected an array" },
        Case { edits: &[(DOMAINS, "grups = [\"staff\"]\nemail_domains = [\"example.com\"]")], key: "authorize.grups", at: (16, 1), fragment: "unknown key `grups`" },
        Case { edits: &[(DOMAINS, "email_domains = [\"exa mple.com\"]")], key: "authorize.email_domains[0]", at: (16, 18), fragment: "not a valid domain name" },
        // [[upstream]]
        Case { edits: &[(PATH, "path = \"app\"")], key: "upstream[0].path", at: (19, 8), fragment: "must start with `/`" },
        Case { edits: &[(URL, "url = \"http://127.0.0.1:8080/?x=1\"")], key: "upstream[0].url", at: (20, 7), fragment: "must not have a query" },
        Case { edits: &[(URL, "url = \"builtin:nope\"")], key: "upstream[0].url", at: (20, 7), fragment: "the only one is \"builtin:echo\"" },
        Case { edits: &[(URL, "url = \"http://u:p@127.0.0.1:8080\"")], key: "upstream[0].url", at: (20, 7), fragment: "user name or password" },
        Case { edits: &[(URL, "url = \"http://127.0.0.1:8080\"\ntimeout = \"soon\"")], key: "upstream[0].timeout", at: (21, 11), fragment: "not a duration" },
        Case { edits: &[(URL, "url = \"http://127.0.0.1:8080\"\n[[upstream]]\npath = \"/\"\nurl = \"builtin:echo\"")], key: "upstream[1].path", at: (22, 8), fragment: "duplicate upstream path `/`: it is already used on line 19" },
        Case { edits: &[("[[upstream]]\npath = \"/\"\n", ""), (URL, "")], key: "upstream", at: (1, 1), fragment: "no [[upstream]] is configured" },
        Case { edits: &[(URL, "")], key: "upstream[0].url", at: (18, 1), fragment: "`url` is required" },
        Case { edits: &[(URL, "url = \"http://127.0.0.1:8080\"\nhost = \"app.example.com:8080\"")], key: "upstream[0].host", at: (21, 8), fragment: "no scheme, port or path" },
        Case { edits: &[(URL, "url = \"http://127.0.0.1:8080\"\nhost = \"https://app.example.com\"")], key: "upstream[0].host", at: (21, 8), fragment: "no scheme, port or path" },
        Case { edits: &[(URL, "url = \"http://127.0.0.1:8080\"\nhost = \"a.*.example.com\"")], key: "upstream[0].host", at: (21, 8), fragment: "the only wildcard is a leading `*.`" },
        Case { edits: &[(URL, "url = \"http://127.0.0.1:8080\"\nhost = \"*\"")], key: "upstream[0].host", at: (21, 8), fragment: "leave `host` out to serve any host" },
        Case { edits: &[(URL, "url = \"http://127.0.0.1:8080\"\nhost = \"exa mple.com\"")], key: "upstream[0].host", at: (21, 8), fragment: "not a valid host name" },
        Case { edits: &[(URL, "url = \"http://127.0.0.1:8080\"\nskip_auth = [{ path = \"/health\" }]")], key: "upstream[0].skip_auth[0].path", at: (21, 23), fragment: "is not anchored" },
        Case { edits: &[(URL, "url = \"http://127.0.0.1:8080\"\nskip_auth = [{ path = \"^/health\" }]")], key: "upstream[0].skip_auth[0].path", at: (21, 23), fragment: "is not anchored" },
        Case { edits: &[(URL, "url = \"http://127.0.0.1:8080\"\nskip_auth = [{ path = \"^/health\\\\$\" }]")], key: "upstream[0].skip_auth[0].path", at: (21, 23), fragment: "is not anchored" },
        Case { edits: &[(URL, "url = \"http://127.0.0.1:8080\"\nskip_auth = [{ path = \"^/health($\" }]")], key: "upstream[0].skip_auth[0].path", at: (21, 23), fragment: "not a valid regular expression" },
        Case { edits: &[(URL, "url = \"http://127.0.0.1:8080\"\nskip_auth = [{ path = \"^/a$)|(?:.*$\" }]")], key: "upstream[0].skip_auth[0].path", at: (21, 23), fragment: "not a valid regular expression" },
        Case { edits: &[(URL, "url = \"http://127.0.0.1:8080\"\nskip_auth = [{ methods = [\"G T\"], path = \"^/h$\" }]")], key: "upstream[0].skip_auth[0].methods[0]", at: (21, 27), fragment: "is not an HTTP method" },
        Case { edits: &[(URL, "url = \"http://127.0.0.1:8080\"\nskip_auth = [{ methods = [\"GET\"] }]")], key: "upstream[0].skip_auth[0].path", at: (18, 1), fragment: "`path` is required" },
        Case { edits: &[(URL, "url = \"http://127.0.0.1:8080\"\nskip_auth = [{ path = \"^/h$\", regex = \"x\" }]")], key: "upstream[0].skip_auth[0].regex", at: (21, 31), fragment: "unknown key `regex`" },
        Case { edits: &[(URL, "url = \"http://127.0.0.1:8080\"\nskip_auth = \"^/health$\"")], key: "upstream[0].skip_auth", at: (21, 13), fragment: "expected an array" },
        Case { edits: &[(URL, "url = \"http://127.0.0.1:8080\"\nallow = {}")], key: "upstream[0].allow", at: (18, 1), fragment: "`allow` lists no rule" },
        Case { edits: &[(URL, "url = \"http://127.0.0.1:8080\"\nallow = { email_domains = [\"*\"] }")], key: "upstream[0].allow.email_domains[0]", at: (21, 28), fragment: "in an upstream's `allow` it adds nothing" },
        Case { edits: &[(URL, "url = \"http://127.0.0.1:8080\"\nallow = { group = [\"x\"] }")], key: "upstream[0].allow.group", at: (21, 11), fragment: "unknown key `group`" },
        Case { edits: &[(URL, "url = \"http://127.0.0.1:8080\"\nallow = { providers = [\"github\"] }")], key: "upstream[0].allow.providers[0]", at: (21, 24), fragment: "unknown provider `github`" },
        Case { edits: &[(URL, "url = \"http://127.0.0.1:8080\"\npublic = true\nallow = { groups = [\"admins\"] }")], key: "upstream[0].allow", at: (18, 1), fragment: "`allow` would have no effect" },
        Case { edits: &[(URL, "url = \"http://127.0.0.1:8080\"\ncors_preflight = \"yes\"")], key: "upstream[0].cors_preflight", at: (21, 18), fragment: "expected a boolean" },
        Case { edits: &[(URL, "url = \"http://127.0.0.1:8080\"\nhost = \"App.example.com\"\n[[upstream]]\nhost = \"app.example.com\"\npath = \"/\"\nurl = \"builtin:echo\"")], key: "upstream[1].path", at: (24, 8), fragment: "duplicate upstream path `/` on host `app.example.com`: it is already used on line 19" },
        // Syntax.
        Case { edits: &[(URL, "url = ")], key: "", at: (20, 7), fragment: "invalid TOML" },
    ];
    assert!(cases.len() >= 20);
    let mut failures = Vec::new();
    for case in &cases {
        let source = edit(case.edits);
        let errors = match parse(&source) {
            Ok(_) => {
                failures.push(format!("{:?}: accepted", case.edits));
                continue;
            }
            Err(errors) => errors.0,
        };
        let [error] = errors.as_slice() else {
            failures.push(format!(
                "{:?}: expected one problem, got {errors:#?}",
                case.edits
            ));
            continue;
        };
        let found = (error.key.as_str(), error.line, error.column);
        if found != (case.key, case.at.0, case.at.1) || !error.message.contains(case.fragment) {
            failures.push(format!("{:?}: got {error}", case.edits));
        }
        assert_eq!(error.file, "providers.toml");
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn several_problems_in_one_file_are_all_reported() {
    let source = r#"[server]
listen = "127.0.0.1:4180"
public_url = "http://gate.example.com"
bogus = 1

[session]
secret = "short"
lifetime = 5

[[provider]]
id = "a"
kind = "oidc"
issuer = "https://${ISSUER_HOST}"
client_id = "x"
client_secret = "${MISSING_SECRET}"
color = "red"

[[provider]]
id = "a"
kind = "dev"

[authorize]
emails = ["nobody"]

[[upstream]]
path = "api"
url = "builtin:echo"
"#;
    let errors = parse(source).unwrap_err().0;
    let found: Vec<_> = errors
        .iter()
        .map(|e| (e.key.as_str(), e.line, e.column))
        .collect();
    assert_eq!(
        found,
        [
            ("server.public_url", 3, 14),
            ("server.bogus", 4, 1),
            ("session.secret", 7, 10),
            ("session.lifetime", 8, 12),
            ("provider[0].client_secret", 15, 18),
            ("provider[0].color", 16, 1),
            ("provider[1].id", 19, 6),
            ("authorize.emails[0]", 23, 11),
            ("upstream[0].path", 26, 8),
        ],
        "{errors:#?}"
    );
    let text = ConfigErrors(errors).to_string();
    assert!(text.contains("providers.toml:15:18: provider[0].client_secret: environment variable `MISSING_SECRET` is not set"), "{text}");
    assert!(
        !text.contains("short"),
        "secret values never appear in messages: {text}"
    );
}

#[test]
fn full_config_round_trips_into_domain_values() {
    let source = r#"
[server]
listen = "0.0.0.0:8443"
public_url = "https://auth.example.com/"
auto_redirect = true
allow_insecure_http = false

[session]
secret = "${PORTCULLIS_SECRET}"
previous_secrets = [
  "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F",
  "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
]
cookie_name = "__Host-gate"
lifetime = "8h 30m"

[[provider]]
id = "google"
kind = "oidc"
name = "Google"
issuer = "https://accounts.google.com"
client_id = "123-abc.apps.googleusercontent.com"
client_secret = "${CLIENT_SECRET}"
scopes = ["email", "profile", "email"]
token_endpoint_auth = "client_secret_post"

[[provider]]
id = "sso_2"
kind = "oidc"
issuer = "https://${ISSUER_HOST}/realms/staff"
client_id = "portcullis"
client_secret = 'literal$$secret'

[authorize]
emails = ["Alice@Example.ORG", "alice@example.org"]
email_domains = ["@Example.COM", "example.net"]

[[upstream]]
path = "/"
url = "http://127.0.0.1:8080/base"
timeout = "90s"

[[upstream]]
path = "/echo"
url = "builtin:echo"
public = true
pass_access_token = true
pass_authorization_header = true
"#;
    let config = parse(source).unwrap();
    let expected_key: Vec<u8> = (0..32).collect();

    assert_eq!(config.server.listen, "0.0.0.0:8443".parse().unwrap());
    assert_eq!(
        config.server.public_url.as_str(),
        "https://auth.example.com/"
    );
    assert!(config.server.auto_redirect);

    let session = &config.session;
    assert_eq!(session.secret.as_ref().unwrap().0, expected_key);
    assert_eq!(session.previous_secrets.len(), 2);
    assert!(session.previous_secrets.iter().all(|s| s.0 == expected_key));
    assert_eq!(session.cookie_name, "__Host-gate");
    assert_eq!(session.lifetime, Duration::from_secs(8 * 3600 + 30 * 60));

    let [google, sso] = config.providers.as_slice() else {
        panic!("two providers expected");
    };
    assert_eq!(google.id, "google");
    assert_eq!(google.kind, ProviderKind::Oidc);
    assert_eq!(google.name, "Google");
    // Kept exactly as written: no trailing slash is added to a bare origin.
    assert_eq!(google.issuer(), Some("https://accounts.google.com"));
    assert_eq!(google.client_id, "123-abc.apps.googleusercontent.com");
    assert_eq!(
        google.credentials().unwrap().secret.expose_secret(),
        "client-secret-value"
    );
    assert_eq!(google.scopes, ["openid", "email", "profile"]);
    assert_eq!(
        google.credentials().unwrap().auth,
        TokenEndpointAuth::ClientSecretPost
    );
    assert_eq!(sso.name, "OpenID Connect");
    assert_eq!(
        sso.issuer().unwrap(),
        "https://sso.example.com/realms/staff"
    );
    assert_eq!(
        sso.credentials().unwrap().secret.expose_secret(),
        "literal$secret"
    );
    assert_eq!(sso.scopes, ["openid", "email", "profile"]);
    assert_eq!(
        sso.credentials().unwrap().auth,
        TokenEndpointAuth::ClientSecretBasic
    );

    assert_eq!(config.authorize.emails, ["alice@example.org"]);
    assert_eq!(
        config.authorize.email_domains,
        ["example.com", "example.net"]
    );

    let [root, echo] = config.upstreams.as_slice() else {
        panic!("two upstreams expected");
    };
    assert_eq!(root.path, "/");
    assert!(
        matches!(&root.target, UpstreamTarget::Http(url) if url.as_str() == "http://127.0.0.1:8080/base")
    );
    assert_eq!(root.timeout, Duration::from_secs(90));
    assert!(!root.public && !root.pass_access_token && !root.pass_authorization_header);
    assert_eq!(echo.path, "/echo");
    assert!(matches!(echo.target, UpstreamTarget::Echo));
    assert!(echo.public && echo.pass_access_token && echo.pass_authorization_header);
    assert_eq!(echo.timeout, Duration::from_secs(30));

    let debug = format!("{config:?}");
    assert!(!debug.contains("client-secret-value"), "{debug}");
    assert!(!debug.contains("literal$secret"), "{debug}");
}

#[test]
fn dev_only_config_gets_defaults_and_needs_no_secret() {
    let source = r#"
[server]
listen = "[::1]:4180"
public_url = "http://localhost:4180"

[[provider]]
id = "dev"
kind = "dev"

[authorize]
email_domains = ["*"]

[[upstream]]
path = "/"
url = "builtin:echo"
"#;
    let config = parse(source).unwrap();
    assert!(config.session.secret.is_none());
    assert!(config.session.previous_secrets.is_empty());
    assert_eq!(config.session.cookie_name, "_portcullis");
    assert_eq!(config.session.lifetime, Duration::from_secs(12 * 3600));
    assert!(!config.server.auto_redirect);
    let dev = &config.providers[0];
    assert_eq!(dev.kind, ProviderKind::Dev);
    assert_eq!(dev.name, "Development provider");
    assert_eq!(dev.client_id, "portcullis-dev");
    assert!(dev.issuer().is_none() && dev.credentials().is_none());
    assert_eq!(dev.scopes, ["openid", "email", "profile"]);
    assert_eq!(config.authorize.email_domains, ["*"]);
    assert!(config.authorize.emails.is_empty());
    assert_eq!(config.upstreams[0].timeout, Duration::from_secs(30));
}

#[test]
fn loopback_http_urls_and_the_insecure_opt_in() {
    let cases = [
        ("http://127.0.0.1:4180", false, true),
        ("http://127.9.9.9", false, true),
        ("http://[::1]:4180", false, true),
        ("http://localhost:4180/", false, true),
        ("http://gate.localhost", false, true),
        ("http://gate.example.com", false, false),
        ("http://10.0.0.5:4180", false, false),
        ("http://gate.example.com", true, true),
        ("https://gate.example.com", false, true),
    ];
    for (url, opt_in, ok) in cases {
        let source = edit(&[(
            r#"public_url = "https://auth.example.com""#,
            &format!("public_url = \"{url}\"\nallow_insecure_http = {opt_in}"),
        )]);
        assert_eq!(
            parse(&source).is_ok(),
            ok,
            "{url} opt-in {opt_in}: {:?}",
            parse(&source).err()
        );
    }
}

#[test]
fn scopes_always_start_with_openid() {
    let cases: [(&str, &[&str]); 4] = [
        (r#"["email"]"#, &["openid", "email"]),
        (
            r#"["email", "openid", "groups"]"#,
            &["openid", "email", "groups"],
        ),
        (r#"[]"#, &["openid"]),
        (r#"["openid", "openid"]"#, &["openid"]),
    ];
    for (scopes, expected) in cases {
        let source = edit(&[(
            r#"id = "corp""#,
            &format!("id = \"corp\"\nscopes = {scopes}"),
        )]);
        assert_eq!(
            parse(&source).unwrap().providers[0].scopes,
            expected,
            "{scopes}"
        );
    }
}

#[test]
fn env_substitution_and_missing_variables() {
    let issuer = r#"issuer = "https://sso.example.com/realms/staff""#;
    let expanded = edit(&[(issuer, r#"issuer = "https://${ISSUER_HOST}/realms/$$x""#)]);
    let config = parse(&expanded).unwrap();
    assert_eq!(
        config.providers[0].issuer().unwrap(),
        "https://sso.example.com/realms/$x"
    );

    let cases = [
        // Each missing variable at its own column (value quote at column 10).
        (
            r#"issuer = "https://${ISSUER_HOST}/x/${REALM}""#,
            vec![(36, "`REALM` is not set")],
        ),
        (
            r#"issuer = "${SCHEME}://${HOST}""#,
            vec![(11, "`SCHEME` is not set"), (23, "`HOST` is not set")],
        ),
        // With escapes the value's start is the best position there is.
        (
            r#"issuer = "\u0068ttps://${HOST}""#,
            vec![(10, "`HOST` is not set")],
        ),
        (r#"issuer = "https://${HOST""#, vec![(19, "is not closed")]),
    ];
    for (line, expected) in cases {
        let errors = parse(&edit(&[(issuer, line)])).unwrap_err().0;
        let found: Vec<_> = errors
            .iter()
            .map(|e| (e.key.as_str(), e.line, e.column))
            .collect();
        let wanted: Vec<_> = expected
            .iter()
            .map(|(column, _)| ("provider[0].issuer", 11, *column))
            .collect();
        assert_eq!(found, wanted, "{line}");
        for (error, (_, fragment)) in errors.iter().zip(&expected) {
            assert!(error.message.contains(fragment), "{line}: {error}");
        }
    }

    // The lookup passed in is the only source of variables.
    let nothing = |_: &str| None;
    let errors = Config::parse(BASE, "f", &nothing).unwrap_err().0;
    assert_eq!(errors.len(), 1);
    assert!(errors[0].message.contains("`CLIENT_SECRET` is not set"));
}

#[test]
fn session_secrets_are_checked_in_the_file() {
    let secret = r#"secret = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f""#;
    let verdicts = [
        (
            "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
            None,
        ),
        (
            "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e",
            Some("31 bytes"),
        ),
        ("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8", None),
        ("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd", Some("30 bytes")),
        (
            "correct horse battery staple",
            Some("neither hex nor base64"),
        ),
        ("", Some("0 bytes")),
    ];
    for (value, problem) in verdicts {
        let result = parse(&edit(&[(secret, &format!("secret = \"{value}\""))]));
        match (result, problem) {
            (Ok(_), None) => {}
            (Err(errors), Some(fragment)) => {
                let [error] = errors.0.as_slice() else {
                    panic!("{errors}")
                };
                assert!(error.message.contains(fragment), "{value}: {error}");
                assert!(error.message.contains("portcullis secret"), "{error}");
                assert!(
                    value.is_empty() || !error.message.contains(value),
                    "the secret is not echoed: {error}"
                );
            }
            (result, problem) => panic!("{value}: {problem:?} but got {:?}", result.err()),
        }
    }
}

#[test]
fn shipped_providers_toml_is_valid() {
    let source = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/providers.toml"));
    let config = Config::parse(source, "providers.toml", &|_| None).unwrap();
    assert!(config.providers.iter().any(|p| p.kind == ProviderKind::Dev));
}

/// The shipped file's commented `kind = "local"` block, every key uncommented, with a
/// session secret: it must pass the checks, and `users.example.toml`, which it names, too.
#[test]
fn shipped_local_block_and_users_example_are_valid() {
    let source = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/providers.toml"));
    let start = source
        .find("# [[provider]]\n# id = \"local\"")
        .expect("providers.toml has a commented local provider block");
    let end = source[start..]
        .find("\n\n")
        .map_or(source.len(), |len| start + len);
    let is_key = |line: &str| {
        line.strip_prefix("# ").is_some_and(|rest| {
            rest == "[[provider]]"
                || rest
                    .split_once(" = ")
                    .is_some_and(|(key, _)| key.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
        })
    };
    let block: Vec<&str> = source[start..end]
        .lines()
        .map(|line| if is_key(line) { &line[2..] } else { line })
        .collect();
    let edited = format!("{}{}{}", &source[..start], block.join("\n"), &source[end..]).replacen(
        "# secret = \"${PORTCULLIS_SECRET}\"",
        "secret = \"${PORTCULLIS_SECRET}\"",
        1,
    );
    let file = concat!(env!("CARGO_MANIFEST_DIR"), "/providers.toml");
    let env = |name: &str| match name {
        "DEPLOY_CLI_SECRET" => Some("deploy-cli-secret-value".to_owned()),
        other => env(other),
    };
    let config = Config::parse(&edited, file, &env).unwrap();

    let local = config
        .providers
        .iter()
        .find(|p| p.kind == ProviderKind::Local)
        .and_then(|p| p.local())
        .expect("the uncommented block is a local provider");
    assert!(local.users_file.ends_with("users.example.toml"));
    assert!(!local.password_grant);
    assert_eq!(local.token_lifetime, Duration::from_secs(15 * 60));
    assert_eq!(local.refresh_lifetime, Duration::from_secs(7 * 24 * 3600));
    assert_eq!(local.clients.len(), 1);
    assert_eq!(
        local.failed_logins,
        crate::config::FailedLoginLimits::default()
    );
    let users = crate::config::load_users(&local.users_file).unwrap();
    let names: Vec<&str> = users.users.iter().map(|u| u.username.as_str()).collect();
    assert_eq!(names, ["alice", "deploy-bot"]);
}

#[test]
fn no_input_panics() {
    let mut inputs: Vec<String> = [
        "",
        "\0",
        "[[provider]]\n[provider]",
        "provider = 1\n[[provider]]",
        "a.b.c = 1",
        "server.listen = 1\nserver.public_url = []",
        "[server]\nlisten = 1979-05-27T07:32:00Z",
        "[[upstream]]\npath = \"/\u{202e}\"\nurl = \"http://[::1\"",
        "[authorize]\nemails = [[\"a@b\"]]\nemail_domains = [{ x = 1 }]",
        "[session]\nsecret = \"${\"\ncookie_name = \"${X\"",
        "é = \"é\"\n[é]\né = 'é'",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    inputs.push(format!("x = {}1{}", "[".repeat(200), "]".repeat(200)));
    for (index, _) in BASE.char_indices() {
        inputs.push(BASE[..index].to_owned());
    }
    for input in &inputs {
        if let Err(errors) = parse(input) {
            assert!(!errors.0.is_empty(), "{input:?}");
            assert!(
                errors.0.iter().all(|e| e.line >= 1 && e.column >= 1),
                "{input:?}: {errors}"
            );
        }
    }
}

#[test]
fn rules_hosts_and_skip_auth_round_trip() {
    let source = r#"
[server]
listen = "127.0.0.1:4180"
public_url = "https://auth.example.com"

[session]
secret = "${PORTCULLIS_SECRET}"

[[provider]]
id = "corp"
kind = "oidc"
issuer = "https://sso.example.com"
client_id = "portcullis"
client_secret = "${CLIENT_SECRET}"

[authorize]
groups = ["staff"]
claims = { "/org/tier" = ["gold", "silver"], email_verified = [true], level = [3, 2.5] }

[[upstream]]
path = "/"
url = "builtin:echo"
allow = { email_domains = ["*.Example.com", "example.org"], providers = ["corp"] }
skip_auth = [
  { methods = ["get", "HEAD"], path = "^/health$" },
  { path = '(?i)^/static/[a-z0-9_.-]+\.css$' },
]
cors_preflight = true

[[upstream]]
host = "App.Example.com."
path = "/"
url = "http://127.0.0.1:8080"

[upstream.allow]
groups = ["admins"]

[[upstream]]
host = "*.example.com"
path = "/"
url = "http://127.0.0.1:8081"
"#;
    let config = parse(source).unwrap();

    let global = &config.authorize;
    assert_eq!(global.origin, "authorize");
    assert!(global.emails.is_empty() && global.email_domains.is_empty());
    assert_eq!(global.groups, ["staff"]);
    assert_eq!(
        global.claims,
        [
            ClaimRule {
                claim: "/org/tier".into(),
                accepted: vec![
                    ClaimValue::String("gold".into()),
                    ClaimValue::String("silver".into())
                ],
            },
            ClaimRule {
                claim: "email_verified".into(),
                accepted: vec![ClaimValue::Bool(true)],
            },
            ClaimRule {
                claim: "level".into(),
                accepted: vec![ClaimValue::Integer(3), ClaimValue::Float(2.5)],
            },
        ]
    );

    let [root, app, wildcard] = config.upstreams.as_slice() else {
        panic!("three upstreams expected");
    };
    assert_eq!(root.host, None);
    let allow = root.allow.as_ref().unwrap();
    assert_eq!(allow.origin, "upstream[0].allow");
    assert_eq!(allow.email_domains, ["*.example.com", "example.org"]);
    assert_eq!(allow.providers, ["corp"]);
    assert!(root.cors_preflight);
    let [health, css] = root.skip_auth.as_slice() else {
        panic!("two skip_auth rules expected");
    };
    assert_eq!(health.methods, ["GET", "HEAD"]);
    assert!(health.path.is_match("/health"));
    assert!(!health.path.is_match("/health/x"));
    assert!(css.methods.is_empty());
    assert!(css.path.is_match("/STATIC/site.css"));
    assert!(!css.path.is_match("/static/site.css/x"));

    assert_eq!(app.host, Some(HostPattern::Exact("app.example.com".into())));
    assert_eq!(app.allow.as_ref().unwrap().groups, ["admins"]);
    assert_eq!(app.allow.as_ref().unwrap().origin, "upstream[1].allow");
    assert!(app.skip_auth.is_empty() && !app.cors_preflight);
    assert_eq!(
        wildcard.host,
        Some(HostPattern::Subdomains("example.com".into()))
    );
    assert!(wildcard.allow.is_none());
}

#[test]
fn skip_auth_patterns_cannot_be_unanchored_by_alternation() {
    let source = BASE.replace(
        "url = \"http://127.0.0.1:8080\"",
        "url = \"http://127.0.0.1:8080\"\nskip_auth = [{ path = \"^/health$|^/metrics$\" }, { path = \"^/a|/b$\" }]",
    );
    let config = parse(&source).unwrap();
    let [both, alternation] = config.upstreams[0].skip_auth.as_slice() else {
        panic!("two rules expected");
    };
    assert!(both.path.is_match("/health") && both.path.is_match("/metrics"));
    assert!(!both.path.is_match("/health/../admin"));
    assert!(alternation.path.is_match("/a") && alternation.path.is_match("/b"));
    for path in ["/a/admin", "/admin/b", "/x/b", "/ab"] {
        assert!(!alternation.path.is_match(path), "{path}");
    }
}

#[test]
fn no_redis_url_error_quotes_the_password() {
    const PASSWORD: &str = "hunter2-redis-pass";
    let bad_urls = [
        format!("redis_url = \"http://:{PASSWORD}@127.0.0.1:6379\""),
        format!("redis_url = \"redis+sentinel://:{PASSWORD}@127.0.0.1:26379\""),
        format!("redis_url = \"redis://:{PASSWORD}@\""),
        format!("redis_url = \"redis://:{PASSWORD}@[::1\""),
        format!("redis_url = \"redis://:{PASSWORD}@127.0.0.1:notaport\""),
        format!("redis_url = [\"redis://:{PASSWORD}@a:6379\", \"redis://:{PASSWORD}@b:6379\"]"),
        format!("cluster = true\nredis_url = [\"redis+sentinel://:{PASSWORD}@a:26379/m\"]"),
    ];
    for line in &bad_urls {
        let source = edit(&[(
            r#"secret = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f""#,
            &format!("secret = \"${{PORTCULLIS_SECRET}}\"\nstore = \"redis\"\n{line}"),
        )]);
        let Err(errors) = parse(&source) else {
            panic!("accepted: {line}");
        };
        assert!(
            errors
                .0
                .iter()
                .any(|e| e.key.starts_with("session.redis_url")),
            "{line}: no session.redis_url error in {errors}"
        );
        let shown = format!("{errors}\n{errors:?}");
        assert!(
            !shown.contains(PASSWORD),
            "{line}: the password is quoted:\n{shown}"
        );
    }
}

#[test]
fn redis_url_is_one_url_or_with_cluster_a_list() {
    const SECRET: &str =
        r#"secret = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f""#;
    let one = parse(&edit(&[(
        SECRET,
        "secret = \"${PORTCULLIS_SECRET}\"\nstore = \"redis\"\nredis_url = \"redis://127.0.0.1:6379/0\"\nkey_prefix = \"gw1:\"",
    )]))
    .unwrap();
    let redis = one.session.redis.expect("redis settings");
    assert_eq!(redis.urls, vec!["redis://127.0.0.1:6379/0"]);
    assert!(!redis.cluster);
    assert_eq!(redis.key_prefix, "gw1:");

    let nodes = parse(&edit(&[(
        SECRET,
        "secret = \"${PORTCULLIS_SECRET}\"\nstore = \"redis\"\ncluster = true\nredis_url = [\"redis://10.0.0.1:6379\", \"redis://10.0.0.2:6379\"]",
    )]))
    .unwrap();
    let redis = nodes.session.redis.expect("redis settings");
    assert_eq!(
        redis.urls,
        vec!["redis://10.0.0.1:6379", "redis://10.0.0.2:6379"]
    );
    assert!(redis.cluster);
}
