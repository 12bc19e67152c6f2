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
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "SECRET" => Some("s3cr3t".into()),
            "EMPTY" => Some(String::new()),
            "WITH_DOLLAR" => Some("a${SECRET}b".into()),
            _ => None,
        }
    }

    #[test]
    fn substitutes_variables_and_keeps_literals() {
        let cases = [
            ("plain", "plain"),
            ("${SECRET}", "s3cr3t"),
            ("x-${SECRET}-${SECRET}", "x-s3cr3t-s3cr3t"),
            ("${EMPTY}", ""),
            ("$${SECRET}", "${SECRET}"),
            ("cost: $$5", "cost: $5"),
            ("a$b", "a$b"),
            ("trailing $", "trailing $"),
            ("é${SECRET}é", "és3cr3té"),
            // Values are not expanded again.
            ("${WITH_DOLLAR}", "a${SECRET}b"),
        ];
        for (input, expected) in cases {
            assert_eq!(
                expand(input, &env).as_deref(),
                Ok(expected),
                "input {input:?}"
            );
        }
    }

    #[test]
    fn reports_every_problem_with_its_offset() {
        let cases: [(&str, &[(usize, &str)]); 5] = [
            ("${MISSING}", &[(0, "`MISSING` is not set")]),
            (
                "a${ONE}b${SECRET}${TWO}",
                &[(1, "`ONE` is not set"), (17, "`TWO` is not set")],
            ),
            ("x${SECRET", &[(1, "is not closed")]),
            ("${}", &[(0, "not a valid variable reference")]),
            ("${1A}", &[(0, "not a valid variable reference")]),
        ];
        for (input, expected) in cases {
            let errors = expand(input, &env).expect_err(input);
            assert_eq!(errors.len(), expected.len(), "input {input:?}: {errors:?}");
            for (error, (offset, fragment)) in errors.iter().zip(expected) {
                assert_eq!(error.offset, *offset, "input {input:?}");
                assert!(
                    error.message.contains(fragment),
                    "{input:?}: {}",
                    error.message
                );
            }
        }
    }
}
