//! OpenID Connect Discovery 1.0 for one provider: the metadata document, its `issuer` checked
//! exactly (§4.3), and the JWKS it points to.

use openidconnect::core::{
    CoreAuthDisplay, CoreClaimName, CoreClaimType, CoreClientAuthMethod, CoreGrantType,
    CoreJsonWebKey, CoreJsonWebKeySet, CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm, CoreResponseMode, CoreResponseType, CoreSubjectIdentifierType,
};
use openidconnect::{AdditionalProviderMetadata, IssuerUrl, JsonWebKeySetUrl, ProviderMetadata};
use serde::{Deserialize, Serialize};
use url::Url;

use crate::config::ProviderPreset;
use crate::providers::presets;

/// Discovery fields beyond the core set that the gateway uses.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub(crate) struct ExtraProviderMetadata {
    /// OpenID Connect RP-Initiated Logout 1.0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) end_session_endpoint: Option<Url>,
    /// RFC 9207 §3.
    #[serde(default)]
    pub(crate) authorization_response_iss_parameter_supported: bool,
    /// OpenID Connect Prompt Create 1.0 §4.1; Discovery 1.0 lists none, so absent is common.
    #[serde(default)]
    pub(crate) prompt_values_supported: Vec<String>,
}
impl AdditionalProviderMetadata for ExtraProviderMetadata {}

pub(crate) type DiscoveredMetadata = ProviderMetadata<
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

/// What discovery found; replaced as a whole when the JWKS is refetched.
#[derive(Debug, Clone)]
pub(super) struct Discovered {
    pub(super) authorization_endpoint: Url,
    pub(super) token_endpoint: Url,
    pub(super) userinfo_endpoint: Option<Url>,
    pub(super) end_session_endpoint: Option<Url>,
    pub(super) iss_parameter_supported: bool,
    /// `prompt=select_account` is advertised (`prompt_values_supported`).
    pub(super) select_account_supported: bool,
    pub(super) jwks_uri: JsonWebKeySetUrl,
    pub(super) jwks: CoreJsonWebKeySet,
}

/// Why discovery (or a JWKS refetch) failed; retried with back-off.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DiscoveryError {
    #[error("the issuer is not a URL")]
    Issuer(#[source] url::ParseError),
    #[error("the discovery request failed")]
    Discover(
        #[source] openidconnect::DiscoveryError<openidconnect::HttpClientError<reqwest::Error>>,
    ),
    #[error("the discovery endpoint could not be reached")]
    Request(#[source] reqwest::Error),
    #[error("{0} from the discovery endpoint")]
    Status(u16),
    #[error("the discovery document is not valid")]
    Document(#[source] serde_json::Error),
    #[error(
        "the discovery document's issuer `{found}` is not `{expected}`: {}",
        super::mismatch::issuer_advice(found, expected)
    )]
    IssuerMismatch { found: String, expected: String },
    #[error("the discovery document has no token_endpoint")]
    NoTokenEndpoint,
    #[error("the JWKS could not be fetched")]
    Jwks(#[source] openidconnect::DiscoveryError<openidconnect::HttpClientError<reqwest::Error>>),
    #[error("the provider is not discovered yet")]
    NotDiscovered,
}

/// Fetches the discovery document and the JWKS. The document's `issuer` must equal the
/// configured `issuer` exactly (OpenID Connect Discovery 1.0 §4.3), or, for a kind whose
/// document names a template (multi-tenant Entra ID), that template.
pub(super) async fn discover(
    http: &reqwest::Client,
    configured_issuer: &str,
    preset: &ProviderPreset,
) -> Result<Discovered, DiscoveryError> {
    let issuer = IssuerUrl::new(configured_issuer.to_owned()).map_err(DiscoveryError::Issuer)?;
    let metadata = match presets::discovery_issuer(preset, configured_issuer) {
        Some(template) => discover_templated(http, &issuer, &template).await?,
        None => DiscoveredMetadata::discover_async(issuer, http)
            .await
            .map_err(|err| match super::mismatch::issuer_mismatch(&err) {
                Some((found, expected)) => DiscoveryError::IssuerMismatch { found, expected },
                None => DiscoveryError::Discover(err),
            })?,
    };
    let token_endpoint = metadata
        .token_endpoint()
        .map(|u| u.url().clone())
        .ok_or(DiscoveryError::NoTokenEndpoint)?;
    let extra = metadata.additional_metadata();
    Ok(Discovered {
        authorization_endpoint: metadata.authorization_endpoint().url().clone(),
        token_endpoint,
        userinfo_endpoint: metadata.userinfo_endpoint().map(|u| u.url().clone()),
        end_session_endpoint: extra.end_session_endpoint.clone(),
        iss_parameter_supported: extra.authorization_response_iss_parameter_supported,
        select_account_supported: extra
            .prompt_values_supported
            .iter()
            .any(|value| value == "select_account"),
        jwks_uri: metadata.jwks_uri().clone(),
        jwks: metadata.jwks().clone(),
    })
}

/// Discovery for a multi-tenant Entra ID registration, whose document's `issuer` is the
/// template `…/{tenantid}/v2.0` rather than the URL it was fetched from; the library's
/// discovery would reject that, so the document is fetched and checked here.
async fn discover_templated(
    http: &reqwest::Client,
    issuer: &IssuerUrl,
    template: &str,
) -> Result<DiscoveredMetadata, DiscoveryError> {
    let url = issuer
        .join(".well-known/openid-configuration")
        .map_err(DiscoveryError::Issuer)?;
    let response = http
        .get(url)
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(DiscoveryError::Request)?;
    if !response.status().is_success() {
        return Err(DiscoveryError::Status(response.status().as_u16()));
    }
    let body = response.bytes().await.map_err(DiscoveryError::Request)?;
    let metadata: DiscoveredMetadata =
        serde_json::from_slice(&body).map_err(DiscoveryError::Document)?;
    if metadata.issuer().as_str() != template {
        return Err(DiscoveryError::IssuerMismatch {
            found: metadata.issuer().as_str().to_owned(),
            expected: template.to_owned(),
        });
    }
    let jwks = fetch_jwks(http, metadata.jwks_uri()).await?;
    Ok(metadata.set_jwks(jwks))
}

/// The JWKS at `jwks_uri` (discovery's, or a refetch for key rotation).
pub(super) async fn fetch_jwks(
    http: &reqwest::Client,
    jwks_uri: &JsonWebKeySetUrl,
) -> Result<CoreJsonWebKeySet, DiscoveryError> {
    CoreJsonWebKeySet::fetch_async(jwks_uri, http)
        .await
        .map_err(DiscoveryError::Jwks)
}
