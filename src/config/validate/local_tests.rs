//! `kind = "local"`: its defaults, the users file found next to the configuration file and
//! validated with it, and every key that does not fit named with its place.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::config::{Config, ConfigErrors, FailedLoginLimits};

/// A directory of its own with `providers.toml`'s neighbour `users.toml` (content `users`).
struct Dir(PathBuf);

impl Dir {
    fn new(name: &str, users: &str) -> Dir {
        let dir = std::env::temp_dir().join(format!(
            "portcullis-local-config-{name}-{}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("users.toml"), users).unwrap();
        Dir(dir)
    }

    fn config_file(&self) -> String {
        self.0.join("providers.toml").display().to_string()
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Line 8 is `[[provider]]`, line 9 `id = "local"`, line 10 `kind = …`, the block from 11.
fn file(kind: &str, block: &str) -> String {
    format!(
        "[server]\nlisten = \"127.0.0.1:4180\"\npublic_url = \"https://auth.example.com\"\n\n\
         [session]\nsecret = \"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\"\n\n\
         [[provider]]\nid = \"local\"\nkind = \"{kind}\"\n{block}\n\n\
         [authorize]\nemail_domains = [\"example.com\"]\n\n[[upstream]]\npath = \"/\"\n\
         url = \"http://127.0.0.1:8080\"\n"
    )
}

fn parse_in(dir: &Dir, kind: &str, block: &str) -> Result<Config, ConfigErrors> {
    Config::parse(&file(kind, block), &dir.config_file(), &|_| None)
}

fn problems(errors: &ConfigErrors) -> Vec<(String, usize, String)> {
    errors
        .0
        .iter()
        .map(|e| (e.key.clone(), e.line, e.message.clone()))
        .collect()
}

#[test]
fn a_local_provider_has_safe_defaults_and_finds_its_users_file_next_to_the_config() {
    let dir = Dir::new("defaults", "");
    let config = parse_in(&dir, "local", "users_file = \"users.toml\"").unwrap();
    let provider = &config.providers[0];
    assert_eq!(provider.name, "Local account");
    assert!(provider.scopes.is_empty());
    let local = provider.local().unwrap();
    assert_eq!(local.users_file, dir.0.join("users.toml"));
    assert!(
        !local.password_grant,
        "the password grant is off by default"
    );
    assert_eq!(local.token_lifetime, Duration::from_secs(900));
    assert_eq!(local.refresh_lifetime, Duration::from_secs(7 * 24 * 3600));
    assert!(local.clients.is_empty());
    assert_eq!(local.failed_logins, FailedLoginLimits::default());
    assert!(provider.bearer().is_none() && provider.issuer().is_none());
}

#[test]
fn every_local_key_is_read() {
    let dir = Dir::new("keys", "");
    let users = dir.0.join("users.toml");
    let block = format!(
        "users_file = \"{}\"\npassword_grant = true\ntoken_lifetime = \"5m\"\n\
         refresh_lifetime = \"1d\"\nclients = [{{ id = \"ci\", secret = \"0123456789abcdef\" }}]\n\
         failed_logins = {{ per_username = 3, per_client = 30, window = \"1m\" }}",
        users.display()
    );
    let config = parse_in(&dir, "local", &block).unwrap();
    let local = config.providers[0].local().unwrap();
    assert_eq!(local.users_file, users);
    assert!(local.password_grant);
    assert_eq!(local.token_lifetime, Duration::from_secs(300));
    assert_eq!(local.refresh_lifetime, Duration::from_secs(86400));
    assert_eq!(local.clients.len(), 1);
    assert_eq!(local.clients[0].id, "ci");
    assert_eq!(
        local.failed_logins,
        FailedLoginLimits {
            per_username: 3,
            per_client: 30,
            window: Duration::from_secs(60),
        }
    );
}

#[test]
fn keys_of_providers_elsewhere_are_refused_on_a_local_one() {
    let dir = Dir::new("foreign", "");
    let block = "users_file = \"users.toml\"\nclient_id = \"x\"\nclient_secret = \"y\"\n\
                 scopes = [\"openid\"]\ntoken_endpoint_auth = \"client_secret_post\"\n\
                 issuer = \"https://idp.example.com\"\nbearer = { audiences = [\"api\"] }";
    let errors = parse_in(&dir, "local", block).unwrap_err();
    let keys: Vec<String> = problems(&errors).into_iter().map(|(k, _, _)| k).collect();
    for key in [
        "provider[0].client_id",
        "provider[0].client_secret",
        "provider[0].scopes",
        "provider[0].token_endpoint_auth",
        "provider[0].issuer",
        "provider[0].bearer",
    ] {
        assert!(keys.contains(&key.to_owned()), "{key} in {errors}");
    }
    let client_id = problems(&errors)
        .into_iter()
        .find(|(k, _, _)| k == "provider[0].client_id")
        .unwrap();
    assert_eq!(client_id.1, 12, "{errors}");
    assert!(client_id.2.contains("does not apply to kind \"local\""));
}

#[test]
fn local_keys_are_refused_on_other_kinds() {
    let dir = Dir::new("other-kinds", "");
    let block = "issuer = \"https://idp.example.com\"\nclient_id = \"c\"\nclient_secret = \"s\"\n\
                 users_file = \"users.toml\"\npassword_grant = true";
    let errors = parse_in(&dir, "oidc", block).unwrap_err();
    let found = problems(&errors);
    assert!(
        found
            .iter()
            .any(|(k, line, m)| k == "provider[0].users_file"
                && *line == 14
                && m.contains("only to \"local\"")),
        "{errors}"
    );
    assert!(
        found
            .iter()
            .any(|(k, _, _)| k == "provider[0].password_grant"),
        "{errors}"
    );
}

#[test]
fn a_missing_users_file_key_or_file_is_named() {
    let dir = Dir::new("missing", "");
    let errors = parse_in(&dir, "local", "").unwrap_err();
    assert!(
        problems(&errors)
            .iter()
            .any(|(k, _, m)| k == "provider[0].users_file" && m.contains("required")),
        "{errors}"
    );
    let errors = parse_in(&dir, "local", "users_file = \"nowhere.toml\"").unwrap_err();
    let (key, line, message) = problems(&errors).remove(0);
    assert_eq!((key.as_str(), line), ("provider[0].users_file", 11));
    assert!(
        message.contains("nowhere.toml") && message.contains("cannot be read"),
        "{message}"
    );
}

#[test]
fn lifetimes_limits_and_clients_are_checked() {
    let dir = Dir::new("values", "");
    let cases = [
        (
            "token_lifetime = \"10m\"\nrefresh_lifetime = \"5m\"",
            "provider[0].refresh_lifetime",
            "at least `token_lifetime`",
        ),
        (
            "token_lifetime = \"2d\"",
            "provider[0].token_lifetime",
            "longer than",
        ),
        (
            "refresh_lifetime = \"365d\"",
            "provider[0].refresh_lifetime",
            "longer than",
        ),
        (
            "clients = [{ id = \"ci\", secret = \"short\" }]",
            "provider[0].clients[0].secret",
            "at least 16",
        ),
        (
            "clients = [{ id = \"ci\", secret = \"0123456789abcdef\" }, { id = \"ci\", secret = \"0123456789abcdef\" }]",
            "provider[0].clients[1].id",
            "duplicate client id",
        ),
        (
            "clients = [{ secret = \"0123456789abcdef\" }]",
            "provider[0].clients[0].id",
            "needs an `id`",
        ),
        (
            "failed_logins = { per_username = 0 }",
            "provider[0].failed_logins.per_username",
            "at least 1",
        ),
        (
            "failed_logins = { window = \"soon\" }",
            "provider[0].failed_logins.window",
            "not a duration",
        ),
    ];
    for (extra, key, message) in cases {
        let block = format!("users_file = \"users.toml\"\n{extra}");
        let errors = parse_in(&dir, "local", &block).unwrap_err();
        assert!(
            problems(&errors)
                .iter()
                .any(|(k, _, m)| k == key && m.contains(message)),
            "{extra}: expected {key} ({message}) in {errors}"
        );
    }
}

#[test]
fn problems_in_the_users_file_are_listed_with_their_place_in_it() {
    let dir = Dir::new(
        "broken-users",
        "[[user]]\nusername = \"alice\"\npasword_hash = \"x\"\n",
    );
    let errors = parse_in(&dir, "local", "users_file = \"users.toml\"\nname = \"\"").unwrap_err();
    let users = dir.0.join("users.toml").display().to_string();
    // The configuration's own problem first, then the users file's, each with its file.
    assert_eq!(errors.0[0].key, "provider[0].name", "{errors}");
    assert!(
        errors.0.iter().any(|e| e.file == users && e.line == 3),
        "{errors}"
    );
    assert!(Path::new(&users).exists());
}
