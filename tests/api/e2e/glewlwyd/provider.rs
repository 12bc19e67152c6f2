//! glewlwyd itself: `e2e/glewlwyd/run.sh` (which provisions a fresh instance in the test's
//! work directory and keeps it running) on a free loopback port, and the administrator's API
//! calls a journey makes while it runs (a signing-key rotation).

use std::path::{Path, PathBuf};
use std::process::Command;

use reqwest::StatusCode;
use serde_json::{json, Value};

use super::super::support::{find_program, skip, ChildProcess, Unready};

/// The client `run.sh` registers for the gateway.
pub const CLIENT_ID: &str = "portcullis-e2e";
pub const CLIENT_SECRET: &str = "portcullis-e2e-glewlwyd-secret-5b7e1c";
/// Every user's password (alice: email verified, groups staff and admins; carol: email not
/// verified, no groups).
pub const PASSWORD: &str = "secret";
/// glewlwyd's initial administrator, from its own database init script.
const ADMIN: (&str, &str) = ("admin", "password");
/// The OpenID Connect plugin's instance name: its endpoints are under `/api/oidc/`.
pub const PLUGIN: &str = "oidc";

/// What `run.sh` needs, or why the test is skipped (`None`; a failure under
/// `PORTCULLIS_E2E=1`).
pub fn installed() -> Option<PathBuf> {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let tools = [
        ("glewlwyd", "install Debian's `glewlwyd`"),
        ("sqlite3", "install Debian's `sqlite3`"),
        ("rnbyc", "install Debian's `rnbyc`"),
        ("jq", "install Debian's `jq`"),
        ("curl", "install Debian's `curl`"),
    ];
    for (program, how_to_fix) in tools {
        if let Err(reason) = find_program(program, None, how_to_fix) {
            return skip(&reason);
        }
    }
    Some(repo)
}

/// A running glewlwyd; killed (with `run.sh`) on drop.
pub struct Glewlwyd {
    /// `http://127.0.0.1:PORT/api/oidc`, as its discovery document states it.
    pub issuer: String,
    /// `http://127.0.0.1:PORT`.
    base: String,
    /// Where `run.sh` put the database, the configuration and the keys.
    dir: PathBuf,
    _process: ChildProcess,
}

/// How a journey wants glewlwyd set up.
#[derive(Clone, Copy)]
pub struct Settings<'a> {
    /// The gateway's public URL, for the client's redirect URIs.
    pub gateway: &'a str,
    /// The gateway's provider id (the callback is `/oauth2/callback/{id}`).
    pub provider_id: &'a str,
    /// Seconds an access token and an ID token live (glewlwyd's 3600 when `None`).
    pub access_token_ttl: Option<u32>,
}

impl Glewlwyd {
    /// Provisions and starts glewlwyd in `work_dir/glewlwyd/`, its log in
    /// `work_dir/glewlwyd.log`, and waits for `run.sh`'s `READY <issuer>`. A port taken
    /// between choosing and binding it is retried on another.
    pub async fn start(repo: &Path, work_dir: &Path, settings: Settings<'_>) -> Glewlwyd {
        let dir = work_dir.join("glewlwyd");
        let log = work_dir.join("glewlwyd.log");
        for _ in 0..3 {
            let _ = std::fs::remove_dir_all(&dir);
            let port = free_port();
            let mut command = Command::new("bash");
            command
                .arg(repo.join("e2e/glewlwyd/run.sh"))
                .env("GLEWLWYD_PORT", port.to_string())
                .env("GLEWLWYD_DIR", &dir)
                .env("GATEWAY_URL", settings.gateway)
                .env("PROVIDER_ID", settings.provider_id);
            if let Some(ttl) = settings.access_token_ttl {
                command.env("ACCESS_TOKEN_TTL", ttl.to_string());
            }
            let ready = |line: &str| {
                line.strip_prefix("READY ")
                    .map(|issuer| issuer.trim().to_owned())
            };
            match ChildProcess::try_spawn("glewlwyd", command, &log, true, ready).await {
                Ok((process, issuer)) => {
                    assert_eq!(issuer, format!("http://127.0.0.1:{port}/api/{PLUGIN}"));
                    return Glewlwyd {
                        issuer,
                        base: format!("http://127.0.0.1:{port}"),
                        dir,
                        _process: process,
                    };
                }
                Err(Unready::Exited(message)) => eprintln!("{message}\n(trying another port)"),
            }
        }
        panic!(
            "glewlwyd did not start on any of three ports; see {}",
            log.display()
        );
    }

    /// `http://127.0.0.1:PORT{path}` (`path` like `/api/auth/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The key ids glewlwyd publishes now (`/api/oidc/jwks`), in its order.
    pub async fn published_kids(&self) -> Vec<String> {
        let jwks: Value = plain_client()
            .get(format!("{}/jwks", self.issuer))
            .send()
            .await
            .expect("GET the JWKS")
            .json()
            .await
            .expect("JWKS JSON");
        key_ids(&jwks)
    }

    /// Rotates the signing key as glewlwyd's documentation describes (OIDC.md, "Key
    /// rotation"): as the administrator, the plugin's `jwks-private` becomes the new key
    /// followed by the current one, the new one its `default-kid`, and the plugin is reset to
    /// load them. Tokens are signed with the new key from then on; the old one stays
    /// published for tokens already issued. Returns the new key's id.
    pub async fn rotate_signing_key(&self) -> String {
        let current = self.jwks_file("signing-key.jwks");
        let next = self.jwks_file("next-signing-key.jwks");
        let new_kid = key_ids(&next).remove(0);
        let keys: Vec<Value> = [&next, &current]
            .iter()
            .flat_map(|jwks| jwks["keys"].as_array().cloned().unwrap_or_default())
            .collect();

        let admin = self.admin().await;
        let plugin_url = self.url(&format!("/api/mod/plugin/{PLUGIN}"));
        let resp = admin.get(&plugin_url).send().await.expect("GET the plugin");
        assert_eq!(resp.status(), StatusCode::OK, "GET {plugin_url}");
        let mut plugin: Value = resp.json().await.expect("the plugin's JSON");
        plugin["parameters"]["jwks-private"] = json!(json!({ "keys": keys }).to_string());
        plugin["parameters"]["default-kid"] = json!(new_kid);
        let update = json!({
            "display_name": plugin["display_name"],
            "order_rank": plugin["order_rank"],
            "readonly": plugin["readonly"],
            "parameters": plugin["parameters"],
        });
        let resp = admin
            .put(&plugin_url)
            .json(&update)
            .send()
            .await
            .expect("PUT the plugin");
        let status = resp.status();
        assert_eq!(
            status,
            StatusCode::OK,
            "{}",
            resp.text().await.unwrap_or_default()
        );
        let resp = admin
            .put(format!("{plugin_url}/reset"))
            .send()
            .await
            .expect("reset the plugin");
        assert_eq!(resp.status(), StatusCode::OK, "reset {plugin_url}");
        new_kid
    }

    /// A client signed in as glewlwyd's administrator (its session cookie).
    async fn admin(&self) -> reqwest::Client {
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(20))
            .build()
            .expect("build the admin client");
        let resp = client
            .post(self.url("/api/auth/"))
            .json(&json!({ "username": ADMIN.0, "password": ADMIN.1 }))
            .send()
            .await
            .expect("sign in as glewlwyd's admin");
        assert_eq!(resp.status(), StatusCode::OK, "admin sign-in");
        client
    }

    fn jwks_file(&self, name: &str) -> Value {
        let path = self.dir.join(name);
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|err| panic!("read {}: {err}", path.display()));
        serde_json::from_str(&text).expect("a JWKS from rnbyc")
    }
}

/// A client without cookies that does not follow redirects.
pub fn plain_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(20))
        .build()
        .expect("build a client")
}

fn key_ids(jwks: &Value) -> Vec<String> {
    jwks["keys"]
        .as_array()
        .unwrap_or_else(|| panic!("not a JWKS: {jwks}"))
        .iter()
        .map(|key| key["kid"].as_str().expect("a kid").to_owned())
        .collect()
}

/// A loopback port that was free a moment ago (glewlwyd cannot bind port 0: its issuer must
/// name the port before it starts).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free loopback port")
        .port()
}
