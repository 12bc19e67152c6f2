//! Calls to a provider's REST API with the user's access token (RFC 6750 §2.1, the
//! `Authorization: Bearer` header): one GET whose answer must be 2xx JSON, shared by plain
//! OAuth 2.0 userinfo (`providers/oauth2.rs`) and GitHub's API (`providers/github.rs`).

use serde_json::Value;
use url::Url;

use crate::error_chain::error_chain;

/// GET `url` with the access token; the answer must be 2xx JSON.
pub(crate) async fn get_json(
    http: &reqwest::Client,
    url: &Url,
    access_token: &str,
) -> Result<Value, ApiError> {
    get_json_with_headers(http, url, access_token)
        .await
        .map(|(json, _)| json)
}

/// A provider API call that failed; `status` is the HTTP status when the API answered one
/// that is not 2xx (RFC 6750 §3.1: 401 means the token is not, or no longer, accepted).
#[derive(Debug, thiserror::Error)]
#[error("{detail}")]
pub(crate) struct ApiError {
    pub(crate) status: Option<reqwest::StatusCode>,
    pub(crate) detail: String,
}

impl From<String> for ApiError {
    fn from(detail: String) -> ApiError {
        ApiError {
            status: None,
            detail,
        }
    }
}

/// Like [`get_json`], also returning the response headers (for `Link` pagination).
pub(crate) async fn get_json_with_headers(
    http: &reqwest::Client,
    url: &Url,
    access_token: &str,
) -> Result<(Value, reqwest::header::HeaderMap), ApiError> {
    let response = http
        .get(url.clone())
        .bearer_auth(access_token)
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|err| error_chain(&err))?;
    let status = response.status();
    if !status.is_success() {
        return Err(ApiError {
            status: Some(status),
            detail: format!("{} from {}", status.as_u16(), url.path()),
        });
    }
    let headers = response.headers().clone();
    let json = response
        .json()
        .await
        .map_err(|err| format!("{} is not JSON: {err}", url.path()))?;
    Ok((json, headers))
}
