//! The settings of one OpenID Connect provider, fixed at start-up: what discovery, the
//! authorization request, the code exchange and the token checks read.

use secrecy::SecretString;

use crate::config::{ProviderPreset, TokenEndpointAuth};

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
