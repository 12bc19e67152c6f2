//! Unit tests for the request rewrite in `headers.rs`, one group per rule.

use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Body;
use http::{HeaderMap, Request, Version};

use super::headers::{prepare_request, ForwardContext, IdentityHeaders};
use crate::config::{UpstreamConfig, UpstreamTarget};
use crate::identity::header_values::HeaderValues;
use crate::identity::Identity;

fn upstream(url: &str) -> UpstreamConfig {
    UpstreamConfig {
        path: "/".to_owned(),
        target: if url == "builtin:echo" {
            UpstreamTarget::Echo
        } else {
            UpstreamTarget::Http(url.parse().unwrap())
        },
        public: false,
        pass_access_token: false,
        pass_authorization_header: false,
        timeout: Duration::from_secs(30),
        websocket_idle_timeout: crate::config::DEFAULT_WEBSOCKET_IDLE_TIMEOUT,
        host: None,
        allow: None,
        skip_auth: Vec::new(),
        cors_preflight: false,
        ca_files: Vec::new(),
    }
}

fn alice() -> Identity {
    Identity {
        user: "sub-123".to_owned(),
        email: Some("alice@example.com".to_owned()),
        preferred_username: Some("José".to_owned()),
        groups: vec!["staff".to_owned(), "admins".to_owned()],
        provider: "dev".to_owned(),
    }
}

fn ctx<'a>(identity: Option<IdentityHeaders<'a>>) -> ForwardContext<'a> {
    ForwardContext {
        host: None,
        peer: "203.0.113.7:50000".parse().unwrap(),
        proto: "https",
        gateway_cookie_name: "_portcullis",
        identity,
    }
}

fn signed_in(identity: &Identity) -> Option<IdentityHeaders<'_>> {
    Some(IdentityHeaders {
        identity,
        values: None,
        access_token: Some("access-abc"),
        id_token: Some("id-xyz"),
    })
}

fn request(uri: &str, headers: &[(&str, &str)]) -> Request<Body> {
    let mut builder = Request::builder().uri(uri);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(Body::empty()).unwrap()
}

fn prepared(
    uri: &str,
    headers: &[(&str, &str)],
    upstream: &UpstreamConfig,
    ctx: &ForwardContext<'_>,
) -> Request<Body> {
    prepare_request(request(uri, headers), upstream, ctx)
}

fn values(headers: &HeaderMap, name: &str) -> Vec<String> {
    headers
        .get_all(name)
        .iter()
        .map(|value| String::from_utf8(value.as_bytes().to_vec()).unwrap())
        .collect()
}

fn one(headers: &HeaderMap, name: &str) -> Option<String> {
    let all = values(headers, name);
    assert!(all.len() <= 1, "{name} sent {} times: {all:?}", all.len());
    all.into_iter().next()
}

// --- URI and Host (rule 5) -------------------------------------------------------------

#[test]
fn uri_is_the_upstream_base_plus_the_original_path_and_query() {
    let cases = [
        (
            "http://127.0.0.1:9000",
            "/app/x?q=1&r",
            "http://127.0.0.1:9000/app/x?q=1&r",
        ),
        ("http://127.0.0.1:9000/", "/", "http://127.0.0.1:9000/"),
        (
            "http://127.0.0.1:9000/base/",
            "/app?q",
            "http://127.0.0.1:9000/base/app?q",
        ),
        (
            "http://127.0.0.1:9000/base",
            "/app",
            "http://127.0.0.1:9000/base/app",
        ),
        (
            "https://app.example.com",
            "/a%2Fb",
            "https://app.example.com/a%2Fb",
        ),
        ("http://[::1]:8080", "/x", "http://[::1]:8080/x"),
        // The origin as the configuration reads it: host lowered, the default port dropped.
        (
            "https://App.Example.COM:443",
            "/x",
            "https://app.example.com/x",
        ),
        ("http://127.0.0.1:80/", "/x", "http://127.0.0.1/x"),
        ("builtin:echo", "/echo?x=1", "/echo?x=1"),
    ];
    for (base, target, expected) in cases {
        let req = prepared(target, &[], &upstream(base), &ctx(None));
        assert_eq!(req.uri().to_string(), expected, "{base} + {target}");
        assert_eq!(req.version(), Version::HTTP_11);
    }
}

#[test]
fn host_is_kept_as_the_client_sent_it() {
    let req = prepared(
        "/x",
        &[("host", "gateway.example.com:8443")],
        &upstream("http://127.0.0.1:9000"),
        &ctx(None),
    );
    assert_eq!(
        one(req.headers(), "host").as_deref(),
        Some("gateway.example.com:8443")
    );
}

#[test]
fn an_http2_request_gets_host_from_its_authority() {
    let mut req = request("https://gateway.example.com/x?y", &[]);
    *req.version_mut() = Version::HTTP_2;
    let req = prepare_request(req, &upstream("http://127.0.0.1:9000"), &ctx(None));
    assert_eq!(req.uri().to_string(), "http://127.0.0.1:9000/x?y");
    assert_eq!(
        one(req.headers(), "host").as_deref(),
        Some("gateway.example.com")
    );
    assert_eq!(
        one(req.headers(), "x-forwarded-host").as_deref(),
        Some("gateway.example.com")
    );
}

/// The gate passes the host routing read (`RoutedHost::header_value`) instead of having it
/// read again: the upstream gets the same `Host` and `X-Forwarded-Host` either way.
#[test]
fn the_routed_host_gives_the_same_host_as_reading_it_here() {
    let cases = [
        ("http://gateway.example.com/x", "gateway.example.com:8443"),
        ("/x", "Gateway.Example.COM."),
        ("/x", "gateway.example.com.:80"),
        ("/x", "[::1]:8080"),
        ("/x", "[FE80::1]"),
        ("/x", "127.0.0.1:58377"),
        (
            "https://gateway.example.com:8443/x",
            "GATEWAY.example.com:8443",
        ),
    ];
    let upstream = upstream("http://127.0.0.1:9000");
    for (uri, host) in cases {
        let sent = request(uri, &[("host", host)]);
        let routed = crate::proxy::route::routed_host(sent.headers(), sent.uri(), sent.version())
            .unwrap()
            .unwrap();
        let value = routed.header_value();
        let given = ForwardContext {
            host: value.as_ref(),
            ..ctx(None)
        };
        let via_routing = prepared(uri, &[("host", host)], &upstream, &given);
        let read_here = prepared(uri, &[("host", host)], &upstream, &ctx(None));
        for name in ["host", "x-forwarded-host"] {
            assert_eq!(
                one(via_routing.headers(), name),
                one(read_here.headers(), name),
                "{name} for Host {host:?}"
            );
        }
        assert!(one(via_routing.headers(), "host").is_some(), "{host:?}");
    }
}

// --- Rule 1: forged identity headers, identity headers set ------------------------------

/// `is_forgeable` passes every name that does not start with `x`, `f` or `t` without
/// comparing it: each forgeable name must start so.
#[test]
fn forgeable_names_start_with_x_f_or_t() {
    for name in super::headers::FORGEABLE {
        assert!(
            matches!(name.as_bytes().first(), Some(b'x' | b'f' | b't')),
            "{name}"
        );
    }
}

const FORGED: [&str; 16] = [
    "X-Forwarded-User",
    "x-forwarded-email",
    "X_Forwarded_Preferred_Username",
    "X-FORWARDED-GROUPS",
    "x_forwarded_access_token",
    "X-Forwarded_Provider",
    "X-Auth-Request-User",
    "x_auth_request_email",
    "X-Auth-Request-Preferred-Username",
    "X-AUTH_REQUEST-GROUPS",
    "x-auth-request-access-token",
    "X_Forwarded_For",
    "x-forwarded-proto",
    "X-Forwarded-Host",
    "Forwarded",
    "X_Real_IP",
];

fn forged_request_headers() -> Vec<(&'static str, &'static str)> {
    FORGED
        .iter()
        .flat_map(|name| [(*name, "forged"), (*name, "forged-again")])
        .collect()
}

/// Values made before (as the opened-session cache keeps them) give the very headers made
/// on the request, for identities with every kind of value left out.
#[test]
fn header_values_made_before_give_the_same_headers() {
    let mut odd = alice();
    odd.user = "sub\r\nX-Injected: 1".to_owned();
    odd.email = None;
    odd.preferred_username = Some(" padded".to_owned());
    odd.groups = vec!["eng,admins".to_owned(), "ok".to_owned(), "bad\n".to_owned()];
    let mut groupless = alice();
    groupless.groups.clear();
    let forged = [
        ("X-Forwarded-Groups", "admins"),
        ("x_forwarded_user", "root"),
    ];
    for identity in [alice(), odd, groupless] {
        let values = HeaderValues::new(&identity);
        let remembered = Some(IdentityHeaders {
            values: Some(&values),
            ..signed_in(&identity).unwrap()
        });
        let upstream = upstream("http://127.0.0.1:9000");
        let made_now = prepared("/x", &forged, &upstream, &ctx(signed_in(&identity)));
        let made_before = prepared("/x", &forged, &upstream, &ctx(remembered));
        assert_eq!(made_now.headers(), made_before.headers(), "{identity:?}");
    }
}

#[test]
fn forged_identity_headers_are_removed_on_public_routes() {
    let req = prepared(
        "/x",
        &forged_request_headers(),
        &upstream("http://127.0.0.1:9000"),
        &ctx(None),
    );
    for (name, value) in req.headers() {
        assert_ne!(value, "forged", "{name} was forwarded");
        assert_ne!(value, "forged-again", "{name} was forwarded");
    }
    for name in [
        "x-forwarded-user",
        "x-forwarded-email",
        "x-forwarded-groups",
        "x-auth-request-user",
        "forwarded",
        "x-real-ip",
        "x_forwarded_user",
    ] {
        assert!(values(req.headers(), name).is_empty(), "{name} present");
    }
}

#[test]
fn forged_identity_headers_are_replaced_for_a_signed_in_user() {
    let alice = alice();
    let mut route = upstream("http://127.0.0.1:9000");
    route.pass_access_token = true;
    let req = prepared(
        "/x",
        &forged_request_headers(),
        &route,
        &ctx(signed_in(&alice)),
    );
    let headers = req.headers();
    assert_eq!(one(headers, "x-forwarded-user").as_deref(), Some("sub-123"));
    assert_eq!(
        one(headers, "x-forwarded-email").as_deref(),
        Some("alice@example.com")
    );
    assert_eq!(
        one(headers, "x-forwarded-preferred-username").as_deref(),
        Some("José")
    );
    assert_eq!(
        one(headers, "x-forwarded-groups").as_deref(),
        Some("staff,admins")
    );
    assert_eq!(one(headers, "x-forwarded-provider").as_deref(), Some("dev"));
    assert_eq!(
        one(headers, "x-forwarded-access-token").as_deref(),
        Some("access-abc")
    );
    assert!(values(headers, "x-auth-request-user").is_empty());
    assert!(values(headers, "x-auth-request-access-token").is_empty());
    assert!(values(headers, "x_forwarded_user").is_empty());
}

#[test]
fn optional_identity_headers_are_absent_when_unknown() {
    let identity = Identity {
        email: None,
        preferred_username: None,
        groups: Vec::new(),
        ..alice()
    };
    let req = prepared(
        "/x",
        &[],
        &upstream("http://127.0.0.1:9000"),
        &ctx(signed_in(&identity)),
    );
    let headers = req.headers();
    assert_eq!(one(headers, "x-forwarded-user").as_deref(), Some("sub-123"));
    for name in [
        "x-forwarded-email",
        "x-forwarded-preferred-username",
        "x-forwarded-groups",
        "x-forwarded-access-token",
        "authorization",
    ] {
        assert!(values(headers, name).is_empty(), "{name} present");
    }
}

/// The second line of defence behind the login's own check: a value an upstream would not
/// read as written (`crate::identity::reads_as_written`) is never emitted, and such a group
/// is left out of the list like one with a comma.
#[test]
fn identity_values_that_would_read_as_another_are_never_sent() {
    let identity = Identity {
        user: "sub-123".to_owned(),
        email: Some("admin@example.com ".to_owned()),
        preferred_username: Some("\tadmin".to_owned()),
        groups: vec![
            "staff".to_owned(),
            "admins ".to_owned(),
            " wheel".to_owned(),
            "ops\u{a0}".to_owned(),
            "eng,admins".to_owned(),
            "dev\u{7f}".to_owned(),
            "readers".to_owned(),
        ],
        provider: "dev".to_owned(),
    };
    let req = prepared(
        "/x",
        &[
            ("X-Forwarded-Email", "mallory@example.com"),
            ("X-Forwarded-Preferred-Username", "mallory"),
        ],
        &upstream("http://127.0.0.1:9000"),
        &ctx(signed_in(&identity)),
    );
    let headers = req.headers();
    assert_eq!(one(headers, "x-forwarded-user").as_deref(), Some("sub-123"));
    assert!(values(headers, "x-forwarded-email").is_empty());
    assert!(values(headers, "x-forwarded-preferred-username").is_empty());
    assert_eq!(
        values(headers, "x-forwarded-groups"),
        ["staff,readers"],
        "only the groups that read as written"
    );
    let spaced = Identity {
        user: "admin ".to_owned(),
        ..alice()
    };
    let req = prepared(
        "/x",
        &[("X-Forwarded-User", "mallory")],
        &upstream("http://127.0.0.1:9000"),
        &ctx(signed_in(&spaced)),
    );
    assert!(values(req.headers(), "x-forwarded-user").is_empty());
}

#[test]
fn authorization_is_replaced_only_when_the_route_asks_and_someone_is_signed_in() {
    let alice = alice();
    let client_auth = [("Authorization", "Basic Zm9yZ2Vk")];
    let mut passing = upstream("http://127.0.0.1:9000");
    passing.pass_authorization_header = true;

    let req = prepared("/x", &client_auth, &passing, &ctx(signed_in(&alice)));
    assert_eq!(
        one(req.headers(), "authorization").as_deref(),
        Some("Bearer id-xyz")
    );

    let without_token = Some(IdentityHeaders {
        identity: &alice,
        values: None,
        access_token: None,
        id_token: None,
    });
    let req = prepared("/x", &client_auth, &passing, &ctx(without_token));
    assert!(values(req.headers(), "authorization").is_empty());

    let req = prepared("/x", &client_auth, &passing, &ctx(None));
    assert_eq!(
        one(req.headers(), "authorization").as_deref(),
        Some("Basic Zm9yZ2Vk")
    );

    let plain = upstream("http://127.0.0.1:9000");
    let req = prepared("/x", &client_auth, &plain, &ctx(signed_in(&alice)));
    assert_eq!(
        one(req.headers(), "authorization").as_deref(),
        Some("Basic Zm9yZ2Vk")
    );
}

#[test]
fn the_access_token_is_sent_only_when_the_route_asks() {
    let alice = alice();
    let req = prepared(
        "/x",
        &[],
        &upstream("http://127.0.0.1:9000"),
        &ctx(signed_in(&alice)),
    );
    assert!(values(req.headers(), "x-forwarded-access-token").is_empty());
}

#[test]
fn invalid_header_values_are_skipped_without_panicking() {
    let identity = Identity {
        user: "sub\r\nX-Injected: 1".to_owned(),
        email: Some("a@b.c\n".to_owned()),
        preferred_username: Some("nul\0".to_owned()),
        groups: vec!["ok".to_owned(), "bad\r\ngroup".to_owned()],
        provider: "dev".to_owned(),
    };
    let mut route = upstream("http://127.0.0.1:9000");
    route.pass_access_token = true;
    route.pass_authorization_header = true;
    let headers = Some(IdentityHeaders {
        identity: &identity,
        values: None,
        access_token: Some("tok\r\n"),
        id_token: Some("id\n"),
    });
    let mut context = ctx(headers);
    context.proto = "https\r\n";
    let req = prepared("/x", &[("X-Forwarded-User", "forged")], &route, &context);
    let headers = req.headers();
    for name in [
        "x-forwarded-user",
        "x-forwarded-email",
        "x-forwarded-preferred-username",
        "x-forwarded-access-token",
        "x-forwarded-proto",
        "authorization",
        "x-injected",
    ] {
        assert!(values(headers, name).is_empty(), "{name} present");
    }
    assert_eq!(one(headers, "x-forwarded-groups").as_deref(), Some("ok"));
    assert_eq!(one(headers, "x-forwarded-provider").as_deref(), Some("dev"));
}

#[test]
fn identity_headers_debug_redacts_tokens() {
    let alice = alice();
    let debug = format!("{:?}", signed_in(&alice));
    assert!(
        !debug.contains("access-abc") && !debug.contains("id-xyz"),
        "{debug}"
    );
    assert!(debug.contains("[redacted]"));
}

// --- Rule 2: X-Forwarded-For / -Proto / -Host -------------------------------------------

#[test]
fn forwarding_headers_describe_this_connection_only() {
    let req = prepared(
        "/x",
        &[
            ("Host", "gateway.example.com"),
            ("X-Forwarded-For", "10.0.0.1"),
            ("X-Forwarded-For", "10.0.0.2"),
            ("X-Forwarded-Proto", "http"),
            ("X-Forwarded-Host", "evil.example"),
        ],
        &upstream("http://127.0.0.1:9000"),
        &ctx(None),
    );
    let headers = req.headers();
    assert_eq!(
        one(headers, "x-forwarded-for").as_deref(),
        Some("203.0.113.7")
    );
    assert_eq!(one(headers, "x-forwarded-proto").as_deref(), Some("https"));
    assert_eq!(
        one(headers, "x-forwarded-host").as_deref(),
        Some("gateway.example.com")
    );
}

#[test]
fn forwarded_for_is_the_plain_peer_ip() {
    for (peer, expected) in [
        ("[::ffff:192.0.2.9]:1234", "192.0.2.9"),
        ("[2001:db8::1]:1234", "2001:db8::1"),
        ("127.0.0.1:1", "127.0.0.1"),
    ] {
        let mut context = ctx(None);
        context.peer = peer.parse::<SocketAddr>().unwrap();
        let req = prepared("/", &[], &upstream("http://127.0.0.1:9000"), &context);
        assert_eq!(
            one(req.headers(), "x-forwarded-for").as_deref(),
            Some(expected)
        );
    }
}

#[test]
fn forwarded_host_is_absent_without_a_client_host() {
    let req = prepared("/x", &[], &upstream("http://127.0.0.1:9000"), &ctx(None));
    assert!(values(req.headers(), "x-forwarded-host").is_empty());
    assert!(values(req.headers(), "host").is_empty());
}

// --- Rule 3: gateway cookies ------------------------------------------------------------

fn cookies_after(cookie_headers: &[&str]) -> Vec<String> {
    let headers: Vec<(&str, &str)> = cookie_headers.iter().map(|v| ("Cookie", *v)).collect();
    let req = prepared(
        "/x",
        &headers,
        &upstream("http://127.0.0.1:9000"),
        &ctx(None),
    );
    values(req.headers(), "cookie")
}

#[test]
fn gateway_cookies_are_removed_and_others_kept_in_order() {
    let cases: [(&[&str], &[&str]); 9] = [
        (&["a=1; _portcullis=secret; b=2"], &["a=1; b=2"]),
        // One field without the gateway's cookies goes on as it came; several are joined.
        (&["a=1;;  b=2 "], &["a=1;;  b=2 "]),
        (&["a=1;;  b=2 ", "c=3"], &["a=1; b=2; c=3"]),
        (
            &[
                "_portcullis_0=c0; x=1",
                "y=2;_portcullis_1=c1",
                "_portcullis_flow_ab=f; z=3",
            ],
            &["x=1; y=2; z=3"],
        ),
        (&["_portcullis=s", "_portcullis_1=t"], &[]),
        (&["  _portcullis = s ;keep=me"], &["keep=me"]),
        (
            &["_portcullisX=1; _Portcullis=2; x_portcullis=3; _portcullis-1=4"],
            &["_portcullisX=1; _Portcullis=2; x_portcullis=3; _portcullis-1=4"],
        ),
        (&["novalue; _portcullis"], &["novalue"]),
        (&["a=\"quoted; value\""], &["a=\"quoted; value\""]),
    ];
    for (sent, expected) in cases {
        assert_eq!(cookies_after(sent), expected, "sent {sent:?}");
    }
}

#[test]
fn requests_without_cookies_get_none() {
    assert!(cookies_after(&[]).is_empty());
}

#[test]
fn an_upstream_cannot_set_the_gateways_cookies() {
    let set = [
        "_portcullis=forged; Path=/; HttpOnly",
        "app=1; Path=/",
        " _portcullis_0 = chunk",
        "_portcullis_flow_ab=f; Path=/oauth2/callback",
        "=_portcullis=nameless",
        "_portcullis",
        "_portcullisX=2",
        "_Portcullis=3",
        "x=_portcullis=4",
        "=other=5",
    ];
    let mut headers = HeaderMap::new();
    for value in set {
        headers.append("set-cookie", value.parse().unwrap());
    }
    headers.insert("x-other", "kept".parse().unwrap());

    super::headers::remove_gateway_set_cookies(&mut headers, "_portcullis");

    assert_eq!(
        values(&headers, "set-cookie"),
        [
            "app=1; Path=/",
            "_portcullisX=2",
            "_Portcullis=3",
            "x=_portcullis=4",
            "=other=5"
        ]
    );
    assert_eq!(one(&headers, "x-other").as_deref(), Some("kept"));
}

// --- Rule 4: hop-by-hop -------------------------------------------------------------------

#[test]
fn hop_by_hop_fields_and_connection_listed_fields_are_removed() {
    let req = prepared(
        "/x",
        &[
            ("Host", "gateway.example.com"),
            ("Connection", "close, X-Custom-Hop"),
            ("connection", "Keep-Alive, x_other, Host, Cookie"),
            ("Keep-Alive", "timeout=5"),
            ("Proxy-Connection", "keep-alive"),
            ("TE", "trailers"),
            ("Trailer", "X-Checksum"),
            ("Transfer-Encoding", "chunked"),
            ("Upgrade", "websocket"),
            ("Proxy-Authenticate", "Basic"),
            ("Proxy-Authorization", "Basic eA=="),
            ("X-Custom-Hop", "1"),
            ("x_other", "1"),
            ("Cookie", "a=1"),
            ("X-End-To-End", "kept"),
        ],
        &upstream("http://127.0.0.1:9000"),
        &ctx(None),
    );
    let headers = req.headers();
    for name in [
        "connection",
        "keep-alive",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "proxy-authenticate",
        "proxy-authorization",
        "x-custom-hop",
        "x_other",
        "cookie",
    ] {
        assert!(values(headers, name).is_empty(), "{name} forwarded");
    }
    assert_eq!(one(headers, "x-end-to-end").as_deref(), Some("kept"));
    assert_eq!(one(headers, "host").as_deref(), Some("gateway.example.com"));
}

#[test]
fn connection_cannot_remove_headers_the_gateway_sets() {
    let alice = alice();
    let req = prepared(
        "/x",
        &[
            ("Host", "gateway.example.com"),
            (
                "Connection",
                "X-Forwarded-User, x-forwarded-for, X-Forwarded-Host, authorization",
            ),
        ],
        &{
            let mut route = upstream("http://127.0.0.1:9000");
            route.pass_authorization_header = true;
            route
        },
        &ctx(signed_in(&alice)),
    );
    let headers = req.headers();
    assert_eq!(one(headers, "x-forwarded-user").as_deref(), Some("sub-123"));
    assert_eq!(
        one(headers, "x-forwarded-for").as_deref(),
        Some("203.0.113.7")
    );
    assert_eq!(
        one(headers, "x-forwarded-host").as_deref(),
        Some("gateway.example.com")
    );
    assert_eq!(
        one(headers, "authorization").as_deref(),
        Some("Bearer id-xyz")
    );
}

#[test]
fn a_websocket_upgrade_keeps_connection_upgrade_and_upgrade() {
    let req = prepared(
        "/ws",
        &[
            ("Connection", "keep-alive, Upgrade, X-Hop"),
            ("Upgrade", "websocket"),
            ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
            ("Sec-WebSocket-Version", "13"),
            ("Keep-Alive", "timeout=5"),
            ("X-Hop", "1"),
        ],
        &upstream("http://127.0.0.1:9000"),
        &ctx(None),
    );
    let headers = req.headers();
    assert_eq!(one(headers, "connection").as_deref(), Some("upgrade"));
    assert_eq!(one(headers, "upgrade").as_deref(), Some("websocket"));
    assert_eq!(
        one(headers, "sec-websocket-key").as_deref(),
        Some("dGhlIHNhbXBsZSBub25jZQ==")
    );
    assert!(values(headers, "keep-alive").is_empty());
    assert!(values(headers, "x-hop").is_empty());
}

#[test]
fn upgrade_without_connection_upgrade_or_to_h2c_is_not_forwarded() {
    for headers in [
        &[("Upgrade", "websocket")][..],
        &[("Connection", "keep-alive"), ("Upgrade", "websocket")][..],
        &[
            ("Connection", "Upgrade, HTTP2-Settings"),
            ("Upgrade", "h2c"),
            ("HTTP2-Settings", "AAMAAABkAAQAAP__"),
        ][..],
        &[("Connection", "upgrade")][..],
    ] {
        let req = prepared(
            "/x",
            headers,
            &upstream("http://127.0.0.1:9000"),
            &ctx(None),
        );
        for name in ["connection", "upgrade", "http2-settings"] {
            assert!(
                values(req.headers(), name).is_empty(),
                "{name} kept for {headers:?}"
            );
        }
    }
}
