//! `[[provider]]`: ids, kinds, names, scopes, `token_endpoint_auth`, `bearer`, and the
//! validated `ProviderConfig` with its protocol (issuer and credentials in `clients.rs` and
//! `presets.rs`).

use std::collections::HashMap;
use std::net::SocketAddr;

use super::clients::Protocol;
use super::{Checker, Str};
use crate::config::errors::line_column;
use crate::config::raw::{RawBearer, RawProvider, Text};
use crate::config::{
    BearerConfig, ClientCredentials, DevClient, OAuth2Client, OidcClient, ProviderConfig,
    ProviderKind, ProviderProtocol, TokenEndpointAuth,
};

const DEFAULT_SCOPES: [&str; 3] = ["openid", "email", "profile"];
/// The profile, every email address with its verification, and org and team memberships.
const GITHUB_SCOPES: [&str; 3] = ["read:user", "user:email", "read:org"];

impl Checker<'_, '_> {
    /// The providers, and whether any of them needs a configured session secret.
    pub(super) fn providers(
        &mut self,
        raw: &[RawProvider],
        listen: Option<SocketAddr>,
    ) -> (Option<Vec<ProviderConfig>>, bool) {
        if raw.is_empty() {
            self.missing(
                "provider",
                "provider",
                "no [[provider]] is configured: add one with kind = \"oidc\" (and issuer, \
                 client_id, client_secret) for a real identity provider, or kind = \"dev\" for \
                 local development",
            );
            return (None, false);
        }
        let mut seen = HashMap::new();
        let mut providers = Some(Vec::with_capacity(raw.len()));
        let mut needs_secret = false;
        for (index, raw) in raw.iter().enumerate() {
            let (provider, kind) = self.provider(index, raw, listen, &mut seen);
            needs_secret |= kind.is_some_and(|kind| kind != ProviderKind::Dev);
            match (provider, providers.as_mut()) {
                (Some(provider), Some(list)) => list.push(provider),
                _ => providers = None,
            }
        }
        (providers, needs_secret)
    }

    fn provider(
        &mut self,
        index: usize,
        raw: &RawProvider,
        listen: Option<SocketAddr>,
        seen: &mut HashMap<String, usize>,
    ) -> (Option<ProviderConfig>, Option<ProviderKind>) {
        let table = format!("provider[{index}]");
        let key = |field: &str| format!("{table}.{field}");
        let id = self
            .required(
                raw.id.as_ref(),
                &table,
                &key("id"),
                "`id` is required: a short name like \"google\", used in \
                 /oauth2/callback/{id}",
            )
            .and_then(|text| self.provider_id(text, &key("id"), seen));
        let kind_text = self.required(
            raw.kind.as_ref(),
            &table,
            &key("kind"),
            "`kind` is required: \"oidc\" for an OpenID Connect provider or \"dev\" for the \
             embedded development provider",
        );
        let kind = kind_text
            .as_ref()
            .and_then(|text| self.provider_kind(text, &key("kind")));
        let name = self.optional(raw.name.as_ref(), &key("name"), |this, text, key| {
            this.non_empty(text, key)
        });
        let scopes = self.scopes(raw.scopes.as_deref(), &key("scopes"), kind);
        let token_endpoint_auth = self.optional(
            raw.token_endpoint_auth.as_ref(),
            &key("token_endpoint_auth"),
            |this, text, key| this.token_endpoint_auth(&text, key),
        );
        let bearer = match &raw.bearer {
            None => Some(None),
            // `local_client` explains why it has none.
            Some(_) if kind == Some(ProviderKind::Local) => Some(None),
            Some(bearer) => self.bearer(bearer, &table, kind).map(Some),
        };
        let foreign_keys_ok = kind.is_none_or(|kind| self.keys_of_kind(kind, raw, &table));
        let client = match (kind, kind_text.as_ref()) {
            (Some(ProviderKind::Oidc), _) => self.oidc_client(raw, &table),
            (Some(ProviderKind::Dev), Some(kind_text)) => {
                self.dev_client(raw, &table, listen, kind_text)
            }
            (Some(ProviderKind::Local), _) => self.local_client(raw, &table),
            (Some(kind), _) if kind != ProviderKind::Dev && kind != ProviderKind::Local => {
                self.preset_client(kind, raw, &table)
            }
            _ => {
                // Still look for missing variables in what could not be checked.
                for (field, value) in [
                    ("issuer", &raw.issuer),
                    ("client_id", &raw.client_id),
                    ("client_secret", &raw.client_secret),
                ] {
                    if let Some(value) = value {
                        self.text(value, &key(field));
                    }
                }
                None
            }
        };
        let client = client.filter(|_| foreign_keys_ok);
        let ca_file = self.ca_file(raw.ca_file.as_ref(), &key("ca_file"));
        let provider = match (id, kind, client, name, scopes, token_endpoint_auth, bearer) {
            (
                Some(id),
                Some(kind),
                Some((client_id, protocol)),
                Some(name),
                Some(scopes),
                Some(token_endpoint_auth),
                Some(bearer),
            ) if ca_file.is_some() => {
                let auth = token_endpoint_auth.unwrap_or(TokenEndpointAuth::ClientSecretBasic);
                let protocol = match protocol {
                    Protocol::Oidc {
                        issuer,
                        secret,
                        preset,
                    } => ProviderProtocol::Oidc(OidcClient {
                        issuer,
                        credentials: ClientCredentials { secret, auth },
                        preset,
                        bearer,
                    }),
                    // `bearer` was refused above for kinds without a JWKS.
                    Protocol::OAuth2 { secret, api } => ProviderProtocol::OAuth2(OAuth2Client {
                        credentials: ClientCredentials { secret, auth },
                        api,
                    }),
                    Protocol::Dev => ProviderProtocol::Dev(DevClient {
                        token_endpoint_auth: auth,
                        bearer,
                    }),
                    Protocol::Local(local) => ProviderProtocol::Local(local),
                };
                Some(ProviderConfig {
                    id,
                    kind,
                    name: name.unwrap_or_else(|| default_name(kind).to_owned()),
                    client_id,
                    scopes,
                    protocol,
                    ca_files: ca_file.flatten().into_iter().collect(),
                    allow_unverified_email: raw.allow_unverified_email.unwrap_or(false),
                })
            }
            _ => None,
        };
        (provider, kind)
    }

    /// `bearer = { audiences = [...] }`: at least one audience, each non-empty.
    fn bearer(
        &mut self,
        raw: &RawBearer,
        table: &str,
        kind: Option<ProviderKind>,
    ) -> Option<BearerConfig> {
        let key = format!("{table}.bearer.audiences");
        if let Some(kind) = kind.filter(|kind| !kind.is_oidc()) {
            self.missing(
                table,
                &format!("{table}.bearer"),
                &format!(
                    "`bearer` needs an OpenID Connect provider with a JWKS; kind \"{}\" has \
                     none: remove `bearer`",
                    kind.as_str()
                ),
            );
            return None;
        }
        let audiences = self.list(raw.audiences.as_deref(), &key, |this, text, key| {
            this.non_empty(text, key)
        })?;
        if audiences.is_empty() {
            self.missing(
                &format!("{table}.bearer"),
                &key,
                "`bearer` needs `audiences`: the `aud` values API tokens must carry, like \
                 audiences = [\"https://api.example.com\"]",
            );
            return None;
        }
        Some(BearerConfig { audiences })
    }

    fn provider_id(
        &mut self,
        text: Str,
        key: &str,
        seen: &mut HashMap<String, usize>,
    ) -> Option<String> {
        let valid = (1..=64).contains(&text.value.len())
            && text
                .value
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        if !valid {
            self.error(
                text.offset,
                key,
                format!(
                    "provider id `{}` must match [a-z0-9_-]{{1,64}} (it appears in \
                     /oauth2/callback/{{id}})",
                    text.value
                ),
            );
            return None;
        }
        if let Some(first) = seen.get(&text.value).copied() {
            let (line, _) = line_column(self.diagnostics.source(), first);
            self.error(
                text.offset,
                key,
                format!(
                    "duplicate provider id `{}`: it is already used on line {line}; every \
                     provider needs its own id",
                    text.value
                ),
            );
            return None;
        }
        seen.insert(text.value.clone(), text.offset);
        Some(text.value)
    }

    fn provider_kind(&mut self, text: &Str, key: &str) -> Option<ProviderKind> {
        match text.value.as_str() {
            "oidc" => Some(ProviderKind::Oidc),
            "dev" => Some(ProviderKind::Dev),
            "google" => Some(ProviderKind::Google),
            "github" => Some(ProviderKind::Github),
            "gitlab" => Some(ProviderKind::Gitlab),
            "microsoft" => Some(ProviderKind::Microsoft),
            "keycloak" => Some(ProviderKind::Keycloak),
            "oauth2" => Some(ProviderKind::OAuth2),
            "local" => Some(ProviderKind::Local),
            other => {
                self.error(
                    text.offset,
                    key,
                    format!(
                        "unknown provider kind `{other}`: use \"oidc\" for any OpenID Connect \
                         provider (with issuer, client_id and client_secret), a preset (\"google\", \
                         \"github\", \"gitlab\", \"microsoft\", \"keycloak\"), \"oauth2\" for a \
                         plain OAuth 2.0 provider, \"local\" for accounts in a users file, or \
                         \"dev\" for the embedded development provider"
                    ),
                );
                None
            }
        }
    }

    /// As written, with `openid` first for OpenID Connect kinds; the kind's defaults when
    /// absent.
    fn scopes(
        &mut self,
        raw: Option<&[Text]>,
        key: &str,
        kind: Option<ProviderKind>,
    ) -> Option<Vec<String>> {
        let oidc = kind.is_none_or(ProviderKind::is_oidc);
        let Some(raw) = raw else {
            let defaults: &[&str] = match kind {
                Some(ProviderKind::Github) => &GITHUB_SCOPES,
                Some(ProviderKind::OAuth2 | ProviderKind::Local) => &[],
                _ => &DEFAULT_SCOPES,
            };
            return Some(defaults.iter().map(|s| (*s).to_owned()).collect());
        };
        let mut scopes = if oidc {
            vec!["openid".to_owned()]
        } else {
            Vec::new()
        };
        let mut complete = true;
        for (index, raw) in raw.iter().enumerate() {
            let key = format!("{key}[{index}]");
            let Some(text) = self.text(raw, &key) else {
                complete = false;
                continue;
            };
            if !is_scope(&text.value) {
                self.error(
                    text.offset,
                    &key,
                    format!(
                        "`{}` is not a valid scope (RFC 6749 §3.3): no spaces, quotes or \
                         backslashes; list each scope as its own string",
                        text.value
                    ),
                );
                complete = false;
            } else if !scopes.contains(&text.value) {
                scopes.push(text.value);
            }
        }
        complete.then_some(scopes)
    }

    fn token_endpoint_auth(&mut self, text: &Str, key: &str) -> Option<TokenEndpointAuth> {
        match text.value.as_str() {
            "client_secret_basic" => Some(TokenEndpointAuth::ClientSecretBasic),
            "client_secret_post" => Some(TokenEndpointAuth::ClientSecretPost),
            other => {
                self.error(
                    text.offset,
                    key,
                    format!(
                        "unknown token_endpoint_auth `{other}`: use \"client_secret_basic\" (the \
                         default) or \"client_secret_post\""
                    ),
                );
                None
            }
        }
    }
}

fn default_name(kind: ProviderKind) -> &'static str {
    match kind {
        ProviderKind::Oidc => "OpenID Connect",
        ProviderKind::Dev => "Development provider",
        ProviderKind::Google => "Google",
        ProviderKind::Github => "GitHub",
        ProviderKind::Gitlab => "GitLab",
        ProviderKind::Microsoft => "Microsoft",
        ProviderKind::Keycloak => "Keycloak",
        ProviderKind::OAuth2 => "OAuth 2.0",
        ProviderKind::Local => "Local account",
    }
}

/// RFC 6749 §3.3 scope-token: `%x21 / %x23-5B / %x5D-7E`.
fn is_scope(scope: &str) -> bool {
    !scope.is_empty()
        && scope
            .bytes()
            .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b))
}
