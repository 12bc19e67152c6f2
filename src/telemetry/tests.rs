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

/// What a request logs while it is answered, through the request middleware, in `format`;
/// and the request id its answer names.
fn log_inside_a_request(format: LogFormat) -> (String, String) {
    use tower::{Layer as _, ServiceExt as _};

    let buffer = Buffer::default();
    let subscriber = subscriber(format, EnvFilter::new("info"), false, buffer.clone());
    let pages = std::sync::Arc::new(crate::pages::Pages::new().unwrap());
    let metrics = std::sync::Arc::new(crate::metrics::Metrics::new(&[], &[]));
    let service = crate::error::render::RequestLayer::new(pages, metrics).layer(tower::service_fn(
        |_request: axum::extract::Request| async {
            tracing::info!(step = "inside", "the handler at work");
            Ok::<_, std::convert::Infallible>(axum::response::Response::new(
                axum::body::Body::empty(),
            ))
        },
    ));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let response = tracing::subscriber::with_default(subscriber, || {
        runtime.block_on(service.oneshot(axum::extract::Request::new(axum::body::Body::empty())))
    })
    .unwrap();
    let id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let bytes = buffer.0.lock().unwrap().clone();
    (String::from_utf8(bytes).unwrap(), id)
}

#[test]
fn every_line_a_request_logs_names_its_request_id() {
    let (text, id) = log_inside_a_request(LogFormat::Text);
    let line = text
        .lines()
        .find(|line| line.contains("the handler at work"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        line.contains(&format!("request{{request_id={id}}}")),
        "{line}"
    );

    let (json, id) = log_inside_a_request(LogFormat::Json);
    let lines: Vec<serde_json::Value> = json
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let inside = lines
        .iter()
        .find(|line| line["message"] == "the handler at work")
        .unwrap_or_else(|| panic!("{json}"));
    assert_eq!(inside["span"]["request_id"], id.as_str(), "{inside}");
    assert_eq!(inside["step"], "inside");
    // The request's own line names it too, as a field of its own.
    let request = lines
        .iter()
        .find(|line| line["message"] == "request")
        .unwrap_or_else(|| panic!("{json}"));
    assert_eq!(request["request_id"], id.as_str(), "{request}");
}
