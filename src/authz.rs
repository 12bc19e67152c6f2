//! Authorization: who may pass, by the `[authorize]` rules.
//!
//! Emails compare case-insensitively; domains compare exactly, on the part after the last
//! `@`, so `example.com` admits neither `evil-example.com` nor `example.com.evil.org`
//! (DESIGN §5 item 10). Only verified emails reach an [`Identity`], so an unverified address
//! never matches. There is no implicit allow-all: `email_domains = ["*"]` must be written.

use crate::config::AuthorizeRules;
use crate::identity::Identity;

/// Why a signed-in user was refused; names the rule that failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Denial {
    #[error("authorize: no verified email, and the rules require one")]
    NoVerifiedEmail,
    #[error("authorize.emails / authorize.email_domains: {0} is not allowed")]
    EmailNotAllowed(String),
}

/// Checks `identity` against `rules`. A user passes when their verified email is listed in
/// `emails`, or its domain is listed in `email_domains`, or `email_domains` is `["*"]`.
pub fn authorize(rules: &AuthorizeRules, identity: &Identity) -> Result<(), Denial> {
    if rules.email_domains.iter().any(|d| d == "*") {
        return Ok(());
    }
    let email = identity
        .email
        .as_deref()
        .map(str::to_ascii_lowercase)
        .ok_or(Denial::NoVerifiedEmail)?;
    // An address with more than one `@` is not one the rules can reason about.
    let domain = match email.split_once('@') {
        Some((local, domain)) if !local.is_empty() && !domain.contains('@') => domain,
        _ => "",
    };
    let listed = rules.emails.contains(&email)
        || (!domain.is_empty() && rules.email_domains.iter().any(|allowed| allowed == domain));
    if listed {
        Ok(())
    } else {
        Err(Denial::EmailNotAllowed(email))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(email: Option<&str>) -> Identity {
        Identity {
            user: "sub-1".into(),
            email: email.map(str::to_owned),
            preferred_username: None,
            groups: vec![],
            provider: "p".into(),
        }
    }

    fn rules(emails: &[&str], domains: &[&str]) -> AuthorizeRules {
        AuthorizeRules {
            emails: emails.iter().map(|s| s.to_string()).collect(),
            email_domains: domains.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// (emails, email_domains, the user's verified email, allowed)
    type RuleCase<'a> = (&'a [&'a str], &'a [&'a str], Option<&'a str>, bool);

    #[test]
    fn rule_table() {
        let cases: &[RuleCase] = &[
            (&[], &["example.com"], Some("alice@example.com"), true),
            (&[], &["example.com"], Some("Alice@EXAMPLE.com"), true),
            (&[], &["example.com"], Some("alice@evil-example.com"), false),
            (
                &[],
                &["example.com"],
                Some("alice@example.com.evil.org"),
                false,
            ),
            (&[], &["example.com"], Some("alice@sub.example.com"), false),
            (&[], &["example.com"], Some("example.com@evil.org"), false),
            (
                &[],
                &["example.com"],
                Some("alice@evil.org@example.com"),
                false,
            ),
            (&[], &["example.com"], Some("@example.com"), false),
            (&[], &["example.com"], Some("alice"), false),
            (&[], &["example.com"], None, false),
            (&["bob@example.org"], &[], Some("BOB@example.org"), true),
            (
                &["bob@example.org"],
                &[],
                Some("bob@example.org.evil"),
                false,
            ),
            (&["bob@example.org"], &[], Some("xbob@example.org"), false),
            (
                &["bob@example.org"],
                &["example.com"],
                Some("carol@example.com"),
                true,
            ),
            (&[], &["*"], None, true),
            (&[], &["*"], Some("anyone@anywhere.test"), true),
            (&[], &[], Some("alice@example.com"), false),
        ];
        for (emails, domains, email, allowed) in cases {
            let result = authorize(&rules(emails, domains), &identity(*email));
            assert_eq!(result.is_ok(), *allowed, "{emails:?} {domains:?} {email:?}");
        }
    }

    #[test]
    fn denial_names_the_rule() {
        let err = authorize(&rules(&[], &["example.com"]), &identity(Some("a@b.org"))).unwrap_err();
        assert!(err.to_string().contains("authorize.email"));
    }
}
