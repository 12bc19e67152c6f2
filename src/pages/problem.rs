//! A template of `[pages] templates_dir` that does not parse, or fails on a sample page
//! (`overrides`), as the configuration reports it: the template, its line, what is wrong.

use minijinja::{Error, ErrorKind};

/// A replacing template that does not parse, or fails on a sample page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TemplateProblem {
    /// The template the problem is in: the one replaced, or one it extends or includes.
    pub(crate) template: String,
    /// 1-based line in that template, when known.
    pub(crate) line: Option<usize>,
    pub(crate) message: String,
}

impl TemplateProblem {
    /// `err`, found in `template` unless it names another.
    pub(super) fn new(err: &Error, template: &str) -> TemplateProblem {
        let message = match (err.detail(), err.kind()) {
            (Some(detail), kind) => format!("{kind}: {detail}"),
            (None, ErrorKind::UndefinedError) => {
                "undefined value: the page has no such variable or attribute".to_owned()
            }
            (None, kind) => kind.to_string(),
        };
        TemplateProblem {
            template: err.name().unwrap_or(template).to_owned(),
            line: err.line(),
            message,
        }
    }
}

impl std::fmt::Display for TemplateProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}", self.template, self.message),
            None => write!(f, "{}: {}", self.template, self.message),
        }
    }
}
