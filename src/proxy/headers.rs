//! Rewriting a request for its upstream (DESIGN §4, §5 items 1–3): the target URI, the
//! identity and `X-Forwarded-*` headers the gateway sets, and everything it strips first —
//! client-forged identity headers, its own cookies and hop-by-hop fields (RFC 9110 §7.6.1).
//!
//! Each rule is one function below; [`prepare_request`] applies them in an order that
//! matters: everything is stripped *before* anything is set, so nothing a client sends
//! (including a `Connection` header naming `X-Forwarded-User`) can remove or replace a header
//! the gateway sets.

use std::borrow::Cow;
use std::net::{IpAddr, SocketAddr};

use axum::body::Body;
use http::header::{AUTHORIZATION, COOKIE, HOST, SET_COOKIE};
use http::uri::{PathAndQuery, Uri};
use http::{HeaderMap, HeaderName, HeaderValue, Request, Version};

use super::hop_by_hop::{remove_hop_by_hop, requested_upgrade};
use super::upgrade::TunnelIdleTimeout;
use crate::config::{UpstreamConfig, UpstreamTarget};
use crate::identity::header_values::{header_value, HeaderValues};
use crate::identity::Identity;
use crate::proxy::route::normalize_authority;

/// What the gateway adds for an authenticated request (DESIGN §4).
#[derive(Clone, Copy)]
pub(crate) struct IdentityHeaders<'a> {
    pub(crate) identity: &'a Identity,
    /// The identity's header values when they were made before (`Session::header_values`);
    /// made here otherwise.
    pub(crate) values: Option<&'a HeaderValues>,
    /// Sent as `X-Forwarded-Access-Token` when the route has `pass_access_token`.
    pub(crate) access_token: Option<&'a str>,
    /// Sent as `Authorization: Bearer …` when the route has `pass_authorization_header`.
    pub(crate) id_token: Option<&'a str>,
}

impl std::fmt::Debug for IdentityHeaders<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let redacted = |token: Option<&str>| token.map(|_| "[redacted]");
        f.debug_struct("IdentityHeaders")
            .field("identity", self.identity)
            .field("values", &self.values.map(|_| ".."))
            .field("access_token", &redacted(self.access_token))
            .field("id_token", &redacted(self.id_token))
            .finish()
    }
}

pub(crate) const X_FORWARDED_USER: HeaderName = HeaderName::from_static("x-forwarded-user");
pub(crate) const X_FORWARDED_EMAIL: HeaderName = HeaderName::from_static("x-forwarded-email");
pub(crate) const X_FORWARDED_PREFERRED_USERNAME: HeaderName =
    HeaderName::from_static("x-forwarded-preferred-username");
pub(crate) const X_FORWARDED_GROUPS: HeaderName = HeaderName::from_static("x-forwarded-groups");
pub(crate) const X_FORWARDED_PROVIDER: HeaderName = HeaderName::from_static("x-forwarded-provider");
pub(crate) const X_FORWARDED_ACCESS_TOKEN: HeaderName =
    HeaderName::from_static("x-forwarded-access-token");
/// The identity headers the gateway sets for an upstream (DESIGN §4), in the order the echo
/// upstream lists them, first.
pub(crate) const IDENTITY_HEADERS: [HeaderName; 6] = [
    X_FORWARDED_USER,
    X_FORWARDED_EMAIL,
    X_FORWARDED_PREFERRED_USERNAME,
    X_FORWARDED_GROUPS,
    X_FORWARDED_PROVIDER,
    X_FORWARDED_ACCESS_TOKEN,
];
pub(crate) const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
pub(crate) const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
pub(crate) const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");

/// Facts about the incoming connection.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ForwardContext<'a> {
    /// The client's address, sent as `X-Forwarded-For`.
    pub(crate) peer: SocketAddr,
    /// `"http"` or `"https"`: the public URL's scheme, sent as `X-Forwarded-Proto`.
    pub(crate) proto: &'a str,
    /// Cookies named exactly this, or starting with this followed by `_` (chunks, flow
    /// cookies), are the gateway's own and never reach an upstream.
    pub(crate) gateway_cookie_name: &'a str,
    /// `None` on public routes and for anonymous requests.
    pub(crate) identity: Option<IdentityHeaders<'a>>,
    /// The upstream's `Host` as routing read it (`RoutedHost::header_value`), so that it is
    /// not read again; `None`: read from the request here.
    pub(crate) host: Option<&'a HeaderValue>,
}

/// Rewrites `req` for `upstream`.
///
/// The URI becomes the upstream's base URL (its path without a trailing `/`) followed by the
/// original path and query; for the built-in echo page it is the original origin-form
/// target. The version becomes HTTP/1.1 (the upstream client speaks HTTP/1.1). Then, in this
/// order: hop-by-hop fields are removed ([`remove_hop_by_hop`]), forged identity and
/// forwarding headers are removed ([`remove_forged_identity_headers`]), the gateway's cookies
/// are removed ([`remove_gateway_cookies`]), identity headers are set
/// ([`set_identity_headers`]), forwarding headers are set ([`set_forwarding_headers`]). The
/// upstream's `Host` (RFC 9110 §7.2) is the host the client asked for — its `Host`, or for
/// HTTP/2 its `:authority` — in the normalised form that was routed (lower case, without a
/// trailing dot, port kept), the same value as `X-Forwarded-Host`. A request that asks for a protocol upgrade carries the route's
/// `websocket_idle_timeout` to the client in its extensions (`upgrade::TunnelIdleTimeout`).
pub(crate) fn prepare_request(
    req: Request<Body>,
    upstream: &UpstreamConfig,
    ctx: &ForwardContext<'_>,
) -> Request<Body> {
    let (mut parts, body) = req.into_parts();
    let client_host = match ctx.host {
        Some(host) => Some(host.clone()),
        None => client_host(&parts.headers, &parts.uri),
    };
    let keep_upgrade = requested_upgrade(&parts.headers).is_some();
    if keep_upgrade {
        parts
            .extensions
            .insert(TunnelIdleTimeout(upstream.websocket_idle_timeout));
    }

    parts.uri = upstream_uri(&upstream.target, &parts.uri);
    parts.version = Version::HTTP_11;

    let headers = &mut parts.headers;
    // Room for the fields set below at once, rather than growing the map on the way.
    headers.reserve(10);
    remove_hop_by_hop(headers, keep_upgrade);
    remove_forged_identity_headers(headers);
    remove_gateway_cookies(headers, ctx.gateway_cookie_name);
    if let Some(identity) = &ctx.identity {
        set_identity_headers(headers, identity, upstream);
    }
    set_forwarding_headers(headers, ctx, client_host.as_ref());
    if let Some(host) = client_host {
        headers.insert(HOST, host);
    }
    Request::from_parts(parts, body)
}

/// The upstream URI for `original`: base URL path (trailing `/` removed) + original path and
/// query. Falls back to the original URI if the result would not parse (a request target
/// that is not origin-form, such as `*`), which the client then refuses.
fn upstream_uri(target: &UpstreamTarget, original: &Uri) -> Uri {
    let path_and_query = original.path_and_query().map_or("/", PathAndQuery::as_str);
    let UpstreamTarget::Http(base) = target else {
        return path_and_query.parse().unwrap_or_else(|_| original.clone());
    };
    let base_path = base.path().trim_end_matches('/');
    let origin = base
        .origin()
        .filter(|_| base_path.is_empty() && path_and_query.starts_with('/'));
    if let Some((scheme, authority)) = origin {
        // The request's own path and query, already parsed, under the upstream's origin as
        // the configuration read it.
        let mut parts = http::uri::Parts::default();
        parts.scheme = Some(scheme.clone());
        parts.authority = Some(authority.clone());
        parts.path_and_query = original.path_and_query().cloned();
        if let Ok(uri) = Uri::from_parts(parts) {
            return uri;
        }
    }
    let authority = &base[url::Position::BeforeHost..url::Position::AfterPort];
    format!("{}://{authority}{base_path}{path_and_query}", base.scheme())
        .parse()
        .unwrap_or_else(|_| original.clone())
}

/// The host the client asked for: its `Host` header (HTTP/1.1) or the URI authority
/// (HTTP/2 `:authority`, or an absolute-form target), normalised as routing read it
/// ([`normalize_authority`]: lower case, no trailing dot, port kept). `None` when there is
/// none or it is not a valid `host[:port]` (the gate refuses such requests before this):
/// a raw value such as `admin.example.com,x` would be read as a list by the upstream.
fn client_host(headers: &HeaderMap, uri: &Uri) -> Option<HeaderValue> {
    let (raw, header) = match headers.get(HOST) {
        Some(value) => (value.to_str().ok()?, Some(value)),
        None => (uri.authority()?.as_str(), None),
    };
    match (normalize_authority(raw)?, header) {
        // Already normal: the client's own field, shared rather than copied.
        (Cow::Borrowed(_), Some(header)) => Some(header.clone()),
        (normal, _) => HeaderValue::from_str(&normal).ok(),
    }
}

/// Headers a client must never be able to supply (DESIGN §5 item 1): the identity headers
/// the gateway sets (DESIGN §4) and their `X-Auth-Request-*` forms, the forwarding facts
/// (`X-Forwarded-*`, RFC 7239 `Forwarded`, `X-Real-IP`) that upstreams believe because they
/// come from the gateway, and the descriptions of the original request that a proxy in front
/// sets (`X-Original-URL`, `X-Rewrite-URL`, `X-Forwarded-Uri`, and their methods): IIS,
/// Symfony and Zend route by them instead of the request line, so `/public` with
/// `X-Original-URL: /admin` would reach `/admin` under the public route's policy; and the
/// W3C Trace Context fields (`traceparent`, `tracestate`), which would pick the trace the
/// upstream's spans join: the gateway sends its own (`crate::telemetry::trace`). Listed
/// lower-case with `-`.
pub(super) const FORGEABLE: [&str; 27] = [
    "x-forwarded-user",
    "x-forwarded-email",
    "x-forwarded-preferred-username",
    "x-forwarded-groups",
    "x-forwarded-access-token",
    "x-forwarded-provider",
    "x-auth-request-user",
    "x-auth-request-email",
    "x-auth-request-preferred-username",
    "x-auth-request-groups",
    "x-auth-request-access-token",
    "x-forwarded-for",
    "x-forwarded-proto",
    "x-forwarded-host",
    "forwarded",
    "x-real-ip",
    "x-forwarded-port",
    "x-forwarded-prefix",
    "x-forwarded-scheme",
    "x-forwarded-ssl",
    "x-forwarded-uri",
    "x-forwarded-method",
    "x-original-url",
    "x-original-method",
    "x-rewrite-url",
    "traceparent",
    "tracestate",
];

/// Removes every client copy of a [`FORGEABLE`] header, whatever its case and with `_` in
/// place of `-` (many servers, CGI and WSGI among them, treat `X_Forwarded_User` as
/// `X-Forwarded-User`), on every route, public or not (DESIGN §5 item 1).
pub(crate) fn remove_forged_identity_headers(headers: &mut HeaderMap) {
    let forged: Vec<HeaderName> = headers
        .keys()
        .filter(|name| is_forgeable(name.as_str()))
        .cloned()
        .collect();
    for name in forged {
        headers.remove(name);
    }
}

fn is_forgeable(name: &str) -> bool {
    // Every forgeable name starts with one of these (`forgeable_names_start_with_x_f_or_t`
    // checks it), and most of a browser's fields (`accept…`, `cookie`, `host`, `sec-…`,
    // `user-agent`) do not: they are passed by one comparison instead of 27.
    matches!(
        name.as_bytes().first(),
        Some(b'x' | b'X' | b'f' | b'F' | b't' | b'T')
    ) && FORGEABLE
        .iter()
        .any(|forgeable| same_header_name(name, forgeable))
}

/// `name` equals `canonical` (lower-case, `-`) when lower-cased with `_` read as `-`.
fn same_header_name(name: &str, canonical: &str) -> bool {
    name.len() == canonical.len()
        && name.bytes().zip(canonical.bytes()).all(|(byte, expected)| {
            let byte = if byte == b'_' {
                b'-'
            } else {
                byte.to_ascii_lowercase()
            };
            byte == expected
        })
}

/// Removes the gateway's own cookies (DESIGN §5 item 2) from the `Cookie` field(s)
/// (RFC 6265 §5.4): the session, its chunks and the flow cookies are credentials for the
/// gateway, not for the upstream. The other cookies are kept in order in one `Cookie` field
/// (RFC 9113 §8.2.3 asks for HTTP/2 cookie crumbs to be joined with `; ` for HTTP/1.1); the
/// field is dropped when nothing remains.
pub(crate) fn remove_gateway_cookies(headers: &mut HeaderMap, gateway_cookie_name: &str) {
    let mut kept = Vec::new();
    let (mut fields, mut removed) = (0, false);
    for value in headers.get_all(COOKIE) {
        fields += 1;
        let pairs = crate::fields::split_at_semicolons(value.as_bytes())
            .map(<[u8]>::trim_ascii)
            .filter(|pair| !pair.is_empty());
        for pair in pairs {
            let name = pair.split(|&byte| byte == b'=').next().unwrap_or_default();
            if is_gateway_cookie(name.trim_ascii(), gateway_cookie_name.as_bytes()) {
                removed = true;
                continue;
            }
            if !kept.is_empty() {
                kept.extend_from_slice(b"; ");
            }
            kept.extend_from_slice(pair);
        }
    }
    // None, or one field with none of the gateway's cookies: it stays as it came.
    if fields == 0 || (fields == 1 && !removed) {
        return;
    }
    headers.remove(COOKIE);
    if let Ok(value) = HeaderValue::from_bytes(&kept) {
        if !kept.is_empty() {
            headers.insert(COOKIE, value);
        }
    }
}

/// Removes every `Set-Cookie` field of an upstream's response that sets one of the
/// gateway's own cookies (DESIGN §5 item 2, the other way): only the gateway writes its
/// session, chunks and flow cookies. An upstream that could would sign each visitor in as
/// someone else (session fixation) or out, on every route the cookie covers.
pub(crate) fn remove_gateway_set_cookies(headers: &mut HeaderMap, gateway_cookie_name: &str) {
    let ours = |value: &HeaderValue| sets_gateway_cookie(value, gateway_cookie_name);
    if !headers.get_all(SET_COOKIE).iter().any(ours) {
        return;
    }
    let kept: Vec<HeaderValue> = headers
        .get_all(SET_COOKIE)
        .iter()
        .filter(|value| !ours(value))
        .cloned()
        .collect();
    headers.remove(SET_COOKIE);
    for value in kept {
        headers.append(SET_COOKIE, value);
    }
}

/// Whether a `Set-Cookie` field value sets a cookie that comes back named as one of the
/// gateway's: its name is what precedes the first `=` of its first `;`-separated part, white
/// space trimmed; a nameless cookie (no `=`, or nothing before it) comes back as its value
/// alone (RFC 6265bis §5.6, §5.8.3), so `=_portcullis=x` returns as `_portcullis=x`.
fn sets_gateway_cookie(value: &HeaderValue, gateway_cookie_name: &str) -> bool {
    let pair = value
        .as_bytes()
        .split(|&byte| byte == b';')
        .next()
        .unwrap_or_default();
    let split = pair.iter().position(|&byte| byte == b'=');
    let returned = match split.map(|end| pair.split_at(end)) {
        Some((name, rest)) if name.trim_ascii().is_empty() => rest.get(1..).unwrap_or_default(),
        _ => pair,
    };
    let name = returned
        .split(|&byte| byte == b'=')
        .next()
        .unwrap_or_default();
    is_gateway_cookie(name.trim_ascii(), gateway_cookie_name.as_bytes())
}

fn is_gateway_cookie(name: &[u8], gateway: &[u8]) -> bool {
    match name.strip_prefix(gateway) {
        Some(rest) => rest.is_empty() || rest.starts_with(b"_"),
        None => false,
    }
}

/// Sets the identity headers of DESIGN §4 for an authenticated request: `X-Forwarded-User`,
/// `-Email`, `-Preferred-Username`, `-Groups` (comma-separated), `-Provider`, and by route
/// option `X-Forwarded-Access-Token` and `Authorization: Bearer <id_token>` (RFC 6750 §2.1;
/// any client `Authorization` is removed first so the upstream cannot mistake it for ours).
///
/// A value that is not a valid field value (RFC 9110 §5.5: control characters such as CR or
/// LF), or that would not read as written (`crate::identity::reads_as_written`: `"admin "`
/// is `admin` to every header parser), is skipped; such a group, or one with a comma (which
/// would read as the separator of the list: `eng,admins` as `admins`), is left out of
/// `X-Forwarded-Groups`.
pub(crate) fn set_identity_headers(
    headers: &mut HeaderMap,
    identity: &IdentityHeaders<'_>,
    upstream: &UpstreamConfig,
) {
    let made;
    let values = match identity.values {
        Some(values) => values,
        None => {
            made = HeaderValues::new(identity.identity);
            &made
        }
    };
    for (name, value) in [
        (X_FORWARDED_USER, &values.user),
        (X_FORWARDED_EMAIL, &values.email),
        (X_FORWARDED_PREFERRED_USERNAME, &values.preferred_username),
        (X_FORWARDED_GROUPS, &values.groups),
        (X_FORWARDED_PROVIDER, &values.provider),
    ] {
        if let Some(value) = value {
            headers.insert(name, value.clone());
        }
    }
    if upstream.pass_access_token {
        set_header(headers, X_FORWARDED_ACCESS_TOKEN, identity.access_token);
    }
    if upstream.pass_authorization_header {
        headers.remove(AUTHORIZATION);
        let bearer = identity.id_token.map(|token| format!("Bearer {token}"));
        set_header(headers, AUTHORIZATION, bearer.as_deref());
    }
}

/// Sets the forwarding facts (DESIGN §4): `X-Forwarded-For` (the peer's address only: client
/// copies were removed, and no proxy in front of the gateway is trusted), `X-Forwarded-Proto`
/// (the public URL's scheme) and `X-Forwarded-Host` (the host the client asked for). These
/// are the de-facto forms of RFC 7239's `for`, `proto` and `host` parameters.
pub(crate) fn set_forwarding_headers(
    headers: &mut HeaderMap,
    ctx: &ForwardContext<'_>,
    client_host: Option<&HeaderValue>,
) {
    headers.insert(X_FORWARDED_FOR, address_value(ctx.peer.ip().to_canonical()));
    match ctx.proto {
        "https" => headers.insert(X_FORWARDED_PROTO, HeaderValue::from_static("https")),
        "http" => headers.insert(X_FORWARDED_PROTO, HeaderValue::from_static("http")),
        other => {
            set_header(headers, X_FORWARDED_PROTO, Some(other));
            None
        }
    };
    if let Some(host) = client_host {
        headers.insert(X_FORWARDED_HOST, host.clone());
    }
}

/// `ip` as text (`Display`), an IPv4 address written without the formatting machinery: it
/// is written on every request.
fn address_value(ip: IpAddr) -> HeaderValue {
    let IpAddr::V4(v4) = ip else {
        return HeaderValue::from_str(&ip.to_string()).unwrap_or(HeaderValue::from_static(""));
    };
    let mut text = Vec::with_capacity(15);
    for (i, octet) in v4.octets().into_iter().enumerate() {
        if i > 0 {
            text.push(b'.');
        }
        if octet >= 100 {
            text.push(b'0' + octet / 100);
        }
        if octet >= 10 {
            text.push(b'0' + octet / 10 % 10);
        }
        text.push(b'0' + octet % 10);
    }
    HeaderValue::from_maybe_shared(axum::body::Bytes::from(text))
        .unwrap_or(HeaderValue::from_static(""))
}

/// Replaces `name` with `value`, skipping a missing value, and one that is not a valid field
/// value or would not reach the upstream as written (`crate::identity::header_values::header_value`).
pub(crate) fn set_header(headers: &mut HeaderMap, name: HeaderName, value: Option<&str>) {
    if let Some(value) = header_value(name.as_str(), value) {
        headers.insert(name, value);
    }
}
