//! The gate: every request outside `/oauth2/`, `/ping` and `/ready`. It routes by host and
//! longest path prefix, lets public requests through (public routes, `skip_auth` matches and,
//! where enabled, CORS preflights; identity headers stripped), and otherwise requires a valid
//! session that passes both the `[authorize]` rules and the route's `allow` before proxying
//! with identity headers (DESIGN §1). A session's memberships are read again first when due
//! (`crate::membership`).

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, Method};
use axum::response::{Html, IntoResponse, Response};

use crate::authz::{self, Subject};
use crate::config::{UpstreamConfig, UpstreamTarget};
use crate::error::AppError;
use crate::flow::{redirect, start_url};
use crate::membership::checked_session;
use crate::pages::EchoPage;
use crate::proxy::headers::remove_gateway_set_cookies;
use crate::proxy::route::{normalize_path, request_host};
use crate::proxy::{prepare_request, ForwardContext, IdentityHeaders};
use crate::redirect::RedirectTarget;
use crate::session::{CookieJar, Session};
use crate::startup::AppState;
use crate::telemetry::is_browser;

/// The methods the gateway forwards, for the `Allow` header of a 405 (RFC 9110 §15.5.6);
/// extension methods are forwarded too.
const FORWARDED_METHODS: &str = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS";

/// Fallback handler: route, authenticate, authorize, proxy.
pub async fn handle(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
) -> Result<Response, AppError> {
    if request.method() == Method::CONNECT {
        return Ok(connect_refused(&request));
    }
    let host = request_host(request.headers(), request.uri(), request.version())
        .map_err(|bad| AppError::BadRequest(bad.to_string()))?;
    let upstream = state
        .routes
        .route(host, request.uri().path())
        .ok_or(AppError::NoRoute)?;
    if passes_without_session(
        upstream,
        request.method(),
        request.uri().path(),
        request.headers(),
    ) {
        return forward(&state, upstream, request, peer, None).await;
    }
    if let Some(bearer) = crate::bearer::authenticate(&state, request.headers()).await {
        let bearer = bearer?;
        check_rules(
            &state,
            upstream,
            &bearer.identity,
            Some(&bearer.token),
            request.uri().path(),
        )?;
        let now = crate::session::unix_now();
        let session = Session {
            identity: bearer.identity,
            id_token: None,
            access_token: Some(bearer.token),
            issued_at: now,
            expires_at: now,
            checked_at: now,
        };
        return forward(&state, upstream, request, peer, Some(&session)).await;
    }
    let jar = CookieJar::from_headers(&state.cookies, request.headers());
    let checked = checked_session(&state, &jar).await;
    let response = async {
        let Some(session) = &checked.session else {
            return unauthenticated(&state, &request);
        };
        check_rules(
            &state,
            upstream,
            &session.identity,
            session.id_token.as_deref(),
            request.uri().path(),
        )?;
        forward(&state, upstream, request, peer, Some(session)).await
    }
    .await;
    // Whatever the answer, the browser learns the outcome of a membership check.
    Ok(checked.record_on(response.unwrap_or_else(IntoResponse::into_response)))
}

/// The global `[authorize]` rules and the route's `allow`; `token` is the validated JWT
/// (ID token of the session, or the bearer token) whose payload claim rules read.
fn check_rules(
    state: &AppState,
    upstream: &UpstreamConfig,
    identity: &crate::identity::Identity,
    token: Option<&str>,
    path: &str,
) -> Result<(), AppError> {
    let subject = Subject::new(identity, token);
    authz::authorize_route(&state.config.authorize, upstream.allow.as_ref(), &subject).map_err(
        |denial| {
            tracing::info!(
                user = %identity.user,
                provider = %identity.provider,
                path = %path,
                rule = %denial.rule,
                reason = %denial.reason,
                "access denied"
            );
            AppError::Forbidden(denial.to_string())
        },
    )
}

/// 405 for `CONNECT` (RFC 9110 §9.3.6), HTTP/2's extended `CONNECT` (RFC 8441, WebSocket
/// over HTTP/2) included: the gateway is no tunnel, and its upstream client speaks HTTP/1.1,
/// where the request would become a path-less `CONNECT` to the upstream's own address.
fn connect_refused(request: &Request) -> Response {
    let protocol = request
        .extensions()
        .get::<hyper::ext::Protocol>()
        .map(|protocol| format!(" (extended CONNECT for {})", protocol.as_str()))
        .unwrap_or_default();
    let mut response = AppError::MethodNotAllowed(format!(
        "CONNECT {}{protocol} is not forwarded",
        request.uri()
    ))
    .into_response();
    response.headers_mut().insert(
        header::ALLOW,
        header::HeaderValue::from_static(FORWARDED_METHODS),
    );
    response
}

/// Whether a request to `upstream` goes through without a session: the route is `public`,
/// or it is a CORS preflight and the route has `cors_preflight = true`, or one of its
/// `skip_auth` rules lists the method and matches the path as upstream servers resolve it
/// ([`normalize_path`]; a path servers could read differently matches no rule). `path` is
/// the raw path of the request target.
pub fn passes_without_session(
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

/// Browser navigations go to the sign-in page (or straight to the only provider with
/// `auto_redirect`); everything else gets 401 JSON.
fn unauthenticated(state: &AppState, request: &Request) -> Result<Response, AppError> {
    let navigation =
        matches!(*request.method(), Method::GET | Method::HEAD) && is_browser(request.headers());
    if !navigation {
        return Err(AppError::Unauthenticated);
    }
    let path_and_query = request
        .uri()
        .path_and_query()
        .map(|pq| pq.as_str())
        .unwrap_or("/");
    let rd = RedirectTarget::parse(
        Some(path_and_query),
        &state.config.server.allowed_redirect_hosts,
    );
    let mut only = state.providers.iter();
    let location = match (state.config.server.auto_redirect, only.next(), only.next()) {
        (true, Some(provider), None) => start_url(provider.id(), &rd),
        _ => {
            let query: String = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("rd", rd.as_str())
                .finish();
            format!("/oauth2/sign_in?{query}")
        }
    };
    Ok(redirect(&location))
}

async fn forward(
    state: &AppState,
    upstream: &UpstreamConfig,
    request: Request,
    peer: SocketAddr,
    session: Option<&Session>,
) -> Result<Response, AppError> {
    let ctx = ForwardContext {
        peer,
        proto: state.config.server.public_url.scheme(),
        gateway_cookie_name: &state.cookies.name,
        identity: session.map(|s| IdentityHeaders {
            identity: &s.identity,
            access_token: s.access_token.as_deref(),
            id_token: s.id_token.as_deref(),
        }),
    };
    let prepared = prepare_request(request, upstream, &ctx);
    let mut response = match &upstream.target {
        UpstreamTarget::Http(_) => state.upstream.send(prepared, upstream.timeout).await?,
        UpstreamTarget::Echo => echo(state, &prepared),
    };
    remove_gateway_set_cookies(response.headers_mut(), &state.cookies.name);
    // A page made for one signed-in person must not outlive the session in a cache: without
    // this, the back button after sign-out shows it again from the browser's history. An
    // upstream that says how its answer may be cached (static assets, typically) is obeyed.
    if session.is_some() && !response.headers().contains_key(header::CACHE_CONTROL) {
        response.headers_mut().insert(
            header::CACHE_CONTROL,
            header::HeaderValue::from_static("no-store"),
        );
    }
    Ok(response)
}

/// The built-in echo upstream: the request exactly as an upstream would have received it.
fn echo(state: &AppState, prepared: &Request) -> Response {
    let page = EchoPage {
        method: prepared.method().to_string(),
        uri: prepared
            .uri()
            .path_and_query()
            .map(|pq| pq.as_str().to_owned())
            .unwrap_or_default(),
        headers: prepared
            .headers()
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str().to_owned(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            })
            .collect(),
    };
    let mut response = Html(state.pages.echo(&page)).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    response
}
