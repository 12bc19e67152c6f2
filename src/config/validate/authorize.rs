//! `[authorize]` and every upstream's `allow`: who may pass. There is no implicit allow-all.

use super::{Checker, Str};
use crate::config::raw::RawAuthorize;
use crate::config::AuthorizeRules;

const NO_ALLOW_ALL: &str = "there is no implicit allow-all: list who may pass with \
    `emails = [\"alice@example.com\"]`, `email_domains = [\"example.com\"]`, `groups`, \
    `providers` or `claims`, or write `email_domains = [\"*\"]` under [authorize] to admit \
    anyone who signs in";

/// Which rule set is being checked: `*` (anyone) is only meaningful in `[authorize]`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Scope {
    Global,
    Route,
}

impl Checker<'_, '_> {
    /// `[authorize]`. `providers` holds the configured provider ids (`None` when the
    /// providers themselves had problems, which are reported there).
    pub(super) fn authorize(
        &mut self,
        raw: Option<&RawAuthorize>,
        providers: Option<&[String]>,
    ) -> Option<AuthorizeRules> {
        let Some(raw) = raw else {
            self.missing(
                "authorize",
                "authorize",
                &format!("there is no [authorize] section, and {NO_ALLOW_ALL}"),
            );
            return None;
        };
        let rules = self.rule_set(raw, "authorize", Scope::Global, providers);
        if !self.lists_a_rule(raw, "authorize") {
            let offset = self.places.table_start("authorize");
            self.error(
                offset,
                "authorize",
                format!("[authorize] admits nobody: {NO_ALLOW_ALL}"),
            );
            return None;
        }
        rules
    }

    /// An upstream's `allow` at `origin` (`upstream[2].allow`); `table` is the upstream's
    /// table, for the position of a problem with the whole `allow`.
    pub(super) fn route_rules(
        &mut self,
        raw: &RawAuthorize,
        origin: &str,
        table: &str,
        providers: Option<&[String]>,
    ) -> Option<AuthorizeRules> {
        let rules = self.rule_set(raw, origin, Scope::Route, providers);
        if !self.lists_a_rule(raw, origin) {
            let offset = self.places.table_start(table);
            self.error(
                offset,
                origin,
                "`allow` lists no rule: add `emails`, `email_domains`, `groups`, `providers` or \
                 `claims`, or remove it (the [authorize] rules apply to every route)",
            );
            return None;
        }
        rules
    }

    /// Whether at least one kind is listed (or something was, before a structural problem
    /// dropped it: that problem is the one to report).
    fn lists_a_rule(&self, raw: &RawAuthorize, origin: &str) -> bool {
        let written = [&raw.emails, &raw.email_domains, &raw.groups, &raw.providers]
            .iter()
            .map(|list| list.as_ref().map_or(0, Vec::len))
            .sum::<usize>()
            + raw.claims.as_ref().map_or(0, |claims| claims.len());
        written > 0 || self.places.dropped_inside(origin)
    }

    fn rule_set(
        &mut self,
        raw: &RawAuthorize,
        origin: &str,
        scope: Scope,
        providers: Option<&[String]>,
    ) -> Option<AuthorizeRules> {
        let emails = self.list(
            raw.emails.as_deref(),
            &format!("{origin}.emails"),
            |this, text, key| this.email(text, key),
        );
        let domain_count = raw.email_domains.as_ref().map_or(0, Vec::len);
        let email_domains = self.list(
            raw.email_domains.as_deref(),
            &format!("{origin}.email_domains"),
            |this, text, key| this.email_domain(text, key, domain_count, scope),
        );
        let groups = self.list(
            raw.groups.as_deref(),
            &format!("{origin}.groups"),
            |this, text, key| this.group(text, key),
        );
        let provider_ids = self.list(
            raw.providers.as_deref(),
            &format!("{origin}.providers"),
            |this, text, key| this.provider_ref(text, key, providers),
        );
        let mut claims = Some(Vec::new());
        for (claim, values) in raw.claims.iter().flatten() {
            let rule = self.claim_rule(claim, values, &format!("{origin}.claims"));
            match (rule, claims.as_mut()) {
                (Some(rule), Some(list)) => list.push(rule),
                _ => claims = None,
            }
        }
        Some(AuthorizeRules {
            origin: origin.to_owned(),
            emails: emails?,
            email_domains: email_domains?,
            groups: groups?,
            providers: provider_ids?,
            claims: claims?,
        })
    }

    fn email(&mut self, text: Str, key: &str) -> Option<String> {
        let email = text.value.to_lowercase();
        let valid = match email.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && !domain.is_empty()
                    && !domain.contains('@')
                    && !email.chars().any(|c| c.is_whitespace() || c.is_control())
            }
            None => false,
        };
        if valid {
            return Some(email);
        }
        self.error(
            text.offset,
            key,
            format!(
                "`{}` is not an email address: it needs exactly one `@` with text on both sides, \
                 like \"alice@example.com\"",
                text.value
            ),
        );
        None
    }

    fn email_domain(
        &mut self,
        text: Str,
        key: &str,
        entries: usize,
        scope: Scope,
    ) -> Option<String> {
        let lowered = text.value.to_lowercase();
        let domain = lowered.strip_prefix('@').unwrap_or(&lowered);
        let problem = if domain == "*" {
            match (scope, entries) {
                (Scope::Global, 1) => return Some(domain.to_owned()),
                (Scope::Global, _) => "`*` admits anyone who signs in, so it must be the only \
                     entry: email_domains = [\"*\"]"
                    .to_owned(),
                (Scope::Route, _) => "`*` admits anyone, so in an upstream's `allow` it adds \
                     nothing: remove it (the [authorize] rules still apply)"
                    .to_owned(),
            }
        } else if let Some(parent) = domain.strip_prefix("*.") {
            if is_hostname(parent) {
                return Some(domain.to_owned());
            }
            format!(
                "`{}` is not a valid domain pattern: after `*.` comes a domain name, like \
                 \"*.example.com\"",
                text.value
            )
        } else if is_hostname(domain) {
            return Some(domain.to_owned());
        } else if let Some(parent) = domain.strip_prefix('.').filter(|d| is_hostname(d)) {
            format!(
                "`{}` is not a domain: write \"*.{parent}\" for its subdomains, or \"{parent}\" \
                 for the domain itself (domains match exactly)",
                text.value
            )
        } else if domain.contains('*') {
            format!(
                "`{}` is not a domain: the only wildcard is a leading `*.` (\"*.example.com\", \
                 subdomains only), or email_domains = [\"*\"] under [authorize] to admit anyone \
                 who signs in",
                text.value
            )
        } else {
            format!(
                "`{}` is not a valid domain name, like \"example.com\"",
                text.value
            )
        };
        self.error(text.offset, key, problem);
        None
    }

    fn group(&mut self, text: Str, key: &str) -> Option<String> {
        if text.value.is_empty() || text.value.chars().any(char::is_control) {
            self.error(
                text.offset,
                key,
                "a group name must not be empty or contain control characters",
            );
            return None;
        }
        Some(text.value)
    }

    fn provider_ref(
        &mut self,
        text: Str,
        key: &str,
        providers: Option<&[String]>,
    ) -> Option<String> {
        match providers {
            Some(known) if !known.contains(&text.value) => {
                self.error(
                    text.offset,
                    key,
                    format!(
                        "unknown provider `{}`: the configured [[provider]] ids are {}",
                        text.value,
                        known
                            .iter()
                            .map(|id| format!("\"{id}\""))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                );
                None
            }
            _ => Some(text.value),
        }
    }
}

/// An ASCII host name (RFC 1123): dot-separated labels of letters, digits and inner hyphens.
pub(super) fn is_hostname(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}
