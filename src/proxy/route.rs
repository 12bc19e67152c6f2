//! Longest-prefix routing of request paths over the `[[upstream]]` table (DESIGN §1, §2).

use crate::config::UpstreamConfig;

/// The `[[upstream]]` entries, ordered for longest-prefix matching.
///
/// Matching is segment-aware: prefix `/app` matches `/app`, `/app/x` and `/app?q`, but not
/// `/application`; a prefix ending in `/` (such as `/app/`) matches anything under it but
/// not `/app` itself; `/` matches every path. Among equal prefixes the first in file order
/// wins.
///
/// Paths are matched in their percent-decoded form, so `/app%2Fx` is routed like `/app/x`,
/// the way most upstream frameworks will read it. Paths with a dot segment (`.` or `..`,
/// literal or percent-encoded, between `/` or `\`) are not routed at all: an upstream that
/// normalises them (RFC 3986 §5.2.4) could otherwise be reached under another route's policy
/// (`/public/../admin`). Browsers never send such paths.
#[derive(Debug, Clone)]
pub struct RouteTable {
    /// Longest prefix first; ties keep file order (stable sort).
    upstreams: Vec<UpstreamConfig>,
}

impl RouteTable {
    pub fn new(mut upstreams: Vec<UpstreamConfig>) -> RouteTable {
        upstreams.sort_by_key(|upstream| std::cmp::Reverse(upstream.path.len()));
        RouteTable { upstreams }
    }

    /// The upstream for `path` (an origin-form request target: path, optionally followed by
    /// `?query`), or `None` when no prefix matches or the path is not routable (see the type
    /// documentation).
    pub fn route(&self, path: &str) -> Option<&UpstreamConfig> {
        let path = path.split(['?', '#']).next().unwrap_or_default();
        let decoded = percent_decode(path.as_bytes());
        if !decoded.starts_with(b"/") || has_dot_segment(&decoded) {
            return None;
        }
        self.upstreams
            .iter()
            .find(|upstream| prefix_matches(upstream.path.as_bytes(), &decoded))
    }

    /// The routes in matching order (longest prefix first).
    pub fn upstreams(&self) -> &[UpstreamConfig] {
        &self.upstreams
    }
}

/// `prefix` matches `path` when it is equal to it, ends in `/` and starts it, or starts it
/// and is followed by a `/` in `path`.
fn prefix_matches(prefix: &[u8], path: &[u8]) -> bool {
    match path.strip_prefix(prefix) {
        None => false,
        Some(rest) => rest.is_empty() || prefix.ends_with(b"/") || rest.starts_with(b"/"),
    }
}

/// True when a segment of `path`, split on `/` and `\` (which some servers also treat as a
/// separator), is `.` or `..`.
fn has_dot_segment(path: &[u8]) -> bool {
    path.split(|&byte| byte == b'/' || byte == b'\\')
        .any(|segment| segment == b"." || segment == b"..")
}

/// Decodes `%XX` escapes once (RFC 3986 §2.1); malformed escapes are kept as they are.
fn percent_decode(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut rest = input;
    while let Some((&byte, tail)) = rest.split_first() {
        if byte == b'%' {
            if let [high, low, after @ ..] = tail {
                if let (Some(high), Some(low)) = (hex_value(*high), hex_value(*low)) {
                    out.push(high << 4 | low);
                    rest = after;
                    continue;
                }
            }
        }
        out.push(byte);
        rest = tail;
    }
    out
}

fn hex_value(digit: u8) -> Option<u8> {
    char::from(digit)
        .to_digit(16)
        .and_then(|value| u8::try_from(value).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::UpstreamTarget;
    use std::time::Duration;

    fn upstream(path: &str, port: u16) -> UpstreamConfig {
        UpstreamConfig {
            path: path.to_owned(),
            target: UpstreamTarget::Http(format!("http://127.0.0.1:{port}").parse().unwrap()),
            public: false,
            pass_access_token: false,
            pass_authorization_header: false,
            timeout: Duration::from_secs(30),
        }
    }

    fn table() -> RouteTable {
        RouteTable::new(vec![
            upstream("/", 1),
            upstream("/app", 2),
            upstream("/app/admin", 3),
            upstream("/files/", 4),
            upstream("/app", 5),
        ])
    }

    fn routed_port(table: &RouteTable, path: &str) -> Option<u16> {
        table.route(path).map(|upstream| match &upstream.target {
            UpstreamTarget::Http(url) => url.port().unwrap(),
            UpstreamTarget::Echo => 0,
        })
    }

    #[test]
    fn longest_segment_aware_prefix_wins() {
        let table = table();
        let cases = [
            ("/", Some(1)),
            ("/other", Some(1)),
            ("/app", Some(2)),
            ("/app/", Some(2)),
            ("/app/x", Some(2)),
            ("/app?q=1", Some(2)),
            ("/app#frag", Some(2)),
            ("/application", Some(1)),
            ("/app/admin", Some(3)),
            ("/app/admin/users", Some(3)),
            ("/app/administrator", Some(2)),
            ("/files/a.txt", Some(4)),
            ("/files/", Some(4)),
            ("/files", Some(1)),
            ("/filesystem", Some(1)),
            ("/APP", Some(1)),
        ];
        for (path, expected) in cases {
            assert_eq!(routed_port(&table, path), expected, "path {path:?}");
        }
    }

    #[test]
    fn equal_prefixes_keep_file_order() {
        assert_eq!(routed_port(&table(), "/app/y"), Some(2));
    }

    #[test]
    fn without_a_root_route_unmatched_paths_have_no_route() {
        let table = RouteTable::new(vec![upstream("/app", 2)]);
        assert_eq!(routed_port(&table, "/app/x"), Some(2));
        assert_eq!(routed_port(&table, "/"), None);
        assert_eq!(routed_port(&table, "/apple"), None);
    }

    #[test]
    fn paths_are_routed_percent_decoded() {
        let table = table();
        assert_eq!(routed_port(&table, "/app%2Fadmin"), Some(3));
        assert_eq!(routed_port(&table, "/%61pp/admin"), Some(3));
        assert_eq!(routed_port(&table, "/app%zz"), Some(1));
        assert_eq!(routed_port(&table, "/app%"), Some(1));
    }

    #[test]
    fn dot_segments_and_non_origin_targets_are_not_routed() {
        let table = table();
        for path in [
            "/app/../admin",
            "/app/./x",
            "/app/%2e%2e/admin",
            "/app/%2E%2e",
            "/app%2F..%2Fadmin",
            "/app\\..\\admin",
            "/..",
            "*",
            "",
            "app",
        ] {
            assert_eq!(routed_port(&table, path), None, "path {path:?}");
        }
        assert_eq!(routed_port(&table, "/app/..x/.y"), Some(2));
    }
}
