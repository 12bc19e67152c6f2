//! Post-login destinations: the `rd` parameter, validated so that it can never become an
//! open redirect (DESIGN §5 item 4).
//!
//! A [`RedirectTarget`] is either a local path (`/` not followed by `/` or `\`, no control
//! characters, no backslash, no scheme) or an absolute `http(s)` URL on an allowed host;
//! anything else becomes `/`. The checks assume a hostile sender and lenient consumers:
//! browsers that strip tabs and newlines, read `\` as `/`, resolve `..` and map Unicode
//! look-alikes (`／`, `∕`, `＼`), and servers that percent-decode a value once more. A local
//! path is therefore checked at every percent-decoding layer (IIS's `%uXXXX` escapes too,
//! as the routing checks read them), after dot-segment removal
//! (RFC 3986 §5.2.4), and must keep its first segment ASCII. An absolute URL is parsed with
//! the WHATWG parser browsers use, matched on the host it really names, and returned in its
//! serialised form, so what was checked is exactly what the browser is sent to.

use std::fmt;

use crate::percent;

mod absolute;

/// Longer values are refused, before and after percent-encoding: `rd` travels in the flow
/// cookie and a `Location` header.
const MAX_LEN: usize = 2048;

/// Percent-decoding layers examined before a still-changing value is refused outright.
const MAX_DECODE_LAYERS: usize = 4;

/// A validated post-login destination.
///
/// [`as_str`](Self::as_str) is always visible ASCII, fit for a `Location` header as is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RedirectTarget(String);

impl RedirectTarget {
    /// Validates `raw` (the already-decoded `rd` query value; `None` or empty gives `/`).
    ///
    /// Accepts a local path: starts with `/`, the next character is not `/` or `\`, no
    /// control characters (C0, DEL, C1), no backslash anywhere, a first segment in ASCII,
    /// and none of this undone by further percent-decoding or `..` resolution. Or an
    /// absolute `http`/`https` URL without userinfo whose host is in `allowed_hosts`: exact
    /// hostnames (`app.example.com`) or, with a leading dot, a domain and its subdomains
    /// (`.example.com`); ports are ignored and case does not matter, and a host name with an
    /// empty label (`https://.example.com`, `https://a..example.com`) names nothing. Anything
    /// else is `/`.
    pub(crate) fn parse(raw: Option<&str>, allowed_hosts: &[String]) -> RedirectTarget {
        raw.filter(|value| !value.is_empty())
            .and_then(|value| validate(value, allowed_hosts))
            .map_or_else(Self::root, RedirectTarget)
    }

    /// The destination, ready for a `Location` header.
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }

    /// The gateway's root, `/`: the destination when `rd` is absent or refused.
    pub(crate) fn root() -> RedirectTarget {
        RedirectTarget("/".to_owned())
    }
}

impl Default for RedirectTarget {
    fn default() -> Self {
        Self::root()
    }
}

impl fmt::Display for RedirectTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn validate(raw: &str, allowed_hosts: &[String]) -> Option<String> {
    if raw.len() > MAX_LEN || raw.chars().any(|c| c.is_control() || c == '\\') {
        return None;
    }
    let target = if raw.starts_with('/') {
        local_path(raw)
    } else {
        absolute::absolute_url(raw, allowed_hosts)
    };
    // Percent-encoding can triple a value; what is returned must also fit, or validating it
    // again (the callback does, from the flow cookie) would give `/`.
    target.filter(|target| target.len() <= MAX_LEN)
}

/// Checks the path part of `raw` at every percent-decoding layer; the query and fragment
/// cannot move the request to another origin and are kept as they are.
fn local_path(raw: &str) -> Option<String> {
    let path_end = raw.find(['?', '#']).unwrap_or(raw.len());
    let mut layer = raw.get(..path_end)?.as_bytes().to_vec();
    for _ in 0..=MAX_DECODE_LAYERS {
        if !is_safe_path(&String::from_utf8_lossy(&layer)) {
            return None;
        }
        let next = percent::decode_with_iis(&layer);
        if next == layer {
            return Some(encode_non_visible(raw));
        }
        layer = next;
    }
    None
}

fn is_safe_path(path: &str) -> bool {
    let Some(after_slash) = path.strip_prefix('/') else {
        return false;
    };
    if after_slash.starts_with(['/', '\\']) || path.chars().any(|c| c.is_control() || c == '\\') {
        return false;
    }
    let Some(normalised) = remove_dot_segments(path) else {
        return false;
    };
    first_segment_is_ascii(path) && first_segment_is_ascii(&normalised)
}

/// RFC 3986 §5.2.4 for an absolute path; `None` when the result would start with `//`,
/// which a later re-parse would read as an authority (`/..//evil.com`, `/.//evil.com`).
fn remove_dot_segments(path: &str) -> Option<String> {
    let mut out: Vec<&str> = Vec::new();
    for segment in path.split('/').skip(1) {
        match segment {
            "." => {}
            ".." => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    if out.len() > 1 && out.first().is_some_and(|first| first.is_empty()) {
        return None;
    }
    Some(format!("/{}", out.join("/")))
}

/// Non-ASCII in the first segment is where Unicode slash look-alikes (`／`, `∕`, `⁄`, `＼`)
/// could be folded into an authority.
fn first_segment_is_ascii(path: &str) -> bool {
    path.chars()
        .skip(1)
        .take_while(|c| *c != '/')
        .all(|c| c.is_ascii())
}

/// Percent-encodes what is not visible ASCII or is HTML-sensitive (space, `"`, `<`, `>`,
/// `` ` ``, non-ASCII), as browsers do for paths; everything else is kept byte for byte.
fn encode_non_visible(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        if c.is_ascii_graphic() && !matches!(c, '"' | '<' | '>' | '`') {
            out.push(c);
        } else {
            let mut buf = [0u8; 4];
            for byte in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{byte:02X}"));
            }
        }
    }
    out
}

#[cfg(test)]
mod properties;
#[cfg(test)]
mod tests;
