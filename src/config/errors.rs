//! Configuration problems, each with file, line and column.

/// One problem found in the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: String,
    /// 1-based; 0 when the problem has no position (e.g. the file cannot be read).
    pub line: usize,
    /// 1-based; 0 when only the line is known (a page template's problem).
    pub column: usize,
    /// TOML path of the offending key, like `provider[1].issuer`; empty when not applicable.
    pub key: String,
    pub message: String,
}

impl ConfigError {
    pub fn io(file: &str, err: &std::io::Error) -> Self {
        ConfigError {
            file: file.to_owned(),
            line: 0,
            column: 0,
            key: String::new(),
            message: format!("cannot read the file: {err}"),
        }
    }
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.line > 0 && self.column > 0 {
            write!(f, "{}:{}:{}: ", self.file, self.line, self.column)?;
        } else if self.line > 0 {
            write!(f, "{}:{}: ", self.file, self.line)?;
        } else {
            write!(f, "{}: ", self.file)?;
        }
        if !self.key.is_empty() {
            write!(f, "{}: ", self.key)?;
        }
        f.write_str(&self.message)
    }
}

/// Every problem found, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl ConfigErrors {
    pub fn single(error: ConfigError) -> Self {
        ConfigErrors(vec![error])
    }
}

impl std::fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, error) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// Collects problems while the file is checked, turning byte offsets into 1-based line and
/// column (columns count characters, so non-ASCII text before the problem does not shift it).
pub(super) struct Diagnostics<'a> {
    file: &'a str,
    source: &'a str,
    errors: Vec<ConfigError>,
}

impl<'a> Diagnostics<'a> {
    pub(super) fn new(file: &'a str, source: &'a str) -> Self {
        Diagnostics {
            file,
            source,
            errors: Vec::new(),
        }
    }

    pub(super) fn source(&self) -> &'a str {
        self.source
    }

    /// The file the source was read from, as named in messages.
    pub(super) fn file(&self) -> &'a str {
        self.file
    }

    /// Records a problem at byte `offset` of the source, for the TOML path `key`.
    pub(super) fn error(&mut self, offset: usize, key: &str, message: impl Into<String>) {
        let (line, column) = line_column(self.source, offset);
        self.errors.push(ConfigError {
            file: self.file.to_owned(),
            line,
            column,
            key: key.to_owned(),
            message: message.into(),
        });
    }

    /// Records the problems of another file this one names (a users file), after this
    /// file's own.
    pub(super) fn extend(&mut self, errors: ConfigErrors) {
        self.errors.extend(errors.0);
    }

    pub(super) fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// Every problem, in file order.
    pub(super) fn finish(mut self) -> ConfigErrors {
        let own = self.file;
        self.errors.sort_by(|a, b| {
            (a.file != own, &a.file, a.line, a.column).cmp(&(
                b.file != own,
                &b.file,
                b.line,
                b.column,
            ))
        });
        ConfigErrors(self.errors)
    }
}

/// 1-based line and column of byte `offset` in `source` (clamped to the end of the text).
pub(super) fn line_column(source: &str, offset: usize) -> (usize, usize) {
    let mut end = offset.min(source.len());
    while !source.is_char_boundary(end) {
        end -= 1;
    }
    let before = source.get(..end).unwrap_or_default();
    let line_start = before.rfind('\n').map_or(0, |newline| newline + 1);
    let line = before.matches('\n').count() + 1;
    let column = before.get(line_start..).unwrap_or_default().chars().count() + 1;
    (line, column)
}

#[cfg(test)]
mod tests;
