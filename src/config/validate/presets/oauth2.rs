//! The plain OAuth 2.0 kinds: `github` (its base URL, `orgs`, `teams` and
//! `membership_refresh`) and `oauth2` (its endpoints and claim mapping).

use std::time::Duration;

use super::Endpoints;
use crate::config::raw::{RawClaimMapping, RawProvider, Text};
use crate::config::validate::Checker;
use crate::config::{ClaimMapping, GithubConfig, OAuth2Api, OAuth2Config};

const GITHUB_URL: &str = "https://github.com";
/// How often a GitHub session's orgs and teams are read again, unless configured.
const DEFAULT_MEMBERSHIP_REFRESH: Duration = Duration::from_secs(60 * 60);
/// Sessions record the last check in whole seconds; a shorter interval means nothing more.
const MIN_MEMBERSHIP_REFRESH: Duration = Duration::from_secs(1);

impl Checker<'_, '_> {
    pub(super) fn github(&mut self, raw: &RawProvider, table: &str) -> Option<Endpoints> {
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

    pub(super) fn oauth2(&mut self, raw: &RawProvider, table: &str) -> Option<Endpoints> {
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
}
