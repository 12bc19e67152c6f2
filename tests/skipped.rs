//! The end of `cargo test`: which tests passed without running because a real component
//! (the npm OpenID provider, Chromium, nginx, Redis, …) is missing, why, and how to enable
//! them (issue 15 point 6; DESIGN §8).
//!
//! The tests that skip record themselves under `target/skipped/<run>/`
//! (`tests/api/e2e/skips.rs`); cargo runs the test targets in the order of their names, so
//! this one runs after `api`, and its one test writes the summary past the harness's output
//! capture, where it is the last thing a plain `cargo test` prints before the doc-tests.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write as _;
use std::path::{Path, PathBuf};

#[path = "api/e2e/skips.rs"]
mod skips;

/// The cargo target directory (`target/debug/deps/skipped-…` → `target/`), as the `api`
/// binary finds it.
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    exe.ancestors()
        .nth(3)
        .map(Path::to_owned)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"))
}

/// Prints the summary of this run's skips and forgets them. Under `PORTCULLIS_E2E=1` a
/// skip is a failure in its own test already; a record here then means a test skipped in a
/// way that did not fail, which this test does not let pass.
#[test]
fn summary_of_the_tests_skipped_for_a_missing_component() {
    let target = target_dir();
    let run = skips::run_dir(&target);
    let text = skips::summary(&run);
    let skipped: usize = skips::read(&run).values().map(Vec::len).sum();
    // Straight to stderr in one write, past the harness's output capture.
    let _ = std::io::stderr().write_all(text.as_bytes());
    let _ = std::fs::remove_dir_all(&run);
    skips::forget_old_runs(&target);
    if std::env::var("PORTCULLIS_E2E").as_deref() == Ok("1") {
        assert_eq!(
            skipped, 0,
            "PORTCULLIS_E2E=1, but tests were skipped:\n{text}"
        );
    }
}
