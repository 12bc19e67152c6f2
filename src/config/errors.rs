//! Configuration problems, each with file, line and column.

/// One problem found in the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: String,
    /// 1-based; 0 when the problem has no position (e.g. the file cannot be read).
    pub line: usize,
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
        if self.line > 0 {
            write!(f, "{}:{}:{}: ", self.file, self.line, self.column)?;
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
