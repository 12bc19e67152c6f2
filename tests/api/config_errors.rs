//! `providers.toml` problems are reported, all at once, with file, line and column, and
//! never panic (DESIGN §2; issue 2 point 3). Driven through the public `Config::parse`.

use std::collections::HashMap;

use portcullis::config::{Config, ConfigErrors};

const VALID: &str = r#"
[server]
listen = "127.0.0.1:4180"
public_url = "http://127.0.0.1:4180"

[session]
secret = "${SECRET}"

[[provider]]
id = "corp"
kind = "oidc"
issuer = "https://login.example.com"
client_id = "portcullis"
client_secret = "${CLIENT_SECRET}"

[authorize]
email_domains = ["example.com"]

[[upstream]]
path = "/"
url = "http://127.0.0.1:8080"
"#;

fn env() -> HashMap<String, String> {
    HashMap::from([
        ("SECRET".to_owned(), "ab".repeat(32)),
        ("CLIENT_SECRET".to_owned(), "client-secret".to_owned()),
    ])
}

fn parse(source: &str) -> Result<Config, ConfigErrors> {
    let env = env();
    Config::parse(source, "providers.toml", &|name| env.get(name).cloned())
}

fn errors(source: &str) -> ConfigErrors {
    match parse(source) {
        Ok(_) => panic!("accepted:\n{source}"),
        Err(errors) => errors,
    }
}

/// 1-based line of the first line of `source` containing `needle`.
fn line_of(source: &str, needle: &str) -> usize {
    source
        .lines()
        .position(|line| line.contains(needle))
        .map(|i| i + 1)
        .unwrap_or_else(|| panic!("{needle:?} not in the source"))
}

#[test]
fn the_reference_configuration_is_valid() {
    let config = parse(VALID).unwrap();

    assert_eq!(config.providers.len(), 1);
    assert_eq!(config.providers[0].id, "corp");
    assert_eq!(config.authorize.email_domains, vec!["example.com"]);
}

#[test]
fn an_unknown_key_is_named_with_its_line_and_column() {
    let source = VALID.replace("[server]\n", "[server]\nlisten_adress = \"x\"\n");

    let errors = errors(&source);

    let error = errors
        .0
        .iter()
        .find(|e| e.to_string().contains("listen_adress"))
        .unwrap_or_else(|| panic!("the unknown key is not named: {errors}"));
    assert_eq!(error.file, "providers.toml");
    assert_eq!(error.line, line_of(&source, "listen_adress"));
    assert_eq!(error.column, 1);
}

#[test]
fn a_missing_environment_variable_is_named() {
    let source = VALID.replace("${CLIENT_SECRET}", "${NOT_SET_ANYWHERE}");

    let errors = errors(&source);

    let error = errors
        .0
        .iter()
        .find(|e| e.to_string().contains("NOT_SET_ANYWHERE"))
        .unwrap_or_else(|| panic!("the variable is not named: {errors}"));
    assert_eq!(error.line, line_of(&source, "NOT_SET_ANYWHERE"));
}

#[test]
fn no_authorize_rule_is_an_error() {
    let source = VALID.replace("email_domains = [\"example.com\"]\n", "");

    let errors = errors(&source);

    assert!(
        errors.to_string().to_lowercase().contains("authorize"),
        "{errors}"
    );
}

#[test]
fn a_short_secret_is_an_error() {
    let env = HashMap::from([
        ("SECRET".to_owned(), "too-short".to_owned()),
        ("CLIENT_SECRET".to_owned(), "x".to_owned()),
    ]);

    let result = Config::parse(VALID, "providers.toml", &|name| env.get(name).cloned());

    let errors = result.expect_err("a short secret was accepted");
    let error = errors
        .0
        .iter()
        .find(|e| e.key.contains("secret") || e.to_string().contains("secret"))
        .unwrap_or_else(|| panic!("no secret error: {errors}"));
    assert_eq!(error.line, line_of(VALID, "secret = "));
}

#[test]
fn duplicate_provider_ids_are_an_error() {
    let second = "\n[[provider]]\nid = \"corp\"\nkind = \"oidc\"\nissuer = \"https://other.example.com\"\nclient_id = \"b\"\nclient_secret = \"s\"\n";
    let source = format!("{VALID}{second}");

    let errors = errors(&source);

    assert!(
        errors.0.iter().any(|e| e.to_string().contains("corp")),
        "{errors}"
    );
}

#[test]
fn every_problem_is_reported_not_just_the_first() {
    let source = VALID
        .replace("[server]\n", "[server]\nbogus = 1\n")
        .replace("https://login.example.com", "not a url")
        .replace("http://127.0.0.1:8080", "also not a url");

    let errors = errors(&source);

    assert!(
        errors.0.len() >= 3,
        "only {} reported: {errors}",
        errors.0.len()
    );
    assert!(errors.0.iter().all(|e| e.line > 0), "{errors}");
}

#[test]
fn a_wrong_type_is_an_error_not_a_panic() {
    let source = VALID.replace("listen = \"127.0.0.1:4180\"", "listen = 4180");

    let errors = errors(&source);

    assert_eq!(errors.0[0].line, line_of(&source, "listen = 4180"));
}

#[test]
fn garbage_input_is_an_error_not_a_panic() {
    for source in [
        "",
        "[[[",
        "server = 1",
        "\u{0}\u{1}",
        "[server]\nlisten = \"\"\n",
    ] {
        let result = parse(source);

        assert!(result.is_err(), "accepted {source:?}");
    }
}

#[test]
fn a_pages_template_that_does_not_parse_is_named_with_its_file_and_line() {
    let dir = std::env::temp_dir().join(format!("portcullis-config-errors-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("templates")).unwrap();
    let template = dir.join("templates/sign_in.html");
    std::fs::write(
        &template,
        "{% extends \"base.html\" %}\n{% block content %}\n{{ x }\n",
    )
    .unwrap();
    let source = format!("{VALID}\n[pages]\nlogo = \"logo.bmp\"\ntemplates_dir = \"templates\"\n");
    let env = env();

    let errors = Config::parse(
        &source,
        &dir.join("providers.toml").display().to_string(),
        &|name| env.get(name).cloned(),
    )
    .unwrap_err();
    std::fs::remove_dir_all(&dir).unwrap();

    let text = errors.to_string();
    let logo = format!(
        "{}:{}:8: pages.logo: the logo {} must be an .svg",
        dir.join("providers.toml").display(),
        line_of(&source, "logo = "),
        dir.join("logo.bmp").display()
    );
    assert!(text.contains(&logo), "{text}");
    let broken = format!(
        "{}:3: pages.templates_dir: syntax error",
        template.display()
    );
    assert!(text.contains(&broken), "{text}");
}

#[test]
fn a_mistyped_key_is_told_the_key_it_resembles_with_its_line_and_column() {
    for (after, typo, meant) in [
        (
            "[server]\n",
            "lisen = \"127.0.0.1:4180\"",
            "server.lisen: unknown key `lisen`, did you mean `listen`?",
        ),
        (
            "kind = \"oidc\"\n",
            "isuer = \"x\"",
            "provider[0].isuer: unknown key `isuer`, did you mean `issuer`?",
        ),
        (
            "[authorize]\n",
            "email_domain = [\"x\"]",
            "authorize.email_domain: unknown key `email_domain`, did you mean `email_domains`?",
        ),
    ] {
        let source = VALID.replacen(after, &format!("{after}{typo}\n"), 1);

        let errors = errors(&source);

        let expected = format!("providers.toml:{}:1: {meant}", line_of(&source, typo));
        assert!(
            errors.0.iter().any(|error| error.to_string() == expected),
            "{expected} not in:\n{errors}"
        );
    }
}

#[test]
fn an_unknown_key_like_no_documented_one_lists_them_all() {
    let source = VALID.replace("[server]\n", "[server]\ncolour = \"blue\"\n");

    let errors = errors(&source);

    let error = errors.0.iter().find(|e| e.key == "server.colour").unwrap();
    assert!(
        error
            .message
            .starts_with("unknown key `colour`, expected one of `listen`, `public_url`"),
        "{error}"
    );
}

#[test]
fn a_duration_written_as_a_number_is_told_how_to_write_one() {
    let source = VALID
        .replace("[session]\n", "[session]\nlifetime = 12\n")
        .replace("[[upstream]]\n", "[[upstream]]\ntimeout = 30\n");

    let errors = errors(&source);

    for (key, line, column) in [
        ("session.lifetime", line_of(&source, "lifetime = 12"), 12),
        ("upstream[0].timeout", line_of(&source, "timeout = 30"), 11),
    ] {
        let error = errors
            .0
            .iter()
            .find(|e| e.key == key)
            .unwrap_or_else(|| panic!("{key} not in:\n{errors}"));
        assert_eq!((error.line, error.column), (line, column), "{error}");
        assert!(
            error
                .message
                .ends_with("expected a duration in quotes, like \"90s\", \"15m\" or \"12h\""),
            "{error}"
        );
    }
}
