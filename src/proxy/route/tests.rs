use super::host::BadHost;
use super::*;
use crate::config::UpstreamTarget;
use http::header::HOST;
use http::{HeaderMap, Uri, Version};
use std::time::Duration;

pub(super) fn upstream(host: Option<HostPattern>, path: &str, port: u16) -> UpstreamConfig {
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
        ca_files: Vec::new(),
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
    assert_eq!(port(&table, "/%61pp/admin"), Some(3));
    assert_eq!(port(&table, "/app%zz"), Some(1));
    assert_eq!(port(&table, "/app%"), Some(1));
}

/// An upstream may read `%2F` as `/` or as data; the gateway forwards it as it came, so
/// both readings must choose the same route.
#[test]
fn encoded_separators_are_routed_only_where_both_readings_agree() {
    let table = table();
    let refused = [
        "/app%2Fadmin",
        "/app%2fadmin/x",
        "/app%5Cadmin",
        "/app%5cadmin",
        "/files%2Fa.txt",
        "/app%252Fadmin",
        "/app%25252fadmin",
        "/x%252fy",
        "/app%u002fadmin",
        "/x%U005Cy",
    ];
    for path in refused {
        assert_eq!(port(&table, path), None, "path {path:?}");
    }
    let kept = [
        ("/other%2Fthing", Some(1)),
        ("/api/queues/%2F/name", Some(1)),
        ("/app/x%2Fy", Some(2)),
        ("/app/admin/a%2Fb", Some(3)),
        ("/files/a%2F..b", Some(4)),
    ];
    for (path, expected) in kept {
        assert_eq!(port(&table, path), expected, "path {path:?}");
    }
    let public = RouteTable::new(vec![any_host("/", 1), any_host("/public", 2)]);
    for path in ["/public%2fx", "/public%2Fx", "/public%5cx"] {
        assert_eq!(port(&public, path), None, "path {path:?}");
    }
}

/// An origin-form target never has a fragment (RFC 9112 §3.2.1); a server could read what
/// follows `#` as path, dot segments included.
#[test]
fn targets_with_a_fragment_are_not_routed() {
    let table = table();
    for target in [
        "/app#frag",
        "/app/x#/../../admin",
        "/app/x#/%2e%2e/%2e%2e/admin",
        "/other?q#x",
        "/#",
    ] {
        assert_eq!(port(&table, target), None, "target {target:?}");
    }
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
        ("admin.test,x", None),
        ("x,admin.test", None),
        ("admin.test;x", None),
        ("admin.test, x", None),
        ("admin.test x", None),
        (" admin.test", None),
        ("admin%2etest", None),
        ("admin.test:", None),
        ("admin.test:x", None),
        ("admin.test:65536", None),
        ("admin.test:99999", None),
        ("admin.test:123456", None),
        ("admin.test:65535", Some("admin.test")),
        ("admin.test:00080", Some("admin.test")),
        ("admin.test:+80", None),
        ("admin.test:80:80", None),
        ("admin.test\\x", None),
        ("[::1", None),
        ("[::1]x", None),
        ("[v1.x]", None),
        ("[::1,x]", None),
        ("a..b", None),
        ("app_1.internal:8080", Some("app_1.internal")),
        ("[2001:DB8::1]", Some("[2001:db8::1]")),
    ];
    for (value, expected) in cases {
        assert_eq!(normalize_host(value).as_deref(), expected, "{value:?}");
    }
}

/// `host::labels_ok`, one pass, equals the reading it replaced (split at dots, each label 1
/// to 63 letters, digits, `-` or `_`) on every name of up to 6 characters over the bytes
/// that matter, and at the 63-character bound.
#[test]
fn the_one_pass_label_check_equals_the_split_one() {
    fn split_reading(name: &[u8]) -> bool {
        name.split(|&byte| byte == b'.').all(|label| {
            (1..=63).contains(&label.len())
                && label
                    .iter()
                    .all(|&b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
    }
    const ALPHABET: &[u8] = b"aZ9-_.~ :\xff";
    let mut checked = 0;
    for len in 0..=6u32 {
        for mut n in 0..ALPHABET.len().pow(len) {
            let name: Vec<u8> = (0..len)
                .map(|_| {
                    let byte = ALPHABET[n % ALPHABET.len()];
                    n /= ALPHABET.len();
                    byte
                })
                .collect();
            assert_eq!(host::labels_ok(&name), split_reading(&name), "{name:?}");
            checked += 1;
        }
    }
    assert!(checked > 1_000_000, "only {checked} names");
    for name in [
        "a".repeat(63),
        "a".repeat(64),
        format!("{}.b", "a".repeat(63)),
        format!("b.{}", "a".repeat(64)),
    ] {
        assert_eq!(
            host::labels_ok(name.as_bytes()),
            split_reading(name.as_bytes())
        );
    }
}

#[test]
fn authorities_are_normalised_with_their_port() {
    let cases = [
        ("App.Example.com:8443", Some("app.example.com:8443")),
        ("app.example.com.", Some("app.example.com")),
        ("[::1]:4180", Some("[::1]:4180")),
        ("127.0.0.1", Some("127.0.0.1")),
        ("admin.test,x", None),
        ("admin.test;x:80", None),
    ];
    for (value, expected) in cases {
        assert_eq!(normalize_authority(value).as_deref(), expected, "{value:?}");
    }
}

#[test]
fn hosts_with_list_separators_route_nowhere() {
    let table = RouteTable::new(vec![any_host("/", 1), exact("admin.test", "/", 2)]);
    for host in [
        "admin.test,x",
        "x,admin.test",
        "admin.test;x",
        "admin.test, x",
    ] {
        assert_eq!(routed_port(&table, Some(host), "/"), None, "{host:?}");
    }
    assert_eq!(routed_port(&table, Some("ADMIN.test:80"), "/"), Some(2));
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
    let cases: [HostCase<'_>; 14] = [
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
        (&["admin.test,x"], &origin, http11, Err(BadHost::Malformed)),
        (
            &[],
            &"http://admin.test,x/".parse().unwrap(),
            http2,
            Err(BadHost::Malformed),
        ),
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

/// Property: a path the gateway routes to an upstream reaches it only where every reading
/// of the forwarded target that an upstream server could act on (percent-decoded once, with
/// or without its encoded separators decoded, dot segments removed or not) belongs to the
/// same upstream. So no server behind the gateway acts on a path under another route's
/// policy than the one the gateway applied.
mod forwarded_readings {
    use super::*;
    use proptest::prelude::*;

    fn property_table() -> RouteTable {
        RouteTable::new(vec![
            any_host("/", 1),
            any_host("/public", 2),
            any_host("/admin", 3),
            any_host("/public/admin", 4),
            any_host("/files/", 5),
        ])
    }

    /// Pieces of a segment: names in several cases, dots, escapes of structural characters,
    /// matrix parameters, fragments and queries. An empty piece repeats a slash.
    const PIECES: &[&str] = &[
        "public", "PUBLIC", "Public", "admin", "ADMIN", "files", "x", "", ".", "..", "%2e", "%2E",
        "%2e%2e", ".%2E", "%2f", "%2F", "%5c", "%5C", "\\", ";", ";x=y", "%3b", "#", "%23", "?",
        "%3F", "%25", "%252f", "%252e", "%70ublic", "%61dmin", "%41DMIN", "a.b", "%20", "%00",
        "%u002e", "%c0%ae",
    ];

    fn target() -> impl Strategy<Value = String> {
        let segment = prop::collection::vec(prop::sample::select(PIECES), 1..4)
            .prop_map(|pieces| pieces.concat());
        prop::collection::vec(segment, 1..6).prop_map(|segments| format!("/{}", segments.join("/")))
    }

    /// RFC 3986 §5.2.4 on bytes.
    fn without_dot_segments(path: &[u8]) -> Vec<u8> {
        let segments: Vec<&[u8]> = path
            .strip_prefix(b"/")
            .unwrap_or(path)
            .split(|&b| b == b'/')
            .collect();
        let mut out: Vec<&[u8]> = Vec::new();
        for (index, segment) in segments.iter().enumerate() {
            let last = index + 1 == segments.len();
            match *segment {
                b"." | b".." => {
                    if *segment == b".." {
                        out.pop();
                    }
                    if last {
                        out.push(b"");
                    }
                }
                other => out.push(other),
            }
        }
        let mut joined = b"/".to_vec();
        joined.extend(out.join(&b'/'));
        joined
    }

    fn readings(target: &str) -> Vec<Vec<u8>> {
        let path = target.split('?').next().unwrap_or_default().as_bytes();
        let once = [
            unroutable::percent_decode(path),
            unroutable::percent_decode_keeping_separators(path),
        ];
        once.iter()
            .flat_map(|decoded| [decoded.clone(), without_dot_segments(decoded)])
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]
        #[test]
        fn a_routed_path_never_reaches_an_upstream_under_another_routes_policy(
            target in target()
        ) {
            let table = property_table();
            let host = Some("gate.example.com");
            if let Some(chosen) = table.route(host, &target) {
                for reading in readings(&target) {
                    let acted_on = table.find(host, &reading, Case::Sensitive);
                    prop_assert!(
                        acted_on.is_none_or(|other| std::ptr::eq(other, chosen)),
                        "{target:?} is routed to {} but read as {:?}, which is {:?}'s",
                        chosen.path,
                        String::from_utf8_lossy(&reading),
                        acted_on.map(|other| &other.path),
                    );
                }
            }
        }
    }
}
