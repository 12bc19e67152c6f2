//! `${VAR}` substitution in configuration strings.
//!
//! Substitution runs on string values after the TOML is parsed, so every position in the file
//! stays where the user wrote it. `$$` is a literal `$`; a `$` followed by anything other than
//! `{` or `$` is kept as written. Variables come from a lookup passed in, never from the process
//! environment directly.

/// A problem with one `${…}` reference. `offset` is the byte offset of its `$` in the string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ExpandError {
    pub(super) offset: usize,
    pub(super) message: String,
}

/// Replaces every `${VAR}` in `input` with `env(VAR)`. Reports every problem in the string.
pub(super) fn expand(
    input: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<String, Vec<ExpandError>> {
    let mut output = String::with_capacity(input.len());
    let mut errors = Vec::new();
    let mut rest = input;
    while let Some(dollar) = rest.find('$') {
        let offset = input.len() - rest.len() + dollar;
        output.push_str(rest.get(..dollar).unwrap_or_default());
        let after = rest.get(dollar + 1..).unwrap_or_default();
        if let Some(tail) = after.strip_prefix('$') {
            output.push('$');
            rest = tail;
        } else if let Some(reference) = after.strip_prefix('{') {
            let Some(close) = reference.find('}') else {
                errors.push(ExpandError {
                    offset,
                    message: "`${` is not closed by `}`; write `$${` for a literal `${`".into(),
                });
                break;
            };
            let name = reference.get(..close).unwrap_or_default();
            if !is_variable_name(name) {
                errors.push(ExpandError {
                    offset,
                    message: format!(
                        "`${{{name}}}` is not a valid variable reference; names are letters, digits \
                         and `_`, not starting with a digit (write `$$` for a literal `$`)"
                    ),
                });
            } else if let Some(value) = env(name) {
                output.push_str(&value);
            } else {
                errors.push(ExpandError {
                    offset,
                    message: format!("environment variable `{name}` is not set"),
                });
            }
            rest = reference.get(close + 1..).unwrap_or_default();
        } else {
            output.push('$');
            rest = after;
        }
    }
    output.push_str(rest);
    if errors.is_empty() {
        Ok(output)
    } else {
        Err(errors)
    }
}

fn is_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(first) if first == '_' || first.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests;
