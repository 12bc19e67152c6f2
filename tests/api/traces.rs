//! OpenTelemetry traces over OTLP/HTTP JSON (DESIGN §11), checked from both ends: a
//! collector in the test (`POST /v1/traces`) that reads what the gateway exports, and the
//! echo upstream that shows the `traceparent` it was sent.

use std::sync::{Arc, Mutex};

use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use serde_json::Value;

use crate::helpers::{echoed, spawn_app_with, wait_until, TestApp, TestConfig};

/// A client's own trace context, from the W3C Trace Context specification's example.
const CLIENT_TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
const CLIENT_TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

/// An OTLP/HTTP collector: keeps the JSON body of every `POST /v1/traces`.
#[derive(Clone, Default)]
struct Collector {
    exports: Arc<Mutex<Vec<Value>>>,
}

impl Collector {
    /// Listens on a loopback port; returns the collector and its base URL.
    async fn start() -> (Collector, String) {
        let collector = Collector::default();
        let exports = Arc::clone(&collector.exports);
        let app = axum::Router::new().route(
            "/v1/traces",
            post(move |headers: HeaderMap, body: String| async move {
                assert_eq!(headers["content-type"], "application/json");
                let export: Value = serde_json::from_str(&body).expect("an OTLP JSON export");
                exports.lock().unwrap().push(export);
                (StatusCode::OK, "{}")
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (collector, url)
    }

    /// Every span received so far; each export checked for the OTLP structure on the way.
    fn spans(&self) -> Vec<Value> {
        let exports = self.exports.lock().unwrap();
        let mut spans = Vec::new();
        for export in exports.iter() {
            let resource = &export["resourceSpans"][0];
            assert_eq!(
                attribute(&resource["resource"], "service.name"),
                Some(Value::from("portcullis")),
                "{export}"
            );
            let scope = &resource["scopeSpans"][0];
            assert_eq!(scope["scope"]["name"], "portcullis", "{export}");
            spans.extend(scope["spans"].as_array().expect("spans").iter().cloned());
        }
        spans
    }

    fn everything(&self) -> String {
        serde_json::to_string(&*self.exports.lock().unwrap()).unwrap()
    }

    /// Waits for the first span that `matches`.
    async fn span(&self, what: &str, matches: impl Fn(&Value) -> bool) -> Value {
        wait_until(what, || self.spans().iter().any(&matches)).await;
        self.spans().into_iter().find(matches).unwrap()
    }
}

/// The value of attribute `key` of a span or resource: a string, or an int64 (a decimal
/// string in the protobuf JSON mapping) as a number.
fn attribute(holder: &Value, key: &str) -> Option<Value> {
    let found = holder["attributes"]
        .as_array()?
        .iter()
        .find(|attribute| attribute["key"] == key)?;
    let value = &found["value"];
    if let Some(text) = value["stringValue"].as_str() {
        return Some(Value::from(text));
    }
    let int = value["intValue"].as_str()?;
    Some(Value::from(int.parse::<i64>().ok()?))
}

/// `traceparent` as sent to the upstream: (trace id, parent id, flags).
fn decode_traceparent(value: &str) -> (String, String, String) {
    let parts: Vec<&str> = value.split('-').collect();
    assert_eq!(parts.len(), 4, "{value}");
    assert_eq!(parts[0], "00", "{value}");
    assert_eq!(parts[1].len(), 32, "{value}");
    assert_eq!(parts[2].len(), 16, "{value}");
    (
        parts[1].to_owned(),
        parts[2].to_owned(),
        parts[3].to_owned(),
    )
}

async fn traced_app(change: impl FnOnce(&mut TestConfig)) -> (TestApp, Collector) {
    let (collector, url) = Collector::start().await;
    let app = spawn_app_with(|cfg| {
        cfg.extra_toml = format!("[telemetry]\notlp_endpoint = \"{url}\"\n");
        change(cfg);
    })
    .await;
    (app, collector)
}

#[tokio::test]
async fn a_signed_in_request_and_its_upstream_exchange_are_one_trace() {
    let (app, collector) = traced_app(|_| {}).await;
    app.sign_in().await;

    let echo = echoed(app.get("/reports/q3?access_token=hunter2").await).await;

    let traceparent = echo.header("traceparent").expect("a traceparent upstream");
    let (trace_id, upstream_span_id, flags) = decode_traceparent(traceparent);
    assert_eq!(flags, "01", "sampled");
    let upstream = collector
        .span("the upstream span", |span| {
            span["spanId"] == upstream_span_id.as_str()
        })
        .await;
    let request = collector
        .span("the request span", |span| {
            attribute(span, "url.path") == Some(Value::from("/reports/q3"))
        })
        .await;
    assert_eq!(upstream["traceId"], trace_id.as_str());
    assert_eq!(request["traceId"], trace_id.as_str());
    assert_eq!(upstream["parentSpanId"], request["spanId"]);
    assert!(request.get("parentSpanId").is_none(), "{request}");

    assert_eq!(request["name"], "GET");
    assert_eq!(request["kind"], 2, "SPAN_KIND_SERVER");
    assert_eq!(
        attribute(&request, "http.request.method"),
        Some("GET".into())
    );
    assert_eq!(
        attribute(&request, "http.response.status_code"),
        Some(200.into())
    );
    assert_eq!(request["status"], serde_json::json!({}));
    assert_eq!(upstream["name"], "GET");
    assert_eq!(upstream["kind"], 3, "SPAN_KIND_CLIENT");
    assert_eq!(
        attribute(&upstream, "server.address"),
        Some("127.0.0.1".into())
    );
    assert_eq!(
        attribute(&upstream, "server.port"),
        Some(i64::from(app.upstream.addr().port()).into())
    );
    assert_eq!(
        attribute(&upstream, "http.response.status_code"),
        Some(200.into())
    );
    for span in [&request, &upstream] {
        let start: u64 = span["startTimeUnixNano"].as_str().unwrap().parse().unwrap();
        let end: u64 = span["endTimeUnixNano"].as_str().unwrap().parse().unwrap();
        assert!(start > 0 && start <= end, "{span}");
    }
    let request_id = attribute(&request, "portcullis.request_id").expect("the request id");
    assert_eq!(request_id.as_str().unwrap().len(), 16);

    // No query, cookie, token or email in anything exported.
    let everything = collector.everything();
    for (name, value) in app.session_cookies(&app.browser) {
        assert!(
            !everything.contains(&value),
            "the cookie {name} was exported"
        );
    }
    for secret in [
        "hunter2",
        "access_token",
        "@example.com",
        "mock-client-secret",
    ] {
        assert!(
            !everything.contains(secret),
            "{secret} was exported: {everything}"
        );
    }
}

#[tokio::test]
async fn a_sign_in_traces_its_provider_calls() {
    let (app, collector) = traced_app(|_| {}).await;

    collector
        .span("the discovery span", |span| span["name"] == "discovery")
        .await;
    app.sign_in().await;

    let exchange = collector
        .span("the token exchange span", |span| {
            span["name"] == "token_exchange"
        })
        .await;
    let callback = collector
        .span("the callback span", |span| {
            attribute(span, "url.path") == Some(Value::from("/oauth2/callback/mock"))
        })
        .await;
    assert_eq!(exchange["traceId"], callback["traceId"]);
    assert_eq!(exchange["parentSpanId"], callback["spanId"]);
    assert_eq!(exchange["kind"], 3);
    assert_eq!(
        attribute(&exchange, "portcullis.provider.id"),
        Some("mock".into())
    );
    assert_eq!(
        attribute(&exchange, "server.address"),
        Some("127.0.0.1".into())
    );
    let status = attribute(&callback, "http.response.status_code").unwrap();
    assert!(matches!(status.as_i64(), Some(302 | 303)), "{callback}");
    let discovery = collector
        .span("the discovery span", |span| span["name"] == "discovery")
        .await;
    assert!(
        discovery.get("parentSpanId").is_none(),
        "a trace of its own"
    );
    assert_eq!(
        attribute(&discovery, "portcullis.provider.id"),
        Some("mock".into())
    );
    let everything = collector.everything();
    assert!(
        !everything.contains("code="),
        "no callback query: {everything}"
    );
}

#[tokio::test]
async fn a_clients_own_traceparent_is_not_passed_through() {
    let (app, collector) = traced_app(|_| {}).await;

    let echo = echoed(
        app.request(reqwest::Method::GET, "/public/page")
            .header("traceparent", CLIENT_TRACEPARENT)
            .header("tracestate", "forged=1")
            .send()
            .await
            .unwrap(),
    )
    .await;

    assert_eq!(echo.header_values("traceparent").len(), 1);
    let (trace_id, span_id, _) = decode_traceparent(echo.header("traceparent").unwrap());
    assert_ne!(
        trace_id, CLIENT_TRACE_ID,
        "the client does not choose the trace"
    );
    assert!(!echo.has_header("tracestate"));
    let request = collector
        .span("the request span", |span| {
            span["traceId"] == trace_id.as_str() && span["kind"] == 2
        })
        .await;
    assert!(request.get("parentSpanId").is_none(), "{request}");
    let upstream = collector
        .span("the upstream span", |span| {
            span["spanId"] == span_id.as_str()
        })
        .await;
    assert_eq!(upstream["parentSpanId"], request["spanId"]);
}

#[tokio::test]
async fn a_trusted_proxys_trace_is_continued() {
    let (app, collector) = traced_app(|cfg| {
        cfg.server_extra = "trusted_proxies = [\"127.0.0.1\"]".to_owned();
    })
    .await;

    let echo = echoed(
        app.request(reqwest::Method::GET, "/public/page")
            .header("traceparent", CLIENT_TRACEPARENT)
            .header("tracestate", "vendor=abc")
            .send()
            .await
            .unwrap(),
    )
    .await;

    let (trace_id, span_id, flags) = decode_traceparent(echo.header("traceparent").unwrap());
    assert_eq!(trace_id, CLIENT_TRACE_ID);
    assert_ne!(
        span_id, "00f067aa0ba902b7",
        "the gateway's own span is the parent"
    );
    assert_eq!(flags, "01");
    assert_eq!(echo.header("tracestate"), Some("vendor=abc"));
    let request = collector
        .span("the request span", |span| {
            attribute(span, "url.path") == Some(Value::from("/public/page"))
        })
        .await;
    assert_eq!(request["traceId"], CLIENT_TRACE_ID);
    assert_eq!(request["parentSpanId"], "00f067aa0ba902b7");
}

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

/// The binary, stopped with SIGTERM right after a request: the span still queued for the
/// next batch reaches the collector before the process exits. (Two worker threads: the
/// collector answers while this one waits for the process.)
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopping_gateway_sends_the_spans_it_holds_first() {
    let (collector, url) = Collector::start().await;
    let upstream = crate::echo_upstream::EchoUpstream::start().await;
    let telemetry = format!("\n[telemetry]\notlp_endpoint = \"{url}\"\n");
    let gateway = crate::json_logs::Gateway::start(&upstream, &telemetry, &[]).await;

    let answer = reqwest::get(gateway.url("/flushed")).await.unwrap();
    assert_eq!(answer.status(), 200);
    gateway.stop();

    let spans = collector.spans();
    assert!(
        spans
            .iter()
            .any(|span| attribute(span, "url.path") == Some(Value::from("/flushed"))),
        "{spans:?}"
    );
}
