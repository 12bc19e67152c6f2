//! `[[provider]]` kinds beyond `oidc` and `dev`: each fills in its endpoints and claim mapping
//! from at most one kind-specific key (issue 4), and refuses the keys of other kinds
//! (`presets/kind_keys.rs`). The OpenID Connect presets (google, gitlab, keycloak, microsoft)
//! are here; the plain OAuth 2.0 kinds (github, oauth2) in `presets/oauth2.rs`.

use secrecy::SecretString;

use super::clients::Protocol;
use super::{Checker, Str};
use crate::config::raw::RawProvider;
use crate::config::{is_tenant_id, OAuth2Api, ProviderKind, ProviderPreset};

mod kind_keys;
mod oauth2;

const GOOGLE_ISSUER: &str = "https://accounts.google.com";
const GITLAB_URL: &str = "https://gitlab.com";
const MICROSOFT_URL: &str = "https://login.microsoftonline.com";

/// Where a kind signs in: an OpenID issuer with the kind's rules, or plain OAuth 2.0 endpoints.
enum Endpoints {
    Oidc {
        issuer: String,
        preset: ProviderPreset,
    },
    OAuth2(OAuth2Api),
}

impl Checker<'_, '_> {
    /// The client id and the protocol settings of a preset or `oauth2` provider.
    pub(super) fn preset_client(
        &mut self,
        kind: ProviderKind,
        raw: &RawProvider,
        table: &str,
    ) -> Option<(String, Protocol)> {
        let key = |field: &str| format!("{table}.{field}");
        let kind_name = kind.as_str();
        let client_id = self
            .required(
                raw.client_id.as_ref(),
                table,
                &key("client_id"),
                &format!("`client_id` is required for kind \"{kind_name}\": the client id the provider issued"),
            )
            .and_then(|text| self.non_empty(text, &key("client_id")));
        let client_secret = self
            .required(
                raw.client_secret.as_ref(),
                table,
                &key("client_secret"),
                &format!(
                    "`client_secret` is required for kind \"{kind_name}\": the client secret the \
                     provider issued, preferably as \"${{VARIABLE}}\""
                ),
            )
            .and_then(|text| self.non_empty(text, &key("client_secret")));
        let settings = match kind {
            ProviderKind::Google => self.google(raw, table),
            ProviderKind::Gitlab => {
                self.base_url(raw, table, GITLAB_URL)
                    .map(|issuer| Endpoints::Oidc {
                        issuer,
                        preset: ProviderPreset::Gitlab,
                    })
            }
            ProviderKind::Keycloak => self
                .required(
                    raw.realm_url.as_ref(),
                    table,
                    &key("realm_url"),
                    "`realm_url` is required for kind \"keycloak\": the realm's issuer, like \
                     \"https://sso.example.com/realms/staff\"",
                )
                .and_then(|text| self.issuer(&text, &key("realm_url")))
                .map(|issuer| Endpoints::Oidc {
                    issuer,
                    preset: ProviderPreset::Keycloak,
                }),
            ProviderKind::Microsoft => self.microsoft(raw, table),
            ProviderKind::Github => self.github(raw, table),
            ProviderKind::OAuth2 => self.oauth2(raw, table),
            ProviderKind::Oidc | ProviderKind::Dev | ProviderKind::Local => None,
        };
        let (client_id, secret) = client_id.zip(client_secret)?;
        let secret = SecretString::from(secret);
        let protocol = match settings? {
            Endpoints::Oidc { issuer, preset } => Protocol::Oidc {
                issuer,
                secret,
                preset,
            },
            Endpoints::OAuth2(api) => Protocol::OAuth2 { secret, api },
        };
        Some((client_id, protocol))
    }

    /// `base_url` (https, or http on loopback), without a trailing `/`.
    fn base_url(&mut self, raw: &RawProvider, table: &str, default: &str) -> Option<String> {
        let key = format!("{table}.base_url");
        let url = self.optional(raw.base_url.as_ref(), &key, |this, text, key| {
            this.issuer(&text, key)
        })?;
        Some(
            url.as_deref()
                .unwrap_or(default)
                .trim_end_matches('/')
                .to_owned(),
        )
    }

    fn google(&mut self, raw: &RawProvider, table: &str) -> Option<Endpoints> {
        let issuer = self.optional(
            raw.issuer.as_ref(),
            &format!("{table}.issuer"),
            |this, text, key| this.issuer(&text, key),
        );
        let hosted_domain = self.optional(
            raw.hosted_domain.as_ref(),
            &format!("{table}.hosted_domain"),
            |this, text, key| this.domain(text, key),
        );
        Some(Endpoints::Oidc {
            issuer: issuer?.unwrap_or_else(|| GOOGLE_ISSUER.to_owned()),
            preset: ProviderPreset::Google {
                hosted_domain: hosted_domain?,
            },
        })
    }

    fn microsoft(&mut self, raw: &RawProvider, table: &str) -> Option<Endpoints> {
        let base = self.base_url(raw, table, MICROSOFT_URL);
        let tenant_key = format!("{table}.tenant");
        let tenant = self
            .required(
                raw.tenant.as_ref(),
                table,
                &tenant_key,
                "`tenant` is required for kind \"microsoft\": your Directory (tenant) ID, or \
                 \"organizations\" / \"common\" for work accounts of any tenant",
            )
            .and_then(|text| {
                let value = text.value.to_ascii_lowercase();
                if value == "common" || value == "organizations" || is_tenant_id(&value) {
                    Some(value)
                } else {
                    self.error(
                        text.offset,
                        &tenant_key,
                        format!(
                            "tenant `{}` must be a Directory (tenant) ID like \
                             \"72f988bf-86f1-41af-91ab-2d7cd011db47\", \"organizations\" or \
                             \"common\" (the token issuer contains the ID, not a domain name)",
                            text.value
                        ),
                    );
                    None
                }
            });
        let tenants_key = format!("{table}.tenants");
        let tenants = self.list(raw.tenants.as_deref(), &tenants_key, |this, text, key| {
            let value = text.value.to_ascii_lowercase();
            if is_tenant_id(&value) {
                Some(value)
            } else {
                this.error(
                    text.offset,
                    key,
                    format!("`{}` is not a Directory (tenant) ID (a GUID)", text.value),
                );
                None
            }
        });
        let (base, tenant, tenants) = (base?, tenant?, tenants?);
        if !tenants.is_empty() && is_tenant_id(&tenant) {
            self.missing(
                table,
                &tenants_key,
                "`tenants` restricts a multi-tenant (\"common\" or \"organizations\") \
                 registration; with a single tenant id it has no effect: remove it",
            );
            return None;
        }
        Some(Endpoints::Oidc {
            issuer: format!("{base}/{tenant}/v2.0"),
            preset: ProviderPreset::Microsoft { tenant, tenants },
        })
    }
    /// A DNS domain name, lower-cased: `example.com`.
    fn domain(&mut self, text: Str, key: &str) -> Option<String> {
        let value = text.value.trim().to_ascii_lowercase();
        let valid = value.contains('.')
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
            && !value.starts_with('.')
            && !value.ends_with('.');
        if valid {
            Some(value)
        } else {
            self.error(
                text.offset,
                key,
                format!("`{}` is not a domain name like \"example.com\"", text.value),
            );
            None
        }
    }
}
