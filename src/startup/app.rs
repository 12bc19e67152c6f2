//! The gateway as the one service every connection answers with ([`App`]): the gateway's
//! own endpoints through the router, every other request straight to the gate, which is the
//! router's fallback, inside the same request middleware.
//!
//! Only the gate's requests are proxied, and they are nearly all of them: going round the
//! router saves its route lookup, its layers and a second boxed future on each.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use axum::body::Body;
use axum::extract::{ConnectInfo, Request};
use axum::http::header::CONTENT_LENGTH;
use axum::http::{HeaderValue, Method};
use axum::response::{IntoResponse, Response};
use axum::Router;
use futures::future::Either;
use hyper::body::Body as _;
use pin_project_lite::pin_project;
use tower::{Layer, Service};

use crate::error::render::{Answer, FromPeer, RequestLayer, RequestService, Routed};
use crate::gate;
use crate::metrics::RouteSlot;
use crate::state::AppState;

/// The router, and the gate behind the router's request middleware.
#[derive(Clone)]
pub(crate) struct App {
    router: Router,
    gate: RequestService<Gate>,
}

impl App {
    pub(crate) fn new(state: AppState) -> App {
        let layer = RequestLayer::new(
            std::sync::Arc::clone(&state.pages),
            std::sync::Arc::clone(&state.metrics),
        )
        .traced(state.tracer.clone());
        App {
            router: super::routes::router(state.clone()),
            gate: layer.layer(Gate(state)),
        }
    }
}

/// Whether the router has a route for `path` other than its fallback: every other route is
/// `/ping`, `/ready`, `/metrics` (a 404 when `server.metrics_listen` serves it) or under
/// `/oauth2/` (the dev provider's included).
pub(super) fn routed(path: &str) -> bool {
    path.starts_with("/oauth2/") || path == "/ping" || path == "/ready" || path == "/metrics"
}

type GateFuture = Pin<Box<dyn Future<Output = Result<Routed, Infallible>> + Send>>;

/// The answer of an [`App`]: the router's, or the gate's finished as the router would.
pub(crate) type AppAnswer = Either<<Router as Service<Request>>::Future, Finished>;

impl App {
    /// Answers `request` from `peer`: the router's routes get the peer as `ConnectInfo`,
    /// which their extractors read; the gate, which nearly every request goes to, is handed
    /// it, so that its requests carry no extension.
    pub(crate) fn answer(&mut self, mut request: Request, peer: SocketAddr) -> AppAnswer {
        if routed(request.uri().path()) {
            request.extensions_mut().insert(ConnectInfo(peer));
            // A router is always ready (`Router::poll_ready`), so it is called at once.
            Either::Left(self.router.call(request))
        } else {
            Either::Right(Finished {
                method: request.method().clone(),
                answer: self.gate.call(FromPeer { request, peer }),
            })
        }
    }
}

/// As a service, for a request that carries its peer as `ConnectInfo` (one without is
/// answered by the router alone, which refuses it as its extractors do).
impl Service<Request> for App {
    type Response = Response;
    type Error = Infallible;
    type Future = AppAnswer;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Service::<Request>::poll_ready(&mut self.router, cx)
    }

    fn call(&mut self, request: Request) -> AppAnswer {
        match request.extensions().get::<ConnectInfo<SocketAddr>>() {
            Some(&ConnectInfo(peer)) => self.answer(request, peer),
            None => Either::Left(self.router.call(request)),
        }
    }
}

/// [`gate::pass`] as a service of requests with their peer; its answers name the upstream
/// they were routed to, for the metrics.
#[derive(Clone)]
pub(crate) struct Gate(AppState);

impl Service<FromPeer> for Gate {
    type Response = Routed;
    type Error = Infallible;
    type Future = GateFuture;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, FromPeer { request, peer }: FromPeer) -> GateFuture {
        let state = self.0.clone();
        Box::pin(async move {
            let mut slot = RouteSlot::GATEWAY;
            let response = gate::pass(state, peer, request, &mut slot)
                .await
                .into_response();
            Ok(Routed { response, slot })
        })
    }
}

/// What axum's router does to every answer of its fallback at the top level, after the
/// request middleware (`RouteFuture`): a `Content-Length` for a body of known size that has
/// none, and no body for `HEAD`. (Its rule for a successful `CONNECT` does not arise: the
/// gate refuses every `CONNECT`.)
fn finish_as_the_router_does(method: &Method, mut response: Response) -> Response {
    if !response.headers().contains_key(CONTENT_LENGTH) {
        if let Some(length) = response.body().size_hint().exact() {
            response
                .headers_mut()
                .insert(CONTENT_LENGTH, HeaderValue::from(length));
        }
    }
    if *method == Method::HEAD {
        *response.body_mut() = Body::empty();
    }
    response
}

pin_project! {
    /// The gate's answer, finished as the router would finish it.
    pub(crate) struct Finished {
        #[pin]
        answer: Answer<GateFuture>,
        method: Method,
    }
}

impl Future for Finished {
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let Ok(response) = ready!(this.answer.poll(cx));
        Ok(finish_as_the_router_does(this.method, response)).into()
    }
}

#[cfg(test)]
mod tests;
