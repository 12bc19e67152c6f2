//! The `redirect` target: `rd` validation, checked against an independent reading of where a
//! browser would go.

use super::outcome::{ensure, Outcome, Violation};
use crate::redirect::RedirectTarget;

/// The gateway's public URL in the `rd` checks.
pub const PUBLIC_URL: &str = "https://gate.example.net";

/// `server.allowed_redirect_hosts` in the `rd` checks: an exact host, a domain with its
/// subdomains, an internationalised name and an address.
pub fn allowed_redirect_hosts() -> Vec<String> {
    [
        "app.example.com",
        ".corp.example.org",
        "bücher.example",
        "10.0.0.1",
    ]
    .map(str::to_owned)
    .to_vec()
}

/// Whether `host` (a URL's serialised host) is one [`allowed_redirect_hosts`] names: written
/// out independently of `crate::redirect`'s matcher, as a second opinion.
fn is_allowed_redirect_host(host: &str) -> bool {
    matches!(
        host,
        "app.example.com" | "corp.example.org" | "xn--bcher-kva.example" | "10.0.0.1"
    ) || host
        .strip_suffix(".corp.example.org")
        .is_some_and(|label| !label.is_empty() && !label.ends_with('.'))
}

/// `RedirectTarget::parse` of the input (read as UTF-8, lossily, as query values are):
/// the result passes [`check_redirect_target`], and validating it again changes nothing
/// (the callback validates the `rd` from the flow cookie a second time).
pub fn redirect(data: &[u8]) -> Outcome {
    let raw = String::from_utf8_lossy(data);
    let hosts = allowed_redirect_hosts();
    let target = RedirectTarget::parse(Some(&raw), &hosts);
    check_redirect_target(target.as_str())
        .map_err(|Violation(why)| Violation(format!("rd {raw:?} gave {target}: {why}")))?;
    let again = RedirectTarget::parse(Some(target.as_str()), &hosts);
    ensure(again == target, || {
        format!("rd {raw:?} gave {target}, which validates to {again}")
    })
}

/// What a validated `rd` must be: visible ASCII; either a local path (`/`, not `//` or `/\`)
/// that a browser resolves against the gateway's public URL to the gateway itself — also
/// after each of up to four further percent-decodings, for servers that decode again — or
/// an absolute http(s) URL in its serialised form, without user information, on an allowed
/// host.
pub fn check_redirect_target(target: &str) -> Outcome {
    ensure(
        !target.is_empty() && target.bytes().all(|b| b.is_ascii_graphic()),
        || "not visible ASCII".to_owned(),
    )?;
    let base = url::Url::parse(PUBLIC_URL).map_err(|err| Violation(err.to_string()))?;
    if target.starts_with('/') {
        ensure(
            !target.starts_with("//") && !target.starts_with("/\\"),
            || "a local path that starts like an authority".to_owned(),
        )?;
        let mut layer = target.as_bytes().to_vec();
        for _ in 0..5 {
            let text = String::from_utf8_lossy(&layer).into_owned();
            check_stays_local(&base, &text)?;
            let next = percent_decode(&layer);
            if next == layer {
                break;
            }
            layer = next;
        }
        return Ok(());
    }
    let url = url::Url::parse(target).map_err(|err| Violation(format!("not a URL: {err}")))?;
    ensure(matches!(url.scheme(), "http" | "https"), || {
        format!("scheme {}", url.scheme())
    })?;
    ensure(
        url.username().is_empty() && url.password().is_none(),
        || "user information".to_owned(),
    )?;
    ensure(url.as_str() == target, || {
        format!("not in serialised form ({url})")
    })?;
    let host = url.host_str().unwrap_or_default();
    ensure(is_allowed_redirect_host(host), || {
        format!("host {host:?} is not allowed")
    })?;
    let resolved = base
        .join(target)
        .map_err(|err| Violation(format!("a browser would not follow it: {err}")))?;
    ensure(resolved.host_str() == Some(host), || {
        format!("a browser resolves it to {resolved}")
    })
}

/// A browser following `Location: {text}` from the gateway stays on the gateway: `text`
/// resolves against the public URL to its origin, and — since the `url` crate refuses some
/// references browsers follow (it reads `///evil.com` as an empty host, browsers as
/// `evil.com`) — it also starts, once browsers have dropped tabs, newlines and leading C0
/// controls and spaces, with one `/` not followed by another or by `\`.
fn check_stays_local(base: &url::Url, text: &str) -> Outcome {
    let resolved = base
        .join(text)
        .map_err(|err| Violation(format!("{text:?} does not resolve: {err}")))?;
    ensure(resolved.origin() == base.origin(), || {
        format!("{text:?} resolves to {resolved}, off the gateway")
    })?;
    let seen: String = text
        .trim_start_matches(|c: char| c <= ' ')
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
        .take(2)
        .collect();
    ensure(
        seen.starts_with('/') && !seen.starts_with("//") && !seen.starts_with("/\\"),
        || format!("{text:?} starts like an authority"),
    )
}

/// `%XX` decoded once; anything else kept.
fn percent_decode(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut rest = input;
    while let Some((&byte, tail)) = rest.split_first() {
        if let (b'%', [high, low, after @ ..]) = (byte, tail) {
            if let (Some(high), Some(low)) = (hex(*high), hex(*low)) {
                out.push(high << 4 | low);
                rest = after;
                continue;
            }
        }
        out.push(byte);
        rest = tail;
    }
    out
}

fn hex(digit: u8) -> Option<u8> {
    char::from(digit)
        .to_digit(16)
        .and_then(|value| u8::try_from(value).ok())
}
