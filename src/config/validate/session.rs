//! `[session]`: the cookie encryption secrets, cookie name, domain and lifetime.

use std::time::Duration;

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use url::{Host, Url};

use super::{Checker, Str};
use crate::config::raw::RawSession;
use crate::config::{SessionConfig, SessionSecret};

const MIN_SECRET_BYTES: usize = 32;
const DEFAULT_COOKIE_NAME: &str = "_portcullis";
const DEFAULT_LIFETIME: Duration = Duration::from_secs(12 * 60 * 60);
const MAX_LOGIN_TIMEOUT: Duration = Duration::from_secs(10 * 60);
const DEFAULT_REFRESH_BEFORE: Duration = Duration::from_secs(60);

impl Checker<'_, '_> {
    pub(super) fn session(
        &mut self,
        raw: Option<&RawSession>,
        needs_secret: bool,
        public_url: Option<&Url>,
    ) -> Option<SessionConfig> {
        let mut complete = true;
        let secret = match raw.and_then(|raw| raw.secret.as_ref()) {
            Some(secret) => {
                let decoded = self
                    .text(secret, "session.secret")
                    .and_then(|text| self.secret(&text, "session.secret"));
                complete &= decoded.is_some();
                decoded
            }
            None => {
                if needs_secret {
                    self.missing(
                        "session",
                        "session.secret",
                        "`secret` is required under [session] when a provider other than \"dev\" \
                         is configured: run `portcullis secret` and set \
                         secret = \"${PORTCULLIS_SECRET}\" with its output in that variable",
                    );
                    complete = false;
                }
                None
            }
        };
        let mut previous_secrets = Vec::new();
        for (index, raw) in raw
            .and_then(|raw| raw.previous_secrets.as_ref())
            .into_iter()
            .flatten()
            .enumerate()
        {
            let key = format!("session.previous_secrets[{index}]");
            match self
                .text(raw, &key)
                .and_then(|text| self.secret(&text, &key))
            {
                Some(secret) => previous_secrets.push(secret),
                None => complete = false,
            }
        }
        let cookie_name = self.optional(
            raw.and_then(|raw| raw.cookie_name.as_ref()),
            "session.cookie_name",
            |this, text, key| this.cookie_name(text, key),
        );
        let lifetime = self.optional(
            raw.and_then(|raw| raw.lifetime.as_ref()),
            "session.lifetime",
            |this, text, key| this.duration(&text, key),
        );
        let login_timeout = self.optional(
            raw.and_then(|raw| raw.login_timeout.as_ref()),
            "session.login_timeout",
            |this, text, key| {
                let duration = this.duration(&text, key)?;
                if duration > MAX_LOGIN_TIMEOUT {
                    this.error(
                        text.offset,
                        key,
                        "a login may stay open at most 10 minutes: write \"10m\" or less",
                    );
                    return None;
                }
                Some(duration)
            },
        );
        let cookie_domain = self.optional(
            raw.and_then(|raw| raw.cookie_domain.as_ref()),
            "session.cookie_domain",
            |this, text, key| this.cookie_domain(&text, key, public_url),
        );
        let store = self.session_store(raw);
        let idle_timeout = self.optional(
            raw.and_then(|raw| raw.idle_timeout.as_ref()),
            "session.idle_timeout",
            |this, text, key| this.duration(&text, key),
        );
        let refresh_before = self.optional(
            raw.and_then(|raw| raw.refresh_before.as_ref()),
            "session.refresh_before",
            |this, text, key| this.duration(&text, key),
        );
        let (store, redis) = store?;
        Some(SessionConfig {
            store,
            redis,
            idle_timeout: idle_timeout?,
            refresh: raw.and_then(|raw| raw.refresh),
            refresh_before: refresh_before?.unwrap_or(DEFAULT_REFRESH_BEFORE),
            secret: complete.then_some(secret)?,
            previous_secrets,
            cookie_name: cookie_name?.unwrap_or_else(|| DEFAULT_COOKIE_NAME.to_owned()),
            lifetime: lifetime?.unwrap_or(DEFAULT_LIFETIME),
            login_timeout: login_timeout?.unwrap_or(MAX_LOGIN_TIMEOUT),
            cookie_domain: cookie_domain?,
        })
    }

    /// A domain name the public URL's host is within, or the cookie would never come back
    /// to the gateway (browsers refuse a `Domain` that does not domain-match the host,
    /// RFC 6265 §5.3 step 6). `public_url` is `None` when it was itself invalid.
    fn cookie_domain(&mut self, text: &Str, key: &str, public_url: Option<&Url>) -> Option<String> {
        let domain = match parse_cookie_domain(&text.value) {
            Ok(domain) => domain,
            Err(message) => {
                self.error(text.offset, key, message);
                return None;
            }
        };
        let host = public_url.and_then(|url| match url.host() {
            Some(Host::Domain(host)) => Some(host.to_owned()),
            _ => None,
        });
        match host {
            Some(host) if domain_covers(&domain, &host) => Some(domain),
            Some(host) => {
                self.error(
                    text.offset,
                    key,
                    format!(
                        "the public_url's host `{host}` is not within `{domain}`, so browsers \
                         would refuse the cookie: set cookie_domain to the public_url's host or \
                         a parent domain of it, like \".{}\"",
                        host.split_once('.')
                            .map_or(host.as_str(), |(_, parent)| parent)
                    ),
                );
                None
            }
            None if public_url.is_some() => {
                self.error(
                    text.offset,
                    key,
                    "a cookie domain needs a public_url with a host name, not an IP address",
                );
                None
            }
            None => Some(domain),
        }
    }

    fn secret(&mut self, text: &Str, key: &str) -> Option<SessionSecret> {
        let problem = match decode_secret(&text.value) {
            Some(bytes) if bytes.len() >= MIN_SECRET_BYTES => return Some(SessionSecret(bytes)),
            Some(bytes) => format!(
                "the secret decodes to {} bytes, fewer than the {MIN_SECRET_BYTES} needed: run \
                 `portcullis secret` to generate one",
                bytes.len()
            ),
            None => "the secret is neither hex nor base64: run `portcullis secret` to generate \
                     one"
            .to_owned(),
        };
        self.error(text.offset, key, problem);
        None
    }

    fn cookie_name(&mut self, text: Str, key: &str) -> Option<String> {
        if is_token(&text.value) {
            return Some(text.value);
        }
        self.error(
            text.offset,
            key,
            format!(
                "`{}` is not a valid cookie name: use letters, digits and !#$%&'*+-.^_`|~ only \
                 (an RFC 6265 token), like \"_portcullis\"",
                text.value
            ),
        );
        None
    }
}

/// Hex when the text is an even number of hex digits, else base64 (standard or URL-safe,
/// padded or not). Surrounding whitespace is ignored.
fn decode_secret(text: &str) -> Option<Vec<u8>> {
    let text = text.trim();
    if !text.is_empty() && text.len() % 2 == 0 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return decode_hex(text);
    }
    let config =
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
    [alphabet::STANDARD, alphabet::URL_SAFE]
        .iter()
        .find_map(|alphabet| GeneralPurpose::new(alphabet, config).decode(text).ok())
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    text.as_bytes()
        .chunks(2)
        .map(|pair| {
            let pair = std::str::from_utf8(pair).ok()?;
            u8::from_str_radix(pair, 16).ok()
        })
        .collect()
}

/// A domain name for the `Domain` attribute: lower-cased, a leading dot dropped (RFC 6265
/// §5.2.3 ignores it), no IP address, port, path or wildcard.
fn parse_cookie_domain(value: &str) -> Result<String, String> {
    let value = value.trim();
    let name = value.strip_prefix('.').unwrap_or(value);
    let plain =
        |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') || !c.is_ascii();
    let problem = format!(
        "`{value}` is not a domain name: write the domain whose subdomains should share the \
         sign-in, like \".example.com\" (no scheme, port, path, wildcard or IP address)"
    );
    if name.is_empty() || !name.chars().all(plain) {
        return Err(problem);
    }
    match Host::parse(name) {
        Ok(Host::Domain(domain)) if !domain.starts_with('.') && !domain.ends_with('.') => {
            Ok(domain)
        }
        _ => Err(problem),
    }
}

/// `host` is `domain` or a subdomain of it (RFC 6265 §5.1.3 domain-match).
fn domain_covers(domain: &str, host: &str) -> bool {
    host == domain
        || host
            .strip_suffix(domain)
            .is_some_and(|label| label.ends_with('.'))
}

/// RFC 6265 §4.1.1 cookie-name: an RFC 2616 token (visible ASCII except separators).
fn is_token(name: &str) -> bool {
    const SEPARATORS: &[u8] = b"()<>@,;:\\\"/[]?={} \t";
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_graphic() && !SEPARATORS.contains(&b))
}

#[cfg(test)]
mod tests;
