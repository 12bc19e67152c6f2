//! The `claims = { name = [values] }` rules of `[authorize]` and `allow`: a claim name or
//! RFC 6901 JSON pointer, and the values it may have.

use toml::Spanned;

use super::Checker;
use crate::config::{ClaimRule, ClaimValue};

impl Checker<'_, '_> {
    /// One `claims` entry: a claim name or RFC 6901 JSON pointer, and its accepted values.
    pub(super) fn claim_rule(
        &mut self,
        claim: &str,
        values: &Spanned<Vec<Spanned<toml::Value>>>,
        prefix: &str,
    ) -> Option<ClaimRule> {
        let key = format!("{prefix}.{}", toml_key(claim));
        let offset = values.span().start;
        if let Some(problem) = claim_name_problem(claim) {
            self.error(offset, &key, problem);
            return None;
        }
        if values.get_ref().is_empty() {
            self.error(
                offset,
                &key,
                "list at least one accepted value, like [\"engineering\"]",
            );
            return None;
        }
        let mut accepted = Some(Vec::new());
        for (index, value) in values.get_ref().iter().enumerate() {
            let value = self.claim_value(value, &format!("{key}[{index}]"));
            match (value, accepted.as_mut()) {
                (Some(value), Some(list)) if !list.contains(&value) => list.push(value),
                (Some(_), Some(_)) => {}
                _ => accepted = None,
            }
        }
        Some(ClaimRule {
            claim: claim.to_owned(),
            accepted: accepted?,
        })
    }

    fn claim_value(&mut self, value: &Spanned<toml::Value>, key: &str) -> Option<ClaimValue> {
        let offset = value.span().start;
        match value.get_ref() {
            toml::Value::String(text) => {
                let spanned = Spanned::new(value.span(), text.clone());
                self.text(&spanned, key)
                    .map(|text| ClaimValue::String(text.value))
            }
            toml::Value::Boolean(flag) => Some(ClaimValue::Bool(*flag)),
            toml::Value::Integer(number) => Some(ClaimValue::Integer(*number)),
            toml::Value::Float(number) if number.is_finite() => Some(ClaimValue::Float(*number)),
            _ => {
                self.error(
                    offset,
                    key,
                    "an accepted claim value is a string, a boolean or a finite number",
                );
                None
            }
        }
    }
}

/// Why `claim` cannot name a claim, if it cannot: empty, or a JSON pointer (RFC 6901 §3)
/// with a `~` not followed by `0` or `1`.
fn claim_name_problem(claim: &str) -> Option<String> {
    if claim.is_empty() {
        return Some("the claim name must not be empty".to_owned());
    }
    if !claim.starts_with('/') {
        return None;
    }
    let mut chars = claim.chars();
    while let Some(c) = chars.next() {
        if c == '~' && !matches!(chars.next(), Some('0' | '1')) {
            return Some(format!(
                "`{claim}` is not a JSON pointer (RFC 6901): `~` must be followed by `0` (for \
                 `~`) or `1` (for `/`)"
            ));
        }
    }
    None
}

/// `claim` as a TOML key in a path: bare when it can be, else quoted.
fn toml_key(claim: &str) -> String {
    let bare = !claim.is_empty()
        && claim
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if bare {
        claim.to_owned()
    } else {
        serde_json::to_string(claim).unwrap_or_default()
    }
}
