//! What `cargo test` skipped, shown at its end (issue 15 point 6).
//!
//! A test whose real component is missing passes without testing anything; the line it
//! prints to stderr scrolls away among hundreds of others. So each skip is also written to a
//! file under `target/skipped/<run>/`, where `<run>` names the `cargo test` process (its pid
//! and start time), and the test target `tests/skipped.rs` — one test that writes past the
//! harness's output capture, in a binary that
//! cargo runs after this one, the targets running in the order of their names — prints them
//! grouped by reason, with how to enable them, and removes the directory. A filtered run
//! (`cargo test --test api`, `cargo test e2e`) prints no summary; the stderr lines remain.
//!
//! This file is shared: the `api` binary writes records, `tests/skipped.rs` reads them.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// `target/skipped/`.
pub(crate) fn skipped_dir(target: &Path) -> PathBuf {
    target.join("skipped")
}

/// The directory of this `cargo test` run's records: named after the parent process (cargo)
/// and, where `/proc` tells it, that process's start time, so a reused pid does not pick up
/// another run's leftovers.
pub(crate) fn run_dir(target: &Path) -> PathBuf {
    skipped_dir(target).join(run_key())
}

fn run_key() -> String {
    #[cfg(unix)]
    let parent = std::os::unix::process::parent_id();
    #[cfg(not(unix))]
    let parent = 0u32;
    let started = std::fs::read_to_string(format!("/proc/{parent}/stat"))
        .ok()
        .and_then(|stat| {
            // Field 22, counted after the command name's closing parenthesis (field 2).
            let after_name = stat.rsplit_once(')')?.1.to_owned();
            after_name.split_whitespace().nth(19).map(str::to_owned)
        })
        .unwrap_or_default();
    format!("{parent}-{started}")
}

/// Records that the current test was skipped because of `reason`, for this run's summary.
pub(crate) fn record(target: &Path, reason: &str) {
    let test = std::thread::current()
        .name()
        .unwrap_or("an unnamed test")
        .to_owned();
    record_in(&run_dir(target), &test, reason);
}

/// Removes the records of runs that ended without a summary (a filtered or failed
/// `cargo test`) once they are a day old.
pub(crate) fn forget_old_runs(target: &Path) {
    let Ok(entries) = std::fs::read_dir(skipped_dir(target)) else {
        return;
    };
    for entry in entries.flatten() {
        let old = entry
            .metadata()
            .and_then(|meta| meta.modified())
            .ok()
            .and_then(|modified| modified.elapsed().ok())
            .is_some_and(|age| age.as_secs() > 24 * 3600);
        if old {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// Records that `test` was skipped because of `reason`, in `dir`.
pub(crate) fn record_in(dir: &Path, test: &str, reason: &str) {
    let file: String = test
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let _ = std::fs::create_dir_all(dir);
    let _ = std::fs::write(dir.join(file), format!("{test}\n{reason}\n"));
}

/// The records in `dir`: reason → the tests skipped for it, sorted.
pub(crate) fn read(dir: &Path) -> BTreeMap<String, Vec<String>> {
    let mut by_reason: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return by_reason;
    };
    for entry in entries.flatten() {
        let Ok(text) = std::fs::read_to_string(entry.path()) else {
            continue;
        };
        let mut lines = text.lines();
        if let (Some(test), Some(reason)) = (lines.next(), lines.next()) {
            by_reason
                .entry(reason.to_owned())
                .or_default()
                .push(test.to_owned());
        }
    }
    for tests in by_reason.values_mut() {
        tests.sort();
    }
    by_reason
}

/// The summary of the records in `dir`, as printed at the end of `cargo test`.
pub(crate) fn summary(dir: &Path) -> String {
    let by_reason = read(dir);
    let total: usize = by_reason.values().map(Vec::len).sum();
    if total == 0 {
        return "skipped: none — every test that needs a real component (the npm OpenID \
                provider, Chromium, nginx, …) found it\n"
            .to_owned();
    }
    let mut text = format!(
        "\nSKIPPED: {total} {} passed above without running, because a real component is \
         missing:\n",
        if total == 1 { "test" } else { "tests" }
    );
    for (reason, tests) in &by_reason {
        text.push_str(&format!("\n  {} — {reason}\n", tests.len()));
        for test in tests {
            text.push_str(&format!("      {test}\n"));
        }
    }
    text.push_str(
        "\nTo run them, install what each reason names (README, \"Tests\"). With \
         PORTCULLIS_E2E=1 (as in .ci/run) a missing component fails its test instead.\n",
    );
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("portcullis-skips-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn skips_are_summarised_by_reason_with_how_to_enable_them() {
        let dir = temp_dir("grouped");
        let npm = "the OpenID provider's packages are not installed (run `npm ci --prefix e2e/op`)";
        record_in(&dir, "e2e::refresh::a_refresh", npm);
        record_in(&dir, "e2e::backchannel::a_logout", npm);
        record_in(
            &dir,
            "nginx::auth_request",
            "nginx not installed (apt-get install nginx-light)",
        );

        let text = summary(&dir);

        assert!(
            text.contains("SKIPPED: 3 tests passed above without running"),
            "{text}"
        );
        let npm_group = format!(
            "  2 — {npm}\n      e2e::backchannel::a_logout\n      e2e::refresh::a_refresh\n"
        );
        assert!(text.contains(&npm_group), "{text}");
        assert!(text.contains("  1 — nginx not installed (apt-get install nginx-light)\n      nginx::auth_request\n"), "{text}");
        assert!(text.contains("PORTCULLIS_E2E=1"), "{text}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_run_without_skips_says_so() {
        let dir = temp_dir("none");

        let text = summary(&dir);

        assert!(text.starts_with("skipped: none"), "{text}");
        assert!(!text.contains("SKIPPED"), "{text}");
    }

    #[test]
    fn the_run_is_named_after_the_cargo_process() {
        #[cfg(unix)]
        assert!(
            run_key().starts_with(&format!("{}-", std::os::unix::process::parent_id())),
            "{}",
            run_key()
        );
        assert_eq!(run_key(), run_key());
    }
}
