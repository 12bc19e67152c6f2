//! `/oauth2/auth`: forward auth for a proxy that stands in front of the apps itself — nginx
//! `auth_request`, Traefik `ForwardAuth`, Caddy `forward_auth` (DESIGN §3, §4).
//!
//! For every request it receives, the proxy asks whether to let it through: 202 with the
//! identity in `X-Auth-Request-*` headers, 401 when nobody is signed in, 403 when the rules
//! refuse. The rules are those of the *original* request, whose host and path pick the
//! `[[upstream]]` whose rules apply; the proxy describes it in `X-Forwarded-Method`,
//! `X-Forwarded-Host` and `X-Forwarded-Uri` (Traefik, Caddy) or `X-Original-URL` and
//! `X-Original-Method` (nginx). Those headers are believed only from a peer in
//! `server.trusted_proxies`: anyone else could name a public path, or a laxer route, and
//! collect a 202 for a protected one (the `X-Forwarded-Uri` bypass other gateways have had).
//! From any other peer, a request that carries `X-Forwarded-Uri` or `X-Original-URL` is
//! refused with 403 (and a log line naming the peer): judging it as another path would
//! answer for the wrong request. Without them it is judged as if for `/` on its own `Host`.
//!
//! A target that routes nowhere (dot segments, a fragment, a path servers read differently)
//! is 401 for an anonymous asker, so the proxy still sends them to sign in, and 403 for a
//! signed-in one.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::header::{HeaderMap, HeaderName, HeaderValue};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::authz::{self, Claims, Subject};
use crate::caller::Caller;
use crate::config::UpstreamConfig;
use crate::error::AppError;
use crate::identity::header_values::HeaderValues;
use crate::proxy::headers::set_header;
use crate::public::passes_without_session;
use crate::session::Session;
use crate::state::AppState;

mod original;

pub(crate) use original::{unspecified_method, OriginalRequest};

/// Identity headers of a 202, as oauth2-proxy names them (DESIGN §4).
pub(crate) const X_AUTH_REQUEST_USER: HeaderName = HeaderName::from_static("x-auth-request-user");
pub(crate) const X_AUTH_REQUEST_EMAIL: HeaderName = HeaderName::from_static("x-auth-request-email");
pub(crate) const X_AUTH_REQUEST_PREFERRED_USERNAME: HeaderName =
    HeaderName::from_static("x-auth-request-preferred-username");
pub(crate) const X_AUTH_REQUEST_GROUPS: HeaderName =
    HeaderName::from_static("x-auth-request-groups");
pub(crate) const X_AUTH_REQUEST_ACCESS_TOKEN: HeaderName =
    HeaderName::from_static("x-auth-request-access-token");

/// `/oauth2/auth`, any method (the answer never depends on it, except from an untrusted
/// peer, where the request is judged as itself). Answers 202 / 401 / 403 for the original
/// request; never proxies anything. Like the gate, it takes an `Authorization: Bearer` token
/// where a provider accepts them, else the session cookie.
pub(crate) async fn auth(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
) -> Result<Response, AppError> {
    let trusted = state
        .config
        .server
        .trusted_proxies
        .iter()
        .any(|network| network.contains(peer.ip()));
    let original = OriginalRequest::from_request(&request, trusted).inspect_err(|error| {
        if let AppError::UntrustedProxy(_) = error {
            tracing::warn!(
                peer = %peer.ip(),
                option = "server.trusted_proxies",
                "forward auth: refused a description of the original request from a peer \
                 that is not a trusted proxy; list the proxy's address in \
                 server.trusted_proxies if it is one"
            );
        }
    })?;
    let path = path_only(&original.uri);
    let host = original.host.as_deref().unwrap_or_default();
    // Decided exactly as the gate decides for a request it proxies itself.
    let upstream = state.routes.route(original.host.as_deref(), &original.uri);
    if let Some(upstream) = upstream {
        if passes_without_session(upstream, &original.method, path, request.headers()) {
            return Ok(accepted_without_identity(upstream));
        }
    }
    let caller = Caller::identify(&state, request.headers()).await?;
    let decision = match upstream {
        Some(upstream) => decide(
            &state,
            upstream,
            caller.session(),
            caller.claims(),
            (host, path),
        ),
        None if caller.session().is_none() => Err(AppError::Unauthenticated),
        None => Err(AppError::Forbidden(format!(
            "forward auth: no [[upstream]] matches {} {host}{path}",
            original.method
        ))),
    };
    // A proxy that copies `Set-Cookie` from the auth answer (nginx `auth_request_set`,
    // Traefik `addAuthCookiesToResponse`) passes a membership check's outcome on.
    Ok(caller.record_on(decision.unwrap_or_else(IntoResponse::into_response)))
}

/// 202 when the rules admit the caller, 401 when there is none, 403 when they refuse;
/// `(host, path)` of the original request are for the log line.
fn decide(
    state: &AppState,
    upstream: &UpstreamConfig,
    session: Option<&Session>,
    claims: Claims<'_>,
    (host, path): (&str, &str),
) -> Result<Response, AppError> {
    let session = session.ok_or(AppError::Unauthenticated)?;
    let subject = Subject::new(&session.identity, claims);
    let route_rules = upstream.allow.as_ref();
    if let Err(denial) = authz::authorize_route(&state.config.authorize, route_rules, &subject) {
        tracing::info!(
            user = %session.identity.user,
            provider = %session.identity.provider,
            host = %host,
            path = %path,
            rule = %denial.rule,
            reason = %denial.reason,
            "forward auth: access denied"
        );
        return Err(AppError::Forbidden(denial.to_string()));
    }
    Ok(accepted(session, upstream))
}

/// 202 with the identity (DESIGN §4): `X-Auth-Request-User`, `-Email`,
/// `-Preferred-Username`, `-Groups` (comma-separated), and `-Access-Token` when the route has
/// `pass_access_token`. Values that are not valid field values (RFC 9110 §5.5), or that an
/// upstream would not read as written (surrounding white space, control characters), are
/// left out; so is such a group, or one with a comma, from the list.
///
/// Every one of these headers is always there, empty when the user has no such value (no
/// email, no groups) or when its value was left out: a proxy told to copy a header the 202
/// lacks may otherwise forward the client's own copy, or (Caddy before 2.7) the text of its
/// unresolved placeholder.
fn accepted(session: &Session, upstream: &UpstreamConfig) -> Response {
    let made;
    let values = match session.header_values() {
        Some(values) => values,
        None => {
            made = HeaderValues::new(&session.identity);
            &made
        }
    };
    let mut response = StatusCode::ACCEPTED.into_response();
    let headers = response.headers_mut();
    for (name, value) in [
        (X_AUTH_REQUEST_USER, &values.user),
        (X_AUTH_REQUEST_EMAIL, &values.email),
        (
            X_AUTH_REQUEST_PREFERRED_USERNAME,
            &values.preferred_username,
        ),
        (X_AUTH_REQUEST_GROUPS, &values.groups),
    ] {
        headers.insert(name, value.clone().unwrap_or(HeaderValue::from_static("")));
    }
    if upstream.pass_access_token {
        set_identity_header(
            headers,
            X_AUTH_REQUEST_ACCESS_TOKEN,
            session.access_token.as_deref(),
        );
    }
    response
}

/// 202 for a request that needs no sign-in (`public`, `skip_auth`): every identity header
/// there and empty, for the reason `accepted` gives, even if the browser is signed in.
fn accepted_without_identity(upstream: &UpstreamConfig) -> Response {
    let mut response = StatusCode::ACCEPTED.into_response();
    let headers = response.headers_mut();
    for name in [
        X_AUTH_REQUEST_USER,
        X_AUTH_REQUEST_EMAIL,
        X_AUTH_REQUEST_PREFERRED_USERNAME,
        X_AUTH_REQUEST_GROUPS,
    ] {
        set_identity_header(headers, name, None);
    }
    if upstream.pass_access_token {
        set_identity_header(headers, X_AUTH_REQUEST_ACCESS_TOKEN, None);
    }
    response
}

/// `set_header`, and the header empty when it set nothing.
fn set_identity_header(headers: &mut HeaderMap, name: HeaderName, value: Option<&str>) {
    set_header(headers, name.clone(), value);
    headers
        .entry(name)
        .or_insert_with(|| HeaderValue::from_static(""));
}

/// The path of an origin-form target, for log lines (queries may carry secrets).
fn path_only(uri: &str) -> &str {
    uri.split(['?', '#']).next().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::UpstreamTarget;
    use crate::identity::Identity;

    fn upstream() -> UpstreamConfig {
        UpstreamConfig {
            path: "/".to_owned(),
            target: UpstreamTarget::Echo,
            public: false,
            pass_access_token: true,
            pass_authorization_header: false,
            timeout: std::time::Duration::from_secs(30),
            host: None,
            allow: None,
            skip_auth: Vec::new(),
            cors_preflight: false,
            ca_files: Vec::new(),
            websocket_idle_timeout: crate::config::DEFAULT_WEBSOCKET_IDLE_TIMEOUT,
        }
    }

    fn session(identity: Identity, access_token: &str) -> Session {
        Session {
            access_token: Some(access_token.to_owned()),
            ..Session::new(identity, 0, 0)
        }
    }

    fn value<'r>(response: &'r Response, name: &HeaderName) -> Option<&'r str> {
        response.headers().get(name).and_then(|v| v.to_str().ok())
    }

    /// The proxy copies `X-Auth-Request-*` to the app as they are: a value the app would read
    /// as another (`crate::identity::reads_as_written`) is never in the 202.
    #[test]
    fn a_202_never_carries_a_value_that_reads_as_another() {
        let identity = Identity {
            user: " admin".to_owned(),
            email: Some("admin@example.com\t".to_owned()),
            preferred_username: Some("admin\u{3000}".to_owned()),
            groups: vec![
                "staff".to_owned(),
                "admins ".to_owned(),
                "a,b".to_owned(),
                "\u{85}wheel".to_owned(),
                "readers".to_owned(),
            ],
            provider: "dev".to_owned(),
        };

        let response = accepted(&session(identity, "token "), &upstream());

        assert_eq!(response.status(), StatusCode::ACCEPTED);
        for name in [
            &X_AUTH_REQUEST_USER,
            &X_AUTH_REQUEST_EMAIL,
            &X_AUTH_REQUEST_PREFERRED_USERNAME,
            &X_AUTH_REQUEST_ACCESS_TOKEN,
        ] {
            assert_eq!(value(&response, name), Some(""), "{name}");
        }
        assert_eq!(
            value(&response, &X_AUTH_REQUEST_GROUPS),
            Some("staff,readers")
        );
    }

    #[test]
    fn a_202_carries_values_that_read_as_written() {
        let identity = Identity {
            user: "sub-1".to_owned(),
            email: Some("alice@example.com".to_owned()),
            preferred_username: Some("Ada Lovelace".to_owned()),
            groups: vec!["staff".to_owned(), "ünïcødé".to_owned()],
            provider: "dev".to_owned(),
        };

        let response = accepted(&session(identity, "token-1"), &upstream());

        assert_eq!(value(&response, &X_AUTH_REQUEST_USER), Some("sub-1"));
        assert_eq!(
            value(&response, &X_AUTH_REQUEST_PREFERRED_USERNAME),
            Some("Ada Lovelace")
        );
        assert_eq!(
            value(&response, &X_AUTH_REQUEST_ACCESS_TOKEN),
            Some("token-1")
        );
        assert!(response.headers().get(&X_AUTH_REQUEST_GROUPS).is_some());
    }

    /// A proxy copying the identity headers must find each one, even for a user without it.
    #[test]
    fn a_202_carries_every_identity_header_empty_for_what_the_user_lacks() {
        let identity = Identity {
            user: "sub-2".to_owned(),
            email: None,
            preferred_username: None,
            groups: Vec::new(),
            provider: "dev".to_owned(),
        };
        let mut session = session(identity, "unused");
        session.access_token = None;

        let response = accepted(&session, &upstream());

        assert_eq!(value(&response, &X_AUTH_REQUEST_USER), Some("sub-2"));
        for name in [
            &X_AUTH_REQUEST_EMAIL,
            &X_AUTH_REQUEST_PREFERRED_USERNAME,
            &X_AUTH_REQUEST_GROUPS,
            &X_AUTH_REQUEST_ACCESS_TOKEN,
        ] {
            assert_eq!(value(&response, name), Some(""), "{name}");
        }
    }
}
