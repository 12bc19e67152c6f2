//! An in-process OpenID provider that the gateway under test signs in with, and that each
//! test can make misbehave.
//!
//! It behaves like a provider where the user is already logged in: the authorization
//! endpoint checks the request (client, redirect URI, `response_type=code`, PKCE S256) and
//! answers at once with a 302 to the redirect URI carrying `code`, `state` and the RFC 9207
//! `iss`. The token endpoint checks the grant (single-use code, redirect URI, client
//! authentication, PKCE per RFC 7636 §4.6) and issues an RS256 ID token signed with the
//! fixed test key in `tests/fixtures/`; with [`Behaviour::issue_refresh_tokens`] it also
//! issues refresh tokens and redeems them, rotating, in `mock_provider/refresh.rs`. Every
//! request is recorded so tests can assert on what the gateway sent, and [`Behaviour`]
//! switches on one misbehaviour at a time.

mod refresh;

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use openidconnect::core::{
    CoreHmacKey, CoreJsonWebKey, CoreJwsSigningAlgorithm, CoreRsaPrivateSigningKey,
};
use openidconnect::{JsonWebKeyId, PrivateSigningKey};
use rand::RngCore as _;
use serde_json::{json, Map, Value};
use sha2::{Digest as _, Sha256};
use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The provider's current signing key (PKCS#1 PEM, test-only).
pub const SIGNING_KEY_PEM: &str = include_str!("../fixtures/mock_provider_rsa.pem");
/// The public half of [`SIGNING_KEY_PEM`] as SPKI PEM: the HMAC secret of the key-confusion attack.
pub const SIGNING_PUBLIC_KEY_PEM: &str = include_str!("../fixtures/mock_provider_rsa.pub.pem");
/// The provider's next signing key, for key-rotation tests (PKCS#1 PEM, test-only).
pub const ROTATED_KEY_PEM: &str = include_str!("../fixtures/mock_provider_rsa_rotated.pem");
pub const SIGNING_KID: &str = "mock-key-1";
pub const ROTATED_KID: &str = "mock-key-2";

/// The person who is "already logged in" at the provider.
#[derive(Clone, Debug, PartialEq)]
pub struct UserClaims {
    pub sub: String,
    pub email: Option<String>,
    pub email_verified: Option<bool>,
    pub name: Option<String>,
    pub preferred_username: Option<String>,
    pub groups: Vec<String>,
}

impl Default for UserClaims {
    fn default() -> Self {
        UserClaims {
            sub: "alice-sub-0001".to_owned(),
            email: Some("alice@example.com".to_owned()),
            email_verified: Some(true),
            name: Some("Alice Example".to_owned()),
            preferred_username: Some("alice".to_owned()),
            groups: vec!["staff".to_owned(), "admins".to_owned()],
        }
    }
}

impl UserClaims {
    /// The claims as a JSON object (absent values are left out).
    pub fn to_json(&self, include_sub: bool) -> Map<String, Value> {
        let mut claims = Map::new();
        if include_sub {
            claims.insert("sub".into(), json!(self.sub));
        }
        if let Some(email) = &self.email {
            claims.insert("email".into(), json!(email));
        }
        if let Some(verified) = self.email_verified {
            claims.insert("email_verified".into(), json!(verified));
        }
        if let Some(name) = &self.name {
            claims.insert("name".into(), json!(name));
        }
        if let Some(username) = &self.preferred_username {
            claims.insert("preferred_username".into(), json!(username));
        }
        claims.insert("groups".into(), json!(self.groups));
        claims
    }
}

/// How the ID token is signed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Signing {
    /// RS256 with the current key, kid [`SIGNING_KID`] (the honest default).
    Rs256,
    /// RS256 with the rotated key, kid [`ROTATED_KID`]; in the JWKS only once
    /// [`Behaviour::publish_rotated_key`] is set.
    RotatedKey,
    /// `alg: none` with an empty signature.
    AlgNone,
    /// HS256 keyed with the provider's public key PEM ("key confusion"), kid [`SIGNING_KID`].
    Hs256WithPublicKey,
    /// RS256 with the current key, then one byte of the signature flipped.
    BadSignature,
}

/// What the `nonce` claim of the ID token holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NonceMode {
    /// The nonce of the authorization request (the honest default).
    Echo,
    /// Some other value.
    Wrong,
    /// No `nonce` claim.
    Missing,
}

/// What the token endpoint answers to the code grant once it has accepted (or before it
/// checks) the request; refresh grants follow [`Behaviour::refresh_error`] instead.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TokenResponseMode {
    /// Validate the request and issue tokens (the honest default).
    Normal,
    /// 400 with an RFC 6749 §5.2 error body, e.g. `invalid_grant`.
    OAuthError { error: String, description: String },
    /// 500 with an HTML body.
    ServerError,
    /// 200 with a body that is not JSON.
    Garbage,
    /// 200 with valid JSON but no `id_token`.
    WithoutIdToken,
}

/// The `iss` parameter on the redirect back to the gateway (RFC 9207).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallbackIss {
    /// The provider's issuer (the honest default).
    Correct,
    Wrong(String),
    Absent,
}

/// How the token endpoint expects the client to authenticate (RFC 6749 §2.3.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientAuthMethod {
    ClientSecretBasic,
    ClientSecretPost,
}

/// Everything a test can change about the provider. Defaults describe an honest provider.
#[derive(Clone, Debug)]
pub struct Behaviour {
    pub user: UserClaims,
    /// Put email and profile claims (email, email_verified, name, preferred_username,
    /// groups) in the ID token; when false they are only in the userinfo answer.
    pub claims_in_id_token: bool,
    /// `issuer` in the discovery document; `None` = the real issuer.
    pub discovery_issuer: Option<String>,
    /// Advertise `end_session_endpoint` in discovery.
    pub end_session_endpoint: bool,
    /// Advertise `authorization_response_iss_parameter_supported: true` in discovery.
    pub advertise_iss_parameter: bool,
    /// `iss` claim of the ID token; `None` = the real issuer.
    pub id_token_iss: Option<String>,
    /// `aud` claim of the ID token; `None` = the client id as a string.
    pub id_token_aud: Option<Value>,
    /// `azp` claim of the ID token; `None` = absent.
    pub id_token_azp: Option<String>,
    /// `exp` = now + this many seconds (negative: already expired).
    pub exp_offset_secs: i64,
    /// `iat` = now + this many seconds (large positive: issued in the future).
    pub iat_offset_secs: i64,
    pub nonce: NonceMode,
    /// Leave `sub` out of the ID token.
    pub omit_sub: bool,
    /// Merged into the ID token claims last; a `null` value removes the claim.
    pub id_token_overrides: Map<String, Value>,
    pub signing: Signing,
    /// Leave `kid` out of the ID token header.
    pub omit_kid: bool,
    /// Publish the rotated key ([`ROTATED_KID`]) in the JWKS next to the current one.
    pub publish_rotated_key: bool,
    /// `sub` in the userinfo answer; `None` = the user's sub.
    pub userinfo_sub: Option<String>,
    /// Answer userinfo with this status and no claims.
    pub userinfo_status: Option<u16>,
    pub token_response: TokenResponseMode,
    pub client_auth: ClientAuthMethod,
    pub callback_iss: CallbackIss,
    /// Redirect back with `error=<0>&error_description=<1>` instead of a code.
    pub authorize_error: Option<(String, String)>,
    /// The code grant also issues a refresh token (a new family, see `mock_provider/refresh.rs`).
    pub issue_refresh_tokens: bool,
    /// `expires_in` of every access token; `None` = 3600.
    pub access_token_lifetime: Option<u64>,
    /// A refreshed answer carries no new ID token.
    pub refresh_without_id_token: bool,
    /// Answer every refresh grant with this status and RFC 6749 §5.2 `error`, e.g.
    /// `(503, "temporarily_unavailable")` or `(400, "invalid_grant")`, consuming nothing.
    pub refresh_error: Option<(u16, &'static str)>,
    /// The `sid` claim of every ID token (OpenID Connect Back-Channel Logout 1.0 §2.1).
    pub sid: Option<String>,
}

impl Default for Behaviour {
    fn default() -> Self {
        Behaviour {
            user: UserClaims::default(),
            claims_in_id_token: true,
            discovery_issuer: None,
            end_session_endpoint: true,
            advertise_iss_parameter: true,
            id_token_iss: None,
            id_token_aud: None,
            id_token_azp: None,
            exp_offset_secs: 600,
            iat_offset_secs: 0,
            nonce: NonceMode::Echo,
            omit_sub: false,
            id_token_overrides: Map::new(),
            signing: Signing::Rs256,
            omit_kid: false,
            publish_rotated_key: false,
            userinfo_sub: None,
            userinfo_status: None,
            token_response: TokenResponseMode::Normal,
            client_auth: ClientAuthMethod::ClientSecretBasic,
            callback_iss: CallbackIss::Correct,
            authorize_error: None,
            issue_refresh_tokens: false,
            access_token_lifetime: None,
            refresh_without_id_token: false,
            refresh_error: None,
            sid: None,
        }
    }
}

/// Query or form parameters in the order received, duplicates kept.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Params(pub Vec<(String, String)>);

impl Params {
    pub fn parse(encoded: &str) -> Self {
        Params(
            url::form_urlencoded::parse(encoded.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// How many times `name` occurs.
    pub fn count(&self, name: &str) -> usize {
        self.0.iter().filter(|(k, _)| k == name).count()
    }
}

/// One request to the token endpoint.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TokenRequest {
    pub form: Params,
    /// The `Authorization` header as sent.
    pub authorization: Option<String>,
    pub content_type: Option<String>,
}

/// Everything the provider has been asked, in order.
#[derive(Clone, Debug, Default)]
pub struct Recorded {
    pub discovery_fetches: usize,
    pub jwks_fetches: usize,
    pub authorize: Vec<Params>,
    pub token: Vec<TokenRequest>,
    /// The `Authorization` header of each userinfo request.
    pub userinfo: Vec<Option<String>>,
    pub end_session: Vec<Params>,
}

/// The client registered at the provider.
#[derive(Clone, Debug)]
pub struct ClientRegistration {
    pub client_id: String,
    pub client_secret: String,
}

/// An authorization code and what it was issued for.
#[derive(Clone, Debug)]
struct Grant {
    redirect_uri: String,
    code_challenge: String,
    nonce: Option<String>,
    used: bool,
}

struct Keys {
    current: CoreRsaPrivateSigningKey,
    rotated: CoreRsaPrivateSigningKey,
}

struct Shared {
    issuer: String,
    client: ClientRegistration,
    keys: Keys,
    redirect_uris: Mutex<Vec<String>>,
    behaviour: Mutex<Behaviour>,
    recorded: Mutex<Recorded>,
    grants: Mutex<HashMap<String, Grant>>,
    access_tokens: Mutex<HashSet<String>>,
    refresh_tokens: Mutex<refresh::RefreshTokens>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

enum ServerState {
    /// Port bound but not listening: connections are refused.
    Down(TcpSocket),
    Up {
        shutdown: oneshot::Sender<()>,
        task: JoinHandle<()>,
    },
}

/// Handle on a running (or stopped) mock provider. Cheap to clone; all clones share state.
#[derive(Clone)]
pub struct MockProvider {
    shared: Arc<Shared>,
    addr: SocketAddr,
    server: Arc<tokio::sync::Mutex<Option<ServerState>>>,
}

impl MockProvider {
    /// Starts a provider on a fresh loopback port.
    pub async fn start(client: ClientRegistration) -> MockProvider {
        let provider = MockProvider::reserve(client).await;
        provider.serve().await;
        provider
    }

    /// Reserves a port and knows its issuer, but does not listen yet: connections are
    /// refused until [`MockProvider::serve`].
    pub async fn reserve(client: ClientRegistration) -> MockProvider {
        let socket = reserve_port(SocketAddr::from(([127, 0, 0, 1], 0)));
        let addr = socket.local_addr().expect("reserved socket address");
        let keys = Keys {
            current: CoreRsaPrivateSigningKey::from_pem(
                SIGNING_KEY_PEM,
                Some(JsonWebKeyId::new(SIGNING_KID.to_owned())),
            )
            .expect("test signing key parses"),
            rotated: CoreRsaPrivateSigningKey::from_pem(
                ROTATED_KEY_PEM,
                Some(JsonWebKeyId::new(ROTATED_KID.to_owned())),
            )
            .expect("rotated test key parses"),
        };
        let shared = Arc::new(Shared {
            issuer: format!("http://{addr}"),
            client,
            keys,
            redirect_uris: Mutex::new(Vec::new()),
            behaviour: Mutex::new(Behaviour::default()),
            recorded: Mutex::new(Recorded::default()),
            grants: Mutex::new(HashMap::new()),
            access_tokens: Mutex::new(HashSet::new()),
            refresh_tokens: Mutex::new(refresh::RefreshTokens::default()),
        });
        MockProvider {
            shared,
            addr,
            server: Arc::new(tokio::sync::Mutex::new(Some(ServerState::Down(socket)))),
        }
    }

    /// Starts listening on the provider's port (again). Does nothing when already up.
    pub async fn serve(&self) {
        let mut state = self.server.lock().await;
        let socket = match state.take() {
            Some(ServerState::Down(socket)) => socket,
            up @ Some(ServerState::Up { .. }) => {
                *state = up;
                return;
            }
            None => reserve_port(self.addr),
        };
        let listener: TcpListener = socket.listen(1024).expect("listen on the provider port");
        let (shutdown, signal) = oneshot::channel::<()>();
        let app = router(self.shared.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = signal.await;
                })
                .await;
        });
        *state = Some(ServerState::Up { shutdown, task });
    }

    /// Stops listening and closes open connections; the port stays reserved, so connections
    /// are refused until [`MockProvider::serve`] is called again.
    pub async fn stop(&self) {
        let mut state = self.server.lock().await;
        if let Some(ServerState::Up { shutdown, task }) = state.take() {
            let _ = shutdown.send(());
            let abort = task.abort_handle();
            if tokio::time::timeout(Duration::from_secs(5), task)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
        *state = Some(ServerState::Down(reserve_port(self.addr)));
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn issuer(&self) -> String {
        self.shared.issuer.clone()
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `{issuer}{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.shared.issuer)
    }

    pub fn client(&self) -> &ClientRegistration {
        &self.shared.client
    }

    /// Allows `uri` as a `redirect_uri` (exact match).
    pub fn register_redirect_uri(&self, uri: &str) {
        lock(&self.shared.redirect_uris).push(uri.to_owned());
    }

    /// Changes the provider's behaviour from now on.
    pub fn behave(&self, change: impl FnOnce(&mut Behaviour)) {
        change(&mut lock(&self.shared.behaviour));
    }

    pub fn behaviour(&self) -> Behaviour {
        lock(&self.shared.behaviour).clone()
    }

    /// A snapshot of every request recorded so far.
    pub fn recorded(&self) -> Recorded {
        lock(&self.shared.recorded).clone()
    }

    pub fn jwks_fetches(&self) -> usize {
        lock(&self.shared.recorded).jwks_fetches
    }

    pub fn last_authorize(&self) -> Option<Params> {
        lock(&self.shared.recorded).authorize.last().cloned()
    }

    pub fn last_token_request(&self) -> Option<TokenRequest> {
        lock(&self.shared.recorded).token.last().cloned()
    }

    /// Refresh-grant requests that reached the token endpoint, successful or not.
    pub fn refresh_grants(&self) -> usize {
        lock(&self.shared.refresh_tokens).grants()
    }

    /// Revokes every refresh token issued so far (each family): any later refresh with one
    /// of them answers `invalid_grant`.
    pub fn revoke_refresh_tokens(&self) {
        lock(&self.shared.refresh_tokens).revoke_all();
    }

    /// Signs `claims` as the provider would under `signing` (for tests that build tokens).
    pub fn sign(&self, claims: &Map<String, Value>, signing: &Signing, omit_kid: bool) -> String {
        sign_jwt(&self.shared.keys, claims, signing, omit_kid)
    }
}

/// A loopback socket bound to `addr` but not listening, so the port is held and
/// connections to it are refused.
fn reserve_port(addr: SocketAddr) -> TcpSocket {
    let socket = TcpSocket::new_v4().expect("create a socket");
    socket.set_reuseaddr(true).expect("SO_REUSEADDR");
    socket.bind(addr).expect("bind the provider port");
    socket
}

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/jwks", get(jwks))
        .route("/authorize", get(authorize))
        .route("/token", axum::routing::post(token))
        .route("/userinfo", get(userinfo).post(userinfo))
        .route("/logout", get(end_session))
        .with_state(shared)
}

async fn discovery(State(shared): State<Arc<Shared>>) -> Json<Value> {
    lock(&shared.recorded).discovery_fetches += 1;
    let behaviour = lock(&shared.behaviour).clone();
    let issuer = &shared.issuer;
    let mut doc = json!({
        "issuer": behaviour.discovery_issuer.clone().unwrap_or_else(|| issuer.clone()),
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "userinfo_endpoint": format!("{issuer}/userinfo"),
        "jwks_uri": format!("{issuer}/jwks"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": ["openid", "email", "profile", "groups"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nonce", "email",
            "email_verified", "name", "preferred_username", "groups"],
        "authorization_response_iss_parameter_supported": behaviour.advertise_iss_parameter,
    });
    if behaviour.end_session_endpoint {
        doc["end_session_endpoint"] = json!(format!("{issuer}/logout"));
    }
    Json(doc)
}

async fn jwks(State(shared): State<Arc<Shared>>) -> Json<Value> {
    lock(&shared.recorded).jwks_fetches += 1;
    let publish_rotated = lock(&shared.behaviour).publish_rotated_key;
    let mut keys: Vec<CoreJsonWebKey> = vec![shared.keys.current.as_verification_key()];
    if publish_rotated {
        keys.push(shared.keys.rotated.as_verification_key());
    }
    let mut keys = serde_json::to_value(keys).expect("JWKs serialize");
    if let Some(list) = keys.as_array_mut() {
        for key in list {
            key["alg"] = json!("RS256");
        }
    }
    Json(json!({ "keys": keys }))
}

async fn authorize(State(shared): State<Arc<Shared>>, RawQuery(query): RawQuery) -> Response {
    let params = Params::parse(query.as_deref().unwrap_or(""));
    lock(&shared.recorded).authorize.push(params.clone());
    let behaviour = lock(&shared.behaviour).clone();

    if params.get("client_id") != Some(shared.client.client_id.as_str()) {
        return (StatusCode::BAD_REQUEST, "unknown client_id").into_response();
    }
    let Some(redirect_uri) = params.get("redirect_uri") else {
        return (StatusCode::BAD_REQUEST, "missing redirect_uri").into_response();
    };
    if !lock(&shared.redirect_uris)
        .iter()
        .any(|uri| uri == redirect_uri)
    {
        return (StatusCode::BAD_REQUEST, "redirect_uri is not registered").into_response();
    }
    let state = params.get("state");
    let back = |pairs: &[(&str, &str)]| {
        redirect_back(&shared.issuer, &behaviour, redirect_uri, state, pairs)
    };

    if let Some((error, description)) = &behaviour.authorize_error {
        return back(&[("error", error), ("error_description", description)]);
    }
    if params.get("response_type") != Some("code") {
        return back(&[("error", "unsupported_response_type")]);
    }
    let challenge = params.get("code_challenge").unwrap_or("");
    if challenge.is_empty() || params.get("code_challenge_method") != Some("S256") {
        return back(&[
            ("error", "invalid_request"),
            ("error_description", "PKCE S256 is required"),
        ]);
    }
    let scopes = params.get("scope").unwrap_or("");
    if !scopes.split(' ').any(|scope| scope == "openid") {
        return back(&[("error", "invalid_scope")]);
    }

    let code = random_token();
    lock(&shared.grants).insert(
        code.clone(),
        Grant {
            redirect_uri: redirect_uri.to_owned(),
            code_challenge: challenge.to_owned(),
            nonce: params.get("nonce").map(str::to_owned),
            used: false,
        },
    );
    back(&[("code", &code)])
}

/// The 302 back to the client with `pairs`, `state` and the `iss` the behaviour asks for.
fn redirect_back(
    issuer: &str,
    behaviour: &Behaviour,
    redirect_uri: &str,
    state: Option<&str>,
    pairs: &[(&str, &str)],
) -> Response {
    let mut target = url::Url::parse(redirect_uri).expect("registered redirect URIs are URLs");
    {
        let mut query = target.query_pairs_mut();
        for (name, value) in pairs {
            query.append_pair(name, value);
        }
        if let Some(state) = state {
            query.append_pair("state", state);
        }
        match &behaviour.callback_iss {
            CallbackIss::Correct => {
                query.append_pair("iss", issuer);
            }
            CallbackIss::Wrong(iss) => {
                query.append_pair("iss", iss);
            }
            CallbackIss::Absent => {}
        }
    }
    (StatusCode::FOUND, [(header::LOCATION, target.to_string())]).into_response()
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        Json(json!({ "error": error, "error_description": description })),
    )
        .into_response()
}

async fn token(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let form = Params::parse(&String::from_utf8_lossy(&body));
    let authorization = header_string(&headers, header::AUTHORIZATION);
    lock(&shared.recorded).token.push(TokenRequest {
        form: form.clone(),
        authorization: authorization.clone(),
        content_type: header_string(&headers, header::CONTENT_TYPE),
    });
    let behaviour = lock(&shared.behaviour).clone();
    if form.get("grant_type") == Some("refresh_token") {
        return refresh::grant(&shared, &behaviour, &form, authorization);
    }

    match &behaviour.token_response {
        TokenResponseMode::OAuthError { error, description } => {
            return oauth_error(StatusCode::BAD_REQUEST, error, description);
        }
        TokenResponseMode::ServerError => {
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                [(header::CONTENT_TYPE, "text/html")],
                "<html><body>Internal Server Error</body></html>",
            )
                .into_response();
        }
        TokenResponseMode::Garbage => {
            return (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/json")],
                "this is not {json",
            )
                .into_response();
        }
        TokenResponseMode::Normal | TokenResponseMode::WithoutIdToken => {}
    }

    if form.get("grant_type") != Some("authorization_code") {
        return oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type", "");
    }
    if let Err(description) = check_client_auth(&shared.client, &behaviour, &form, authorization) {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", &description);
    }
    let grant = {
        let mut grants = lock(&shared.grants);
        let Some(grant) = form.get("code").and_then(|code| grants.get_mut(code)) else {
            return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", "unknown code");
        };
        if grant.used {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_grant",
                "code already used",
            );
        }
        grant.used = true;
        grant.clone()
    };
    if form.get("redirect_uri") != Some(grant.redirect_uri.as_str()) {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "redirect_uri mismatch",
        );
    }
    let verifier = form.get("code_verifier").unwrap_or("");
    if !pkce_verifier_matches(verifier, &grant.code_challenge) {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "PKCE check failed",
        );
    }

    let mut answer = access_token_answer(&shared, &behaviour);
    if behaviour.issue_refresh_tokens {
        answer["refresh_token"] = json!(lock(&shared.refresh_tokens).issue_family());
    }
    if behaviour.token_response == TokenResponseMode::Normal {
        let claims = id_token_claims(&shared, &behaviour, grant.nonce.as_deref());
        answer["id_token"] = json!(sign_jwt(
            &shared.keys,
            &claims,
            &behaviour.signing,
            behaviour.omit_kid
        ));
    }
    (
        StatusCode::OK,
        [(header::CACHE_CONTROL, "no-store")],
        Json(answer),
    )
        .into_response()
}

/// A new access token (known to userinfo from now on) in an RFC 6749 §5.1 answer.
fn access_token_answer(shared: &Shared, behaviour: &Behaviour) -> Value {
    let access_token = random_token();
    lock(&shared.access_tokens).insert(access_token.clone());
    json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": behaviour.access_token_lifetime.unwrap_or(3600),
        "scope": "openid email profile",
    })
}

/// RFC 6749 §2.3.1: exactly the expected method, with the registered id and secret.
fn check_client_auth(
    client: &ClientRegistration,
    behaviour: &Behaviour,
    form: &Params,
    authorization: Option<String>,
) -> Result<(), String> {
    let form_secret = form.get("client_secret");
    match behaviour.client_auth {
        ClientAuthMethod::ClientSecretBasic => {
            if form_secret.is_some() {
                return Err("client_secret in the body, expected client_secret_basic".into());
            }
            let header = authorization.ok_or("no Authorization header")?;
            let encoded = header
                .strip_prefix("Basic ")
                .ok_or("Authorization is not Basic")?;
            let decoded = STANDARD
                .decode(encoded.trim())
                .map_err(|_| "Basic credentials are not base64")?;
            let decoded = String::from_utf8(decoded).map_err(|_| "Basic credentials not UTF-8")?;
            let (id, secret) = decoded
                .split_once(':')
                .ok_or("no ':' in Basic credentials")?;
            let id = form_decode(id);
            let secret = form_decode(secret);
            if id == client.client_id && secret == client.client_secret {
                Ok(())
            } else {
                Err("wrong client credentials".into())
            }
        }
        ClientAuthMethod::ClientSecretPost => {
            if authorization.is_some() {
                return Err("Authorization header, expected client_secret_post".into());
            }
            if form.get("client_id") == Some(client.client_id.as_str())
                && form_secret == Some(client.client_secret.as_str())
            {
                Ok(())
            } else {
                Err("wrong client credentials".into())
            }
        }
    }
}

/// RFC 6749 §2.3.1 form-encodes id and secret before Basic encoding.
fn form_decode(value: &str) -> String {
    url::form_urlencoded::parse(format!("v={value}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// RFC 7636 §4.1 and §4.6: 43–128 unreserved characters whose S256 is the challenge.
pub fn pkce_verifier_matches(verifier: &str, challenge: &str) -> bool {
    let well_formed = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
    well_formed && URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) == challenge
}

fn id_token_claims(
    shared: &Shared,
    behaviour: &Behaviour,
    request_nonce: Option<&str>,
) -> Map<String, Value> {
    let now = unix_now();
    let mut claims = if behaviour.claims_in_id_token {
        behaviour.user.to_json(!behaviour.omit_sub)
    } else {
        let mut claims = Map::new();
        if !behaviour.omit_sub {
            claims.insert("sub".into(), json!(behaviour.user.sub));
        }
        claims
    };
    let iss = behaviour
        .id_token_iss
        .clone()
        .unwrap_or_else(|| shared.issuer.clone());
    claims.insert("iss".into(), json!(iss));
    let aud = behaviour
        .id_token_aud
        .clone()
        .unwrap_or_else(|| json!(shared.client.client_id));
    claims.insert("aud".into(), aud);
    if let Some(azp) = &behaviour.id_token_azp {
        claims.insert("azp".into(), json!(azp));
    }
    claims.insert("exp".into(), json!(now + behaviour.exp_offset_secs));
    claims.insert("iat".into(), json!(now + behaviour.iat_offset_secs));
    claims.insert("auth_time".into(), json!(now));
    match (&behaviour.nonce, request_nonce) {
        (NonceMode::Echo, Some(nonce)) => {
            claims.insert("nonce".into(), json!(nonce));
        }
        (NonceMode::Wrong, _) => {
            claims.insert("nonce".into(), json!("not-the-nonce-you-sent"));
        }
        (NonceMode::Echo, None) | (NonceMode::Missing, _) => {}
    }
    if let Some(sid) = &behaviour.sid {
        claims.insert("sid".into(), json!(sid));
    }
    for (name, value) in &behaviour.id_token_overrides {
        if value.is_null() {
            claims.remove(name);
        } else {
            claims.insert(name.clone(), value.clone());
        }
    }
    claims
}

fn sign_jwt(keys: &Keys, claims: &Map<String, Value>, signing: &Signing, omit_kid: bool) -> String {
    let (alg, kid) = match signing {
        Signing::Rs256 | Signing::BadSignature => ("RS256", SIGNING_KID),
        Signing::RotatedKey => ("RS256", ROTATED_KID),
        Signing::Hs256WithPublicKey => ("HS256", SIGNING_KID),
        Signing::AlgNone => ("none", SIGNING_KID),
    };
    let mut header = json!({ "alg": alg, "typ": "JWT" });
    if !omit_kid {
        header["kid"] = json!(kid);
    }
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(Value::Object(claims.clone()).to_string())
    );
    let rs256 = CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256;
    let signature = match signing {
        Signing::Rs256 => keys.current.sign(&rs256, signing_input.as_bytes()),
        Signing::RotatedKey => keys.rotated.sign(&rs256, signing_input.as_bytes()),
        Signing::BadSignature => {
            keys.current
                .sign(&rs256, signing_input.as_bytes())
                .map(|mut signature| {
                    signature[10] ^= 0x01;
                    signature
                })
        }
        Signing::Hs256WithPublicKey => CoreHmacKey::new(SIGNING_PUBLIC_KEY_PEM.as_bytes()).sign(
            &CoreJwsSigningAlgorithm::HmacSha256,
            signing_input.as_bytes(),
        ),
        Signing::AlgNone => Ok(Vec::new()),
    }
    .expect("test token signs");
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

async fn userinfo(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let authorization = header_string(&headers, header::AUTHORIZATION);
    lock(&shared.recorded).userinfo.push(authorization.clone());
    let behaviour = lock(&shared.behaviour).clone();
    let known = authorization
        .as_deref()
        .and_then(|value| value.strip_prefix("Bearer "))
        .is_some_and(|token| lock(&shared.access_tokens).contains(token));
    if !known {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer error=\"invalid_token\"")],
        )
            .into_response();
    }
    if let Some(status) = behaviour.userinfo_status {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return (status, "userinfo failed").into_response();
    }
    let mut claims = behaviour.user.to_json(true);
    if let Some(sub) = behaviour.userinfo_sub {
        claims.insert("sub".into(), json!(sub));
    }
    Json(Value::Object(claims)).into_response()
}

async fn end_session(State(shared): State<Arc<Shared>>, RawQuery(query): RawQuery) -> Response {
    let params = Params::parse(query.as_deref().unwrap_or(""));
    lock(&shared.recorded).end_session.push(params.clone());
    match params.get("post_logout_redirect_uri") {
        Some(target) => {
            let mut target = match url::Url::parse(target) {
                Ok(target) => target,
                Err(_) => return (StatusCode::BAD_REQUEST, "bad redirect").into_response(),
            };
            if let Some(state) = params.get("state") {
                target.query_pairs_mut().append_pair("state", state);
            }
            (StatusCode::FOUND, [(header::LOCATION, target.to_string())]).into_response()
        }
        None => (StatusCode::OK, "signed out at the provider").into_response(),
    }
}

fn header_string(headers: &HeaderMap, name: header::HeaderName) -> Option<String> {
    headers
        .get(name)
        .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
}

fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

fn unix_now() -> i64 {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs();
    i64::try_from(secs).expect("time fits in i64")
}

/// Splits a compact JWS into its decoded header and claims (no verification).
pub fn decode_jwt(token: &str) -> (Value, Value) {
    let mut parts = token.split('.');
    let mut part = || {
        let encoded = parts.next().expect("JWT has three parts");
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(encoded).expect("base64url")).expect("JSON")
    };
    let header = part();
    let claims = part();
    (header, claims)
}
