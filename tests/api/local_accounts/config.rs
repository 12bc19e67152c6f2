//! The configuration of a local provider (DESIGN §2, §10): `portcullis check` names the
//! users file's own problems with their line and column, and `Config::parse` refuses the
//! keys and values that do not fit, naming each one.

use std::collections::HashMap;
use std::process::Command;

use portcullis::config::{Config, ConfigErrors};

use super::fixture::{render_users, User, UsersFile};
use crate::helpers::toml_str;

/// A configuration with the mock-free minimum: one local provider reading `users_file`,
/// `extra` lines in its block, and an `[[upstream]]`.
fn config_toml(users_file: &str, extra: &str) -> String {
    format!(
        r#"[server]
listen = "127.0.0.1:4180"
public_url = "http://127.0.0.1:4180"

[session]
secret = "${{SECRET}}"

[[provider]]
id = "corp"
kind = "oidc"
issuer = "https://login.example.com"
client_id = "portcullis"
client_secret = "client-secret"

[[provider]]
id = "local"
kind = "local"
name = "Staff account"
users_file = {users_file}
{extra}

[authorize]
email_domains = ["example.com"]

[[upstream]]
path = "/"
url = "http://127.0.0.1:8080"
"#,
        users_file = toml_str(users_file),
    )
}

fn parse(source: &str) -> Result<Config, ConfigErrors> {
    let env = HashMap::from([("SECRET".to_owned(), "ab".repeat(32))]);
    Config::parse(source, "providers.toml", &|name| env.get(name).cloned())
}

/// Runs `portcullis check` on `source` written next to the users file; returns the exit code
/// and stderr.
fn check(users: &UsersFile, source: &str) -> (Option<i32>, String) {
    let config = users.dir().join("providers.toml");
    std::fs::write(&config, source.replace("${SECRET}", &"ab".repeat(32))).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .arg("--config")
        .arg(&config)
        .arg("check")
        .output()
        .unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// 1-based line of the first line of `source` containing `needle`.
fn line_of(source: &str, needle: &str) -> usize {
    source
        .lines()
        .position(|line| line.contains(needle))
        .unwrap()
        + 1
}

#[test]
fn check_accepts_a_good_users_file_relative_to_the_config() {
    let users = UsersFile::create(&[User::new("alice")]);

    let (code, stderr) = check(&users, &config_toml("users.toml", ""));

    assert_eq!(code, Some(0), "{stderr}");
}

#[test]
fn check_names_each_problem_of_the_users_file_with_its_line_and_column() {
    let good = render_users(&[User::new("alice")]);
    let source = format!(
        "{good}[[user]]\nusername = \"bob\"\nemail = \"bob@example.com\"\n\
         password_hash = \"$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW\"\n\
         passwrd = \"hunter2\"\n"
    );
    let users = UsersFile::create_raw(&source);

    let (code, stderr) = check(&users, &config_toml("users.toml", ""));

    assert_eq!(code, Some(1), "{stderr}");
    let file = users.path().display().to_string();
    for needle in ["$2b$12$", "passwrd"] {
        let at = format!("{file}:{}:", line_of(&source, needle));
        let line = stderr
            .lines()
            .find(|line| line.starts_with(&at))
            .unwrap_or_else(|| panic!("no problem at {at}: {stderr}"));
        let column = line[at.len()..].split(':').next().unwrap();
        assert!(column.parse::<usize>().is_ok_and(|c| c >= 1), "{line}");
    }
}

#[test]
fn check_names_the_users_file_key_when_the_file_is_missing() {
    let users = UsersFile::create(&[]);

    let (code, stderr) = check(&users, &config_toml("missing-users.toml", ""));

    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("provider[1].users_file"), "{stderr}");
    assert!(stderr.contains("missing-users.toml"), "{stderr}");
}

#[test]
fn keys_and_values_that_do_not_fit_a_local_provider_are_refused() {
    let users = UsersFile::create(&[User::new("alice")]);
    let path = users.path().display().to_string();
    let cases = [
        ("client_id = \"portcullis\"", "provider[1].client_id"),
        (
            "token_lifetime = \"1h\"\nrefresh_lifetime = \"30m\"",
            "provider[1].refresh_lifetime",
        ),
        (
            "password_grant = true\nclients = [{ id = \"ci\", secret = \"short-secret\" }]",
            "provider[1].clients[0].secret",
        ),
    ];

    for (extra, key) in cases {
        let source = config_toml(&path, extra);
        let errors = parse(&source)
            .err()
            .unwrap_or_else(|| panic!("accepted:\n{source}"));
        assert!(
            errors.0.iter().any(|e| e.key == key && e.line > 0),
            "{key} not named in:\n{errors}"
        );
    }
    parse(&config_toml(&path, "password_grant = true")).unwrap();
}

#[test]
fn a_users_file_on_an_oidc_provider_is_refused() {
    let users = UsersFile::create(&[User::new("alice")]);
    let source = config_toml(&users.path().display().to_string(), "").replace(
        "client_secret = \"client-secret\"\n",
        &format!(
            "client_secret = \"client-secret\"\nusers_file = {}\n",
            toml_str(&users.path().display().to_string())
        ),
    );

    let errors = parse(&source).err().unwrap();

    assert!(
        errors.0.iter().any(|e| e.key == "provider[0].users_file"),
        "{errors}"
    );
}
