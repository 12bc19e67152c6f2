//! Routing of requests over the `[[upstream]]` table by host, then longest path prefix
//! (DESIGN §1, §2), and the path views used to decide it safely.
//!
//! - [`RouteTable`]: host + segment-aware prefix matching.
//! - [`request_host`], [`normalize_host`], [`normalize_authority`]: which host a request is
//!   for, and how it is named to the upstream.
//! - [`normalize_path`]: the path as an upstream server resolves it, for `skip_auth`.

mod normalize;
mod unroutable;

use http::header::HOST;
use http::{HeaderMap, Uri, Version};

use crate::config::{HostPattern, UpstreamConfig};

pub use normalize::normalize_path;

/// The `[[upstream]]` entries, ordered for matching.
///
/// An upstream with a `host` only serves requests for that host; one without serves any
/// host. The best host match wins first — an exact host, then the longest `*.` pattern, then
/// no host — and among those the longest path prefix; among equal prefixes the first in file
/// order. So an upstream without `host` loses to one whose host and path both match.
///
/// Path matching is segment-aware: prefix `/app` matches `/app`, `/app/x` and `/app?q`, but
/// not `/application`; a prefix ending in `/` (such as `/app/`) matches anything under it but
/// not `/app` itself; `/` matches every path. Paths are matched in their percent-decoded
/// form (`/%61pp` is `/app`), except for encoded separators (`%2F`, `%5C`), which upstream
/// servers disagree about: some decode them, others keep them as data. The gateway forwards
/// the target as it came, so a path is routed only when both readings (`/app%2Fx` as
/// `/app%2Fx` and as `/app/x`) choose the same upstream: with `/public` public, the
/// Tomcat or Go server behind it could read `/public%2Fx` as the protected `/public%2Fx`.
/// A target with a fragment (`#`) is not routed either: an origin-form target never has one
/// (RFC 9112 §3.2.1), and a server could read the part after it as path
/// (`/public#/../admin`).
///
/// Paths that some server could read as containing a dot segment are not routed at all (see
/// `unroutable.rs`): an upstream that normalises them (RFC 3986 §5.2.4) could otherwise be
/// reached under another route's policy (`/public/../admin`). Browsers never send such paths.
/// Nor are paths that a server reading them its own way (matrix parameters cut off, trailing
/// dots and spaces dropped, `\` as a separator, a NUL ending the path, repeated slashes
/// merged, letters in any case) would place under another route than the gateway does: with
/// `/` public and `/admin` protected, `/admin;x=y` would otherwise reach a Tomcat back office
/// as `/admin` without a session, `//admin` one behind nginx and `/ADMIN` one on IIS,
/// ASP.NET Core or Express.
#[derive(Debug, Clone)]
pub struct RouteTable {
    /// Best host match first, then longest prefix; ties keep file order (stable sort).
    upstreams: Vec<UpstreamConfig>,
}

impl RouteTable {
    pub fn new(mut upstreams: Vec<UpstreamConfig>) -> RouteTable {
        upstreams.sort_by_key(|upstream| {
            std::cmp::Reverse((host_rank(upstream.host.as_ref()), upstream.path.len()))
        });
        RouteTable { upstreams }
    }

    /// The upstream for a request to `host` (as sent: any case, possibly with a port; `None`
    /// when the request names none) and `path` (an origin-form request target: path,
    /// optionally followed by `?query`). `None` when nothing matches, the host is malformed,
    /// or the path is not routable (see the type documentation).
    pub fn route(&self, host: Option<&str>, path: &str) -> Option<&UpstreamConfig> {
        let host = match host {
            Some(host) => Some(normalize_host(host)?),
            None => None,
        };
        if path.contains('#') {
            return None;
        }
        let path = path.split('?').next().unwrap_or_default();
        if unroutable::could_hide_a_dot_segment(path) || unroutable::hides_a_separator(path) {
            return None;
        }
        let decoded = unroutable::percent_decode_keeping_separators(path.as_bytes());
        if !decoded.starts_with(b"/") {
            return None;
        }
        let chosen = self.find(host.as_deref(), &decoded, Case::Sensitive)?;
        // A server that reads the path another way (`/admin;x=y` is `/admin` to Tomcat and
        // Jetty, `/admin.` is `/admin` on Windows, `/ADMIN` is `/admin` to case-insensitive
        // routers, `/admin%2Fx` is `/admin/x` to those that decode separators) must not be
        // reached under a laxer route's policy than the one for the path it acts on
        // (DESIGN §5, the same reasoning as for dot segments above): such a path is not
        // routed at all.
        let separators_decoded = unroutable::percent_decode(path.as_bytes());
        let mut readings = unroutable::other_readings(&decoded);
        readings.extend(unroutable::other_readings(&separators_decoded));
        readings.push(separators_decoded);
        let ambiguous = std::iter::once(&decoded)
            .chain(&readings)
            .flat_map(|reading| {
                [Case::Sensitive, Case::Insensitive]
                    .map(|case| self.find(host.as_deref(), reading, case))
            })
            .any(|other| other.is_some_and(|other| !std::ptr::eq(other, chosen)));
        (!ambiguous).then_some(chosen)
    }

    /// The first upstream (in matching order) for `host` and the percent-decoded `path`,
    /// its prefix compared in `case`.
    fn find(&self, host: Option<&str>, path: &[u8], case: Case) -> Option<&UpstreamConfig> {
        self.upstreams.iter().find(|upstream| {
            host_matches(upstream.host.as_ref(), host)
                && prefix_matches(upstream.path.as_bytes(), path, case)
        })
    }

    /// The routes in matching order.
    pub fn upstreams(&self) -> &[UpstreamConfig] {
        &self.upstreams
    }
}

/// How specific a host pattern is: exact, then longer `*.` suffixes, then none.
fn host_rank(pattern: Option<&HostPattern>) -> (u8, usize) {
    match pattern {
        Some(HostPattern::Exact(_)) => (2, 0),
        Some(HostPattern::Subdomains(parent)) => (1, parent.len()),
        None => (0, 0),
    }
}

/// `host` is lower-case, without port or trailing dot.
fn host_matches(pattern: Option<&HostPattern>, host: Option<&str>) -> bool {
    match (pattern, host) {
        (None, _) => true,
        (Some(_), None) => false,
        (Some(HostPattern::Exact(name)), Some(host)) => name == host,
        (Some(HostPattern::Subdomains(parent)), Some(host)) => host
            .strip_suffix(parent.as_str())
            .and_then(|sub| sub.strip_suffix('.'))
            .is_some_and(|sub| !sub.is_empty() && !sub.ends_with('.')),
    }
}

/// How path prefixes are compared: as written, or with ASCII letters in any case (how IIS,
/// ASP.NET Core and Express match routes).
#[derive(Debug, Clone, Copy)]
enum Case {
    Sensitive,
    Insensitive,
}

/// `prefix` matches `path` when it is equal to it, ends in `/` and starts it, or starts it
/// and is followed by a `/` in `path`.
fn prefix_matches(prefix: &[u8], path: &[u8], case: Case) -> bool {
    let Some((head, rest)) = path.split_at_checked(prefix.len()) else {
        return false;
    };
    let same = match case {
        Case::Sensitive => head == prefix,
        Case::Insensitive => head.eq_ignore_ascii_case(prefix),
    };
    same && (rest.is_empty() || prefix.ends_with(b"/") || rest.starts_with(b"/"))
}

/// The host of a `Host` header value or URI authority (RFC 9110 §7.2): lower-cased, without
/// the port and without one trailing dot (`app.example.com.` names the same host). `None`
/// when it is not a valid authority (see [`normalize_authority`]).
pub fn normalize_host(value: &str) -> Option<String> {
    Some(parse_authority(value)?.0)
}

/// A `Host` header value or URI authority as the gateway sends it on (`Host` of an HTTP/2
/// request, `X-Forwarded-Host`): the host lower-cased, without a trailing dot, with its port
/// when it has one. `None` unless it is exactly `host[:port]` where the host is a DNS-style
/// name (letters, digits, `-`, `_`, dot-separated labels), an IPv4 address or a bracketed
/// IPv6 address, and the port 1 to 5 digits up to 65535 (RFC 3986 §3.2.2, §3.2.3).
///
/// Narrower than RFC 3986's `reg-name` on purpose: that admits `,` and `;`, and
/// `admin.example.com,x` is a list to Express and Spring (which read its first element) and
/// to Rack (the last), so the upstream would read another host than the one routed. User
/// information, percent-escapes and white space are refused too.
pub fn normalize_authority(value: &str) -> Option<String> {
    let (host, port) = parse_authority(value)?;
    Some(match port {
        Some(port) => format!("{host}:{port}"),
        None => host,
    })
}

/// `(host, port)` of a valid authority, the host normalised; see [`normalize_authority`].
fn parse_authority(value: &str) -> Option<(String, Option<&str>)> {
    let (host, port) = match value.strip_prefix('[') {
        Some(bracketed) => {
            let (literal, after) = bracketed.split_once(']')?;
            literal.parse::<std::net::Ipv6Addr>().ok()?;
            let port = match after {
                "" => None,
                after => Some(after.strip_prefix(':')?),
            };
            (value.get(..literal.len() + 2)?, port)
        }
        None => match value.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (value, None),
        },
    };
    if let Some(port) = port {
        let digits =
            !port.is_empty() && port.len() <= 5 && port.bytes().all(|b| b.is_ascii_digit());
        if !digits || port.parse::<u32>().ok()? > 65535 {
            return None;
        }
    }
    let host = host.to_ascii_lowercase();
    if host.starts_with('[') {
        return Some((host, port));
    }
    let name = host.strip_suffix('.').unwrap_or(&host);
    let label_ok = |label: &str| {
        (1..=63).contains(&label.len())
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    (name.len() <= 253 && name.split('.').all(label_ok)).then(|| (name.to_owned(), port))
}

/// Why a request's host cannot be determined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BadHost {
    #[error("the request has several Host headers")]
    Several,
    #[error("the Host header is not a valid host")]
    Malformed,
    #[error("the Host header and the request target name different hosts")]
    Conflicting,
    #[error("an HTTP/1.1 request must have a Host header")]
    Missing,
}

/// The host a request is for, as the upstream will see it (see `proxy::headers`): the
/// `Host` header, else the request target's authority (HTTP/2 `:authority`, or an HTTP/1.1
/// absolute-form target). When both are present they must name the same host, so routing
/// and the upstream cannot disagree. An HTTP/1.1 request without `Host` is malformed
/// (RFC 9112 §3.2: the server must answer 400).
pub fn request_host<'a>(
    headers: &'a HeaderMap,
    uri: &'a Uri,
    version: Version,
) -> Result<Option<&'a str>, BadHost> {
    let mut values = headers.get_all(HOST).iter();
    let header = match (values.next(), values.next()) {
        (Some(_), Some(_)) => return Err(BadHost::Several),
        (Some(value), None) => Some(value.to_str().map_err(|_| BadHost::Malformed)?),
        (None, _) if version == Version::HTTP_11 => return Err(BadHost::Missing),
        (None, _) => None,
    };
    // An empty `Host` is how a client says the target has no authority (RFC 9112 §3.2).
    let header = header.filter(|value| !value.trim().is_empty());
    let authority = uri.authority().map(http::uri::Authority::as_str);
    match (header, authority) {
        (Some(header), Some(authority)) => {
            let same = normalize_host(header).ok_or(BadHost::Malformed)?
                == normalize_host(authority).ok_or(BadHost::Malformed)?;
            if same {
                Ok(Some(header))
            } else {
                Err(BadHost::Conflicting)
            }
        }
        (Some(host), None) | (None, Some(host)) => {
            normalize_host(host).ok_or(BadHost::Malformed)?;
            Ok(Some(host))
        }
        (None, None) => Ok(None),
    }
}

#[cfg(test)]
mod tests;
