//! Every route of the gateway in one function, the middleware order commented, and the
//! handlers of the small endpoints it serves itself (`/ping`, `/ready`, `/metrics`, static
//! files, the local providers' keys); also the router of `server.metrics_listen`.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::Router;

use crate::error::AppError;
use crate::metrics::Metrics;
use crate::pages::Pages;
use crate::state::AppState;
use crate::{backchannel, flow, forward_auth, gate, local};

/// Every route of the gateway. Middleware, from the outside in: the request id, the request
/// log (one line per request) and error rendering (HTML or JSON with the request id), all in
/// one layer; the `/oauth2/*` pages also get the security headers, and the login endpoints
/// the rate limit per client address.
pub(crate) fn router(state: AppState) -> Router {
    // The login endpoints: each request counts against its client address first
    // (`server.login_rate_limit`).
    let login = Router::new()
        .route("/oauth2/start", get(flow::start))
        .route("/oauth2/callback/{provider}", get(flow::callback))
        .route("/oauth2/local/{provider}", post(local::submit))
        .route("/oauth2/token", post(local::token))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            crate::login_limit::limit,
        ));
    let mut oauth2 = Router::new()
        .merge(login)
        .route("/oauth2/sign_in", get(flow::sign_in))
        .route("/oauth2/sign_out", get(flow::sign_out).post(flow::sign_out))
        .route("/oauth2/signed_out", get(flow::signed_out))
        .route("/oauth2/userinfo", get(flow::userinfo))
        .route("/oauth2/jwks.json", get(jwks))
        .route("/oauth2/auth", any(forward_auth::auth))
        .route(
            "/oauth2/backchannel_logout/{provider}",
            post(backchannel::logout),
        )
        .route(
            "/oauth2/static/{*path}",
            get(static_asset).layer(middleware::map_response(crate::telemetry::routine)),
        )
        .route("/oauth2/{*rest}", any(not_found));
    if let Some(dev) = &state.dev {
        oauth2 = oauth2.merge(Arc::clone(dev).router());
    }
    // Innermost: only the `/oauth2/*` answers get the security headers.
    let oauth2 = oauth2.layer(middleware::map_response(security_headers));

    // `/metrics` is the gateway's own path either way: with `server.metrics_listen` it is
    // served there only, and here it is a 404 rather than an upstream's page, so that
    // neither the gateway's nor an upstream's metrics are exposed where they were not meant
    // to be.
    let metrics_route = match state.config.server.metrics_listen {
        None => get(metrics),
        Some(_) => any(not_found),
    };
    Router::new()
        .merge(oauth2)
        .route("/ping", get(ping))
        .route("/ready", get(ready))
        .route("/metrics", metrics_route)
        .fallback(gate::handle)
        // Around everything: the request id, error rendering inside the request log (so the
        // log line sees the final status and the page carries the log's request id) and
        // the metrics of every answer.
        .layer(
            crate::error::render::RequestLayer::new(
                Arc::clone(&state.pages),
                Arc::clone(&state.metrics),
            )
            .traced(state.tracer.clone()),
        )
        .with_state(state)
}

/// The router of `server.metrics_listen`: `GET /metrics` of the metrics in effect (those
/// `in_effect` answers, which a reload replaces) and 404 for anything else, without the request log (a scrape every few seconds would fill
/// it) and not counted itself.
pub(crate) fn metrics_router(
    in_effect: impl Fn() -> Arc<Metrics> + Clone + Send + Sync + 'static,
) -> Router {
    Router::new()
        .route("/metrics", get(move || metrics_text(State(in_effect()))))
        .fallback(|| async { StatusCode::NOT_FOUND })
}

/// Headers on every `/oauth2/*` answer: no framing, no referrer, no caching of pages that
/// carry personal data, a CSP that allows only the gateway's own styles and images.
async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `GET /oauth2/static/{path}`: an embedded file, or the `[pages]` logo and stylesheet.
async fn static_asset(
    State(pages): State<Arc<Pages>>,
    Path(path): Path<String>,
) -> Result<Response, AppError> {
    let (content_type, body) = pages.static_file(&path).ok_or(AppError::NoRoute)?;
    Ok(([(header::CONTENT_TYPE, content_type)], body).into_response())
}

/// `GET /oauth2/jwks.json`: the public keys of the access tokens local providers issue
/// (DESIGN §10), current first; 404 when no provider issues any.
async fn jwks(State(state): State<AppState>) -> Response {
    if state.local.granting().next().is_none() {
        return AppError::NoRoute.into_response();
    }
    axum::Json(state.local.keys().jwks().clone()).into_response()
}

async fn not_found() -> AppError {
    AppError::NoRoute
}

async fn ping() -> &'static str {
    "OK"
}

/// `GET /metrics` on the main listener (when `server.metrics_listen` is not set).
async fn metrics(State(state): State<AppState>) -> Response {
    metrics_text(State(Arc::clone(&state.metrics))).await
}

/// The Prometheus text of every metric (`crate::metrics`), never cached.
async fn metrics_text(State(metrics): State<Arc<Metrics>>) -> Response {
    (
        [
            (header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE),
            (header::CACHE_CONTROL, "no-store"),
        ],
        metrics.render(),
    )
        .into_response()
}

/// 200 when every provider is discovered and the session store answers; 503 otherwise,
/// saying what is missing.
async fn ready(State(state): State<AppState>) -> Response {
    let pending: Vec<String> = state
        .providers
        .iter()
        .filter(|p| !p.is_ready())
        .map(|p| match p.discovery_failure() {
            Some(failure) => format!("{} (discovery failed: {failure})", p.id()),
            None => p.id().to_owned(),
        })
        .collect();
    let mut problems = Vec::new();
    if !pending.is_empty() {
        problems.push(format!("waiting for providers: {}", pending.join(", ")));
    }
    if let Err(err) = state.sessions.ping().await {
        problems.push(crate::error_chain::error_chain(&err));
    }
    if problems.is_empty() {
        (StatusCode::OK, "ready").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, problems.join("; ")).into_response()
    }
}
