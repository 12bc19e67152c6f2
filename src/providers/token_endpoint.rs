//! The token-endpoint call shared by OpenID Connect and plain OAuth 2.0 providers: the
//! authorization code grant with the PKCE verifier (RFC 6749 §4.1.3, RFC 7636 §4.5), client
//! authentication by `client_secret_basic` or `client_secret_post` (RFC 6749 §2.3.1), and the
//! answer read strictly (§5.1, §5.2).

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

/// A successful answer: an access token that is not empty, and the ID token when the
/// provider speaks OpenID Connect.
#[derive(Debug)]
pub(crate) struct Tokens {
    pub(crate) access_token: String,
    pub(crate) id_token: Option<String>,
}

/// Why the code exchange failed.
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
    error: Option<String>,
    #[serde(default)]
    error_description: Option<String>,
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
        let secret = self.client_secret.expose_secret();
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", self.redirect_uri),
            ("code_verifier", pkce_verifier),
        ];
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

fn read_answer(status: reqwest::StatusCode, body: &[u8]) -> Result<Tokens, TokenEndpointError> {
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
            ..
        }) if status.is_success() && !access_token.is_empty() => Ok(Tokens {
            access_token,
            id_token,
        }),
        _ => Err(TokenEndpointError::NoAccessToken(status.as_u16())),
    }
}

/// `application/x-www-form-urlencoded` encoding of client credentials for HTTP Basic
/// (RFC 6749 §2.3.1).
fn form_urlencode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::StatusCode;

    /// Where the two former readers differed, the stricter answer holds: an `error` field
    /// fails even with 200 and an access token, an empty access token is none.
    #[test]
    fn only_a_clean_success_with_an_access_token_counts() {
        let ok = read_answer(StatusCode::OK, br#"{"access_token":"a","id_token":"i"}"#).unwrap();
        assert_eq!(
            (ok.access_token.as_str(), ok.id_token.as_deref()),
            ("a", Some("i"))
        );

        let refused = read_answer(
            StatusCode::OK,
            br#"{"access_token":"a","error":"bad_verification_code"}"#,
        );
        assert!(matches!(
            refused,
            Err(TokenEndpointError::Refused { status: 200, .. })
        ));
        for (status, body) in [
            (StatusCode::OK, &br#"{"access_token":""}"#[..]),
            (StatusCode::OK, br#"{"token_type":"bearer"}"#),
            (StatusCode::OK, b"not json"),
            (StatusCode::BAD_GATEWAY, br#"{"access_token":"a"}"#),
        ] {
            assert!(
                matches!(
                    read_answer(status, body),
                    Err(TokenEndpointError::NoAccessToken(_))
                ),
                "{status} {}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn a_refusal_names_the_status_the_code_and_the_description() {
        let err = read_answer(
            StatusCode::BAD_REQUEST,
            br#"{"error":"invalid_grant","error_description":"unknown code"}"#,
        )
        .unwrap_err();
        assert_eq!(err.to_string(), "400 invalid_grant: unknown code");
    }
}
