//! What a session keeps, decided from the configuration (DESIGN §6, "Every session stays
//! small"): the identity and groups always; the ID token's `sid`; the access token only when
//! an upstream receives it or the provider's memberships are read with it; the refresh token
//! only when refresh is on; the values of the claims that `claims` rules read, instead of the
//! raw ID token; and the raw ID token itself only while it fits (the stores decide that, see
//! [`Session::without_id_token`]).

use std::time::Duration;

use serde_json::{Map, Value};

use super::record::Session;
use crate::config::{AuthorizeRules, Config};
use crate::identity::Identity;

/// The tokens and identity a login (or a refresh) produced, before they become a session.
pub(crate) struct Issued {
    pub(crate) identity: Identity,
    pub(crate) id_token: Option<String>,
    /// Empty for a local sign-in, which has none.
    pub(crate) access_token: String,
    pub(crate) refresh_token: Option<String>,
    /// RFC 6749 §5.1 `expires_in`, seconds.
    pub(crate) expires_in: Option<u64>,
    pub(crate) sid: Option<String>,
    /// The provider reads memberships with the access token during the session.
    pub(crate) reads_memberships: bool,
}

/// What the configuration needs a session to keep; built once at start-up.
#[derive(Debug, Clone)]
pub(crate) struct SessionNeeds {
    pass_access_token: bool,
    pass_id_token: bool,
    /// The rule paths (`claims` keys) whose values are kept.
    claim_paths: Vec<String>,
    refresh: Option<bool>,
    refresh_before: Duration,
    lifetime: Duration,
}

impl SessionNeeds {
    pub(crate) fn new(config: &Config) -> SessionNeeds {
        let rule_sets = std::iter::once(&config.authorize)
            .chain(config.upstreams.iter().filter_map(|u| u.allow.as_ref()));
        let mut claim_paths: Vec<String> = rule_sets
            .flat_map(|rules: &AuthorizeRules| rules.claims.iter().map(|r| r.claim.clone()))
            .collect();
        claim_paths.sort();
        claim_paths.dedup();
        SessionNeeds {
            pass_access_token: config.upstreams.iter().any(|u| u.pass_access_token),
            pass_id_token: config.upstreams.iter().any(|u| u.pass_authorization_header),
            claim_paths,
            refresh: config.session.refresh,
            refresh_before: config.session.refresh_before,
            lifetime: config.session.lifetime,
        }
    }

    /// Whether an upstream is configured to receive the raw ID token (`Authorization:
    /// Bearer`), so a store keeps it as long as it can.
    pub(crate) fn wants_id_token(&self) -> bool {
        self.pass_id_token
    }

    /// A new session for a login at `now`.
    pub(crate) fn new_session(&self, issued: Issued, now: u64) -> Session {
        let mut session = Session::new(issued.identity.clone(), now, self.lifetime.as_secs());
        self.keep(&mut session, issued, now);
        session
    }

    /// `session` after its tokens were renewed at `now`: same id, same lifetime, the next
    /// generation; a refresh token the provider did not rotate stays.
    pub(crate) fn renewed(&self, session: &Session, issued: Issued, now: u64) -> Session {
        let mut renewed = session.clone();
        let previous_refresh = renewed.refresh_token.take();
        let previous_sid = renewed.sid.take();
        let mut issued = issued;
        issued.refresh_token = issued.refresh_token.or(previous_refresh);
        issued.sid = issued.sid.or(previous_sid);
        if issued.id_token.is_none() {
            // No new ID token: the claims read at sign-in still hold.
            let claims = renewed.claims.take();
            self.keep(&mut renewed, issued, now);
            renewed.claims = claims.or(renewed.claims.take());
        } else {
            self.keep(&mut renewed, issued, now);
        }
        renewed.generation = renewed.generation.saturating_add(1);
        renewed.checked_at = now;
        renewed
    }

    fn keep(&self, session: &mut Session, issued: Issued, now: u64) {
        let refresh_on = self.refresh != Some(false);
        session.identity = issued.identity;
        session.sid = issued.sid;
        session.claims = issued
            .id_token
            .as_deref()
            .and_then(|token| self.kept_claims(token));
        session.access_expires_at = issued.expires_in.map(|secs| now.saturating_add(secs));
        session.refresh_token = issued.refresh_token.filter(|_| refresh_on);
        session.refresh_at = match (&session.refresh_token, issued.expires_in) {
            (Some(_), Some(secs)) => {
                let window = self.refresh_before.as_secs().min(secs / 2);
                Some(now.saturating_add(secs - window))
            }
            _ => None,
        };
        // A local sign-in has no access token (an empty one), so it passes none upstream.
        session.access_token = (self.pass_access_token || issued.reads_memberships)
            .then_some(issued.access_token)
            .filter(|token| !token.is_empty());
        session.id_token = issued.id_token;
    }

    /// The values at the configured claim paths of a verified JWT's payload, as one JSON
    /// object in which the same paths lead to the same values; `None` when no rule reads
    /// claims.
    fn kept_claims(&self, token: &str) -> Option<Value> {
        if self.claim_paths.is_empty() {
            return None;
        }
        let payload = crate::jwt::payload(token)?;
        let mut kept = Value::Object(Map::new());
        for path in &self.claim_paths {
            if let Some(value) = lookup(&payload, path) {
                insert(&mut kept, path, value.clone());
            }
        }
        Some(kept)
    }
}

/// A rule's claim: a JSON pointer when it starts with `/`, else a top-level name (as
/// `crate::authz` reads them).
pub(crate) fn lookup<'a>(claims: &'a Value, path: &str) -> Option<&'a Value> {
    if path.starts_with('/') {
        claims.pointer(path)
    } else {
        claims.get(path)
    }
}

/// Puts `value` where [`lookup`] of `path` finds it, creating objects on the way (an array
/// index in a pointer becomes an object key, which `Value::pointer` reads alike).
fn insert(target: &mut Value, path: &str, value: Value) {
    let tokens: Vec<String> = if let Some(pointer) = path.strip_prefix('/') {
        pointer
            .split('/')
            .map(|t| t.replace("~1", "/").replace("~0", "~"))
            .collect()
    } else {
        vec![path.to_owned()]
    };
    let mut node = target;
    let Some((last, parents)) = tokens.split_last() else {
        return;
    };
    for token in parents {
        let Value::Object(map) = node else {
            return;
        };
        node = map
            .entry(token.clone())
            .or_insert_with(|| Value::Object(Map::new()));
    }
    if let Value::Object(map) = node {
        map.insert(last.clone(), value);
    }
}

impl Session {
    /// The session without its raw ID token, for a store it does not fit: sign-out then sends
    /// `client_id` instead of `id_token_hint` (RP-Initiated Logout 1.0 §2), and no upstream
    /// gets it as `Authorization: Bearer`.
    pub(crate) fn without_id_token(&self) -> Session {
        Session {
            id_token: None,
            ..self.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn kept_claims_are_found_at_the_paths_the_rules_name() {
        let payload = json!({"org": {"tier": "gold", "a/b": 1}, "roles": ["x", "y"], "big": "z".repeat(10_000), "arr": [{"k": 1}]});
        let paths = ["/org/tier", "roles", "/org/a~1b", "/arr/0/k", "/missing"];
        let mut kept = Value::Object(Map::new());
        for path in paths {
            if let Some(value) = lookup(&payload, path) {
                insert(&mut kept, path, value.clone());
            }
        }
        for path in paths {
            assert_eq!(lookup(&kept, path), lookup(&payload, path), "{path}");
        }
        assert!(kept.get("big").is_none());
    }
}
