use super::*;
use crate::config::UpstreamTarget;
use std::time::Duration;

fn upstream(host: Option<HostPattern>, path: &str, port: u16) -> UpstreamConfig {
    UpstreamConfig {
        path: path.to_owned(),
        target: UpstreamTarget::Http(format!("http://127.0.0.1:{port}").parse().unwrap()),
        public: false,
        pass_access_token: false,
        pass_authorization_header: false,
        timeout: Duration::from_secs(30),
        websocket_idle_timeout: crate::config::DEFAULT_WEBSOCKET_IDLE_TIMEOUT,
        host,
        allow: None,
        skip_auth: Vec::new(),
        cors_preflight: false,
    }
}

fn any_host(path: &str, port: u16) -> UpstreamConfig {
    upstream(None, path, port)
}

fn exact(host: &str, path: &str, port: u16) -> UpstreamConfig {
    upstream(Some(HostPattern::Exact(host.to_owned())), path, port)
}

fn subdomains(parent: &str, path: &str, port: u16) -> UpstreamConfig {
    upstream(Some(HostPattern::Subdomains(parent.to_owned())), path, port)
}

fn table() -> RouteTable {
    RouteTable::new(vec![
        any_host("/", 1),
        any_host("/app", 2),
        any_host("/app/admin", 3),
        any_host("/files/", 4),
        any_host("/app", 5),
    ])
}

fn routed_port(table: &RouteTable, host: Option<&str>, path: &str) -> Option<u16> {
    table
        .route(host, path)
        .map(|upstream| match &upstream.target {
            UpstreamTarget::Http(url) => url.port().unwrap(),
            UpstreamTarget::Echo => 0,
        })
}

fn port(table: &RouteTable, path: &str) -> Option<u16> {
    routed_port(table, Some("gate.example.com"), path)
}

#[test]
fn longest_segment_aware_prefix_wins() {
    let table = table();
    let cases = [
        ("/", Some(1)),
        ("/other", Some(1)),
        ("/app", Some(2)),
        ("/app/", Some(2)),
        ("/app/x", Some(2)),
        ("/app?q=1", Some(2)),
        ("/app#frag", Some(2)),
        ("/application", Some(1)),
        ("/app/admin", Some(3)),
        ("/app/admin/users", Some(3)),
        ("/app/administrator", Some(2)),
        ("/files/a.txt", Some(4)),
        ("/files/", Some(4)),
        ("/files", Some(1)),
        ("/filesystem", Some(1)),
    ];
    for (path, expected) in cases {
        assert_eq!(port(&table, path), expected, "path {path:?}");
    }
}

#[test]
fn equal_prefixes_keep_file_order() {
    assert_eq!(port(&table(), "/app/y"), Some(2));
}

#[test]
fn without_a_root_route_unmatched_paths_have_no_route() {
    let table = RouteTable::new(vec![any_host("/app", 2)]);
    assert_eq!(port(&table, "/app/x"), Some(2));
    assert_eq!(port(&table, "/"), None);
    assert_eq!(port(&table, "/apple"), None);
}

#[test]
fn paths_are_routed_percent_decoded() {
    let table = table();
    assert_eq!(port(&table, "/app%2Fadmin"), Some(3));
    assert_eq!(port(&table, "/%61pp/admin"), Some(3));
    assert_eq!(port(&table, "/app%zz"), Some(1));
    assert_eq!(port(&table, "/app%"), Some(1));
}

#[test]
fn dot_segments_and_non_origin_targets_are_not_routed() {
    let table = table();
    for path in [
        "/app/../admin",
        "/app/./x",
        "/app/%2e%2e/admin",
        "/app/%2E%2e",
        "/app%2F..%2Fadmin",
        "/app\\..\\admin",
        "/app/..;/admin",
        "/app/%252e%252e/admin",
        "/app/%c0%ae%c0%ae/admin",
        "/app/\u{FF0E}\u{FF0E}/admin",
        "/..",
        "*",
        "",
        "app",
    ] {
        assert_eq!(port(&table, path), None, "path {path:?}");
    }
    assert_eq!(port(&table, "/app/..x/.y"), Some(2));
}

fn host_table() -> RouteTable {
    RouteTable::new(vec![
        any_host("/", 1),
        any_host("/api", 2),
        exact("app.example.com", "/", 10),
        exact("app.example.com", "/admin", 11),
        subdomains("example.com", "/", 20),
        subdomains("eu.example.com", "/", 21),
        exact("only.example.org", "/docs", 30),
    ])
}

#[test]
fn host_match_first_then_longest_prefix() {
    let table = host_table();
    let cases = [
        (Some("app.example.com"), "/", Some(10)),
        (Some("app.example.com"), "/api/x", Some(10)),
        (Some("app.example.com"), "/admin/users", Some(11)),
        (Some("APP.Example.COM"), "/admin", Some(11)),
        (Some("app.example.com:8443"), "/admin", Some(11)),
        (Some("app.example.com."), "/admin", Some(11)),
        (Some("other.example.com"), "/api", Some(20)),
        (Some("a.b.example.com"), "/", Some(20)),
        (Some("x.eu.example.com"), "/", Some(21)),
        (Some("eu.example.com"), "/", Some(20)),
        (Some("example.com"), "/api", Some(2)),
        (Some("example.com"), "/", Some(1)),
        (Some("evilexample.com"), "/", Some(1)),
        (Some("app.example.com.evil.org"), "/", Some(1)),
        (Some("only.example.org"), "/docs/a", Some(30)),
        (Some("only.example.org"), "/api", Some(2)),
        (Some("only.example.org"), "/", Some(1)),
        (Some("127.0.0.1:4180"), "/", Some(1)),
        (Some("[::1]:4180"), "/api", Some(2)),
        (None, "/", Some(1)),
        (None, "/admin", Some(1)),
    ];
    for (host, path, expected) in cases {
        assert_eq!(
            routed_port(&table, host, path),
            expected,
            "{host:?} {path:?}"
        );
    }
}

#[test]
fn without_a_route_for_the_host_there_is_none() {
    let table = RouteTable::new(vec![
        exact("app.example.com", "/", 10),
        subdomains("example.org", "/x", 20),
    ]);
    let cases = [
        (Some("app.example.com"), "/", Some(10)),
        (Some("other.example.com"), "/", None),
        (Some("a.example.org"), "/x", Some(20)),
        (Some("a.example.org"), "/", None),
        (Some("example.org"), "/x", None),
        (None, "/", None),
        (Some("app.example.com@evil.org"), "/", None),
        (Some("bad host"), "/", None),
        (Some(""), "/", None),
    ];
    for (host, path, expected) in cases {
        assert_eq!(
            routed_port(&table, host, path),
            expected,
            "{host:?} {path:?}"
        );
    }
}

#[test]
fn hosts_are_normalised() {
    let cases = [
        ("App.Example.com", Some("app.example.com")),
        ("app.example.com:443", Some("app.example.com")),
        ("app.example.com.", Some("app.example.com")),
        ("app.example.com.:80", Some("app.example.com")),
        ("[::1]:4180", Some("[::1]")),
        ("127.0.0.1", Some("127.0.0.1")),
        ("user@app.example.com", None),
        ("app.example.com/x", None),
        ("app.example.com..", None),
        ("", None),
        (".", None),
    ];
    for (value, expected) in cases {
        assert_eq!(normalize_host(value).as_deref(), expected, "{value:?}");
    }
}

#[test]
fn the_request_host_comes_from_host_or_the_authority_and_they_must_agree() {
    let headers = |values: &[&str]| {
        let mut map = HeaderMap::new();
        for value in values {
            map.append(HOST, value.parse().unwrap());
        }
        map
    };
    let origin: Uri = "/x".parse().unwrap();
    let absolute: Uri = "http://app.example.com:8080/x".parse().unwrap();
    let (http1, http11, http2) = (Version::HTTP_10, Version::HTTP_11, Version::HTTP_2);
    /// (Host header values, request target, version, the host the request is for)
    type HostCase<'a> = (
        &'a [&'a str],
        &'a Uri,
        Version,
        Result<Option<&'a str>, BadHost>,
    );
    let cases: [HostCase; 12] = [
        (&[""], &origin, http11, Ok(None)),
        (
            &["app.example.com"],
            &origin,
            http11,
            Ok(Some("app.example.com")),
        ),
        (&[], &origin, http1, Ok(None)),
        (&[], &origin, http11, Err(BadHost::Missing)),
        (&[], &absolute, http11, Err(BadHost::Missing)),
        (&[], &absolute, http1, Ok(Some("app.example.com:8080"))),
        (&[], &absolute, http2, Ok(Some("app.example.com:8080"))),
        (
            &["APP.example.com"],
            &absolute,
            http11,
            Ok(Some("APP.example.com")),
        ),
        (
            &["APP.example.com"],
            &absolute,
            http2,
            Ok(Some("APP.example.com")),
        ),
        (
            &["other.example.com"],
            &absolute,
            http11,
            Err(BadHost::Conflicting),
        ),
        (
            &["a.example.com", "b.example.com"],
            &origin,
            http11,
            Err(BadHost::Several),
        ),
        (&["x@y"], &origin, http11, Err(BadHost::Malformed)),
    ];
    for (values, uri, version, expected) in cases {
        let map = headers(values);
        assert_eq!(
            request_host(&map, uri, version),
            expected,
            "{values:?} {uri} {version:?}"
        );
    }
}

#[test]
fn paths_servers_would_place_under_another_route_are_not_routed() {
    let table = table();
    let refused = [
        "/app/admin;x=y",
        "/app/admin;",
        "/app/admin%3bx",
        "/app;x/admin",
        "/app/admin.",
        "/app/admin%2e",
        "/app/admin%20",
        "/app/admin.%20.",
        "/app/admin%00",
        "/app/admin%00.html",
        "/app/admin\\x",
        "/app/admin%5cx",
        "/app;/admin/users",
        "/app.",
        "/app;x",
        "//app/admin",
        "/app//admin",
        "///app///admin/users",
        "/%2Fapp/admin",
        "/app/%2fadmin",
        "/APP",
        "/App/x",
        "/app/ADMIN",
        "/app/Admin/users",
        "/%41pp/admin",
        "/FILES/a.txt",
    ];
    for path in refused {
        assert_eq!(port(&table, path), None, "path {path:?}");
    }
    // Readings that stay under the same route change nothing.
    let kept = [
        ("/a;b/c", Some(1)),
        ("/app/x;y", Some(2)),
        ("/app/admin/a.b.", Some(3)),
        ("/app/x.", Some(2)),
        ("/files.", Some(1)),
        ("/other;x", Some(1)),
        ("//other", Some(1)),
        ("/app//x", Some(2)),
        ("/app/admin//users", Some(3)),
        ("/app/X", Some(2)),
        ("/app/admin/USERS", Some(3)),
        ("/Other", Some(1)),
    ];
    for (path, expected) in kept {
        assert_eq!(port(&table, path), expected, "path {path:?}");
    }
}

#[test]
fn prefixes_in_capitals_are_routed_in_any_case_that_stays_under_them() {
    let table = RouteTable::new(vec![any_host("/", 1), any_host("/Admin", 2)]);
    assert_eq!(port(&table, "/Admin/x"), Some(2));
    assert_eq!(port(&table, "/ADMIN/x"), None);
    assert_eq!(port(&table, "/admin"), None);
    assert_eq!(port(&table, "/about"), Some(1));
}
