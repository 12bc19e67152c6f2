use std::net::SocketAddr;

use super::*;

const W3C_EXAMPLE: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

#[test]
fn traceparent_reads_and_writes_the_w3c_form() {
    let context = SpanContext::parse(W3C_EXAMPLE.as_bytes()).unwrap();
    assert_eq!(
        context.trace_id,
        [
            0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e,
            0x47, 0x36
        ]
    );
    assert_eq!(
        context.span_id,
        [0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7]
    );
    assert!(context.sampled);
    assert_eq!(context.traceparent(), W3C_EXAMPLE);
    let unsampled = W3C_EXAMPLE.replace("-01", "-00");
    let context = SpanContext::parse(unsampled.as_bytes()).unwrap();
    assert!(!context.sampled);
    assert_eq!(context.traceparent(), unsampled.as_str());
}

#[test]
fn a_later_version_is_read_by_its_first_fields() {
    let later = format!("cc{}-what-comes-next", &W3C_EXAMPLE[2..]);
    assert!(SpanContext::parse(later.as_bytes()).is_some());
}

#[test]
fn malformed_traceparents_are_no_context() {
    for bad in [
        "",
        "00",
        // Version 00 has exactly these four fields.
        &format!("{W3C_EXAMPLE}-extra"),
        // ff is never a version.
        &W3C_EXAMPLE.replacen("00", "ff", 1),
        // Upper-case hex.
        &W3C_EXAMPLE.to_uppercase(),
        // All-zero ids.
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
        // Wrong separators and lengths.
        "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e473-600f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-xx",
        &format!("cc{}x", &W3C_EXAMPLE[2..]),
    ] {
        assert_eq!(SpanContext::parse(bad.as_bytes()), None, "{bad:?}");
    }
}

fn tracer(sample_ratio: f64, trusted: &[&str]) -> (Tracer, mpsc::Receiver<Message>) {
    let (queue, receiver) = mpsc::channel(8);
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let tracer = Tracer(Arc::new(Shared {
        queue,
        dropped: Arc::new(AtomicU64::new(0)),
        sample_below: (sample_ratio * u64::MAX as f64) as u64,
        trusted_proxies: trusted
            .iter()
            .map(|network| IpNetwork::parse(network).unwrap())
            .collect(),
    }));
    (tracer, receiver)
}

/// The span `tracer` begins for a request from `peer` with `traceparent` (and a
/// `tracestate`).
fn begin(tracer: &Tracer, peer: &str, traceparent: Option<&str>) -> Box<RequestTrace> {
    let peer: SocketAddr = peer.parse().unwrap();
    let mut headers = HeaderMap::new();
    if let Some(value) = traceparent {
        headers.insert(TRACEPARENT, HeaderValue::from_str(value).unwrap());
        headers.insert(TRACESTATE, HeaderValue::from_static("vendor=1"));
    }
    tracer.begin_request(Some(peer.ip()), &headers)
}

fn context_of(trace: &RequestTrace) -> SpanContext {
    trace.current.as_ref().unwrap().context.unwrap()
}

#[test]
fn only_a_trusted_proxy_chooses_the_trace() {
    let (tracer, _queue) = tracer(1.0, &["10.0.0.0/8"]);
    let parent = SpanContext::parse(W3C_EXAMPLE.as_bytes()).unwrap();

    let trusted = begin(&tracer, "10.1.2.3:5000", Some(W3C_EXAMPLE));
    let context = context_of(&trusted);
    assert_eq!(context.trace_id, parent.trace_id);
    assert_ne!(context.span_id, parent.span_id);
    assert_eq!(trusted.parent, Some(parent.span_id));
    assert_eq!(
        trusted
            .current
            .as_ref()
            .unwrap()
            .tracestate
            .as_ref()
            .unwrap(),
        "vendor=1"
    );

    let stranger = begin(&tracer, "192.0.2.7:5000", Some(W3C_EXAMPLE));
    let context = context_of(&stranger);
    assert_ne!(
        context.trace_id, parent.trace_id,
        "a client's trace id is not taken"
    );
    assert_eq!(stranger.parent, None);
    assert!(stranger.current.as_ref().unwrap().tracestate.is_none());
}

#[test]
fn a_trusted_proxys_sampled_flag_is_obeyed_and_new_traces_follow_the_ratio() {
    let (none, _queue) = tracer(0.0, &["127.0.0.1"]);
    let unsampled_parent = W3C_EXAMPLE.replace("-01", "-00");
    let joined = begin(&none, "127.0.0.1:1", Some(W3C_EXAMPLE));
    assert!(context_of(&joined).sampled, "the proxy sampled it");
    let fresh = begin(&none, "127.0.0.1:1", None);
    assert!(!context_of(&fresh).sampled, "sample_ratio = 0");

    let (all, _queue) = tracer(1.0, &["127.0.0.1"]);
    let joined = begin(&all, "127.0.0.1:1", Some(&unsampled_parent));
    assert!(!context_of(&joined).sampled, "the proxy did not sample it");
    let fresh = begin(&all, "192.0.2.1:1", Some(&unsampled_parent));
    assert!(context_of(&fresh).sampled, "an untrusted flag is ignored");
}

#[test]
fn the_upstream_exchange_is_a_child_of_the_request_and_carries_its_traceparent() {
    let (tracer, mut queue) = tracer(1.0, &[]);
    let mut trace = begin(&tracer, "192.0.2.1:1", None);
    let request_context = context_of(&trace);
    let upstream: Url = "http://127.0.0.1:8080/base".parse().unwrap();
    let mut outgoing = Request::new(());

    assert!(
        UpstreamExchange::begin(&mut outgoing, &upstream).is_none(),
        "outside a traced request nothing is set"
    );
    assert!(!outgoing.headers().contains_key(TRACEPARENT));

    let exchange = Current::poll_in(&mut trace.current, || {
        UpstreamExchange::begin(&mut outgoing, &upstream)
    })
    .unwrap();
    let sent = SpanContext::parse(outgoing.headers()[TRACEPARENT].as_bytes()).unwrap();
    assert_eq!(sent.trace_id, request_context.trace_id);
    assert_eq!(sent.span_id, exchange.context.span_id);
    assert_ne!(sent.span_id, request_context.span_id);
    let answer = http::Response::builder().status(502).body(()).unwrap();
    exchange.finish(Some(&answer));
    trace.finish("GET", "/app", 200, "abc");

    let Some(Message::Span(upstream_span)) = queue.try_recv().ok() else {
        panic!("no upstream span")
    };
    let Some(Message::Span(request_span)) = queue.try_recv().ok() else {
        panic!("no request span")
    };
    assert_eq!(upstream_span.parent, Some(request_span.context.span_id));
    assert_eq!(upstream_span.kind, SpanKind::Client);
    assert_eq!(request_span.kind, SpanKind::Server);
    assert!(
        upstream_span.error.is_some(),
        "a 502 is an error of the client span"
    );
    assert!(request_span.error.is_none());
}

#[test]
fn a_full_queue_drops_and_counts_never_waits() {
    let (tracer, _queue) = tracer(1.0, &[]);
    for _ in 0..20 {
        let trace = begin(&tracer, "192.0.2.1:1", None);
        trace.finish("GET", "/", 200, "id");
    }
    assert_eq!(tracer.0.dropped.load(Ordering::Relaxed), 12);
}

#[test]
fn a_panic_inside_a_traced_poll_leaves_no_trace_current() {
    let (tracer, _queue) = tracer(1.0, &[]);
    let mut trace = begin(&tracer, "192.0.2.1:1", None);
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        Current::poll_in(&mut trace.current, || panic!("the handler failed"))
    }));
    assert!(panicked.is_err());
    assert!(
        Current::get().is_none(),
        "the thread is back outside any trace"
    );
    assert!(trace.current.is_some(), "the request keeps its context");
}
