//! The embedded development provider (`kind = "dev"`): a small but real OpenID provider
//! served under `/oauth2/dev/` for first runs, demos and local development.
//!
//! It has discovery, a JWKS (an Ed25519 key generated at each start), an authorization
//! endpoint that shows a "sign in as" form, a token endpoint that checks the client secret,
//! the redirect URI, single use of codes and PKCE S256, userinfo and end-session. The gateway
//! talks to it over HTTP through the same code path as any other provider. It only runs
//! when `listen` is a loopback address (checked by config validation) and every page it shows
//! says it is for development.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Form, State};
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use chrono::Utc;
use openidconnect::core::{
    CoreEdDsaPrivateSigningKey, CoreGenderClaim, CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
};
use openidconnect::{
    Audience, EndUserEmail, EndUserName, EndUserUsername, IdToken, IdTokenClaims, IssuerUrl,
    JsonWebKeyId, LocalizedClaim, Nonce, PrivateSigningKey, StandardClaims, SubjectIdentifier,
};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::oidc::ExtraClaims;
use crate::flow::QueryParams;
use crate::pages::{DevAuthorizePage, ErrorPage, Pages};

/// Codes and access tokens expire after this long.
const CODE_LIFETIME: Duration = Duration::from_secs(60);
const TOKEN_LIFETIME: Duration = Duration::from_secs(3600);
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
pub enum DevKeyError {
    /// The library's key parser reports only a message.
    #[error("the generated Ed25519 key is not accepted: {0}")]
    SigningKey(String),
    #[error("the verification key cannot be written as a JWK")]
    Jwk(#[source] serde_json::Error),
}

/// The development provider's state.
pub struct DevProvider {
    issuer: String,
    client_id: String,
    client_secret: SecretString,
    redirect_uri: String,
    signed_out_uri: String,
    signing_key: CoreEdDsaPrivateSigningKey,
    jwks: serde_json::Value,
    codes: Mutex<HashMap<String, PendingCode>>,
    tokens: Mutex<HashMap<String, (DevUser, Instant)>>,
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
    pub fn new(
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
            pages,
        })
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The secret the gateway's own client uses at this provider's token endpoint.
    pub fn client_secret(&self) -> SecretString {
        self.client_secret.clone()
    }

    /// The provider's endpoints, to be merged into the gateway's router.
    pub fn router<S>(self: Arc<Self>) -> Router<S> {
        Router::new()
            .route(
                "/oauth2/dev/.well-known/openid-configuration",
                get(discovery),
            )
            .route("/oauth2/dev/jwks", get(jwks))
            .route(
                "/oauth2/dev/authorize",
                get(authorize_form).post(authorize_submit),
            )
            .route("/oauth2/dev/token", axum::routing::post(token))
            .route("/oauth2/dev/userinfo", get(userinfo))
            .route("/oauth2/dev/end_session", get(end_session))
            .with_state(self)
    }

    fn error_page(&self, status: StatusCode, message: &str) -> Response {
        let page = ErrorPage {
            status: status.as_u16(),
            title: "Development provider: invalid request".to_owned(),
            message: message.to_owned(),
            request_id: String::new(),
            retry_url: Some("/oauth2/sign_in".to_owned()),
        };
        (status, Html(self.pages.error(&page))).into_response()
    }

    /// Checks an authorization request (OpenID Connect Core §3.1.2.2). Errors are shown,
    /// never redirected: the redirect URI itself may be the problem.
    fn check_authorization_request(
        &self,
        params: &HashMap<String, String>,
    ) -> Result<(), &'static str> {
        let get = |k: &str| params.get(k).map(String::as_str);
        if get("client_id") != Some(self.client_id.as_str()) {
            return Err("unknown client_id");
        }
        if get("redirect_uri") != Some(self.redirect_uri.as_str()) {
            return Err("redirect_uri is not the registered one");
        }
        if get("response_type") != Some("code") {
            return Err("only response_type=code is supported");
        }
        if get("code_challenge_method") != Some("S256")
            || get("code_challenge").is_none_or(str::is_empty)
        {
            return Err("PKCE with code_challenge_method=S256 is required");
        }
        if get("state").is_none_or(str::is_empty) {
            return Err("state is required");
        }
        Ok(())
    }

    fn sign_id_token(&self, user: &DevUser, nonce: Option<String>) -> Result<String, String> {
        let issuer = IssuerUrl::new(self.issuer.clone()).map_err(|e| e.to_string())?;
        let now = Utc::now();
        let mut name = LocalizedClaim::new();
        name.insert(None, EndUserName::new(user.name.clone()));
        let standard = StandardClaims::<CoreGenderClaim>::new(SubjectIdentifier::new(user.sub()))
            .set_email(Some(EndUserEmail::new(user.email.clone())))
            .set_email_verified(Some(true))
            .set_name(Some(name))
            .set_preferred_username(Some(EndUserUsername::new(user.username())));
        let claims = IdTokenClaims::new(
            issuer,
            vec![Audience::new(self.client_id.clone())],
            now + chrono::Duration::minutes(5),
            now,
            standard,
            ExtraClaims {
                groups: Some(serde_json::json!(user.groups)),
            },
        )
        .set_nonce(nonce.map(Nonce::new));
        let token = IdToken::<
            ExtraClaims,
            CoreGenderClaim,
            CoreJweContentEncryptionAlgorithm,
            CoreJwsSigningAlgorithm,
        >::new(
            claims,
            &self.signing_key,
            CoreJwsSigningAlgorithm::EdDsa,
            None,
            None,
        )
        .map_err(|e| e.to_string())?;
        Ok(token.to_string())
    }

    /// Client authentication by HTTP Basic or form parameters (RFC 6749 §2.3.1).
    fn client_authenticated(&self, headers: &HeaderMap, form: &TokenForm) -> bool {
        let basic = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Basic "))
            .and_then(|b64| STANDARD.decode(b64).ok())
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .and_then(|pair| {
                let (id, secret) = pair.split_once(':')?;
                Some((form_decode(id), form_decode(secret)))
            });
        let (id, secret) = match (basic, &form.client_id, &form.client_secret) {
            (Some(pair), _, _) => pair,
            (None, Some(id), Some(secret)) => (id.clone(), secret.clone()),
            _ => return false,
        };
        id == self.client_id
            && bool::from(
                secret
                    .as_bytes()
                    .ct_eq(self.client_secret.expose_secret().as_bytes()),
            )
    }
}

async fn discovery(State(dev): State<Arc<DevProvider>>) -> Json<serde_json::Value> {
    let issuer = &dev.issuer;
    Json(serde_json::json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "userinfo_endpoint": format!("{issuer}/userinfo"),
        "jwks_uri": format!("{issuer}/jwks"),
        "end_session_endpoint": format!("{issuer}/end_session"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["EdDSA"],
        "scopes_supported": ["openid", "email", "profile", "groups"],
        "claims_supported": ["sub", "email", "email_verified", "name", "preferred_username", "groups"],
        "grant_types_supported": ["authorization_code"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "authorization_response_iss_parameter_supported": true,
    }))
}

async fn jwks(State(dev): State<Arc<DevProvider>>) -> Json<serde_json::Value> {
    Json(dev.jwks.clone())
}

/// The query or form fields of an authorization request that travel through the form.
const AUTHORIZATION_FIELDS: [&str; 8] = [
    "client_id",
    "redirect_uri",
    "response_type",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
];

async fn authorize_form(State(dev): State<Arc<DevProvider>>, uri: Uri) -> Response {
    let query = QueryParams::from_uri(&uri);
    let params: HashMap<String, String> = AUTHORIZATION_FIELDS
        .iter()
        .filter_map(|k| query.get(k).map(|v| ((*k).to_owned(), v.to_owned())))
        .collect();
    if let Err(problem) = dev.check_authorization_request(&params) {
        return dev.error_page(StatusCode::BAD_REQUEST, problem);
    }
    let page = DevAuthorizePage {
        action: "/oauth2/dev/authorize".to_owned(),
        hidden: AUTHORIZATION_FIELDS
            .iter()
            .filter_map(|k| params.get(*k).map(|v| ((*k).to_owned(), v.clone())))
            .collect(),
        client_id: dev.client_id.clone(),
        default_email: "dev@example.com".to_owned(),
    };
    Html(dev.pages.dev_authorize(&page)).into_response()
}

async fn authorize_submit(
    State(dev): State<Arc<DevProvider>>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if let Err(problem) = dev.check_authorization_request(&form) {
        return dev.error_page(StatusCode::BAD_REQUEST, problem);
    }
    let email = form
        .get("email")
        .map(|e| e.trim().to_owned())
        .unwrap_or_default();
    if email.is_empty() || !email.contains('@') || email.len() > 254 {
        return dev.error_page(StatusCode::BAD_REQUEST, "enter an email address");
    }
    let user = DevUser {
        name: form
            .get("name")
            .map(|n| n.trim().to_owned())
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| email.clone()),
        groups: form
            .get("groups")
            .map(|g| {
                g.split(',')
                    .map(str::trim)
                    .filter(|g| !g.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default(),
        email,
    };
    let code = random_token();
    let pending = PendingCode {
        user,
        redirect_uri: dev.redirect_uri.clone(),
        nonce: form.get("nonce").cloned(),
        code_challenge: form.get("code_challenge").cloned().unwrap_or_default(),
        issued: Instant::now(),
    };
    if let Ok(mut codes) = dev.codes.lock() {
        codes.retain(|_, c| c.issued.elapsed() < CODE_LIFETIME);
        codes.insert(code.clone(), pending);
    }
    let mut target = match url::Url::parse(&dev.redirect_uri) {
        Ok(url) => url,
        Err(_) => return dev.error_page(StatusCode::INTERNAL_SERVER_ERROR, "bad redirect URI"),
    };
    target
        .query_pairs_mut()
        .append_pair("code", &code)
        .append_pair(
            "state",
            form.get("state").map(String::as_str).unwrap_or_default(),
        )
        .append_pair("iss", &dev.issuer);
    crate::flow::redirect(target.as_str())
}

#[derive(Deserialize)]
struct TokenForm {
    grant_type: Option<String>,
    code: Option<String>,
    redirect_uri: Option<String>,
    code_verifier: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

/// RFC 6749 §5.2 error answer.
fn token_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        Json(serde_json::json!({ "error": error, "error_description": description })),
    )
        .into_response()
}

async fn token(
    State(dev): State<Arc<DevProvider>>,
    headers: HeaderMap,
    Form(form): Form<TokenForm>,
) -> Response {
    if !dev.client_authenticated(&headers, &form) {
        return token_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client authentication failed",
        );
    }
    if form.grant_type.as_deref() != Some("authorization_code") {
        return token_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "only authorization_code",
        );
    }
    let pending = form.code.as_ref().and_then(|code| {
        dev.codes
            .lock()
            .ok()
            .and_then(|mut codes| codes.remove(code))
    });
    let Some(pending) = pending.filter(|p| p.issued.elapsed() < CODE_LIFETIME) else {
        return token_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "unknown, used or expired code",
        );
    };
    if form.redirect_uri.as_deref() != Some(pending.redirect_uri.as_str()) {
        return token_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "redirect_uri mismatch",
        );
    }
    let challenge = form
        .code_verifier
        .as_ref()
        .map(|v| URL_SAFE_NO_PAD.encode(Sha256::digest(v.as_bytes())));
    if challenge.as_deref() != Some(pending.code_challenge.as_str()) {
        return token_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "PKCE verification failed",
        );
    }
    let id_token = match dev.sign_id_token(&pending.user, pending.nonce) {
        Ok(token) => token,
        Err(err) => {
            tracing::error!(error = %err, "development provider could not sign an ID token");
            return token_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "signing failed",
            );
        }
    };
    let access_token = random_token();
    if let Ok(mut tokens) = dev.tokens.lock() {
        tokens.retain(|_, (_, issued)| issued.elapsed() < TOKEN_LIFETIME);
        tokens.insert(access_token.clone(), (pending.user, Instant::now()));
    }
    let mut response = Json(serde_json::json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": TOKEN_LIFETIME.as_secs(),
        "id_token": id_token,
    }))
    .into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    response
}

async fn userinfo(State(dev): State<Arc<DevProvider>>, headers: HeaderMap) -> Response {
    let user = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .and_then(|token| {
            let tokens = dev.tokens.lock().ok()?;
            let (user, issued) = tokens.get(token)?;
            (issued.elapsed() < TOKEN_LIFETIME).then(|| user.clone())
        });
    match user {
        Some(user) => Json(serde_json::json!({
            "sub": user.sub(),
            "email": user.email,
            "email_verified": true,
            "name": user.name,
            "preferred_username": user.username(),
            "groups": user.groups,
        }))
        .into_response(),
        None => (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer error=\"invalid_token\"")],
        )
            .into_response(),
    }
}

/// RP-initiated logout: the development provider keeps no session of its own, so it only
/// sends the browser to the gateway's signed-out page (never to a caller-chosen address).
async fn end_session(State(dev): State<Arc<DevProvider>>) -> Response {
    crate::flow::redirect(&dev.signed_out_uri)
}

fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

fn form_decode(text: &str) -> String {
    url::form_urlencoded::parse(format!("x={text}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}
