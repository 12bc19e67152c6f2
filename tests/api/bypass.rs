//! Public routes, `skip_auth` and CORS preflights without bypasses (issue 5, point 2).
//!
//! The deployment: `/` is protected but has `skip_auth = [{ methods = ["GET"], path =
//! "^/health$" }]`, `/admin` is a protected upstream of its own, `/public` a public one. A
//! corpus of path tricks — each a request line sent byte for byte, since an HTTP client
//! library would resolve `..` before sending — must never bring an unauthenticated request
//! to a protected upstream: whatever the gateway answers (401, 404, 400), the protected echo
//! upstreams must not have seen it.

use reqwest::StatusCode;

use crate::echo_upstream::{EchoUpstream, EchoedRequest};
use crate::helpers::{echoed, error_code, spawn_app_with, toml_str, TestApp};

/// The gateway with its three upstreams; `root` is the harness's own echo upstream.
struct Deployment {
    app: TestApp,
    admin: EchoUpstream,
    public: EchoUpstream,
}

impl Deployment {
    fn root(&self) -> &EchoUpstream {
        &self.app.upstream
    }

    /// Sends `method target` with `headers` (each `Name: value`) exactly as written.
    async fn raw(&self, method: &str, target: &str, headers: &[&str]) -> (u16, String) {
        let mut head = format!("{method} {target} HTTP/1.1\r\nHost: {}", self.app.addr);
        for header in headers {
            head.push_str("\r\n");
            head.push_str(header);
        }
        self.app.raw_request(&head, "").await
    }
}

async fn deployment(root_extra: &str) -> Deployment {
    let admin = EchoUpstream::start().await;
    let public = EchoUpstream::start().await;
    let extra = format!(
        "{root_extra}\n\n[[upstream]]\npath = \"/admin\"\nurl = {admin}\n\n\
         [[upstream]]\npath = \"/public\"\nurl = {public}\npublic = true\n",
        admin = toml_str(&admin.url()),
        public = toml_str(&public.url()),
    );
    let app = spawn_app_with(|cfg| {
        // With these off, the generated root upstream (`path = "/"`) is the last table before
        // `extra_toml`, so the first lines of `extra` are keys of that table.
        cfg.public_upstream = false;
        cfg.down_upstream = false;
        cfg.extra_toml = extra;
    })
    .await;
    let root = app
        .gateway_config
        .upstreams
        .iter()
        .find(|upstream| upstream.path == "/")
        .expect("the root upstream");
    assert!(
        !root.public
            && (root_extra.is_empty() || !root.skip_auth.is_empty() || root.cors_preflight),
        "the root upstream did not get {root_extra:?}:\n{}",
        app.toml
    );
    Deployment { app, admin, public }
}

const SKIP_HEALTH: &str = "skip_auth = [{ methods = [\"GET\"], path = \"^/health$\" }]";

/// (method, request target, extra header lines). Every one tries to reach `/admin` (or the
/// protected root) without a session.
const CORPUS: &[(&str, &str, &[&str])] = &[
    ("GET", "/admin", &[]),
    ("GET", "/admin/", &[]),
    ("GET", "/public/../admin", &[]),
    ("GET", "/public/%2e%2e/admin", &[]),
    ("GET", "/public/%2E%2E/admin", &[]),
    ("GET", "/public/.%2e/admin", &[]),
    ("GET", "/public/%2e./admin", &[]),
    ("GET", "//admin", &[]),
    ("GET", "///admin", &[]),
    ("GET", "/admin;x=y", &[]),
    ("GET", "/admin%2f", &[]),
    ("GET", "/admin%2F", &[]),
    ("GET", "/./admin", &[]),
    ("GET", "/%2e/admin", &[]),
    ("GET", "/%2e%2e/admin", &[]),
    ("GET", "/public%2f..%2fadmin", &[]),
    ("GET", "/public%2F..%2Fadmin", &[]),
    ("GET", "/PUBLIC/../admin", &[]),
    ("GET", "/Public/%2E%2E/Admin", &[]),
    ("GET", "/ADMIN", &[]),
    ("GET", "/public/..%2fadmin", &[]),
    ("GET", "/public/..%2f..%2fadmin", &[]),
    ("GET", "/public/%2e%2e%2fadmin", &[]),
    ("GET", "/public/x/../../admin", &[]),
    ("GET", "/public/./../admin", &[]),
    ("GET", "/public/..", &[]),
    ("GET", "/admin#/../public", &[]),
    ("GET", "/public#/../admin", &[]),
    ("GET", "/public/%c0%ae%c0%ae/admin", &[]),
    ("GET", "/public/%c0%ae%c0%ae%c0%afadmin", &[]),
    ("GET", "/public/%e0%80%ae%e0%80%ae/admin", &[]),
    ("GET", "/public/%252e%252e/admin", &[]),
    ("GET", "/public%252f..%252fadmin", &[]),
    ("GET", "/public/%25252e%25252e/admin", &[]),
    ("GET", "/public/%u002e%u002e/admin", &[]),
    ("GET", "/public\\..\\admin", &[]),
    ("GET", "/public%5c..%5cadmin", &[]),
    ("GET", "/public/..\\admin", &[]),
    ("GET", "/public/..;/admin", &[]),
    ("GET", "/public/..;x=y/admin", &[]),
    ("GET", "/public;/../admin", &[]),
    ("GET", "/public/.../admin", &[]),
    ("GET", "/public/..%20/admin", &[]),
    ("GET", "/admin.", &[]),
    ("GET", "/admin..", &[]),
    ("GET", "/admin%2e", &[]),
    ("GET", "/public/..%00/admin", &[]),
    ("GET", "/admin%00", &[]),
    ("GET", "/public/%ef%bc%8e%ef%bc%8e/admin", &[]),
    ("GET", "/public/%e2%80%a5/admin", &[]),
    ("GET", "/public/%e2%80%a4%e2%80%a4/admin", &[]),
    ("GET", "/public%ef%bc%8f..%ef%bc%8fadmin", &[]),
    // Around the skip_auth rule `^/health$` on the protected root.
    ("GET", "/health/../admin", &[]),
    ("GET", "/health/%2e%2e/admin", &[]),
    ("GET", "/health%2f..%2fadmin", &[]),
    ("GET", "/health;/../admin", &[]),
    ("GET", "/health/..;/admin", &[]),
    ("GET", "//health/../admin", &[]),
    ("GET", "/health;x=y", &[]),
    ("GET", "/health%3b", &[]),
    ("GET", "/health%2f", &[]),
    ("GET", "/health%2fsecret", &[]),
    ("GET", "/health/", &[]),
    ("GET", "/health.", &[]),
    ("GET", "/health%2e", &[]),
    ("GET", "/health%00", &[]),
    ("GET", "/health%0a", &[]),
    ("GET", "/health%252f", &[]),
    ("GET", "/HEALTH", &[]),
    ("GET", "/health%c0%ae", &[]),
    ("GET", "/health\\", &[]),
    ("GET", "/secret", &[]),
    ("POST", "/health", &[]),
    ("HEAD", "/health", &[]),
    ("DELETE", "/health", &[]),
    // Absolute-form targets and CORS preflights (cors_preflight is off here).
    ("GET", "http://HOST/public/../admin", &[]),
    ("GET", "http://HOST/admin", &[]),
    (
        "OPTIONS",
        "/admin",
        &[
            "Origin: https://evil.test",
            "Access-Control-Request-Method: GET",
        ],
    ),
    (
        "OPTIONS",
        "/secret",
        &[
            "Origin: https://evil.test",
            "Access-Control-Request-Method: POST",
        ],
    ),
    // Forged identity and forwarding headers change nothing.
    (
        "GET",
        "/admin",
        &[
            "X-Forwarded-User: admin",
            "X-Forwarded-Email: admin@example.com",
        ],
    ),
    (
        "GET",
        "/admin",
        &["X-Original-URL: /public", "X-Rewrite-URL: /public"],
    ),
    ("GET", "/admin", &["X-Forwarded-Uri: /health"]),
];

fn mentions_admin(request: &EchoedRequest) -> bool {
    request.path.to_ascii_lowercase().contains("admin")
        || request
            .query
            .as_deref()
            .is_some_and(|query| query.to_ascii_lowercase().contains("admin"))
}

#[tokio::test]
async fn no_bypass_attempt_reaches_a_protected_upstream() {
    // Arrange
    let deployment = deployment(SKIP_HEALTH).await;
    assert!(CORPUS.len() >= 30);
    let mut failures = Vec::new();

    for (method, target, headers) in CORPUS {
        // Act
        let target = target.replace("HOST", &deployment.app.addr.to_string());
        let public_before = deployment.public.requests().len();
        let (status, body) = deployment.raw(method, &target, headers).await;

        // Assert: nothing but the public upstream answers, and never about /admin.
        let success = (200..300).contains(&status);
        let public_after = deployment.public.requests();
        let public_answered = public_after.len() > public_before;
        if success && !public_answered {
            failures.push(format!("{method} {target}: {status} {body}"));
        }
        if let Some(request) = public_after
            .iter()
            .skip(public_before)
            .find(|r| mentions_admin(r))
        {
            failures.push(format!(
                "{method} {target}: the public upstream saw {} {}",
                request.method, request.path
            ));
        }
        if status == 0 {
            failures.push(format!("{method} {target}: no answer"));
        }
    }

    let admin_seen = deployment.admin.requests();
    let root_seen = deployment.root().requests();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(
        admin_seen.is_empty(),
        "the protected /admin upstream was reached: {admin_seen:#?}"
    );
    assert!(
        root_seen.is_empty(),
        "the protected root upstream was reached: {root_seen:#?}"
    );
}

#[tokio::test]
async fn the_deployment_serves_what_it_should() {
    // Arrange
    let deployment = deployment(SKIP_HEALTH).await;
    let app = &deployment.app;

    // Act + Assert: the skip_auth path and the public route need no session.
    let health = echoed(app.get("/health").await).await;
    assert_eq!(health.path, "/health");
    let (status, _) = deployment.raw("GET", "//health", &[]).await;
    assert_eq!(
        status, 200,
        "repeated slashes are collapsed before matching"
    );
    let public = echoed(app.get("/public/page").await).await;
    assert_eq!(public.path, "/public/page");

    // Anything else needs one: 401 for programs, the sign-in page for browsers.
    let (status, code) = error_code(app.get("/admin").await).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::UNAUTHORIZED, "unauthenticated")
    );
    let resp = app.navigate("/admin/users").await;
    assert_eq!(resp.status(), StatusCode::FOUND);
    assert!(deployment.admin.requests().is_empty());

    // Signed in, the protected upstream is reached with the identity.
    app.sign_in().await;
    let admin = echoed(app.get("/admin/users").await).await;
    assert_eq!(admin.header("x-forwarded-user"), Some("alice-sub-0001"));
    assert_eq!(deployment.admin.requests().len(), 1);
}

#[tokio::test]
async fn skip_auth_requests_carry_no_identity_even_with_a_session_or_forged_headers() {
    // Arrange
    let deployment = deployment(SKIP_HEALTH).await;
    let app = &deployment.app;
    app.sign_in().await;
    let forged = [
        ("X-Forwarded-User", "mallory"),
        ("X-Forwarded-Email", "mallory@example.com"),
        ("X-Forwarded-Groups", "admins"),
        ("X-Forwarded-Preferred-Username", "mallory"),
        ("X-Forwarded-Access-Token", "forged"),
        ("X-Auth-Request-User", "mallory"),
        ("x_forwarded_user", "mallory"),
        ("X-FORWARDED-EMAIL", "mallory@example.com"),
    ];

    for path in ["/health", "/public/page"] {
        // Act
        let mut request = app.request(reqwest::Method::GET, path);
        for (name, value) in forged {
            request = request.header(name, value);
        }
        let seen = echoed(request.send().await.unwrap()).await;

        // Assert
        for name in [
            "x-forwarded-user",
            "x-forwarded-email",
            "x-forwarded-groups",
            "x-forwarded-preferred-username",
            "x-forwarded-access-token",
            "x-forwarded-provider",
            "x-auth-request-user",
            "x_forwarded_user",
        ] {
            assert!(
                !seen.has_header(name),
                "{path}: {name} reached the upstream"
            );
        }
        assert!(
            seen.cookies()
                .iter()
                .all(|(name, _)| !name.starts_with(app.cookie_name())),
            "{path}: the session cookie reached the upstream: {:?}",
            seen.cookies()
        );
    }
}

#[tokio::test]
async fn cors_preflights_pass_only_where_enabled_and_only_as_preflights() {
    // Arrange: `cors_preflight = true` on the root upstream only.
    let deployment = deployment("cors_preflight = true").await;
    let preflight = [
        "Origin: https://app.test",
        "Access-Control-Request-Method: PUT",
    ];

    // Act + Assert: a preflight to the root reaches it, without identity.
    let (status, body) = deployment.raw("OPTIONS", "/api/items", &preflight).await;
    assert_eq!(status, 200, "{body}");
    let seen = deployment.root().requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(
        (seen[0].method.as_str(), seen[0].path.as_str()),
        ("OPTIONS", "/api/items")
    );
    assert!(!seen[0].has_header("x-forwarded-user"));

    // Not a preflight, or not on a route that allows them: a session is needed.
    let not_preflights: [(&str, &str, &[&str]); 5] = [
        ("OPTIONS", "/api/items", &["Origin: https://app.test"]),
        (
            "OPTIONS",
            "/api/items",
            &["Access-Control-Request-Method: PUT"],
        ),
        ("OPTIONS", "/api/items", &[]),
        ("GET", "/api/items", &preflight),
        ("OPTIONS", "/admin", &preflight),
    ];
    for (method, target, headers) in not_preflights {
        let (status, _) = deployment.raw(method, target, headers).await;
        assert_eq!(status, 401, "{method} {target} {headers:?}");
    }
    assert_eq!(deployment.root().requests().len(), 1);
    assert!(deployment.admin.requests().is_empty());
}

#[tokio::test]
async fn an_encoded_slash_never_carries_a_protected_path_to_the_public_upstream() {
    // Arrange: `/public%2fx` decodes to `/public/x`, under the public route, but is forwarded
    // as it came; a server that keeps `%2F` as data (Tomcat, Go's net/http routing on
    // RawPath) reads `/public%2fx`, which the gateway's own table puts under the protected
    // root.
    let deployment = deployment(SKIP_HEALTH).await;
    let attacks = [
        "/public%2fx",
        "/public%2Fx",
        "/public%5cx",
        "/public%5Cx",
        "/public%2f",
        "/public%2Fsecret?x=1",
        "/public%252fx",
    ];

    for target in attacks {
        // Act
        let (status, body) = deployment.raw("GET", target, &[]).await;

        // Assert: whatever the answer, not served by an upstream.
        assert!(
            !(200..300).contains(&status),
            "{target} passed without a session: {status} {body}"
        );
    }
    for upstream in [&deployment.public, deployment.root(), &deployment.admin] {
        let seen = upstream.requests();
        assert!(seen.is_empty(), "an upstream was reached: {seen:#?}");
    }

    // An encoded slash that stays under the public route, however it is read, still goes.
    let (status, _) = deployment.raw("GET", "/public/a%2Fb", &[]).await;
    assert_eq!(status, 200);
    let seen = deployment.public.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].path, "/public/a%2Fb", "forwarded as it came");
}
