//! Refusing, in a `[[provider]]`, the keys that belong to other kinds (and `claims` outside
//! `oauth2`), each at the place it is written.

use crate::config::raw::{RawProvider, Text};
use crate::config::validate::Checker;
use crate::config::ProviderKind;

/// A kind-specific key: its name, where it is written (when it is), and the kinds it fits.
type KindKey<'a> = (&'a str, Option<Option<usize>>, &'a [ProviderKind]);

impl Checker<'_, '_> {
    /// Reports every key that belongs to another kind; `true` when there is none.
    pub(in crate::config::validate) fn keys_of_kind(
        &mut self,
        kind: ProviderKind,
        raw: &RawProvider,
        table: &str,
    ) -> bool {
        use ProviderKind::{Github, Gitlab, Google, Keycloak, Local, Microsoft, OAuth2, Oidc};
        let first =
            |list: &Option<Vec<Text>>| list.as_ref().map(|l| l.first().map(|t| t.span().start));
        let at = |text: &Option<Text>| text.as_ref().map(|t| Some(t.span().start));
        let keys: [KindKey<'_>; 19] = [
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
            ("users_file", at(&raw.users_file), &[Local]),
            ("password_grant", raw.password_grant.map(|_| None), &[Local]),
            ("token_lifetime", at(&raw.token_lifetime), &[Local]),
            ("refresh_lifetime", at(&raw.refresh_lifetime), &[Local]),
            ("clients", raw.clients.as_ref().map(|_| None), &[Local]),
            (
                "failed_logins",
                raw.failed_logins.as_ref().map(|_| None),
                &[Local],
            ),
            // Google, GitHub and Entra assert verification their own way (`presets`).
            (
                "allow_unverified_email",
                raw.allow_unverified_email.map(|_| None),
                &[Oidc, Gitlab, Keycloak, OAuth2],
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
}
