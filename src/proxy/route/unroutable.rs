//! Paths the gateway refuses to route: those that some server behind it could read as
//! containing a dot segment (`.` or `..`, RFC 3986 §5.2.4), and so resolve into a path under
//! another route's policy (`/public/../admin`).
//!
//! Servers disagree on what counts, so the check is deliberately wide. A path is refused when,
//! at any level of percent-decoding (`%252e` is `%2e` once decoded, `.` twice; `%u002e` is
//! IIS's form), it has
//! - a segment, split on `/` or `\` (a separator on Windows servers), that is only dots once
//!   cut at `;` (matrix parameters: Tomcat reads `..;x` as `..`) or NUL, and stripped of
//!   trailing white space (`.. `), or whose dots are Unicode look-alikes that NFKC
//!   normalisation turns into dots or slashes (`．．`, `‥`, `／`);
//! - an overlong UTF-8 sequence (`%c0%ae` is a `.` to lenient decoders), never valid UTF-8.
//!
//! Browsers resolve dot segments before sending, so no honest request is refused.

use std::borrow::Cow;

use crate::percent;
use crate::percent::decode_with_iis as percent_decode_all;

/// Whether every check here and every reading of [`other_readings`] leaves `path` as it is,
/// so that routing it needs no decoding: a `/` first, then only ASCII letters, digits, `-`,
/// `_`, `~`, `.` and `/` (nothing to decode, no NUL, `;`, `\`, white space or non-ASCII), no
/// `//` (nothing to merge), and no segment ending in `.` (no segment of dots only, nothing
/// for Windows to trim). Most paths browsers and API clients send are plain.
pub(super) fn is_plain(path: &str) -> bool {
    let bytes = path.as_bytes();
    bytes.first() == Some(&b'/')
        && bytes.iter().all(|&byte| {
            byte.is_ascii_alphanumeric() || matches!(byte, b'/' | b'-' | b'_' | b'~' | b'.')
        })
        && !path.contains("//")
        && !path.contains("./")
        && !path.ends_with('.')
}

/// More decoding rounds than this and the path is refused outright.
const MAX_DECODE_ROUNDS: usize = 4;

/// Whether `path` (the raw path of a request target, without query) must not be routed.
pub(super) fn could_hide_a_dot_segment(path: &str) -> bool {
    at_any_decoding(path.as_bytes().to_vec(), |view| {
        has_overlong_utf8(view) || has_dot_segment(&String::from_utf8_lossy(view))
    })
}

/// Whether `found` holds for `view` or for any of its decodings (`%XX` and `%uXXXX`, again
/// and again until nothing changes); more than [`MAX_DECODE_ROUNDS`] rounds count as found.
fn at_any_decoding(mut view: Vec<u8>, found: impl Fn(&[u8]) -> bool) -> bool {
    for _ in 0..MAX_DECODE_ROUNDS {
        if found(&view) {
            return true;
        }
        let decoded = percent_decode_all(&view);
        if decoded == view {
            return false;
        }
        view = decoded;
    }
    true
}

/// Other ways servers read a percent-decoded path, each one server family's (all of them
/// together too): a NUL ending it (C strings), `;` starting matrix parameters that Tomcat and
/// Jetty cut from every segment (RFC 3986 §3.3 leaves their meaning to the server:
/// `/admin;x=y` is `/admin` there), `\` as a separator and trailing dots and spaces dropped
/// from every segment (Windows: `/admin.` and `/admin ` are `/admin`), repeated slashes
/// merged into one (nginx's default `merge_slashes`, Tomcat: `//admin` is `/admin`). Only
/// readings that differ from `decoded` are returned.
pub(super) fn other_readings(decoded: &[u8]) -> Vec<Vec<u8>> {
    let nul_cut = |path: &[u8]| -> Vec<u8> {
        path.split(|&byte| byte == 0)
            .next()
            .unwrap_or_default()
            .to_vec()
    };
    let per_segment = |path: &[u8], edit: &dyn Fn(&[u8]) -> Vec<u8>| -> Vec<u8> {
        path.split(|&byte| byte == b'/')
            .map(edit)
            .collect::<Vec<_>>()
            .join(&b'/')
    };
    let matrix = |segment: &[u8]| -> Vec<u8> {
        segment
            .split(|&byte| byte == b';')
            .next()
            .unwrap_or_default()
            .to_vec()
    };
    let windows_trim = |segment: &[u8]| -> Vec<u8> {
        let end = segment
            .iter()
            .rposition(|&byte| byte != b'.' && byte != b' ')
            .map_or(0, |last| last + 1);
        segment.get(..end).unwrap_or_default().to_vec()
    };
    let backslashes = |path: &[u8]| -> Vec<u8> {
        path.iter()
            .map(|&byte| if byte == b'\\' { b'/' } else { byte })
            .collect()
    };
    let merge_slashes = |path: &[u8]| -> Vec<u8> {
        let mut merged: Vec<u8> = Vec::with_capacity(path.len());
        for &byte in path {
            if !(byte == b'/' && merged.last() == Some(&b'/')) {
                merged.push(byte);
            }
        }
        merged
    };
    let windows = |path: &[u8]| per_segment(&backslashes(path), &windows_trim);
    let all = merge_slashes(&per_segment(
        &backslashes(&nul_cut(decoded)),
        &|segment: &[u8]| windows_trim(&matrix(segment)),
    ));
    let mut readings = vec![
        nul_cut(decoded),
        per_segment(decoded, &matrix),
        windows(decoded),
        merge_slashes(decoded),
        all,
    ];
    readings.retain(|reading| reading.as_slice() != decoded);
    readings.dedup();
    readings
}

/// Whether `path` (the raw path of a request target, without query) has an encoded separator
/// that only a server decoding more than once, or decoding IIS's `%uXXXX` escapes, would
/// see: `%252F` (`%2F` once decoded, `/` twice), `%u002f`. Servers that decode once are
/// accounted for by routing both readings; these are refused, as no browser sends them.
pub(super) fn hides_a_separator(path: &str) -> bool {
    const IIS: [&[u8]; 2] = [b"%u002f", b"%u005c"];
    const ESCAPED: [&[u8]; 4] = [b"%2f", b"%5c", b"%u002f", b"%u005c"];
    let has = |view: &[u8], needles: &[&[u8]]| {
        let lower = view.to_ascii_lowercase();
        needles
            .iter()
            .any(|needle| lower.windows(needle.len()).any(|window| window == *needle))
    };
    if has(path.as_bytes(), &IIS) {
        return true;
    }
    at_any_decoding(percent_decode_all(path.as_bytes()), |view| {
        has(view, &ESCAPED)
    })
}

/// Decodes `%XX` escapes once (RFC 3986 §2.1); malformed escapes are kept as they are.
pub(super) use crate::percent::decode as percent_decode;

/// [`percent_decode`], except that encoded separators (`%2F`, `%5C`) are kept as written:
/// the path as a server that does not decode them reads it.
pub(super) fn percent_decode_keeping_separators(input: &[u8]) -> Vec<u8> {
    percent::decode_keeping(input, b"/\\")
}

/// `C0`/`C1` lead bytes, or `E0`/`F0` followed by a continuation byte too small for their
/// length: code points encoded in more bytes than needed (RFC 3629 §3 forbids them).
fn has_overlong_utf8(bytes: &[u8]) -> bool {
    bytes.windows(2).any(|pair| {
        matches!(
            pair,
            [0xC0 | 0xC1, _] | [0xE0, 0x80..=0x9F] | [0xF0, 0x80..=0x8F]
        )
    }) || bytes
        .last()
        .is_some_and(|&last| matches!(last, 0xC0 | 0xC1))
}

/// Unicode characters that NFKC normalisation maps to `.`, `..`, `...`, `/` or `\`.
fn fold_look_alikes(text: &str) -> Cow<'_, str> {
    if text.is_ascii() {
        return Cow::Borrowed(text);
    }
    let mut folded = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\u{FF0E}' | '\u{2024}' | '\u{FE52}' => folded.push('.'),
            '\u{2025}' => folded.push_str(".."),
            '\u{2026}' => folded.push_str("..."),
            '\u{FF0F}' => folded.push('/'),
            '\u{FF3C}' | '\u{FE68}' => folded.push('\\'),
            other => folded.push(other),
        }
    }
    Cow::Owned(folded)
}

fn has_dot_segment(path: &str) -> bool {
    fold_look_alikes(path).split(['/', '\\']).any(|segment| {
        let cut = segment.split([';', '\0']).next().unwrap_or_default();
        let trimmed = cut.trim_end();
        !trimmed.is_empty() && trimmed.bytes().all(|b| b == b'.')
    })
}

#[cfg(test)]
mod tests;
