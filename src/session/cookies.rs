//! Reading and writing the gateway's cookies: the session cookie (split into numbered chunks
//! when it would exceed what browsers keep, about 4 KB per cookie) and per-login flow cookies.

use std::time::Duration;

use axum::http::{header, HeaderMap, HeaderValue};
use cookie::{Cookie, SameSite};

/// Largest value stored in one cookie; browsers keep at least 4096 bytes per cookie
/// including its name and attributes (RFC 6265 §6.1).
const CHUNK_SIZE: usize = 3800;
/// More than this many chunks is not a session the gateway wrote.
const MAX_CHUNKS: usize = 10;

/// Attributes shared by all the gateway's cookies.
#[derive(Debug, Clone)]
pub struct CookieSettings {
    /// The session cookie's name; chunks are `{name}_0`, `{name}_1`, …; flow cookies
    /// `{name}_flow_…`. Everything with this name or prefix is the gateway's.
    pub name: String,
    /// `Secure` when the public URL is https.
    pub secure: bool,
    pub lifetime: Duration,
}

/// The cookies of one request, parsed once.
pub struct CookieJar<'a> {
    settings: &'a CookieSettings,
    pairs: Vec<(String, String)>,
}

impl<'a> CookieJar<'a> {
    pub fn from_headers(settings: &'a CookieSettings, headers: &HeaderMap) -> CookieJar<'a> {
        let pairs = headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(Cookie::split_parse)
            .filter_map(Result::ok)
            .map(|cookie| (cookie.name().to_owned(), cookie.value().to_owned()))
            .collect();
        CookieJar { settings, pairs }
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The session cookie's value, joined from its chunks when it was split.
    pub fn session_value(&self) -> Option<String> {
        if let Some(value) = self.get(&self.settings.name) {
            return Some(value.to_owned());
        }
        let mut joined = String::new();
        for i in 0..MAX_CHUNKS {
            match self.get(&chunk_name(&self.settings.name, i)) {
                Some(part) => joined.push_str(part),
                None if i == 0 => return None,
                None => break,
            }
        }
        Some(joined)
    }

    /// `Set-Cookie` values that store `sealed` as the session and remove any leftover form
    /// (whole or chunked) from an earlier session.
    pub fn set_session(&self, sealed: &str) -> Vec<HeaderValue> {
        let name = &self.settings.name;
        let max_age = self.settings.lifetime;
        let mut out = Vec::new();
        if sealed.len() <= CHUNK_SIZE {
            out.push(self.build(name, sealed, "/", Some(max_age)));
            out.extend(self.clear_chunks(0));
        } else {
            let chunks: Vec<&str> = split_ascii(sealed, CHUNK_SIZE);
            for (i, chunk) in chunks.iter().enumerate() {
                out.push(self.build(&chunk_name(name, i), chunk, "/", Some(max_age)));
            }
            out.extend(self.clear_chunks(chunks.len()));
            if self.get(name).is_some() {
                out.push(self.expire(name, "/"));
            }
        }
        out
    }

    /// `Set-Cookie` values that remove the session in every form this request carries
    /// (and the plain one, always).
    pub fn clear_session(&self) -> Vec<HeaderValue> {
        let mut out = vec![self.expire(&self.settings.name, "/")];
        out.extend(self.clear_chunks(0));
        out
    }

    fn clear_chunks(&self, from: usize) -> Vec<HeaderValue> {
        (from..MAX_CHUNKS)
            .map(|i| chunk_name(&self.settings.name, i))
            .filter(|chunk| self.get(chunk).is_some())
            .map(|chunk| self.expire(&chunk, "/"))
            .collect()
    }

    /// A cookie scoped to `path`, HttpOnly, SameSite=Lax, Secure on https.
    pub fn build(
        &self,
        name: &str,
        value: &str,
        path: &str,
        max_age: Option<Duration>,
    ) -> HeaderValue {
        let mut cookie = Cookie::new(name.to_owned(), value.to_owned());
        cookie.set_path(path.to_owned());
        cookie.set_http_only(true);
        cookie.set_same_site(SameSite::Lax);
        cookie.set_secure(self.settings.secure);
        if let Some(max_age) = max_age {
            let secs = i64::try_from(max_age.as_secs()).unwrap_or(i64::MAX);
            cookie.set_max_age(cookie::time::Duration::seconds(secs));
        }
        header_value(&cookie)
    }

    /// A `Set-Cookie` that deletes `name` at `path`.
    pub fn expire(&self, name: &str, path: &str) -> HeaderValue {
        let mut cookie = Cookie::new(name.to_owned(), "");
        cookie.set_path(path.to_owned());
        cookie.set_http_only(true);
        cookie.set_same_site(SameSite::Lax);
        cookie.set_secure(self.settings.secure);
        cookie.set_max_age(cookie::time::Duration::ZERO);
        cookie.set_expires(cookie::time::OffsetDateTime::UNIX_EPOCH);
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
mod tests {
    use super::*;

    fn settings() -> CookieSettings {
        CookieSettings {
            name: "_portcullis".into(),
            secure: true,
            lifetime: Duration::from_secs(3600),
        }
    }

    fn request_with(cookies: &[String]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        let line = cookies.join("; ");
        headers.insert(header::COOKIE, HeaderValue::from_str(&line).unwrap());
        headers
    }

    /// Turns Set-Cookie values into the Cookie pairs a browser would send back.
    fn as_request_cookies(set: &[HeaderValue]) -> Vec<String> {
        set.iter()
            .map(|v| Cookie::parse(v.to_str().unwrap().to_owned()).unwrap())
            .filter(|c| !c.value().is_empty())
            .map(|c| format!("{}={}", c.name(), c.value()))
            .collect()
    }

    #[test]
    fn small_session_is_one_cookie_with_safe_attributes() {
        let s = settings();
        let jar = CookieJar::from_headers(&s, &HeaderMap::new());
        let set = jar.set_session("abc");
        assert_eq!(set.len(), 1);
        let text = set[0].to_str().unwrap();
        for attr in [
            "_portcullis=abc",
            "HttpOnly",
            "SameSite=Lax",
            "Secure",
            "Path=/",
            "Max-Age=3600",
        ] {
            assert!(text.contains(attr), "{text} lacks {attr}");
        }
    }

    #[test]
    fn large_session_is_chunked_and_reassembled() {
        let s = settings();
        let value: String = "x".repeat(9000);
        let set = CookieJar::from_headers(&s, &HeaderMap::new()).set_session(&value);
        assert_eq!(set.len(), 3);
        for v in &set {
            assert!(v.len() < 4096, "cookie too large: {}", v.len());
        }
        let headers = request_with(&as_request_cookies(&set));
        let jar = CookieJar::from_headers(&s, &headers);
        assert_eq!(jar.session_value().as_deref(), Some(value.as_str()));
    }

    #[test]
    fn shrinking_session_clears_old_chunks() {
        let s = settings();
        let headers = request_with(&["_portcullis_0=a".into(), "_portcullis_1=b".into()]);
        let set = CookieJar::from_headers(&s, &headers).set_session("small");
        let texts: Vec<&str> = set.iter().map(|v| v.to_str().unwrap()).collect();
        assert!(texts.iter().any(|t| t.starts_with("_portcullis=small")));
        assert!(texts
            .iter()
            .any(|t| t.starts_with("_portcullis_0=;") && t.contains("Max-Age=0")));
        assert!(texts
            .iter()
            .any(|t| t.starts_with("_portcullis_1=;") && t.contains("Max-Age=0")));
    }

    #[test]
    fn no_cookie_means_no_session() {
        let s = settings();
        let headers = request_with(&["other=1".into()]);
        assert_eq!(CookieJar::from_headers(&s, &headers).session_value(), None);
    }
}
