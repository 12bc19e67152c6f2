//! Host routing (issue 5, point 3): `host = "app.example.test"` or `"*.example.test"` on
//! upstreams, combined with path prefixes. The host match comes first (exact, then wildcard,
//! then upstreams without `host`), then the longest prefix; the `Host` header is compared
//! case-insensitively and without its port; nothing matching is a 404.
//!
//! Requests are written by hand so that each can carry its own `Host` header.

use crate::echo_upstream::EchoUpstream;
use crate::helpers::{spawn_app_with, TestApp};

struct HostApp {
    app: TestApp,
    exact: EchoUpstream,
    exact_admin: EchoUpstream,
    wildcard: EchoUpstream,
    any_host: EchoUpstream,
}

/// The root upstream is given `host = "gate.test"`, so no upstream serves `/` on every host.
async fn host_app() -> HostApp {
    let exact = EchoUpstream::start().await;
    let exact_admin = EchoUpstream::start().await;
    let wildcard = EchoUpstream::start().await;
    let any_host = EchoUpstream::start().await;
    let app = spawn_app_with(|cfg| {
        // With these off, the generated root upstream (`path = "/"`) is the last table before
        // `extra_toml`, so its first line is a key of that table.
        cfg.public_upstream = false;
        cfg.down_upstream = false;
        for (name, echo) in [
            ("EXACT", &exact),
            ("EXACT_ADMIN", &exact_admin),
            ("WILDCARD", &wildcard),
            ("ANY_HOST", &any_host),
        ] {
            cfg.env.insert(format!("{name}_URL"), echo.url());
        }
        cfg.extra_toml = r#"host = "gate.test"

[[upstream]]
host = "app.example.test"
path = "/"
url = "${EXACT_URL}"
public = true

[[upstream]]
host = "APP.example.test"
path = "/admin"
url = "${EXACT_ADMIN_URL}"

[[upstream]]
host = "*.example.test"
path = "/"
url = "${WILDCARD_URL}"
public = true

[[upstream]]
path = "/shared"
url = "${ANY_HOST_URL}"
public = true
"#
        .to_owned();
    })
    .await;
    HostApp {
        app,
        exact,
        exact_admin,
        wildcard,
        any_host,
    }
}

impl HostApp {
    /// `GET target` with `Host: host` (no `Host` at all when `None`, over HTTP/1.0), plus
    /// `extra` header lines.
    async fn get(&self, host: Option<&str>, target: &str, extra: &[&str]) -> (u16, String) {
        let mut head = match host {
            Some(host) => format!("GET {target} HTTP/1.1\r\nHost: {host}"),
            None => format!("GET {target} HTTP/1.0\r\nUser-Agent: test"),
        };
        for line in extra {
            head.push_str("\r\n");
            head.push_str(line);
        }
        self.app.raw_request(&head, "").await
    }

    /// Which echo upstream answered the last request, by comparing request counts.
    fn counts(&self) -> [usize; 5] {
        [
            self.exact.requests().len(),
            self.exact_admin.requests().len(),
            self.wildcard.requests().len(),
            self.any_host.requests().len(),
            self.app.upstream.requests().len(),
        ]
    }
}

const NAMES: [&str; 5] = ["exact", "exact_admin", "wildcard", "any_host", "root"];

#[tokio::test]
async fn host_match_comes_first_then_the_longest_prefix() {
    // Arrange
    let app = host_app().await;
    // (Host, target, the upstream that must answer with 200)
    let cases = [
        (Some("app.example.test"), "/", "exact"),
        (Some("app.example.test"), "/page", "exact"),
        (Some("APP.Example.TEST"), "/page", "exact"),
        (Some("app.example.test:8443"), "/page", "exact"),
        (Some("app.example.test."), "/page", "exact"),
        (Some("app.example.test"), "/shared", "exact"),
        (Some("other.example.test"), "/", "wildcard"),
        (Some("a.b.example.test"), "/x", "wildcard"),
        (Some("OTHER.example.test:80"), "/shared/x", "wildcard"),
        (Some("example.test"), "/shared", "any_host"),
        (Some("unknown.org"), "/shared/doc", "any_host"),
        (Some("127.0.0.1"), "/shared", "any_host"),
        (None, "/shared", "any_host"),
    ];

    for (host, target, expected) in cases {
        // Act
        let before = app.counts();
        let (status, body) = app.get(host, target, &[]).await;
        let after = app.counts();

        // Assert
        assert_eq!(status, 200, "{host:?} {target}: {body}");
        let answered: Vec<&str> = NAMES
            .iter()
            .zip(before.iter().zip(after.iter()))
            .filter(|(_, (b, a))| a > b)
            .map(|(name, _)| *name)
            .collect();
        assert_eq!(answered, [expected], "{host:?} {target}");
    }
}

#[tokio::test]
async fn without_a_matching_host_and_path_there_is_no_route() {
    // Arrange
    let app = host_app().await;
    let cases = [
        (Some("example.test"), "/"),
        (Some("unknown.org"), "/"),
        (Some("app.example.test.evil.org"), "/page"),
        (Some("evilexample.test"), "/page"),
        (None, "/"),
    ];

    for (host, target) in cases {
        // Act
        let before = app.counts();
        let (status, _) = app.get(host, target, &[]).await;

        // Assert
        assert_eq!(status, 404, "{host:?} {target}");
        assert_eq!(app.counts(), before, "{host:?} {target}");
    }
}

#[tokio::test]
async fn host_specific_routes_keep_their_own_protection() {
    // Arrange
    let app = host_app().await;
    app.app.sign_in().await;
    let cookie = app
        .app
        .session_cookies(&app.app.browser)
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join("; ");

    // Act
    let (anonymous, _) = app.get(Some("app.example.test"), "/admin", &[]).await;
    let (protected_root, _) = app.get(Some("gate.test"), "/", &[]).await;
    let (signed_in, body) = app
        .get(
            Some("app.example.test"),
            "/admin/users",
            &[&format!("Cookie: {cookie}")],
        )
        .await;

    // Assert
    assert_eq!(anonymous, 401);
    assert_eq!(protected_root, 401);
    assert_eq!(signed_in, 200, "{body}");
    let seen = app.exact_admin.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].header("x-forwarded-user"), Some("alice-sub-0001"));
    assert_eq!(seen[0].header("host"), Some("app.example.test"));
}

#[tokio::test]
async fn the_host_comes_from_host_alone_and_must_agree_with_the_target() {
    // Arrange
    let app = host_app().await;

    // Act: forwarding headers do not route; a target naming another host is refused.
    let before = app.counts();
    let (spoofed, _) = app
        .get(
            Some("example.test"),
            "/page",
            &[
                "X-Forwarded-Host: app.example.test",
                "Forwarded: host=app.example.test",
            ],
        )
        .await;
    let (conflicting, _) = app
        .get(Some("example.test"), "http://app.example.test/page", &[])
        .await;
    let (agreeing, _) = app
        .get(
            Some("App.Example.Test"),
            "http://app.example.test:80/page",
            &[],
        )
        .await;

    // Assert
    assert_eq!(spoofed, 404);
    assert_eq!(conflicting, 400);
    assert_eq!(agreeing, 200);
    let after = app.counts();
    assert_eq!(
        after[0],
        before[0] + 1,
        "only the agreeing request reached app.example.test"
    );
}

#[tokio::test]
async fn an_http_1_1_request_without_host_is_a_400() {
    // Arrange: RFC 9112 §3.2 requires a 400 for an HTTP/1.1 request without `Host` (an
    // empty one is how a client says the target has no authority; HTTP/1.0 has none).
    let app = host_app().await;
    let before = app.counts();

    // Act
    let (missing, _) = app
        .app
        .raw_request("GET /shared HTTP/1.1\r\nUser-Agent: test", "")
        .await;
    let (absolute, _) = app
        .app
        .raw_request(
            "GET http://app.example.test/page HTTP/1.1\r\nUser-Agent: test",
            "",
        )
        .await;
    let (empty, _) = app
        .app
        .raw_request("GET /shared HTTP/1.1\r\nHost: \r\nUser-Agent: test", "")
        .await;

    // Assert
    assert_eq!(missing, 400);
    assert_eq!(absolute, 400);
    assert_eq!(empty, 200);
    let after = app.counts();
    assert_eq!(
        after[3],
        before[3] + 1,
        "only the empty Host reached /shared"
    );
    assert_eq!(after[0], before[0], "app.example.test was not reached");
}

/// `admin.test` only for bob, every other host on the harness's protected root (which
/// alice may use); alice signed in.
async fn admin_host_app() -> (TestApp, EchoUpstream) {
    let admin = EchoUpstream::start().await;
    let url = admin.url();
    let app = spawn_app_with(move |cfg| {
        cfg.extra_toml = format!(
            "[[upstream]]\nhost = \"admin.test\"\npath = \"/\"\nurl = \"{url}\"\n\
             allow = {{ emails = [\"bob@example.com\"] }}\n"
        );
    })
    .await;
    app.sign_in().await;
    (app, admin)
}

fn cookie_line(app: &TestApp) -> String {
    let cookies = app.session_cookies(&app.browser);
    let pairs: Vec<String> = cookies
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect();
    format!("Cookie: {}", pairs.join("; "))
}

#[tokio::test]
async fn a_host_with_list_separators_is_refused_not_served_by_the_catch_all() {
    // Arrange: Express and Spring read `admin.test,x` as `admin.test` (the first element of
    // a list), Rack `x,admin.test` as `admin.test` (the last).
    let (app, admin) = admin_host_app().await;
    let cookie = cookie_line(&app);
    let (status, _) = app
        .raw_request(
            &format!("GET / HTTP/1.1\r\nHost: admin.test\r\n{cookie}"),
            "",
        )
        .await;
    assert_eq!(status, 403, "alice is refused on admin.test itself");

    for host in [
        "admin.test,x",
        "x,admin.test",
        "admin.test;x",
        "admin.test, x",
        "admin.test,x:80",
    ] {
        // Act
        let (status, body) = app
            .raw_request(&format!("GET /x HTTP/1.1\r\nHost: {host}\r\n{cookie}"), "")
            .await;

        // Assert: refused; no upstream saw it, with or without alice's identity.
        assert_eq!(status, 400, "Host: {host}: {body}");
    }
    let seen = app.upstream.requests();
    assert!(seen.is_empty(), "the catch-all was reached: {seen:#?}");
    assert!(admin.requests().is_empty());
}

#[tokio::test]
async fn the_upstream_is_told_the_normalised_host() {
    // Arrange
    let app = host_app().await;

    // Act
    let (status, _) = app.get(Some("APP.Example.TEST.:8443"), "/page", &[]).await;

    // Assert: Host and X-Forwarded-Host name the host that was routed, as one value.
    assert_eq!(status, 200);
    let seen = app.exact.requests();
    assert_eq!(
        seen[0].header_values("x-forwarded-host"),
        ["app.example.test:8443"]
    );
    assert_eq!(seen[0].header_values("host"), ["app.example.test:8443"]);
}
