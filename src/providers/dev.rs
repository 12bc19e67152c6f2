//! The embedded development provider (`kind = "dev"`): a small but real OpenID provider
//! served under `/oauth2/dev/` for first runs, demos and local development.
//!
//! It has discovery, a JWKS (an Ed25519 key generated at each start), an authorization
//! endpoint that shows a "sign in as" form, a token endpoint that checks the client secret,
//! the redirect URI, single use of codes and PKCE S256, userinfo and end-session. The gateway
//! talks to it over HTTP through the same code path as any other provider. It only runs
//! when `listen` is a loopback address (checked by config validation) and every page it shows
//! says it is for development.

mod authorize;
mod discovery;
mod token;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::routing::get;
use axum::Router;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use openidconnect::core::CoreEdDsaPrivateSigningKey;
use openidconnect::{JsonWebKeyId, PrivateSigningKey};
use rand::RngCore;
use secrecy::SecretString;
use sha2::{Digest, Sha256};

use crate::pages::Pages;

/// Codes and access tokens expire after this long.
const CODE_LIFETIME: Duration = Duration::from_secs(60);
const TOKEN_LIFETIME: Duration = Duration::from_secs(3600);
/// Refresh tokens are single-use and expire after this long unused.
const REFRESH_LIFETIME: Duration = Duration::from_secs(24 * 3600);
/// PKCS#8 v1 DER prefix of an Ed25519 private key (RFC 8410 §7); the 32-byte seed follows.
const ED25519_PKCS8_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

/// The person the form signed in as.
#[derive(Debug, Clone)]
struct DevUser {
    email: String,
    name: String,
    groups: Vec<String>,
}

impl DevUser {
    /// A stable `sub` derived from the email.
    fn sub(&self) -> String {
        let digest = Sha256::digest(self.email.to_ascii_lowercase().as_bytes());
        let hex: String = digest.iter().take(12).map(|b| format!("{b:02x}")).collect();
        format!("dev-{hex}")
    }

    fn username(&self) -> String {
        self.email.split('@').next().unwrap_or_default().to_owned()
    }
}

struct PendingCode {
    user: DevUser,
    redirect_uri: String,
    nonce: Option<String>,
    code_challenge: String,
    issued: Instant,
}

/// Why the development provider's signing key could not be made at start-up.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DevKeyError {
    /// The library's key parser reports only a message.
    #[error("the generated Ed25519 key is not accepted: {0}")]
    SigningKey(String),
    #[error("the verification key cannot be written as a JWK")]
    Jwk(#[source] serde_json::Error),
}

/// The development provider's state.
pub(crate) struct DevProvider {
    issuer: String,
    client_id: String,
    client_secret: SecretString,
    redirect_uri: String,
    signed_out_uri: String,
    signing_key: CoreEdDsaPrivateSigningKey,
    jwks: serde_json::Value,
    codes: Mutex<HashMap<String, PendingCode>>,
    tokens: Mutex<HashMap<String, (DevUser, Instant)>>,
    /// Unredeemed refresh tokens.
    refresh_tokens: Mutex<HashMap<String, (DevUser, Instant)>>,
    pages: Arc<Pages>,
}

impl std::fmt::Debug for DevProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevProvider")
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

impl DevProvider {
    /// `public_url` has no trailing slash; `provider_id` names the callback path.
    pub(crate) fn new(
        public_url: &str,
        provider_id: &str,
        client_id: &str,
        pages: Arc<Pages>,
    ) -> Result<DevProvider, DevKeyError> {
        let mut seed = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut seed);
        let mut der = ED25519_PKCS8_PREFIX.to_vec();
        der.extend_from_slice(&seed);
        let pem = format!(
            "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
            STANDARD.encode(&der)
        );
        let kid_suffix: String = random_token().chars().take(8).collect();
        let kid = JsonWebKeyId::new(format!("dev-{kid_suffix}"));
        let signing_key = CoreEdDsaPrivateSigningKey::from_ed25519_pem(&pem, Some(kid))
            .map_err(DevKeyError::SigningKey)?;
        let jwk =
            serde_json::to_value(signing_key.as_verification_key()).map_err(DevKeyError::Jwk)?;
        Ok(DevProvider {
            issuer: format!("{public_url}/oauth2/dev"),
            client_id: client_id.to_owned(),
            client_secret: SecretString::from(random_token()),
            redirect_uri: format!("{public_url}/oauth2/callback/{provider_id}"),
            signed_out_uri: format!("{public_url}/oauth2/signed_out"),
            signing_key,
            jwks: serde_json::json!({ "keys": [jwk] }),
            codes: Mutex::new(HashMap::new()),
            tokens: Mutex::new(HashMap::new()),
            refresh_tokens: Mutex::new(HashMap::new()),
            pages,
        })
    }

    pub(crate) fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Whether this is the provider [`DevProvider::new`] would make for these arguments (but
    /// for its random key and secret): a reload keeps it.
    pub(crate) fn serves(&self, public_url: &str, provider_id: &str, client_id: &str) -> bool {
        self.issuer == format!("{public_url}/oauth2/dev")
            && self.redirect_uri == format!("{public_url}/oauth2/callback/{provider_id}")
            && self.client_id == client_id
    }

    /// The secret the gateway's own client uses at this provider's token endpoint.
    pub(crate) fn client_secret(&self) -> SecretString {
        self.client_secret.clone()
    }

    /// The provider's endpoints, to be merged into the gateway's router. Those only the
    /// gateway's own client calls (discovery, keys, token, userinfo) are logged at debug
    /// (`crate::telemetry::RoutineAnswer`); the pages a browser visits at info.
    pub(crate) fn router<S>(self: Arc<Self>) -> Router<S> {
        let back_channel = Router::new()
            .route(
                "/oauth2/dev/.well-known/openid-configuration",
                get(discovery::discovery),
            )
            .route("/oauth2/dev/jwks", get(discovery::jwks))
            .route("/oauth2/dev/token", axum::routing::post(token::token))
            .route("/oauth2/dev/userinfo", get(token::userinfo))
            .route_layer(axum::middleware::map_response(crate::telemetry::routine));
        Router::new()
            .merge(back_channel)
            .route(
                "/oauth2/dev/authorize",
                get(authorize::authorize_form).post(authorize::authorize_submit),
            )
            .route("/oauth2/dev/end_session", get(discovery::end_session))
            .with_state(self)
    }
}

fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}
