//! What the local-account tests share: a users file in a temporary directory of its own
//! (rewritten atomically, removed when the test ends), argon2id hashes made with cheap
//! parameters, a gateway with a `kind = "local"` provider next to the mock OpenID one, and
//! the requests a browser's form and a program's token call make.

use std::collections::HashMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use argon2::password_hash::{PasswordHasher as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use reqwest::header::CONTENT_TYPE;
use reqwest::{Response, StatusCode};
use serde_json::Value;

use crate::helpers::{spawn_app_with, toml_str, Browser, TestApp, TestConfig};

/// The local provider's id: its form posts to `/oauth2/local/local`.
pub const PROVIDER: &str = "local";
/// Every test user's password unless the test gives another.
pub const PASSWORD: &str = "correct horse battery staple";
pub const INCORRECT: &str = "Incorrect username or password";
pub const INACTIVE: &str = "Inactive user";

/// One `[[user]]` of the users file.
#[derive(Clone, Debug)]
pub struct User {
    pub username: String,
    pub email: String,
    pub name: String,
    pub groups: Vec<String>,
    pub password: String,
    pub disabled: bool,
}

impl User {
    /// `username@example.com` in group `staff`, with [`PASSWORD`].
    pub fn new(username: &str) -> User {
        User {
            username: username.to_owned(),
            email: format!("{username}@example.com"),
            name: format!("{username} Example"),
            groups: vec!["staff".to_owned()],
            password: PASSWORD.to_owned(),
            disabled: false,
        }
    }

    pub fn disabled(mut self) -> User {
        self.disabled = true;
        self
    }

    pub fn with_password(mut self, password: &str) -> User {
        self.password = password.to_owned();
        self
    }
}

/// An argon2id PHC string of `password` with cheap parameters (m=256 KiB, t=1, p=1): the
/// gateway verifies with the parameters the hash names, and a debug build is slow with the
/// defaults.
pub fn hash_password(password: &str) -> String {
    let params = Params::new(256, 1, 1, None).unwrap();
    let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>()).unwrap();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password(password.as_bytes(), &salt)
        .unwrap()
        .to_string()
}

/// The users file for `users`.
pub fn render_users(users: &[User]) -> String {
    let mut toml = String::new();
    for user in users {
        let groups: Vec<String> = user.groups.iter().map(|g| toml_str(g)).collect();
        toml.push_str(&format!(
            "[[user]]\nusername = {}\nemail = {}\nname = {}\ngroups = [{}]\npassword_hash = {}\n\
             disabled = {}\n\n",
            toml_str(&user.username),
            toml_str(&user.email),
            toml_str(&user.name),
            groups.join(", "),
            toml_str(&hash_password(&user.password)),
            user.disabled,
        ));
    }
    toml
}

/// A users file in a directory of its own under the system's temporary directory; the
/// directory is removed when this is dropped.
pub struct UsersFile {
    dir: PathBuf,
    path: PathBuf,
}

impl UsersFile {
    pub fn create(users: &[User]) -> UsersFile {
        UsersFile::create_raw(&render_users(users))
    }

    /// A users file holding exactly `source`.
    pub fn create_raw(source: &str) -> UsersFile {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "portcullis-users-{}-{}-{:08x}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed),
            rand::random::<u32>()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let file = UsersFile {
            path: dir.join("users.toml"),
            dir,
        };
        file.write_raw(source);
        file
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The directory the file is in (for a `providers.toml` next to it).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Replaces the file's content with `users`, in one rename, so the gateway never reads
    /// half a file.
    pub fn write(&self, users: &[User]) {
        self.write_raw(&render_users(users));
    }

    pub fn write_raw(&self, source: &str) {
        let next = self.dir.join("users.toml.next");
        std::fs::write(&next, source).unwrap();
        std::fs::rename(&next, &self.path).unwrap();
    }
}

impl Drop for UsersFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The `[[provider]]` block of the local provider reading `users_file`, with `extra` lines
/// (`password_grant = true`, limits, lifetimes…).
pub fn provider_block(id: &str, users_file: &Path, extra: &str) -> String {
    format!(
        "[[provider]]\nid = {}\nkind = \"local\"\nname = \"Staff account\"\nusers_file = {}\n{}\n",
        toml_str(id),
        toml_str(&users_file.display().to_string()),
        extra.trim_end(),
    )
}

/// A gateway with the local provider (and the mock OpenID one) and its users file. Derefs
/// to the [`TestApp`].
pub struct LocalApp {
    pub app: TestApp,
    pub users: UsersFile,
}

impl std::ops::Deref for LocalApp {
    type Target = TestApp;

    fn deref(&self) -> &TestApp {
        &self.app
    }
}

/// A gateway whose local provider has `users` and the `extra` provider lines.
pub async fn spawn_local(users: &[User], extra: &str) -> LocalApp {
    spawn_local_with(users, extra, |_| {}).await
}

/// Like [`spawn_local`], with `change` applied to the rest of the test configuration.
pub async fn spawn_local_with(
    users: &[User],
    extra: &str,
    change: impl FnOnce(&mut TestConfig),
) -> LocalApp {
    let file = UsersFile::create(users);
    let block = provider_block(PROVIDER, file.path(), extra);
    let app = spawn_app_with(|cfg| {
        change(cfg);
        cfg.extra_toml.push('\n');
        cfg.extra_toml.push_str(&block);
    })
    .await;
    LocalApp { app, users: file }
}

/// `password_grant = true` and whatever else the test needs.
pub fn granting(extra: &str) -> String {
    format!("password_grant = true\n{extra}")
}

/// Starts another gateway on a fresh port from `toml` (a variant of a test gateway's
/// `providers.toml`, so the same public URL) with `session_secret`, and returns its address
/// once it is ready. It runs until the test's runtime ends.
pub async fn spawn_gateway(app: &TestApp, toml: &str, session_secret: &str) -> String {
    let env = HashMap::from([
        (
            "PORTCULLIS_TEST_SECRET".to_owned(),
            session_secret.to_owned(),
        ),
        (
            "MOCK_CLIENT_SECRET".to_owned(),
            app.config.client_secret.clone(),
        ),
    ]);
    let config =
        portcullis::config::Config::parse(toml, "providers.toml", &|name| env.get(name).cloned())
            .unwrap_or_else(|errors| panic!("config rejected:\n{errors}\n{toml}"));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    let gateway = portcullis::startup::Application::with_listener(config, listener)
        .await
        .unwrap_or_else(|err| panic!("the other gateway did not start: {err:#}"));
    tokio::spawn(gateway.run_until_stopped());
    let ready = format!("{address}/ready");
    poll_until("the other gateway is ready", || async {
        reqwest::get(&ready)
            .await
            .is_ok_and(|resp| resp.status() == StatusCode::OK)
    })
    .await;
    address
}

/// Tries `condition` until it holds, for at most 15 s (the users file is re-read within
/// 5 s); fails the test naming `what` otherwise.
pub async fn poll_until<F, Fut>(what: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        if condition().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting until {what}");
}

/// The `value` of the `<input>` named `name` in `page`.
pub fn input_value(page: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\"");
    let start = page.find(&marker)?;
    let tag_start = page[..start].rfind('<')?;
    let tag_end = start + page[start..].find('>')?;
    let tag = &page[tag_start..tag_end];
    let value = tag.split("value=\"").nth(1)?;
    Some(value.split('"').next()?.to_owned())
}

/// The sign-in page as `browser` sees it at `/oauth2/sign_in?rd={rd}`.
pub struct SignInPage {
    pub status: StatusCode,
    pub set_cookies: Vec<String>,
    pub body: String,
}

impl SignInPage {
    pub fn csrf_token(&self) -> String {
        input_value(&self.body, "csrf_token")
            .unwrap_or_else(|| panic!("no csrf_token in the page:\n{}", self.body))
    }
}

pub async fn open_sign_in(app: &TestApp, browser: &Browser, rd: &str) -> SignInPage {
    let mut url = url::Url::parse(&app.url("/oauth2/sign_in")).unwrap();
    url.query_pairs_mut().append_pair("rd", rd);
    let resp = browser.navigate(url.as_str()).await;
    SignInPage {
        status: resp.status(),
        set_cookies: crate::helpers::set_cookies(&resp),
        body: resp.text().await.unwrap(),
    }
}

/// `POST /oauth2/local/local` from `browser` with exactly `fields` and `headers`.
pub async fn post_form(
    app: &TestApp,
    browser: &Browser,
    fields: &[(&str, &str)],
    headers: &[(&str, &str)],
) -> Response {
    let mut request = browser
        .client
        .post(app.url(&format!("/oauth2/local/{PROVIDER}")))
        .header(reqwest::header::ACCEPT, crate::helpers::BROWSER_ACCEPT)
        .form(fields);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap()
}

/// What a browser does: opens the sign-in page for `rd`, then sends its form with
/// `username` and `password` (and `headers`, e.g. `X-Forwarded-For`).
pub async fn submit_with(
    app: &TestApp,
    browser: &Browser,
    username: &str,
    password: &str,
    rd: &str,
    headers: &[(&str, &str)],
) -> Response {
    let page = open_sign_in(app, browser, rd).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let token = page.csrf_token();
    let fields = [
        ("username", username),
        ("password", password),
        ("csrf_token", token.as_str()),
        ("rd", rd),
    ];
    post_form(app, browser, &fields, headers).await
}

pub async fn submit(
    app: &TestApp,
    browser: &Browser,
    username: &str,
    password: &str,
    rd: &str,
) -> Response {
    submit_with(app, browser, username, password, rd, &[]).await
}

/// Whether `browser` is signed in: a program's request to the echo upstream gets through.
pub async fn signed_in(app: &TestApp, browser: &Browser) -> bool {
    browser
        .client
        .get(app.url("/whoami"))
        .send()
        .await
        .unwrap()
        .status()
        == StatusCode::OK
}

/// `POST {base}/oauth2/token` with the form `fields`, as a program (no cookies).
pub async fn token_request_at(base: &str, fields: &[(&str, &str)]) -> Response {
    reqwest::Client::new()
        .post(format!("{base}/oauth2/token"))
        .form(fields)
        .send()
        .await
        .unwrap()
}

pub async fn token_request(app: &TestApp, fields: &[(&str, &str)]) -> Response {
    token_request_at(&app.address, fields).await
}

/// The password grant's answer for `username` at `base`, which must be a success.
pub async fn tokens_at(base: &str, username: &str, password: &str) -> Value {
    let resp = token_request_at(
        base,
        &[
            ("grant_type", "password"),
            ("username", username),
            ("password", password),
        ],
    )
    .await;
    let status = resp.status();
    let body = resp.text().await.unwrap();
    assert_eq!(status, StatusCode::OK, "the password grant failed: {body}");
    serde_json::from_str(&body).unwrap()
}

pub async fn tokens(app: &TestApp, username: &str) -> Value {
    tokens_at(&app.address, username, PASSWORD).await
}

/// `access_token` of a token answer.
pub fn access_token(tokens: &Value) -> String {
    tokens["access_token"].as_str().unwrap().to_owned()
}

/// The refresh grant with `refresh_token`.
pub async fn refresh(app: &TestApp, refresh_token: &str) -> Response {
    token_request(
        app,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ],
    )
    .await
}

/// An RFC 6749 §5.2 error answer: its status, `error` and `error_description`.
pub async fn oauth_error(resp: Response) -> (StatusCode, String, String) {
    let status = resp.status();
    let is_json = resp
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let body = resp.text().await.unwrap();
    assert!(is_json, "{status}: not a JSON answer: {body}");
    let json: Value = serde_json::from_str(&body).unwrap();
    let text = |key: &str| json[key].as_str().unwrap_or_default().to_owned();
    (status, text("error"), text("error_description"))
}

/// `GET {base}{path}` with `Authorization: Bearer {token}`, as a program.
pub async fn with_bearer(base: &str, path: &str, token: &str) -> Response {
    reqwest::Client::new()
        .get(format!("{base}{path}"))
        .header(reqwest::header::ACCEPT, "application/json")
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

/// Whether `token` is accepted at `base`'s `/oauth2/userinfo`.
pub async fn accepted_at(base: &str, token: &str) -> bool {
    with_bearer(base, "/oauth2/userinfo", token)
        .await
        .status()
        .is_success()
}

/// Asserts a 401 with `WWW-Authenticate: Bearer error="invalid_token"` (RFC 6750 §3.1).
#[track_caller]
pub fn assert_invalid_token(resp: &Response) {
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "{}", resp.url());
    let challenge = resp
        .headers()
        .get(reqwest::header::WWW_AUTHENTICATE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(
        challenge.starts_with("Bearer") && challenge.contains("error=\"invalid_token\""),
        "WWW-Authenticate was {challenge:?}"
    );
}

/// The `Retry-After` seconds of `resp`, which must have one.
#[track_caller]
pub fn retry_after(resp: &Response) -> u64 {
    resp.headers()
        .get(reqwest::header::RETRY_AFTER)
        .unwrap_or_else(|| panic!("{} without Retry-After", resp.status()))
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}
