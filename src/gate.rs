//! The gate: every request outside `/oauth2/`, `/ping` and `/ready`. It routes by host and
//! longest path prefix, lets public requests through (public routes, `skip_auth` matches and,
//! where enabled, CORS preflights; identity headers stripped), and otherwise requires a valid
//! session that passes both the `[authorize]` rules and the route's `allow` before proxying
//! with identity headers (DESIGN §1). A session's memberships are read again first when due
//! (`crate::membership`).

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderName, HeaderValue, Method};
use axum::response::{Html, IntoResponse, Response};

use crate::authz::{self, Claims, Subject};
use crate::caller::Caller;
use crate::config::{UpstreamConfig, UpstreamTarget};
use crate::error::AppError;
use crate::links::{redirect, sign_in_url, start_url};
use crate::metrics::RouteSlot;
use crate::pages::EchoPage;
use crate::proxy::headers::{remove_gateway_set_cookies, IDENTITY_HEADERS};
use crate::proxy::route::routed_host;
use crate::proxy::{prepare_request, ForwardContext, IdentityHeaders};
use crate::public::passes_without_session;
use crate::redirect::RedirectTarget;
use crate::session::Session;
use crate::state::AppState;
use crate::telemetry::is_browser;
use crate::telemetry::trace::UpstreamExchange;

/// The methods the gateway forwards, for the `Allow` header of a 405 (RFC 9110 §15.5.6);
/// extension methods are forwarded too.
const FORWARDED_METHODS: &str = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS";

/// Fallback handler: route, authenticate, authorize, proxy.
pub(crate) async fn handle(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
) -> Result<Response, AppError> {
    let mut slot = RouteSlot::GATEWAY;
    pass(state, peer, request, &mut slot).await
}

/// [`handle`], telling `slot` which upstream the request was routed to (`crate::metrics`).
pub(crate) async fn pass(
    state: AppState,
    peer: SocketAddr,
    request: Request,
    slot: &mut RouteSlot,
) -> Result<Response, AppError> {
    if request.method() == Method::CONNECT {
        return Ok(connect_refused(&request));
    }
    let host = routed_host(request.headers(), request.uri(), request.version())
        .map_err(|bad| AppError::BadRequest(bad.to_string()))?;
    let upstream = state
        .routes
        .route_normal(
            host.as_ref().map(|routed| &*routed.host),
            request.uri().path(),
        )
        .ok_or(AppError::NoRoute)?;
    let host = host.and_then(|routed| routed.header_value());
    *slot = state.routes.slot(upstream);
    if passes_without_session(
        upstream,
        request.method(),
        request.uri().path(),
        request.headers(),
    ) {
        return forward(&state, upstream, request, peer, host.as_ref(), None).await;
    }
    let caller = Caller::identify(&state, request.headers()).await?;
    let response = async {
        let Some(session) = caller.session() else {
            return unauthenticated(&state, &request);
        };
        check_rules(
            &state,
            upstream,
            &session.identity,
            caller.claims(),
            request.uri().path(),
        )?;
        forward(
            &state,
            upstream,
            request,
            peer,
            host.as_ref(),
            Some(session),
        )
        .await
    }
    .await;
    // Whatever the answer, the browser learns the outcome of a membership check.
    Ok(caller.record_on(response.unwrap_or_else(IntoResponse::into_response)))
}

/// The global `[authorize]` rules and the route's `allow`; `token` is the validated JWT
/// (ID token of the session, or the bearer token) whose payload claim rules read.
fn check_rules(
    state: &AppState,
    upstream: &UpstreamConfig,
    identity: &crate::identity::Identity,
    claims: Claims<'_>,
    path: &str,
) -> Result<(), AppError> {
    let subject = Subject::new(identity, claims);
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
    // A local provider's form is only on the sign-in page, so it is never skipped.
    let mut only = state.providers.iter();
    let no_form = state.local.iter().next().is_none();
    let location = match (state.config.server.auto_redirect, only.next(), only.next()) {
        (true, Some(provider), None) if no_form => start_url(provider.id(), &rd),
        _ => sign_in_url(&rd),
    };
    Ok(redirect(&location))
}

async fn forward(
    state: &AppState,
    upstream: &UpstreamConfig,
    request: Request,
    peer: SocketAddr,
    host: Option<&HeaderValue>,
    session: Option<&Session>,
) -> Result<Response, AppError> {
    let ctx = ForwardContext {
        host,
        peer,
        proto: state.config.server.public_url.scheme(),
        gateway_cookie_name: &state.cookies.name,
        identity: session.map(|s| IdentityHeaders {
            identity: &s.identity,
            values: s.header_values(),
            access_token: s.access_token.as_deref(),
            id_token: s.id_token.as_deref(),
        }),
    };
    let mut prepared = prepare_request(request, upstream, &ctx);
    let mut response = match &upstream.target {
        UpstreamTarget::Http(url) => {
            // With `[telemetry]`: the exchange's span, and its `traceparent` on the request.
            let exchange = UpstreamExchange::begin(&mut prepared, url);
            let sent = state.upstream.send(prepared, upstream.timeout).await;
            if let Some(exchange) = exchange {
                exchange.finish(sent.as_ref().ok());
            }
            sent?
        }
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

/// The built-in echo upstream: the request exactly as an upstream would have received it,
/// the identity headers first (on a phone, the rest is a long scroll of browser headers).
fn echo(state: &AppState, prepared: &Request) -> Response {
    let shown = |name: &HeaderName, value: &HeaderValue| {
        (
            name.as_str().to_owned(),
            String::from_utf8_lossy(value.as_bytes()).into_owned(),
        )
    };
    let headers = prepared.headers();
    let page = EchoPage {
        method: prepared.method().to_string(),
        uri: prepared
            .uri()
            .path_and_query()
            .map(|pq| pq.as_str().to_owned())
            .unwrap_or_default(),
        identity: IDENTITY_HEADERS
            .iter()
            .flat_map(|name| headers.get_all(name).iter().map(|value| shown(name, value)))
            .collect(),
        headers: headers
            .iter()
            .filter(|(name, _)| !IDENTITY_HEADERS.contains(name))
            .map(|(name, value)| shown(name, value))
            .collect(),
    };
    let mut response = Html(state.pages.echo(&page)).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    response
}

#[cfg(test)]
mod future_size {
    use super::*;

    fn future_size<A, B, C, Fut: std::future::Future, F: FnOnce(A, B, C) -> Fut>(_: &F) -> usize {
        std::mem::size_of::<Fut>()
    }

    /// Every request's future is moved into a box and polled through the middleware; rare
    /// paths that need large futures (a token refresh, any Redis command) box theirs, so a
    /// request carries a few KiB, not the 25 KiB it did before they were boxed.
    #[test]
    fn a_requests_future_stays_small() {
        let size = future_size(&handle);
        assert!(size <= 8 * 1024, "gate::handle's future is {size} bytes");
    }
}
