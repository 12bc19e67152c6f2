//! Routing of requests over the `[[upstream]]` table by host, then longest path prefix
//! (DESIGN §1, §2), and the path views used to decide it safely.
//!
//! - [`RouteTable`]: host + segment-aware prefix matching.
//! - [`request_host`], [`normalize_host`]: which host a request is for.
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
/// form, so `/app%2Fx` is routed like `/app/x`, the way most upstream frameworks will read it.
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
        let path = path.split(['?', '#']).next().unwrap_or_default();
        if unroutable::could_hide_a_dot_segment(path) {
            return None;
        }
        let decoded = unroutable::percent_decode(path.as_bytes());
        if !decoded.starts_with(b"/") {
            return None;
        }
        let chosen = self.find(host.as_deref(), &decoded, Case::Sensitive)?;
        // A server that reads the path another way (`/admin;x=y` is `/admin` to Tomcat and
        // Jetty, `/admin.` is `/admin` on Windows, `/ADMIN` is `/admin` to case-insensitive
        // routers) must not be reached under a laxer route's policy than the one for the path
        // it acts on (DESIGN §5, the same reasoning as for dot segments above): such a path
        // is not routed at all.
        let readings = unroutable::other_readings(&decoded);
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
/// when it is not a valid authority, or carries user information.
pub fn normalize_host(value: &str) -> Option<String> {
    if value.contains('@') {
        return None;
    }
    let authority: http::uri::Authority = value.trim().parse().ok()?;
    let host = authority.host().to_ascii_lowercase();
    let host = host.strip_suffix('.').unwrap_or(&host);
    (!host.is_empty() && !host.ends_with('.')).then(|| host.to_owned())
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
