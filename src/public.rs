//! Requests that go through without a session: a `public` route, a CORS preflight where the
//! route has `cors_preflight = true`, and `skip_auth` matches. Decided here once, for the
//! gate (requests it proxies) and for forward auth (requests another proxy describes).

use axum::http::{header, HeaderMap, Method};

use crate::config::UpstreamConfig;
use crate::proxy::route::normalize_path;

/// Whether a request to `upstream` goes through without a session: the route is `public`,
/// or it is a CORS preflight and the route has `cors_preflight = true`, or one of its
/// `skip_auth` rules lists the method and matches the path as upstream servers resolve it
/// ([`normalize_path`]; a path servers could read differently matches no rule). `path` is
/// the raw path of the request target.
pub(crate) fn passes_without_session(
    upstream: &UpstreamConfig,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
) -> bool {
    if upstream.public || (upstream.cors_preflight && is_cors_preflight(method, headers)) {
        return true;
    }
    if upstream.skip_auth.is_empty() {
        return false;
    }
    let Some(normalized) = normalize_path(path) else {
        return false;
    };
    upstream.skip_auth.iter().any(|rule| {
        (rule.methods.is_empty() || rule.methods.iter().any(|m| m == method.as_str()))
            && rule.path.is_match(&normalized)
    })
}

/// A CORS preflight (Fetch standard §3.2.2): `OPTIONS` with `Origin` and
/// `Access-Control-Request-Method`. Browsers never attach cookies to it, so it cannot be
/// authenticated; the upstream answers it with its own CORS policy.
fn is_cors_preflight(method: &Method, headers: &HeaderMap) -> bool {
    method == Method::OPTIONS
        && headers.contains_key(header::ORIGIN)
        && headers.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
}
