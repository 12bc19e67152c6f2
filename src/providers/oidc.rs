//! One OpenID Connect provider: discovery, the JWKS with key rotation, the authorization
//! request, the code exchange, ID token validation and userinfo.
//!
//! Specs: OpenID Connect Core 1.0 §3.1 (code flow) and §3.1.3.7 (ID token validation),
//! OpenID Connect Discovery 1.0, RFC 6749 (OAuth 2.0), RFC 7636 (PKCE), RFC 9207 (`iss`).

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use openidconnect::core::{
    CoreAuthDisplay, CoreClaimName, CoreClaimType, CoreClientAuthMethod, CoreGenderClaim,
    CoreGrantType, CoreIdTokenVerifier, CoreJsonWebKey, CoreJsonWebKeySet,
    CoreJweContentEncryptionAlgorithm, CoreJweKeyManagementAlgorithm, CoreJwsSigningAlgorithm,
    CoreResponseMode, CoreResponseType, CoreSubjectIdentifierType,
};
use openidconnect::{
    AdditionalClaims, AdditionalProviderMetadata, ClaimsVerificationError, ClientId, IdToken,
    IssuerUrl, JsonWebKeySetUrl, Nonce, ProviderMetadata, SignatureVerificationError,
};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;
use url::Url;

use crate::config::{ProviderPreset, TokenEndpointAuth};
use crate::error::LoginError;
use crate::identity::Identity;
use crate::providers::presets;

/// Asymmetric signature algorithms accepted on ID tokens. `none` and the HMAC family are
/// never accepted: an HMAC "signed" with a provider's public key must not verify
/// (DESIGN §5 item 6).
const ALLOWED_ALGS: [CoreJwsSigningAlgorithm; 9] = [
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha384,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha512,
    CoreJwsSigningAlgorithm::RsaSsaPssSha256,
    CoreJwsSigningAlgorithm::RsaSsaPssSha384,
    CoreJwsSigningAlgorithm::RsaSsaPssSha512,
    CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    CoreJwsSigningAlgorithm::EcdsaP384Sha384,
    CoreJwsSigningAlgorithm::EdDsa,
];

/// A token naming an unknown `kid` may trigger a JWKS refetch at most this often.
const JWKS_REFETCH_INTERVAL: Duration = Duration::from_secs(60);
/// Tolerated clock difference with the provider for `iat`.
const CLOCK_SKEW: Duration = Duration::from_secs(300);

/// Discovery fields beyond the core set that the gateway uses.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct ExtraProviderMetadata {
    /// OpenID Connect RP-Initiated Logout 1.0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_session_endpoint: Option<Url>,
    /// RFC 9207 §3.
    #[serde(default)]
    pub authorization_response_iss_parameter_supported: bool,
}
impl AdditionalProviderMetadata for ExtraProviderMetadata {}

pub type DiscoveredMetadata = ProviderMetadata<
    ExtraProviderMetadata,
    CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    CoreClaimType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    CoreJsonWebKey,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;

/// ID token claims beyond the standard ones: `groups`, as a list or a single string.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct ExtraClaims {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<serde_json::Value>,
}
impl AdditionalClaims for ExtraClaims {}

type ProviderIdToken = IdToken<
    ExtraClaims,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;

/// What discovery found; replaced as a whole when the JWKS is refetched.
#[derive(Debug, Clone)]
struct Discovered {
    authorization_endpoint: Url,
    token_endpoint: Url,
    userinfo_endpoint: Option<Url>,
    end_session_endpoint: Option<Url>,
    iss_parameter_supported: bool,
    jwks_uri: JsonWebKeySetUrl,
    jwks: CoreJsonWebKeySet,
}

/// Settings for one provider, fixed at start-up.
pub struct ProviderSettings {
    pub id: String,
    pub name: String,
    /// As configured; compared exactly with discovery's `issuer` and the tokens' `iss`.
    pub issuer: String,
    pub client_id: String,
    pub client_secret: SecretString,
    pub scopes: Vec<String>,
    pub token_endpoint_auth: TokenEndpointAuth,
    /// `{public_url}/oauth2/callback/{id}`.
    pub redirect_uri: String,
    /// The kind's own rules (Google's `hd`, Entra's tenants, GitLab's and Keycloak's groups).
    pub preset: ProviderPreset,
    /// File name of the sign-in button's logo under `/oauth2/static/`.
    pub logo: &'static str,
}

/// A provider the gateway signs people in with.
pub struct OidcProvider {
    settings: ProviderSettings,
    http: reqwest::Client,
    discovered: RwLock<Option<Arc<Discovered>>>,
    last_jwks_refetch: Mutex<Option<Instant>>,
}

impl std::fmt::Debug for OidcProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcProvider")
            .field("id", &self.settings.id)
            .field("issuer", &self.settings.issuer)
            .field("client_id", &self.settings.client_id)
            .field("client_secret", &"[redacted]")
            .field("ready", &self.is_ready())
            .finish()
    }
}

/// A validated login: the identity plus the tokens worth keeping in the session.
pub struct VerifiedLogin {
    pub identity: Identity,
    /// `None` for plain OAuth 2.0 providers, which issue no ID token.
    pub id_token: Option<String>,
    pub access_token: String,
}

/// The token endpoint's answer (RFC 6749 §5.1).
#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    id_token: Option<String>,
}

/// The token endpoint's error answer (RFC 6749 §5.2).
#[derive(Deserialize)]
struct TokenErrorResponse {
    error: String,
    #[serde(default)]
    error_description: Option<String>,
}

impl OidcProvider {
    pub fn new(settings: ProviderSettings, http: reqwest::Client) -> OidcProvider {
        OidcProvider {
            settings,
            http,
            discovered: RwLock::new(None),
            last_jwks_refetch: Mutex::new(None),
        }
    }

    pub fn id(&self) -> &str {
        &self.settings.id
    }

    pub fn name(&self) -> &str {
        &self.settings.name
    }

    pub fn issuer(&self) -> &str {
        &self.settings.issuer
    }

    pub fn client_id(&self) -> &str {
        &self.settings.client_id
    }

    pub fn logo(&self) -> &'static str {
        self.settings.logo
    }

    pub fn is_ready(&self) -> bool {
        self.current().is_some()
    }

    fn current(&self) -> Option<Arc<Discovered>> {
        self.discovered.read().ok().and_then(|d| d.clone())
    }

    fn store(&self, discovered: Discovered) {
        if let Ok(mut slot) = self.discovered.write() {
            *slot = Some(Arc::new(discovered));
        }
    }

    /// Fetches the discovery document and the JWKS. The document's `issuer` must equal the
    /// configured issuer exactly (OpenID Connect Discovery 1.0 §4.3).
    pub async fn discover(&self) -> Result<(), String> {
        let issuer = IssuerUrl::new(self.settings.issuer.clone()).map_err(|err| err.to_string())?;
        let metadata = match presets::discovery_issuer(&self.settings.preset, &self.settings.issuer)
        {
            Some(template) => self.discover_templated(&issuer, &template).await?,
            None => DiscoveredMetadata::discover_async(issuer, &self.http)
                .await
                .map_err(|err| error_chain(&err))?,
        };
        let token_endpoint = metadata
            .token_endpoint()
            .map(|u| u.url().clone())
            .ok_or("the discovery document has no token_endpoint")?;
        let extra = metadata.additional_metadata();
        let discovered = Discovered {
            authorization_endpoint: metadata.authorization_endpoint().url().clone(),
            token_endpoint,
            userinfo_endpoint: metadata.userinfo_endpoint().map(|u| u.url().clone()),
            end_session_endpoint: extra.end_session_endpoint.clone(),
            iss_parameter_supported: extra.authorization_response_iss_parameter_supported,
            jwks_uri: metadata.jwks_uri().clone(),
            jwks: metadata.jwks().clone(),
        };
        self.store(discovered);
        Ok(())
    }

    /// Discovery for a multi-tenant Entra ID registration, whose document's `issuer` is the
    /// template `…/{tenantid}/v2.0` rather than the URL it was fetched from; the library's
    /// discovery would reject that, so the document is fetched and checked here.
    async fn discover_templated(
        &self,
        issuer: &IssuerUrl,
        template: &str,
    ) -> Result<DiscoveredMetadata, String> {
        let url = issuer
            .join(".well-known/openid-configuration")
            .map_err(|err| err.to_string())?;
        let response = self
            .http
            .get(url)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|err| error_chain(&err))?;
        if !response.status().is_success() {
            return Err(format!(
                "{} from the discovery endpoint",
                response.status().as_u16()
            ));
        }
        let body = response.bytes().await.map_err(|err| error_chain(&err))?;
        let metadata: DiscoveredMetadata = serde_json::from_slice(&body)
            .map_err(|err| format!("the discovery document is not valid: {err}"))?;
        if metadata.issuer().as_str() != template {
            return Err(format!(
                "the discovery document's issuer `{}` is not `{template}`",
                metadata.issuer().as_str()
            ));
        }
        let jwks = CoreJsonWebKeySet::fetch_async(metadata.jwks_uri(), &self.http)
            .await
            .map_err(|err| error_chain(&err))?;
        Ok(metadata.set_jwks(jwks))
    }

    fn ready(&self) -> Result<Arc<Discovered>, LoginError> {
        self.current().ok_or_else(|| {
            LoginError::TokenExchange(format!("provider {} is not discovered yet", self.id()))
        })
    }

    /// The authorization request URL (OpenID Connect Core §3.1.2.1) with PKCE S256
    /// (RFC 7636 §4.3); `None` until discovery has succeeded.
    pub fn authorization_url(&self, state: &str, nonce: &str, code_challenge: &str) -> Option<Url> {
        let discovered = self.current()?;
        let mut url = discovered.authorization_endpoint.clone();
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.settings.client_id)
            .append_pair("redirect_uri", &self.settings.redirect_uri)
            .append_pair("scope", &self.settings.scopes.join(" "))
            .append_pair("state", state)
            .append_pair("nonce", nonce)
            .append_pair("code_challenge", code_challenge)
            .append_pair("code_challenge_method", "S256");
        for (name, value) in presets::authorization_params(&self.settings.preset) {
            url.query_pairs_mut().append_pair(name, &value);
        }
        Some(url)
    }

    /// RFC 9207 §2.4: when the callback carries `iss` it must be this provider's issuer; when
    /// the provider advertises the parameter it must be present.
    pub fn check_callback_issuer(&self, iss: Option<&str>) -> Result<(), LoginError> {
        let advertised = self.current().is_some_and(|d| d.iss_parameter_supported);
        match iss {
            Some(iss)
                if presets::callback_issuer_matches(
                    &self.settings.preset,
                    &self.settings.issuer,
                    iss,
                ) =>
            {
                Ok(())
            }
            Some(_) => Err(LoginError::IssuerMismatch),
            None if advertised => Err(LoginError::IssuerMismatch),
            None => Ok(()),
        }
    }

    /// The end-session URL for RP-initiated logout, when the provider has one.
    pub fn end_session_url(
        &self,
        id_token_hint: Option<&str>,
        post_logout_redirect_uri: &str,
    ) -> Option<Url> {
        let mut url = self.current()?.end_session_endpoint.clone()?;
        {
            let mut query = url.query_pairs_mut();
            if let Some(hint) = id_token_hint {
                query.append_pair("id_token_hint", hint);
            }
            query
                .append_pair("post_logout_redirect_uri", post_logout_redirect_uri)
                .append_pair("client_id", &self.settings.client_id);
        }
        Some(url)
    }

    /// Exchanges the code, validates the ID token and, when it lacks email or profile
    /// claims, completes them from userinfo.
    pub async fn complete_login(
        &self,
        code: &str,
        pkce_verifier: &str,
        nonce: &str,
    ) -> Result<VerifiedLogin, LoginError> {
        let discovered = self.ready()?;
        let tokens = self.exchange_code(&discovered, code, pkce_verifier).await?;
        let id_token = tokens.id_token.ok_or_else(|| {
            LoginError::TokenExchange("the token response has no id_token".into())
        })?;
        let mut claims = self.verify_id_token(&id_token, nonce).await?;
        let mut userinfo = None;
        if claims.needs_userinfo() || presets::wants_userinfo(&self.settings.preset) {
            if let Some(endpoint) = &discovered.userinfo_endpoint {
                let answer = self.fetch_userinfo(endpoint, &tokens.access_token).await?;
                claims.merge_userinfo(&answer)?;
                userinfo = Some(answer);
            }
        }
        // The signature was verified above: the payload can be read for the kind's claims.
        let payload = jwt_payload(&id_token).unwrap_or_default();
        presets::finish(
            &self.settings.preset,
            &mut claims,
            &payload,
            userinfo.as_ref(),
        )?;
        Ok(VerifiedLogin {
            identity: claims.into_identity(self.id()),
            id_token: Some(id_token),
            access_token: tokens.access_token,
        })
    }

    /// RFC 6749 §4.1.3 with the PKCE verifier (RFC 7636 §4.5); client authentication by
    /// `client_secret_basic` (default) or `client_secret_post` (RFC 6749 §2.3.1).
    async fn exchange_code(
        &self,
        discovered: &Discovered,
        code: &str,
        pkce_verifier: &str,
    ) -> Result<TokenResponse, LoginError> {
        let secret = self.settings.client_secret.expose_secret();
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", self.settings.redirect_uri.as_str()),
            ("code_verifier", pkce_verifier),
        ];
        let mut request = self
            .http
            .post(discovered.token_endpoint.clone())
            .header(reqwest::header::ACCEPT, "application/json");
        match self.settings.token_endpoint_auth {
            TokenEndpointAuth::ClientSecretBasic => {
                let credentials = format!(
                    "{}:{}",
                    form_urlencode(&self.settings.client_id),
                    form_urlencode(secret)
                );
                request = request.header(
                    reqwest::header::AUTHORIZATION,
                    format!("Basic {}", STANDARD.encode(credentials)),
                );
            }
            TokenEndpointAuth::ClientSecretPost => {
                form.push(("client_id", self.settings.client_id.as_str()));
                form.push(("client_secret", secret));
            }
        }
        let response = request
            .form(&form)
            .send()
            .await
            .map_err(|err| LoginError::TokenExchange(error_chain(&err)))?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|err| LoginError::TokenExchange(error_chain(&err)))?;
        if !status.is_success() {
            let detail = match serde_json::from_slice::<TokenErrorResponse>(&body) {
                Ok(err) => format!(
                    "{} {}{}",
                    status.as_u16(),
                    err.error,
                    err.error_description
                        .map(|d| format!(": {d}"))
                        .unwrap_or_default()
                ),
                Err(_) => format!("{} from the token endpoint", status.as_u16()),
            };
            return Err(LoginError::TokenExchange(detail));
        }
        serde_json::from_slice(&body).map_err(|err| {
            LoginError::TokenExchange(format!("the token response is not valid JSON: {err}"))
        })
    }

    /// OpenID Connect Core §3.1.3.7: signature by a JWKS key with an allow-listed asymmetric
    /// algorithm, `iss`, `aud` (and `azp`), `exp`, `iat`, `nonce`, `sub`. An unknown `kid`
    /// triggers one rate-limited JWKS refetch (key rotation) before the token is rejected.
    pub async fn verify_id_token(
        &self,
        id_token: &str,
        nonce: &str,
    ) -> Result<LoginClaims, LoginError> {
        let token: ProviderIdToken = id_token
            .parse()
            .map_err(|err| LoginError::InvalidIdToken(format!("malformed: {err}")))?;
        let discovered = self.ready()?;
        let payload = jwt_payload(id_token).unwrap_or_default();
        let issuer = presets::token_issuer(&self.settings.preset, &self.settings.issuer, &payload)?;
        let claims = match self.verify_with(&token, &discovered.jwks, nonce, &issuer) {
            Err(ClaimsVerificationError::SignatureVerification(
                SignatureVerificationError::NoMatchingKey,
            )) => {
                let jwks = self.refetch_jwks().await.map_err(|err| {
                    LoginError::InvalidIdToken(format!("no key matches the token's kid ({err})"))
                })?;
                self.verify_with(&token, &jwks, nonce, &issuer)
            }
            other => other,
        }
        .map_err(|err| LoginError::InvalidIdToken(error_chain(&err)))?;
        // The signature is verified: the payload's `nbf` can be trusted.
        check_not_before(&payload).map_err(LoginError::InvalidIdToken)?;
        claims.check_authorized_party(&self.settings.client_id)
    }

    fn verify_with(
        &self,
        token: &ProviderIdToken,
        jwks: &CoreJsonWebKeySet,
        nonce: &str,
        issuer: &str,
    ) -> Result<LoginClaims, ClaimsVerificationError> {
        let issuer = IssuerUrl::new(issuer.to_owned())
            .map_err(|err| ClaimsVerificationError::Other(err.to_string()))?;
        let verifier = CoreIdTokenVerifier::new_public_client(
            ClientId::new(self.settings.client_id.clone()),
            issuer,
            jwks.clone(),
        )
        .set_allowed_algs(ALLOWED_ALGS)
        // Extra audiences are allowed only with `azp` naming us, checked in `check_authorized_party`.
        .set_other_audience_verifier_fn(|_| true)
        .set_issue_time_verifier_fn(check_issue_time);
        let claims = token.claims(&verifier, &Nonce::new(nonce.to_owned()))?;
        LoginClaims::from_id_token(claims)
    }

    /// Validates an API client's `Authorization: Bearer` JWT (RFC 6750, RFC 9068) with the
    /// same strictness as ID tokens: signature by a JWKS key with an allow-listed asymmetric
    /// algorithm, `iss`, `exp`, `iat`, `nbf`, `sub`, and an `aud` containing one of
    /// `audiences`. An unknown `kid` triggers the same rate-limited JWKS refetch.
    pub async fn verify_bearer(
        &self,
        token: &str,
        audiences: &[String],
    ) -> Result<Identity, String> {
        let parsed: ProviderIdToken = token.parse().map_err(|err| format!("malformed: {err}"))?;
        let discovered = self.current().ok_or("the provider is not discovered yet")?;
        let claims = match self.verify_bearer_with(&parsed, &discovered.jwks, audiences) {
            Err(ClaimsVerificationError::SignatureVerification(
                SignatureVerificationError::NoMatchingKey,
            )) => {
                let jwks = self
                    .refetch_jwks()
                    .await
                    .map_err(|err| format!("no key matches the token's kid ({err})"))?;
                self.verify_bearer_with(&parsed, &jwks, audiences)
            }
            other => other,
        }
        .map_err(|err| error_chain(&err))?;
        // The signature is verified: the payload can be read for the claims the library
        // does not check, and for the kind's own rules, applied as at login (Google's `hd`,
        // Entra's groups overage and email, GitLab's and Keycloak's groups).
        let payload = jwt_payload(token).unwrap_or_default();
        check_not_before(&payload)?;
        let mut claims = claims;
        presets::finish(&self.settings.preset, &mut claims, &payload, None)
            .map_err(|err| err.to_string())?;
        Ok(claims.into_identity(self.id()))
    }

    fn verify_bearer_with(
        &self,
        token: &ProviderIdToken,
        jwks: &CoreJsonWebKeySet,
        audiences: &[String],
    ) -> Result<LoginClaims, ClaimsVerificationError> {
        let issuer = IssuerUrl::new(self.settings.issuer.clone())
            .map_err(|err| ClaimsVerificationError::Other(err.to_string()))?;
        // The audience is checked below against the configured list instead of the client id;
        // RFC 9068 tokens carry `typ: at+jwt`, so any JOSE type is accepted.
        let verifier = CoreIdTokenVerifier::new_public_client(
            ClientId::new(String::new()),
            issuer,
            jwks.clone(),
        )
        .set_allowed_algs(ALLOWED_ALGS)
        .require_audience_match(false)
        .allow_all_jose_types()
        .set_issue_time_verifier_fn(check_issue_time);
        let no_nonce = |_: Option<&Nonce>| -> Result<(), String> { Ok(()) };
        let claims = token.claims(&verifier, no_nonce)?;
        let accepted = claims
            .audiences()
            .iter()
            .any(|aud| audiences.iter().any(|allowed| allowed == aud.as_str()));
        if !accepted {
            return Err(ClaimsVerificationError::InvalidAudience(
                "no accepted audience".into(),
            ));
        }
        LoginClaims::from_id_token(claims)
    }

    /// Refetches the JWKS unless that happened less than [`JWKS_REFETCH_INTERVAL`] ago; then
    /// the keys held now are the answer: a token that arrived during another token's refetch
    /// waited for it here and is checked against the keys it brought.
    async fn refetch_jwks(&self) -> Result<CoreJsonWebKeySet, String> {
        let mut last = self.last_jwks_refetch.lock().await;
        let discovered = self.current().ok_or("provider not discovered")?;
        if last.is_some_and(|at| at.elapsed() < JWKS_REFETCH_INTERVAL) {
            return Ok(discovered.jwks.clone());
        }
        *last = Some(Instant::now());
        let jwks = CoreJsonWebKeySet::fetch_async(&discovered.jwks_uri, &self.http)
            .await
            .map_err(|err| error_chain(&err))?;
        tracing::info!(
            provider = self.id(),
            keys = jwks.keys().len(),
            "JWKS refetched for an unknown key id"
        );
        let mut updated = (*discovered).clone();
        updated.jwks = jwks.clone();
        self.store(updated);
        Ok(jwks)
    }

    /// OpenID Connect Core §5.3; the answer's `sub` must equal the ID token's (§5.3.2).
    async fn fetch_userinfo(
        &self,
        endpoint: &Url,
        access_token: &str,
    ) -> Result<serde_json::Value, LoginError> {
        let response = self
            .http
            .get(endpoint.clone())
            .bearer_auth(access_token)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|err| LoginError::Userinfo(error_chain(&err)))?;
        if !response.status().is_success() {
            return Err(LoginError::Userinfo(format!(
                "{} from the userinfo endpoint",
                response.status().as_u16()
            )));
        }
        response
            .json()
            .await
            .map_err(|err| LoginError::Userinfo(format!("not a JSON object: {err}")))
    }
}

/// The claims the gateway keeps, from the ID token and possibly userinfo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginClaims {
    pub sub: String,
    pub email: Option<String>,
    pub email_verified: Option<bool>,
    pub preferred_username: Option<String>,
    pub name: Option<String>,
    pub groups: Vec<String>,
    audiences: Vec<String>,
    authorized_party: Option<String>,
}

impl LoginClaims {
    /// The claims of a verified token; its `sub` must not be empty (OpenID Connect Core §2:
    /// the user's never reassigned identifier).
    fn from_id_token(
        claims: &openidconnect::IdTokenClaims<ExtraClaims, CoreGenderClaim>,
    ) -> Result<LoginClaims, ClaimsVerificationError> {
        if claims.subject().is_empty() {
            return Err(ClaimsVerificationError::Other(
                "the sub claim is empty".into(),
            ));
        }
        Ok(LoginClaims {
            sub: claims.subject().as_str().to_owned(),
            email: claims.email().map(|e| e.as_str().to_owned()),
            email_verified: claims.email_verified(),
            preferred_username: claims.preferred_username().map(|u| u.as_str().to_owned()),
            name: claims
                .name()
                .and_then(|n| n.get(None))
                .map(|n| n.as_str().to_owned()),
            groups: claims
                .additional_claims()
                .groups
                .as_ref()
                .map(groups_from_json)
                .unwrap_or_default(),
            audiences: claims
                .audiences()
                .iter()
                .map(|a| a.as_str().to_owned())
                .collect(),
            authorized_party: claims.authorized_party().map(|a| a.as_str().to_owned()),
        })
    }

    /// OpenID Connect Core §3.1.3.7 items 4–5: with several audiences, `azp` must be present
    /// and name this client; when present it must always name this client.
    fn check_authorized_party(self, client_id: &str) -> Result<LoginClaims, LoginError> {
        match &self.authorized_party {
            Some(azp) if azp != client_id => Err(LoginError::InvalidIdToken(format!(
                "azp is `{azp}`, not this client"
            ))),
            None if self.audiences.len() > 1 => Err(LoginError::InvalidIdToken(
                "several audiences but no azp claim".into(),
            )),
            _ => Ok(self),
        }
    }

    fn needs_userinfo(&self) -> bool {
        self.email.is_none() || (self.preferred_username.is_none() && self.name.is_none())
    }

    /// Fills claims missing from the ID token; rejects userinfo for another subject.
    fn merge_userinfo(&mut self, userinfo: &serde_json::Value) -> Result<(), LoginError> {
        let sub = userinfo.get("sub").and_then(|s| s.as_str());
        if sub != Some(self.sub.as_str()) {
            return Err(LoginError::Userinfo(
                "its sub differs from the ID token's".into(),
            ));
        }
        let text = |key: &str| {
            userinfo
                .get(key)
                .and_then(|v| v.as_str())
                .map(str::to_owned)
        };
        if self.email.is_none() {
            self.email = text("email");
            self.email_verified = userinfo.get("email_verified").and_then(json_bool);
        }
        if self.preferred_username.is_none() {
            self.preferred_username = text("preferred_username");
        }
        if self.name.is_none() {
            self.name = text("name");
        }
        if self.groups.is_empty() {
            if let Some(groups) = userinfo.get("groups") {
                self.groups = groups_from_json(groups);
            }
        }
        Ok(())
    }

    /// Unverified email addresses are dropped here, so no rule or header can rely on one.
    fn into_identity(self, provider: &str) -> Identity {
        let email = match (self.email, self.email_verified) {
            (Some(email), Some(true)) => Some(email),
            _ => None,
        };
        Identity {
            user: self.sub,
            email,
            preferred_username: self.preferred_username.or(self.name),
            groups: self.groups,
            provider: provider.to_owned(),
        }
    }
}

/// `iat` may not lie in the future beyond the tolerated clock skew.
fn check_issue_time(iat: chrono::DateTime<chrono::Utc>) -> Result<(), String> {
    if iat > chrono::Utc::now() + CLOCK_SKEW {
        Err(format!("issued in the future ({iat})"))
    } else {
        Ok(())
    }
}

/// `nbf`, when present, may not lie in the future beyond the tolerated clock skew
/// (RFC 7519 §4.1.5; a NumericDate may be fractional, §2).
fn check_not_before(payload: &serde_json::Value) -> Result<(), String> {
    let Some(nbf) = payload.get("nbf") else {
        return Ok(());
    };
    let skew = i64::try_from(CLOCK_SKEW.as_secs()).unwrap_or(0);
    let latest = chrono::Utc::now().timestamp().saturating_add(skew) as f64;
    match nbf.as_f64() {
        Some(nbf) if nbf <= latest => Ok(()),
        Some(nbf) => Err(format!("not valid before {nbf}")),
        None => Err("the nbf claim is not a number".into()),
    }
}

/// The decoded payload of a compact JWS, without any verification.
pub fn jwt_payload(token: &str) -> Option<serde_json::Value> {
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

pub(crate) fn json_bool(value: &serde_json::Value) -> Option<bool> {
    match value {
        serde_json::Value::Bool(b) => Some(*b),
        serde_json::Value::String(s) if s == "true" => Some(true),
        serde_json::Value::String(s) if s == "false" => Some(false),
        _ => None,
    }
}

pub(crate) fn groups_from_json(value: &serde_json::Value) -> Vec<String> {
    match value {
        serde_json::Value::String(group) => vec![group.clone()],
        serde_json::Value::Array(items) => items
            .iter()
            .filter_map(|item| item.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

/// `application/x-www-form-urlencoded` encoding of client credentials for HTTP Basic
/// (RFC 6749 §2.3.1).
fn form_urlencode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// An error with its sources, for messages and logs.
pub fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests;
