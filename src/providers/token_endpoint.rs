//! The token-endpoint call shared by OpenID Connect and plain OAuth 2.0 providers: the
//! authorization code grant with the PKCE verifier (RFC 6749 §4.1.3, RFC 7636 §4.5) and the
//! refresh token grant (§6) in one request, client authentication by `client_secret_basic` or
//! `client_secret_post` (§2.3.1), and the answer read strictly (§5.1, §5.2).

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use url::Url;

use crate::config::TokenEndpointAuth;
use crate::error::LoginError;
use crate::error_chain::error_chain;

/// Who the gateway is at the provider's token endpoint.
pub(crate) struct TokenClient<'a> {
    pub(crate) http: &'a reqwest::Client,
    pub(crate) client_id: &'a str,
    pub(crate) client_secret: &'a SecretString,
    pub(crate) auth: TokenEndpointAuth,
    /// `{public_url}/oauth2/callback/{id}`, as sent in the authorization request.
    pub(crate) redirect_uri: &'a str,
}

/// A successful answer: an access token that is not empty, the ID token when the provider
/// speaks OpenID Connect, and the refresh token and lifetime when it sent them (RFC 6749
/// §5.1). `Debug` names which tokens came, never their values.
pub(crate) struct Tokens {
    pub(crate) access_token: String,
    pub(crate) id_token: Option<String>,
    /// `None` when absent or empty.
    pub(crate) refresh_token: Option<String>,
    /// Seconds the access token is valid; `None` when absent, negative or not a number.
    pub(crate) expires_in: Option<u64>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let redacted = |token: Option<&String>| token.map(|_| "[redacted]");
        f.debug_struct("Tokens")
            .field("access_token", &"[redacted]")
            .field("id_token", &redacted(self.id_token.as_ref()))
            .field("refresh_token", &redacted(self.refresh_token.as_ref()))
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

/// Why a token request (code exchange or refresh) failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum TokenEndpointError {
    #[error("the token endpoint could not be reached")]
    Request(#[source] reqwest::Error),
    #[error("the token endpoint's answer broke off")]
    Body(#[source] reqwest::Error),
    /// An RFC 6749 §5.2 error, whatever the status (GitHub answers errors with 200).
    #[error("{status} {error}{}", description.as_deref().map(|d| format!(": {d}")).unwrap_or_default())]
    Refused {
        status: u16,
        error: String,
        description: Option<String>,
    },
    #[error("{0} from the token endpoint without an access_token")]
    NoAccessToken(u16),
}

impl TokenEndpointError {
    /// Whether the provider said the grant or the client is no longer accepted (RFC 6749
    /// §5.2 `invalid_grant`, `invalid_client`, `unauthorized_client`; GitHub Apps answer an
    /// expired or revoked refresh token with `bad_refresh_token`, under 200): asking again
    /// cannot succeed. Every other failure (unreachable, a 5xx, an answer that is not the documented
    /// JSON, `temporarily_unavailable`, …) may pass.
    pub(crate) fn grant_is_gone(&self) -> bool {
        matches!(
            self,
            TokenEndpointError::Refused { error, .. }
                if matches!(error.as_str(), "invalid_grant" | "invalid_client" | "unauthorized_client" | "bad_refresh_token")
        )
    }
}

/// A failed exchange ends the sign-in; the message carries the whole chain.
impl From<TokenEndpointError> for LoginError {
    fn from(err: TokenEndpointError) -> LoginError {
        LoginError::TokenExchange(error_chain(&err))
    }
}

/// The token endpoint's answer, both shapes read from one object (RFC 6749 §5.1 and §5.2).
#[derive(Deserialize)]
struct TokenAnswer {
    #[serde(default)]
    access_token: Option<String>,
    #[serde(default)]
    id_token: Option<String>,
    #[serde(default)]
    refresh_token: Option<String>,
    /// Any JSON value: one of an unexpected type is ignored, not a failed answer.
    #[serde(default)]
    expires_in: Option<serde_json::Value>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    error_description: Option<String>,
}

/// The grant a token request presents; every other parameter is the same for both.
enum Grant<'a> {
    /// RFC 6749 §4.1.3 with the PKCE verifier (RFC 7636 §4.5).
    AuthorizationCode {
        code: &'a str,
        pkce_verifier: &'a str,
    },
    /// RFC 6749 §6; no `scope`, so the scope stays the one originally granted.
    RefreshToken(&'a str),
}

impl TokenClient<'_> {
    /// Exchanges `code` at `endpoint`. The answer counts only when it is 2xx JSON with a
    /// non-empty `access_token` and no `error`.
    pub(crate) async fn exchange_code(
        &self,
        endpoint: Url,
        code: &str,
        pkce_verifier: &str,
    ) -> Result<Tokens, TokenEndpointError> {
        let grant = Grant::AuthorizationCode {
            code,
            pkce_verifier,
        };
        self.request(endpoint, grant).await
    }

    /// Redeems `refresh_token` at `endpoint` (RFC 6749 §6): the same client authentication
    /// as the code grant, no `redirect_uri`, the answer read as for [`Self::exchange_code`].
    pub(crate) async fn refresh(
        &self,
        endpoint: Url,
        refresh_token: &str,
    ) -> Result<Tokens, TokenEndpointError> {
        self.request(endpoint, Grant::RefreshToken(refresh_token))
            .await
    }

    /// The one token request of both grants.
    async fn request(&self, endpoint: Url, grant: Grant<'_>) -> Result<Tokens, TokenEndpointError> {
        let secret = self.client_secret.expose_secret();
        let mut form = match grant {
            Grant::AuthorizationCode {
                code,
                pkce_verifier,
            } => vec![
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", self.redirect_uri),
                ("code_verifier", pkce_verifier),
            ],
            Grant::RefreshToken(refresh_token) => vec![
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token),
            ],
        };
        let mut request = self
            .http
            .post(endpoint)
            .header(reqwest::header::ACCEPT, "application/json");
        match self.auth {
            TokenEndpointAuth::ClientSecretBasic => {
                let credentials = format!(
                    "{}:{}",
                    form_urlencode(self.client_id),
                    form_urlencode(secret)
                );
                request = request.header(
                    reqwest::header::AUTHORIZATION,
                    format!("Basic {}", STANDARD.encode(credentials)),
                );
            }
            TokenEndpointAuth::ClientSecretPost => {
                form.push(("client_id", self.client_id));
                form.push(("client_secret", secret));
            }
        }
        let response = request
            .form(&form)
            .send()
            .await
            .map_err(TokenEndpointError::Request)?;
        let status = response.status();
        let body = response.bytes().await.map_err(TokenEndpointError::Body)?;
        read_answer(status, &body)
    }
}

pub(super) fn read_answer(
    status: reqwest::StatusCode,
    body: &[u8],
) -> Result<Tokens, TokenEndpointError> {
    match serde_json::from_slice::<TokenAnswer>(body).ok() {
        Some(TokenAnswer {
            error: Some(error),
            error_description,
            ..
        }) => Err(TokenEndpointError::Refused {
            status: status.as_u16(),
            error,
            description: error_description,
        }),
        Some(TokenAnswer {
            access_token: Some(access_token),
            id_token,
            refresh_token,
            expires_in,
            ..
        }) if status.is_success() && !access_token.is_empty() => Ok(Tokens {
            access_token,
            id_token,
            refresh_token: refresh_token.filter(|token| !token.is_empty()),
            expires_in: expires_in.as_ref().and_then(seconds),
        }),
        _ => Err(TokenEndpointError::NoAccessToken(status.as_u16())),
    }
}

/// RFC 6749 §5.1 `expires_in`: a non-negative integer. Some providers send it as a string of
/// digits, which is read too; anything else (negative, fractional, other text) is `None`.
fn seconds(value: &serde_json::Value) -> Option<u64> {
    match value {
        serde_json::Value::Number(n) => n.as_u64(),
        serde_json::Value::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
            s.parse().ok()
        }
        _ => None,
    }
}

/// `application/x-www-form-urlencoded` encoding of client credentials for HTTP Basic
/// (RFC 6749 §2.3.1).
fn form_urlencode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

#[cfg(test)]
mod tests;
