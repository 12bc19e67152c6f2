//! What every journey starts from: the gate that decides whether the real components are
//! here (DESIGN §8), the real OpenID provider, the gateway configured against it with the
//! built-in echo upstream, and headless Chromium.
//!
//! Order matters: the provider must know the gateway's redirect URIs when it starts, and the
//! gateway must know the provider's issuer, so the gateway's port is bound first, then the
//! provider starts, then the gateway is built on the bound listener.

mod chrome;
mod op;
mod op_forms;
mod process;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub use chrome::{Browser, CdpCookie, Page, DESKTOP, PHONE};
pub use op::{Backchannel, OpSettings, OpStats, OpenIdProvider};
pub use process::{ChildProcess, Unready};
// Sign-in, a code flow of the test's own and sign-out at the provider, for every journey.
pub use op_forms::*;

use crate::helpers::{toml_str, BROWSER_ACCEPT, TEST_SESSION_SECRET};

/// The gateway's provider id: the sign-in button is `a.provider-op` and the callback is
/// `/oauth2/callback/op`.
pub const PROVIDER_ID: &str = "op";
/// Every test user's password at the provider.
pub const PASSWORD: &str = "secret";
/// The session cookie name (the gateway's default); chunks are `_portcullis_N` and flow
/// cookies `_portcullis_flow_<hex>`.
pub const SESSION_COOKIE: &str = "_portcullis";

/// What a journey needs besides the gateway.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Needs {
    Provider,
    ProviderAndBrowser,
}

/// Gateway settings a journey may change.
#[derive(Clone, Default)]
pub struct Settings {
    /// `[session] login_timeout`, the flow cookie's lifetime; the gateway's default when
    /// `None`.
    pub login_timeout: Option<&'static str>,
    /// An `[[upstream]]` at `/app` with this URL, next to the built-in echo at `/`.
    pub app_upstream: Option<String>,
    /// The provider's token lifetime and back-channel logout receiver.
    pub op: OpSettings,
    /// More lines under `[session]` (e.g. `refresh_before`, `store = "redis"`).
    pub session_extra: String,
    /// The echo upstream at `/` gets the access token (`pass_access_token = true`).
    pub pass_access_token: bool,
    /// Appended to `providers.toml` (e.g. a `kind = "local"` `[[provider]]`).
    pub extra_toml: String,
}

/// The provider and a gateway (in front of the built-in echo upstream) that trusts it.
pub struct Deployment {
    /// The npm OpenID provider; `None` when the gateway signs in through its embedded
    /// development provider instead ([`deployment_with_chromium`]).
    idp: Option<OpenIdProvider>,
    /// `http://127.0.0.1:PORT`, also the gateway's `public_url`.
    pub gateway: String,
    _gateway_log: GatewayLog,
    /// Logs of the provider, chromedriver and the gateway, and the browser profile; dropped
    /// last.
    pub work_dir: WorkDir,
}

/// `target/e2e/<test>.<pid>/`: unique even when two runs of the suite share a target
/// directory (a browser profile must never be shared). Removed when the test passes, kept
/// (and named in the output) when it fails.
pub struct WorkDir(PathBuf);

impl WorkDir {
    pub fn create() -> WorkDir {
        let test = std::thread::current()
            .name()
            .unwrap_or("e2e")
            .replace("::", "-");
        let dir = target_dir()
            .join("e2e")
            .join(format!("{test}.{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create the e2e work directory");
        WorkDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("logs of the failed journey are in {}", self.0.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// The gateway's log lines, written to `gateway.log` in the work directory: the gateway runs
/// on the test's own (current-thread) runtime, so a thread-default subscriber sees them.
pub struct GatewayLog {
    path: PathBuf,
    _guard: tracing::subscriber::DefaultGuard,
}

impl GatewayLog {
    pub fn start(path: PathBuf) -> GatewayLog {
        let file = std::fs::File::create(&path).expect("create gateway.log");
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("info"))
            .with_ansi(false)
            .with_writer(std::sync::Mutex::new(file))
            .finish();
        GatewayLog {
            path,
            _guard: tracing::subscriber::set_default(subscriber),
        }
    }
}

impl Drop for GatewayLog {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let text = std::fs::read_to_string(&self.path).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            eprintln!(
                "--- last lines of the gateway log ({}) ---\n{}",
                self.path.display(),
                lines[lines.len().saturating_sub(40)..].join("\n")
            );
        }
    }
}

impl Deployment {
    /// The npm OpenID provider, for journeys that need it.
    pub fn op(&self) -> &OpenIdProvider {
        self.idp
            .as_ref()
            .expect("this journey runs against the npm OpenID provider")
    }

    /// Whether the gateway signs in through its embedded development provider (with the id
    /// [`PROVIDER_ID`], so the sign-in button and callback path are the same).
    pub fn is_dev(&self) -> bool {
        self.idp.is_none()
    }

    /// `{gateway}{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.gateway)
    }
}

/// The provider and the gateway, or `None` when the test is skipped (Node or the provider's
/// packages are missing and `PORTCULLIS_E2E` is not `1`).
pub async fn deployment(settings: Settings) -> Option<Deployment> {
    let tools = tools_or_skip(Needs::Provider)?;
    Some(start_deployment(&tools, settings).await)
}

/// The provider, the gateway and a browser, or `None` when the test is skipped (Node, the
/// provider's packages, Chromium or chromedriver are missing and `PORTCULLIS_E2E` is not
/// `1`).
pub async fn deployment_with_browser(settings: Settings) -> Option<(Deployment, Browser)> {
    let tools = tools_or_skip(Needs::ProviderAndBrowser)?;
    let deployment = start_deployment(&tools, settings).await;
    let (chromium, chromedriver) = tools.browser.expect("checked by tools_or_skip");
    let browser = Browser::start(&chromium, &chromedriver, deployment.work_dir.path()).await;
    Some((deployment, browser))
}

/// A gateway and a browser for a journey that needs only Chromium: against the npm OpenID
/// provider when it is installed, else against the gateway's embedded development provider
/// (issue 15 point 6), so that these journeys run wherever Chromium does. `None` when the
/// test is skipped (Chromium or chromedriver missing); under `PORTCULLIS_E2E=1` the npm
/// provider is required, as for every journey.
pub async fn deployment_with_chromium(settings: Settings) -> Option<(Deployment, Browser)> {
    let e2e = std::env::var("PORTCULLIS_E2E").as_deref() == Ok("1");
    let tools = match find_tools(Needs::ProviderAndBrowser) {
        Ok(tools) => tools,
        Err(_) if !e2e => match find_browser() {
            Ok(browser) => Tools {
                repo: PathBuf::from(env!("CARGO_MANIFEST_DIR")),
                browser: Some(browser),
                dev: true,
            },
            Err(reason) => return skip(&reason),
        },
        Err(reason) => return skip(&reason),
    };
    let deployment = start_deployment(&tools, settings).await;
    let (chromium, chromedriver) = tools.browser.expect("found above");
    let browser = Browser::start(&chromium, &chromedriver, deployment.work_dir.path()).await;
    Some((deployment, browser))
}

/// `target/screenshots/`, created.
pub fn screenshot_dir() -> PathBuf {
    let dir = target_dir().join("screenshots");
    std::fs::create_dir_all(&dir).expect("create target/screenshots");
    dir
}

struct Tools {
    repo: PathBuf,
    /// Chromium and chromedriver, when the journey needs a browser.
    browser: Option<(PathBuf, PathBuf)>,
    /// No npm provider: the embedded development provider signs people in.
    dev: bool,
}

/// Finds the real components, or prints why the test is skipped and returns `None`; with
/// `PORTCULLIS_E2E=1` a missing component fails the test instead (DESIGN §8).
fn tools_or_skip(needs: Needs) -> Option<Tools> {
    match find_tools(needs) {
        Ok(tools) => Some(tools),
        Err(reason) => skip(&reason),
    }
}

/// Prints why the current test is skipped (a real component is missing, `reason` says which
/// and how to get it) and returns `None`; with `PORTCULLIS_E2E=1` it fails the test instead
/// (DESIGN §8).
pub fn skip<T>(reason: &str) -> Option<T> {
    let test = std::thread::current()
        .name()
        .unwrap_or("an e2e test")
        .to_owned();
    if std::env::var("PORTCULLIS_E2E").as_deref() == Ok("1") {
        panic!("PORTCULLIS_E2E=1, but {reason}");
    }
    // Straight to stderr in one write, past the test harness's output capture, so that a
    // skip is visible in a plain `cargo test` run.
    let line = format!("skipped: {test}: {reason} (set PORTCULLIS_E2E=1 to make this a failure)\n");
    let _ = std::io::stderr().write_all(line.as_bytes());
    // And once more at the end of `cargo test` (tests/skipped.rs).
    super::skips::record(&target_dir(), reason);
    None
}

fn find_tools(needs: Needs) -> Result<Tools, String> {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    find_program("node", None, "install Node.js 20 or later")?;
    if !repo
        .join("e2e/op/node_modules/oidc-provider/package.json")
        .is_file()
    {
        return Err(
            "the OpenID provider's packages are not installed (run `npm ci --prefix e2e/op`)"
                .to_owned(),
        );
    }
    let browser = if needs == Needs::ProviderAndBrowser {
        Some(find_browser()?)
    } else {
        None
    };
    Ok(Tools {
        repo,
        browser,
        dev: false,
    })
}

/// Chromium and chromedriver.
fn find_browser() -> Result<(PathBuf, PathBuf), String> {
    let chromium = find_program(
        "chromium",
        Some("PORTCULLIS_E2E_CHROMIUM"),
        "install Debian's `chromium`, or set PORTCULLIS_E2E_CHROMIUM to a Chromium or Chrome \
         binary",
    )?;
    let chromedriver = find_program(
        "chromedriver",
        Some("PORTCULLIS_E2E_CHROMEDRIVER"),
        "install Debian's `chromium-driver`, or set PORTCULLIS_E2E_CHROMEDRIVER to the \
         chromedriver matching the browser",
    )?;
    Ok((chromium, chromedriver))
}

/// The file named by the environment variable `overridden_by` when it is set, else
/// `program` on PATH; the error says what is missing and `how_to_fix` it.
pub fn find_program(
    program: &str,
    overridden_by: Option<&str>,
    how_to_fix: &str,
) -> Result<PathBuf, String> {
    if let Some((name, path)) =
        overridden_by.and_then(|name| Some((name, PathBuf::from(std::env::var_os(name)?))))
    {
        return if path.is_file() {
            Ok(path)
        } else {
            Err(format!("{name}={} is not a file", path.display()))
        };
    }
    std::env::var_os("PATH")
        .and_then(|path| {
            std::env::split_paths(&path)
                .map(|dir| dir.join(program))
                .find(|candidate| candidate.is_file())
        })
        .ok_or_else(|| format!("`{program}` is not on PATH ({how_to_fix})"))
}

/// The cargo target directory this test binary was built in (`target/debug/deps/api-…`
/// → `target/`).
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    exe.ancestors()
        .nth(3)
        .map(Path::to_owned)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"))
}

async fn start_deployment(tools: &Tools, settings: Settings) -> Deployment {
    let work_dir = WorkDir::create();
    let gateway_log = GatewayLog::start(work_dir.path().join("gateway.log"));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the gateway port");
    let gateway = format!("http://{}", listener.local_addr().expect("gateway address"));

    let op = if tools.dev {
        None
    } else {
        let op_log = work_dir.path().join("op.log");
        Some(OpenIdProvider::start_with(&tools.repo, &gateway, &op_log, &settings.op).await)
    };

    let toml = gateway_toml(
        &gateway,
        op.as_ref().map(|op| op.issuer.as_str()),
        &settings,
    );
    let config = portcullis::config::Config::parse(&toml, "providers.toml", &|_| None)
        .unwrap_or_else(|errors| panic!("config rejected:\n{errors}\n{toml}"));
    let app = portcullis::startup::Application::with_listener(config, listener)
        .await
        .unwrap_or_else(|err| panic!("the gateway did not start: {err:#}"));
    tokio::spawn(app.run_until_stopped());

    let deployment = Deployment {
        idp: op,
        gateway,
        _gateway_log: gateway_log,
        work_dir,
    };
    wait_until_ready(&deployment.url("/ready")).await;
    deployment
}

/// `providers.toml` for the gateway at `gateway` with the provider at `issuer`, or with the
/// embedded development provider (same id) when there is none.
fn gateway_toml(gateway: &str, issuer: Option<&str>, settings: &Settings) -> String {
    let listen = gateway.trim_start_matches("http://");
    let login_timeout = settings
        .login_timeout
        .map(|timeout| format!("login_timeout = {}\n", toml_str(timeout)))
        .unwrap_or_default();
    let app_upstream = settings
        .app_upstream
        .as_deref()
        .map(|url| format!("\n[[upstream]]\npath = \"/app\"\nurl = {}\n", toml_str(url)))
        .unwrap_or_default();
    let session_extra = &settings.session_extra;
    let pass_access_token = if settings.pass_access_token {
        "pass_access_token = true\n"
    } else {
        ""
    };
    format!(
        r#"[server]
listen = {listen}
public_url = {gateway}

[session]
secret = {secret}
{login_timeout}{session_extra}
{provider}
[authorize]
email_domains = ["example.com"]

[[upstream]]
path = "/"
url = "builtin:echo"
{pass_access_token}{app_upstream}
{extra_toml}"#,
        extra_toml = settings.extra_toml,
        listen = toml_str(listen),
        gateway = toml_str(gateway),
        secret = toml_str(TEST_SESSION_SECRET),
        provider = provider_block(issuer),
    )
}

fn provider_block(issuer: Option<&str>) -> String {
    let Some(issuer) = issuer else {
        return format!(
            "[[provider]]\nid = {}\nkind = \"dev\"\n",
            toml_str(PROVIDER_ID)
        );
    };
    format!(
        r#"[[provider]]
id = {id}
kind = "oidc"
name = "Test OP"
issuer = {issuer}
client_id = {client_id}
client_secret = {client_secret}
scopes = ["openid", "email", "profile", "groups"]
"#,
        id = toml_str(PROVIDER_ID),
        issuer = toml_str(issuer),
        client_id = toml_str(op::CLIENT_ID),
        client_secret = toml_str(op::CLIENT_SECRET),
    )
}

/// Polls `/ready` until the gateway has discovered the provider.
pub async fn wait_until_ready(ready_url: &str) {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client");
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut last = String::new();
    while Instant::now() < deadline {
        match client
            .get(ready_url)
            .header(reqwest::header::ACCEPT, BROWSER_ACCEPT)
            .send()
            .await
        {
            Ok(resp) if resp.status().is_success() => return,
            Ok(resp) => last = format!("{}", resp.status()),
            Err(err) => last = err.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the gateway never became ready at {ready_url} (last answer: {last})");
}
