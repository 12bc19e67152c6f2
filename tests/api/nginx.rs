//! Real nginx with `auth_request` in front of an app and portcullis as its forward auth
//! (issue 5 point 4; DESIGN §8). nginx runs `examples/nginx.conf`, the documented
//! configuration, with only its addresses replaced, in front of the echo upstream:
//! signed-out browsers are sent to sign in and back, signed-in ones reach the app with
//! their identity, refused ones get 403, and headers a client forges change nothing.
//!
//! nginx runs as a child process on a free loopback port with its pid file, logs and
//! temporary files under `target/nginx/<test>-<pid>/` (kept when the test fails), so any
//! user can run it. Without nginx the
//! tests print `skipped: nginx not installed` and pass, unless `PORTCULLIS_E2E=1` (as in
//! `.ci/run`), where that is a failure.

use std::io::Write as _;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use portcullis::identity::Identity;
use portcullis::session::{unix_now, Session};
use reqwest::header::LOCATION;
use reqwest::StatusCode;

use crate::echo_upstream::EchoedRequest;
use crate::helpers::{echoed, location, spawn_app_with, Browser, TestApp};

/// The documented configuration; the test runs exactly this, addresses replaced.
const EXAMPLE: &str = include_str!("../../examples/nginx.conf");

/// Where Debian's `nginx` and `nginx-light` packages install the binary.
const DEBIAN_NGINX: &str = "/usr/sbin/nginx";

/// The gateway behind nginx: nginx (127.0.0.1) is its only trusted proxy, rd may name
/// 127.0.0.1 (nginx's host here), and `/admin` is only for bob.
async fn gateway() -> TestApp {
    spawn_app_with(|cfg| {
        cfg.server_extra = "trusted_proxies = [\"127.0.0.1\"]\n\
                            allowed_redirect_hosts = [\"127.0.0.1\"]"
            .to_owned();
        cfg.extra_toml = "[[upstream]]\npath = \"/admin\"\nurl = \"{echo}\"\n\
                          allow = { emails = [\"bob@example.com\"] }\n"
            .to_owned();
    })
    .await
}

#[tokio::test]
async fn signed_out_browsers_are_sent_to_sign_in_and_come_back_signed_in() {
    let Some(binary) = nginx_or_skip() else {
        return;
    };
    let app = gateway().await;
    let nginx = Nginx::start(&binary, &app).await;
    let browser = Browser::new();
    let page = nginx.url("/app/page?x=1");

    let resp = browser.navigate(&page).await;
    assert_eq!(resp.status(), StatusCode::FOUND);
    assert_eq!(
        resp.headers()[LOCATION].to_str().unwrap(),
        nginx.url(&format!("/oauth2/sign_in?rd={page}")),
        "nginx makes the redirect absolute"
    );
    let sign_in = browser.navigate(&location(&resp)).await;
    assert_eq!(
        sign_in.status(),
        StatusCode::OK,
        "the sign-in page via nginx"
    );
    let start = app.start_url(&page).replace(&app.address, &nginx.base);
    let to_provider = browser.navigate(&start).await;
    let authorize = browser.navigate(&location(&to_provider)).await;
    let callback = browser.navigate(&location(&authorize)).await;
    assert_eq!(
        callback.headers()[LOCATION].to_str().unwrap(),
        page,
        "back to the page behind nginx"
    );
    let arrived = echoed(browser.navigate(&page).await).await;

    assert_eq!(arrived.path, "/app/page");
    assert_eq!(
        arrived.header("x-forwarded-email"),
        Some("alice@example.com")
    );
    assert_eq!(
        app.upstream.requests().len(),
        1,
        "only the signed-in request"
    );
}

#[tokio::test]
async fn signed_in_requests_reach_the_app_with_the_identity() {
    let Some(binary) = nginx_or_skip() else {
        return;
    };
    let app = gateway().await;
    let nginx = Nginx::start(&binary, &app).await;
    app.sign_in().await;

    let arrived = echoed(app.browser.navigate(&nginx.url("/app?q=1")).await).await;

    assert_eq!(arrived.header("x-forwarded-user"), Some("alice-sub-0001"));
    assert_eq!(
        arrived.header("x-forwarded-email"),
        Some("alice@example.com")
    );
    assert_eq!(
        arrived.header("x-forwarded-preferred-username"),
        Some("alice")
    );
    assert_eq!(arrived.header("x-forwarded-groups"), Some("staff,admins"));
    assert_eq!(arrived.header("x-forwarded-for"), Some("127.0.0.1"));
    assert_eq!(arrived.header("x-forwarded-proto"), Some("http"));
    assert_eq!(arrived.query.as_deref(), Some("q=1"));
    assert_no_header_starting(&arrived, "x-auth-request-");

    let public = echoed(Browser::new().navigate(&nginx.url("/public/x")).await).await;
    assert_no_identity(&public);

    let internal = app.browser.navigate(&nginx.url("/oauth2/auth")).await;
    assert_eq!(internal.status(), StatusCode::NOT_FOUND, "auth is internal");
}

#[tokio::test]
async fn refused_users_get_403_and_never_reach_the_app() {
    let Some(binary) = nginx_or_skip() else {
        return;
    };
    let app = gateway().await;
    let nginx = Nginx::start(&binary, &app).await;
    app.sign_in().await;
    let mallory = browser_signed_in_as(&app, "mallory@evil.test");

    let by_route = app.browser.navigate(&nginx.url("/admin/users")).await;
    let by_global = mallory.navigate(&nginx.url("/app")).await;

    assert_eq!(by_route.status(), StatusCode::FORBIDDEN, "route rule");
    assert_eq!(by_global.status(), StatusCode::FORBIDDEN, "[authorize]");
    assert!(app.upstream.requests().is_empty());
}

/// Every header a client might forge to pose as someone, or to have another request
/// judged: nginx replaces or drops each before portcullis or the app sees it.
const FORGED: &[(&str, &str)] = &[
    ("X-Forwarded-User", "mallory"),
    ("X-Forwarded-Email", "mallory@example.com"),
    ("X-Forwarded-Preferred-Username", "mallory"),
    ("X-Forwarded-Groups", "wheel"),
    ("X-Forwarded-Access-Token", "forged"),
    ("X-Auth-Request-User", "mallory"),
    ("X-Auth-Request-Email", "mallory@example.com"),
    ("X-Auth-Request-Groups", "wheel"),
    ("X_Forwarded_User", "mallory"),
    ("X_Auth_Request_Email", "mallory@example.com"),
    ("X-Original-URL", "http://127.0.0.1/public/x"),
    ("X-Original-Method", "OPTIONS"),
    ("X-Forwarded-Uri", "/public/x"),
    ("X-Forwarded-Host", "evil.test"),
    ("X-Forwarded-Method", "OPTIONS"),
    ("X-Rewrite-URL", "/admin"),
];

#[tokio::test]
async fn headers_forged_by_the_client_have_no_effect() {
    let Some(binary) = nginx_or_skip() else {
        return;
    };
    let app = gateway().await;
    let nginx = Nginx::start(&binary, &app).await;
    let signed_out = Browser::new();
    app.sign_in().await;

    let forged_get = |browser: &Browser, path: &str| {
        let mut request = browser.client.get(nginx.url(path));
        for (name, value) in FORGED {
            request = request.header(*name, *value);
        }
        request.send()
    };

    let resp = forged_get(&signed_out, "/app").await.unwrap();
    assert_eq!(resp.status(), StatusCode::FOUND, "still sent to sign in");
    assert!(app.upstream.requests().is_empty());

    let resp = forged_get(&app.browser, "/admin").await.unwrap();
    assert_eq!(
        resp.status(),
        StatusCode::FORBIDDEN,
        "still judged as /admin"
    );

    let arrived = echoed(forged_get(&app.browser, "/app").await.unwrap()).await;
    assert_eq!(
        arrived.header_values("x-forwarded-user"),
        ["alice-sub-0001"]
    );
    assert_eq!(
        arrived.header_values("x-forwarded-email"),
        ["alice@example.com"]
    );
    assert_eq!(
        arrived.header_values("x-forwarded-groups"),
        ["staff,admins"]
    );
    assert_eq!(arrived.header_values("x-forwarded-host"), ["127.0.0.1"]);
    for name in [
        "x-forwarded-access-token",
        "x_forwarded_user",
        "x_auth_request_email",
        "x-original-url",
        "x-original-method",
        "x-forwarded-uri",
        "x-forwarded-method",
        "x-rewrite-url",
    ] {
        assert!(!arrived.has_header(name), "{name} reached the app");
    }
    assert_no_header_starting(&arrived, "x-auth-request-");

    let public = echoed(forged_get(&signed_out, "/public/x").await.unwrap()).await;
    assert_no_identity(&public);
}

/// `$request_uri` keeps what a client writes after `#`, and nginx passes the target on as
/// it came: the part after the fragment must not be judged as the part before it.
#[tokio::test]
async fn a_fragment_in_the_target_does_not_pass_as_the_public_route() {
    let Some(binary) = nginx_or_skip() else {
        return;
    };
    let app = gateway().await;
    let nginx = Nginx::start(&binary, &app).await;

    for target in [
        "/public/x#/../../secret",
        "/public/x#/%2e%2e/%2e%2e/secret",
        "/public#/../admin",
    ] {
        let (status, head) = nginx.raw_get(target).await;
        assert_eq!(status, 302, "{target}: still sent to sign in\n{head}");
        assert!(head.contains("/oauth2/sign_in?rd="), "{target}: {head}");
    }
    let seen = app.upstream.requests();
    assert!(seen.is_empty(), "the app was reached: {seen:#?}");
    // The public route itself still works.
    let (status, _) = nginx.raw_get("/public/x").await;
    assert_eq!(status, 200);
}

fn assert_no_identity(arrived: &EchoedRequest) {
    for name in [
        "x-forwarded-user",
        "x-forwarded-email",
        "x-forwarded-preferred-username",
        "x-forwarded-groups",
    ] {
        assert!(!arrived.has_header(name), "{name} on a public route");
    }
    assert_no_header_starting(arrived, "x-auth-request-");
}

fn assert_no_header_starting(arrived: &EchoedRequest, prefix: &str) {
    let found: Vec<_> = arrived
        .headers
        .iter()
        .filter(|(name, _)| name.replace('_', "-").starts_with(prefix))
        .collect();
    assert!(found.is_empty(), "{found:?} reached the app");
}

/// A browser holding a session the gateway sealed for `email`.
fn browser_signed_in_as(app: &TestApp, email: &str) -> Browser {
    let now = unix_now();
    let session = Session {
        issued_at: now,
        expires_at: now + 3600,
        checked_at: now,
        ..Session::new(
            Identity {
                user: format!("sub-{email}"),
                email: Some(email.to_owned()),
                preferred_username: None,
                groups: vec![],
                provider: app.config.provider_id.clone(),
            },
            0,
            0,
        )
    };
    app.browser_with_session(&session)
}

/// nginx, or `None` after printing why the test is skipped; with `PORTCULLIS_E2E=1` a
/// missing nginx fails the test instead (DESIGN §8).
fn nginx_or_skip() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join("nginx"))
            .find(|candidate| candidate.is_file())
    });
    let found = Some(PathBuf::from(DEBIAN_NGINX))
        .filter(|path| path.is_file())
        .or(on_path);
    if found.is_none() {
        if std::env::var("PORTCULLIS_E2E").as_deref() == Ok("1") {
            panic!("PORTCULLIS_E2E=1, but nginx is not installed (Debian package nginx-light)");
        }
        let test = std::thread::current().name().unwrap_or("nginx").to_owned();
        // Past the harness's output capture, so a plain `cargo test` shows the skip.
        let _ = writeln!(std::io::stderr(), "skipped: nginx not installed ({test})");
    }
    found
}

/// A running nginx; dropping it stops the process.
struct Nginx {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    base: String,
    dir: PathBuf,
}

impl Nginx {
    /// Writes the configuration (the example inside a minimal `http` block) under
    /// `target/nginx/<test>/` and starts nginx in the foreground; returns once it accepts
    /// connections.
    ///
    /// The port is free when picked but nginx binds it a moment later, and another socket of
    /// the parallel tests may take it in between: then nginx exits with "Address already in
    /// use" and is started again on another port.
    async fn start(binary: &Path, app: &TestApp) -> Nginx {
        for _ in 0..5 {
            let port = free_port();
            let dir = work_dir();
            let conf = dir.join("nginx.conf");
            std::fs::write(&conf, configuration(&dir, port, app)).unwrap();
            let log = std::fs::File::create(dir.join("stderr.log")).unwrap();
            let child = Command::new(binary)
                .arg("-p")
                .arg(&dir)
                .arg("-c")
                .arg(&conf)
                .args(["-g", "daemon off;"])
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .unwrap_or_else(|err| panic!("start {}: {err}", binary.display()));
            let mut nginx = Nginx {
                child,
                base: format!("http://127.0.0.1:{port}"),
                dir,
            };
            match nginx.wait_until_listening(port).await {
                Ok(()) => return nginx,
                Err(logs) if logs.contains("Address already in use") => continue,
                Err(logs) => panic!("nginx exited:\n{logs}"),
            }
        }
        panic!("nginx found no free port in five tries");
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `GET target` written byte for byte (an HTTP client would drop a fragment), as a
    /// browser-like client; the status and the response head. Asynchronous: the gateway
    /// nginx asks runs on this test's runtime.
    async fn raw_get(&self, target: &str) -> (u16, String) {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let addr = self.base.trim_start_matches("http://");
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let request = format!(
            "GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/html\r\n\
             Connection: close\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut response = Vec::new();
        tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut response))
            .await
            .expect("nginx answers in time")
            .unwrap();
        let response = String::from_utf8_lossy(&response).into_owned();
        let head = response
            .split("\r\n\r\n")
            .next()
            .unwrap_or_default()
            .to_owned();
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|code| code.parse().ok())
            .unwrap_or(0);
        (status, head)
    }

    /// `Err` with the logs when nginx exited before it listened.
    async fn wait_until_listening(&mut self, port: u16) -> Result<(), String> {
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        for _ in 0..400 {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("({status})\n{}", self.logs()));
            }
            if TcpStream::connect_timeout(&addr, Duration::from_millis(100)).is_ok() {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("nginx never listened on {addr}:\n{}", self.logs());
    }

    fn logs(&self) -> String {
        ["stderr.log", "error.log"]
            .iter()
            .map(|name| std::fs::read_to_string(self.dir.join(name)).unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl Drop for Nginx {
    /// Stops nginx; its files stay for inspection when the test failed.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// The example with the test's addresses, inside what a standalone nginx needs: pid file,
/// error log and temporary directories in `dir` (the packaged defaults are root's), and one
/// process serving requests (`master_process off`), so that killing the child stops nginx
/// entirely (workers outlive a killed master).
fn configuration(dir: &Path, port: u16, app: &TestApp) -> String {
    let replacements = [
        ("listen 80", format!("listen 127.0.0.1:{port}")),
        ("app.example.com", "127.0.0.1".to_owned()),
        ("127.0.0.1:4180", app.addr.to_string()),
        ("127.0.0.1:8080", app.upstream.addr().to_string()),
    ];
    let mut example = EXAMPLE.to_owned();
    for (from, to) in &replacements {
        assert!(
            example.contains(from),
            "examples/nginx.conf no longer has {from:?}"
        );
        example = example.replace(from, to);
    }
    let dir = dir.display();
    format!(
        "master_process off;\n\
         pid {dir}/nginx.pid;\n\
         error_log {dir}/error.log info;\n\
         events {{ worker_connections 64; }}\n\
         http {{\n\
         access_log {dir}/access.log;\n\
         client_body_temp_path {dir}/client_body;\n\
         proxy_temp_path {dir}/proxy;\n\
         fastcgi_temp_path {dir}/fastcgi;\n\
         uwsgi_temp_path {dir}/uwsgi;\n\
         scgi_temp_path {dir}/scgi;\n\
         {example}\n\
         }}\n"
    )
}

/// A loopback port nothing listens on right now.
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// `target/nginx/<test name>-<process id>/`, empty: test runs in parallel processes (as
/// several `cargo test` at once) never share one.
fn work_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let target = exe
        .ancestors()
        .nth(3)
        .map(Path::to_owned)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    let test = std::thread::current()
        .name()
        .unwrap_or("nginx")
        .replace("::", "-");
    let dir = target
        .join("nginx")
        .join(format!("{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
