//! The one place that turns errors into responses: every [`ErrorReport`] a handler left on
//! its response becomes an HTML page (browsers) or JSON (programs), with the request id, and
//! its cause is logged once. Every answer is counted here too (`crate::metrics`).

use std::convert::Infallible;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Instant;

use axum::extract::{ConnectInfo, Request};
use axum::http::{header, HeaderValue, Method, StatusCode, Uri};
use axum::response::Response;
use pin_project_lite::pin_project;
use tower::{Layer, Service};
use tracing::instrument::{Instrument as _, Instrumented};

use super::ErrorReport;
use crate::metrics::{Metrics, RouteSlot, UpstreamFailure};
use crate::pages::{ErrorPage, Pages};
use crate::telemetry::trace::{Current, RequestTrace, Tracer};
use crate::telemetry::RequestId;

/// The middleware around every request (DESIGN §11): gives it its [`RequestId`], renders an
/// [`ErrorReport`] its handler left on the response (see [`render`]), writes its
/// access-log line (`crate::telemetry::log_request`) with the final status, and counts it
/// (`crate::metrics`) under the upstream its handler says it went to ([`Answered`]). One
/// layer, with a future of its own, where two `axum::middleware::from_fn` layers each cloned
/// the routes below them and boxed a future on every request.
#[derive(Clone)]
pub(crate) struct RequestLayer {
    finisher: Arc<Finisher>,
}

/// What finishing an answer needs: the pages errors are rendered with, the metrics, and
/// the tracer that records the request's span (`[telemetry]`).
struct Finisher {
    pages: Arc<Pages>,
    metrics: Arc<Metrics>,
    tracer: Option<Tracer>,
}

impl RequestLayer {
    pub(crate) fn new(pages: Arc<Pages>, metrics: Arc<Metrics>) -> RequestLayer {
        RequestLayer {
            finisher: Arc::new(Finisher {
                pages,
                metrics,
                tracer: None,
            }),
        }
    }

    /// Gives every request a span of `tracer`'s (`crate::telemetry::trace`).
    #[must_use]
    pub(crate) fn traced(self, tracer: Option<Tracer>) -> RequestLayer {
        RequestLayer {
            finisher: Arc::new(Finisher {
                pages: Arc::clone(&self.finisher.pages),
                metrics: Arc::clone(&self.finisher.metrics),
                tracer,
            }),
        }
    }
}

impl<S> Layer<S> for RequestLayer {
    type Service = RequestService<S>;

    fn layer(&self, inner: S) -> RequestService<S> {
        RequestService {
            inner,
            finisher: Arc::clone(&self.finisher),
        }
    }
}

/// [`RequestLayer`] around the routes.
#[derive(Clone)]
pub(crate) struct RequestService<S> {
    inner: S,
    finisher: Arc<Finisher>,
}

/// An answer, and where it was answered for the metrics: a plain [`Response`] is the
/// gateway's own; the gate answers [`Routed`].
pub(crate) trait Answered {
    fn into_parts(self) -> (Response, RouteSlot);
}

impl Answered for Response {
    fn into_parts(self) -> (Response, RouteSlot) {
        (self, RouteSlot::GATEWAY)
    }
}

/// The gate's answer and the upstream the request was routed to.
pub(crate) struct Routed {
    pub(crate) response: Response,
    pub(crate) slot: RouteSlot,
}

impl Answered for Routed {
    fn into_parts(self) -> (Response, RouteSlot) {
        (self.response, self.slot)
    }
}

/// A request as the middleware gets it: a plain [`Request`] (the router's, with its peer in
/// the `ConnectInfo` extension, where its handlers also find the request id), or a
/// [`FromPeer`] (the gate's).
pub(crate) trait Arrival {
    fn request(&self) -> &Request;
    /// The client's address, for a trusted proxy's trace context.
    fn peer(&self) -> Option<IpAddr>;
    /// Hands the request id to the handler, where it reads one.
    fn carry_id(&mut self, id: RequestId);
}

impl Arrival for Request {
    fn request(&self) -> &Request {
        self
    }

    fn peer(&self) -> Option<IpAddr> {
        self.extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(peer)| peer.ip())
    }

    fn carry_id(&mut self, id: RequestId) {
        // `Extension<RequestId>`, for the pages that show it.
        self.extensions_mut().insert(id);
    }
}

/// A request and the address it came from, handed to the gate directly instead of as an
/// extension: the gate reads no extension, and the first one costs allocations on every
/// request.
pub(crate) struct FromPeer {
    pub(crate) request: Request,
    pub(crate) peer: SocketAddr,
}

impl Arrival for FromPeer {
    fn request(&self) -> &Request {
        &self.request
    }

    fn peer(&self) -> Option<IpAddr> {
        Some(self.peer.ip())
    }

    /// The gate's answers and log lines get the id from the middleware; nothing reads it
    /// from the request.
    fn carry_id(&mut self, _: RequestId) {}
}

impl<S, R> Service<R> for RequestService<S>
where
    S: Service<R, Error = Infallible>,
    S::Response: Answered,
    R: Arrival,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Answer<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut arrival: R) -> Answer<S::Future> {
        let request_id = RequestId::new();
        arrival.carry_id(request_id);
        // Every line logged while the request is answered names it (the span's field).
        let span = tracing::info_span!("request", request_id = %request_id);
        let request = arrival.request();
        let trace = self
            .finisher
            .tracer
            .as_ref()
            .map(|tracer| tracer.begin_request(arrival.peer(), request.headers()));
        let asked = Asked {
            started: Some(Instant::now()),
            wants_html: crate::telemetry::is_browser(request.headers()),
            method: request.method().clone(),
            uri: request.uri().clone(),
            request_id,
        };
        Answer {
            inner: span.in_scope(|| self.inner.call(arrival)).instrument(span),
            trace,
            asked,
            finisher: Arc::clone(&self.finisher),
        }
    }
}

/// What the answer's log line and error page need of the request.
#[derive(Default)]
struct Asked {
    started: Option<Instant>,
    wants_html: bool,
    method: Method,
    /// Shared with the request (its parts are reference-counted), not copied: its path is
    /// logged.
    uri: Uri,
    request_id: RequestId,
}

pin_project! {
    /// The response future of [`RequestService`].
    pub(crate) struct Answer<F> {
        #[pin]
        inner: Instrumented<F>,
        // The request's OpenTelemetry span, when `[telemetry]` is set.
        trace: Option<Box<RequestTrace>>,
        asked: Asked,
        finisher: Arc<Finisher>,
    }
}

impl<F, A> Future for Answer<F>
where
    F: Future<Output = Result<A, Infallible>>,
    A: Answered,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let inner = this.inner;
        let polled = match this.trace.as_mut() {
            Some(trace) => Current::poll_in(&mut trace.current, || inner.poll(cx)),
            None => inner.poll(cx),
        };
        let Ok(answered) = ready!(polled);
        let (response, slot) = answered.into_parts();
        let asked = std::mem::take(this.asked);
        let metrics = &this.finisher.metrics;
        if let Some(failure) = upstream_failure(&response) {
            metrics.upstream_failed(slot, failure);
        }
        let mut response = render(
            response,
            &asked.request_id,
            asked.wants_html,
            &this.finisher.pages,
        );
        let elapsed = asked.started.map(|started| started.elapsed());
        metrics.request(
            slot,
            response.status().as_u16(),
            elapsed.unwrap_or_default(),
        );
        crate::telemetry::log_request(
            &mut response,
            &asked.request_id,
            &asked.method,
            asked.uri.path(),
            elapsed,
        );
        if let Some(trace) = this.trace.take() {
            trace.finish(
                asked.method.as_str(),
                asked.uri.path(),
                response.status().as_u16(),
                &asked.request_id.to_string(),
            );
        }
        Poll::Ready(Ok(response))
    }
}

/// How the upstream failed, when the answer says it did (an [`super::AppError::Upstream`]).
fn upstream_failure(response: &Response) -> Option<UpstreamFailure> {
    match response.extensions().get::<Arc<ErrorReport>>()?.code {
        "upstream_timeout" => Some(UpstreamFailure::Timeout),
        "upstream_unavailable" => Some(UpstreamFailure::Unavailable),
        _ => None,
    }
}

/// `response`, or when its handler left an [`ErrorReport`] on it, the report as an HTML page
/// (browsers) or JSON (programs) with the request id, its cause logged once.
fn render(
    mut response: Response,
    request_id: &RequestId,
    wants_html: bool,
    pages: &Pages,
) -> Response {
    let Some(report) = response.extensions_mut().remove::<Arc<ErrorReport>>() else {
        return response;
    };
    if report.status.is_server_error() {
        tracing::error!(request_id = %request_id, status = report.status.as_u16(), cause = %report.cause, "request failed");
    } else {
        tracing::info!(request_id = %request_id, status = report.status.as_u16(), cause = %report.cause, "request rejected");
    }
    let (content_type, body) = if wants_html {
        let page = ErrorPage {
            status: report.status.as_u16(),
            title: report.title.to_owned(),
            message: report.message.clone(),
            request_id: request_id.to_string(),
            retry_url: report.retry_url.clone(),
            retry_label: report.retry_label.unwrap_or("Try again").to_owned(),
            account: report.account.clone(),
            sign_in_url: report.sign_in_url.clone(),
        };
        ("text/html; charset=utf-8", pages.error(&page))
    } else {
        let json = serde_json::json!({
            "error": report.code,
            "message": report.message,
            "request_id": request_id.to_string(),
        });
        ("application/json", json.to_string())
    };
    let (mut parts, _) = response.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts
        .headers
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if report.status == StatusCode::UNAUTHORIZED
        && !parts.headers.contains_key(header::WWW_AUTHENTICATE)
    {
        parts.headers.insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(report.www_authenticate),
        );
    }
    Response::from_parts(parts, axum::body::Body::from(body))
}
