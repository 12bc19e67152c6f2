//! The userinfo request that completes an ID token's claims (OpenID Connect Core §5.3), and
//! why completing them failed: a provider that could not answer, or claims refused.

use url::Url;

use crate::error::LoginError;
use crate::error_chain::error_chain;
use crate::providers::refresh::RefreshError;

/// Why the claims of a verified ID token did not make an identity.
pub(super) enum CompletionError {
    /// Userinfo could not be read: unreachable, an error status, not JSON.
    Userinfo(LoginError),
    /// Userinfo for another subject, or the kind's rules refuse the claims.
    Rejected(LoginError),
}

/// At login either ends the sign-in.
impl From<CompletionError> for LoginError {
    fn from(err: CompletionError) -> LoginError {
        match err {
            CompletionError::Userinfo(err) | CompletionError::Rejected(err) => err,
        }
    }
}

/// At a refresh only refused claims end the session.
impl From<CompletionError> for RefreshError {
    fn from(err: CompletionError) -> RefreshError {
        match err {
            CompletionError::Userinfo(err) => RefreshError::Userinfo(err),
            CompletionError::Rejected(err) => RefreshError::Rejected(err),
        }
    }
}

/// The userinfo answer for `access_token`, a JSON value; its `sub` is compared with the ID
/// token's by the caller (§5.3.2).
pub(super) async fn fetch(
    http: &reqwest::Client,
    endpoint: &Url,
    access_token: &str,
) -> Result<serde_json::Value, LoginError> {
    let response = http
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
