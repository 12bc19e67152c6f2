//! Routing of requests over the `[[upstream]]` table by host, then longest path prefix
//! (DESIGN §1, §2), and the path views used to decide it safely.
//!
//! - [`RouteTable`]: host + segment-aware prefix matching.
//! - [`request_host`], [`normalize_host`], [`normalize_authority`]: which host a request is
//!   for, and how it is named to the upstream.
//! - [`normalize_path`]: the path as an upstream server resolves it, for `skip_auth`.

mod host;
mod normalize;
mod unroutable;

use crate::config::{HostPattern, UpstreamConfig};
use crate::metrics::RouteSlot;

pub(crate) use host::{normalize_authority, normalize_host, request_host, routed_host};
pub(crate) use normalize::normalize_path;

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
pub(crate) struct RouteTable {
    /// Best host match first, then longest prefix; ties keep file order (stable sort).
    upstreams: Vec<UpstreamConfig>,
}

impl RouteTable {
    pub(crate) fn new(mut upstreams: Vec<UpstreamConfig>) -> RouteTable {
        upstreams.sort_by_key(|upstream| {
            std::cmp::Reverse((host_rank(upstream.host.as_ref()), upstream.path.len()))
        });
        RouteTable { upstreams }
    }

    /// The upstream for a request to `host` (as sent: any case, possibly with a port; `None`
    /// when the request names none) and `path` (an origin-form request target: path,
    /// optionally followed by `?query`). `None` when nothing matches, the host is malformed,
    /// or the path is not routable (see the type documentation).
    pub(crate) fn route(&self, host: Option<&str>, path: &str) -> Option<&UpstreamConfig> {
        let host = match host {
            Some(host) => Some(normalize_host(host)?),
            None => None,
        };
        self.route_normal(host.as_deref(), path)
    }

    /// [`RouteTable::route`] for a host already normalised ([`normalize_host`]), as
    /// [`routed_host`] gives it.
    pub(crate) fn route_normal(&self, host: Option<&str>, path: &str) -> Option<&UpstreamConfig> {
        if path.contains('#') {
            return None;
        }
        let path = path.split('?').next().unwrap_or_default();
        if unroutable::is_plain(path) {
            return self.route_plain(host, path);
        }
        self.route_any(host, path)
    }

    /// [`RouteTable::route`] for a path that every reading leaves as it is
    /// (`unroutable::is_plain`): only the letter case can place it elsewhere.
    fn route_plain(&self, host: Option<&str>, path: &str) -> Option<&UpstreamConfig> {
        let chosen = self.find(host, path.as_bytes(), Case::Sensitive)?;
        let other = self.find(host, path.as_bytes(), Case::Insensitive);
        other
            .is_none_or(|other| std::ptr::eq(other, chosen))
            .then_some(chosen)
    }

    /// [`RouteTable::route`] for any path without its query, `host` normalised: every
    /// reading decoded and compared.
    fn route_any(&self, host: Option<&str>, path: &str) -> Option<&UpstreamConfig> {
        if unroutable::could_hide_a_dot_segment(path) || unroutable::hides_a_separator(path) {
            return None;
        }
        let decoded = unroutable::percent_decode_keeping_separators(path.as_bytes());
        if !decoded.starts_with(b"/") {
            return None;
        }
        let chosen = self.find(host, &decoded, Case::Sensitive)?;
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
                [Case::Sensitive, Case::Insensitive].map(|case| self.find(host, reading, case))
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
    pub(crate) fn upstreams(&self) -> &[UpstreamConfig] {
        &self.upstreams
    }

    /// The metrics slot of `upstream`, one of [`RouteTable::upstreams`] (found by its
    /// address, without comparing anything else); the gateway's own for any other.
    pub(crate) fn slot(&self, upstream: &UpstreamConfig) -> RouteSlot {
        let offset = std::ptr::from_ref(upstream)
            .addr()
            .wrapping_sub(self.upstreams.as_ptr().addr());
        let position = offset / std::mem::size_of::<UpstreamConfig>().max(1);
        match self.upstreams.get(position) {
            Some(found) if std::ptr::eq(found, upstream) => RouteSlot::upstream(position),
            _ => RouteSlot::GATEWAY,
        }
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

#[cfg(test)]
mod tests;

#[cfg(test)]
#[path = "route/plain_tests.rs"]
mod plain_tests;
