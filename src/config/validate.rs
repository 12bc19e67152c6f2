//! The one `validate` step: raw `providers.toml` → domain [`Config`], collecting every problem.
//!
//! Each check reports what is wrong, where (file, line, column, TOML path) and how to fix it,
//! then carries on, so `portcullis check` lists every problem at once. Structural problems
//! (unknown keys, wrong types) come from `raw::parse`; the rules of DESIGN.md §2 live here.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use url::{Host, Url};

use super::errors::Diagnostics;
use super::expand::expand;
use super::raw::{self, RawConfig, Text};
use super::spans::Places;
use super::{Config, ConfigErrors};

mod authorize;
mod claims;
mod clients;
mod dev_port;
mod local;
#[cfg(test)]
mod local_tests;
mod pages;
#[cfg(test)]
mod preset_tests;
mod presets;
mod providers;
mod server;
mod session;
mod session_store;
mod skip_auth;
mod telemetry;
#[cfg(test)]
mod tests;
mod tls;
#[cfg(test)]
mod tls_tests;
mod upstreams;

/// Parses and validates `source`; see [`Config::parse`].
pub(super) fn validate(
    source: &str,
    file: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, ConfigErrors> {
    let mut diagnostics = Diagnostics::new(file, source);
    let Some(document) = raw::parse(&mut diagnostics) else {
        return Err(diagnostics.finish());
    };
    let mut checker = Checker {
        diagnostics,
        env,
        places: document.places,
    };
    match checker.config(document.config) {
        Some(config) if checker.diagnostics.is_empty() => Ok(config),
        _ => {
            if checker.diagnostics.is_empty() {
                // Every `None` above comes with a recorded problem; this keeps it so.
                checker.error(0, "", "internal error: the configuration is incomplete");
            }
            Err(checker.diagnostics.finish())
        }
    }
}

/// A string value after `${VAR}` substitution, with the offset of the value in the file.
struct Str {
    value: String,
    offset: usize,
}

struct Checker<'s, 'e> {
    diagnostics: Diagnostics<'s>,
    env: &'e dyn Fn(&str) -> Option<String>,
    places: Places,
}

impl Checker<'_, '_> {
    fn config(&mut self, raw: RawConfig) -> Option<Config> {
        let (listen, server) = self.server(raw.server.as_ref());
        let (providers, needs_secret) = self.providers(&raw.provider, listen);
        let public_url = server.as_ref().map(|server| &server.public_url);
        self.dev_port(
            raw.server.as_ref(),
            listen,
            public_url,
            providers.as_deref(),
        );
        let session = self.session(raw.session.as_ref(), needs_secret, public_url);
        let provider_ids: Option<Vec<String>> = providers
            .as_ref()
            .map(|list| list.iter().map(|provider| provider.id.clone()).collect());
        let authorize = self.authorize(raw.authorize.as_ref(), provider_ids.as_deref());
        let upstreams = self.upstreams(&raw.upstream, provider_ids.as_deref());
        let pages = self.pages(raw.pages.as_ref());
        let telemetry = self.telemetry(raw.telemetry.as_ref());
        let mut config = Config {
            server: server?,
            session: session?,
            providers: providers?,
            authorize: authorize?,
            upstreams: upstreams?,
            pages: pages?,
            telemetry: telemetry?,
        };
        tls::share_server_ca_file(&mut config);
        Some(config)
    }

    fn error(&mut self, offset: usize, key: &str, message: impl Into<String>) {
        self.diagnostics.error(offset, key, message);
    }

    /// `raw` after `${VAR}` substitution; every bad reference is reported at its own position.
    fn text(&mut self, raw: &Text, key: &str) -> Option<Str> {
        let span = raw.span();
        match expand(raw.get_ref(), self.env) {
            Ok(value) => Some(Str {
                value,
                offset: span.start,
            }),
            Err(errors) => {
                for error in errors {
                    let offset = self.offset_in_string(&span, raw.get_ref(), error.offset);
                    self.error(offset, key, error.message);
                }
                None
            }
        }
    }

    /// File offset of byte `inner` of a string value: exact when the value is written without
    /// escapes (the common case), else the start of the value.
    fn offset_in_string(&self, span: &Range<usize>, value: &str, inner: usize) -> usize {
        let written = self
            .diagnostics
            .source()
            .get(span.clone())
            .unwrap_or_default();
        let quote = if written.starts_with("\"\"\"") || written.starts_with("'''") {
            3
        } else {
            1
        };
        let content = written.get(quote..written.len().saturating_sub(quote));
        if content == Some(value) {
            span.start + quote + inner
        } else {
            span.start
        }
    }

    /// Reports a missing `key` at the start of `table`, unless it was already reported as
    /// unknown or mistyped.
    fn missing(&mut self, table: &str, key: &str, message: &str) {
        if !self.places.was_dropped(key) {
            let offset = self.places.table_start(table);
            self.error(offset, key, message);
        }
    }

    fn required(
        &mut self,
        raw: Option<&Text>,
        table: &str,
        key: &str,
        message: &str,
    ) -> Option<Str> {
        match raw {
            Some(raw) => self.text(raw, key),
            None => {
                self.missing(table, key, message);
                None
            }
        }
    }

    /// `Some(None)` when absent, `Some(Some(_))` when valid, `None` when a problem was reported.
    fn optional<T>(
        &mut self,
        raw: Option<&Text>,
        key: &str,
        check: impl FnOnce(&mut Self, Str, &str) -> Option<T>,
    ) -> Option<Option<T>> {
        match raw {
            None => Some(None),
            Some(raw) => {
                let text = self.text(raw, key)?;
                check(self, text, key).map(Some)
            }
        }
    }

    /// Every entry checked (keys like `authorize.emails[2]`), duplicates dropped.
    fn list(
        &mut self,
        raw: Option<&[Text]>,
        key: &str,
        mut check: impl FnMut(&mut Self, Str, &str) -> Option<String>,
    ) -> Option<Vec<String>> {
        let mut values: Vec<String> = Vec::new();
        let mut complete = true;
        for (index, raw) in raw.unwrap_or_default().iter().enumerate() {
            let key = format!("{key}[{index}]");
            match self
                .text(raw, &key)
                .and_then(|text| check(self, text, &key))
            {
                Some(value) if !values.contains(&value) => values.push(value),
                Some(_) => {}
                None => complete = false,
            }
        }
        complete.then_some(values)
    }

    fn non_empty(&mut self, text: Str, key: &str) -> Option<String> {
        if text.value.trim().is_empty() {
            self.error(text.offset, key, "must not be empty");
            return None;
        }
        Some(text.value)
    }

    /// An absolute `http://` or `https://` URL with a host and no query, fragment or
    /// credentials.
    fn web_url(&mut self, text: &Str, key: &str) -> Option<Url> {
        match check_web_url(&text.value) {
            Ok(url) => Some(url),
            Err(message) => {
                self.error(text.offset, key, message);
                None
            }
        }
    }

    /// A path to a file the configuration names, relative to the configuration file's
    /// directory unless written absolute (so the gateway finds it whatever its working
    /// directory).
    fn file_path(&mut self, text: Str, key: &str) -> Option<PathBuf> {
        let path = self.non_empty(text, key)?;
        Some(relative_to(self.diagnostics.file(), &path))
    }

    fn duration(&mut self, text: &Str, key: &str) -> Option<Duration> {
        let message = match humantime::parse_duration(&text.value) {
            Ok(duration) if duration.is_zero() => "the duration must be longer than zero".into(),
            Ok(duration) => return Some(duration),
            Err(err) => format!(
                "`{}` is not a duration ({err}); write it like \"90s\", \"15m\" or \"12h\"",
                text.value
            ),
        };
        self.error(text.offset, key, message);
        None
    }
}

/// `path` as written when absolute, else relative to the directory of the configuration file
/// `file`.
fn relative_to(file: &str, path: &str) -> PathBuf {
    let path = Path::new(path);
    if path.is_absolute() {
        return path.to_path_buf();
    }
    match Path::new(file).parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.join(path),
        _ => path.to_path_buf(),
    }
}

fn check_web_url(value: &str) -> Result<Url, String> {
    let url = Url::parse(value).map_err(|err| {
        format!("`{value}` is not an absolute URL ({err}), like \"https://example.com\"")
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("`{value}` must be an http:// or https:// URL"));
    }
    match url.host_str() {
        Some(host) if !host.is_empty() => {}
        _ => return Err(format!("`{value}` has no host")),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("the URL must not contain a user name or password".to_owned());
    }
    if url.query().is_some() {
        return Err(format!("`{value}` must not have a query (`?…`)"));
    }
    if url.fragment().is_some() {
        return Err(format!("`{value}` must not have a fragment (`#…`)"));
    }
    Ok(url)
}

/// `localhost`, `*.localhost` (RFC 6761 §6.3), `127.0.0.0/8` or `::1`.
fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        Some(Host::Domain(domain)) => {
            let domain = domain.to_ascii_lowercase();
            domain == "localhost" || domain.ends_with(".localhost")
        }
        None => false,
    }
}
