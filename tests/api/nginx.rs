//! Real nginx with `auth_request` in front of an app and portcullis as its forward auth
//! (issue 5 point 4; DESIGN §8). nginx runs `examples/nginx.conf`, the documented
//! configuration, with only its addresses replaced, in front of the echo upstream:
//! signed-out browsers are sent to sign in and back, signed-in ones reach the app with
//! their identity, refused ones get 403, and headers a client forges change nothing.
//!
//! nginx runs as a child process on a free loopback port with its pid file, logs and
//! temporary files under `target/nginx/<test>-<pid>/` (kept when the test fails), so any
//! user can run it. Without nginx the tests print `skipped: nginx not installed` and pass,
//! unless `PORTCULLIS_E2E=1` (as in `.ci/run`), where that is a failure
//! (`proxy_in_front.rs`, shared with the Caddy tests).

use std::path::{Path, PathBuf};
use std::process::Command;

use reqwest::header::LOCATION;
use reqwest::StatusCode;

use crate::echo_upstream::EchoedRequest;
use crate::helpers::{echoed, location, spawn_app_with, Browser, TestApp};
use crate::proxy_in_front::{
    assert_no_header_starting, assert_refusals_never_reach_the_app, forged_get, installed_or_skip,
    with_addresses, ProxyInFront,
};

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
    let nginx = start_nginx(&binary, &app).await;
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
    let nginx = start_nginx(&binary, &app).await;
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
    let nginx = start_nginx(&binary, &app).await;
    assert_refusals_never_reach_the_app(&app, &nginx).await;
}

#[tokio::test]
async fn headers_forged_by_the_client_have_no_effect() {
    let Some(binary) = nginx_or_skip() else {
        return;
    };
    let app = gateway().await;
    let nginx = start_nginx(&binary, &app).await;
    let signed_out = Browser::new();
    app.sign_in().await;

    let resp = forged_get(&signed_out, &nginx, "/app").await;
    assert_eq!(resp.status(), StatusCode::FOUND, "still sent to sign in");
    assert!(app.upstream.requests().is_empty());

    let resp = forged_get(&app.browser, &nginx, "/admin").await;
    assert_eq!(
        resp.status(),
        StatusCode::FORBIDDEN,
        "still judged as /admin"
    );

    let arrived = echoed(forged_get(&app.browser, &nginx, "/app").await).await;
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

    let public = echoed(forged_get(&signed_out, &nginx, "/public/x").await).await;
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
    let nginx = start_nginx(&binary, &app).await;

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

/// nginx, or `None` after printing why the test is skipped (DESIGN §8).
fn nginx_or_skip() -> Option<PathBuf> {
    installed_or_skip("nginx", DEBIAN_NGINX, "nginx-light")
}

/// nginx in the foreground on the configuration below, written under
/// `target/nginx/<test>-<pid>/`; returns once it accepts connections.
async fn start_nginx(binary: &Path, app: &TestApp) -> ProxyInFront {
    ProxyInFront::start("nginx", |port, dir| {
        let conf = dir.join("nginx.conf");
        std::fs::write(&conf, configuration(dir, port, app)).unwrap();
        let mut command = Command::new(binary);
        command
            .arg("-p")
            .arg(dir)
            .arg("-c")
            .arg(&conf)
            .args(["-g", "daemon off;"]);
        command
    })
    .await
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
    let example = with_addresses(EXAMPLE, "nginx.conf", &replacements);
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
