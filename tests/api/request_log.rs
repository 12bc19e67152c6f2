//! The request log's levels (issue 15 point 4): one line per request, at info for what a
//! person reads the log for, and at debug for the static files of every page and for the
//! development provider's answers to the calls only the gateway makes to itself (discovery,
//! keys, token). A failed answer of either kind is logged at info all the same.

use reqwest::StatusCode;

use crate::captured_logs::{settle_interest, Logs};
use crate::dev_provider::{sign_in_as, spawn_dev_app};
use crate::helpers::{assert_redirects_to, location, TestApp};

/// `(level, path, status)` of each access-log line, in order.
fn requests(logs: &Logs) -> Vec<(String, String, String)> {
    logs.text()
        .lines()
        .filter(|line| line.contains(" request request_id="))
        .map(|line| {
            let level = line.split_whitespace().nth(1).unwrap().to_owned();
            let field = |name: &str| {
                line.split_whitespace()
                    .find_map(|word| word.strip_prefix(&format!("{name}=")))
                    .unwrap()
                    .to_owned()
            };
            (level, field("path"), field("status"))
        })
        .collect()
}

/// The levels of the lines for `path`.
fn levels_of(logs: &Logs, path: &str) -> Vec<String> {
    requests(logs)
        .into_iter()
        .filter(|(_, logged, _)| logged == path)
        .map(|(level, _, _)| level)
        .collect()
}

/// The sign-in page, its stylesheet, the development provider's form, and a sign-in through
/// it.
async fn sign_in_as_a_browser_does(app: &TestApp) {
    let page = app.browser.navigate(&app.url("/oauth2/sign_in")).await;
    assert_eq!(page.status(), StatusCode::OK);
    let css = app
        .browser
        .navigate(&app.url("/oauth2/static/portcullis.css"))
        .await;
    assert_eq!(css.status(), StatusCode::OK);
    let start = app.browser.navigate(&app.start_url("/")).await;
    let form = app.browser.navigate(&location(&start)).await;
    assert_eq!(form.status(), StatusCode::OK);
    let callback = sign_in_as(app, "/", "ada@example.com").await;
    assert_redirects_to(&callback, "/");
}

#[tokio::test]
async fn static_files_and_the_gateways_calls_to_its_dev_provider_are_logged_at_debug() {
    let (logs, _guard) = Logs::capture("warn,portcullis=debug");
    let app = spawn_dev_app().await;
    settle_interest();

    sign_in_as_a_browser_does(&app).await;

    for path in [
        "/oauth2/static/portcullis.css",
        "/oauth2/dev/.well-known/openid-configuration",
        "/oauth2/dev/jwks",
        "/oauth2/dev/token",
    ] {
        let levels = levels_of(&logs, path);
        assert!(
            !levels.is_empty() && levels.iter().all(|level| level == "DEBUG"),
            "{path}: {levels:?} in {:?}",
            requests(&logs)
        );
    }
    // What the browser was sent to, and the sign-in itself, stay at info.
    for path in [
        "/oauth2/sign_in",
        "/oauth2/start",
        "/oauth2/dev/authorize",
        "/oauth2/callback/dev",
    ] {
        let levels = levels_of(&logs, path);
        assert!(
            !levels.is_empty() && levels.iter().all(|level| level == "INFO"),
            "{path}: {levels:?} in {:?}",
            requests(&logs)
        );
    }
}

#[tokio::test]
async fn a_failed_static_file_or_dev_token_request_is_logged_at_info() {
    let (logs, _guard) = Logs::capture("warn,portcullis=debug");
    let app = spawn_dev_app().await;
    settle_interest();

    let missing = app
        .browser
        .navigate(&app.url("/oauth2/static/no-such-file.css"))
        .await;
    let bad_code = app
        .client
        .post(app.url("/oauth2/dev/token"))
        .form(&[("grant_type", "authorization_code"), ("code", "forged")])
        .send()
        .await
        .unwrap();

    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert!(bad_code.status().is_client_error(), "{}", bad_code.status());
    assert_eq!(
        levels_of(&logs, "/oauth2/static/no-such-file.css"),
        ["INFO"],
        "{:?}",
        requests(&logs)
    );
    let token_lines: Vec<_> = requests(&logs)
        .into_iter()
        .filter(|(_, path, status)| path == "/oauth2/dev/token" && status.starts_with('4'))
        .collect();
    assert_eq!(token_lines.len(), 1, "{:?}", requests(&logs));
    assert_eq!(token_lines[0].0, "INFO");
}
