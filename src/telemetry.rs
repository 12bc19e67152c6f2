//! Logging: tracing set-up, request ids, and one access-log line per request; OpenTelemetry
//! traces in `trace` (spans made) and `otlp` (spans sent).
//!
//! Log lines carry paths but never query strings: the callback's query holds the
//! authorization code and state, and `rd` values can carry anything.
//!
//! Field values come from users and providers (a `sub`, a username, a path), so no value may
//! end a line or pass for another field: text logs write every value that is not a plain
//! token quoted, with control characters escaped ([`EscapedFields`]); JSON logs escape them
//! as JSON strings.

use std::fmt::{self, Write as _};
use std::time::Duration;

use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method};
use axum::response::Response;
use rand::RngCore;
use tracing::field::{Field, Visit};
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FormatFields, MakeWriter};
use tracing_subscriber::EnvFilter;

pub use crate::config::LogFormat;

/// Installs the global subscriber; the level comes from `RUST_LOG` (default `info`, with the
/// Redis client's own messages at `error` only: the gateway logs a lost and a recovered
/// connection itself, once each).
pub fn init(format: LogFormat) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,fred=error"));
    // Colours only on a terminal: log files and collectors get plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let _ =
        tracing::subscriber::set_global_default(subscriber(format, filter, ansi, std::io::stdout));
}

/// The gateway's log subscriber writing to `writer`: text with [`EscapedFields`], or one
/// JSON object per line.
pub(crate) fn subscriber<W>(
    format: LogFormat,
    filter: EnvFilter,
    ansi: bool,
    writer: W,
) -> Box<dyn tracing::Subscriber + Send + Sync>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_writer(writer);
    match format {
        LogFormat::Text => Box::new(builder.with_ansi(ansi).fmt_fields(EscapedFields).finish()),
        LogFormat::Json => Box::new(builder.with_ansi(false).json().flatten_event(true).finish()),
    }
}

/// Text-log field formatting that keeps one event on one line and every field itself: the
/// message as written with control characters escaped, then `name=value` pairs where a value
/// that is not a plain token (visible ASCII without `"`, `=` or `\`) is written as a quoted
/// string with `"`, `\` and control characters escaped. So a user id like
/// `x\nlogin … result="success"` cannot write a forged line or a second `result` field.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct EscapedFields;

impl<'writer> FormatFields<'writer> for EscapedFields {
    fn format_fields<R: RecordFields>(&self, writer: Writer<'writer>, fields: R) -> fmt::Result {
        let mut visitor = EscapingVisitor {
            writer,
            first: true,
            result: Ok(()),
        };
        fields.record(&mut visitor);
        visitor.result
    }
}

struct EscapingVisitor<'writer> {
    writer: Writer<'writer>,
    first: bool,
    result: fmt::Result,
}

impl EscapingVisitor<'_> {
    fn write(&mut self, field: &Field, value: &str) {
        if self.result.is_err() {
            return;
        }
        let separator = if self.first { "" } else { " " };
        self.first = false;
        self.result = if field.name() == "message" {
            write!(self.writer, "{separator}{}", Escaped(value))
        } else if is_plain_token(value) {
            write!(self.writer, "{separator}{}={value}", field.name())
        } else {
            write!(
                self.writer,
                "{separator}{}=\"{}\"",
                field.name(),
                Escaped(value)
            )
        };
    }
}

impl Visit for EscapingVisitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.write(field, value);
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let text = format!("{value:?}");
        self.write(field, &text);
    }
}

fn is_plain_token(value: &str) -> bool {
    !value.is_empty()
        && value
            .bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b'"' | b'=' | b'\\'))
}

/// `"`, `\` and control characters escaped as in Rust string literals; the rest as is.
struct Escaped<'a>(&'a str);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in self.0.chars() {
            match c {
                '"' | '\\' => write!(f, "\\{c}")?,
                c if c.is_control() => write!(f, "{}", c.escape_default())?,
                c => f.write_char(c)?,
            }
        }
        Ok(())
    }
}

/// A name made once: inserting by `&str` parses and validates it on every request.
const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// A random id given to every request, shown on error pages and in JSON errors and sent
/// back as `X-Request-Id`. Client-supplied ids are ignored so they cannot forge log lines.
///
/// Sixteen lower-case hex digits, held by value: the request's extensions, its answer's log
/// line and its `X-Request-Id` each take a copy, which costs nothing.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct RequestId([u8; 16]);

impl RequestId {
    pub(crate) fn new() -> RequestId {
        let random = rand::thread_rng().next_u64();
        // By hand: `write!` costs more than the rest of the id.
        RequestId(std::array::from_fn(|place| {
            let nibble = ((random >> (60 - 4 * place)) & 0xf) as u8;
            if nibble < 10 {
                b'0' + nibble
            } else {
                b'a' + (nibble - 10)
            }
        }))
    }

    /// The id as text.
    pub(crate) fn as_str(&self) -> &str {
        // Hex digits only, as made above.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl Default for RequestId {
    fn default() -> RequestId {
        RequestId([b'0'; 16])
    }
}

impl std::fmt::Debug for RequestId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("RequestId").field(&self.as_str()).finish()
    }
}

impl std::fmt::Display for RequestId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The access-log line of a request answered with `response` (the request id also goes
/// back as `X-Request-Id`); written by `crate::error::render::RequestLayer` around every
/// request. `elapsed` (since the request arrived) is `None` only for an answer polled again
/// after it was complete.
pub(crate) fn log_request(
    response: &mut Response,
    id: &RequestId,
    method: &Method,
    path: &str,
    elapsed: Option<Duration>,
) {
    if let Ok(value) = HeaderValue::from_bytes(&id.0) {
        response.headers_mut().insert(X_REQUEST_ID, value);
    }
    let latency = elapsed.map_or(0, |elapsed| {
        u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX)
    });
    let status = response.status();
    let routine = response.extensions().get::<RoutineAnswer>().is_some()
        && !(status.is_client_error() || status.is_server_error());
    macro_rules! access_line {
        ($level:ident) => {
            tracing::$level!(
                request_id = %id,
                method = %method,
                path = %path,
                status = status.as_u16(),
                latency_us = latency,
                "request"
            )
        };
    }
    if routine {
        access_line!(debug);
    } else {
        access_line!(info);
    }
}

/// On an answer: its access-log line ([`log_request`]) is written at debug, not info, unless
/// its status is an error. For answers nobody reads the log for, which would otherwise
/// outnumber those a person does: the static files of every page, and the development
/// provider's answers to the back-channel calls that only the gateway itself makes
/// (discovery, keys, token, userinfo).
#[derive(Debug, Clone, Copy)]
pub(crate) struct RoutineAnswer;

/// `axum::middleware::map_response` function marking every answer [`RoutineAnswer`].
pub(crate) async fn routine(mut response: Response) -> Response {
    response.extensions_mut().insert(RoutineAnswer);
    response
}

/// Whether the request is a browser navigation (it accepts HTML), as opposed to an API call.
pub(crate) fn is_browser(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("text/html"))
}

mod otlp;
mod span;
#[cfg(test)]
mod tests;
pub(crate) mod trace;
