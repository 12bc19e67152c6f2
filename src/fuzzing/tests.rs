//! The corpus replay: every committed fuzz input (`fuzz/corpus/<target>/`) and every kept
//! crash (`fuzz/regressions/<target>/`) run through its entry point on each `cargo test`, so
//! the promises the fuzzers checked stay kept without nightly or libFuzzer. And the checks
//! themselves, on outputs that break them.

use std::path::{Path, PathBuf};

use super::*;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

/// Runs every file in `dir` through `entry`: the number of files and one line per file that
/// broke a promise or panicked.
fn replay(dir: &Path, entry: Entry) -> (usize, Vec<String>) {
    let Ok(listing) = std::fs::read_dir(dir) else {
        return (0, Vec::new());
    };
    let mut files: Vec<PathBuf> = listing
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    let mut failures = Vec::new();
    for file in &files {
        let data = std::fs::read(file).unwrap();
        let outcome = std::panic::catch_unwind(|| entry(&data));
        let name = file.display();
        match outcome {
            Ok(Ok(())) => {}
            Ok(Err(violation)) => failures.push(format!("{name}: {violation}")),
            Err(_) => failures.push(format!("{name}: panicked")),
        }
    }
    (files.len(), failures)
}

/// Kept crashes in code whose fix is another change in progress: each must still fail, so
/// the day its fix lands this test says so, and the entry leaves the list to become an
/// ordinary regression.
const PENDING: &[(&str, &str)] = &[];

#[test]
fn every_corpus_file_and_kept_crash_keeps_its_promises() {
    let mut failures = Vec::new();
    for (target, entry) in TARGETS {
        let (seen, mut failed) = replay(&fuzz_dir().join("corpus").join(target), *entry);
        assert!(seen >= 10, "fuzz/corpus/{target} has {seen} files");
        failures.append(&mut failed);
        let (_, mut failed) = replay(&fuzz_dir().join("regressions").join(target), *entry);
        failures.append(&mut failed);
    }
    for (file, why) in PENDING {
        let pending = format!("fuzz/{file}:");
        let before = failures.len();
        failures.retain(|failure| !failure.contains(&pending));
        assert_eq!(
            failures.len() + 1,
            before,
            "{file} ({why}) no longer fails: remove it from PENDING"
        );
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn every_corpus_directory_belongs_to_a_target() {
    for kind in ["corpus", "regressions"] {
        let Ok(listing) = std::fs::read_dir(fuzz_dir().join(kind)) else {
            continue;
        };
        for dir in listing.filter_map(Result::ok) {
            let name = dir.file_name().to_string_lossy().into_owned();
            assert!(
                TARGETS.iter().any(|(target, _)| *target == name),
                "fuzz/{kind}/{name} is replayed by no target"
            );
        }
    }
}

#[test]
fn the_replay_reports_broken_promises_and_panics() {
    fn picky(data: &[u8]) -> Outcome {
        match data {
            b"bad" => Err(Violation("bad input".to_owned())),
            b"boom" => panic!("boom"),
            _ => Ok(()),
        }
    }
    let dir = std::env::temp_dir().join(format!("portcullis-replay-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (name, data) in [("a-good", "fine"), ("b-bad", "bad"), ("c-boom", "boom")] {
        std::fs::write(dir.join(name), data).unwrap();
    }
    let (seen, failures) = replay(&dir, picky);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(seen, 3);
    assert_eq!(failures.len(), 2, "{failures:?}");
    assert!(failures[0].ends_with("b-bad: bad input"), "{failures:?}");
    assert!(failures[1].ends_with("c-boom: panicked"), "{failures:?}");
}

#[test]
fn redirect_check_refuses_what_leaves_the_gateway() {
    for target in [
        "",
        "//evil.com",
        "/\\evil.com",
        "/%2f%2fevil.com",
        "/%252f%252fevil.com",
        "https://evil.com/",
        "https://user@app.example.com/",
        "https://app.example.com",
        "https://evil-corp.example.org/",
        "javascript:alert(1)",
        "/a b",
        "/caf\u{e9}",
    ] {
        assert!(check_redirect_target(target).is_err(), "{target:?}");
    }
    for target in [
        "/",
        "/app?next=//evil.com",
        "/a%20b",
        "https://app.example.com/",
        "https://x.corp.example.org/p?q#f",
        "http://10.0.0.1:8080/",
        "https://xn--bcher-kva.example/",
    ] {
        assert_eq!(check_redirect_target(target), Ok(()), "{target:?}");
    }
}

#[test]
fn path_check_refuses_paths_servers_would_read_otherwise() {
    for normal in [
        "", "a", "/a/../b", "/a/./b", "/..", "//a", "/a;b", "/%41", "/a\\b", "/a?b",
    ] {
        assert!(check_normal_path(normal).is_err(), "{normal:?}");
    }
    for normal in ["/", "/a/b", "/a/", "/.well-known/x", "/a..b"] {
        assert_eq!(check_normal_path(normal), Ok(()), "{normal:?}");
    }
}

#[test]
fn host_check_refuses_what_is_not_one_lower_case_host() {
    for host in [
        "",
        "A.example",
        "a:80",
        "a.",
        "a,b",
        "a;b",
        "a b",
        "a@b",
        "[zz]",
        "[::1",
    ] {
        assert!(check_normal_host(host).is_err(), "{host:?}");
    }
    for host in ["a.example", "127.0.0.1", "[::1]", "xn--bcher-kva.example"] {
        assert_eq!(check_normal_host(host), Ok(()), "{host:?}");
    }
}
