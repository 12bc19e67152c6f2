use crate::config::{Config, LogFormat};

const BASE: &str = r#"[server]
listen = "127.0.0.1:4180"
public_url = "http://127.0.0.1:4180"
{server}

[session]
secret = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

[[provider]]
id = "dev"
kind = "dev"

[authorize]
email_domains = ["example.com"]

[[upstream]]
path = "/"
url = "http://127.0.0.1:8080"
{rest}"#;

fn parse(server: &str, rest: &str) -> Result<Config, crate::config::ConfigErrors> {
    let source = BASE.replace("{server}", server).replace("{rest}", rest);
    Config::parse(&source, "providers.toml", &|_| None)
}

#[test]
fn log_format_is_text_or_json() {
    assert_eq!(parse("", "").unwrap().server.log_format, None);
    let json = parse("log_format = \"json\"", "").unwrap();
    assert_eq!(json.server.log_format, Some(LogFormat::Json));
    let text = parse("log_format = \"text\"", "").unwrap();
    assert_eq!(text.server.log_format, Some(LogFormat::Text));
    let errors = parse("log_format = \"JSON\"", "").unwrap_err();
    let error = &errors.0[0];
    assert_eq!(error.key, "server.log_format");
    assert_eq!((error.line, error.column), (4, 14), "{error:?}");
    assert!(error.message.contains("\"json\""), "{}", error.message);
}

#[test]
fn telemetry_is_off_without_its_section() {
    assert_eq!(parse("", "").unwrap().telemetry, None);
}

#[test]
fn otlp_endpoint_is_a_base_url_for_v1_traces() {
    for (written, traces) in [
        ("http://127.0.0.1:4318", "http://127.0.0.1:4318/v1/traces"),
        ("http://127.0.0.1:4318/", "http://127.0.0.1:4318/v1/traces"),
        (
            "https://otel.example.com/otlp",
            "https://otel.example.com/otlp/v1/traces",
        ),
        (
            "http://collector:4318/v1/traces",
            "http://collector:4318/v1/traces",
        ),
    ] {
        let config = parse(
            "",
            &format!("\n[telemetry]\notlp_endpoint = \"{written}\"\n"),
        )
        .unwrap();
        let telemetry = config.telemetry.unwrap();
        assert_eq!(telemetry.traces_url.as_str(), traces, "{written}");
        assert_eq!(telemetry.sample_ratio, 1.0);
        assert_eq!(telemetry.service_name, "portcullis");
    }
}

#[test]
fn telemetry_problems_name_their_key() {
    for (section, key, fragment) in [
        (
            "sample_ratio = 0.5",
            "telemetry.otlp_endpoint",
            "is required",
        ),
        (
            "otlp_endpoint = \"grpc://x:4317\"",
            "telemetry.otlp_endpoint",
            "http://",
        ),
        (
            "otlp_endpoint = \"http://x:4318\"\nsample_ratio = 1.5",
            "telemetry.sample_ratio",
            "not a ratio",
        ),
        (
            "otlp_endpoint = \"http://x:4318\"\nsample_ratio = -0.1",
            "telemetry.sample_ratio",
            "not a ratio",
        ),
        (
            "otlp_endpoint = \"http://x:4318\"\nheaders = {}",
            "telemetry.headers",
            "unknown",
        ),
    ] {
        let errors = parse("", &format!("\n[telemetry]\n{section}\n")).unwrap_err();
        let error = errors
            .0
            .iter()
            .find(|error| error.key == key)
            .unwrap_or_else(|| panic!("no error for {section}: {errors:?}"));
        assert!(error.message.contains(fragment), "{}", error.message);
    }
}

#[test]
fn sample_ratio_and_service_name_are_kept() {
    let config = parse(
        "",
        "\n[telemetry]\notlp_endpoint = \"http://x:4318\"\nsample_ratio = 0\nservice_name = \"auth-gw\"\n",
    )
    .unwrap();
    let telemetry = config.telemetry.unwrap();
    assert_eq!(telemetry.sample_ratio, 0.0);
    assert_eq!(telemetry.service_name, "auth-gw");
}
