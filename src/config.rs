//! `providers.toml`: the validated configuration the gateway runs on.
//!
//! Parsing happens in two steps (see `config/raw.rs` and `config/validate.rs`): the file is
//! deserialized into raw structs that reject unknown keys, then converted into the domain
//! types below by one `validate` pass that collects every problem with its file, line and
//! column. Parsing takes the file text and an environment lookup so tests never touch the
//! process environment.

use std::net::SocketAddr;
use std::time::Duration;

use secrecy::SecretString;
use url::Url;

mod errors;
mod expand;
mod raw;
mod validate;

pub use errors::{ConfigError, ConfigErrors};

/// The whole, validated `providers.toml`.
#[derive(Debug, Clone)]
pub struct Config {
    pub server: ServerConfig,
    pub session: SessionConfig,
    /// In file order; ids are unique.
    pub providers: Vec<ProviderConfig>,
    pub authorize: AuthorizeRules,
    /// In file order; at least one.
    pub upstreams: Vec<UpstreamConfig>,
}

#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    /// Scheme, host, optional port; no path, query or fragment (a trailing `/` is removed).
    pub public_url: Url,
    /// `auto_redirect = true`: with exactly one provider, unauthenticated browsers skip the
    /// sign-in page and go straight to the provider.
    pub auto_redirect: bool,
}

#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// Decoded secret bytes (≥ 32). `None` only when every provider is `kind = "dev"` and no
    /// secret was given: the gateway then generates an ephemeral one and logs that it did.
    pub secret: Option<SessionSecret>,
    pub previous_secrets: Vec<SessionSecret>,
    /// Default `_portcullis`.
    pub cookie_name: String,
    /// Default 12h.
    pub lifetime: Duration,
    /// How long a started login may take until its callback (the flow cookie's lifetime);
    /// default and maximum 10m.
    pub login_timeout: Duration,
}

/// Secret key material for cookie encryption; never printed.
#[derive(Clone)]
pub struct SessionSecret(pub Vec<u8>);

impl std::fmt::Debug for SessionSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionSecret([redacted])")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderKind {
    /// Any OpenID Connect provider, found by discovery at `{issuer}/.well-known/openid-configuration`.
    Oidc,
    /// The OpenID provider embedded in the gateway for local development.
    Dev,
}

/// How the client authenticates at the token endpoint (RFC 6749 §2.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenEndpointAuth {
    ClientSecretBasic,
    ClientSecretPost,
}

#[derive(Debug, Clone)]
pub struct ProviderConfig {
    /// `[a-z0-9_-]{1,64}`; used in `/oauth2/start?provider=` and `/oauth2/callback/{id}`.
    pub id: String,
    pub kind: ProviderKind,
    /// Button label; defaults from the kind ("OpenID Connect", "Development sign-in").
    pub name: String,
    /// Required for `oidc`; validated as an absolute URL but kept exactly as written, since
    /// it is compared character for character with discovery and `iss` (a `Url` would add a
    /// trailing `/` to a bare origin). For `dev` it is `None` here and derived at start-up
    /// as `{public_url}/oauth2/dev`.
    pub issuer: Option<String>,
    /// For `dev`: defaults to `portcullis-dev`.
    pub client_id: String,
    /// For `dev`: `None` (a random one is generated at start-up).
    pub client_secret: Option<SecretString>,
    /// Default `["openid", "email", "profile"]`; `openid` is always included.
    pub scopes: Vec<String>,
    /// `token_endpoint_auth = "client_secret_basic" | "client_secret_post"`; default basic.
    pub token_endpoint_auth: TokenEndpointAuth,
}

/// The global `[authorize]` rule set. At least one of the lists is non-empty (there is no
/// implicit allow-all); `["*"]` in `email_domains` admits any signed-in user.
#[derive(Debug, Clone, Default)]
pub struct AuthorizeRules {
    /// Lower-cased.
    pub emails: Vec<String>,
    /// Lower-cased, without a leading `@`; may be exactly `"*"`.
    pub email_domains: Vec<String>,
}

#[derive(Debug, Clone)]
pub enum UpstreamTarget {
    /// `http://` or `https://` origin with an optional base path (no query, no fragment).
    Http(Url),
    /// `url = "builtin:echo"`: a page served by the gateway itself that shows the request
    /// exactly as an upstream would receive it.
    Echo,
}

#[derive(Debug, Clone)]
pub struct UpstreamConfig {
    /// Starts with `/`.
    pub path: String,
    pub target: UpstreamTarget,
    /// Proxied without a session (identity headers are still stripped).
    pub public: bool,
    /// Send `X-Forwarded-Access-Token`.
    pub pass_access_token: bool,
    /// Send `Authorization: Bearer <id_token>`.
    pub pass_authorization_header: bool,
    /// How long to wait for the upstream's response headers; default 30s.
    pub timeout: Duration,
}

impl Config {
    /// Parses and validates `source`, the text of the file named `file` (used in messages).
    /// `env` resolves `${VAR}` references.
    pub fn parse(
        source: &str,
        file: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigErrors> {
        validate::validate(source, file, env)
    }

    /// Reads and parses the file at `path`, resolving `${VAR}` from the process environment.
    pub fn load(path: &std::path::Path) -> Result<Config, ConfigErrors> {
        let file = path.display().to_string();
        let source = std::fs::read_to_string(path)
            .map_err(|err| ConfigErrors::single(ConfigError::io(&file, &err)))?;
        Config::parse(&source, &file, &|name| std::env::var(name).ok())
    }
}
