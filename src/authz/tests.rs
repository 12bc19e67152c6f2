//! The rule semantics of `authz`, as tables: every kind alone, kinds combined, the global
//! and route sets together, and the rule each denial names.

use super::*;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
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
    #[rustfmt::skip]
    let cases: &[EmailCase<'_>] = &[
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
        let result = authorize(
            &email_rules(emails, domains),
            &Subject::new(&who, Claims::None),
        );
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
    #[rustfmt::skip]
    let cases: &[(Rules<'_>, bool)] = &[
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
        let result = authorize(&rules, &Subject::new(&who, Claims::Token(&id_token)));
        assert_eq!(result.is_ok(), *allowed, "{rules:?}: {result:?}");
    }
}

#[test]
fn claim_rules_fail_closed_without_a_readable_token() {
    let who = identity(Some("alice@example.com"), &[], "corp");
    let rules = Rules {
        claims: &[("sub", &[s("sub-1")])],
        ..NONE
    }
    .build("authorize");
    for token in [
        None,
        Some("not-a-jwt"),
        Some("a.b"),
        Some("a.!!!.c"),
        Some("a.b.c.d"),
    ] {
        assert!(
            authorize(&rules, &Subject::new(&who, token.into())).is_err(),
            "{token:?}"
        );
    }
    let array_payload = format!("h.{}.s", URL_SAFE_NO_PAD.encode("[\"sub-1\"]"));
    assert!(authorize(&rules, &Subject::new(&who, Claims::Token(&array_payload))).is_err());
    let good = token(&json!({ "sub": "sub-1" }));
    assert!(authorize(&rules, &Subject::new(&who, Claims::Token(&good))).is_ok());
}

#[test]
fn both_the_global_and_the_route_rules_must_pass() {
    let who = identity(Some("alice@example.com"), &["staff"], "corp");
    let subject = Subject::new(&who, Claims::None);
    let global_ok = email_rules(&[], &["example.com"]);
    let global_no = email_rules(&[], &["example.org"]);
    let route_ok = Rules {
        groups: &["staff"],
        ..NONE
    }
    .build("upstream[1].allow");
    let route_no = Rules {
        groups: &["admins"],
        ..NONE
    }
    .build("upstream[2].allow");
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
    let subject = Subject::new(&who, Claims::Token(&id_token));
    let cases = [
        (
            email_rules(&[], &["example.com"]),
            "authorize.email_domains",
        ),
        (email_rules(&["x@example.com"], &[]), "authorize.emails"),
        (
            email_rules(&["x@example.com"], &["example.com"]),
            "authorize.emails/email_domains",
        ),
        (
            Rules {
                groups: &["admins"],
                ..NONE
            }
            .build("upstream[2].allow"),
            "upstream[2].allow.groups",
        ),
        (
            Rules {
                providers: &["google"],
                ..NONE
            }
            .build("authorize"),
            "authorize.providers",
        ),
        (
            Rules {
                claims: &[("/org/tier", &[s("gold")])],
                ..NONE
            }
            .build("upstream[0].allow"),
            "upstream[0].allow.claims.\"/org/tier\"",
        ),
        (
            Rules {
                claims: &[("dept", &[s("x")])],
                ..NONE
            }
            .build("authorize"),
            "authorize.claims.dept",
        ),
    ];
    for (rules, rule) in cases {
        let denial = authorize(&rules, &subject).unwrap_err();
        assert_eq!(denial.rule, rule);
        assert!(
            denial.to_string().starts_with(&format!("{rule}: ")),
            "{denial}"
        );
    }
    let unverified = identity(None, &[], "corp");
    let denial = authorize(
        &email_rules(&[], &["example.com"]),
        &Subject::new(&unverified, Claims::None),
    )
    .unwrap_err();
    assert_eq!(
        denial.to_string(),
        "authorize.email_domains: no verified email"
    );
}

/// The borrowed lower case is `str::to_lowercase`'s, for addresses with and without capitals,
/// ASCII or not.
#[test]
fn lowercase_is_to_lowercase() {
    for text in [
        "alice@example.com",
        "Alice@Example.COM",
        "josé@example.com",
        "JOSÉ@EXAMPLE.COM",
        "ǅemal@example.com",
        "İstanbul@example.com",
        "",
        "@",
    ] {
        assert_eq!(super::lowercase(text), text.to_lowercase(), "{text}");
    }
}
