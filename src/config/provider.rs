//! A `[[provider]]` once validated: its kind, the protocol it signs in with (OpenID Connect,
//! plain OAuth 2.0, the embedded development provider, or local accounts), each carrying
//! exactly the settings it needs, and the client credentials for the token endpoint
//! (RFC 6749 §2.3.1).

use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;
use url::Url;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderKind {
    /// Any OpenID Connect provider, found by discovery at `{issuer}/.well-known/openid-configuration`.
    Oidc,
    /// The OpenID provider embedded in the gateway for local development.
    Dev,
    /// Google (OpenID Connect), optionally limited to one Google Workspace domain.
    Google,
    /// GitHub or GitHub Enterprise (plain OAuth 2.0 plus the REST API).
    Github,
    /// GitLab.com or a self-managed GitLab (OpenID Connect).
    Gitlab,
    /// Microsoft Entra ID v2.0 endpoints (OpenID Connect), one tenant or several.
    Microsoft,
    /// A Keycloak realm (OpenID Connect).
    Keycloak,
    /// Any plain OAuth 2.0 provider: endpoints and a claim mapping, no ID token.
    OAuth2,
    /// Accounts the gateway keeps itself, in a users file (DESIGN §10).
    Local,
}

impl ProviderKind {
    /// Whether the gateway signs in through OpenID Connect (discovery, ID token, nonce).
    pub fn is_oidc(self) -> bool {
        !matches!(
            self,
            ProviderKind::Github | ProviderKind::OAuth2 | ProviderKind::Local
        )
    }

    /// The kind as written in `providers.toml`.
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::Oidc => "oidc",
            ProviderKind::Dev => "dev",
            ProviderKind::Google => "google",
            ProviderKind::Github => "github",
            ProviderKind::Gitlab => "gitlab",
            ProviderKind::Microsoft => "microsoft",
            ProviderKind::Keycloak => "keycloak",
            ProviderKind::OAuth2 => "oauth2",
            ProviderKind::Local => "local",
        }
    }
}

/// What an OpenID Connect kind adds to discovery and ID-token validation (DESIGN §2; issue 4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProviderPreset {
    /// `oidc`: nothing beyond discovery.
    None,
    /// `hosted_domain`: sent as `hd` and required in the ID token's `hd` claim.
    Google { hosted_domain: Option<String> },
    /// Groups from userinfo's `groups` (or the ID token's `groups_direct`).
    Gitlab,
    /// `tenant` (an id, `common` or `organizations`) and the `tenants` allow-list, lower-cased.
    Microsoft {
        tenant: String,
        tenants: Vec<String>,
    },
    /// Realm roles (`realm_access.roles`) and `groups` as groups.
    Keycloak,
}

/// Where a plain OAuth 2.0 kind's endpoints are and how its identity is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OAuth2Api {
    /// `kind = "oauth2"`: a userinfo URL and a claim mapping.
    Generic(Box<OAuth2Config>),
    /// `kind = "github"`: the REST API's /user, /user/emails, /user/orgs and /user/teams.
    Github(GithubConfig),
}

/// `kind = "github"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GithubConfig {
    /// `https://github.com`, or a GitHub Enterprise Server URL (API under `/api/v3`).
    pub base_url: Url,
    /// Lower-cased organization logins; the user must belong to one when not empty.
    pub orgs: Vec<String>,
    /// Lower-cased `org/team-slug`s; the user must belong to one when not empty.
    pub teams: Vec<String>,
    /// `membership_refresh`: how often, during a session, orgs and teams are read again with
    /// the session's access token (and `orgs` / `teams` checked again); default 1h, at least
    /// 1s.
    pub membership_refresh: Duration,
}

/// `kind = "oauth2"`: the endpoints and where the identity is in the userinfo answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuth2Config {
    pub auth_url: Url,
    pub token_url: Url,
    pub userinfo_url: Url,
    pub claims: ClaimMapping,
}

/// RFC 6901 JSON pointers into the userinfo answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimMapping {
    pub id: String,
    pub email: String,
    pub email_verified: String,
    pub name: String,
    pub username: String,
    pub groups: String,
}

impl Default for ClaimMapping {
    fn default() -> Self {
        ClaimMapping {
            id: "/sub".to_owned(),
            email: "/email".to_owned(),
            email_verified: "/email_verified".to_owned(),
            name: "/name".to_owned(),
            username: "/preferred_username".to_owned(),
            groups: "/groups".to_owned(),
        }
    }
}

/// How the client authenticates at the token endpoint (RFC 6749 §2.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenEndpointAuth {
    ClientSecretBasic,
    ClientSecretPost,
}

/// One `[[provider]]`, validated: the settings every protocol has, and the protocol's own.
#[derive(Debug, Clone)]
pub struct ProviderConfig {
    /// `[a-z0-9_-]{1,64}`; used in `/oauth2/start?provider=` and `/oauth2/callback/{id}`.
    pub id: String,
    pub kind: ProviderKind,
    /// Button label; defaults from the kind ("OpenID Connect", "Development provider").
    pub name: String,
    /// For `dev`: defaults to `portcullis-dev`.
    pub client_id: String,
    /// Default `["openid", "email", "profile"]`; `openid` is always included for OpenID
    /// Connect kinds.
    pub scopes: Vec<String>,
    /// How the gateway signs in with this provider; each protocol carries exactly what it
    /// needs, so no combination is re-checked at start-up.
    pub protocol: ProviderProtocol,
    /// The roots trusted for this provider's endpoints (discovery, JWKS, token, userinfo,
    /// end-session) on top of the built-in ones: `server.ca_file`, then the provider's own
    /// `ca_file` (each when set).
    pub ca_files: Vec<crate::tls::CaFile>,
    /// `allow_unverified_email` (default false): an email the provider sends without an
    /// `email_verified` claim counts as verified; `email_verified: false` never does.
    pub allow_unverified_email: bool,
}

/// A provider by protocol.
#[derive(Debug, Clone)]
pub enum ProviderProtocol {
    /// OpenID Connect: `oidc` and the presets google, gitlab, microsoft, keycloak.
    Oidc(OidcClient),
    /// Plain OAuth 2.0: `oauth2` and `github`; no ID token, so no bearer tokens either.
    OAuth2(OAuth2Client),
    /// The embedded development provider: its issuer (`{public_url}/oauth2/dev`) and client
    /// secret are made at start-up.
    Dev(DevClient),
    /// Local accounts: a users file, the sign-in form and, when enabled, the password grant.
    Local(LocalAccounts),
}

/// `kind = "local"` (DESIGN §10).
#[derive(Debug, Clone)]
pub struct LocalAccounts {
    /// `users_file`, relative to the configuration file's directory when written relative.
    pub users_file: PathBuf,
    /// `password_grant` (default false): `POST /oauth2/token` with `grant_type=password`
    /// (RFC 6749 §4.3) and the refresh grant of the tokens it issues.
    pub password_grant: bool,
    /// `token_lifetime` (default 15m): the access tokens the gateway signs.
    pub token_lifetime: Duration,
    /// `refresh_lifetime` (default 7d): their refresh tokens, counted from each rotation.
    pub refresh_lifetime: Duration,
    /// `clients = [{ id, secret }]`: when not empty, the token endpoint requires one of them
    /// (RFC 6749 §2.3.1); empty by default (public clients).
    pub clients: Vec<TokenClient>,
    /// `failed_logins`: how many wrong passwords are tolerated.
    pub failed_logins: FailedLoginLimits,
}

/// A client of the token endpoint.
#[derive(Debug, Clone)]
pub struct TokenClient {
    pub id: String,
    pub secret: SecretString,
}

/// `failed_logins = { per_username = 10, per_client = 100, window = "10m" }`: at most that
/// many failed attempts in `window` for one username and for one client address, refilled
/// evenly over the window; then 429 with `Retry-After`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailedLoginLimits {
    pub per_username: u32,
    pub per_client: u32,
    pub window: Duration,
}

impl Default for FailedLoginLimits {
    fn default() -> Self {
        FailedLoginLimits {
            per_username: 10,
            per_client: 100,
            window: Duration::from_secs(600),
        }
    }
}

/// An OpenID Connect relying party's settings.
#[derive(Debug, Clone)]
pub struct OidcClient {
    /// Validated as an absolute URL but kept exactly as written, since it is compared
    /// character for character with discovery and `iss` (a `Url` would add a trailing `/` to
    /// a bare origin).
    pub issuer: String,
    pub credentials: ClientCredentials,
    /// The kind's own rules.
    pub preset: ProviderPreset,
    /// `bearer = { audiences = [...] }`: accept `Authorization: Bearer <JWT>` signed by this
    /// provider for API clients.
    pub bearer: Option<BearerConfig>,
}

/// A plain OAuth 2.0 client's settings.
#[derive(Debug, Clone)]
pub struct OAuth2Client {
    pub credentials: ClientCredentials,
    pub api: OAuth2Api,
}

/// The development provider's settings.
#[derive(Debug, Clone)]
pub struct DevClient {
    /// `token_endpoint_auth`, as for other providers (the development provider accepts both).
    pub token_endpoint_auth: TokenEndpointAuth,
    pub bearer: Option<BearerConfig>,
}

/// How the gateway authenticates at a provider's token endpoint (RFC 6749 §2.3.1).
#[derive(Debug, Clone)]
pub struct ClientCredentials {
    pub secret: SecretString,
    /// `token_endpoint_auth = "client_secret_basic" | "client_secret_post"`; default basic.
    pub auth: TokenEndpointAuth,
}

impl ProviderConfig {
    /// The configured OpenID issuer; `None` for plain OAuth 2.0 and `dev` (whose issuer is
    /// derived at start-up).
    pub fn issuer(&self) -> Option<&str> {
        match &self.protocol {
            ProviderProtocol::Oidc(oidc) => Some(&oidc.issuer),
            ProviderProtocol::OAuth2(_) | ProviderProtocol::Dev(_) | ProviderProtocol::Local(_) => {
                None
            }
        }
    }

    /// The configured client credentials; `None` for `dev`.
    pub fn credentials(&self) -> Option<&ClientCredentials> {
        match &self.protocol {
            ProviderProtocol::Oidc(oidc) => Some(&oidc.credentials),
            ProviderProtocol::OAuth2(oauth2) => Some(&oauth2.credentials),
            ProviderProtocol::Dev(_) | ProviderProtocol::Local(_) => None,
        }
    }

    /// The OpenID Connect kind's rules; `None` for plain OAuth 2.0 and `dev`.
    pub fn preset(&self) -> Option<&ProviderPreset> {
        match &self.protocol {
            ProviderProtocol::Oidc(oidc) => Some(&oidc.preset),
            ProviderProtocol::OAuth2(_) | ProviderProtocol::Dev(_) | ProviderProtocol::Local(_) => {
                None
            }
        }
    }

    /// The plain OAuth 2.0 kind's endpoints; `None` for OpenID Connect kinds.
    pub fn oauth2_api(&self) -> Option<&OAuth2Api> {
        match &self.protocol {
            ProviderProtocol::OAuth2(oauth2) => Some(&oauth2.api),
            ProviderProtocol::Oidc(_) | ProviderProtocol::Dev(_) | ProviderProtocol::Local(_) => {
                None
            }
        }
    }

    /// The local accounts' settings; `None` for every other kind.
    pub fn local(&self) -> Option<&LocalAccounts> {
        match &self.protocol {
            ProviderProtocol::Local(local) => Some(local),
            _ => None,
        }
    }

    /// Whether, and for which audiences, this provider's JWTs are accepted as bearer tokens.
    pub fn bearer(&self) -> Option<&BearerConfig> {
        match &self.protocol {
            ProviderProtocol::Oidc(oidc) => oidc.bearer.as_ref(),
            ProviderProtocol::Dev(dev) => dev.bearer.as_ref(),
            ProviderProtocol::OAuth2(_) | ProviderProtocol::Local(_) => None,
        }
    }
}

/// Settings for accepting this provider's JWTs as bearer tokens (RFC 6750, RFC 9068).
#[derive(Debug, Clone)]
pub struct BearerConfig {
    /// The token's `aud` must contain one of these.
    pub audiences: Vec<String>,
}

/// A Microsoft Entra Directory (tenant) ID: a GUID in its usual lower-case form, `8-4-4-4-12` hex digits.
pub fn is_tenant_id(value: &str) -> bool {
    let groups: Vec<&str> = value.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(group, len)| group.len() == len && group.bytes().all(|b| b.is_ascii_hexdigit()))
}
