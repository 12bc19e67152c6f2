//! Logging: tracing set-up, request ids, and one access-log line per request.
//!
//! Log lines carry paths but never query strings: the callback's query holds the
//! authorization code and state, and `rd` values can carry anything.
//!
//! Field values come from users and providers (a `sub`, a username, a path), so no value may
//! end a line or pass for another field: text logs write every value that is not a plain
//! token quoted, with control characters escaped ([`EscapedFields`]); JSON logs escape them
//! as JSON strings.

use std::fmt::{self, Write as _};
use std::time::Instant;

use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use rand::RngCore;
use tracing::field::{Field, Visit};
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FormatFields, MakeWriter};
use tracing_subscriber::EnvFilter;

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// Installs the global subscriber; the level comes from `RUST_LOG` (default `info`).
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // Colours only on a terminal: log files and collectors get plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let _ =
        tracing::subscriber::set_global_default(subscriber(format, filter, ansi, std::io::stdout));
}

/// The gateway's log subscriber writing to `writer`: text with [`EscapedFields`], or one
/// JSON object per line.
pub fn subscriber<W>(
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
pub struct EscapedFields;

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

/// A random id given to every request, shown on error pages and in JSON errors and sent
/// back as `X-Request-Id`. Client-supplied ids are ignored so they cannot forge log lines.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestId(String);

impl RequestId {
    pub fn new() -> RequestId {
        let mut bytes = [0u8; 8];
        rand::thread_rng().fill_bytes(&mut bytes);
        RequestId(bytes.iter().map(|b| format!("{b:02x}")).collect())
    }
}

impl std::fmt::Display for RequestId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Middleware: assigns the request id and writes the access-log line.
pub async fn request_log(mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = RequestId::new();
    request.extensions_mut().insert(id.clone());
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let mut response = next.run(request).await;
    if let Ok(value) = HeaderValue::from_str(&id.0) {
        response.headers_mut().insert("x-request-id", value);
    }
    tracing::info!(
        request_id = %id,
        method = %method,
        path = %path,
        status = response.status().as_u16(),
        latency_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
        "request"
    );
    response
}

/// Whether the request is a browser navigation (it accepts HTML), as opposed to an API call.
pub fn is_browser(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("text/html"))
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    /// Collects what a subscriber writes.
    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'w> MakeWriter<'w> for Buffer {
        type Writer = Buffer;
        fn make_writer(&'w self) -> Buffer {
            self.clone()
        }
    }

    const FORGED_SUB: &str = "x\nINFO login provider=dev user=admin result=\"success\"";

    /// The failed-login line of the callback, with a user id and a provider message that try
    /// to write a forged success line.
    fn log_forged_login(format: LogFormat) -> String {
        let buffer = Buffer::default();
        let subscriber = subscriber(format, EnvFilter::new("info"), false, buffer.clone());
        tracing::subscriber::with_default(subscriber, || {
            let detail = "refused\r\nINFO login result=success";
            tracing::warn!(provider = %"dev", user = %FORGED_SUB, result = "failure", reason = "denied", detail = %detail, "login");
            tracing::info!(path = %"/a b=c", "request {}", "with\nnewline");
        });
        let bytes = buffer.0.lock().unwrap().clone();
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn text_logs_keep_user_values_inside_their_field() {
        let output = log_forged_login(LogFormat::Text);
        let lines: Vec<&str> = output.lines().collect();
        assert_eq!(lines.len(), 2, "{output}");
        let login = lines[0];
        assert!(
            login.contains(r#" user="x\nINFO login provider=dev user=admin result=\"success\"" result=failure reason=denied detail="refused\r\nINFO login result=success""#),
            "{login}"
        );
        let fields = logfmt_fields(login);
        let results: Vec<&String> = fields
            .iter()
            .filter(|(name, _)| name == "result")
            .map(|(_, value)| value)
            .collect();
        assert_eq!(results, ["failure"], "{login}");
        assert!(fields.contains(&("user".to_owned(), FORGED_SUB.to_owned())));
        let request = lines[1];
        assert!(
            request.contains(r#"request with\nnewline path="/a b=c""#),
            "{request}"
        );
    }

    /// `name=value` and `name="quoted \"value\""` pairs of a text line, as a logfmt reader
    /// splits them (unescaping `\"`, `\\` and `\n`).
    fn logfmt_fields(line: &str) -> Vec<(String, String)> {
        let mut fields = Vec::new();
        let mut rest = line;
        while let Some(eq) = rest.find('=') {
            let name = rest[..eq].rsplit(' ').next().unwrap().to_owned();
            let after = &rest[eq + 1..];
            let (value, tail) = if let Some(quoted) = after.strip_prefix('"') {
                let mut value = String::new();
                let mut chars = quoted.char_indices();
                let mut end = quoted.len();
                while let Some((i, c)) = chars.next() {
                    match c {
                        '\\' => match chars.next().map(|(_, e)| e) {
                            Some('n') => value.push('\n'),
                            Some('r') => value.push('\r'),
                            Some(other) => value.push(other),
                            None => {}
                        },
                        '"' => {
                            end = i + 1;
                            break;
                        }
                        c => value.push(c),
                    }
                }
                (value, &quoted[end..])
            } else {
                let end = after.find(' ').unwrap_or(after.len());
                (after[..end].to_owned(), &after[end..])
            };
            fields.push((name, value));
            rest = tail;
        }
        fields
    }

    #[test]
    fn json_logs_are_one_object_per_line_with_the_values_intact() {
        let output = log_forged_login(LogFormat::Json);
        let lines: Vec<&str> = output.lines().collect();
        assert_eq!(lines.len(), 2, "{output}");
        let login: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
        assert_eq!(login["user"], FORGED_SUB);
        assert_eq!(login["result"], "failure");
        assert_eq!(login["message"], "login");
        assert_eq!(login["level"], "WARN");
        let request: serde_json::Value = serde_json::from_str(lines[1]).unwrap();
        assert_eq!(request["message"], "request with\nnewline");
        assert_eq!(request["path"], "/a b=c");
    }

    #[test]
    fn plain_tokens_are_written_bare_and_everything_else_quoted() {
        for plain in ["alice@example.com", "/a/b", "200", "dev", "a-b_c.d:e"] {
            assert!(is_plain_token(plain), "{plain}");
        }
        for quoted in ["", "a b", "a=b", "a\"b", "a\\b", "a\nb", "é", "a\tb"] {
            assert!(!is_plain_token(quoted), "{quoted:?}");
        }
        assert_eq!(
            Escaped("a\"b\\c\nd\u{1b}").to_string(),
            r#"a\"b\\c\nd\u{1b}"#
        );
    }
}
