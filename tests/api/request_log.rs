//! The request log's levels (issue 15 point 4): one line per request, at info for what a
//! person reads the log for, and at debug for the static files of every page and for the
//! development provider's answers to the calls only the gateway makes to itself (discovery,
//! keys, token). A failed answer of either kind is logged at info all the same.

use std::sync::{Arc, Mutex};

use reqwest::StatusCode;
use url::Url;

use crate::helpers::{assert_redirects_to, location, spawn_app_with, TestApp};

/// Every line logged on this thread (the gateway runs on the test's current-thread
/// runtime), debug included.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Logs {
    fn capture() -> (Logs, tracing::subscriber::DefaultGuard) {
        let logs = Logs::default();
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("warn,portcullis=debug"))
            .with_ansi(false)
            .with_writer(logs.clone())
            .finish();
        (logs, tracing::subscriber::set_default(subscriber))
    }

    /// `(level, path, status)` of each access-log line, in order.
    fn requests(&self) -> Vec<(String, String, String)> {
        let text = String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned();
        text.lines()
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
    fn levels_of(&self, path: &str) -> Vec<String> {
        self.requests()
            .into_iter()
            .filter(|(_, logged, _)| logged == path)
            .map(|(level, _, _)| level)
            .collect()
    }
}

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Logs {
    type Writer = Logs;

    fn make_writer(&'a self) -> Logs {
        self.clone()
    }
}

async fn spawn_dev_app() -> TestApp {
    spawn_app_with(|c| {
        c.provider_id = "dev".into();
        c.provider_blocks = Some("[[provider]]\nid = \"dev\"\nkind = \"dev\"\n".into());
    })
    .await
}

/// The sign-in page, its stylesheet, and a sign-in through the development provider's form.
async fn sign_in_as_a_browser_does(app: &TestApp) {
    let page = app.browser.navigate(&app.url("/oauth2/sign_in")).await;
    assert_eq!(page.status(), StatusCode::OK);
    let css = app
        .browser
        .navigate(&app.url("/oauth2/static/portcullis.css"))
        .await;
    assert_eq!(css.status(), StatusCode::OK);
    let start = app.browser.navigate(&app.start_url("/")).await;
    let authorize = Url::parse(&location(&start)).unwrap();
    let form = app.browser.navigate(authorize.as_str()).await;
    assert_eq!(form.status(), StatusCode::OK);
    let mut fields: Vec<(String, String)> = authorize.query_pairs().into_owned().collect();
    fields.push(("email".into(), "ada@example.com".into()));
    let submitted = app
        .client
        .post(app.url("/oauth2/dev/authorize"))
        .form(&fields)
        .send()
        .await
        .unwrap();
    let callback = app.browser.navigate(&location(&submitted)).await;
    assert_redirects_to(&callback, "/");
}

#[tokio::test]
async fn static_files_and_the_gateways_calls_to_its_dev_provider_are_logged_at_debug() {
    let (logs, _guard) = Logs::capture();
    let app = spawn_dev_app().await;

    sign_in_as_a_browser_does(&app).await;

    for path in [
        "/oauth2/static/portcullis.css",
        "/oauth2/dev/.well-known/openid-configuration",
        "/oauth2/dev/jwks",
        "/oauth2/dev/token",
    ] {
        let levels = logs.levels_of(path);
        assert!(
            !levels.is_empty() && levels.iter().all(|level| level == "DEBUG"),
            "{path}: {levels:?} in {:?}",
            logs.requests()
        );
    }
    // What the browser was sent to, and the sign-in itself, stay at info.
    for path in [
        "/oauth2/sign_in",
        "/oauth2/start",
        "/oauth2/dev/authorize",
        "/oauth2/callback/dev",
    ] {
        let levels = logs.levels_of(path);
        assert!(
            !levels.is_empty() && levels.iter().all(|level| level == "INFO"),
            "{path}: {levels:?} in {:?}",
            logs.requests()
        );
    }
}

#[tokio::test]
async fn a_failed_static_file_or_dev_token_request_is_logged_at_info() {
    let (logs, _guard) = Logs::capture();
    let app = spawn_dev_app().await;

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
        logs.levels_of("/oauth2/static/no-such-file.css"),
        ["INFO"],
        "{:?}",
        logs.requests()
    );
    let token_lines: Vec<_> = logs
        .requests()
        .into_iter()
        .filter(|(_, path, status)| path == "/oauth2/dev/token" && status.starts_with('4'))
        .collect();
    assert_eq!(token_lines.len(), 1, "{:?}", logs.requests());
    assert_eq!(token_lines[0].0, "INFO");
}
