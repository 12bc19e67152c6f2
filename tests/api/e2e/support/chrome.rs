//! Headless Chromium driven over WebDriver: chromedriver on a port it picks itself, one
//! browser session with a fresh profile, and the waits the journeys need (for a page to be
//! shown, never for a fixed time).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use fantoccini::cookies::Cookie;
use fantoccini::elements::Element;
use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{json, Value};
use url::Url;

use super::process::{ChildProcess, Unready};

/// How long a page may take to appear after a navigation or a click.
const PAGE_TIMEOUT: Duration = Duration::from_secs(30);
const POLL: Duration = Duration::from_millis(50);

/// Desktop viewport; journeys that need a phone resize with [`Browser::resize`].
pub const DESKTOP: (u32, u32) = (1280, 800);
pub const PHONE: (u32, u32) = (390, 844);

/// One headless Chromium with its own profile, and the chromedriver that runs it.
/// Dropping it kills chromedriver and every browser process (one process group) and removes
/// the profile directory; [`Browser::close`] ends the session politely first.
pub struct Browser {
    client: Client,
    work_dir: PathBuf,
    // Dropped after `client`: first the session handle, then the processes, then the profile.
    _driver: ChildProcess,
    _profile: ProfileDir,
}

struct ProfileDir(PathBuf);

impl Drop for ProfileDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Browser {
    /// Starts chromedriver (`--port=0`: it picks a free port and prints it) and a headless
    /// Chromium session with a fresh `--user-data-dir` under `work_dir`.
    pub async fn start(chromium: &Path, chromedriver: &Path, work_dir: &Path) -> Browser {
        let profile = work_dir.join("chromium-profile");
        let _ = std::fs::remove_dir_all(&profile);
        std::fs::create_dir_all(&profile).expect("create the browser profile directory");
        let profile = ProfileDir(profile);

        // chromedriver's own choice of port can race with other processes picking theirs
        // ("bind() failed: Address already in use", then it exits): it is started again.
        let mut attempts = 0;
        let (driver, port) = loop {
            let mut command = Command::new(chromedriver);
            command.arg("--port=0");
            let started = ChildProcess::try_spawn(
                "chromedriver",
                command,
                &work_dir.join("chromedriver.log"),
                true,
                |line| {
                    let rest = line.split_once("started successfully on port ")?.1;
                    Some(rest.trim_end_matches('.').trim().to_owned())
                },
            )
            .await;
            attempts += 1;
            match started {
                Ok(started) => break started,
                Err(Unready::Exited(message)) if attempts >= 5 => panic!("{message}"),
                Err(Unready::Exited(_)) => continue,
            }
        };

        let mut builder = ClientBuilder::new(HttpConnector::new());
        builder.capabilities(capabilities(chromium, &profile.0));
        let client = builder
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .unwrap_or_else(|err| {
                panic!(
                    "no browser session from chromedriver: {err}\n{}",
                    driver.log_tail()
                )
            });
        let browser = Browser {
            client,
            work_dir: work_dir.to_owned(),
            _driver: driver,
            _profile: profile,
        };
        browser.resize(DESKTOP).await;
        browser
    }

    /// Ends the WebDriver session (chromedriver quits Chromium); the processes are killed
    /// when `self` drops.
    pub async fn close(self) {
        let _ = self.client.clone().close().await;
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Navigates the current tab and waits until the document has loaded.
    pub async fn goto(&self, url: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|err| panic!("navigate to {url}: {err}"));
    }

    pub async fn current_url(&self) -> Url {
        self.client.current_url().await.expect("current URL")
    }

    /// Waits until the current document's URL satisfies `url_ok` and it has an element
    /// matching `css`; returns that element. `what` names the page in the failure message,
    /// which also shows where the browser is instead.
    pub async fn wait_for_page(
        &self,
        what: &str,
        url_ok: impl Fn(&Url) -> bool,
        css: &str,
    ) -> Element {
        let (_, element) = self.wait_for_one_of(&[Page::new(what, &url_ok, css)]).await;
        element
    }

    /// Waits until the browser shows one of `pages`; returns which one (its index) and its
    /// element. Fails after [`PAGE_TIMEOUT`], saying where the browser is instead.
    pub async fn wait_for_one_of(&self, pages: &[Page<'_>]) -> (usize, Element) {
        let deadline = Instant::now() + PAGE_TIMEOUT;
        let mut last_error = String::new();
        loop {
            match self.client.current_url().await {
                Ok(url) => {
                    for (index, page) in pages.iter().enumerate() {
                        if (page.url_ok)(&url) {
                            match self.client.find(Locator::Css(page.css)).await {
                                Ok(element) => return (index, element),
                                Err(err) => last_error = format!("find {}: {err}", page.css),
                            }
                        }
                    }
                }
                Err(err) => last_error = format!("current URL: {err}"),
            }
            if Instant::now() > deadline {
                let expected: Vec<String> = pages
                    .iter()
                    .map(|page| format!("{} ({})", page.what, page.css))
                    .collect();
                let url = self.current_url_text().await;
                let text = self.body_text().await;
                self.save_evidence().await;
                panic!(
                    "timed out after {PAGE_TIMEOUT:?} waiting for {} (last error: {last_error}); \
                     the browser shows {url}:\n{text}",
                    expected.join(" or ")
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Saves a screenshot and the source of the current page next to the logs, for a
    /// failing journey.
    async fn save_evidence(&self) {
        if let Ok(png) = self.client.screenshot().await {
            let _ = std::fs::write(self.work_dir.join("failure.png"), png);
        }
        if let Ok(html) = self.client.source().await {
            let _ = std::fs::write(self.work_dir.join("failure.html"), html);
        }
        eprintln!(
            "screenshot and page source saved in {}",
            self.work_dir.display()
        );
    }

    /// The visible text of the current page (for assertions and failure messages).
    pub async fn body_text(&self) -> String {
        match self.client.find(Locator::Css("body")).await {
            Ok(body) => body.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    /// Clicks the element matching `css` on the current page.
    pub async fn click(&self, css: &str) {
        self.find(css)
            .await
            .click()
            .await
            .unwrap_or_else(|err| panic!("click {css}: {err}"));
    }

    /// Types `text` into the (emptied) input matching `css`.
    pub async fn fill(&self, css: &str, text: &str) {
        let input = self.find(css).await;
        input.clear().await.expect("clear the input");
        input
            .send_keys(text)
            .await
            .unwrap_or_else(|err| panic!("type into {css}: {err}"));
    }

    pub async fn find(&self, css: &str) -> Element {
        match self.client.find(Locator::Css(css)).await {
            Ok(element) => element,
            Err(err) => panic!("no {css} on {}: {err}", self.current_url_text().await),
        }
    }

    /// Whether the current page has an element matching `css`.
    pub async fn has(&self, css: &str) -> bool {
        self.client.find(Locator::Css(css)).await.is_ok()
    }

    async fn current_url_text(&self) -> String {
        self.client
            .current_url()
            .await
            .map(|u| u.to_string())
            .unwrap_or_default()
    }

    /// Runs `script` (a function body using `return`) in the page.
    pub async fn execute(&self, script: &str) -> Value {
        self.client
            .execute(script, Vec::new())
            .await
            .unwrap_or_else(|err| panic!("script failed: {err}\n{script}"))
    }

    /// The cookies WebDriver exposes for the current document (its URL's host and path).
    pub async fn document_cookies(&self) -> Vec<Cookie<'static>> {
        self.client
            .get_all_cookies()
            .await
            .expect("get all cookies")
    }

    /// Every cookie in the browser's jar, whatever its path or host, through the DevTools
    /// protocol (`Storage.getCookies`): the flow cookies live at `/oauth2/callback`, which
    /// no document the journeys show can see.
    pub async fn all_cookies(&self) -> Vec<CdpCookie> {
        let result = self
            .client
            .issue_cmd(Cdp {
                cmd: "Storage.getCookies",
                params: json!({}),
            })
            .await
            .expect("CDP Storage.getCookies");
        serde_json::from_value(result["cookies"].clone())
            .unwrap_or_else(|err| panic!("CDP cookies do not parse ({err}): {result}"))
    }

    /// Resizes the window so that the page's viewport is `width` x `height` CSS pixels.
    pub async fn resize(&self, (width, height): (u32, u32)) {
        self.client
            .issue_cmd(Cdp {
                cmd: "Emulation.setDeviceMetricsOverride",
                params: json!({
                    "width": width,
                    "height": height,
                    "deviceScaleFactor": 1,
                    "mobile": width < 600,
                }),
            })
            .await
            .expect("CDP Emulation.setDeviceMetricsOverride");
    }

    /// A PNG of the viewport.
    pub async fn screenshot(&self) -> Vec<u8> {
        self.client.screenshot().await.expect("screenshot")
    }

    /// Opens a new tab, switches to it and returns its handle.
    pub async fn new_tab(&self) -> fantoccini::wd::WindowHandle {
        let tab = self.client.new_window(true).await.expect("open a tab");
        self.switch_to(&tab.handle).await;
        tab.handle
    }

    pub async fn current_tab(&self) -> fantoccini::wd::WindowHandle {
        self.client.window().await.expect("current tab")
    }

    pub async fn switch_to(&self, tab: &fantoccini::wd::WindowHandle) {
        self.client
            .switch_to_window(tab.clone())
            .await
            .expect("switch tabs");
    }

    pub async fn back(&self) {
        self.client.back().await.expect("history back");
    }

    pub async fn refresh(&self) {
        self.client.refresh().await.expect("reload");
    }
}

/// A page a journey waits for: its URL passes `url_ok` and it has an element matching `css`.
pub struct Page<'a> {
    pub what: &'a str,
    pub url_ok: &'a dyn Fn(&Url) -> bool,
    pub css: &'a str,
}

impl<'a> Page<'a> {
    pub fn new(what: &'a str, url_ok: &'a dyn Fn(&Url) -> bool, css: &'a str) -> Page<'a> {
        Page { what, url_ok, css }
    }
}

/// A cookie as the DevTools protocol reports it.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CdpCookie {
    pub name: String,
    pub value: String,
    pub domain: String,
    pub path: String,
    pub http_only: bool,
    pub secure: bool,
    /// `Lax`, `Strict` or `None`; absent when the cookie did not say.
    pub same_site: Option<String>,
}

/// chromedriver's `POST /session/{id}/goog/cdp/execute`: one DevTools protocol command.
#[derive(Debug)]
struct Cdp {
    cmd: &'static str,
    params: Value,
}

impl WebDriverCompatibleCommand for Cdp {
    fn endpoint(&self, base: &Url, session_id: Option<&str>) -> Result<Url, url::ParseError> {
        base.join(&format!(
            "session/{}/goog/cdp/execute",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _url: &Url) -> (http::Method, Option<String>) {
        let body = json!({ "cmd": self.cmd, "params": self.params });
        (http::Method::POST, Some(body.to_string()))
    }
}

/// Headless, sandbox off (root in CI), no network of its own (the CI machine's network is
/// closed and Chromium's background fetches would only fail), a fresh profile, no password
/// manager prompts, English pages.
fn capabilities(chromium: &Path, profile: &Path) -> fantoccini::wd::Capabilities {
    let (width, height) = DESKTOP;
    let args = [
        "--headless=new".to_owned(),
        "--no-sandbox".to_owned(),
        "--disable-gpu".to_owned(),
        "--disable-dev-shm-usage".to_owned(),
        "--disable-background-networking".to_owned(),
        "--disable-component-update".to_owned(),
        "--disable-sync".to_owned(),
        "--disable-quic".to_owned(),
        "--disable-extensions".to_owned(),
        "--no-first-run".to_owned(),
        "--no-default-browser-check".to_owned(),
        "--password-store=basic".to_owned(),
        "--lang=en-US".to_owned(),
        "--hide-scrollbars".to_owned(),
        format!("--window-size={width},{height}"),
        format!("--user-data-dir={}", profile.display()),
    ];
    let capabilities = json!({
        "browserName": "chrome",
        "pageLoadStrategy": "normal",
        "timeouts": { "pageLoad": 30_000, "script": 30_000, "implicit": 0 },
        "goog:chromeOptions": {
            "binary": chromium.display().to_string(),
            "args": args,
            "prefs": {
                "credentials_enable_service": false,
                "profile.password_manager_enabled": false,
                "profile.password_manager_leak_detection": false,
            },
        },
    });
    match capabilities {
        Value::Object(map) => map,
        _ => unreachable!("a JSON object literal"),
    }
}
