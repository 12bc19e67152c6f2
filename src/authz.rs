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
//! Claims are read from the ID token kept in the session, which the gateway verified at
//! login and sealed with AEAD; the payload is decoded only when a rule needs it.

use std::cell::OnceCell;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::Value;

use crate::config::{AuthorizeRules, ClaimRule, ClaimValue};
use crate::identity::Identity;

/// Why a signed-in user was refused: the rule that failed (`authorize.email_domains`,
/// `upstream[2].allow.groups`, `authorize.claims."/org/tier"`) and what about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{rule}: {reason}")]
pub struct Denial {
    pub rule: String,
    pub reason: String,
}

/// Who is asking: the session's identity and, for `claims` rules, the verified JWT (ID token)
/// whose payload holds the claims.
pub struct Subject<'a> {
    identity: &'a Identity,
    token: Option<&'a str>,
    claims: OnceCell<Option<Value>>,
}

impl<'a> Subject<'a> {
    /// `token` must have been verified by the gateway (at login, or as a bearer token); it is
    /// only decoded here.
    pub fn new(identity: &'a Identity, token: Option<&'a str>) -> Subject<'a> {
        Subject {
            identity,
            token,
            claims: OnceCell::new(),
        }
    }

    /// The token's payload, decoded once, when it is a JSON object.
    fn claims(&self) -> Option<&Value> {
        self.claims
            .get_or_init(|| self.token.and_then(jwt_payload))
            .as_ref()
    }
}

/// Checks the global rules, then the route's (when it has an `allow`); the first failure is
/// returned.
pub fn authorize_route(
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
pub fn authorize(rules: &AuthorizeRules, subject: &Subject<'_>) -> Result<(), Denial> {
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
    let Some(email) = identity.email.as_deref().map(str::to_lowercase) else {
        return Err(denial(rules, kind, "no verified email"));
    };
    // An address with more than one `@` is not one the rules can reason about.
    let domain = match email.split_once('@') {
        Some((local, domain)) if !local.is_empty() && !domain.contains('@') => domain,
        _ => "",
    };
    let listed = rules.emails.contains(&email)
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

/// The payload of a compact JWS (RFC 7515 §7.1), when it is a JSON object. No signature is
/// checked here: callers pass only tokens the gateway has verified.
fn jwt_payload(token: &str) -> Option<Value> {
    let mut parts = token.split('.');
    let (Some(_header), Some(payload), Some(_signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    let bytes = URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice::<Value>(&bytes)
        .ok()
        .filter(Value::is_object)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn identity(email: Option<&str>, groups: &[&str], provider: &str) -> Identity {
        Identity {
            user: "sub-1".into(),
            email: email.map(str::to_owned),
            preferred_username: None,
            groups: groups.iter().map(|g| g.to_string()).collect(),
            provider: provider.into(),
        }
    }

    fn strings(values: &[&str]) -> Vec<String> {
        values.iter().map(|s| s.to_string()).collect()
    }

    fn email_rules(emails: &[&str], domains: &[&str]) -> AuthorizeRules {
        AuthorizeRules {
            origin: "authorize".into(),
            emails: strings(emails),
            email_domains: strings(domains),
            ..AuthorizeRules::default()
        }
    }

    /// A JWS-shaped token whose payload is `claims` (the signature is not looked at here).
    fn token(claims: &Value) -> String {
        format!(
            "eyJhbGciOiJSUzI1NiJ9.{}.c2ln",
            URL_SAFE_NO_PAD.encode(claims.to_string())
        )
    }

    /// (emails, email_domains, the user's verified email, allowed)
    type EmailCase<'a> = (&'a [&'a str], &'a [&'a str], Option<&'a str>, bool);

    #[test]
    fn email_rule_table() {
        let cases: &[EmailCase] = &[
            (&[], &["example.com"], Some("alice@example.com"), true),
            (&[], &["example.com"], Some("Alice@EXAMPLE.com"), true),
            (&[], &["example.com"], Some("alice@evil-example.com"), false),
            (&[], &["example.com"], Some("alice@example.com.evil.org"), false),
            (&[], &["example.com"], Some("alice@sub.example.com"), false),
            (&[], &["example.com"], Some("example.com@evil.org"), false),
            (&[], &["example.com"], Some("alice@evil.org@example.com"), false),
            (&[], &["example.com"], Some("@example.com"), false),
            (&[], &["example.com"], Some("alice"), false),
            (&[], &["example.com"], None, false),
            (&[], &["*.example.com"], Some("alice@eng.example.com"), true),
            (&[], &["*.example.com"], Some("alice@a.b.example.com"), true),
            (&[], &["*.example.com"], Some("alice@example.com"), false),
            (&[], &["*.example.com"], Some("alice@evilexample.com"), false),
            (&[], &["*.example.com"], Some("alice@.example.com"), false),
            (&[], &["*.example.com"], Some("alice@a..example.com"), false),
            (&[], &["*.example.com"], Some("alice@eng.example.com.evil.org"), false),
            (&[], &["example.com", "*.example.com"], Some("alice@example.com"), true),
            (&["bob@example.org"], &[], Some("BOB@example.org"), true),
            (&["bob@example.org"], &[], Some("bob@example.org.evil"), false),
            (&["bob@example.org"], &[], Some("xbob@example.org"), false),
            (&["bob@example.org"], &["example.com"], Some("carol@example.com"), true),
            (&["bob@example.org"], &["example.com"], Some("bob@example.org"), true),
            (&["bob@example.org"], &["example.com"], Some("eve@example.org"), false),
            (&[], &["*"], None, true),
            (&[], &["*"], Some("anyone@anywhere.test"), true),
            (&[], &[], Some("alice@example.com"), false),
        ];
        for (emails, domains, email, allowed) in cases {
            let who = identity(*email, &[], "p");
            let result = authorize(&email_rules(emails, domains), &Subject::new(&who, None));
            assert_eq!(result.is_ok(), *allowed, "{emails:?} {domains:?} {email:?}");
        }
    }

    /// One rule set with every kind, built from a compact description.
    struct Rules<'a> {
        domains: &'a [&'a str],
        groups: &'a [&'a str],
        providers: &'a [&'a str],
        claims: &'a [(&'a str, &'a [ClaimValue])],
    }

    impl Rules<'_> {
        fn build(&self, origin: &str) -> AuthorizeRules {
            AuthorizeRules {
                origin: origin.into(),
                emails: vec![],
                email_domains: strings(self.domains),
                groups: strings(self.groups),
                providers: strings(self.providers),
                claims: self
                    .claims
                    .iter()
                    .map(|(claim, accepted)| ClaimRule {
                        claim: claim.to_string(),
                        accepted: accepted.to_vec(),
                    })
                    .collect(),
            }
        }
    }

    const NONE: Rules<'static> = Rules {
        domains: &[],
        groups: &[],
        providers: &[],
        claims: &[],
    };

    fn s(value: &str) -> ClaimValue {
        ClaimValue::String(value.into())
    }

    #[test]
    fn rule_kinds_all_must_match_and_any_value_within_a_kind_may() {
        // The user: alice@example.com, groups staff + admins, provider "corp", and these claims.
        let claims = json!({
            "sub": "sub-1",
            "department": "engineering",
            "roles": ["reader", "writer"],
            "email_verified": true,
            "level": 3,
            "score": 2.5,
            "org": { "tier": "gold", "a/b": "slash", "m~n": "tilde" },
            "flag_as_text": "true",
        });
        let id_token = token(&claims);
        let who = identity(Some("alice@example.com"), &["staff", "admins"], "corp");
        let cases: &[(Rules, bool)] = &[
            (Rules { groups: &["admins"], ..NONE }, true),
            (Rules { groups: &["ops", "staff"], ..NONE }, true),
            (Rules { groups: &["ops"], ..NONE }, false),
            (Rules { groups: &["Admins"], ..NONE }, false),
            (Rules { providers: &["corp"], ..NONE }, true),
            (Rules { providers: &["google", "corp"], ..NONE }, true),
            (Rules { providers: &["google"], ..NONE }, false),
            (Rules { domains: &["example.com"], groups: &["admins"], ..NONE }, true),
            (Rules { domains: &["example.com"], groups: &["ops"], ..NONE }, false),
            (Rules { domains: &["example.org"], groups: &["admins"], ..NONE }, false),
            (Rules { groups: &["admins"], providers: &["google"], ..NONE }, false),
            (Rules { claims: &[("department", &[s("engineering")])], ..NONE }, true),
            (Rules { claims: &[("department", &[s("sales"), s("engineering")])], ..NONE }, true),
            (Rules { claims: &[("department", &[s("Engineering")])], ..NONE }, false),
            (Rules { claims: &[("roles", &[s("writer")])], ..NONE }, true),
            (Rules { claims: &[("roles", &[s("admin")])], ..NONE }, false),
            (Rules { claims: &[("/org/tier", &[s("gold")])], ..NONE }, true),
            (Rules { claims: &[("/org/tier", &[s("silver")])], ..NONE }, false),
            (Rules { claims: &[("/org/a~1b", &[s("slash")])], ..NONE }, true),
            (Rules { claims: &[("/org/m~0n", &[s("tilde")])], ..NONE }, true),
            (Rules { claims: &[("org/tier", &[s("gold")])], ..NONE }, false),
            (Rules { claims: &[("/roles/1", &[s("writer")])], ..NONE }, true),
            (Rules { claims: &[("missing", &[s("x")])], ..NONE }, false),
            (Rules { claims: &[("/org", &[s("gold")])], ..NONE }, false),
            (Rules { claims: &[("email_verified", &[ClaimValue::Bool(true)])], ..NONE }, true),
            (Rules { claims: &[("email_verified", &[s("true")])], ..NONE }, false),
            (Rules { claims: &[("flag_as_text", &[ClaimValue::Bool(true)])], ..NONE }, false),
            (Rules { claims: &[("level", &[ClaimValue::Integer(3)])], ..NONE }, true),
            (Rules { claims: &[("level", &[ClaimValue::Float(3.0)])], ..NONE }, true),
            (Rules { claims: &[("level", &[s("3")])], ..NONE }, false),
            (Rules { claims: &[("score", &[ClaimValue::Float(2.5)])], ..NONE }, true),
            (Rules { claims: &[("score", &[ClaimValue::Integer(2)])], ..NONE }, false),
            (
                Rules {
                    claims: &[("department", &[s("engineering")]), ("/org/tier", &[s("gold")])],
                    ..NONE
                },
                true,
            ),
            (
                Rules {
                    claims: &[("department", &[s("engineering")]), ("/org/tier", &[s("bronze")])],
                    ..NONE
                },
                false,
            ),
            (
                Rules {
                    domains: &["example.com"],
                    groups: &["admins"],
                    providers: &["corp"],
                    claims: &[("roles", &[s("reader")])],
                },
                true,
            ),
        ];
        assert!(cases.len() >= 20);
        for (rules, allowed) in cases {
            let rules = rules.build("upstream[0].allow");
            let result = authorize(&rules, &Subject::new(&who, Some(&id_token)));
            assert_eq!(result.is_ok(), *allowed, "{rules:?}: {result:?}");
        }
    }

    #[test]
    fn claim_rules_fail_closed_without_a_readable_token() {
        let who = identity(Some("alice@example.com"), &[], "corp");
        let rules = Rules { claims: &[("sub", &[s("sub-1")])], ..NONE }.build("authorize");
        for token in [None, Some("not-a-jwt"), Some("a.b"), Some("a.!!!.c"), Some("a.b.c.d")] {
            assert!(authorize(&rules, &Subject::new(&who, token)).is_err(), "{token:?}");
        }
        let array_payload = format!("h.{}.s", URL_SAFE_NO_PAD.encode("[\"sub-1\"]"));
        assert!(authorize(&rules, &Subject::new(&who, Some(&array_payload))).is_err());
        let good = token(&json!({ "sub": "sub-1" }));
        assert!(authorize(&rules, &Subject::new(&who, Some(&good))).is_ok());
    }

    #[test]
    fn both_the_global_and_the_route_rules_must_pass() {
        let who = identity(Some("alice@example.com"), &["staff"], "corp");
        let subject = Subject::new(&who, None);
        let global_ok = email_rules(&[], &["example.com"]);
        let global_no = email_rules(&[], &["example.org"]);
        let route_ok = Rules { groups: &["staff"], ..NONE }.build("upstream[1].allow");
        let route_no = Rules { groups: &["admins"], ..NONE }.build("upstream[2].allow");
        let cases = [
            (&global_ok, None, Ok(())),
            (&global_ok, Some(&route_ok), Ok(())),
            (&global_ok, Some(&route_no), Err("upstream[2].allow.groups")),
            (&global_no, Some(&route_ok), Err("authorize.email_domains")),
            (&global_no, None, Err("authorize.email_domains")),
        ];
        for (global, route, expected) in cases {
            let result = authorize_route(global, route, &subject).map_err(|d| d.rule);
            assert_eq!(result, expected.map_err(str::to_owned));
        }
    }

    #[test]
    fn denials_name_the_rule_that_failed() {
        let who = identity(Some("a@b.org"), &["staff"], "corp");
        let id_token = token(&json!({ "org": { "tier": "bronze" } }));
        let subject = Subject::new(&who, Some(&id_token));
        let cases = [
            (email_rules(&[], &["example.com"]), "authorize.email_domains"),
            (email_rules(&["x@example.com"], &[]), "authorize.emails"),
            (email_rules(&["x@example.com"], &["example.com"]), "authorize.emails/email_domains"),
            (Rules { groups: &["admins"], ..NONE }.build("upstream[2].allow"), "upstream[2].allow.groups"),
            (Rules { providers: &["google"], ..NONE }.build("authorize"), "authorize.providers"),
            (
                Rules { claims: &[("/org/tier", &[s("gold")])], ..NONE }.build("upstream[0].allow"),
                "upstream[0].allow.claims.\"/org/tier\"",
            ),
            (Rules { claims: &[("dept", &[s("x")])], ..NONE }.build("authorize"), "authorize.claims.dept"),
        ];
        for (rules, rule) in cases {
            let denial = authorize(&rules, &subject).unwrap_err();
            assert_eq!(denial.rule, rule);
            assert!(denial.to_string().starts_with(&format!("{rule}: ")), "{denial}");
        }
        let unverified = identity(None, &[], "corp");
        let denial = authorize(
            &email_rules(&[], &["example.com"]),
            &Subject::new(&unverified, None),
        )
        .unwrap_err();
        assert_eq!(denial.to_string(), "authorize.email_domains: no verified email");
    }
}
