//! The settings of one OpenID Connect provider, fixed at start-up: what discovery, the
//! authorization request, the code exchange and the token checks read.

use secrecy::SecretString;

use crate::config::{ProviderPreset, TokenEndpointAuth};

/// Settings for one provider, fixed at start-up.
pub(crate) struct ProviderSettings {
    pub(crate) id: String,
    pub(crate) name: String,
    /// As configured; compared exactly with discovery's `issuer` and the tokens' `iss`.
    pub(crate) issuer: String,
    pub(crate) client_id: String,
    pub(crate) client_secret: SecretString,
    pub(crate) scopes: Vec<String>,
    pub(crate) token_endpoint_auth: TokenEndpointAuth,
    /// `{public_url}/oauth2/callback/{id}`.
    pub(crate) redirect_uri: String,
    /// The kind's own rules (Google's `hd`, Entra's tenants, GitLab's and Keycloak's groups).
    pub(crate) preset: ProviderPreset,
    /// File name of the sign-in button's logo under `/oauth2/static/`.
    pub(crate) logo: &'static str,
    /// `allow_unverified_email`: an email without `email_verified` counts (`unverified_email`).
    pub(crate) allow_unverified_email: bool,
}
