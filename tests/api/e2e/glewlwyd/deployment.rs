//! glewlwyd and a gateway configured against it, in front of an echo upstream, and the
//! steps every journey takes: a sign-in through glewlwyd, a request as the app sees it.

use super::super::support::{wait_until_ready, GatewayLog, WorkDir};
use super::login_page;
use super::provider::{self, Glewlwyd};
use crate::echo_upstream::{EchoUpstream, EchoedRequest};
use crate::helpers::{
    assert_redirects_to, echoed, location, toml_str, Browser, TEST_SESSION_SECRET,
};

/// The gateway's provider id for glewlwyd.
pub const PROVIDER_ID: &str = "glewlwyd";

/// glewlwyd and a gateway that trusts it, in front of an echo upstream at `/` that gets the
/// access token too.
pub struct Deployment {
    pub glewlwyd: Glewlwyd,
    /// `http://127.0.0.1:PORT`, also the gateway's `public_url`.
    gateway: String,
    pub app: EchoUpstream,
    _gateway_log: GatewayLog,
    /// Logs of glewlwyd and the gateway, and glewlwyd's files; dropped last.
    _work_dir: WorkDir,
}

impl Deployment {
    /// glewlwyd (tokens living `access_token_ttl` seconds, its default when `None`) and the
    /// gateway with `session_extra` under `[session]`, or `None` when the test is skipped.
    pub async fn start(access_token_ttl: Option<u32>, session_extra: &str) -> Option<Deployment> {
        let repo = provider::installed()?;
        let work_dir = WorkDir::create();
        let gateway_log = GatewayLog::start(work_dir.path().join("gateway.log"));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the gateway port");
        let gateway = format!("http://{}", listener.local_addr().expect("gateway address"));
        let settings = provider::Settings {
            gateway: &gateway,
            provider_id: PROVIDER_ID,
            access_token_ttl,
        };
        let glewlwyd = Glewlwyd::start(&repo, work_dir.path(), settings).await;
        let app = EchoUpstream::start().await;

        let toml = gateway_toml(&gateway, &glewlwyd.issuer, &app.url(), session_extra);
        let config = portcullis::config::Config::parse(&toml, "providers.toml", &|_| None)
            .unwrap_or_else(|errors| panic!("config rejected:\n{errors}\n{toml}"));
        let running = portcullis::startup::Application::with_listener(config, listener)
            .await
            .unwrap_or_else(|err| panic!("the gateway did not start: {err:#}"));
        tokio::spawn(running.run_until_stopped());
        wait_until_ready(&format!("{gateway}/ready")).await;
        Some(Deployment {
            glewlwyd,
            gateway,
            app,
            _gateway_log: gateway_log,
            _work_dir: work_dir,
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.gateway)
    }

    /// A new browser signed in through glewlwyd as `username`: the gateway's
    /// `/oauth2/start`, glewlwyd's authorization endpoint and login, the gateway's callback
    /// (which must send it on to `/`).
    pub async fn sign_in(&self, username: &str) -> Browser {
        let browser = Browser::new();
        let callback = self.through_glewlwyd(&browser, username).await;
        let resp = browser.navigate(&callback).await;
        assert_redirects_to(&resp, "/");
        browser
    }

    /// The gateway's `/oauth2/start` for `/`, then glewlwyd as `username`; returns the
    /// gateway callback URL glewlwyd sends the browser back to.
    pub async fn through_glewlwyd(&self, browser: &Browser, username: &str) -> String {
        let start = self.url(&format!("/oauth2/start?provider={PROVIDER_ID}&rd=/"));
        let authorize = location(&browser.navigate(&start).await);
        assert!(
            authorize.starts_with(&format!("{}/auth?", self.glewlwyd.issuer)),
            "{authorize}"
        );
        let callback = login_page::sign_in(browser, &self.glewlwyd, &authorize, username).await;
        assert!(
            callback
                .as_str()
                .starts_with(&self.url(&format!("/oauth2/callback/{PROVIDER_ID}?"))),
            "{callback}"
        );
        let param = |name| callback.query_pairs().any(|(n, _)| n == name);
        assert!(param("code") && param("state"), "{callback}");
        callback.to_string()
    }

    /// What the app behind the gateway received for one request of `browser` (a program's
    /// request, so the echo answers JSON).
    pub async fn app_request(&self, browser: &Browser) -> EchoedRequest {
        let resp = browser
            .client
            .get(self.url("/whoami"))
            .send()
            .await
            .expect("a request through the gateway");
        echoed(resp).await
    }
}

/// `providers.toml`: glewlwyd as an OpenID Connect provider, with only the settings any
/// provider needs; the echo upstream at `/` with the access token.
fn gateway_toml(gateway: &str, issuer: &str, app: &str, session_extra: &str) -> String {
    format!(
        r#"[server]
listen = {listen}
public_url = {gateway}

[session]
secret = {secret}
{session_extra}
[[provider]]
id = {id}
kind = "oidc"
name = "glewlwyd"
issuer = {issuer}
client_id = {client_id}
client_secret = {client_secret}
scopes = ["openid", "email", "profile"]

[authorize]
email_domains = ["example.com"]

[[upstream]]
path = "/"
url = {app}
pass_access_token = true
"#,
        listen = toml_str(gateway.trim_start_matches("http://")),
        gateway = toml_str(gateway),
        secret = toml_str(TEST_SESSION_SECRET),
        id = toml_str(PROVIDER_ID),
        issuer = toml_str(issuer),
        client_id = toml_str(provider::CLIENT_ID),
        client_secret = toml_str(provider::CLIENT_SECRET),
        app = toml_str(app),
    )
}
