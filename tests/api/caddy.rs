//! Real Caddy with `forward_auth` in front of an app and portcullis as its forward auth
//! (DESIGN §8). Caddy runs `examples/Caddyfile`, the documented configuration, with only its
//! addresses replaced, in front of the echo upstream: signed-out browsers get the
//! "Sign-in required" page whose button signs them in, signed-in ones reach the app with
//! their identity, refused ones get 403, a user without groups gets an empty groups header
//! (never Caddy's unresolved placeholder), and headers a client forges change nothing.
//!
//! Caddy runs as a child process on a free loopback port with its configuration, logs and
//! data (`HOME`, `XDG_DATA_HOME`, `XDG_CONFIG_HOME`) under `target/caddy/<test>-<pid>/`
//! (kept when the test fails), so any user can run it. Without caddy the tests print
//! `skipped: caddy not installed` and pass, unless `PORTCULLIS_E2E=1` (as in `.ci/run`),
//! where that is a failure (`proxy_in_front.rs`, shared with the nginx tests).

use std::path::{Path, PathBuf};
use std::process::Command;

use reqwest::StatusCode;

use crate::echo_upstream::EchoedRequest;
use crate::helpers::{
    assert_redirects_to, echoed, local_part, location, spawn_app_with, Browser, TestApp,
};
use crate::proxy_in_front::{
    assert_no_header_starting, assert_refusals_never_reach_the_app, browser_signed_in_as,
    forged_get, installed_or_skip, with_addresses, ProxyInFront,
};

/// The documented configuration; the test runs exactly this, addresses replaced.
const EXAMPLE: &str = include_str!("../../examples/Caddyfile");

/// Where Debian's `caddy` package installs the binary.
const DEBIAN_CADDY: &str = "/usr/bin/caddy";

/// The identity headers of the 202 that the example copies onto the app's request.
const IDENTITY: [&str; 4] = [
    "x-auth-request-user",
    "x-auth-request-email",
    "x-auth-request-preferred-username",
    "x-auth-request-groups",
];

/// The gateway behind Caddy: Caddy (127.0.0.1) is its only trusted proxy, rd may name
/// 127.0.0.1 (Caddy's host here), and `/admin` is only for bob.
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
async fn signed_out_browsers_get_the_sign_in_page_whose_button_signs_them_in() {
    let Some(binary) = caddy_or_skip() else {
        return;
    };
    let app = gateway().await;
    let caddy = start_caddy(&binary, &app).await;
    let browser = Browser::new();
    let page = caddy.url("/app/page?x=1");

    let refused = browser.navigate(&page).await;
    assert_eq!(
        refused.status(),
        StatusCode::UNAUTHORIZED,
        "passed on as is"
    );
    let refused = refused.text().await.unwrap();
    assert!(refused.contains("Sign-in required"), "{refused}");
    let sign_in = browser
        .navigate(&caddy.url(&link_to(&refused, "/oauth2/sign_in")))
        .await;
    assert_eq!(
        sign_in.status(),
        StatusCode::OK,
        "the sign-in page via Caddy"
    );
    let sign_in = sign_in.text().await.unwrap();
    let start = link_to(&sign_in, "/oauth2/start?provider=mock");
    let to_provider = browser.navigate(&caddy.url(&start)).await;
    assert_redirects_to(&to_provider, &app.provider.url("/authorize"));
    let authorize = browser.navigate(&location(&to_provider)).await;
    assert_redirects_to(&authorize, &app.callback_url());
    let callback = browser.navigate(&location(&authorize)).await;
    assert_eq!(local_part(&location(&callback)), "/", "the app's `/`");
    assert!(
        app.upstream.requests().is_empty(),
        "reached while signed out"
    );
    let arrived = echoed(browser.navigate(&page).await).await;

    assert_eq!(arrived.path, "/app/page");
    assert_eq!(
        arrived.header_values("x-auth-request-email"),
        ["alice@example.com"]
    );
    assert_eq!(
        app.upstream.requests().len(),
        1,
        "only the signed-in request"
    );
}

#[tokio::test]
async fn signed_in_requests_reach_the_app_with_the_identity() {
    let Some(binary) = caddy_or_skip() else {
        return;
    };
    let app = gateway().await;
    let caddy = start_caddy(&binary, &app).await;
    app.sign_in().await;

    let arrived = echoed(app.browser.navigate(&caddy.url("/app?q=1")).await).await;

    assert_eq!(
        identity_of(&arrived),
        [
            "alice-sub-0001",
            "alice@example.com",
            "alice",
            "staff,admins"
        ]
    );
    assert_eq!(arrived.header_values("x-forwarded-for"), ["127.0.0.1"]);
    assert_eq!(arrived.header_values("x-forwarded-proto"), ["http"]);
    assert_eq!(arrived.query.as_deref(), Some("q=1"));
    assert!(!arrived.has_header("x-forwarded-user"));

    let public = echoed(Browser::new().navigate(&caddy.url("/public/x")).await).await;
    assert_empty_identity(&public);

    let internal = app.browser.navigate(&caddy.url("/oauth2/auth")).await;
    assert_eq!(internal.status(), StatusCode::NOT_FOUND, "auth is internal");
}

/// The 202 carries every identity header, empty when the user lacks the value, so Caddy's
/// `copy_headers` has a value to copy: before 2.7 it would write the text of its
/// unresolved placeholder for a header the 202 lacks, and a client's copy would not be
/// replaced.
#[tokio::test]
async fn a_user_without_groups_gets_empty_headers_never_a_placeholder() {
    let Some(binary) = caddy_or_skip() else {
        return;
    };
    let app = gateway().await;
    let caddy = start_caddy(&binary, &app).await;
    let carol = browser_signed_in_as(&app, "carol@example.com");

    let plain = echoed(carol.navigate(&caddy.url("/app")).await).await;
    let forged = carol
        .client
        .get(caddy.url("/app"))
        .header("X-Auth-Request-Groups", "wheel")
        .header("X-Auth-Request-Preferred-Username", "root")
        .send()
        .await
        .unwrap();
    let forged = echoed(forged).await;

    for arrived in [&plain, &forged] {
        for (name, value) in &arrived.headers {
            assert!(!value.contains("{http."), "{name}: {value}");
        }
        assert_eq!(
            identity_of(arrived),
            ["sub-carol@example.com", "carol@example.com", "", ""]
        );
    }
}

#[tokio::test]
async fn refused_users_get_403_and_never_reach_the_app() {
    let Some(binary) = caddy_or_skip() else {
        return;
    };
    let app = gateway().await;
    let caddy = start_caddy(&binary, &app).await;
    assert_refusals_never_reach_the_app(&app, &caddy).await;
}

#[tokio::test]
async fn headers_forged_by_the_client_have_no_effect() {
    let Some(binary) = caddy_or_skip() else {
        return;
    };
    let app = gateway().await;
    let caddy = start_caddy(&binary, &app).await;
    let signed_out = Browser::new();
    app.sign_in().await;

    let resp = forged_get(&signed_out, &caddy, "/app").await;
    assert_eq!(
        resp.status(),
        StatusCode::UNAUTHORIZED,
        "still not signed in"
    );
    assert!(app.upstream.requests().is_empty());

    let resp = forged_get(&app.browser, &caddy, "/admin").await;
    assert_eq!(
        resp.status(),
        StatusCode::FORBIDDEN,
        "still judged as /admin"
    );

    let arrived = echoed(forged_get(&app.browser, &caddy, "/app").await).await;
    assert_eq!(
        identity_of(&arrived),
        [
            "alice-sub-0001",
            "alice@example.com",
            "alice",
            "staff,admins"
        ]
    );
    let host = caddy.base.trim_start_matches("http://");
    assert_eq!(arrived.header_values("x-forwarded-host"), [host]);
    assert_eq!(arrived.header_values("x-forwarded-for"), ["127.0.0.1"]);
    for name in [
        "x-auth-request-access-token",
        "x-original-url",
        "x-original-method",
        "x-forwarded-uri",
        "x-forwarded-method",
        "x-rewrite-url",
    ] {
        assert!(!arrived.has_header(name), "{name} reached the app");
    }
    assert_no_header_starting(&arrived, "x-forwarded-user");
    assert_no_header_starting(&arrived, "x-forwarded-email");
    assert_no_header_starting(&arrived, "x-forwarded-preferred-username");
    assert_no_header_starting(&arrived, "x-forwarded-groups");
    assert_no_header_starting(&arrived, "x-forwarded-access-token");
    assert!(
        !arrived.headers.iter().any(|(name, _)| name.contains('_')),
        "{:?}",
        arrived.headers
    );

    let public = echoed(forged_get(&signed_out, &caddy, "/public/x").await).await;
    assert_empty_identity(&public);
}

/// The four identity headers the app received, each exactly once.
fn identity_of(arrived: &EchoedRequest) -> Vec<&str> {
    IDENTITY
        .iter()
        .map(|name| match arrived.header_values(name)[..] {
            [value] => value,
            ref values => panic!("{name}: {values:?}, not one value"),
        })
        .collect()
}

/// A request that needs no sign-in: the identity headers are there (the 202 carries them)
/// and empty, and no other identity header reached the app.
#[track_caller]
fn assert_empty_identity(arrived: &EchoedRequest) {
    assert_eq!(identity_of(arrived), ["", "", "", ""]);
    assert_no_header_starting(arrived, "x-forwarded-user");
    assert_no_header_starting(arrived, "x-forwarded-email");
    assert_no_header_starting(arrived, "x-forwarded-groups");
}

/// The first link in `page` whose target starts with `prefix`, as the browser would follow
/// it (`&amp;` read as `&`).
fn link_to(page: &str, prefix: &str) -> String {
    let start = page
        .find(&format!("href=\"{prefix}"))
        .unwrap_or_else(|| panic!("no link to {prefix} in {page}"))
        + "href=\"".len();
    let end = start + page[start..].find('"').unwrap();
    page[start..end].replace("&amp;", "&")
}

/// caddy, or `None` after printing why the test is skipped (DESIGN §8).
fn caddy_or_skip() -> Option<PathBuf> {
    installed_or_skip("caddy", DEBIAN_CADDY, "caddy")
}

/// caddy in the foreground on the configuration below, written under
/// `target/caddy/<test>-<pid>/`, which is also its home (for its data and config
/// directories); returns once it accepts connections.
async fn start_caddy(binary: &Path, app: &TestApp) -> ProxyInFront {
    ProxyInFront::start("caddy", |port, dir| {
        let conf = dir.join("Caddyfile");
        std::fs::write(&conf, configuration(port, app)).unwrap();
        let mut command = Command::new(binary);
        command
            .arg("run")
            .arg("--config")
            .arg(&conf)
            .args(["--adapter", "caddyfile"])
            .env("HOME", dir)
            .env("XDG_DATA_HOME", dir.join("data"))
            .env("XDG_CONFIG_HOME", dir.join("config"));
        command
    })
    .await
}

/// The example with the test's addresses: the site `http://127.0.0.1:PORT` (the scheme
/// makes Caddy serve plain HTTP, where `app.example.com` would get a certificate), the
/// gateway and the echo upstream. The test copy adds global options before it: no admin
/// endpoint (every caddy would otherwise listen on localhost:2019, and the parallel tests
/// start many) and listeners on loopback only.
fn configuration(port: u16, app: &TestApp) -> String {
    let replacements = [
        ("app.example.com {", format!("http://127.0.0.1:{port} {{")),
        ("127.0.0.1:4180", app.addr.to_string()),
        ("127.0.0.1:8080", app.upstream.addr().to_string()),
    ];
    let example = with_addresses(EXAMPLE, "Caddyfile", &replacements);
    format!("{{\n\tadmin off\n\tdefault_bind 127.0.0.1\n}}\n\n{example}")
}
