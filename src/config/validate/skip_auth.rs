//! `skip_auth = [{ methods, path }]` of an `[[upstream]]`: the requests it proxies without a
//! session, as HTTP methods and a regular expression anchored at both ends.

use super::{Checker, Str};
use crate::config::raw::RawSkipAuth;
use crate::config::SkipAuthRule;

/// Compiled size bound of one `skip_auth` pattern: generous for any path pattern, small
/// enough that a pathological one fails at start-up rather than eating memory.
const SKIP_AUTH_REGEX_SIZE_LIMIT: usize = 1 << 20;

impl Checker<'_, '_> {
    /// The `skip_auth` rules of the upstream at `table`; `None` once a problem is reported.
    pub(super) fn skip_auth(
        &mut self,
        raw: &[RawSkipAuth],
        table: &str,
    ) -> Option<Vec<SkipAuthRule>> {
        let mut rules = Some(Vec::with_capacity(raw.len()));
        for (index, entry) in raw.iter().enumerate() {
            let key = format!("{table}.skip_auth[{index}]");
            let methods = self.list(
                entry.methods.as_deref(),
                &format!("{key}.methods"),
                |this, text, key| this.method(text, key),
            );
            let path_key = format!("{key}.path");
            let path = self
                .required(
                    entry.path.as_ref(),
                    table,
                    &path_key,
                    "`path` is required: an anchored regular expression for the paths that \
                     need no sign-in, like \"^/health$\"",
                )
                .and_then(|text| self.skip_auth_pattern(text, &path_key));
            match (methods, path, rules.as_mut()) {
                (Some(methods), Some((pattern, path)), Some(list)) => list.push(SkipAuthRule {
                    methods,
                    pattern,
                    path,
                }),
                _ => rules = None,
            }
        }
        rules
    }

    /// An HTTP method token (RFC 9110 §9.1), upper-cased.
    fn method(&mut self, text: Str, key: &str) -> Option<String> {
        let valid = !text.value.is_empty()
            && text
                .value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
        if valid {
            return Some(text.value.to_ascii_uppercase());
        }
        self.error(
            text.offset,
            key,
            format!(
                "`{}` is not an HTTP method, like \"GET\" (leave `methods` out for any method)",
                text.value
            ),
        );
        None
    }

    /// A regular expression anchored at both ends, compiled wrapped in `^(?:…)$` so that a
    /// top-level `|` cannot unanchor one side. The pattern alone must compile first, so it
    /// cannot close the wrapping group itself.
    fn skip_auth_pattern(&mut self, text: Str, key: &str) -> Option<(String, regex::Regex)> {
        let compile = |pattern: &str| {
            regex::RegexBuilder::new(pattern)
                .size_limit(SKIP_AUTH_REGEX_SIZE_LIMIT)
                .build()
        };
        let problem = if !is_anchored(&text.value) {
            format!(
                "`{}` is not anchored: write it as \"^…$\" (like \"^/health$\") so it matches \
                 whole paths only",
                text.value
            )
        } else {
            match compile(&text.value).and_then(|_| compile(&format!("^(?:{})$", text.value))) {
                Ok(regex) => return Some((text.value, regex)),
                Err(error) => format!(
                    "`{}` is not a valid regular expression: {}",
                    text.value,
                    error.to_string().replace('\n', " ").trim()
                ),
            }
        };
        self.error(text.offset, key, problem);
        None
    }
}

/// Starts with `^` (after optional inline flags such as `(?i)`) and ends with an unescaped `$`.
fn is_anchored(pattern: &str) -> bool {
    let mut rest = pattern;
    while let Some(flags) = rest.strip_prefix("(?") {
        match flags.split_once(')') {
            Some((letters, after))
                if letters
                    .bytes()
                    .all(|b| b.is_ascii_alphabetic() || b == b'-') =>
            {
                rest = after;
            }
            _ => break,
        }
    }
    let Some(body) = rest.strip_prefix('^') else {
        return false;
    };
    let Some(before_dollar) = body.strip_suffix('$') else {
        return false;
    };
    let backslashes = before_dollar
        .bytes()
        .rev()
        .take_while(|&b| b == b'\\')
        .count();
    backslashes % 2 == 0
}

#[cfg(test)]
mod tests;
