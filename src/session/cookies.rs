//! Reading and writing the gateway's cookies: the session cookie (split into numbered chunks
//! when it would exceed what browsers keep, about 4 KB per cookie) and per-login flow cookies.

use std::borrow::Cow;
use std::time::Duration;

use axum::http::{header, HeaderMap, HeaderValue};
use cookie::{Cookie, SameSite};

/// Largest value stored in one cookie; browsers keep at least 4096 bytes per cookie
/// including its name and attributes (RFC 6265 §6.1).
const CHUNK_SIZE: usize = 3800;
/// More than this many chunks is not a session the gateway wrote.
const MAX_CHUNKS: usize = 10;
/// The longest sealed session the cookies hold.
pub(crate) const SESSION_CAPACITY: usize = CHUNK_SIZE * MAX_CHUNKS;
/// The longest sealed session that fits one cookie.
pub(crate) const ONE_COOKIE: usize = CHUNK_SIZE;

/// Attributes shared by all the gateway's cookies.
#[derive(Debug, Clone)]
pub(crate) struct CookieSettings {
    /// The session cookie's name; chunks are `{name}_0`, `{name}_1`, …; flow cookies
    /// `{name}_flow_…`. Everything with this name or prefix is the gateway's.
    pub(crate) name: String,
    /// `Secure` when the public URL is https.
    pub(crate) secure: bool,
    pub(crate) lifetime: Duration,
    /// `session.cookie_domain`: the session cookie's `Domain` attribute, so it is sent to
    /// every subdomain (RFC 6265 §5.2.3); `None` for a host-only cookie. Flow cookies are
    /// always host-only: only the gateway's callback needs them.
    pub(crate) domain: Option<String>,
}

/// A sealed session longer than [`MAX_CHUNKS`] chunks hold: its cookies would not be read
/// back, and the browser would be signed out as soon as it was signed in.
#[derive(Debug, thiserror::Error)]
#[error("the session is {0} bytes, more than the {limit} its cookies hold", limit = CHUNK_SIZE * MAX_CHUNKS)]
pub(crate) struct SessionTooLarge(pub(crate) usize);

/// The cookies of one request, read from its `Cookie` fields where they are asked for:
/// nothing is copied or collected (a session cookie is a kilobyte or more, and a browser
/// sends the other cookies of the site too), and a lookup stops at the first pair of its name.
pub(crate) struct CookieJar<'a> {
    settings: &'a CookieSettings,
    headers: &'a HeaderMap,
}

/// A `Cookie` field value's bytes, `None` when it holds a byte outside ASCII. A field value
/// has no control character but HTAB (`HeaderValue` admits none, and hyper's parser none),
/// so this is where `HeaderValue::to_str` succeeds, checked a word at a time rather than a
/// byte at a time: a session cookie is a kilobyte or more on every request.
fn ascii_field(value: &HeaderValue) -> Option<&[u8]> {
    let bytes = value.as_bytes();
    bytes.is_ascii().then_some(bytes)
}

/// The `(name, value)` pairs of one `Cookie` field value (RFC 6265 §5.4, read as the
/// `cookie` crate's `Cookie::split_parse` reads it, as the tests check): pairs
/// split at `;`, white space around names and values dropped, a pair without `=` or with an
/// empty name skipped, a value's quotes kept.
fn cookie_pairs(field: &[u8]) -> impl Iterator<Item = (&str, &str)> {
    // ASCII (`ascii_field`): every piece reads as text.
    let pairs =
        crate::fields::split_at_semicolons(field).filter_map(|pair| std::str::from_utf8(pair).ok());
    pairs.filter_map(|pair| {
        let (name, value) = pair.split_once('=')?;
        let name = name.trim_matches(is_white);
        (!name.is_empty()).then(|| (name, value.trim_matches(is_white)))
    })
}

/// The white space a field value can hold (`HeaderValue` admits no other control character).
fn is_white(c: char) -> bool {
    c == ' ' || c == '\t'
}

impl<'a> CookieJar<'a> {
    pub(crate) fn from_headers(
        settings: &'a CookieSettings,
        headers: &'a HeaderMap,
    ) -> CookieJar<'a> {
        CookieJar { settings, headers }
    }

    /// The value of the first cookie named `name`.
    pub(crate) fn get(&self, name: &str) -> Option<&'a str> {
        self.iter().find(|&(n, _)| n == name).map(|(_, v)| v)
    }

    /// The attributes this jar writes cookies with.
    pub(crate) fn settings(&self) -> &CookieSettings {
        self.settings
    }

    /// Every `(name, value)` of the request, in the order sent.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        self.headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(ascii_field)
            .flat_map(cookie_pairs)
    }

    /// The session cookie's value, joined from its chunks when it was split (borrowed from
    /// the jar when it came whole, as it does on nearly every request).
    pub(crate) fn session_value(&self) -> Option<Cow<'_, str>> {
        if let Some(value) = self.get(&self.settings.name) {
            return Some(Cow::Borrowed(value));
        }
        let mut joined = String::new();
        for i in 0..MAX_CHUNKS {
            match self.get(&chunk_name(&self.settings.name, i)) {
                Some(part) => joined.push_str(part),
                None if i == 0 => return None,
                None => break,
            }
        }
        Some(Cow::Owned(joined))
    }

    /// `Set-Cookie` values that store `sealed` as the session and remove any leftover form
    /// (whole or chunked) from an earlier session.
    pub(crate) fn set_session(&self, sealed: &str) -> Result<Vec<HeaderValue>, SessionTooLarge> {
        if sealed.len() > CHUNK_SIZE * MAX_CHUNKS {
            return Err(SessionTooLarge(sealed.len()));
        }
        let name = &self.settings.name;
        let max_age = self.settings.lifetime;
        let mut out = Vec::new();
        let domain = self.settings.domain.as_deref();
        if sealed.len() <= CHUNK_SIZE {
            out.push(self.cookie(name, sealed, "/", domain, Some(max_age)));
            out.extend(self.clear_chunks(0));
        } else {
            let chunks: Vec<&str> = split_ascii(sealed, CHUNK_SIZE);
            for (i, chunk) in chunks.iter().enumerate() {
                out.push(self.cookie(&chunk_name(name, i), chunk, "/", domain, Some(max_age)));
            }
            out.extend(self.clear_chunks(chunks.len()));
            if self.get(name).is_some() {
                out.extend(self.expire_session_cookie(name));
            }
        }
        Ok(out)
    }

    /// `Set-Cookie` values that remove the session in every form this request carries
    /// (and the plain one, always).
    pub(crate) fn clear_session(&self) -> Vec<HeaderValue> {
        let mut out = self.expire_session_cookie(&self.settings.name);
        out.extend(self.clear_chunks(0));
        out
    }

    fn clear_chunks(&self, from: usize) -> Vec<HeaderValue> {
        (from..MAX_CHUNKS)
            .map(|i| chunk_name(&self.settings.name, i))
            .filter(|chunk| self.get(chunk).is_some())
            .flat_map(|chunk| self.expire_session_cookie(&chunk))
            .collect()
    }

    /// Deletes a session cookie (or chunk) under the configured domain and, since a browser
    /// may still hold one from before `cookie_domain` was set, also the host-only one.
    fn expire_session_cookie(&self, name: &str) -> Vec<HeaderValue> {
        let mut out = vec![self.expire(name, "/")];
        if let Some(domain) = self.settings.domain.as_deref() {
            out.insert(
                0,
                self.cookie(name, "", "/", Some(domain), Some(Duration::ZERO)),
            );
        }
        out
    }

    /// A host-only cookie scoped to `path`, HttpOnly, SameSite=Lax, Secure on https.
    pub(crate) fn build(
        &self,
        name: &str,
        value: &str,
        path: &str,
        max_age: Option<Duration>,
    ) -> HeaderValue {
        self.cookie(name, value, path, None, max_age)
    }

    /// A `Set-Cookie` that deletes the host-only cookie `name` at `path`.
    pub(crate) fn expire(&self, name: &str, path: &str) -> HeaderValue {
        self.cookie(name, "", path, None, Some(Duration::ZERO))
    }

    /// The one place cookie attributes are decided; a zero `max_age` deletes the cookie
    /// (with an `Expires` in the past for old browsers).
    fn cookie(
        &self,
        name: &str,
        value: &str,
        path: &str,
        domain: Option<&str>,
        max_age: Option<Duration>,
    ) -> HeaderValue {
        let mut cookie = Cookie::new(name.to_owned(), value.to_owned());
        cookie.set_path(path.to_owned());
        if let Some(domain) = domain {
            cookie.set_domain(domain.to_owned());
        }
        cookie.set_http_only(true);
        cookie.set_same_site(SameSite::Lax);
        cookie.set_secure(self.settings.secure);
        if let Some(max_age) = max_age {
            let secs = i64::try_from(max_age.as_secs()).unwrap_or(i64::MAX);
            cookie.set_max_age(cookie::time::Duration::seconds(secs));
            if max_age.is_zero() {
                cookie.set_expires(cookie::time::OffsetDateTime::UNIX_EPOCH);
            }
        }
        header_value(&cookie)
    }
}

fn header_value(cookie: &Cookie<'_>) -> HeaderValue {
    // Names and values are base64url text or fixed ASCII, always valid header bytes.
    HeaderValue::from_str(&cookie.to_string()).unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn chunk_name(name: &str, i: usize) -> String {
    format!("{name}_{i}")
}

/// Splits ASCII text (base64url) into pieces of at most `size` bytes.
fn split_ascii(text: &str, size: usize) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let at = rest.len().min(size);
        let (head, tail) = rest.split_at_checked(at).unwrap_or((rest, ""));
        parts.push(head);
        rest = tail;
    }
    parts
}

#[cfg(test)]
mod tests;
