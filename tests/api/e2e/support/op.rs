//! The real OpenID provider: panva's `oidc-provider` run by `e2e/op/server.js` on a free
//! loopback port (see e2e/op/README.md for its users, pages and environment).

use std::path::Path;
use std::process::Command;

use super::process::ChildProcess;

/// The client the provider registers for the gateway.
pub const CLIENT_ID: &str = "portcullis-e2e";
pub const CLIENT_SECRET: &str = "portcullis-e2e-client-secret-8d41c2";

/// A running provider; killed on drop.
pub struct OpenIdProvider {
    /// `http://127.0.0.1:PORT`, as its discovery document states it.
    pub issuer: String,
    _process: ChildProcess,
}

impl OpenIdProvider {
    /// Starts the provider with the gateway at `gateway` (`http://127.0.0.1:PORT`) as its
    /// only client, and waits for its `READY <issuer>` line.
    pub async fn start(repo: &Path, gateway: &str, log: &Path) -> OpenIdProvider {
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
        OpenIdProvider {
            issuer,
            _process: process,
        }
    }

    /// `{issuer}{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }
}
