//! File sizes of the gateway's source (issue 10, "small rooms"): the median, 90th percentile
//! and largest line counts of the non-test files under `src/`.
//!
//! A test file is a `tests.rs` or `*_tests.rs` (the unit tests a module declares with
//! `#[cfg(test)] mod tests;`); every other `.rs` file counts, inline test blocks included.
//! `cargo test --test file_sizes -- --nocapture` prints the numbers and the largest files;
//! the limits (median ≤ 200 lines, none over 450) are checked on every `cargo test`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::path::{Path, PathBuf};

const MEDIAN_LIMIT: usize = 200;
const MAX_LIMIT: usize = 450;

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            out.push(path);
        }
    }
}

fn is_test_file(path: &Path) -> bool {
    let stem = path.file_stem().unwrap().to_string_lossy();
    stem == "tests" || stem.ends_with("_tests")
}

/// (lines, path relative to the crate root) of every non-test file, smallest first.
fn sizes() -> Vec<(usize, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    let mut sizes: Vec<(usize, String)> = files
        .into_iter()
        .filter(|path| !is_test_file(path))
        .map(|path| {
            let lines = std::fs::read_to_string(&path).unwrap().lines().count();
            let name = path.strip_prefix(root).unwrap().display().to_string();
            (lines, name)
        })
        .collect();
    sizes.sort();
    sizes
}

struct Summary {
    files: usize,
    median: usize,
    p90: usize,
    max: usize,
}

fn summary(sizes: &[(usize, String)]) -> Summary {
    let lines: Vec<usize> = sizes.iter().map(|(lines, _)| *lines).collect();
    let n = lines.len();
    let median = if n % 2 == 1 {
        lines[n / 2]
    } else {
        (lines[n / 2 - 1] + lines[n / 2]).div_ceil(2)
    };
    let p90 = lines[(n * 9).div_ceil(10) - 1];
    Summary {
        files: n,
        median,
        p90,
        max: lines[n - 1],
    }
}

#[test]
fn prints_the_median_p90_and_largest_non_test_files() {
    let sizes = sizes();
    assert!(sizes.len() > 10, "src/ not found: {sizes:?}");
    let Summary {
        files,
        median,
        p90,
        max,
    } = summary(&sizes);
    println!("non-test files in src/: {files}; lines: median {median}, p90 {p90}, max {max}");
    for (lines, name) in sizes.iter().rev().take(12) {
        println!("{lines:>5} {name}");
    }
    assert!(median <= p90 && p90 <= max);
}

#[test]
fn median_and_largest_are_within_the_limits() {
    let sizes = sizes();
    let Summary { median, .. } = summary(&sizes);
    let over: Vec<_> = sizes
        .iter()
        .filter(|(lines, _)| *lines > MAX_LIMIT)
        .collect();
    assert!(median <= MEDIAN_LIMIT, "median {median} > {MEDIAN_LIMIT}");
    assert!(over.is_empty(), "over {MAX_LIMIT} lines: {over:?}");
}
