//! One span, as the tracer makes it (`super::trace`) and the exporter sends it
//! (`super::otlp`): its place in the trace (W3C Trace Context ids), name, kind, times,
//! attributes and status.

use std::borrow::Cow;

use http::HeaderValue;

/// Where a span sits in its trace (W3C Trace Context §3.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SpanContext {
    pub(crate) trace_id: [u8; 16],
    pub(crate) span_id: [u8; 8],
    pub(crate) sampled: bool,
}

impl SpanContext {
    /// A `traceparent` value (§3.2): `00-<32 hex>-<16 hex>-<2 hex>`, lower-case hex, neither
    /// id all zeros; a later version is read by its first four fields (§3.2.4), `ff` never.
    pub(crate) fn parse(value: &[u8]) -> Option<SpanContext> {
        let version = value.get(..2)?;
        let fields = value.get(..55)?;
        if version == b"ff" || (version == b"00" && value.len() != 55) {
            return None;
        }
        if value.len() > 55 && value.get(55) != Some(&b'-') {
            return None;
        }
        if fields.get(2) != Some(&b'-') || fields.get(35) != Some(&b'-') {
            return None;
        }
        if fields.get(52) != Some(&b'-') {
            return None;
        }
        let mut trace_id = [0u8; 16];
        let mut span_id = [0u8; 8];
        let mut flags = [0u8; 1];
        let mut version_byte = [0u8; 1];
        decode_hex(version, &mut version_byte)?;
        decode_hex(fields.get(3..35)?, &mut trace_id)?;
        decode_hex(fields.get(36..52)?, &mut span_id)?;
        decode_hex(fields.get(53..55)?, &mut flags)?;
        if trace_id == [0; 16] || span_id == [0; 8] {
            return None;
        }
        Some(SpanContext {
            trace_id,
            span_id,
            sampled: flags.first().is_some_and(|flags| flags & 1 == 1),
        })
    }

    /// This span as the parent of the next hop: `00-<trace-id>-<span-id>-<flags>`.
    pub(crate) fn traceparent(&self) -> HeaderValue {
        let mut text = Vec::with_capacity(55);
        text.extend_from_slice(b"00-");
        push_hex(&mut text, &self.trace_id);
        text.push(b'-');
        push_hex(&mut text, &self.span_id);
        text.extend_from_slice(if self.sampled { b"-01" } else { b"-00" });
        HeaderValue::from_maybe_shared(axum::body::Bytes::from(text))
            .unwrap_or(HeaderValue::from_static(""))
    }
}

/// Lower-case hex only, as `traceparent` is written (§3.2.2.1).
fn decode_hex(text: &[u8], into: &mut [u8]) -> Option<()> {
    let digit = |byte: u8| match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        _ => None,
    };
    if text.len() != into.len() * 2 {
        return None;
    }
    for (byte, pair) in into.iter_mut().zip(text.chunks_exact(2)) {
        *byte = digit(*pair.first()?)? << 4 | digit(*pair.get(1)?)?;
    }
    Some(())
}

pub(crate) fn push_hex(text: &mut Vec<u8>, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let digit = |nibble: u8| DIGITS.get(usize::from(nibble)).copied().unwrap_or(b'0');
    for byte in bytes {
        text.push(digit(byte >> 4));
        text.push(digit(byte & 0xf));
    }
}

/// `Span.SpanKind` of trace.proto.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SpanKind {
    Server = 2,
    Client = 3,
}

/// One finished span.
pub(crate) struct SpanRecord {
    pub(crate) context: SpanContext,
    pub(crate) parent: Option<[u8; 8]>,
    pub(crate) name: Cow<'static, str>,
    pub(crate) kind: SpanKind,
    /// Nanoseconds since the Unix epoch.
    pub(crate) start: u64,
    pub(crate) end: u64,
    pub(crate) attributes: Vec<Attribute>,
    /// `Some` sets the span's status to error, with this message.
    pub(crate) error: Option<String>,
}

/// A span attribute: a key of the OpenTelemetry semantic conventions (or `portcullis.*`)
/// and a string or integer value.
pub(crate) struct Attribute {
    pub(crate) key: &'static str,
    pub(crate) value: AttributeValue,
}

pub(crate) enum AttributeValue {
    Text(String),
    Int(i64),
}

impl Attribute {
    pub(crate) fn text(key: &'static str, value: String) -> Attribute {
        Attribute {
            key,
            value: AttributeValue::Text(value),
        }
    }

    pub(crate) fn int(key: &'static str, value: i64) -> Attribute {
        Attribute {
            key,
            value: AttributeValue::Int(value),
        }
    }
}
