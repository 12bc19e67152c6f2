//! The steps the browser journeys share: recognising each page of the gateway and the
//! provider, signing in at the provider, reading what the echo upstream received. The
//! provider is the npm OpenID provider, or for journeys that need only Chromium and run
//! without it, the gateway's embedded development provider (`Deployment::is_dev`), whose
//! "sign in as" form stands for the login form, with no consent screen and no session.

use url::Url;

use super::support::{Browser, Deployment, PASSWORD, PROVIDER_ID, SESSION_COOKIE};

/// The sign-in button of the provider on the gateway's sign-in page.
pub const PROVIDER_BUTTON: &str = "a.provider-op";

/// One browser walking through one deployment.
pub struct Journey<'a> {
    pub e2e: &'a Deployment,
    pub browser: &'a Browser,
}

impl<'a> Journey<'a> {
    pub fn new(e2e: &'a Deployment, browser: &'a Browser) -> Journey<'a> {
        Journey { e2e, browser }
    }

    fn on_gateway(&self, url: &Url, path: &str) -> bool {
        url.as_str().starts_with(&self.e2e.gateway) && url.path() == path
    }

    fn on_op(&self, url: &Url, path_prefix: &str) -> bool {
        url.as_str().starts_with(&self.e2e.op().issuer) && url.path().starts_with(path_prefix)
    }

    /// Whether `url` is a page of the provider, whichever it is.
    pub fn on_provider(&self, url: &Url) -> bool {
        if self.e2e.is_dev() {
            self.on_gateway(url, "/oauth2/dev/authorize")
        } else {
            url.as_str().starts_with(&self.e2e.op().issuer)
        }
    }

    /// The gateway's sign-in page: waits for it and returns its URL.
    pub async fn expect_sign_in_page(&self) -> Url {
        self.browser
            .wait_for_page(
                "the gateway's sign-in page",
                |url| self.on_gateway(url, "/oauth2/sign_in"),
                PROVIDER_BUTTON,
            )
            .await;
        self.browser.current_url().await
    }

    /// Clicks the provider's button on the sign-in page.
    pub async fn choose_provider(&self) {
        let button = self.browser.find(PROVIDER_BUTTON).await;
        let href = button.attr("href").await.expect("href").unwrap_or_default();
        assert!(
            href.starts_with(&format!("/oauth2/start?provider={PROVIDER_ID}")),
            "the provider button links to {href}"
        );
        button.click().await.expect("click the provider button");
    }

    /// The provider's login form (not an immediate redirect back, which a live provider
    /// session would cause).
    pub async fn expect_op_login_form(&self) {
        if self.e2e.is_dev() {
            self.browser
                .wait_for_page(
                    "the development provider's form",
                    |url| self.on_gateway(url, "/oauth2/dev/authorize"),
                    "#email",
                )
                .await;
            return;
        }
        self.browser
            .wait_for_page(
                "the provider's login form",
                |url| self.on_op(url, "/interaction/"),
                "#password",
            )
            .await;
    }

    /// An account the provider signs in and `[authorize]` (`example.com`, verified) refuses:
    /// at the npm provider carol, whose email is not verified; at the development provider,
    /// an address in another domain.
    pub fn refused_account(&self) -> &'static str {
        if self.e2e.is_dev() {
            "carol@other.org"
        } else {
            "carol@example.com"
        }
    }

    /// Fills in the provider's login form as `email` and submits it.
    pub async fn log_in_at_op(&self, email: &str) {
        self.expect_op_login_form().await;
        if self.e2e.is_dev() {
            self.browser.fill("#email", email).await;
            self.browser.click("form button[type=submit]").await;
            return;
        }
        self.browser.fill("#login", email).await;
        self.browser.fill("#password", PASSWORD).await;
        self.browser.click("#submit").await;
    }

    /// The provider's consent screen, allowed (the development provider has none).
    pub async fn allow_at_op(&self) {
        if self.e2e.is_dev() {
            return;
        }
        self.browser
            .wait_for_page(
                "the provider's consent screen",
                |url| self.on_op(url, "/interaction/"),
                "#allow",
            )
            .await;
        self.browser.click("#allow").await;
    }

    /// Waits for the echo upstream's page at exactly `url` and reads it.
    pub async fn expect_echo_at(&self, url: &str) -> EchoPage {
        self.browser
            .wait_for_page(
                &format!("the echo page at {url}"),
                |current| current.as_str() == url,
                "table.headers",
            )
            .await;
        self.read_echo().await
    }

    /// What the echo upstream shows on the current page.
    pub async fn read_echo(&self) -> EchoPage {
        let page = self
            .browser
            .execute(
                "const text = (el) => (el ? el.textContent : null);
                 return {
                   line: text(document.querySelector('.request-line code')),
                   headers: Array.from(document.querySelectorAll('table.headers tbody tr'))
                     .map((row) => [text(row.querySelector('th')), text(row.querySelector('td'))]),
                 };",
            )
            .await;
        serde_json::from_value(page.clone())
            .unwrap_or_else(|err| panic!("not an echo page ({err}): {page}"))
    }

    /// From the deep link `path` (a signed-out browser) through the sign-in page, the
    /// provider's login form and consent, back to the deep link; returns the echo there.
    pub async fn sign_in(&self, path: &str, email: &str) -> EchoPage {
        let deep_link = self.e2e.url(path);
        self.browser.goto(&deep_link).await;
        self.expect_sign_in_page().await;
        self.choose_provider().await;
        self.log_in_at_op(email).await;
        self.allow_at_op().await;
        self.expect_echo_at(&deep_link).await
    }

    /// Clicks "Sign out" on the echo page, confirms at the provider, and waits for the
    /// gateway's signed-out page. Returns the provider's logout page URL.
    pub async fn sign_out(&self) -> Url {
        self.browser.click("a[href='/oauth2/sign_out']").await;
        self.confirm_sign_out_at_op().await
    }

    /// On the provider's logout confirmation (where `/oauth2/sign_out` leads): confirms, and
    /// waits for the gateway's signed-out page. Returns the confirmation page's URL.
    pub async fn confirm_sign_out_at_op(&self) -> Url {
        if self.e2e.is_dev() {
            // Its end-session endpoint sends the browser straight back.
            self.expect_signed_out_page().await;
            return self.browser.current_url().await;
        }
        self.browser
            .wait_for_page(
                "the provider's logout confirmation",
                |url| self.on_op(url, "/session/end"),
                "#logout",
            )
            .await;
        let logout_page = self.browser.current_url().await;
        self.browser.click("#logout").await;
        self.expect_signed_out_page().await;
        logout_page
    }

    /// The gateway's signed-out page.
    pub async fn expect_signed_out_page(&self) {
        self.browser
            .wait_for_page(
                "the gateway's signed-out page",
                |url| self.on_gateway(url, "/oauth2/signed_out"),
                "main h1",
            )
            .await;
    }

    /// The gateway's error page, at `path`.
    pub async fn expect_error_page(&self, path: &str) -> ErrorPage {
        self.browser
            .wait_for_page(
                &format!("the gateway's error page at {path}"),
                |url| self.on_gateway(url, path),
                "p.request-id",
            )
            .await;
        let page = self
            .browser
            .execute(
                "const text = (sel) => { const el = document.querySelector(sel); return el ? el.textContent.trim() : null; };
                 const retry = document.querySelector('main a.button');
                 return {
                   status: text('p.status'),
                   title: text('main h1'),
                   message: text('main p.lead'),
                   request_id: text('p.request-id code'),
                   retry_href: retry ? retry.getAttribute('href') : null,
                   retry_text: retry ? retry.textContent.trim() : null,
                 };",
            )
            .await;
        serde_json::from_value(page.clone())
            .unwrap_or_else(|err| panic!("not an error page ({err}): {page}"))
    }

    /// The gateway's cookies in the browser's jar (any path): the session cookie, its
    /// chunks and flow cookies.
    pub async fn gateway_cookies(&self) -> Vec<super::support::CdpCookie> {
        self.browser
            .all_cookies()
            .await
            .into_iter()
            .filter(|cookie| is_gateway_cookie(&cookie.name))
            .collect()
    }
}

/// Whether a cookie name is one of the gateway's: `_portcullis`, `_portcullis_N`,
/// `_portcullis_flow_<hex>`.
pub fn is_gateway_cookie(name: &str) -> bool {
    name == SESSION_COOKIE || name.starts_with(&format!("{SESSION_COOKIE}_"))
}

/// Whether a cookie name is the session cookie or one of its chunks (not a flow cookie).
pub fn is_session_cookie(name: &str) -> bool {
    name == SESSION_COOKIE
        || name
            .strip_prefix(&format!("{SESSION_COOKIE}_"))
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// The built-in echo upstream's page: the request line and headers as the upstream got them.
#[derive(Debug, serde::Deserialize)]
pub struct EchoPage {
    pub line: Option<String>,
    pub headers: Vec<(Option<String>, Option<String>)>,
}

impl EchoPage {
    /// The value of header `name` (lower case), when there is exactly one.
    pub fn header(&self, name: &str) -> Option<&str> {
        let mut values = self
            .headers
            .iter()
            .filter(|(n, _)| n.as_deref() == Some(name))
            .map(|(_, v)| v.as_deref().unwrap_or_default());
        let first = values.next();
        assert!(values.next().is_none(), "{name} appears more than once");
        first
    }

    /// The cookie names in the `Cookie` header the upstream received.
    pub fn cookie_names(&self) -> Vec<String> {
        self.header("cookie")
            .unwrap_or_default()
            .split(';')
            .filter_map(|pair| pair.split_once('=').map(|(name, _)| name.trim().to_owned()))
            .collect()
    }
}

/// The gateway's error page, as shown.
#[derive(Debug, serde::Deserialize)]
pub struct ErrorPage {
    pub status: Option<String>,
    pub title: Option<String>,
    pub message: Option<String>,
    pub request_id: Option<String>,
    pub retry_href: Option<String>,
    pub retry_text: Option<String>,
}
