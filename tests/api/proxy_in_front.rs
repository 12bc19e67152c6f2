//! A real proxy (nginx, Caddy) run as a child process in front of the gateway, for the tests
//! that run the configurations documented in `examples/` (DESIGN §8): finding its binary or
//! skipping, a free loopback port and a work directory of its own, and the checks those
//! tests make from the app's side.
//!
//! The proxy's files live under `target/<proxy>/<test>-<pid>/`, kept when the test fails, so
//! any user can run it. Without the proxy a test prints `skipped: <proxy> not installed` and
//! passes, unless `PORTCULLIS_E2E=1` (as in `.ci/run`), where that is a failure.

use std::io::Write as _;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use portcullis::identity::Identity;
use portcullis::session::{unix_now, Session};

use crate::echo_upstream::EchoedRequest;
use crate::helpers::{Browser, TestApp};

/// The proxy's binary: `debian_path` (where Debian's `package` installs it), else `name` on
/// `PATH`; or `None` after printing why the test is skipped. With `PORTCULLIS_E2E=1` a
/// missing proxy fails the test instead.
pub fn installed_or_skip(name: &str, debian_path: &str, package: &str) -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|candidate| candidate.is_file())
    });
    let found = Some(PathBuf::from(debian_path))
        .filter(|path| path.is_file())
        .or(on_path);
    if found.is_none() {
        if std::env::var("PORTCULLIS_E2E").as_deref() == Ok("1") {
            panic!("PORTCULLIS_E2E=1, but {name} is not installed (Debian package {package})");
        }
        let test = std::thread::current().name().unwrap_or(name).to_owned();
        // Past the harness's output capture, so a plain `cargo test` shows the skip.
        let _ = writeln!(std::io::stderr(), "skipped: {name} not installed ({test})");
        let reason = format!("{name} is not installed (Debian package {package})");
        crate::e2e::skips::record(&crate::e2e::target_dir(), &reason);
    }
    found
}

/// A running proxy; dropping it stops the process.
pub struct ProxyInFront {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    dir: PathBuf,
    name: &'static str,
}

impl ProxyInFront {
    /// Starts the proxy `command(port, dir)` describes (its configuration written into the
    /// empty `dir`), with its output in `dir/stderr.log`; returns once it accepts
    /// connections on `port`.
    ///
    /// The port is free when picked but the proxy binds it a moment later, and another
    /// socket of the parallel tests may take it in between: then the proxy exits with
    /// "address already in use" and is started again on another port.
    pub async fn start(
        name: &'static str,
        mut command: impl FnMut(u16, &Path) -> Command,
    ) -> ProxyInFront {
        for _ in 0..5 {
            let port = free_port();
            let dir = work_dir(name);
            let log = std::fs::File::create(dir.join("stderr.log")).unwrap();
            let child = command(port, &dir)
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .unwrap_or_else(|err| panic!("start {name}: {err}"));
            let mut proxy = ProxyInFront {
                child,
                base: format!("http://127.0.0.1:{port}"),
                dir,
                name,
            };
            match proxy.wait_until_listening(port).await {
                Ok(()) => return proxy,
                Err(logs) if logs.to_lowercase().contains("address already in use") => continue,
                Err(logs) => panic!("{name} exited:\n{logs}"),
            }
        }
        panic!("{name} found no free port in five tries");
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `GET target` written byte for byte (an HTTP client would drop a fragment), as a
    /// browser-like client; the status and the response head. Asynchronous: the gateway
    /// the proxy asks runs on this test's runtime.
    pub async fn raw_get(&self, target: &str) -> (u16, String) {
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
            .expect("the proxy answers in time")
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

    /// `Err` with the logs when the proxy exited before it listened.
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
        panic!("{} never listened on {addr}:\n{}", self.name, self.logs());
    }

    /// Every `*.log` the proxy wrote in its directory.
    fn logs(&self) -> String {
        let mut logs: Vec<PathBuf> = std::fs::read_dir(&self.dir)
            .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        logs.retain(|path| path.extension().is_some_and(|ext| ext == "log"));
        logs.sort();
        logs.iter()
            .map(|path| std::fs::read_to_string(path).unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl Drop for ProxyInFront {
    /// Stops the proxy; its files stay for inspection when the test failed.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Replaces each `from` of `replacements` in `example` (the file `examples/<file>`),
/// failing when the example no longer has one: the test would silently run something else.
pub fn with_addresses(example: &str, file: &str, replacements: &[(&str, String)]) -> String {
    let mut example = example.to_owned();
    for (from, to) in replacements {
        assert!(
            example.contains(from),
            "examples/{file} no longer has {from:?}"
        );
        example = example.replace(from, to);
    }
    example
}

/// A loopback port nothing listens on right now.
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// `target/<proxy>/<test name>-<process id>/`, empty: test runs in parallel processes (as
/// several `cargo test` at once) never share one.
fn work_dir(proxy: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let target = exe
        .ancestors()
        .nth(3)
        .map(Path::to_owned)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    let test = std::thread::current()
        .name()
        .unwrap_or(proxy)
        .replace("::", "-");
    let dir = target
        .join(proxy)
        .join(format!("{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A browser holding a session the gateway sealed for `email`: a user with no groups and no
/// preferred username.
pub fn browser_signed_in_as(app: &TestApp, email: &str) -> Browser {
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

/// No header whose name starts with `prefix` (`_` read as `-`) reached the app.
#[track_caller]
pub fn assert_no_header_starting(arrived: &EchoedRequest, prefix: &str) {
    let found: Vec<_> = arrived
        .headers
        .iter()
        .filter(|(name, _)| name.replace('_', "-").starts_with(prefix))
        .collect();
    assert!(found.is_empty(), "{found:?} reached the app");
}

/// Every header a client might forge to pose as someone, or to have another request
/// judged: the proxy in front replaces or drops each before portcullis or the app sees it.
pub const FORGED: &[(&str, &str)] = &[
    ("X-Forwarded-User", "mallory"),
    ("X-Forwarded-Email", "mallory@example.com"),
    ("X-Forwarded-Preferred-Username", "mallory"),
    ("X-Forwarded-Groups", "wheel"),
    ("X-Forwarded-Access-Token", "forged"),
    ("X-Auth-Request-User", "mallory"),
    ("X-Auth-Request-Email", "mallory@example.com"),
    ("X-Auth-Request-Preferred-Username", "mallory"),
    ("X-Auth-Request-Groups", "wheel"),
    ("X-Auth-Request-Access-Token", "forged"),
    ("X_Forwarded_User", "mallory"),
    ("X_Auth_Request_Email", "mallory@example.com"),
    ("X-Original-URL", "http://127.0.0.1/public/x"),
    ("X-Original-Method", "OPTIONS"),
    ("X-Forwarded-Uri", "/public/x"),
    ("X-Forwarded-Host", "evil.test"),
    ("X-Forwarded-Method", "OPTIONS"),
    ("X-Forwarded-For", "203.0.113.7"),
    ("X-Rewrite-URL", "/admin"),
];

/// `GET path` through `proxy` with every header of [`FORGED`].
pub async fn forged_get(browser: &Browser, proxy: &ProxyInFront, path: &str) -> reqwest::Response {
    let mut request = browser.client.get(proxy.url(path));
    for (name, value) in FORGED {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap()
}

/// A route rule and `[authorize]` both refuse through `proxy` (403), and the app sees
/// nothing.
pub async fn assert_refusals_never_reach_the_app(app: &TestApp, proxy: &ProxyInFront) {
    app.sign_in().await;
    let mallory = browser_signed_in_as(app, "mallory@evil.test");

    let by_route = app.browser.navigate(&proxy.url("/admin/users")).await;
    let by_global = mallory.navigate(&proxy.url("/app")).await;

    assert_eq!(
        by_route.status(),
        reqwest::StatusCode::FORBIDDEN,
        "route rule"
    );
    assert_eq!(
        by_global.status(),
        reqwest::StatusCode::FORBIDDEN,
        "[authorize]"
    );
    assert!(app.upstream.requests().is_empty());
}
