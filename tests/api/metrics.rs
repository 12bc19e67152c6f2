//! `/metrics` (DESIGN §11, issue 14 point 1): the Prometheus text of a running gateway passes
//! Prometheus' own checker (`promtool check metrics`, Debian's `prometheus` package), each
//! counter moves when its event happens, and `server.metrics_listen` serves the text on an
//! address of its own and nowhere else.
//!
//! Without promtool the checker test prints `skipped: promtool not installed` and passes,
//! unless `PORTCULLIS_E2E=1` (as in `.ci/run`), where that is a failure.

use std::io::Write as _;
use std::process::{Command, Stdio};

use reqwest::header::CONTENT_TYPE;
use reqwest::StatusCode;

use crate::backchannel::{logout_claims, post_logout, send_logout, signed};
use crate::helpers::{error_code, spawn_app, spawn_app_with, TestApp};
use crate::local_accounts::fixture::{granting, refresh, spawn_local, token_request, tokens, User};
use crate::proxy_in_front::installed_or_skip;
use crate::refresh::{refreshing, signed_in, sleep_until, LIFETIME, WINDOW};

/// Where Debian's `prometheus` package installs promtool.
const DEBIAN_PROMTOOL: &str = "/usr/bin/promtool";

/// The `/metrics` text of `app`, from `metrics_listen` when it has one.
async fn scrape(app: &TestApp) -> String {
    let url = match app.metrics_addr {
        Some(addr) => format!("http://{addr}/metrics"),
        None => app.url("/metrics"),
    };
    let resp = reqwest::get(&url).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK, "{url}");
    let content_type = resp.headers()[CONTENT_TYPE].to_str().unwrap().to_owned();
    assert_eq!(content_type, "text/plain; version=0.0.4; charset=utf-8");
    resp.text().await.unwrap()
}

/// The value of the sample `series` (name and labels exactly as written) in `text`.
fn value_in(text: &str, series: &str) -> Option<u64> {
    text.lines().find_map(|line| {
        let value = line.strip_prefix(series)?.strip_prefix(' ')?;
        value.parse().ok()
    })
}

/// The value of `series` now; a series that is not there is a failure.
async fn value(app: &TestApp, series: &str) -> u64 {
    let text = scrape(app).await;
    value_in(&text, series).unwrap_or_else(|| panic!("no {series} in:\n{text}"))
}

fn requests(upstream: &str, class: &str) -> String {
    format!("portcullis_requests_total{{upstream=\"{upstream}\",status_class=\"{class}\"}}")
}

fn latency_count(upstream: &str) -> String {
    format!("portcullis_request_duration_seconds_count{{upstream=\"{upstream}\"}}")
}

fn login_failures(provider: &str, reason: &str) -> String {
    format!(
        "portcullis_logins_total{{provider=\"{provider}\",outcome=\"failure\",reason=\"{reason}\"}}"
    )
}

#[tokio::test]
async fn the_metrics_of_a_running_gateway_pass_promtool() {
    let Some(promtool) = installed_or_skip("promtool", DEBIAN_PROMTOOL, "prometheus") else {
        return;
    };
    let app = spawn_app().await;
    app.sign_in().await;
    let callback = app.begin_login(&app.other_browser, "/").await;
    app.finish_login(&app.browser, &callback).await;
    for path in [
        "/app",
        "/public/x",
        "/down/x",
        "/app/status/500",
        "/oauth2/nothing",
    ] {
        app.get(path).await;
    }
    let text = scrape(&app).await;

    let mut check = Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    check
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let output = check.wait_with_output().unwrap();

    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "promtool: {said}\n{text}");
    assert_eq!(said.trim(), "", "promtool has remarks on:\n{text}");
    assert!(
        value_in(&text, &requests("/", "2xx")).unwrap() >= 1,
        "{text}"
    );
}

#[tokio::test]
async fn a_proxied_request_counts_under_its_upstream_and_status_class() {
    let app = spawn_app().await;
    app.sign_in().await;

    assert_eq!(app.get("/public/x").await.status(), StatusCode::OK);
    assert_eq!(app.get("/app/status/404").await.status(), 404);
    assert_eq!(app.get("/app/status/503").await.status(), 503);
    assert_eq!(app.get("/app").await.status(), StatusCode::OK);

    let text = scrape(&app).await;
    let value = |series: &str| value_in(&text, series).unwrap_or_else(|| panic!("{series}"));
    assert_eq!(value(&requests("/public", "2xx")), 1);
    assert_eq!(value(&latency_count("/public")), 1);
    assert_eq!(value(&requests("/", "2xx")), 1);
    assert_eq!(value(&requests("/", "4xx")), 1);
    assert_eq!(value(&requests("/", "5xx")), 1);
    assert_eq!(value(&latency_count("/")), 3);
    assert_eq!(
        value("portcullis_upstream_errors_total{upstream=\"/\",kind=\"unavailable\"}"),
        0,
        "a 503 the upstream sent is its answer, not a failure to answer"
    );
    assert!(!text.contains("/app"), "a request's path became a label");
    assert!(
        !text.contains("example.com"),
        "a user's email became a label"
    );
}

#[tokio::test]
async fn the_gateways_own_answers_count_without_an_upstream_and_routed_refusals_under_theirs() {
    let app = spawn_app().await;
    // This scrape is one of the gateway's own answers too, counted once it is answered.
    let before = value(&app, &requests("", "2xx")).await + 1;

    assert_eq!(app.get("/ping").await.status(), StatusCode::OK);
    assert_eq!(app.get("/oauth2/nothing").await.status(), 404);
    let refused = app.get("/app").await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);

    let text = scrape(&app).await;
    let value = |series: &str| value_in(&text, series).unwrap_or_else(|| panic!("{series}"));
    assert_eq!(value(&requests("", "2xx")), before + 1);
    assert_eq!(value(&requests("", "4xx")), 1);
    assert_eq!(
        value(&requests("/", "4xx")),
        1,
        "the 401 of a request routed to / counts under /"
    );
    assert_eq!(value(&requests("/", "2xx")), 0);
}

#[tokio::test]
async fn logins_count_by_provider_and_outcome_and_unknown_providers_share_one_series() {
    let app = spawn_app().await;
    let success = "portcullis_logins_total{provider=\"mock\",outcome=\"success\"}";
    assert_eq!(value(&app, success).await, 0);
    assert_eq!(
        value(&app, &login_failures("mock", "no_flow_cookie")).await,
        0
    );

    app.sign_in().await;
    let stray = app.url("/oauth2/callback/mock?state=abc&code=def");
    let refused = app
        .finish_login_as_program(&app.other_browser, &stray)
        .await;
    assert_eq!(error_code(refused).await.1, "no_flow_cookie");
    let elsewhere = app.url("/oauth2/callback/nowhere?state=abc&code=def");
    app.finish_login_as_program(&app.other_browser, &elsewhere)
        .await;

    let text = scrape(&app).await;
    let value = |series: &str| value_in(&text, series).unwrap_or_else(|| panic!("{series}"));
    assert_eq!(value(success), 1);
    assert_eq!(value(&login_failures("mock", "no_flow_cookie")), 1);
    assert_eq!(value(&login_failures("", "provider_mismatch")), 1);
    assert!(
        !text.contains("nowhere"),
        "a provider id from a path became a label"
    );
}

#[tokio::test]
async fn the_token_endpoints_grants_count_as_logins_and_refreshes() {
    let app = spawn_local(&[User::new("alice")], &granting("")).await;
    let success = "portcullis_logins_total{provider=\"local\",outcome=\"success\"}";
    let renewed = "portcullis_refreshes_total{provider=\"local\",outcome=\"success\"}";
    let refused =
        "portcullis_refreshes_total{provider=\"local\",outcome=\"failure\",reason=\"refused\"}";
    let incorrect = login_failures("local", "incorrect_password");
    assert_eq!(value(&app, success).await, 0);
    assert_eq!(value(&app, &incorrect).await, 0);

    let first = tokens(&app, "alice").await;
    let wrong = [
        ("grant_type", "password"),
        ("username", "alice"),
        ("password", "wrong"),
    ];
    assert_eq!(
        token_request(&app, &wrong).await.status(),
        StatusCode::BAD_REQUEST
    );
    let spent = first["refresh_token"].as_str().unwrap();
    assert_eq!(refresh(&app, spent).await.status(), StatusCode::OK);
    assert_eq!(
        refresh(&app, spent).await.status(),
        StatusCode::BAD_REQUEST,
        "a refresh token is single-use"
    );

    let text = scrape(&app).await;
    let value = |series: &str| value_in(&text, series).unwrap_or_else(|| panic!("{series}"));
    assert_eq!(value(success), 1);
    assert_eq!(value(&incorrect), 1);
    assert_eq!(value(renewed), 1);
    assert_eq!(value(refused), 1);
}

#[tokio::test]
async fn refreshes_count_renewals_and_refusals() {
    let app = spawn_app_with(|c| refreshing(c, "")).await;
    let success = "portcullis_refreshes_total{provider=\"mock\",outcome=\"success\"}";
    let refused =
        "portcullis_refreshes_total{provider=\"mock\",outcome=\"failure\",reason=\"refused\"}";

    let issued_by = signed_in(&app).await;
    sleep_until(issued_by + LIFETIME - WINDOW).await;
    assert_eq!(app.get("/app").await.status(), StatusCode::OK);
    let renewed_by = portcullis::session::unix_now();
    assert_eq!(value(&app, success).await, 1);
    assert_eq!(value(&app, refused).await, 0);

    app.provider
        .behave(|b| b.refresh_error = Some((400, "invalid_grant")));
    sleep_until(renewed_by + LIFETIME - WINDOW).await;
    assert_eq!(app.get("/app").await.status(), StatusCode::UNAUTHORIZED);

    assert_eq!(value(&app, success).await, 1);
    assert_eq!(value(&app, refused).await, 1);
}

#[tokio::test]
async fn back_channel_logouts_count_as_accepted_or_rejected() {
    let app = spawn_app().await;
    let token = signed(&app, &logout_claims(&app, &[("sid", "a-sid")]));

    assert_eq!(send_logout(&app, &app.address, &token).await.status(), 200);
    assert_eq!(send_logout(&app, &app.address, &token).await.status(), 400);
    let unknown = post_logout(&app.address, "nowhere", &[("logout_token", &token)]).await;
    assert_eq!(unknown.status(), 400);

    let text = scrape(&app).await;
    let value = |series: &str| value_in(&text, series).unwrap_or_else(|| panic!("{series}"));
    let logouts = |provider: &str, outcome: &str| {
        value(&format!(
            "portcullis_backchannel_logouts_total{{provider=\"{provider}\",outcome=\"{outcome}\"}}"
        ))
    };
    assert_eq!(logouts("mock", "accepted"), 1);
    assert_eq!(logouts("mock", "rejected"), 1, "the replay");
    assert_eq!(logouts("mock", "failed"), 0);
    assert_eq!(logouts("", "rejected"), 1);
}

#[tokio::test]
async fn session_store_errors_count_when_redis_cannot_be_reached() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let app = spawn_app_with(|c| {
        c.session_extra = format!("store = \"redis\"\nredis_url = \"redis://127.0.0.1:{port}\"\n");
        c.wait_until_ready = false;
    })
    .await;
    let errors = "portcullis_session_store_errors_total{kind=\"unavailable\"}";
    let before = value(&app, errors).await;

    let callback = app.begin_login(&app.browser, "/").await;
    let resp = app.finish_login_as_program(&app.browser, &callback).await;

    assert_eq!(error_code(resp).await.1, "session_store");
    assert!(value(&app, errors).await > before);
    assert_eq!(
        value(&app, &login_failures("mock", "session_store")).await,
        1
    );
}

#[tokio::test]
async fn upstream_errors_and_timeouts_count_under_their_upstream() {
    let app = spawn_app().await;
    app.sign_in().await;

    assert_eq!(app.get("/down/x").await.status(), StatusCode::BAD_GATEWAY);
    assert_eq!(app.get("/slow").await.status(), StatusCode::GATEWAY_TIMEOUT);

    let text = scrape(&app).await;
    let value = |series: &str| value_in(&text, series).unwrap_or_else(|| panic!("{series}"));
    let failures = |upstream: &str, kind: &str| {
        value(&format!(
            "portcullis_upstream_errors_total{{upstream=\"{upstream}\",kind=\"{kind}\"}}"
        ))
    };
    assert_eq!(failures("/down", "unavailable"), 1);
    assert_eq!(failures("/down", "timeout"), 0);
    assert_eq!(failures("/", "timeout"), 1);
    assert_eq!(failures("/", "unavailable"), 0);
    assert_eq!(value(&requests("/down", "5xx")), 1);
    assert_eq!(value(&requests("/", "5xx")), 1);
}

#[tokio::test]
async fn without_metrics_listen_the_gateway_serves_metrics_itself_not_the_upstream() {
    let app = spawn_app().await;

    let text = scrape(&app).await;

    assert!(
        text.contains("# TYPE portcullis_requests_total counter"),
        "{text}"
    );
    assert!(
        app.upstream
            .requests()
            .iter()
            .all(|request| !request.path.starts_with("/metrics")),
        "/metrics reached the upstream"
    );
}

#[tokio::test]
async fn metrics_listen_serves_metrics_on_its_own_address_and_the_main_one_answers_404() {
    let app = spawn_app_with(|c| c.server_extra = "metrics_listen = \"127.0.0.1:0\"".into()).await;
    let metrics_addr = app.metrics_addr.expect("metrics_listen is bound");
    assert_ne!(metrics_addr, app.addr);

    let main = app.get("/metrics").await;
    let elsewhere = reqwest::get(format!("http://{metrics_addr}/app"))
        .await
        .unwrap();
    let text = scrape(&app).await;

    assert_eq!(
        error_code(main).await,
        (StatusCode::NOT_FOUND, "not_found".to_owned())
    );
    assert!(
        app.upstream
            .requests()
            .iter()
            .all(|request| !request.path.starts_with("/metrics")),
        "/metrics reached the upstream"
    );
    assert_eq!(elsewhere.status(), StatusCode::NOT_FOUND);
    assert!(
        text.contains("# TYPE portcullis_requests_total counter"),
        "{text}"
    );
    assert_eq!(
        value_in(&text, &requests("", "4xx")),
        Some(1),
        "the main listener's 404 counts; the metrics listener's own answers do not"
    );
}
