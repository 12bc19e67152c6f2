//! OpenTelemetry traces (DESIGN §11): a span per request, child spans for the calls the
//! request makes to its providers and to its upstream, and the W3C Trace Context
//! (<https://www.w3.org/TR/trace-context/>) `traceparent` sent upstream. Spans go to
//! `crate::telemetry::otlp`, which sends them to the collector.
//!
//! Whose trace a request joins: a `traceparent` is believed only from a peer listed in
//! `server.trusted_proxies` (a proxy in front that traces too); from anyone else it is
//! ignored and the request starts a trace of its own (W3C Trace Context §4.3 allows a
//! server to restart the trace). Otherwise a client could pick the trace id that lands in
//! the operator's backend, append to another user's trace, or force every request sampled
//! past `sample_ratio`. The client's `traceparent` and `tracestate` never reach the upstream
//! as sent: the proxy strips them (`crate::proxy::headers`), and [`UpstreamExchange`] sets the
//! gateway's own.
//!
//! The request's context is found where it is needed without passing it down: while a
//! traced request's future is polled, its [`Current`] is in a thread-local ([`Current::poll_in`]),
//! the way `tracing` enters a span. Without `[telemetry]` nothing is ever put there, so the
//! request path pays one thread-local read in the proxy and nothing else.

use std::borrow::Cow;
use std::cell::RefCell;
use std::future::Future;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::{HeaderMap, HeaderName, HeaderValue, Request};
use rand::RngCore as _;
use tokio::sync::{mpsc, oneshot};
use url::Url;

use super::otlp::{self, Message};
use super::span::{Attribute, SpanContext, SpanKind, SpanRecord};
use crate::config::{IpNetwork, TelemetryConfig};

pub(crate) const TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");
pub(crate) const TRACESTATE: HeaderName = HeaderName::from_static("tracestate");

/// Spans waiting for the exporter at most; more are dropped (and counted), never waited for.
const QUEUE: usize = 4096;

fn unix_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| {
            u64::try_from(since.as_nanos()).unwrap_or(u64::MAX)
        })
}

fn random_span_id() -> [u8; 8] {
    loop {
        let mut id = [0u8; 8];
        rand::thread_rng().fill_bytes(&mut id);
        if id != [0; 8] {
            return id;
        }
    }
}

/// The gateway's tracer: decides whose trace a request joins and whether it is sampled, and
/// hands finished spans to the exporter's bounded queue. Cheap to clone.
#[derive(Clone)]
pub(crate) struct Tracer(Arc<Shared>);

struct Shared {
    queue: mpsc::Sender<Message>,
    /// Spans dropped because the queue was full.
    dropped: Arc<AtomicU64>,
    /// A new trace is sampled when the last 8 bytes of its id, read as a number, are below
    /// this (the trace-id ratio sampler of OpenTelemetry); `u64::MAX` samples all.
    sample_below: u64,
    trusted_proxies: Vec<IpNetwork>,
}

impl Tracer {
    /// The tracer of `[telemetry]`, its exporter spawned on the current runtime.
    pub(crate) fn start(
        config: &TelemetryConfig,
        trusted_proxies: &[IpNetwork],
    ) -> anyhow::Result<Tracer> {
        let (queue, receiver) = mpsc::channel(QUEUE);
        let dropped = Arc::new(AtomicU64::new(0));
        otlp::spawn(config, receiver, Arc::clone(&dropped))?;
        // The ratio as a share of the u64 range (`as` saturates: 1.0 is all of it).
        let sample_below = (config.sample_ratio * u64::MAX as f64) as u64;
        Ok(Tracer(Arc::new(Shared {
            queue,
            dropped,
            sample_below,
            trusted_proxies: trusted_proxies.to_vec(),
        })))
    }

    fn record(&self, span: SpanRecord) {
        if self
            .0
            .queue
            .try_send(Message::Span(Box::new(span)))
            .is_err()
        {
            self.0.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Sends what is queued and waits for it (at shutdown), `bound` at most.
    pub(crate) async fn flush(&self, bound: Duration) {
        let (done, finished) = oneshot::channel();
        let _ = tokio::time::timeout(bound, async {
            if self.0.queue.send(Message::Flush(done)).await.is_ok() {
                let _ = finished.await;
            }
        })
        .await;
    }

    /// A context for a new trace, sampled by `sample_ratio` from its id.
    fn new_trace(&self) -> SpanContext {
        let mut trace_id = [0u8; 16];
        while trace_id == [0; 16] {
            rand::thread_rng().fill_bytes(&mut trace_id);
        }
        let mut low = [0u8; 8];
        low.copy_from_slice(trace_id.get(8..).unwrap_or(&[0; 8]));
        let sampled =
            self.0.sample_below == u64::MAX || u64::from_be_bytes(low) < self.0.sample_below;
        SpanContext {
            trace_id,
            span_id: random_span_id(),
            sampled,
        }
    }

    /// The span of a request from `peer` with `headers`, begun: in the trace of a trusted
    /// proxy's `traceparent`, else in a new one.
    pub(crate) fn begin_request(
        &self,
        peer: Option<IpAddr>,
        headers: &HeaderMap,
    ) -> Box<RequestTrace> {
        let peer = peer.map(|peer| peer.to_canonical());
        let (context, parent, tracestate) = match self.trusted_parent(peer, headers) {
            Some((parent, tracestate)) => (
                SpanContext {
                    span_id: random_span_id(),
                    ..parent
                },
                Some(parent.span_id),
                tracestate,
            ),
            None => (self.new_trace(), None, None),
        };
        Box::new(RequestTrace {
            current: Some(Current {
                tracer: self.clone(),
                context: Some(context),
                tracestate,
            }),
            parent,
            start: unix_nanos(),
        })
    }

    /// The `traceparent` (and `tracestate`) of a peer in `server.trusted_proxies`.
    fn trusted_parent(
        &self,
        peer: Option<IpAddr>,
        headers: &HeaderMap,
    ) -> Option<(SpanContext, Option<HeaderValue>)> {
        let peer = peer?;
        let value = headers.get(TRACEPARENT)?;
        if !self.0.trusted_proxies.iter().any(|net| net.contains(peer)) {
            return None;
        }
        // Several `traceparent` fields are no context at all (§3.2).
        if headers.get_all(TRACEPARENT).iter().nth(1).is_some() {
            return None;
        }
        let parent = SpanContext::parse(value.as_bytes())?;
        Some((parent, headers.get(TRACESTATE).cloned()))
    }
}

/// The trace a piece of work belongs to, in the thread-local while it runs.
#[derive(Clone)]
pub(crate) struct Current {
    tracer: Tracer,
    /// The span whose children new spans are; `None` in background work (discovery), whose
    /// spans each start a trace.
    context: Option<SpanContext>,
    /// A trusted proxy's `tracestate`, sent on with the trace (§3.3).
    tracestate: Option<HeaderValue>,
}

thread_local! {
    static CURRENT: RefCell<Option<Current>> = const { RefCell::new(None) };
}

impl Current {
    /// The current trace, if the code runs inside one.
    fn get() -> Option<Current> {
        CURRENT.with(|current| current.borrow().clone())
    }

    /// Runs `poll` with `slot`'s trace current, and puts it back in `slot` after.
    /// A panicking `poll` still puts the previous one back, so no later work on this thread
    /// runs in a dead request's trace.
    pub(crate) fn poll_in<T>(slot: &mut Option<Current>, poll: impl FnOnce() -> T) -> T {
        /// Puts `previous` back in the thread-local, and what was there into `slot`.
        struct Restore<'a> {
            slot: &'a mut Option<Current>,
            previous: Option<Current>,
        }
        impl Drop for Restore<'_> {
            fn drop(&mut self) {
                let previous = self.previous.take();
                *self.slot = CURRENT.with(|current| current.replace(previous));
            }
        }
        let previous = CURRENT.with(|current| current.replace(slot.take()));
        let _restore = Restore { slot, previous };
        poll()
    }

    /// What background work spawned now should run in: the current trace's tracer without
    /// its span (so its spans begin traces of their own), or `tracer`'s.
    pub(crate) fn background(tracer: Option<&Tracer>) -> Option<Current> {
        let tracer = Current::get()
            .map(|current| current.tracer)
            .or(tracer.cloned())?;
        Some(Current {
            tracer,
            context: None,
            tracestate: None,
        })
    }

    /// A child span of the current one (or the root of a new trace).
    fn child(&self) -> (SpanContext, Option<[u8; 8]>) {
        match self.context {
            Some(parent) => (
                SpanContext {
                    span_id: random_span_id(),
                    ..parent
                },
                Some(parent.span_id),
            ),
            None => (self.tracer.new_trace(), None),
        }
    }
}

/// Runs `start` with `tracer` current for the background work it spawns, which takes
/// [`Current::background`] with it.
pub(crate) fn with_tracer<T>(tracer: Option<&Tracer>, start: impl FnOnce() -> T) -> T {
    let mut scope = Current::background(tracer);
    Current::poll_in(&mut scope, start)
}

/// Runs `future` in `scope` (see [`Current::background`]); as is without one.
pub(crate) async fn run_in<F: Future>(mut scope: Option<Current>, future: F) -> F::Output {
    if scope.is_none() {
        return future.await;
    }
    let mut future = std::pin::pin!(future);
    std::future::poll_fn(|cx| Current::poll_in(&mut scope, || future.as_mut().poll(cx))).await
}

/// The span of one request, from its arrival to its response head.
pub(crate) struct RequestTrace {
    /// Taken into the thread-local while the request's future is polled.
    pub(crate) current: Option<Current>,
    parent: Option<[u8; 8]>,
    start: u64,
}

impl RequestTrace {
    /// Records the request's span, answered with `status`.
    pub(crate) fn finish(self, method: &str, path: &str, status: u16, request_id: &str) {
        let Some(Current {
            tracer,
            context: Some(context),
            ..
        }) = self.current
        else {
            return;
        };
        if !context.sampled {
            return;
        }
        let mut attributes = vec![
            Attribute::text("http.request.method", method.to_owned()),
            Attribute::text("url.path", path.to_owned()),
            Attribute::int("http.response.status_code", i64::from(status)),
            Attribute::text("portcullis.request_id", request_id.to_owned()),
        ];
        attributes.shrink_to_fit();
        tracer.record(SpanRecord {
            context,
            parent: self.parent,
            name: Cow::Owned(method.to_owned()),
            kind: SpanKind::Server,
            start: self.start,
            end: unix_nanos(),
            attributes,
            error: (status >= 500).then(|| format!("answered {status}")),
        });
    }
}

/// The span of one exchange with an upstream: its `traceparent` sent with the request.
pub(crate) struct UpstreamExchange {
    tracer: Tracer,
    context: SpanContext,
    parent: Option<[u8; 8]>,
    start: u64,
    method: String,
    address: Option<(String, u16)>,
}

impl UpstreamExchange {
    /// Begins the exchange's span in the current request's trace and sets its
    /// `traceparent` (and a trusted proxy's `tracestate`) on `request`; `None`, and nothing
    /// set, outside a traced request.
    pub(crate) fn begin<B>(request: &mut Request<B>, upstream: &Url) -> Option<UpstreamExchange> {
        let current = Current::get()?;
        let (context, parent) = current.child();
        let headers = request.headers_mut();
        headers.insert(TRACEPARENT, context.traceparent());
        if let Some(tracestate) = current.tracestate {
            headers.insert(TRACESTATE, tracestate);
        }
        Some(UpstreamExchange {
            tracer: current.tracer,
            context,
            parent,
            start: unix_nanos(),
            method: request.method().as_str().to_owned(),
            address: upstream.host_str().map(|host| {
                (
                    host.to_owned(),
                    upstream.port_or_known_default().unwrap_or(0),
                )
            }),
        })
    }

    /// Records the exchange: the upstream's `response`, or `None` when it gave no answer.
    pub(crate) fn finish<B>(self, response: Option<&http::Response<B>>) {
        let status = response.map(|response| response.status().as_u16());
        if !self.context.sampled {
            return;
        }
        let mut attributes = vec![Attribute::text("http.request.method", self.method.clone())];
        if let Some((host, port)) = self.address {
            attributes.push(Attribute::text("server.address", host));
            attributes.push(Attribute::int("server.port", i64::from(port)));
        }
        let error = match status {
            Some(status) => {
                attributes.push(Attribute::int(
                    "http.response.status_code",
                    i64::from(status),
                ));
                (status >= 400).then(|| format!("answered {status}"))
            }
            None => Some("no answer from the upstream".to_owned()),
        };
        self.tracer.record(SpanRecord {
            context: self.context,
            parent: self.parent,
            name: Cow::Owned(self.method),
            kind: SpanKind::Client,
            start: self.start,
            end: unix_nanos(),
            attributes,
            error,
        });
    }
}

/// Runs one call to provider `provider` (`call` names it: `discovery`, `token_exchange`,
/// `userinfo`, `jwks`, `refresh`) at `url` in a span of its own, a child of the current
/// request's (or a new trace in background work). Only the URL's host and port are recorded:
/// its path and query can hold secrets.
pub(crate) async fn provider_call<T, E>(
    call: &'static str,
    provider: &str,
    url: &str,
    future: impl Future<Output = Result<T, E>>,
) -> Result<T, E> {
    let Some(current) = Current::get() else {
        return future.await;
    };
    let (context, parent) = current.child();
    let start = unix_nanos();
    let outcome = future.await;
    if context.sampled {
        let mut attributes = vec![
            Attribute::text("portcullis.provider.id", provider.to_owned()),
            Attribute::text("portcullis.provider.call", call.to_owned()),
        ];
        if let Ok(url) = Url::parse(url) {
            if let Some(host) = url.host_str() {
                attributes.push(Attribute::text("server.address", host.to_owned()));
            }
            let port = url.port_or_known_default().unwrap_or(0);
            attributes.push(Attribute::int("server.port", i64::from(port)));
        }
        current.tracer.record(SpanRecord {
            context,
            parent,
            name: Cow::Borrowed(call),
            kind: SpanKind::Client,
            start,
            end: unix_nanos(),
            attributes,
            error: outcome.as_ref().err().map(|_| format!("{call} failed")),
        });
    }
    outcome
}

#[cfg(test)]
mod tests;
