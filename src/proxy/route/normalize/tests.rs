use super::*;

#[test]
fn paths_are_normalised_the_way_servers_resolve_them() {
    let cases = [
        ("/health", Some("/health")),
        ("/health/", Some("/health/")),
        ("/", Some("/")),
        ("//health", Some("/health")),
        ("/a///b", Some("/a/b")),
        ("/%68ealth", Some("/health")),
        ("/a%20b", Some("/a b")),
        ("/a/..//b", Some("/b")),
        ("/a/./b", Some("/a/b")),
        ("/a/b/../c", Some("/a/c")),
        ("/a/b/..", Some("/a/")),
        ("/a/.", Some("/a/")),
        ("/..", Some("/")),
        ("/../../health", Some("/health")),
        ("/public/../admin", Some("/admin")),
        ("/caf%C3%A9", None),
        ("/café", None),
        ("/a/b.c/d", Some("/a/b.c/d")),
        ("/.well-known/x", Some("/.well-known/x")),
        ("/a/..b", Some("/a/..b")),
        ("/HEALTH", Some("/HEALTH")),
    ];
    for (path, expected) in cases {
        assert_eq!(normalize_path(path).as_deref(), expected, "{path:?}");
    }
}

#[test]
fn ambiguous_paths_match_nothing() {
    let ambiguous = [
        "",
        "health",
        "*",
        "/public/%2e%2e/admin",
        "/public/%2E%2E/admin",
        "/public%2f..%2fadmin",
        "/public/..%2fadmin",
        "/admin%2f",
        "/health%2F",
        "/public%5c..%5cadmin",
        "/public\\..\\admin",
        "/admin;x=y",
        "/health;",
        "/health%3b",
        "/health%3F",
        "/health%23",
        "/health#x",
        "/health?x",
        "/%252e%252e/admin",
        "/health%25",
        "/health%",
        "/health%2",
        "/health%zz",
        "/health%00",
        "/health%0a",
        "/health\u{0}",
        "/%c0%ae%c0%ae/admin",
        "/%e0%80%ae/admin",
        "/%ff",
        "/%ef%bc%8e%ef%bc%8e/admin",
        "/\u{FF0E}\u{FF0E}/admin",
        "/health.",
        "/health..",
        "/a.../b",
        "/a//../b",
        "/health%20",
    ];
    for path in ambiguous {
        assert_eq!(normalize_path(path), None, "{path:?}");
    }
}

#[test]
fn dot_segment_removal_follows_rfc_3986() {
    // RFC 3986 §5.4.1 and §5.4.2 examples, as absolute paths.
    let cases = [
        ("/a/b/c/./../../g", "/a/g"),
        ("/mid/content=5/../6", "/mid/6"),
        ("/b/c/./g", "/b/c/g"),
        ("/b/c/g/.", "/b/c/g/"),
        ("/b/c/..", "/b/"),
        ("/b/c/../..", "/"),
        ("/b/c/../../../g", "/g"),
    ];
    for (path, expected) in cases {
        assert_eq!(remove_dot_segments(path), expected, "{path:?}");
    }
}
