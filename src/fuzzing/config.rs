//! The `config` target: the configuration loader.

use super::outcome::{ensure, Outcome};
use crate::config::Config;
use crate::proxy::RouteTable;

/// The variables `${VAR}` may name in fuzzed files.
fn config_env(name: &str) -> Option<String> {
    match name {
        "SECRET" => Some("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f".into()),
        "PORTCULLIS_SECRET" => Some("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8".into()),
        "CLIENT_SECRET" => Some("client-secret-value".into()),
        "ISSUER_HOST" => Some("sso.example.com".into()),
        "EMPTY" => Some(String::new()),
        "ISSUER" => Some("https://sso.example.com".into()),
        _ => None,
    }
}

/// `Config::parse` of the input (the file must be UTF-8, as `Config::load` reads it): it
/// never panics; a refusal lists at least one problem, each naming the file and a line and
/// column inside it, none an internal error; an accepted file builds its route table.
pub fn config(data: &[u8]) -> Outcome {
    let Ok(source) = std::str::from_utf8(data) else {
        return Ok(());
    };
    match Config::parse(source, "fuzz.toml", &config_env) {
        Ok(config) => {
            let routes = RouteTable::new(config.upstreams);
            ensure(!routes.upstreams().is_empty(), || {
                "a configuration without upstreams was accepted".to_owned()
            })
        }
        Err(errors) => {
            ensure(!errors.0.is_empty(), || {
                "refused without a reason".to_owned()
            })?;
            let lines: Vec<&str> = source.split('\n').collect();
            for error in &errors.0 {
                let line_length = lines
                    .get(error.line.saturating_sub(1))
                    .map_or(0, |line| line.chars().count());
                ensure(
                    error.file == "fuzz.toml"
                        && (1..=lines.len()).contains(&error.line)
                        && (1..=line_length + 1).contains(&error.column),
                    || format!("no position in the file: {error:?}"),
                )?;
                ensure(
                    !error.message.is_empty() && !error.message.starts_with("internal error"),
                    || format!("an unhelpful message: {error:?}"),
                )?;
            }
            Ok(())
        }
    }
}
