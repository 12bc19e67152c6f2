//! W3C Trace Context (`traceparent`, `tracestate`) from clients never reaches an upstream
//! as sent (DESIGN §5 item 1, §11).

use crate::helpers::{echoed, spawn_app_with};

/// A client's own trace context, from the W3C Trace Context specification's example.
const CLIENT_TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

#[tokio::test]
async fn without_telemetry_trace_context_is_stripped_and_none_is_made() {
    let app = spawn_app_with(|_| {}).await;

    let echo = echoed(
        app.request(reqwest::Method::GET, "/public/page")
            .header("traceparent", CLIENT_TRACEPARENT)
            .header("tracestate", "forged=1")
            .send()
            .await
            .unwrap(),
    )
    .await;

    assert!(!echo.has_header("traceparent"), "{echo:?}");
    assert!(!echo.has_header("tracestate"), "{echo:?}");
    assert!(app.gateway_config.telemetry.is_none());
}
