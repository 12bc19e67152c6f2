//! The one place that turns errors into responses: every [`ErrorReport`] a handler left on
//! its response becomes an HTML page (browsers) or JSON (programs), with the request id, and
//! its cause is logged once.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;

use super::ErrorReport;
use crate::pages::{ErrorPage, Pages};
use crate::telemetry::RequestId;

/// Middleware: renders every [`ErrorReport`] as an HTML page (browsers) or JSON (programs),
/// with the request id, and logs its cause once.
pub(crate) async fn render_errors(
    State(pages): State<Arc<Pages>>,
    request: Request,
    next: Next,
) -> Response {
    let wants_html = crate::telemetry::is_browser(request.headers());
    let request_id = request
        .extensions()
        .get::<RequestId>()
        .cloned()
        .unwrap_or_default();
    let mut response = next.run(request).await;
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
