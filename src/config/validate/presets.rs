//! `[[provider]]` kinds beyond `oidc` and `dev`: each fills in its endpoints and claim mapping
//! from at most one kind-specific key (issue 4), and refuses the keys of other kinds.

use std::time::Duration;

use secrecy::SecretString;

use super::clients::Protocol;
use super::{Checker, Str};
use crate::config::raw::{RawClaimMapping, RawProvider, Text};
use crate::config::{
    is_tenant_id, ClaimMapping, GithubConfig, OAuth2Api, OAuth2Config, ProviderKind, ProviderPreset,
};

const GOOGLE_ISSUER: &str = "https://accounts.google.com";
const GITLAB_URL: &str = "https://gitlab.com";
const GITHUB_URL: &str = "https://github.com";
const MICROSOFT_URL: &str = "https://login.microsoftonline.com";
/// How often a GitHub session's orgs and teams are read again, unless configured.
const DEFAULT_MEMBERSHIP_REFRESH: Duration = Duration::from_secs(60 * 60);
/// Sessions record the last check in whole seconds; a shorter interval means nothing more.
const MIN_MEMBERSHIP_REFRESH: Duration = Duration::from_secs(1);

/// A kind-specific key: its name, where it is written (when it is), and the kinds it fits.
type KindKey<'a> = (&'a str, Option<Option<usize>>, &'a [ProviderKind]);

/// Where a kind signs in: an OpenID issuer with the kind's rules, or plain OAuth 2.0 endpoints.
enum Endpoints {
    Oidc {
        issuer: String,
        preset: ProviderPreset,
    },
    OAuth2(OAuth2Api),
}

impl Checker<'_, '_> {
    /// Reports every key that belongs to another kind; `true` when there is none.
    pub(super) fn keys_of_kind(
        &mut self,
        kind: ProviderKind,
        raw: &RawProvider,
        table: &str,
    ) -> bool {
        use ProviderKind::{Github, Gitlab, Google, Keycloak, Microsoft, OAuth2, Oidc};
        let first =
            |list: &Option<Vec<Text>>| list.as_ref().map(|l| l.first().map(|t| t.span().start));
        let keys: [KindKey<'_>; 12] = [
            (
                "issuer",
                raw.issuer.as_ref().map(|t| Some(t.span().start)),
                &[Oidc, Google],
            ),
            (
                "hosted_domain",
                raw.hosted_domain.as_ref().map(|t| Some(t.span().start)),
                &[Google],
            ),
            (
                "base_url",
                raw.base_url.as_ref().map(|t| Some(t.span().start)),
                &[Github, Gitlab, Microsoft],
            ),
            (
                "tenant",
                raw.tenant.as_ref().map(|t| Some(t.span().start)),
                &[Microsoft],
            ),
            ("tenants", first(&raw.tenants), &[Microsoft]),
            (
                "realm_url",
                raw.realm_url.as_ref().map(|t| Some(t.span().start)),
                &[Keycloak],
            ),
            ("orgs", first(&raw.orgs), &[Github]),
            ("teams", first(&raw.teams), &[Github]),
            (
                "membership_refresh",
                raw.membership_refresh
                    .as_ref()
                    .map(|t| Some(t.span().start)),
                &[Github],
            ),
            (
                "auth_url",
                raw.auth_url.as_ref().map(|t| Some(t.span().start)),
                &[OAuth2],
            ),
            (
                "token_url",
                raw.token_url.as_ref().map(|t| Some(t.span().start)),
                &[OAuth2],
            ),
            (
                "userinfo_url",
                raw.userinfo_url.as_ref().map(|t| Some(t.span().start)),
                &[OAuth2],
            ),
        ];
        let mut ok = true;
        for (field, present, kinds) in keys {
            let Some(offset) = present else { continue };
            // A `dev` provider's `issuer` has its own explanation in `dev_client`.
            if kinds.contains(&kind) || (field == "issuer" && kind == ProviderKind::Dev) {
                continue;
            }
            let offset = offset.unwrap_or_else(|| self.places.table_start(table));
            let owners: Vec<String> = kinds
                .iter()
                .map(|k| format!("\"{}\"", k.as_str()))
                .collect();
            self.error(
                offset,
                &format!("{table}.{field}"),
                format!(
                    "`{field}` does not apply to kind \"{}\" (only to {}): remove it",
                    kind.as_str(),
                    owners.join(", ")
                ),
            );
            ok = false;
        }
        if raw.claims.is_some() && kind != OAuth2 {
            let offset = self.places.table_start(table);
            self.error(
                offset,
                &format!("{table}.claims"),
                format!(
                    "`claims` maps userinfo fields for kind \"oauth2\" only; kind \"{}\" has its \
                     own mapping: remove it",
                    kind.as_str()
                ),
            );
            ok = false;
        }
        ok
    }

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
            ProviderKind::Oidc | ProviderKind::Dev => None,
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

    fn github(&mut self, raw: &RawProvider, table: &str) -> Option<Endpoints> {
        let base = self.base_url(raw, table, GITHUB_URL);
        let orgs = self.list(
            raw.orgs.as_deref(),
            &format!("{table}.orgs"),
            |this, text, key| {
                let value = this.non_empty(text, key)?;
                Some(value.to_ascii_lowercase())
            },
        );
        let teams = self.list(
            raw.teams.as_deref(),
            &format!("{table}.teams"),
            |this, text, key| match text.value.split_once('/') {
                Some((org, team)) if !org.is_empty() && !team.is_empty() && !team.contains('/') => {
                    Some(text.value.to_ascii_lowercase())
                }
                _ => {
                    this.error(
                        text.offset,
                        key,
                        format!(
                            "team `{}` must be written \"org/team-slug\", like \"acme/platform\"",
                            text.value
                        ),
                    );
                    None
                }
            },
        );
        let membership_refresh = self.optional(
            raw.membership_refresh.as_ref(),
            &format!("{table}.membership_refresh"),
            |this, text, key| {
                let duration = this.duration(&text, key)?;
                if duration < MIN_MEMBERSHIP_REFRESH {
                    this.error(
                        text.offset,
                        key,
                        "memberships are checked again at most once a second: write \"1s\" or \
                         more, like \"15m\"",
                    );
                    return None;
                }
                Some(duration)
            },
        );
        let base_url = url::Url::parse(&base?).ok()?;
        Some(Endpoints::OAuth2(OAuth2Api::Github(GithubConfig {
            base_url,
            orgs: orgs?,
            teams: teams?,
            membership_refresh: membership_refresh?.unwrap_or(DEFAULT_MEMBERSHIP_REFRESH),
        })))
    }

    fn oauth2(&mut self, raw: &RawProvider, table: &str) -> Option<Endpoints> {
        let endpoint = |this: &mut Self, raw: Option<&Text>, field: &str, what: &str| {
            let key = format!("{table}.{field}");
            this.required(
                raw,
                table,
                &key,
                &format!("`{field}` is required for kind \"oauth2\": the provider's {what} URL"),
            )
            .and_then(|text| this.issuer(&text, &key))
            .and_then(|url| url::Url::parse(&url).ok())
        };
        let auth_url = endpoint(
            self,
            raw.auth_url.as_ref(),
            "auth_url",
            "authorization endpoint",
        );
        let token_url = endpoint(self, raw.token_url.as_ref(), "token_url", "token endpoint");
        let userinfo_url = endpoint(
            self,
            raw.userinfo_url.as_ref(),
            "userinfo_url",
            "user information",
        );
        let claims = match &raw.claims {
            None => Some(ClaimMapping::default()),
            Some(claims) => self.claim_mapping(claims, &format!("{table}.claims")),
        };
        Some(Endpoints::OAuth2(OAuth2Api::Generic(Box::new(
            OAuth2Config {
                auth_url: auth_url?,
                token_url: token_url?,
                userinfo_url: userinfo_url?,
                claims: claims?,
            },
        ))))
    }

    fn claim_mapping(&mut self, raw: &RawClaimMapping, key: &str) -> Option<ClaimMapping> {
        let defaults = ClaimMapping::default();
        let pointer = |this: &mut Self, raw: Option<&Text>, field: &str, default: String| {
            this.optional(raw, &format!("{key}.{field}"), |this, text, key| {
                if text.value.starts_with('/') {
                    Some(text.value)
                } else {
                    this.error(
                        text.offset,
                        key,
                        format!(
                            "`{}` is not a JSON pointer (RFC 6901): start it with `/`, like \"/{}\"",
                            text.value, text.value
                        ),
                    );
                    None
                }
            })
            .map(|value| value.unwrap_or(default))
        };
        let id = pointer(self, raw.id.as_ref(), "id", defaults.id);
        let email = pointer(self, raw.email.as_ref(), "email", defaults.email);
        let email_verified = pointer(
            self,
            raw.email_verified.as_ref(),
            "email_verified",
            defaults.email_verified,
        );
        let name = pointer(self, raw.name.as_ref(), "name", defaults.name);
        let username = pointer(self, raw.username.as_ref(), "username", defaults.username);
        let groups = pointer(self, raw.groups.as_ref(), "groups", defaults.groups);
        Some(ClaimMapping {
            id: id?,
            email: email?,
            email_verified: email_verified?,
            name: name?,
            username: username?,
            groups: groups?,
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
