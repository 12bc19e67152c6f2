//! `providers.toml` as written: serde structs that accept exactly the documented keys.
//!
//! Every field is optional here (defaults and requirements are decided in `validate`) and every
//! string keeps its span, so later problems point at the value. `parse` reports *all* unknown
//! keys and wrong types, not just the first, through the span recovery of `spans.rs`.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

use super::errors::Diagnostics;
use super::spans::{self, Places};

/// A string value with its position in the file.
pub(super) type Text = Spanned<String>;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    pub(super) server: Option<RawServer>,
    pub(super) session: Option<RawSession>,
    #[serde(default)]
    pub(super) provider: Vec<RawProvider>,
    pub(super) authorize: Option<RawAuthorize>,
    #[serde(default)]
    pub(super) upstream: Vec<RawUpstream>,
    pub(super) pages: Option<RawPages>,
    pub(super) telemetry: Option<RawTelemetry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawServer {
    pub(super) listen: Option<Text>,
    pub(super) public_url: Option<Text>,
    pub(super) auto_redirect: Option<bool>,
    pub(super) allow_insecure_http: Option<bool>,
    pub(super) trusted_proxies: Option<Vec<Text>>,
    pub(super) allowed_redirect_hosts: Option<Vec<Text>>,
    #[serde(default, deserialize_with = "duration::optional")]
    pub(super) header_timeout: Option<Text>,
    #[serde(default, deserialize_with = "duration::optional")]
    pub(super) keepalive_timeout: Option<Text>,
    #[serde(default, deserialize_with = "duration::optional")]
    pub(super) shutdown_timeout: Option<Text>,
    pub(super) max_connections: Option<Spanned<i64>>,
    pub(super) max_connections_per_client: Option<Spanned<i64>>,
    pub(super) login_rate_limit: Option<Spanned<i64>>,
    pub(super) metrics_listen: Option<Text>,
    pub(super) tls: Option<Spanned<RawTls>>,
    pub(super) ca_file: Option<Text>,
    pub(super) log_format: Option<Text>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSession {
    pub(super) secret: Option<Text>,
    pub(super) previous_secrets: Option<Vec<Text>>,
    pub(super) cookie_name: Option<Text>,
    #[serde(default, deserialize_with = "duration::optional")]
    pub(super) lifetime: Option<Text>,
    #[serde(default, deserialize_with = "duration::optional")]
    pub(super) login_timeout: Option<Text>,
    pub(super) cookie_domain: Option<Text>,
    pub(super) store: Option<Text>,
    pub(super) redis_url: Option<RawRedisUrls>,
    pub(super) cluster: Option<bool>,
    pub(super) key_prefix: Option<Text>,
    #[serde(default, deserialize_with = "duration::optional")]
    pub(super) redis_timeout: Option<Text>,
    #[serde(default, deserialize_with = "duration::optional")]
    pub(super) idle_timeout: Option<Text>,
    pub(super) refresh: Option<bool>,
    #[serde(default, deserialize_with = "duration::optional")]
    pub(super) refresh_before: Option<Text>,
}

/// `redis_url`: one URL, or (with `cluster = true`) a list of seed nodes (read by
/// `raw/redis_urls.rs`).
pub(super) enum RawRedisUrls {
    One(Text),
    Several(Vec<Text>),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawProvider {
    pub(super) id: Option<Text>,
    pub(super) kind: Option<Text>,
    pub(super) name: Option<Text>,
    pub(super) issuer: Option<Text>,
    pub(super) client_id: Option<Text>,
    pub(super) client_secret: Option<Text>,
    pub(super) scopes: Option<Vec<Text>>,
    pub(super) token_endpoint_auth: Option<Text>,
    pub(super) bearer: Option<RawBearer>,
    /// `google`.
    pub(super) hosted_domain: Option<Text>,
    /// `github`, `gitlab`, `microsoft`.
    pub(super) base_url: Option<Text>,
    /// `microsoft`.
    pub(super) tenant: Option<Text>,
    pub(super) tenants: Option<Vec<Text>>,
    /// `keycloak`.
    pub(super) realm_url: Option<Text>,
    /// `github`.
    pub(super) orgs: Option<Vec<Text>>,
    pub(super) teams: Option<Vec<Text>>,
    #[serde(default, deserialize_with = "duration::optional")]
    pub(super) membership_refresh: Option<Text>,
    /// `oauth2`.
    pub(super) auth_url: Option<Text>,
    pub(super) token_url: Option<Text>,
    pub(super) userinfo_url: Option<Text>,
    pub(super) claims: Option<RawClaimMapping>,
    /// `local`.
    pub(super) users_file: Option<Text>,
    pub(super) password_grant: Option<bool>,
    #[serde(default, deserialize_with = "duration::optional")]
    pub(super) token_lifetime: Option<Text>,
    #[serde(default, deserialize_with = "duration::optional")]
    pub(super) refresh_lifetime: Option<Text>,
    pub(super) clients: Option<Vec<RawTokenClient>>,
    pub(super) failed_logins: Option<RawFailedLogins>,
    pub(super) ca_file: Option<Text>,
    /// `oidc`, `gitlab`, `keycloak`, `oauth2`.
    pub(super) allow_unverified_email: Option<bool>,
}

/// `server.tls = { cert = "cert.pem", key = "key.pem" }`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTls {
    pub(super) cert: Option<Text>,
    pub(super) key: Option<Text>,
}

/// One of a `local` provider's `clients = [{ id = "ci", secret = "${CI_SECRET}" }]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTokenClient {
    pub(super) id: Option<Text>,
    pub(super) secret: Option<Text>,
}

/// A `local` provider's `failed_logins = { per_username, per_client, window }`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFailedLogins {
    pub(super) per_username: Option<Spanned<i64>>,
    pub(super) per_client: Option<Spanned<i64>>,
    #[serde(default, deserialize_with = "duration::optional")]
    pub(super) window: Option<Text>,
}

/// An `oauth2` provider's `claims = { id = "/id", ... }`: JSON pointers into userinfo.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawClaimMapping {
    pub(super) id: Option<Text>,
    pub(super) email: Option<Text>,
    pub(super) email_verified: Option<Text>,
    pub(super) name: Option<Text>,
    pub(super) username: Option<Text>,
    pub(super) groups: Option<Text>,
}

/// A provider's `bearer = { audiences = [...] }`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawBearer {
    pub(super) audiences: Option<Vec<Text>>,
}

/// `[authorize]`, and an upstream's `allow` (inline or as an `[upstream.allow]` table).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAuthorize {
    pub(super) emails: Option<Vec<Text>>,
    pub(super) email_domains: Option<Vec<Text>>,
    pub(super) groups: Option<Vec<Text>>,
    pub(super) providers: Option<Vec<Text>>,
    /// Claim name or JSON pointer → accepted values (any TOML scalar; checked in `validate`).
    pub(super) claims: Option<BTreeMap<String, Spanned<Vec<Spanned<toml::Value>>>>>,
}

/// One `skip_auth = [{ methods = ["GET"], path = "^/health$" }]` entry.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSkipAuth {
    pub(super) methods: Option<Vec<Text>>,
    pub(super) path: Option<Text>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawUpstream {
    pub(super) path: Option<Text>,
    pub(super) url: Option<Text>,
    pub(super) public: Option<bool>,
    pub(super) pass_access_token: Option<bool>,
    pub(super) pass_authorization_header: Option<bool>,
    #[serde(default, deserialize_with = "duration::optional")]
    pub(super) timeout: Option<Text>,
    #[serde(default, deserialize_with = "duration::optional")]
    pub(super) websocket_idle_timeout: Option<Text>,
    pub(super) host: Option<Text>,
    pub(super) allow: Option<RawAuthorize>,
    pub(super) skip_auth: Option<Vec<RawSkipAuth>>,
    pub(super) cors_preflight: Option<bool>,
    pub(super) ca_file: Option<Text>,
}

/// `[pages]`: the branding of the pages (DESIGN §11).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPages {
    pub(super) title: Option<Text>,
    pub(super) logo: Option<Text>,
    pub(super) css: Option<Text>,
    pub(super) templates_dir: Option<Text>,
}

/// `[telemetry]`: OpenTelemetry traces (DESIGN §11).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTelemetry {
    pub(super) otlp_endpoint: Option<Text>,
    pub(super) sample_ratio: Option<Spanned<f64>>,
    pub(super) service_name: Option<Text>,
}

/// The raw configuration plus what `validate` needs to place its own messages.
pub(super) struct RawDocument {
    pub(super) config: RawConfig,
    pub(super) places: Places,
}

/// Keys that must be tables and arrays of tables; serde's messages for other shapes confuse.
const TABLES: [&str; 5] = ["server", "session", "authorize", "pages", "telemetry"];
const ARRAYS_OF_TABLES: [&str; 2] = ["provider", "upstream"];

/// Parses `source`; `None` when it is not TOML at all. Unknown keys and wrong types are
/// recorded in `diagnostics` and dropped, so the rest of the file is still checked.
pub(super) fn parse(diagnostics: &mut Diagnostics<'_>) -> Option<RawDocument> {
    let (config, places) =
        spans::deserialize_reporting_all(diagnostics, &TABLES, &ARRAYS_OF_TABLES)?;
    Some(RawDocument { config, places })
}

mod duration;
mod redis_urls;

#[cfg(test)]
mod tests;
