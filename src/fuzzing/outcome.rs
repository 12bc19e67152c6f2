//! What an entry point returns: `Ok`, or the [`Violation`] of a promise the gateway broke.

use std::fmt;

/// A promise the gateway broke for one input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation(pub String);

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Violation {}

/// What every entry point returns.
pub type Outcome = Result<(), Violation>;

/// An entry point: one input in, a broken promise (if any) out.
pub type Entry = fn(&[u8]) -> Outcome;

pub(super) fn ensure(holds: bool, what: impl FnOnce() -> String) -> Outcome {
    if holds {
        Ok(())
    } else {
        Err(Violation(what()))
    }
}
