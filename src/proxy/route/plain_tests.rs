//! The shortcut for plain paths (`unroutable::is_plain`, [`RouteTable::route_plain`]) against
//! the full reading of every path: for every path up to six bytes long over an alphabet of
//! the characters plain paths may hold, both choose the same upstream (or none).

use super::tests::upstream;
use super::unroutable::is_plain;
use super::*;

/// Routes whose prefixes differ in case, by a dot, by a trailing slash, and by host.
fn table() -> RouteTable {
    RouteTable::new(vec![
        upstream(None, "/", 1),
        upstream(None, "/a", 1),
        upstream(None, "/a/d", 1),
        upstream(None, "/d/", 1),
        upstream(None, "/a.d", 1),
        upstream(None, "/ad", 1),
        upstream(None, "/A-", 1),
        upstream(
            Some(HostPattern::Exact("gate.example.com".to_owned())),
            "/a",
            1,
        ),
    ])
}

/// Every path of `/` followed by up to `len` bytes of `alphabet`.
fn paths(alphabet: &[u8], len: usize) -> Vec<String> {
    let mut all = vec![String::from("/")];
    let mut last = all.clone();
    for _ in 0..len {
        last = last
            .iter()
            .flat_map(|path| {
                alphabet.iter().map(move |&byte| {
                    let mut longer = path.clone();
                    longer.push(char::from(byte));
                    longer
                })
            })
            .collect();
        all.extend(last.iter().cloned());
    }
    all
}

#[test]
fn plain_paths_route_as_the_full_reading_does() {
    let table = table();
    let mut plain = 0;
    for path in paths(b"/aAd.-_~", 6) {
        if !is_plain(&path) {
            continue;
        }
        plain += 1;
        for host in [None, Some("gate.example.com"), Some("other.example.com")] {
            let quick = table.route_plain(host, &path);
            let full = table.route_any(host, &path);
            let same = match (quick, full) {
                (Some(quick), Some(full)) => std::ptr::eq(quick, full),
                (None, None) => true,
                _ => false,
            };
            assert!(
                same,
                "{path} on {host:?}: plain reading {:?}, full reading {:?}",
                quick.map(|u| &u.path),
                full.map(|u| &u.path)
            );
        }
    }
    // Most of the 299 593 paths hold `//`, `./` or end in `.`; the rest are plain.
    assert!(plain > 50_000, "only {plain} plain paths were compared");
}

#[test]
fn paths_that_some_reading_changes_are_not_plain() {
    for path in [
        "", "a", "//a", "/a//b", "/a/../b", "/a/./b", "/a/.", "/a/..", "/a./b", "/a.", "/a%2e",
        "/a%2Fb", "/a;x=y", "/a\\b", "/a b", "/a\tb", "/a\0b", "/é", "/．．", "/a?b", "/a#b",
    ] {
        assert!(!is_plain(path), "{path:?} counted as plain");
    }
    for path in [
        "/",
        "/a",
        "/app.js",
        "/a/b.c/d",
        "/A-b_c~d",
        "/.well-known/x",
    ] {
        assert!(is_plain(path), "{path:?} not counted as plain");
    }
}
