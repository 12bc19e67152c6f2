//! The path as upstream servers resolve it, for matching `skip_auth` patterns.
//!
//! A `skip_auth` pattern must only ever let through what it names, so the path it is matched
//! against is the one an upstream server will act on, and any path that servers could read
//! in different ways matches nothing (the request then needs a session like any other).
//! Written here because no crate does this: URL libraries normalise for *building* URLs
//! (the `url` crate keeps `%2e`, `;` and backslashes as they are for paths), not for deciding
//! what a server behind a proxy will see.

use crate::percent;

/// Characters whose escapes would change the path's structure if decoded.
const STRUCTURAL: &[u8] = b"/\\.;%?#";

/// The normalised form of `path` (the raw path of an origin-form request target), or `None`
/// when servers could disagree about what it names:
///
/// - percent-escapes are decoded once (RFC 3986 §2.1) — unless one encodes a character that
///   changes the path's structure (`/`, `\`, `.`, `;`, `%`, `?`, `#`) or a control character,
///   or is malformed;
/// - the result must be ASCII (no invalid or overlong UTF-8, and no Unicode that NFKC
///   normalisation could turn into dots or slashes);
/// - it must not contain `\` (a separator on Windows servers), `;` (matrix parameters, which
///   Tomcat and Jetty strip: `/admin;x=y` is `/admin` there), or a segment ending in `.` or
///   a space other than `.` and `..` themselves (Windows drops both);
/// - dot segments are removed (RFC 3986 §5.2.4) and repeated slashes collapsed — and if
///   doing these in either order gives different paths (`/a//../b`), `None`.
pub(crate) fn normalize_path(path: &str) -> Option<String> {
    if !path.starts_with('/') || path.contains(['?', '#', ';', '\\']) {
        return None;
    }
    let decoded = percent::decode_strictly(path.as_bytes(), STRUCTURAL)?;
    if decoded.iter().any(u8::is_ascii_control) {
        return None;
    }
    let decoded = String::from_utf8(decoded)
        .ok()
        .filter(|text| text.is_ascii())?;
    if decoded.contains(['\\', ';']) {
        return None;
    }
    let dots_first = collapse_slashes(&remove_dot_segments(&decoded));
    let slashes_first = remove_dot_segments(&collapse_slashes(&decoded));
    if dots_first != slashes_first {
        return None;
    }
    let trimmed_by_windows = dots_first
        .split('/')
        .any(|segment| segment.ends_with(['.', ' ']));
    (!trimmed_by_windows).then_some(dots_first)
}

/// RFC 3986 §5.2.4 for an absolute path: `.` segments vanish, `..` removes the segment before
/// it (never above the root), and a path ending in either ends with `/`.
fn remove_dot_segments(path: &str) -> String {
    let segments: Vec<&str> = path.strip_prefix('/').unwrap_or(path).split('/').collect();
    let last = segments.len().saturating_sub(1);
    let mut out: Vec<&str> = Vec::with_capacity(segments.len());
    for (index, segment) in segments.iter().enumerate() {
        match *segment {
            "." => {}
            ".." => {
                out.pop();
            }
            other => {
                out.push(other);
                continue;
            }
        }
        if index == last {
            out.push("");
        }
    }
    format!("/{}", out.join("/"))
}

/// Runs of `/` become one `/`, as nginx's `merge_slashes` and many frameworks do.
fn collapse_slashes(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for c in path.chars() {
        if !(c == '/' && out.ends_with('/')) {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests;
