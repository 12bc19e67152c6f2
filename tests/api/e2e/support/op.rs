//! The real OpenID provider: panva's `oidc-provider` run by `e2e/op/server.js` on a free
//! loopback port (see e2e/op/README.md for its users, pages and environment), with the
//! settings a journey may change (token lifetime, back-channel logout) and its test-only
//! counters (`/test/stats`).

use std::path::Path;
use std::process::Command;

use reqwest::StatusCode;
use serde::Deserialize;

use super::process::ChildProcess;
use super::PROVIDER_ID;

/// The client the provider registers for the gateway.
pub const CLIENT_ID: &str = "portcullis-e2e";
pub const CLIENT_SECRET: &str = "portcullis-e2e-client-secret-8d41c2";

/// How a journey wants the provider set up; the default is what every journey had before.
#[derive(Clone, Default)]
pub struct OpSettings {
    /// `OP_ACCESS_TOKEN_TTL`: seconds the access token and the ID token live (the provider's
    /// default, 600, when `None`).
    pub access_token_ttl: Option<u32>,
    /// Where the provider sends its back-channel logout (`OP_BACKCHANNEL_LOGOUT_URI`).
    pub backchannel_logout: Backchannel,
}

/// The client's `backchannel_logout_uri` at the provider.
#[derive(Clone, Default)]
pub enum Backchannel {
    /// None registered: ending a provider session notifies nobody.
    #[default]
    Off,
    /// The gateway's `/oauth2/backchannel_logout/{provider id}` (DESIGN §6).
    Gateway,
    /// Any other receiver, e.g. a test's own.
    To(String),
}

impl Backchannel {
    /// The URI for the gateway at `gateway` (`http://127.0.0.1:PORT`), if any.
    fn uri(&self, gateway: &str) -> Option<String> {
        match self {
            Backchannel::Off => None,
            Backchannel::Gateway => {
                Some(format!("{gateway}/oauth2/backchannel_logout/{PROVIDER_ID}"))
            }
            Backchannel::To(uri) => Some(uri.clone()),
        }
    }
}

/// The provider's `GET /test/stats`: what reached it since it started or since
/// [`OpenIdProvider::reset_stats`] (e2e/op/server.js says exactly what each counts).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpStats {
    /// Token-endpoint requests with `grant_type=refresh_token`, successful or not.
    pub refresh_grants: u64,
    /// Those of them that got an error answer.
    pub refresh_failures: u64,
    /// Back-channel logout notifications the receiver answered with 200 or 204.
    pub backchannel_logouts: u64,
    /// Back-channel logout notifications that failed (other status, no connection).
    pub backchannel_errors: u64,
    /// Distinct grants revoked (logout, refresh-token reuse, revocation endpoint).
    pub grants_revoked: u64,
}

/// A running provider; killed on drop.
pub struct OpenIdProvider {
    /// `http://127.0.0.1:PORT`, as its discovery document states it.
    pub issuer: String,
    /// A plain client for the test-only endpoints (no cookies, no redirects).
    client: reqwest::Client,
    _process: ChildProcess,
}

impl OpenIdProvider {
    /// Starts the provider with the gateway at `gateway` (`http://127.0.0.1:PORT`) as its
    /// only client, with the default settings, and waits for its `READY <issuer>` line.
    pub async fn start(repo: &Path, gateway: &str, log: &Path) -> OpenIdProvider {
        OpenIdProvider::start_with(repo, gateway, log, &OpSettings::default()).await
    }

    /// [`start`](Self::start) with `settings`.
    pub async fn start_with(
        repo: &Path,
        gateway: &str,
        log: &Path,
        settings: &OpSettings,
    ) -> OpenIdProvider {
        let mut command = Command::new("node");
        command
            .arg(repo.join("e2e/op/server.js"))
            .current_dir(repo.join("e2e/op"))
            .env("OP_PORT", "0")
            .env("OP_CLIENT_ID", CLIENT_ID)
            .env("OP_CLIENT_SECRET", CLIENT_SECRET)
            .env("OP_REDIRECT_URIS", format!("{gateway}/oauth2/callback/op"))
            .env(
                "OP_POST_LOGOUT_REDIRECT_URIS",
                format!("{gateway}/oauth2/signed_out"),
            );
        if let Some(ttl) = settings.access_token_ttl {
            command.env("OP_ACCESS_TOKEN_TTL", ttl.to_string());
        }
        if let Some(uri) = settings.backchannel_logout.uri(gateway) {
            command.env("OP_BACKCHANNEL_LOGOUT_URI", uri);
        }
        let (process, issuer) =
            ChildProcess::spawn("OpenID provider", command, log, false, |line| {
                line.strip_prefix("READY ")
                    .map(|issuer| issuer.trim().to_owned())
            })
            .await;
        assert!(
            issuer.starts_with("http://127.0.0.1:"),
            "unexpected issuer {issuer:?}"
        );
        // A new connection for each call: Node closes an idle keep-alive connection after
        // 5 s, and a call that picks it up at that moment is reset (seen once in a full run).
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(20))
            .pool_max_idle_per_host(0)
            .build()
            .expect("build the provider's test client");
        OpenIdProvider {
            issuer,
            client,
            _process: process,
        }
    }

    /// `{issuer}{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }

    /// The provider's counters now.
    pub async fn stats(&self) -> OpStats {
        let resp = self
            .client
            .get(self.url("/test/stats"))
            .send()
            .await
            .expect("GET /test/stats");
        stats_of(resp).await
    }

    /// Sets every counter back to 0.
    pub async fn reset_stats(&self) {
        let resp = self
            .client
            .post(self.url("/test/reset"))
            .send()
            .await
            .expect("POST /test/reset");
        assert_eq!(stats_of(resp).await, OpStats::default());
    }

    /// Ends every provider session of account `sub` (`alice`, `bob`, `carol`) as an admin
    /// would at the provider, without the gateway (`POST /test/logout?sub=`): one
    /// back-channel logout per session (with its `sid`) when one is registered, the
    /// session's grants revoked. Returns how many sessions ended.
    pub async fn end_sessions_of(&self, sub: &str) -> u64 {
        let resp = self
            .client
            .post(self.url("/test/logout"))
            .query(&[("sub", sub)])
            .send()
            .await
            .expect("POST /test/logout");
        assert_eq!(resp.status(), StatusCode::OK, "{}", resp.url());
        let answer: serde_json::Value = resp.json().await.expect("the provider's JSON");
        answer["sessions_ended"]
            .as_u64()
            .unwrap_or_else(|| panic!("no sessions_ended in {answer}"))
    }

    /// A token-endpoint request as the gateway's client (`client_secret_basic`) with `form`;
    /// the status and the JSON answer.
    pub async fn token_request(&self, form: &[(&str, &str)]) -> (StatusCode, serde_json::Value) {
        let resp = self
            .client
            .post(self.url("/token"))
            .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
            .form(form)
            .send()
            .await
            .expect("token request");
        let status = resp.status();
        let body = resp.json().await.expect("token endpoint JSON");
        (status, body)
    }
}

async fn stats_of(resp: reqwest::Response) -> OpStats {
    assert_eq!(resp.status(), StatusCode::OK, "{}", resp.url());
    resp.json().await.expect("the provider's stats JSON")
}
