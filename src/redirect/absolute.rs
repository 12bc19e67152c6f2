//! Absolute `rd` URLs: parsed as browsers parse them (WHATWG), matched on the host they
//! really name against `server.allowed_redirect_hosts`.

use url::{Host, Url};

/// `raw` when it is an absolute `http(s)` URL without userinfo on an allowed host, in the
/// WHATWG serialisation browsers will follow.
pub(super) fn absolute_url(raw: &str, allowed_hosts: &[String]) -> Option<String> {
    let rest = strip_prefix_ignore_case(raw, "https://")
        .or_else(|| strip_prefix_ignore_case(raw, "http://"))?;
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = rest.get(..authority_end)?;
    let plain = |c: char| c.is_ascii_graphic() && !matches!(c, '@' | '%');
    if authority.is_empty() || !authority.chars().all(plain) {
        return None;
    }
    let url = Url::parse(raw).ok()?;
    if !matches!(url.scheme(), "http" | "https")
        || !url.username().is_empty()
        || url.password().is_some()
    {
        return None;
    }
    let host = url.host()?;
    if let Host::Domain(domain) = host {
        // RFC 1035 §2.3.1: a host name's labels are not empty (`.a.example`, `a..example`).
        if domain.split('.').any(str::is_empty) {
            return None;
        }
    }
    allowed_hosts
        .iter()
        .any(|entry| host_matches(entry, &host))
        .then(|| url.to_string())
}

fn strip_prefix_ignore_case<'a>(value: &'a str, prefix: &str) -> Option<&'a str> {
    let head = value.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| value.get(prefix.len()..))
        .flatten()
}

/// `app.example.com` matches that host only; `.example.com` matches `example.com` and its
/// subdomains but never `evil-example.com` or `example.com.evil.org`. Entries are
/// normalised like URL hosts (lowercase, IDNA); a port on the entry is ignored.
fn host_matches(entry: &str, host: &Host<&str>) -> bool {
    let entry = entry.trim();
    let (subdomains, name) = match entry.strip_prefix('.') {
        Some(rest) => (true, rest),
        None => (false, entry),
    };
    let Ok(pattern) = Host::parse(strip_port(name)) else {
        return false;
    };
    match (subdomains, &pattern, host) {
        (false, _, _) => pattern.to_string() == host.to_string(),
        (true, Host::Domain(suffix), Host::Domain(domain)) => {
            *domain == suffix.as_str()
                || domain
                    .strip_suffix(suffix.as_str())
                    .is_some_and(|label| label.ends_with('.'))
        }
        (true, _, _) => false,
    }
}

fn strip_port(name: &str) -> &str {
    if name.starts_with('[') {
        return name
            .find(']')
            .and_then(|end| name.get(..=end))
            .unwrap_or(name);
    }
    match name.rsplit_once(':') {
        Some((host, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => name,
    }
}
