//! `providers.toml`: the validated configuration the gateway runs on.
//!
//! Parsing happens in two steps (see `config/raw.rs`, with `config/spans.rs`, and
//! `config/validate.rs`): the file is deserialized into raw structs that reject unknown keys,
//! then converted into the domain types below (a provider's in `config/provider.rs`, re-exported
//! here) by one `validate` pass that collects every problem with its file, line and column.
//! Parsing takes the file text and an environment lookup so tests never touch the process
//! environment.

use std::net::SocketAddr;
use std::time::Duration;

use url::Url;

mod errors;
mod expand;
mod network;
mod pages;
mod provider;
mod raw;
mod spans;
mod summary;
mod users;
mod validate;

pub use errors::{ConfigError, ConfigErrors};
pub use network::IpNetwork;
pub use pages::{BrandFiles, BrandLogo, PagesConfig, PagesProblem, TemplateFile};
pub use provider::{
    is_tenant_id, BearerConfig, ClaimMapping, ClientCredentials, DevClient, FailedLoginLimits,
    GithubConfig, LocalAccounts, OAuth2Api, OAuth2Client, OAuth2Config, OidcClient, ProviderConfig,
    ProviderKind, ProviderPreset, ProviderProtocol, TokenClient, TokenEndpointAuth,
};
pub use users::{hash_password, load_users, parse_users, HashError, LocalUser, UsersFile};

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
    /// `[pages]`: the branding of the pages people see.
    pub pages: PagesConfig,
    /// `[telemetry]`: OpenTelemetry traces over OTLP; `None` (no section) sends nothing.
    pub telemetry: Option<TelemetryConfig>,
}

/// `server.log_format` (and the `--log-format` flag, which wins when given): how log lines
/// are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// One line per event, `name=value` fields (the default).
    Text,
    /// One JSON object per line.
    Json,
}

/// `[telemetry]` (DESIGN §11): spans sent to an OpenTelemetry collector over OTLP/HTTP with
/// the JSON encoding (`crate::telemetry::trace`).
#[derive(Debug, Clone, PartialEq)]
pub struct TelemetryConfig {
    /// Where the spans are sent: `otlp_endpoint` followed by `/v1/traces` (the OTLP
    /// exporter's rule for a base URL), or `otlp_endpoint` itself when it already ends so.
    pub traces_url: Url,
    /// `sample_ratio` (default 1): the share of new traces that are recorded, from 0 to 1.
    pub sample_ratio: f64,
    /// `service_name` (default `"portcullis"`): the `service.name` of the spans' resource.
    pub service_name: String,
}

#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    /// `metrics_listen`: where `/metrics` is served instead of on `listen` (where it is then
    /// a 404); `None` serves it on `listen`.
    pub metrics_listen: Option<SocketAddr>,
    /// Scheme, host, optional port; no path, query or fragment (a trailing `/` is removed).
    pub public_url: Url,
    /// `auto_redirect = true`: with exactly one provider (and no local provider, whose form is
    /// on the sign-in page), unauthenticated browsers skip the sign-in page and go straight
    /// to the provider.
    pub auto_redirect: bool,
    /// `trusted_proxies`: the peers (TCP source addresses) whose `X-Forwarded-Method/Host/Uri`
    /// and `X-Original-URL/Method` headers `/oauth2/auth` believes. Empty by default: nobody.
    pub trusted_proxies: Vec<IpNetwork>,
    /// `allowed_redirect_hosts`: hosts an absolute `rd` may name, lower-cased; `app.example.com`
    /// is that host only, `.example.com` the domain and its subdomains. Empty by default:
    /// `rd` is then a local path only.
    pub allowed_redirect_hosts: Vec<String>,
    /// How long clients get to use their connections ([`crate::server`]).
    pub connections: ConnectionSettings,
    /// `login_rate_limit` (default 600): requests per minute one client address (an IPv4
    /// address, an IPv6 /64; behind `trusted_proxies`, the address they name) may make to
    /// `/oauth2/start`, `/oauth2/callback/*`, `/oauth2/local/*` and `/oauth2/token`, in a
    /// burst or spread out; over it, 429 with `Retry-After`. `None` (`0`): no limit.
    pub login_rate_limit: Option<u32>,
    /// `tls = { cert, key }`: the listener speaks HTTPS (HTTP/1.1 and HTTP/2 by ALPN) with
    /// this certificate, which a reload may swap ([`crate::tls::ServerCertificate`]); `None`
    /// serves plain HTTP (TLS ends in front of the gateway, or on loopback).
    pub tls: Option<crate::tls::ServerTls>,
    /// `ca_file`: roots trusted, on top of the built-in ones, by every provider and upstream
    /// client (each may add its own `ca_file` too); validation puts it first in every
    /// provider's and upstream's `ca_files`.
    pub ca_file: Option<crate::tls::CaFile>,
    /// `log_format`: how log lines are written; `None` leaves it to `--log-format` (text by
    /// default). Read at start-up only.
    pub log_format: Option<LogFormat>,
}

/// `header_timeout`, `keepalive_timeout`, `shutdown_timeout`, `max_connections` and
/// `max_connections_per_client`:
/// what one client connection may hold of the gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionSettings {
    /// `header_timeout` (default 10s): a request head must arrive in full within this long of
    /// its first byte, and a new connection must bring its first request head within this long.
    pub header_timeout: Duration,
    /// `keepalive_timeout` (default 60s): a connection with no request in progress is closed
    /// after this long (HTTP/1.1 keep-alive, HTTP/2 with no open stream).
    pub keepalive_timeout: Duration,
    /// `shutdown_timeout` (default 30s): once asked to stop (SIGTERM, Ctrl-C), the gateway
    /// stops accepting and waits this long at most for the requests in progress (a long
    /// download, an open WebSocket) before it closes their connections and exits.
    pub shutdown_timeout: Duration,
    /// `max_connections`: client connections served at once; `None` derives it from the
    /// descriptor limit at start-up ([`crate::server::ConnectionLimits`]).
    pub max_connections: Option<usize>,
    /// `max_connections_per_client`: connections one client address (an IPv4 address, an
    /// IPv6 /64) may hold at once; `None` is a quarter of `max_connections`.
    pub max_connections_per_client: Option<usize>,
}

#[derive(Debug, Clone, PartialEq)]
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
    /// `cookie_domain`: the session cookie's `Domain` attribute (RFC 6265 §5.2.3), lower-cased
    /// and without a leading dot, so one sign-in covers the subdomains. The public URL's host
    /// is within it. `None` (default): a host-only cookie.
    pub cookie_domain: Option<String>,
    /// `store`: where sessions live (DESIGN §6). Default [`SessionStoreKind::Cookie`].
    pub store: SessionStoreKind,
    /// `redis_url` and its companions; required by `store = "redis"`, and with the cookie
    /// store it holds the revocation entries (sign-out, back-channel logout) that every
    /// replica reads.
    pub redis: Option<RedisConfig>,
    /// `idle_timeout`: a session unused this long has ended (both stores). `None`: no limit
    /// but `lifetime`.
    pub idle_timeout: Option<Duration>,
    /// `refresh`: renew access tokens with the refresh token (RFC 6749 §6). `None` (default):
    /// whenever the provider issued one.
    pub refresh: Option<bool>,
    /// `refresh_before`: renew this long before the access token expires (never more than
    /// half of the token's lifetime). Default 60s.
    pub refresh_before: Duration,
}

/// Where sessions live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionStoreKind {
    /// The whole session, AEAD-sealed, in the (chunked) cookie.
    Cookie,
    /// The cookie holds a random id; the sealed session lives in Redis.
    Redis,
}

/// How to reach Redis: `redis_url` (`redis://`, `rediss://`, `redis+sentinel://`,
/// `rediss+sentinel://`), `cluster`, `key_prefix`, `redis_timeout`.
#[derive(Clone, PartialEq, Eq)]
pub struct RedisConfig {
    /// One URL, or with `cluster` the seed nodes (each `redis://` or `rediss://`). They may
    /// carry a password, so `Debug` prints none of them.
    pub urls: Vec<String>,
    pub cluster: bool,
    /// Default `"portcullis:"`; every key the gateway writes starts with it.
    pub key_prefix: String,
    /// Bound on each Redis call; default 2s.
    pub timeout: Duration,
}

impl std::fmt::Debug for RedisConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisConfig")
            .field("urls", &format_args!("[{} redacted]", self.urls.len()))
            .field("cluster", &self.cluster)
            .field("key_prefix", &self.key_prefix)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// Secret key material for cookie encryption; never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionSecret(pub Vec<u8>);

impl std::fmt::Debug for SessionSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionSecret([redacted])")
    }
}

/// One rule set: the global `[authorize]`, or an upstream's `allow`. Every kind that is
/// listed must match (`emails` and `email_domains` together are one kind: who the email is),
/// and any value within a kind may match; `src/authz.rs` evaluates it. `[authorize]` lists
/// at least one kind (there is no implicit allow-all); `["*"]` in its `email_domains` admits
/// any signed-in user.
#[derive(Debug, Clone, Default)]
pub struct AuthorizeRules {
    /// Where the rules are written (`authorize`, `upstream[2].allow`), so a denial can name
    /// the rule that failed.
    pub origin: String,
    /// Lower-cased.
    pub emails: Vec<String>,
    /// Lower-cased, without a leading `@`: `example.com` (exactly that domain),
    /// `*.example.com` (its subdomains, not itself), or, only in `[authorize]`, exactly `"*"`.
    pub email_domains: Vec<String>,
    /// Group names, compared exactly (case-sensitive).
    pub groups: Vec<String>,
    /// `[[provider]] id`s; each names a configured provider.
    pub providers: Vec<String>,
    /// Every entry must match.
    pub claims: Vec<ClaimRule>,
}

/// `claims = { "<name or /json/pointer>" = [values] }`: the ID token's claim must equal one
/// of the accepted values (or, when the claim is an array, one of its elements must).
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimRule {
    /// As written: a top-level claim name, or an RFC 6901 JSON pointer starting with `/`.
    pub claim: String,
    /// Not empty.
    pub accepted: Vec<ClaimValue>,
}

/// An accepted claim value; compared by type and value (`"true"` is not `true`, `1` equals
/// `1.0`).
#[derive(Debug, Clone, PartialEq)]
pub enum ClaimValue {
    String(String),
    Bool(bool),
    Integer(i64),
    Float(f64),
}

/// `host = "app.example.com"` or `host = "*.example.com"` on an upstream, lower-cased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostPattern {
    /// Exactly this host name.
    Exact(String),
    /// `*.example.com`: any subdomain of `example.com`, at any depth, but not `example.com`
    /// itself. Holds `example.com`.
    Subdomains(String),
}

/// One `skip_auth` entry: requests whose method is listed (any method when `methods` is
/// empty) and whose normalised path matches `path` are proxied without a session.
#[derive(Debug, Clone)]
pub struct SkipAuthRule {
    /// Upper-case; empty means any method.
    pub methods: Vec<String>,
    /// The pattern as written, anchored with `^` and `$` (checked at validation).
    pub pattern: String,
    /// `pattern`, compiled wrapped in `^(?:…)$`, so a top-level `|` cannot unanchor it.
    pub path: regex::Regex,
}

#[derive(Debug, Clone)]
pub enum UpstreamTarget {
    /// `http://` or `https://` origin with an optional base path (no query, no fragment).
    Http(HttpTarget),
    /// `url = "builtin:echo"`: a page served by the gateway itself that shows the request
    /// exactly as an upstream would receive it.
    Echo,
}

/// An `http://` or `https://` upstream URL (read as the [`Url`] it derefs to), with the
/// scheme and authority every request to it carries, parsed once here instead of on each.
#[derive(Debug, Clone)]
pub struct HttpTarget {
    url: Url,
    /// `None` for a URL whose authority `http` does not read (the request is then refused
    /// as it is built).
    origin: Option<(http::uri::Scheme, http::uri::Authority)>,
}

impl HttpTarget {
    /// The scheme and authority of requests to this upstream (`https` or `http`).
    pub(crate) fn origin(&self) -> Option<&(http::uri::Scheme, http::uri::Authority)> {
        self.origin.as_ref()
    }
}

impl From<Url> for HttpTarget {
    fn from(url: Url) -> HttpTarget {
        let scheme = match url.scheme() {
            "https" => http::uri::Scheme::HTTPS,
            _ => http::uri::Scheme::HTTP,
        };
        let authority = url[url::Position::BeforeHost..url::Position::AfterPort].parse();
        HttpTarget {
            origin: authority.ok().map(|authority| (scheme, authority)),
            url,
        }
    }
}

impl std::str::FromStr for HttpTarget {
    type Err = url::ParseError;

    fn from_str(text: &str) -> Result<HttpTarget, url::ParseError> {
        Url::parse(text).map(HttpTarget::from)
    }
}

impl std::ops::Deref for HttpTarget {
    type Target = Url;

    fn deref(&self) -> &Url {
        &self.url
    }
}

/// `[[upstream]] websocket_idle_timeout` when unset: 10 minutes. nginx closes a tunnel after
/// `proxy_read_timeout` (60 s) of upstream silence, which is known to cut off quiet
/// WebSockets, and is commonly raised to minutes or hours; the usual WebSocket libraries
/// (Socket.IO, SignalR, Phoenix, Centrifugo) send a heartbeat every 15–30 s, well inside it.
pub const DEFAULT_WEBSOCKET_IDLE_TIMEOUT: Duration = Duration::from_secs(10 * 60);

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
    /// How long a WebSocket (or other upgraded) tunnel may carry no byte in either direction
    /// before the gateway closes both of its connections; default
    /// [`DEFAULT_WEBSOCKET_IDLE_TIMEOUT`].
    pub websocket_idle_timeout: Duration,
    /// `host = …`: only requests for this host; `None` serves any host, but loses to an
    /// upstream whose host matches.
    pub host: Option<HostPattern>,
    /// `allow = { … }`: route rules, checked on top of `[authorize]`.
    pub allow: Option<AuthorizeRules>,
    /// `skip_auth = [{ methods, path }]`: requests proxied without a session.
    pub skip_auth: Vec<SkipAuthRule>,
    /// `cors_preflight = true`: `OPTIONS` with `Origin` and `Access-Control-Request-Method`
    /// is proxied without a session (the Fetch standard's CORS preflight never carries
    /// cookies).
    pub cors_preflight: bool,
    /// The roots trusted for this upstream's `https://` URL on top of the built-in ones:
    /// `server.ca_file`, then the upstream's own `ca_file` (each when set).
    pub ca_files: Vec<crate::tls::CaFile>,
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
