use crate::config::Config;

fn summary(source: &str) -> String {
    let env = |name: &str| (name == "SECRET").then(|| "ab".repeat(32));
    Config::parse(source, "providers.toml", &env)
        .unwrap()
        .summary()
}

#[test]
fn the_shipped_file_is_one_dev_provider_one_echo_route_and_cookie_sessions() {
    let shipped = include_str!("../../../providers.toml");
    // The dev provider's default name is the pages' business; the summary shows it as is.
    let name = Config::parse(shipped, "providers.toml", &|_| None)
        .unwrap()
        .providers[0]
        .name
        .clone();

    assert_eq!(
        summary(shipped),
        format!(
            "listen 127.0.0.1:4180, public URL http://127.0.0.1:4180/\n\
             1 provider:\n  dev: dev, \"{name}\"\n\
             1 upstream:\n  / -> builtin:echo, sign-in required\n\
             session store: cookie (the sealed session itself); no session.secret: an \
             ephemeral one is made at start-up, so sessions end when the gateway restarts"
        )
    );
}

#[test]
fn each_provider_upstream_and_the_redis_store_is_named_without_its_secrets() {
    let source = r#"
[server]
listen = "127.0.0.1:4180"
public_url = "https://auth.example.com"

[session]
secret = "${SECRET}"
store = "redis"
redis_url = "redis://:hunter2@redis.internal:6379/0"

[[provider]]
id = "sso"
kind = "oidc"
name = "Example SSO"
issuer = "https://idp.example.com"
client_id = "gateway"
client_secret = "a client secret"

[[provider]]
id = "gh"
kind = "github"
client_id = "gateway"
client_secret = "another client secret"

[authorize]
email_domains = ["example.com"]

[[upstream]]
path = "/"
url = "http://127.0.0.1:8080"
skip_auth = [{ methods = ["GET"], path = "^/health$" }]

[[upstream]]
host = "*.example.com"
path = "/docs"
url = "http://127.0.0.1:8081/base/"
public = true

[[upstream]]
path = "/admin"
url = "builtin:echo"
allow = { groups = ["admins"] }
"#;

    let text = summary(source);

    assert_eq!(
        text,
        "listen 127.0.0.1:4180, public URL https://auth.example.com/\n\
         2 providers:\n\
         \x20 sso: oidc, \"Example SSO\", issuer https://idp.example.com\n\
         \x20 gh: github, \"GitHub\"\n\
         3 upstreams:\n\
         \x20 / -> http://127.0.0.1:8080/, sign-in required (but 1 skip_auth rule)\n\
         \x20 *.example.com/docs -> http://127.0.0.1:8081/base/, public\n\
         \x20 /admin -> builtin:echo, sign-in required, allow rules\n\
         session store: redis (1 URL, key prefix \"portcullis:\")"
    );
    for secret in [
        "hunter2",
        "a client secret",
        "another client secret",
        "abab",
    ] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
}
