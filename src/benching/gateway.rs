//! The gateway the benchmarks measure: a real [`AppState`] built from a realistic
//! configuration (one OpenID provider that also accepts API bearer tokens, ten routes by host
//! and path prefix), its provider discovered over loopback HTTP from a provider served here
//! for the set-up only, so its JWKS is held as after any start-up. Also the RS256 tokens that
//! provider would sign (with the test-only key of `tests/fixtures/`), and [`ready`], which
//! runs the measured futures.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use anyhow::Context as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use openidconnect::core::{CoreJsonWebKeySet, CoreJwsSigningAlgorithm, CoreRsaPrivateSigningKey};
use openidconnect::{JsonWebKeyId, PrivateSigningKey as _};
use serde_json::{json, Value};

use crate::config::Config;
use crate::state::AppState;

/// The mock provider's test-only signing key (`tests/fixtures/README.md`).
const SIGNING_KEY_PEM: &str = include_str!("../../tests/fixtures/mock_provider_rsa.pem");
const KEY_ID: &str = "bench-key-1";
/// The `[[provider]] id`, and the audience its API tokens carry.
pub(super) const PROVIDER_ID: &str = "corp";
pub(super) const CLIENT_ID: &str = "portcullis";
pub(super) const API_AUDIENCE: &str = "https://api.example.com";
/// The gateway's public host; the session cookie's name is the default one.
pub(super) const PUBLIC_HOST: &str = "gateway.example.com";

/// The routes: a protected app and API under path prefixes, public assets and health, an
/// admin area, and apps on hosts of their own (one with a path of its own, one for every
/// preview subdomain). Nothing serves `/` on the public host, so a path outside the
/// prefixes routes nowhere.
const ROUTES: &str = r#"
[[upstream]]
path = "/app"
url = "http://127.0.0.1:9001"

[[upstream]]
path = "/api/"
url = "http://127.0.0.1:9002/v2"
pass_access_token = true

[[upstream]]
path = "/static/"
url = "http://127.0.0.1:9003"
public = true

[[upstream]]
path = "/healthz"
url = "http://127.0.0.1:9003"
public = true

[[upstream]]
path = "/admin"
url = "http://127.0.0.1:9004"

[[upstream]]
path = "/grafana"
url = "http://127.0.0.1:9005"

[[upstream]]
host = "wiki.example.com"
path = "/"
url = "http://127.0.0.1:9006"

[[upstream]]
host = "git.example.com"
path = "/"
url = "http://127.0.0.1:9007"

[[upstream]]
host = "git.example.com"
path = "/api/v4"
url = "http://127.0.0.1:9008"

[[upstream]]
host = "*.preview.example.com"
path = "/"
url = "http://127.0.0.1:9009"
"#;

/// A discovered gateway, and the key its provider signs with.
pub(super) struct Gateway {
    pub(super) state: AppState,
    pub(super) issuer: String,
    key: CoreRsaPrivateSigningKey,
}

impl Gateway {
    /// Builds the state, serves the provider's discovery document and JWKS on a loopback
    /// port for as long as the provider takes to discover them, then stops serving.
    pub(super) fn discovered() -> anyhow::Result<Gateway> {
        let key = CoreRsaPrivateSigningKey::from_pem(
            SIGNING_KEY_PEM,
            Some(JsonWebKeyId::new(KEY_ID.to_owned())),
        )
        .map_err(|err| anyhow::anyhow!("the fixture signing key: {err}"))?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("a runtime for discovery")?;
        runtime.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .context("a loopback port for the provider")?;
            let issuer = format!("http://{}", listener.local_addr()?);
            let jwks = CoreJsonWebKeySet::new(vec![key.as_verification_key()]);
            let server = tokio::spawn(serve_provider(listener, issuer.clone(), jwks));
            let state = AppState::new(config(&issuer)?)?;
            let provider = state
                .providers
                .get(PROVIDER_ID)
                .context("the configured provider")?;
            let discovered = provider.discover().await;
            server.abort();
            discovered.context("discovering the provider")?;
            Ok(Gateway { state, issuer, key })
        })
    }

    /// A compact JWS of `claims`, signed RS256 by the provider's key.
    pub(super) fn sign(&self, typ: &str, claims: &Value) -> anyhow::Result<String> {
        let header = json!({ "alg": "RS256", "typ": typ, "kid": KEY_ID });
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = self
            .key
            .sign(
                &CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
                input.as_bytes(),
            )
            .map_err(|err| anyhow::anyhow!("signing a token: {err}"))?;
        Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature)))
    }
}

/// The gateway's configuration, with the provider at `issuer`.
fn config(issuer: &str) -> anyhow::Result<Config> {
    let source = format!(
        r#"[server]
listen = "127.0.0.1:4180"
public_url = "https://{PUBLIC_HOST}"

[session]
secret = "${{BENCH_SESSION_SECRET}}"
lifetime = "12h"

[[provider]]
id = "{PROVIDER_ID}"
kind = "oidc"
issuer = "{issuer}"
client_id = "{CLIENT_ID}"
client_secret = "${{BENCH_CLIENT_SECRET}}"
bearer = {{ audiences = ["{API_AUDIENCE}"] }}

[authorize]
email_domains = ["example.com"]
{ROUTES}"#
    );
    let env = |name: &str| match name {
        "BENCH_SESSION_SECRET" => Some("6a".repeat(32)),
        "BENCH_CLIENT_SECRET" => Some("bench-client-secret".to_owned()),
        _ => None,
    };
    Config::parse(&source, "bench.toml", &env)
        .map_err(|errors| anyhow::anyhow!("the benchmark configuration: {errors}"))
}

/// The discovery document (OpenID Connect Discovery 1.0 §3) and the JWKS of `issuer`.
async fn serve_provider(
    listener: tokio::net::TcpListener,
    issuer: String,
    jwks: CoreJsonWebKeySet,
) -> std::io::Result<()> {
    let document = json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "jwks_uri": format!("{issuer}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
    });
    let jwks = serde_json::to_value(&jwks).unwrap_or_default();
    let app = axum::Router::new()
        .route(
            "/.well-known/openid-configuration",
            axum::routing::get(move || {
                let document = document.clone();
                async move { axum::Json(document) }
            }),
        )
        .route(
            "/jwks",
            axum::routing::get(move || {
                let jwks = jwks.clone();
                async move { axum::Json(jwks) }
            }),
        );
    axum::serve(listener, app).await
}

/// Where the benchmarked requests come from.
pub(super) fn client_address() -> SocketAddr {
    SocketAddr::from(([203, 0, 113, 7], 50_000))
}

/// Unix seconds.
pub(super) fn now() -> u64 {
    crate::session::unix_now()
}

/// The output of `future` when it completes on its first poll, `None` when it would wait.
/// The measured paths do no I/O (the cookie store, a bearer token of a known key), so they
/// complete at once; polling them here costs nothing a runtime would add.
pub(super) fn ready<F: Future>(future: F) -> Option<F::Output> {
    match pin!(future).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(output) => Some(output),
        Poll::Pending => None,
    }
}
