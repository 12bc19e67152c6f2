//! The one place that turns errors into responses: every [`ErrorReport`] a handler left on
//! its response becomes an HTML page (browsers) or JSON (programs), with the request id, and
//! its cause is logged once.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Instant;

use axum::extract::Request;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::Response;
use pin_project_lite::pin_project;
use tower::{Layer, Service};
use tracing::instrument::{Instrument as _, Instrumented};

use super::ErrorReport;
use crate::pages::{ErrorPage, Pages};
use crate::telemetry::RequestId;

/// The middleware around every request (DESIGN §11): gives it its [`RequestId`], renders an
/// [`ErrorReport`] its handler left on the response (see [`render`]), and writes its
/// access-log line (`crate::telemetry::log_request`) with the final status. One layer, with
/// a future of its own, where two `axum::middleware::from_fn` layers each cloned the routes
/// below them and boxed a future on every request.
#[derive(Clone)]
pub(crate) struct RequestLayer {
    pages: Arc<Pages>,
}

impl RequestLayer {
    pub(crate) fn new(pages: Arc<Pages>) -> RequestLayer {
        RequestLayer { pages }
    }
}

impl<S> Layer<S> for RequestLayer {
    type Service = RequestService<S>;

    fn layer(&self, inner: S) -> RequestService<S> {
        RequestService {
            inner,
            pages: Arc::clone(&self.pages),
        }
    }
}

/// [`RequestLayer`] around the routes.
#[derive(Clone)]
pub(crate) struct RequestService<S> {
    inner: S,
    pages: Arc<Pages>,
}

impl<S> Service<Request> for RequestService<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Answer<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request) -> Answer<S::Future> {
        let request_id = RequestId::new();
        request.extensions_mut().insert(request_id.clone());
        // Every line logged while the request is answered names it (the span's field).
        let span = tracing::info_span!("request", request_id = %request_id);
        let asked = Asked {
            started: Some(Instant::now()),
            wants_html: crate::telemetry::is_browser(request.headers()),
            method: request.method().clone(),
            path: request.uri().path().to_owned(),
            request_id,
        };
        Answer {
            inner: span.in_scope(|| self.inner.call(request)).instrument(span),
            asked,
            pages: Arc::clone(&self.pages),
        }
    }
}

/// What the answer's log line and error page need of the request.
#[derive(Default)]
struct Asked {
    started: Option<Instant>,
    wants_html: bool,
    method: Method,
    path: String,
    request_id: RequestId,
}

pin_project! {
    /// The response future of [`RequestService`].
    pub(crate) struct Answer<F> {
        #[pin]
        inner: Instrumented<F>,
        asked: Asked,
        pages: Arc<Pages>,
    }
}

impl<F> Future for Answer<F>
where
    F: Future<Output = Result<Response, Infallible>>,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let Ok(response) = ready!(this.inner.poll(cx));
        let asked = std::mem::take(this.asked);
        let mut response = render(response, &asked.request_id, asked.wants_html, this.pages);
        crate::telemetry::log_request(
            &mut response,
            &asked.request_id,
            &asked.method,
            &asked.path,
            asked.started,
        );
        Poll::Ready(Ok(response))
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
