//! Sending spans to an OpenTelemetry collector: OTLP/HTTP with the JSON encoding (OTLP
//! specification, "OTLP/HTTP": `POST /v1/traces`, `Content-Type: application/json`, the
//! protobuf JSON mapping of `ExportTraceServiceRequest` from opentelemetry-proto's
//! `trace.proto`, with trace and span ids as hex strings and enums as numbers).
//!
//! Written here rather than with the `opentelemetry-otlp` crate, which brings tonic and
//! prost or an HTTP stack of its own (DESIGN §9 asks for a lean tree): a span is a few
//! fields, sent over the reqwest the provider calls already use. One background task
//! batches them (up to [`BATCH`] spans, or what arrived within [`DELAY`]); requests only
//! push to its bounded queue and never wait for it (see `super::trace`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot};
use url::Url;

use super::span::{push_hex, Attribute, AttributeValue, SpanRecord};
use crate::config::TelemetryConfig;

/// Spans in one export request at most.
const BATCH: usize = 512;
/// How long a span may wait for others before its batch is sent.
const DELAY: Duration = Duration::from_secs(1);
/// Bound on one export request.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);
/// A collector that keeps failing is reported once in this long.
const WARN_EVERY: Duration = Duration::from_secs(60);

/// What the exporter's queue carries.
pub(crate) enum Message {
    Span(Box<SpanRecord>),
    /// Send everything queued before this, then answer.
    Flush(oneshot::Sender<()>),
}

fn hex(bytes: &[u8]) -> String {
    let mut text = Vec::with_capacity(bytes.len() * 2);
    push_hex(&mut text, bytes);
    String::from_utf8(text).unwrap_or_default()
}

fn attributes_json(attributes: &[Attribute]) -> Value {
    let attributes: Vec<Value> = attributes
        .iter()
        .map(|attribute| {
            // `AnyValue`: an int64 is a decimal string in the protobuf JSON mapping.
            let value = match &attribute.value {
                AttributeValue::Text(text) => json!({ "stringValue": text }),
                AttributeValue::Int(number) => json!({ "intValue": number.to_string() }),
            };
            json!({ "key": attribute.key, "value": value })
        })
        .collect();
    Value::Array(attributes)
}

fn span_json(span: &SpanRecord) -> Value {
    let mut value = json!({
        "traceId": hex(&span.context.trace_id),
        "spanId": hex(&span.context.span_id),
        "name": span.name,
        "kind": span.kind as i32,
        "startTimeUnixNano": span.start.to_string(),
        "endTimeUnixNano": span.end.max(span.start).to_string(),
        "attributes": attributes_json(&span.attributes),
        // `Status.StatusCode`: 0 unset, 2 error.
        "status": match &span.error {
            Some(message) => json!({ "code": 2, "message": message }),
            None => json!({}),
        },
    });
    if let (Some(parent), Some(object)) = (span.parent, value.as_object_mut()) {
        object.insert("parentSpanId".to_owned(), Value::String(hex(&parent)));
    }
    value
}

/// Who sends the spans: the resource and instrumentation scope of every export.
struct Origin {
    service_name: String,
}

/// An `ExportTraceServiceRequest` of `spans`.
fn export_request(origin: &Origin, spans: &[SpanRecord]) -> Value {
    let version = env!("CARGO_PKG_VERSION");
    json!({
        "resourceSpans": [{
            "resource": {
                "attributes": attributes_json(&[
                    Attribute::text("service.name", origin.service_name.clone()),
                    Attribute::text("service.version", version.to_owned()),
                ]),
            },
            "scopeSpans": [{
                "scope": { "name": "portcullis", "version": version },
                "spans": spans.iter().map(span_json).collect::<Vec<_>>(),
            }],
        }],
    })
}

/// Spawns the exporter of `config` on the current runtime, reading `queue`.
pub(super) fn spawn(
    config: &TelemetryConfig,
    queue: mpsc::Receiver<Message>,
    dropped: Arc<AtomicU64>,
) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Handle::try_current()
        .map_err(|_| anyhow::anyhow!("the trace exporter needs a runtime"))?;
    let client = reqwest::Client::builder()
        .timeout(EXPORT_TIMEOUT)
        .connect_timeout(Duration::from_secs(5))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("portcullis/", env!("CARGO_PKG_VERSION")))
        .build()?;
    let exporter = Exporter {
        client,
        url: config.traces_url.clone(),
        origin: Origin {
            service_name: config.service_name.clone(),
        },
        dropped,
        warned: None,
    };
    runtime.spawn(exporter.run(queue));
    Ok(())
}

struct Exporter {
    client: reqwest::Client,
    url: Url,
    origin: Origin,
    dropped: Arc<AtomicU64>,
    warned: Option<Instant>,
}

impl Exporter {
    /// Until every sender is gone: batches spans and sends them; a flush sends at once.
    async fn run(mut self, mut queue: mpsc::Receiver<Message>) {
        let mut batch: Vec<SpanRecord> = Vec::new();
        let mut deadline = None;
        loop {
            let message = match deadline {
                None => queue.recv().await,
                Some(at) => match tokio::time::timeout_at(at, queue.recv()).await {
                    Ok(message) => message,
                    Err(_) => {
                        self.send(&mut batch).await;
                        deadline = None;
                        continue;
                    }
                },
            };
            match message {
                Some(Message::Span(span)) => {
                    batch.push(*span);
                    if batch.len() >= BATCH {
                        self.send(&mut batch).await;
                        deadline = None;
                    } else if deadline.is_none() {
                        deadline = Some(tokio::time::Instant::now() + DELAY);
                    }
                }
                Some(Message::Flush(done)) => {
                    self.send(&mut batch).await;
                    deadline = None;
                    let _ = done.send(());
                }
                None => {
                    self.send(&mut batch).await;
                    return;
                }
            }
        }
    }

    async fn send(&mut self, batch: &mut Vec<SpanRecord>) {
        let dropped = self.dropped.swap(0, Ordering::Relaxed);
        if dropped > 0 {
            tracing::warn!(
                dropped,
                "spans dropped: the trace exporter's queue was full"
            );
        }
        if batch.is_empty() {
            return;
        }
        let spans: Vec<SpanRecord> = std::mem::take(batch);
        for chunk in spans.chunks(BATCH) {
            let body = export_request(&self.origin, chunk).to_string();
            let sent = self
                .client
                .post(self.url.clone())
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body)
                .send()
                .await;
            let problem = match sent {
                Ok(response) if response.status().is_success() => None,
                Ok(response) => Some(format!("{} from the collector", response.status().as_u16())),
                Err(err) => Some(crate::error_chain::error_chain(&err)),
            };
            if let Some(problem) = problem {
                if self.warned.is_none_or(|at| at.elapsed() >= WARN_EVERY) {
                    self.warned = Some(Instant::now());
                    tracing::warn!(spans = chunk.len(), collector = %self.url, %problem, "spans could not be exported");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
