//! `[authorize]`: who may pass. There is no implicit allow-all.

use super::{Checker, Str};
use crate::config::raw::RawAuthorize;
use crate::config::AuthorizeRules;

const NO_ALLOW_ALL: &str = "there is no implicit allow-all: list who may pass with \
    `emails = [\"alice@example.com\"]` or `email_domains = [\"example.com\"]`, or write \
    `email_domains = [\"*\"]` under [authorize] to admit anyone who signs in";

impl Checker<'_, '_> {
    pub(super) fn authorize(&mut self, raw: Option<&RawAuthorize>) -> Option<AuthorizeRules> {
        let Some(raw) = raw else {
            self.missing(
                "authorize",
                "authorize",
                &format!("there is no [authorize] section, and {NO_ALLOW_ALL}"),
            );
            return None;
        };
        let emails = self.list(
            raw.emails.as_deref(),
            "authorize.emails",
            |this, text, key| this.email(text, key),
        );
        let domain_count = raw.email_domains.as_ref().map_or(0, Vec::len);
        let email_domains = self.list(
            raw.email_domains.as_deref(),
            "authorize.email_domains",
            |this, text, key| this.email_domain(text, key, domain_count),
        );
        let written = raw.emails.as_ref().map_or(0, Vec::len) + domain_count;
        let dropped = self.places.was_dropped("authorize.emails")
            || self.places.was_dropped("authorize.email_domains");
        if written == 0 && !dropped {
            let offset = self.places.table_start("authorize");
            self.error(
                offset,
                "authorize",
                format!("[authorize] admits nobody: {NO_ALLOW_ALL}"),
            );
            return None;
        }
        Some(AuthorizeRules {
            emails: emails?,
            email_domains: email_domains?,
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

    fn email_domain(&mut self, text: Str, key: &str, entries: usize) -> Option<String> {
        let lowered = text.value.to_lowercase();
        let domain = lowered.strip_prefix('@').unwrap_or(&lowered);
        let problem = if domain == "*" {
            if entries == 1 {
                return Some(domain.to_owned());
            }
            "`*` admits anyone who signs in, so it must be the only entry: \
             email_domains = [\"*\"]"
                .to_owned()
        } else if is_hostname(domain) {
            return Some(domain.to_owned());
        } else if domain.contains('*') {
            format!(
                "`{}` is not a domain: wildcards are not supported (domains match exactly); list \
                 each domain, or write email_domains = [\"*\"] to admit anyone who signs in",
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
}

/// An ASCII host name (RFC 1123): dot-separated labels of letters, digits and inner hyphens.
fn is_hostname(name: &str) -> bool {
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
