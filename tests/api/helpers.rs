//! The test harness: [`spawn_app`] starts a mock OpenID provider, an echo upstream and the
//! gateway on port 0, and returns a [`TestApp`] with browser-like clients and helpers to
//! walk the login flow by hand.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use reqwest::cookie::{CookieStore as _, Jar};
use reqwest::header::{ACCEPT, LOCATION, SET_COOKIE};
use reqwest::{Client, Response, StatusCode};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpSocket, TcpStream};
use url::Url;

use crate::echo_upstream::{EchoUpstream, EchoedRequest};
use crate::mock_provider::{Behaviour, ClientRegistration, MockProvider};

/// The `Accept` header a browser sends on a navigation; the gateway treats such a request
/// as a person (redirect to sign-in) rather than a program (401 JSON).
pub const BROWSER_ACCEPT: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

/// Session secret of every test gateway (hex, 32 bytes).
pub const TEST_SESSION_SECRET: &str =
    "8f3c1a9e5b7d2f4608a1c3e5f7092b4d6e8fa1c3b5d7e9f0123456789abcdef0";

/// What the test gateway is configured with. [`spawn_app_with`] lets a test change it
/// before anything starts.
#[derive(Clone, Debug)]
pub struct TestConfig {
    /// `[[provider]] id`; appears in `/oauth2/start?provider=` and the callback path.
    pub provider_id: String,
    pub client_id: String,
    pub client_secret: String,
    /// `token_endpoint_auth`; `None` leaves it out (the gateway's default, basic).
    pub token_endpoint_auth: Option<String>,
    pub scopes: Option<Vec<String>>,
    /// Written as `${PORTCULLIS_TEST_SECRET}` and resolved from the test's env map.
    pub session_secret: String,
    pub previous_secrets: Vec<String>,
    pub cookie_name: Option<String>,
    pub lifetime: Option<String>,
    pub auto_redirect: bool,
    pub emails: Vec<String>,
    pub email_domains: Vec<String>,
    /// `timeout` of every `[[upstream]]`.
    pub upstream_timeout: String,
    /// Adds `[[upstream]] path = "/public"`, `public = true`, to the echo upstream.
    pub public_upstream: bool,
    /// Adds `[[upstream]] path = "/down"` to a loopback port where nothing listens.
    pub down_upstream: bool,
    pub pass_access_token: bool,
    pub pass_authorization_header: bool,
    /// Start the mock provider before the gateway; when false its port is reserved but
    /// refuses connections until `app.provider.serve()`.
    pub provider_running: bool,
    /// Wait for `/ready` to answer 200 before returning (only when the provider runs).
    pub wait_until_ready: bool,
    /// The mock provider's behaviour from the start (discovery happens at start-up).
    pub behaviour: Behaviour,
    /// Extra lines inside `[server]`, `[session]`, the `[[provider]]` and `[authorize]`.
    pub server_extra: String,
    pub session_extra: String,
    pub provider_extra: String,
    pub authorize_extra: String,
    /// Appended to the generated `providers.toml` (e.g. more `[[upstream]]` blocks), with
    /// `{echo}` replaced by the echo upstream's URL and `{refused}` by the refusing one.
    pub extra_toml: String,
    /// Extra variables for `${VAR}` substitution.
    pub env: HashMap<String, String>,
    /// Replaces the generated `[[provider]]` (and `provider_extra`): one or more blocks, with
    /// `{issuer}` replaced by the mock provider's issuer (tests/api/presets).
    pub provider_blocks: Option<String>,
    /// Write `providers.toml` to a file the gateway reloads from (`TestApp::reload_with`).
    pub reloadable: bool,
}

impl Default for TestConfig {
    fn default() -> Self {
        TestConfig {
            provider_id: "mock".to_owned(),
            client_id: "portcullis-test".to_owned(),
            client_secret: "mock-client-secret-0123456789".to_owned(),
            token_endpoint_auth: None,
            scopes: None,
            session_secret: TEST_SESSION_SECRET.to_owned(),
            previous_secrets: Vec::new(),
            cookie_name: None,
            lifetime: None,
            auto_redirect: false,
            emails: Vec::new(),
            email_domains: vec!["example.com".to_owned()],
            upstream_timeout: "1s".to_owned(),
            public_upstream: true,
            down_upstream: true,
            pass_access_token: false,
            pass_authorization_header: false,
            provider_running: true,
            wait_until_ready: true,
            behaviour: Behaviour::default(),
            server_extra: String::new(),
            session_extra: String::new(),
            provider_extra: String::new(),
            authorize_extra: String::new(),
            extra_toml: String::new(),
            env: HashMap::new(),
            provider_blocks: None,
            reloadable: false,
        }
    }
}

impl TestConfig {
    /// The session cookie name the gateway will use.
    pub fn cookie_name(&self) -> &str {
        self.cookie_name.as_deref().unwrap_or("_portcullis")
    }
}

/// Where the pieces of a test deployment live, for rendering `providers.toml`.
pub struct Addresses<'a> {
    pub gateway: SocketAddr,
    pub issuer: &'a str,
    pub upstream: &'a str,
    pub refused: SocketAddr,
}

/// A TOML basic string (JSON escaping is a subset TOML accepts).
pub fn toml_str(value: &str) -> String {
    serde_json::to_string(value).expect("strings serialize")
}

fn toml_list(values: &[String]) -> String {
    let items: Vec<String> = values.iter().map(|v| toml_str(v)).collect();
    format!("[{}]", items.join(", "))
}

/// The `providers.toml` for `cfg` at `at`.
pub fn render_toml(cfg: &TestConfig, at: &Addresses<'_>) -> String {
    let mut toml = format!(
        "[server]\nlisten = {listen}\npublic_url = {public}\n",
        listen = toml_str(&at.gateway.to_string()),
        public = toml_str(&format!("http://{}", at.gateway)),
    );
    if cfg.auto_redirect {
        toml.push_str("auto_redirect = true\n");
    }
    push_lines(&mut toml, &cfg.server_extra);
    toml.push_str("\n[session]\nsecret = \"${PORTCULLIS_TEST_SECRET}\"\n");
    push_lines(&mut toml, &cfg.session_extra);
    if !cfg.previous_secrets.is_empty() {
        toml.push_str(&format!(
            "previous_secrets = {}\n",
            toml_list(&cfg.previous_secrets)
        ));
    }
    if let Some(name) = &cfg.cookie_name {
        toml.push_str(&format!("cookie_name = {}\n", toml_str(name)));
    }
    if let Some(lifetime) = &cfg.lifetime {
        toml.push_str(&format!("lifetime = {}\n", toml_str(lifetime)));
    }
    if let Some(blocks) = &cfg.provider_blocks {
        toml.push('\n');
        toml.push_str(&blocks.replace("{issuer}", at.issuer));
        toml.push('\n');
    } else {
        push_provider(&mut toml, cfg, at);
    }
    toml.push_str("\n[authorize]\n");
    push_lines(&mut toml, &cfg.authorize_extra);
    if !cfg.emails.is_empty() {
        toml.push_str(&format!("emails = {}\n", toml_list(&cfg.emails)));
    }
    if !cfg.email_domains.is_empty() {
        toml.push_str(&format!(
            "email_domains = {}\n",
            toml_list(&cfg.email_domains)
        ));
    }
    let upstream = |path: &str, url: &str, public: bool| {
        let mut block = format!(
            "\n[[upstream]]\npath = {}\nurl = {}\ntimeout = {}\n",
            toml_str(path),
            toml_str(url),
            toml_str(&cfg.upstream_timeout)
        );
        if public {
            block.push_str("public = true\n");
        }
        if cfg.pass_access_token {
            block.push_str("pass_access_token = true\n");
        }
        if cfg.pass_authorization_header {
            block.push_str("pass_authorization_header = true\n");
        }
        block
    };
    toml.push_str(&upstream("/", at.upstream, false));
    if cfg.public_upstream {
        toml.push_str(&upstream("/public", at.upstream, true));
    }
    if cfg.down_upstream {
        toml.push_str(&upstream("/down", &format!("http://{}", at.refused), false));
    }
    if !cfg.extra_toml.is_empty() {
        toml.push('\n');
        toml.push_str(
            &cfg.extra_toml
                .replace("{echo}", at.upstream)
                .replace("{refused}", &format!("http://{}", at.refused)),
        );
        toml.push('\n');
    }
    toml
}

/// The default `[[provider]]`: the mock OpenID provider.
fn push_provider(toml: &mut String, cfg: &TestConfig, at: &Addresses<'_>) {
    toml.push_str(&format!(
        "\n[[provider]]\nid = {id}\nkind = \"oidc\"\nname = \"Mock OpenID\"\nissuer = {issuer}\n\
         client_id = {client_id}\nclient_secret = \"${{MOCK_CLIENT_SECRET}}\"\n",
        id = toml_str(&cfg.provider_id),
        issuer = toml_str(at.issuer),
        client_id = toml_str(&cfg.client_id),
    ));
    if let Some(method) = &cfg.token_endpoint_auth {
        toml.push_str(&format!("token_endpoint_auth = {}\n", toml_str(method)));
    }
    if let Some(scopes) = &cfg.scopes {
        toml.push_str(&format!("scopes = {}\n", toml_list(scopes)));
    }
    push_lines(toml, &cfg.provider_extra);
}

fn push_lines(toml: &mut String, lines: &str) {
    if !lines.is_empty() {
        toml.push_str(lines.trim_end());
        toml.push('\n');
    }
}

/// One browser: a cookie-aware client that does not follow redirects, and its jar.
#[derive(Clone)]
pub struct Browser {
    pub client: Client,
    pub jar: Arc<Jar>,
}

impl Browser {
    pub fn new() -> Browser {
        let jar = Arc::new(Jar::default());
        let client = Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .cookie_provider(jar.clone())
            .timeout(Duration::from_secs(20))
            .build()
            .expect("build the test client");
        Browser { client, jar }
    }

    /// The cookies this browser would send to `url`, as `(name, value)` pairs.
    pub fn cookies(&self, url: &str) -> Vec<(String, String)> {
        let url = Url::parse(url).expect("cookie URL parses");
        let Some(header) = self.jar.cookies(&url) else {
            return Vec::new();
        };
        header
            .to_str()
            .expect("cookie header is ASCII")
            .split(';')
            .filter_map(|pair| {
                let (name, value) = pair.trim().split_once('=')?;
                Some((name.to_owned(), value.to_owned()))
            })
            .collect()
    }

    /// Stores `name=value` for `url` as the server had set it (path `/`).
    pub fn set_cookie(&self, url: &str, name: &str, value: &str) {
        let url = Url::parse(url).expect("cookie URL parses");
        self.jar
            .add_cookie_str(&format!("{name}={value}; Path=/"), &url);
    }

    /// A browser navigation (`Accept: text/html…`) to an absolute URL.
    pub async fn navigate(&self, url: &str) -> Response {
        self.client
            .get(url)
            .header(ACCEPT, BROWSER_ACCEPT)
            .send()
            .await
            .expect("navigation request")
    }
}

impl Default for Browser {
    fn default() -> Self {
        Browser::new()
    }
}

/// A running gateway with its mock provider and echo upstream.
pub struct TestApp {
    /// `http://127.0.0.1:PORT` (also the configured `public_url`).
    pub address: String,
    pub addr: SocketAddr,
    /// The default browser; `client` and `jar` are its parts.
    pub browser: Browser,
    pub client: Client,
    pub jar: Arc<Jar>,
    /// A second, independent browser (its own cookies).
    pub other_browser: Browser,
    pub provider: MockProvider,
    pub upstream: EchoUpstream,
    /// The `providers.toml` the gateway runs on.
    pub toml: String,
    pub config: TestConfig,
    /// The validated configuration the gateway was started with.
    pub gateway_config: portcullis::config::Config,
    /// The address `/down` points at: bound, not listening, so connections are refused.
    pub refused_addr: SocketAddr,
    /// Where `server.metrics_listen` serves `/metrics`, when the test set it.
    pub metrics_addr: Option<SocketAddr>,
    /// With [`TestConfig::reloadable`]: the file the gateway reloads from, and how.
    pub reload: Option<Reloadable>,
    _refused: TcpSocket,
}

/// A reloadable test gateway's configuration file (removed with its directory on drop), the
/// variables its `${VAR}`s resolve to, and its reloader.
pub struct Reloadable {
    pub file: std::path::PathBuf,
    pub reloader: portcullis::startup::Reloader,
    env: Arc<std::sync::Mutex<HashMap<String, String>>>,
    issuer: String,
    upstream: String,
}

impl Drop for Reloadable {
    fn drop(&mut self) {
        if let Some(dir) = self.file.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// A gateway with the default [`TestConfig`], ready to serve.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// A gateway with `change` applied to the default [`TestConfig`].
pub async fn spawn_app_with(change: impl FnOnce(&mut TestConfig)) -> TestApp {
    match try_spawn_app_with(change).await {
        Ok(app) => app,
        Err(error) => panic!("the test gateway did not start: {error}"),
    }
}

/// Like [`spawn_app_with`], but a configuration or start-up error is returned.
pub async fn try_spawn_app_with(change: impl FnOnce(&mut TestConfig)) -> Result<TestApp, String> {
    init_tracing();
    let mut cfg = TestConfig::default();
    change(&mut cfg);

    let registration = ClientRegistration {
        client_id: cfg.client_id.clone(),
        client_secret: cfg.client_secret.clone(),
    };
    let provider = MockProvider::reserve(registration).await;
    let initial = cfg.behaviour.clone();
    provider.behave(|b| *b = initial);
    if cfg.provider_running {
        provider.serve().await;
    }
    let upstream = EchoUpstream::start().await;
    let refused = TcpSocket::new_v4().expect("socket");
    refused
        .bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .expect("bind a refusing port");
    let refused_addr = refused.local_addr().expect("refusing port address");

    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the gateway port");
    let gateway = listener.local_addr().expect("gateway address");
    let address = format!("http://{gateway}");
    provider.register_redirect_uri(&format!("{address}/oauth2/callback/{}", cfg.provider_id));

    let issuer = provider.issuer();
    let upstream_url = upstream.url();
    let toml = render_toml(
        &cfg,
        &Addresses {
            gateway,
            issuer: &issuer,
            upstream: &upstream_url,
            refused: refused_addr,
        },
    );
    let env = test_env(&cfg);

    let config =
        portcullis::config::Config::parse(&toml, "providers.toml", &|name| env.get(name).cloned())
            .map_err(|errors| {
                format!("config rejected:\n{errors}\n--- providers.toml ---\n{toml}")
            })?;
    let gateway_config = config.clone();
    let mut app = portcullis::startup::Application::with_listener(config, listener)
        .await
        .map_err(|error| format!("start-up failed: {error:#}"))?;
    let mut reload = None;
    if cfg.reloadable {
        let dir = std::env::temp_dir().join(format!(
            "portcullis-reload-{}-{}",
            std::process::id(),
            gateway.port()
        ));
        std::fs::create_dir_all(&dir).expect("a directory for providers.toml");
        let file = dir.join("providers.toml");
        std::fs::write(&file, &toml).expect("write providers.toml");
        let shared = Arc::new(std::sync::Mutex::new(env));
        let lookup = Arc::clone(&shared);
        app = app.reloading_from(
            portcullis::startup::ConfigSource::file(&file)
                .with_env(move |name| lookup.lock().unwrap().get(name).cloned()),
        );
        reload = Some(Reloadable {
            file,
            reloader: app.reloader().expect("a reloader"),
            env: shared,
            issuer: issuer.clone(),
            upstream: upstream_url.clone(),
        });
    }
    let addr = app.local_addr();
    let metrics_addr = app.metrics_addr();
    tokio::spawn(app.run_until_stopped());

    let browser = Browser::new();
    let test_app = TestApp {
        address,
        addr,
        client: browser.client.clone(),
        jar: browser.jar.clone(),
        browser,
        other_browser: Browser::new(),
        provider,
        upstream,
        toml,
        config: cfg,
        gateway_config,
        refused_addr,
        metrics_addr,
        reload,
        _refused: refused,
    };
    if test_app.config.provider_running && test_app.config.wait_until_ready {
        test_app.wait_until_ready().await;
    }
    Ok(test_app)
}

/// The `${VAR}`s of the generated `providers.toml`.
fn test_env(cfg: &TestConfig) -> HashMap<String, String> {
    let mut env = cfg.env.clone();
    env.insert(
        "PORTCULLIS_TEST_SECRET".to_owned(),
        cfg.session_secret.clone(),
    );
    env.insert("MOCK_CLIENT_SECRET".to_owned(), cfg.client_secret.clone());
    env
}

/// Gateway logs in test output when `RUST_LOG` is set (`cargo test -- --nocapture`).
fn init_tracing() {
    if std::env::var_os("RUST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
    }
}

impl TestApp {
    /// Applies `change` to the configuration, writes the file again and reloads it (the
    /// gateway must be [`TestConfig::reloadable`]).
    pub async fn reload_with(
        &mut self,
        change: impl FnOnce(&mut TestConfig),
    ) -> Result<(), portcullis::startup::ReloadError> {
        change(&mut self.config);
        let reload = self.reload.as_ref().expect("a reloadable gateway");
        let toml = render_toml(
            &self.config,
            &Addresses {
                gateway: self.addr,
                issuer: &reload.issuer,
                upstream: &reload.upstream,
                refused: self.refused_addr,
            },
        );
        *reload.env.lock().unwrap() = test_env(&self.config);
        std::fs::write(&reload.file, &toml).expect("write providers.toml");
        self.toml = toml;
        reload.reloader.reload().await
    }

    /// `{address}{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// The callback URL registered at the provider.
    pub fn callback_url(&self) -> String {
        self.url(&format!("/oauth2/callback/{}", self.config.provider_id))
    }

    pub fn cookie_name(&self) -> &str {
        self.config.cookie_name()
    }

    /// Polls `/ready` until it answers 200 (at most 400 tries, 25 ms apart).
    pub async fn wait_until_ready(&self) {
        let probe = Client::new();
        let mut last = String::from("no answer");
        for _ in 0..400 {
            match probe.get(self.url("/ready")).send().await {
                Ok(resp) if resp.status() == StatusCode::OK => return,
                Ok(resp) => {
                    last = format!(
                        "{} {}",
                        resp.status(),
                        resp.text().await.unwrap_or_default()
                    );
                }
                Err(error) => last = error.to_string(),
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("the gateway never became ready; last /ready answer: {last}");
    }

    /// GET `path` with the default browser's cookies, as a program would (no `Accept`).
    pub async fn get(&self, path: &str) -> Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("GET request")
    }

    /// A browser navigation (`Accept: text/html…`) to `path` with the default browser.
    pub async fn navigate(&self, path: &str) -> Response {
        self.browser.navigate(&self.url(path)).await
    }

    /// A request builder on the default browser for `path`.
    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client.request(method, self.url(path))
    }

    /// `/oauth2/start?provider={id}&rd={rd}`.
    pub fn start_url(&self, rd: &str) -> String {
        let mut url = Url::parse(&self.url("/oauth2/start")).expect("start URL");
        url.query_pairs_mut()
            .append_pair("provider", &self.config.provider_id)
            .append_pair("rd", rd);
        url.to_string()
    }

    /// Walks `/oauth2/start` and the provider's authorization endpoint in `browser`, and
    /// returns the callback URL the provider redirected to (not yet visited).
    pub async fn begin_login(&self, browser: &Browser, rd: &str) -> String {
        let start = browser.navigate(&self.start_url(rd)).await;
        assert_redirects_to(&start, &self.provider.url("/authorize"));
        let authorize = browser.navigate(&location(&start)).await;
        assert_redirects_to(&authorize, &self.callback_url());
        location(&authorize)
    }

    /// Visits the callback URL in `browser` and returns the gateway's answer.
    pub async fn finish_login(&self, browser: &Browser, callback_url: &str) -> Response {
        browser.navigate(callback_url).await
    }

    /// Visits the callback URL in `browser` as a program would (no `Accept: text/html`), so
    /// a rejection comes back as JSON whose `error` names the reason.
    pub async fn finish_login_as_program(&self, browser: &Browser, callback_url: &str) -> Response {
        browser
            .client
            .get(callback_url)
            .send()
            .await
            .expect("callback request")
    }

    /// A session codec with the gateway's secrets, to forge cookies the gateway would accept
    /// (or reject) for tests of expiry and tampering.
    pub fn session_codec(&self) -> portcullis::session::SessionCodec {
        let session = &self.gateway_config.session;
        let previous: Vec<&[u8]> = session
            .previous_secrets
            .iter()
            .map(|s| s.0.as_slice())
            .collect();
        let secret = session.secret.as_ref().expect("tests configure a secret");
        portcullis::session::SessionCodec::new(&secret.0, &previous)
    }

    /// The whole login in `browser`: start → provider → callback. Returns the callback's
    /// answer (a 302 to `rd` when the login succeeded).
    pub async fn login(&self, browser: &Browser, rd: &str) -> Response {
        let callback = self.begin_login(browser, rd).await;
        self.finish_login(browser, &callback).await
    }

    /// Logs the default browser in and checks that it worked.
    pub async fn sign_in(&self) {
        let resp = self.login(&self.browser, "/").await;
        assert_redirects_to(&resp, "/");
        assert!(
            !self.session_cookies(&self.browser).is_empty(),
            "no session cookie after a successful login"
        );
    }

    /// The session cookie (and its chunks) `browser` holds for the gateway.
    pub fn session_cookies(&self, browser: &Browser) -> Vec<(String, String)> {
        let name = self.cookie_name();
        browser
            .cookies(&self.address)
            .into_iter()
            .filter(|(cookie, _)| is_session_cookie_name(cookie, name))
            .collect()
    }

    /// A new browser holding exactly `cookies` for the gateway.
    /// A browser holding `session`, sealed with the gateway's own codec, as if it had
    /// signed in (for sessions a login through the mock provider cannot produce).
    pub fn browser_with_session(&self, session: &portcullis::session::Session) -> Browser {
        let sealed = session
            .seal(&self.session_codec())
            .expect("seal the session");
        self.browser_with_cookies(&[(self.cookie_name().to_owned(), sealed)])
    }

    pub fn browser_with_cookies(&self, cookies: &[(String, String)]) -> Browser {
        let browser = Browser::new();
        for (name, value) in cookies {
            browser.set_cookie(&self.address, name, value);
        }
        browser
    }

    /// Opens a WebSocket handshake to `path` on a raw connection (so the test can then
    /// write and read frames) and returns the status code, the response head and the stream.
    pub async fn websocket_handshake(
        &self,
        path: &str,
        cookie: Option<&str>,
    ) -> (u16, String, TcpStream) {
        let mut stream = TcpStream::connect(self.addr).await.expect("connect");
        let mut request = format!(
            "GET {path} HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: {WEBSOCKET_KEY}\r\nSec-WebSocket-Version: 13\r\n",
            self.addr
        );
        if let Some(cookie) = cookie {
            request.push_str(&format!("Cookie: {cookie}\r\n"));
        }
        request.push_str("\r\n");
        stream.write_all(request.as_bytes()).await.expect("write");
        let head = read_response_head(&mut stream).await;
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|code| code.parse().ok())
            .unwrap_or(0);
        (status, head, stream)
    }
}

impl TestApp {
    /// Sends `head` (request line and header lines, without the final blank line) and
    /// `body` on a fresh connection exactly as written, so header case and odd names reach
    /// the gateway untouched, and returns the status code and the (de-chunked) body. The
    /// request is sent with `Connection: close` unless `head` has its own.
    pub async fn raw_request(&self, head: &str, body: &str) -> (u16, String) {
        let mut stream = TcpStream::connect(self.addr).await.expect("connect");
        let mut request = head.trim_end().replace("{host}", &self.addr.to_string());
        if !request.to_ascii_lowercase().contains("\r\nconnection:") {
            request.push_str("\r\nConnection: close");
        }
        request.push_str(&format!("\r\nContent-Length: {}\r\n\r\n{body}", body.len()));
        stream.write_all(request.as_bytes()).await.expect("write");
        let mut response = Vec::new();
        tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut response))
            .await
            .expect("response in time")
            .expect("read");
        let response = String::from_utf8_lossy(&response).into_owned();
        let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|code| code.parse().ok())
            .unwrap_or(0);
        let chunked = head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked");
        let body = if chunked {
            dechunk(body)
        } else {
            body.to_owned()
        };
        (status, body)
    }
}

/// An upstream that reads each request's head and answers with `answer`, byte for byte,
/// then closes the connection; returns its URL. For responses no well-behaved server sends.
pub async fn fixed_answer_upstream(answer: &'static [u8]) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the fixed-answer upstream");
    let url = format!("http://{}", listener.local_addr().expect("its address"));
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buffer = [0u8; 1024];
                while !head.windows(4).any(|window| window == b"\r\n\r\n") {
                    match stream.read(&mut buffer).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buffer[..n]),
                    }
                }
                let _ = stream.write_all(answer).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    url
}

/// Decodes an HTTP/1.1 chunked body (RFC 9112 §7.1), ignoring extensions and trailers.
fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size_line, rest)) = body.split_once("\r\n") {
        let size_hex = size_line.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_hex, 16).unwrap_or(0);
        if size == 0 || rest.len() < size {
            break;
        }
        out.push_str(&rest[..size]);
        body = rest[size..].strip_prefix("\r\n").unwrap_or(&rest[size..]);
    }
    out
}

/// The `Sec-WebSocket-Key` of [`TestApp::websocket_handshake`] (RFC 6455's example).
pub const WEBSOCKET_KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

/// Reads up to and including the blank line that ends an HTTP/1 response head.
async fn read_response_head(stream: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let read = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut byte))
            .await
            .expect("response head in time")
            .expect("read");
        if read == 0 {
            break;
        }
        head.push(byte[0]);
    }
    String::from_utf8_lossy(&head).into_owned()
}

/// A masked client text frame (RFC 6455 §5.2), for payloads under 126 bytes.
pub fn websocket_client_frame(payload: &[u8]) -> Vec<u8> {
    assert!(payload.len() < 126, "short frames only");
    let mask = [0x37, 0xfa, 0x21, 0x3d];
    let mut frame = vec![0x81, 0x80 | u8::try_from(payload.len()).expect("short")];
    frame.extend_from_slice(&mask);
    frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    frame
}

/// Whether `cookie` is the session cookie `name` or one of its chunks `name_0`, `name_1`…
pub fn is_session_cookie_name(cookie: &str, name: &str) -> bool {
    cookie == name
        || cookie
            .strip_prefix(name)
            .and_then(|rest| rest.strip_prefix('_'))
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// The `Location` of `resp`, resolved against the request URL.
pub fn location(resp: &Response) -> String {
    let raw = resp
        .headers()
        .get(LOCATION)
        .unwrap_or_else(|| panic!("{} {} has no Location", resp.status(), resp.url()))
        .to_str()
        .expect("Location is ASCII");
    resp.url()
        .join(raw)
        .unwrap_or_else(|err| panic!("Location {raw:?} does not resolve: {err}"))
        .to_string()
}

/// The path and query of an absolute URL (`/a/b?c=d`).
pub fn local_part(url: &str) -> String {
    let url = Url::parse(url).expect("absolute URL");
    match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_owned(),
    }
}

/// Asserts a redirect whose target starts with `prefix`: an absolute URL, or a path on the
/// gateway itself (then the target must be on the same origin as the request).
#[track_caller]
pub fn assert_redirects_to(resp: &Response, prefix: &str) {
    let status = resp.status();
    assert!(
        matches!(status.as_u16(), 302 | 303 | 307),
        "expected a redirect to {prefix}, got {status} from {}",
        resp.url()
    );
    let target = location(resp);
    if prefix.starts_with('/') {
        let parsed = Url::parse(&target).expect("resolved Location");
        assert_eq!(
            parsed.origin(),
            resp.url().origin(),
            "redirect to {target} leaves the gateway (expected {prefix})"
        );
        let local = local_part(&target);
        assert!(
            local.starts_with(prefix),
            "redirect to {local}, expected {prefix}…"
        );
    } else {
        assert!(
            target.starts_with(prefix),
            "redirect to {target}, expected {prefix}…"
        );
    }
}

/// The raw `Set-Cookie` headers of `resp`.
pub fn set_cookies(resp: &Response) -> Vec<String> {
    resp.headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
        .collect()
}

/// Asserts that `resp` sets no non-empty session cookie named `name` (or a chunk of it);
/// clearing one (empty value) is allowed.
#[track_caller]
pub fn assert_no_session_cookie_set(resp: &Response, name: &str) {
    for cookie in set_cookies(resp) {
        let pair = cookie.split(';').next().unwrap_or_default();
        let (cookie_name, value) = pair.split_once('=').unwrap_or((pair, ""));
        assert!(
            !is_session_cookie_name(cookie_name.trim(), name) || value.trim().is_empty(),
            "a session cookie was set: {cookie}"
        );
    }
}

/// Polls `condition` until it holds (at most 400 tries, 25 ms apart), for events the test
/// cannot await directly, such as a background retry reaching the mock provider.
pub async fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    for _ in 0..400 {
        if condition() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("timed out waiting until {what}");
}

/// The status and the `error` code of a JSON error answer.
pub async fn error_code(resp: Response) -> (StatusCode, String) {
    let status = resp.status();
    let body = resp.text().await.expect("error body");
    let json: serde_json::Value = serde_json::from_str(&body)
        .unwrap_or_else(|err| panic!("{status}: not a JSON error ({err}): {body}"));
    let code = json["error"].as_str().unwrap_or_default().to_owned();
    (status, code)
}

/// Asserts a 200 from the echo upstream and returns what it received.
pub async fn echoed(resp: Response) -> EchoedRequest {
    let status = resp.status();
    let url = resp.url().clone();
    let body = resp.text().await.expect("response body");
    assert_eq!(
        status,
        StatusCode::OK,
        "expected the upstream's echo from {url}, got {status}: {body}"
    );
    serde_json::from_str(&body)
        .unwrap_or_else(|err| panic!("not an echo from {url} ({err}): {body}"))
}
