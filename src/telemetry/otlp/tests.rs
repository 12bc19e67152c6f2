use super::*;
use crate::telemetry::span::{SpanContext, SpanKind};

fn span(parent: Option<[u8; 8]>, error: Option<String>) -> SpanRecord {
    SpanRecord {
        context: SpanContext {
            trace_id: [0xab; 16],
            span_id: [0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08],
            sampled: true,
        },
        parent,
        name: "GET".into(),
        kind: SpanKind::Server,
        start: 1_700_000_000_000_000_000,
        end: 1_700_000_000_000_500_000,
        attributes: vec![
            Attribute::text("url.path", "/app".to_owned()),
            Attribute::int("http.response.status_code", 200),
        ],
        error,
    }
}

#[test]
fn an_export_request_is_the_protobuf_json_mapping() {
    let origin = Origin {
        service_name: "auth-gw".to_owned(),
    };
    let request = export_request(
        &origin,
        &[
            span(None, None),
            span(Some([9; 8]), Some("answered 502".into())),
        ],
    );
    let resource = &request["resourceSpans"][0];
    assert_eq!(
        resource["resource"]["attributes"][0],
        json!({ "key": "service.name", "value": { "stringValue": "auth-gw" } })
    );
    let scope = &resource["scopeSpans"][0];
    assert_eq!(scope["scope"]["name"], "portcullis");
    let root = &scope["spans"][0];
    assert_eq!(root["traceId"], "abababababababababababababababab");
    assert_eq!(root["spanId"], "0102030405060708");
    assert!(root.get("parentSpanId").is_none());
    assert_eq!(root["name"], "GET");
    assert_eq!(root["kind"], 2);
    assert_eq!(root["startTimeUnixNano"], "1700000000000000000");
    assert_eq!(root["endTimeUnixNano"], "1700000000000500000");
    assert_eq!(root["status"], json!({}));
    assert_eq!(
        root["attributes"],
        json!([
            { "key": "url.path", "value": { "stringValue": "/app" } },
            { "key": "http.response.status_code", "value": { "intValue": "200" } },
        ])
    );
    let child = &scope["spans"][1];
    assert_eq!(child["parentSpanId"], "0909090909090909");
    assert_eq!(
        child["status"],
        json!({ "code": 2, "message": "answered 502" })
    );
}
