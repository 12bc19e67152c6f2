//! The `path` and `host` targets: request path and host normalisation, and routing.

use std::sync::OnceLock;

use http::{HeaderMap, HeaderValue, Uri, Version};

use super::outcome::{ensure, Outcome, Violation};
use crate::config::Config;
use crate::proxy::route::{normalize_host, normalize_path, request_host};
use crate::proxy::RouteTable;

/// A route table for the routing checks: a public root, a protected `/admin`, a host of its
/// own.
fn routes() -> Option<&'static RouteTable> {
    static ROUTES: OnceLock<Option<RouteTable>> = OnceLock::new();
    ROUTES
        .get_or_init(|| {
            let source = format!(
                "{}\n[[upstream]]\npath = \"/admin\"\nurl = \"http://127.0.0.1:9002\"\n\n\
                 [[upstream]]\nhost = \"api.example.com\"\npath = \"/\"\n\
                 url = \"http://127.0.0.1:9003\"\n",
                ROUTE_BASE
            );
            Config::parse(&source, "routes.toml", &|_| None)
                .ok()
                .map(|config| RouteTable::new(config.upstreams))
        })
        .as_ref()
}

const ROUTE_BASE: &str = r#"[server]
listen = "127.0.0.1:4180"
public_url = "http://127.0.0.1:4180"

[[provider]]
id = "dev"
kind = "dev"

[authorize]
email_domains = ["*"]

[[upstream]]
path = "/"
url = "http://127.0.0.1:9001"
public = true
"#;

/// `normalize_path` of the input (lossy UTF-8): when it gives a path, that path starts with
/// `/`, is ASCII without control characters, `\`, `;`, `%`, `?` or `#`, has no `.` or `..`
/// segment and no `//`, and normalises to itself. Routing the input never panics and does
/// not depend on its query.
pub fn path(data: &[u8]) -> Outcome {
    let raw = String::from_utf8_lossy(data);
    if let Some(normal) = normalize_path(&raw) {
        check_normal_path(&normal).map_err(|Violation(why)| {
            Violation(format!("{raw:?} normalised to {normal:?}: {why}"))
        })?;
        let again = normalize_path(&normal);
        ensure(again.as_deref() == Some(&*normal), || {
            format!("{raw:?} normalised to {normal:?}, which normalises to {again:?}")
        })?;
    }
    let routes = routes().ok_or_else(|| Violation("the route table did not load".to_owned()))?;
    let path_only = raw.split(['?', '#']).next().unwrap_or_default();
    for host in [None, Some("api.example.com")] {
        let plain = routes.route(host, path_only).map(|u| u.path.clone());
        let queried = routes
            .route(host, &format!("{path_only}?q=1"))
            .map(|u| u.path.clone());
        ensure(plain == queried, || {
            format!("{path_only:?} routes to {plain:?} but with a query to {queried:?}")
        })?;
    }
    Ok(())
}

/// What a normalised path must be (see [`path`]).
pub fn check_normal_path(normal: &str) -> Outcome {
    ensure(normal.starts_with('/'), || {
        "does not start with /".to_owned()
    })?;
    ensure(
        normal.is_ascii() && !normal.contains(|c: char| c.is_ascii_control()),
        || "not ASCII without control characters".to_owned(),
    )?;
    ensure(!normal.contains(['\\', ';', '%', '?', '#']), || {
        "a character servers read differently".to_owned()
    })?;
    ensure(!normal.contains("//"), || "a `//`".to_owned())?;
    ensure(
        !normal
            .split('/')
            .any(|segment| segment == "." || segment == ".."),
        || "a dot segment".to_owned(),
    )
}

/// `normalize_host` of the input (lossy UTF-8) passes [`check_normal_host`] and normalises to
/// itself; `request_host` of a request with the input as `Host` (and as the target's
/// authority) gives a host only when it normalises.
pub fn host(data: &[u8]) -> Outcome {
    let raw = String::from_utf8_lossy(data);
    if let Some(normal) = normalize_host(&raw) {
        check_normal_host(&normal).map_err(|Violation(why)| {
            Violation(format!("{raw:?} normalised to {normal:?}: {why}"))
        })?;
        let again = normalize_host(&normal);
        ensure(again.as_deref() == Some(&*normal), || {
            format!("{raw:?} normalised to {normal:?}, which normalises to {again:?}")
        })?;
    }
    let Ok(value) = HeaderValue::from_bytes(data) else {
        return Ok(());
    };
    let mut with_host = HeaderMap::new();
    with_host.insert(http::header::HOST, value);
    let origin_form = Uri::from_static("/");
    let mut requests = vec![
        (with_host.clone(), origin_form.clone(), Version::HTTP_11),
        (HeaderMap::new(), origin_form, Version::HTTP_2),
    ];
    let absolute = Uri::builder()
        .scheme("http")
        .authority(data)
        .path_and_query("/")
        .build();
    if let Ok(uri) = absolute {
        requests.push((with_host.clone(), uri.clone(), Version::HTTP_11));
        requests.push((with_host, uri.clone(), Version::HTTP_2));
        requests.push((HeaderMap::new(), uri, Version::HTTP_2));
    }
    for (headers, uri, version) in &requests {
        if let Ok(Some(host)) = request_host(headers, uri, *version) {
            let normal = normalize_host(host).ok_or_else(|| {
                Violation(format!(
                    "request_host gave {host:?}, which does not normalise"
                ))
            })?;
            check_normal_host(&normal)
                .map_err(|Violation(why)| Violation(format!("request host {host:?}: {why}")))?;
        }
    }
    Ok(())
}

/// What a normalised host must be: not empty, lower case, no port (no `:` outside an IPv6
/// literal's brackets), no trailing dot, and none of `@ / , ;` or white space, which would
/// make it several hosts, or another one, to some reader.
pub fn check_normal_host(host: &str) -> Outcome {
    ensure(!host.is_empty(), || "empty".to_owned())?;
    ensure(!host.bytes().any(|b| b.is_ascii_uppercase()), || {
        "upper case".to_owned()
    })?;
    let outside_brackets = match host.strip_prefix('[') {
        Some(rest) => {
            let literal = rest
                .strip_suffix(']')
                .ok_or_else(|| Violation("an unclosed IPv6 literal".to_owned()))?;
            // RFC 6874: a zone identifier may follow, as `%25` and the zone.
            let address = literal.split("%25").next().unwrap_or_default();
            ensure(address.parse::<std::net::Ipv6Addr>().is_ok(), || {
                format!("[{literal}] is not an IPv6 address")
            })?;
            ""
        }
        None => host,
    };
    ensure(!outside_brackets.contains(':'), || "a port".to_owned())?;
    ensure(!host.ends_with('.'), || "a trailing dot".to_owned())?;
    ensure(
        !host.contains(|c: char| matches!(c, '@' | '/' | ',' | ';') || c.is_whitespace()),
        || "a delimiter or white space".to_owned(),
    )
}
