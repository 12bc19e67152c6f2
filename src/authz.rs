//! Authorization: who may pass, by the global `[authorize]` rules and a route's `allow`.
//!
//! A request passes when both rule sets pass ([`authorize_route`]). Inside one rule set every
//! listed kind must match, and any value within a kind may: `emails` and `email_domains`
//! together are one kind (the email is listed, or its domain is), then `groups`, `providers`,
//! and each `claims` entry on its own.
//!
//! Emails compare case-insensitively; domains compare exactly, on the part after the only
//! `@`, so `example.com` admits neither `evil-example.com` nor `example.com.evil.org`, and
//! `*.example.com` admits `eng.example.com` but not `example.com` (DESIGN §5 item 10). Only
//! verified emails reach an [`Identity`], so an unverified address never matches. There is
//! no implicit allow-all: `email_domains = ["*"]` must be written.
//!
//! Claims are read from a JWT the gateway verified (the ID token at login or renewal, a
//! bearer token), decoded only when a rule needs it, or from the claims a session kept of
//! its ID token at the paths the rules name (`crate::session`'s compact sessions).

use std::borrow::Cow;
use std::cell::OnceCell;

use serde_json::Value;

use crate::config::{AuthorizeRules, ClaimRule, ClaimValue};
use crate::identity::Identity;

/// Why a signed-in user was refused: the rule that failed (`authorize.email_domains`,
/// `upstream[2].allow.groups`, `authorize.claims."/org/tier"`) and what about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{rule}: {reason}")]
pub(crate) struct Denial {
    pub(crate) rule: String,
    pub(crate) reason: String,
}

/// Where `claims` rules find the claims.
#[derive(Clone, Copy)]
pub(crate) enum Claims<'a> {
    /// A JWT the gateway verified (at login or renewal, or as a bearer token); only decoded
    /// here.
    Token(&'a str),
    /// The claims a session kept, at the paths the rules name.
    Kept(&'a Value),
    None,
}

impl<'a> From<Option<&'a str>> for Claims<'a> {
    fn from(token: Option<&'a str>) -> Claims<'a> {
        token.map_or(Claims::None, Claims::Token)
    }
}

/// Who is asking: the identity and, for `claims` rules, where their claims are.
pub(crate) struct Subject<'a> {
    identity: &'a Identity,
    source: Claims<'a>,
    decoded: OnceCell<Option<Value>>,
}

impl<'a> Subject<'a> {
    pub(crate) fn new(identity: &'a Identity, source: Claims<'a>) -> Subject<'a> {
        Subject {
            identity,
            source,
            decoded: OnceCell::new(),
        }
    }

    /// The claims, a token's payload decoded once.
    fn claims(&self) -> Option<&Value> {
        match self.source {
            Claims::Token(token) => self
                .decoded
                .get_or_init(|| crate::jwt::payload(token))
                .as_ref(),
            Claims::Kept(claims) => Some(claims),
            Claims::None => None,
        }
    }
}

/// Checks the global rules, then the route's (when it has an `allow`); the first failure is
/// returned.
pub(crate) fn authorize_route(
    global: &AuthorizeRules,
    route: Option<&AuthorizeRules>,
    subject: &Subject<'_>,
) -> Result<(), Denial> {
    authorize(global, subject)?;
    match route {
        Some(route) => authorize(route, subject),
        None => Ok(()),
    }
}

/// Checks `subject` against one rule set: every listed kind must match.
pub(crate) fn authorize(rules: &AuthorizeRules, subject: &Subject<'_>) -> Result<(), Denial> {
    if lists_nothing(rules) {
        // Validation never produces one; refuse rather than admit everyone if one appears.
        return Err(Denial {
            rule: rules.origin.clone(),
            reason: "lists no rule, so admits nobody".to_owned(),
        });
    }
    check_email(rules, subject.identity)?;
    if !rules.groups.is_empty()
        && !subject
            .identity
            .groups
            .iter()
            .any(|group| rules.groups.contains(group))
    {
        return Err(denial(rules, "groups", "in none of the listed groups"));
    }
    if !rules.providers.is_empty() && !rules.providers.contains(&subject.identity.provider) {
        return Err(denial(
            rules,
            "providers",
            &format!("signed in with `{}`", subject.identity.provider),
        ));
    }
    for rule in &rules.claims {
        if !claim_matches(rule, subject.claims()) {
            let key = format!("claims.{}", claim_key(&rule.claim));
            return Err(denial(rules, &key, "no accepted value in the ID token"));
        }
    }
    Ok(())
}

fn lists_nothing(rules: &AuthorizeRules) -> bool {
    rules.emails.is_empty()
        && rules.email_domains.is_empty()
        && rules.groups.is_empty()
        && rules.providers.is_empty()
        && rules.claims.is_empty()
}

fn denial(rules: &AuthorizeRules, kind: &str, reason: &str) -> Denial {
    Denial {
        rule: format!("{}.{kind}", rules.origin),
        reason: reason.to_owned(),
    }
}

/// `text` lower-cased (`str::to_lowercase`), borrowed when it is ASCII without capitals, as
/// nearly every address is: the rules are read on every request.
fn lowercase(text: &str) -> Cow<'_, str> {
    match text.is_ascii() && !text.bytes().any(|byte| byte.is_ascii_uppercase()) {
        true => Cow::Borrowed(text),
        false => Cow::Owned(text.to_lowercase()),
    }
}

/// `emails` and `email_domains`: one kind, matched when the verified email is listed or its
/// domain matches an entry.
fn check_email(rules: &AuthorizeRules, identity: &Identity) -> Result<(), Denial> {
    let kind = match (rules.emails.is_empty(), rules.email_domains.is_empty()) {
        (true, true) => return Ok(()),
        (false, true) => "emails",
        (true, false) => "email_domains",
        (false, false) => "emails/email_domains",
    };
    if rules.email_domains.iter().any(|d| d == "*") {
        return Ok(());
    }
    let Some(email) = identity.email.as_deref().map(lowercase) else {
        return Err(denial(rules, kind, "no verified email"));
    };
    // An address with more than one `@` is not one the rules can reason about.
    let domain = match email.split_once('@') {
        Some((local, domain)) if !local.is_empty() && !domain.contains('@') => domain,
        _ => "",
    };
    let listed = rules.emails.iter().any(|listed| *listed == *email)
        || (!domain.is_empty()
            && rules
                .email_domains
                .iter()
                .any(|allowed| domain_matches(allowed, domain)));
    if listed {
        Ok(())
    } else {
        Err(denial(rules, kind, &format!("{email} is not allowed")))
    }
}

/// `example.com` matches exactly; `*.example.com` matches any subdomain, not the domain.
fn domain_matches(allowed: &str, domain: &str) -> bool {
    match allowed.strip_prefix("*.") {
        Some(parent) => domain
            .strip_suffix(parent)
            .and_then(|sub| sub.strip_suffix('.'))
            .is_some_and(|sub| !sub.is_empty() && !sub.ends_with('.')),
        None => allowed == domain,
    }
}

/// The claim (a top-level name, or a JSON pointer) equals an accepted value, or is an array
/// with an element that does.
fn claim_matches(rule: &ClaimRule, claims: Option<&Value>) -> bool {
    let found = match claims {
        Some(claims) if rule.claim.starts_with('/') => claims.pointer(&rule.claim),
        Some(claims) => claims.get(&rule.claim),
        None => None,
    };
    let accepts = |value: &Value| rule.accepted.iter().any(|a| value_equals(a, value));
    match found {
        Some(Value::Array(items)) => items.iter().any(accepts),
        Some(value) => accepts(value),
        None => false,
    }
}

fn value_equals(accepted: &ClaimValue, value: &Value) -> bool {
    match (accepted, value) {
        (ClaimValue::String(a), Value::String(v)) => a == v,
        (ClaimValue::Bool(a), Value::Bool(v)) => a == v,
        (ClaimValue::Integer(a), Value::Number(v)) => {
            v.as_i64() == Some(*a) || (v.is_f64() && v.as_f64() == Some(*a as f64))
        }
        (ClaimValue::Float(a), Value::Number(v)) => v.as_f64() == Some(*a),
        _ => false,
    }
}

/// The claim as it appears in a rule path: bare when it can be, else quoted.
fn claim_key(claim: &str) -> String {
    let bare = claim
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if bare && !claim.is_empty() {
        claim.to_owned()
    } else {
        serde_json::to_string(claim).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests;
