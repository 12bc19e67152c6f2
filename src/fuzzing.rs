//! Entry points for the fuzz targets in `fuzz/` and for the corpus replay in `cargo test`.
//!
//! Each function takes the raw bytes of one input, runs it through one of the gateway's
//! parsers and checks what the gateway promises about the result — not only that nothing
//! panics. A broken promise is returned as a [`Violation`]; the fuzz target turns it into a
//! crash, the replay test into a failure naming the input file. The targets, one per
//! function: the session cookie and the flow cookie (sealing and opening), `rd` validation,
//! request path normalisation, host normalisation, the forward-auth description of the
//! original request, and the configuration loader.

use std::fmt;
use std::sync::OnceLock;

use axum::body::Body;
use axum::extract::Request;
use http::{HeaderMap, HeaderValue, Method, Uri, Version};

use crate::config::Config;
use crate::flow::FlowState;
use crate::forward_auth::{unspecified_method, OriginalRequest};
use crate::proxy::route::{normalize_host, normalize_path, request_host};
use crate::proxy::RouteTable;
use crate::redirect::RedirectTarget;
use crate::session::{Session, SessionCodec, SESSION_PURPOSE};

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

/// Every target by the name of its fuzz target (and of its corpus directory).
pub const TARGETS: &[(&str, Entry)] = &[
    ("session_cookie", session_cookie),
    ("flow_cookie", flow_cookie),
    ("redirect", redirect),
    ("path", path),
    ("host", host),
    ("forward_auth", forward_auth),
    ("config", config),
];

fn ensure(holds: bool, what: impl FnOnce() -> String) -> Outcome {
    if holds {
        Ok(())
    } else {
        Err(Violation(what()))
    }
}

// ---------------------------------------------------------------------------------------
// Cookies
// ---------------------------------------------------------------------------------------

/// The secret the fuzzed gateway seals with; the corpora hold real cookies sealed with it.
pub const SECRET: &[u8; 32] = b"portcullis fuzzing secret, 32 b.";
/// A secret rotated out: still accepted for opening.
pub const PREVIOUS_SECRET: &[u8; 32] = b"portcullis previous secret, 32 b";
/// Another gateway's secret: never accepted.
const FOREIGN_SECRET: &[u8; 32] = b"another gateway's secret, 32 b..";
/// "Now" for cookies opened from the corpus (2027-01-15).
pub const NOW: u64 = 1_800_000_000;

fn codec() -> &'static SessionCodec {
    static CODEC: OnceLock<SessionCodec> = OnceLock::new();
    CODEC.get_or_init(|| SessionCodec::new(SECRET, &[PREVIOUS_SECRET]))
}

fn previous_codec() -> &'static SessionCodec {
    static CODEC: OnceLock<SessionCodec> = OnceLock::new();
    CODEC.get_or_init(|| SessionCodec::new(PREVIOUS_SECRET, &[]))
}

fn foreign_codec() -> &'static SessionCodec {
    static CODEC: OnceLock<SessionCodec> = OnceLock::new();
    CODEC.get_or_init(|| SessionCodec::new(FOREIGN_SECRET, &[]))
}

/// Seals a session the way the gateway does, for seeding the corpus.
pub fn seal_session(session: &Session) -> Option<String> {
    session.seal(codec()).ok()
}

/// Seals a flow cookie's JSON the way the gateway does, for seeding the corpus; `None` when
/// it is not a flow state.
pub fn seal_flow(json: &[u8]) -> Option<String> {
    serde_json::from_slice::<FlowState>(json)
        .ok()?
        .seal(codec())
        .ok()
}

/// A purpose of no cookie of the gateway's.
const OTHER_PURPOSE: &[u8] = b"portcullis fuzzing: no cookie's purpose";

/// The session cookie. The input is read three ways:
/// - as a cookie value: opening it never panics, and a session cookie never also opens as a
///   flow cookie; what opens seals and opens again to the same session;
/// - as a session's JSON: sealing then opening gives the same session, unexpired exactly while
///   `issued_at - 60 s <= now < expires_at`; a flipped bit, a cut or another secret opens
///   nothing;
/// - as plaintext for the codec: the same for the bytes themselves.
pub fn session_cookie(data: &[u8]) -> Outcome {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Some(session) = Session::open(codec(), text, NOW) {
            ensure(FlowState::open(codec(), text).is_none(), || {
                "a cookie opened both as a session and as a flow".to_owned()
            })?;
            session_round_trip(&session)?;
        }
    }
    if let Ok(session) = serde_json::from_slice::<Session>(data) {
        session_round_trip(&session)?;
    }
    codec_round_trip(SESSION_PURPOSE, OTHER_PURPOSE, data)
}

/// The flow cookie, read the same three ways as [`session_cookie`], with `FlowState` in
/// place of the session: what opens as a flow never opens as a session, seals and opens
/// again to the same flow; a value sealed for sessions never opens as a flow.
pub fn flow_cookie(data: &[u8]) -> Outcome {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Some(flow) = FlowState::open(codec(), text) {
            ensure(codec().open(SESSION_PURPOSE, text).is_none(), || {
                "a cookie opened both as a flow and as a session".to_owned()
            })?;
            ensure(Session::open(codec(), text, NOW).is_none(), || {
                "a flow cookie opened as a session".to_owned()
            })?;
            flow_round_trip(&flow)?;
        }
    }
    if let Ok(flow) = serde_json::from_slice::<FlowState>(data) {
        flow_round_trip(&flow)?;
    }
    let as_session = codec().seal(SESSION_PURPOSE, data);
    ensure(FlowState::open(codec(), &as_session).is_none(), || {
        "a value sealed for sessions opened as a flow".to_owned()
    })?;
    codec_round_trip(OTHER_PURPOSE, SESSION_PURPOSE, data)
}

fn session_round_trip(session: &Session) -> Outcome {
    let expected = serde_json::to_value(session).map_err(|err| Violation(err.to_string()))?;
    let sealed = session
        .seal(codec())
        .map_err(|err| Violation(format!("a session did not seal: {err}")))?;
    check_cookie_safe(&sealed)?;
    let valid_at =
        |now: u64| now < session.expires_at && session.issued_at <= now.saturating_add(60);
    let instants = [
        NOW,
        session.expires_at.saturating_sub(1),
        session.expires_at,
        session.issued_at.saturating_sub(60),
        session.issued_at.saturating_sub(61),
    ];
    for now in instants {
        let opened = Session::open(codec(), &sealed, now);
        ensure(opened.is_some() == valid_at(now), || {
            format!(
                "a session issued at {} expiring at {} {} at {now}",
                session.issued_at,
                session.expires_at,
                if opened.is_some() {
                    "opened"
                } else {
                    "did not open"
                },
            )
        })?;
        if let Some(opened) = opened {
            let got = serde_json::to_value(&opened).map_err(|err| Violation(err.to_string()))?;
            ensure(got == expected, || {
                format!("a session opened as another: {expected} became {got}")
            })?;
        }
    }
    let now = session.expires_at.saturating_sub(1);
    for tampered in tamperings(&sealed) {
        ensure(Session::open(codec(), &tampered, now).is_none(), || {
            format!("a tampered session cookie opened: {tampered:?}")
        })?;
    }
    ensure(
        Session::open(foreign_codec(), &sealed, now).is_none(),
        || "a session cookie opened with another gateway's secret".to_owned(),
    )
}

fn flow_round_trip(flow: &FlowState) -> Outcome {
    let sealed = flow
        .seal(codec())
        .map_err(|err| Violation(format!("a flow state did not seal: {err}")))?;
    check_cookie_safe(&sealed)?;
    let opened = FlowState::open(codec(), &sealed)
        .ok_or_else(|| Violation("a sealed flow state did not open".to_owned()))?;
    let before = serde_json::to_value(flow).map_err(|err| Violation(err.to_string()))?;
    let after = serde_json::to_value(&opened).map_err(|err| Violation(err.to_string()))?;
    ensure(before == after, || {
        format!("a flow state opened as another: {before} became {after}")
    })?;
    for tampered in tamperings(&sealed) {
        ensure(FlowState::open(codec(), &tampered).is_none(), || {
            format!("a tampered flow cookie opened: {tampered:?}")
        })?;
    }
    ensure(FlowState::open(foreign_codec(), &sealed).is_none(), || {
        "a flow cookie opened with another gateway's secret".to_owned()
    })?;
    ensure(Session::open(codec(), &sealed, NOW).is_none(), || {
        "a flow cookie opened as a session".to_owned()
    })
}

/// `open(seal(x)) == x` for `purpose`; nothing opens for `other` purpose, after tampering or
/// with a foreign secret; a cookie sealed with the previous secret still opens.
fn codec_round_trip(purpose: &[u8], other: &[u8], plaintext: &[u8]) -> Outcome {
    let sealed = codec().seal(purpose, plaintext);
    check_cookie_safe(&sealed)?;
    ensure(
        codec().open(purpose, &sealed).as_deref() == Some(plaintext),
        || "sealing then opening did not give the plaintext back".to_owned(),
    )?;
    ensure(codec().open(other, &sealed).is_none(), || {
        "a cookie opened for another purpose".to_owned()
    })?;
    ensure(foreign_codec().open(purpose, &sealed).is_none(), || {
        "a cookie opened with another gateway's secret".to_owned()
    })?;
    ensure(previous_codec().open(purpose, &sealed).is_none(), || {
        "a cookie sealed with the current secret opened with a retired one alone".to_owned()
    })?;
    let rotated = previous_codec().seal(purpose, plaintext);
    ensure(
        codec().open(purpose, &rotated).as_deref() == Some(plaintext),
        || "a cookie sealed with the previous secret did not open".to_owned(),
    )?;
    for tampered in tamperings(&sealed) {
        ensure(codec().open(purpose, &tampered).is_none(), || {
            format!("a tampered cookie opened: {tampered:?}")
        })?;
    }
    Ok(())
}

/// Sealed values are cookie values as they are (RFC 6265 §4.1.1 `cookie-octet`, without
/// quoting): base64url only.
fn check_cookie_safe(sealed: &str) -> Outcome {
    ensure(
        !sealed.is_empty()
            && sealed
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
        || format!("a sealed value is not base64url: {sealed:?}"),
    )
}

/// A handful of single-bit flips spread over the sealed text (those that leave it UTF-8),
/// and the text cut short by one character and by half.
fn tamperings(sealed: &str) -> Vec<String> {
    let bytes = sealed.as_bytes();
    let len = bytes.len();
    let mut out = Vec::new();
    if len == 0 {
        return out;
    }
    let positions = [0, len / 3, len / 2, len.saturating_sub(2), len - 1];
    for (round, position) in positions.into_iter().enumerate() {
        for bit in [round % 8, (round + 3) % 7] {
            let mut flipped = bytes.to_vec();
            if let Some(byte) = flipped.get_mut(position) {
                *byte ^= 1 << bit;
            }
            if let Ok(text) = String::from_utf8(flipped) {
                out.push(text);
            }
        }
    }
    out.extend(sealed.get(..len - 1).map(str::to_owned));
    out.extend(sealed.get(..len / 2).map(str::to_owned));
    out
}

// ---------------------------------------------------------------------------------------
// rd
// ---------------------------------------------------------------------------------------

/// The gateway's public URL in the `rd` checks.
pub const PUBLIC_URL: &str = "https://gate.example.net";

/// `server.allowed_redirect_hosts` in the `rd` checks: an exact host, a domain with its
/// subdomains, an internationalised name and an address.
pub fn allowed_redirect_hosts() -> Vec<String> {
    [
        "app.example.com",
        ".corp.example.org",
        "bücher.example",
        "10.0.0.1",
    ]
    .map(str::to_owned)
    .to_vec()
}

/// Whether `host` (a URL's serialised host) is one [`allowed_redirect_hosts`] names: written
/// out independently of `crate::redirect`'s matcher, as a second opinion.
fn is_allowed_redirect_host(host: &str) -> bool {
    matches!(
        host,
        "app.example.com" | "corp.example.org" | "xn--bcher-kva.example" | "10.0.0.1"
    ) || host
        .strip_suffix(".corp.example.org")
        .is_some_and(|label| !label.is_empty() && !label.ends_with('.'))
}

/// `RedirectTarget::parse` of the input (read as UTF-8, lossily, as query values are):
/// the result passes [`check_redirect_target`], and validating it again changes nothing
/// (the callback validates the `rd` from the flow cookie a second time).
pub fn redirect(data: &[u8]) -> Outcome {
    let raw = String::from_utf8_lossy(data);
    let hosts = allowed_redirect_hosts();
    let target = RedirectTarget::parse(Some(&raw), &hosts);
    check_redirect_target(target.as_str())
        .map_err(|Violation(why)| Violation(format!("rd {raw:?} gave {target}: {why}")))?;
    let again = RedirectTarget::parse(Some(target.as_str()), &hosts);
    ensure(again == target, || {
        format!("rd {raw:?} gave {target}, which validates to {again}")
    })
}

/// What a validated `rd` must be: visible ASCII; either a local path (`/`, not `//` or `/\`)
/// that a browser resolves against the gateway's public URL to the gateway itself — also
/// after each of up to four further percent-decodings, for servers that decode again — or
/// an absolute http(s) URL in its serialised form, without user information, on an allowed
/// host.
pub fn check_redirect_target(target: &str) -> Outcome {
    ensure(
        !target.is_empty() && target.bytes().all(|b| b.is_ascii_graphic()),
        || "not visible ASCII".to_owned(),
    )?;
    let base = url::Url::parse(PUBLIC_URL).map_err(|err| Violation(err.to_string()))?;
    if target.starts_with('/') {
        ensure(
            !target.starts_with("//") && !target.starts_with("/\\"),
            || "a local path that starts like an authority".to_owned(),
        )?;
        let mut layer = target.as_bytes().to_vec();
        for _ in 0..5 {
            let text = String::from_utf8_lossy(&layer).into_owned();
            check_stays_local(&base, &text)?;
            let next = percent_decode(&layer);
            if next == layer {
                break;
            }
            layer = next;
        }
        return Ok(());
    }
    let url = url::Url::parse(target).map_err(|err| Violation(format!("not a URL: {err}")))?;
    ensure(matches!(url.scheme(), "http" | "https"), || {
        format!("scheme {}", url.scheme())
    })?;
    ensure(
        url.username().is_empty() && url.password().is_none(),
        || "user information".to_owned(),
    )?;
    ensure(url.as_str() == target, || {
        format!("not in serialised form ({url})")
    })?;
    let host = url.host_str().unwrap_or_default();
    ensure(is_allowed_redirect_host(host), || {
        format!("host {host:?} is not allowed")
    })?;
    let resolved = base
        .join(target)
        .map_err(|err| Violation(format!("a browser would not follow it: {err}")))?;
    ensure(resolved.host_str() == Some(host), || {
        format!("a browser resolves it to {resolved}")
    })
}

/// A browser following `Location: {text}` from the gateway stays on the gateway: `text`
/// resolves against the public URL to its origin, and — since the `url` crate refuses some
/// references browsers follow (it reads `///evil.com` as an empty host, browsers as
/// `evil.com`) — it also starts, once browsers have dropped tabs, newlines and leading C0
/// controls and spaces, with one `/` not followed by another or by `\`.
fn check_stays_local(base: &url::Url, text: &str) -> Outcome {
    let resolved = base
        .join(text)
        .map_err(|err| Violation(format!("{text:?} does not resolve: {err}")))?;
    ensure(resolved.origin() == base.origin(), || {
        format!("{text:?} resolves to {resolved}, off the gateway")
    })?;
    let seen: String = text
        .trim_start_matches(|c: char| c <= ' ')
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
        .take(2)
        .collect();
    ensure(
        seen.starts_with('/') && !seen.starts_with("//") && !seen.starts_with("/\\"),
        || format!("{text:?} starts like an authority"),
    )
}

/// `%XX` decoded once; anything else kept.
fn percent_decode(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut rest = input;
    while let Some((&byte, tail)) = rest.split_first() {
        if let (b'%', [high, low, after @ ..]) = (byte, tail) {
            if let (Some(high), Some(low)) = (hex(*high), hex(*low)) {
                out.push(high << 4 | low);
                rest = after;
                continue;
            }
        }
        out.push(byte);
        rest = tail;
    }
    out
}

fn hex(digit: u8) -> Option<u8> {
    char::from(digit)
        .to_digit(16)
        .and_then(|value| u8::try_from(value).ok())
}

// ---------------------------------------------------------------------------------------
// Paths and hosts
// ---------------------------------------------------------------------------------------

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
        ensure(again.as_deref() == Some(normal.as_str()), || {
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
        ensure(again.as_deref() == Some(normal.as_str()), || {
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

// ---------------------------------------------------------------------------------------
// Forward auth
// ---------------------------------------------------------------------------------------

/// `OriginalRequest::from_request` of a request written as text: a first line
/// `METHOD target`, then `name: value` lines. From an untrusted peer the answer is the
/// request itself, for `/`, and a description is refused. From a trusted one, an answer is
/// an origin-form target taken byte for byte from the description given (both only when they
/// agree; none of its headers twice), with that description's method or the unspecified one.
pub fn forward_auth(data: &[u8]) -> Outcome {
    let Some(request) = request_from_text(data) else {
        return Ok(());
    };
    let own_host = request_host(request.headers(), request.uri(), request.version())
        .map(|host| host.map(str::to_owned));
    let described = ["x-original-url", "x-forwarded-uri"]
        .iter()
        .any(|name| request.headers().contains_key(*name));
    match OriginalRequest::from_request(&request, false) {
        Ok(original) => {
            let own = OriginalRequest {
                method: request.method().clone(),
                host: own_host.clone().unwrap_or_default(),
                uri: "/".to_owned(),
            };
            ensure(own_host.is_ok() && !described && original == own, || {
                format!("an untrusted peer was believed: {original:?}")
            })?;
        }
        Err(_) => ensure(own_host.is_err() || described, || {
            "an untrusted request without a description, with a good Host, was refused".to_owned()
        })?,
    }
    let Ok(original) = OriginalRequest::from_request(&request, true) else {
        return Ok(());
    };
    let headers = request.headers();
    let values = |name: &str| -> Vec<String> {
        headers
            .get_all(name)
            .iter()
            .map(|value| String::from_utf8_lossy(value.as_bytes()).trim().to_owned())
            .collect()
    };
    let original_url = values("x-original-url").pop();
    let forwarded_uri = values("x-forwarded-uri").pop();
    ensure(
        original.uri.starts_with('/') && original.uri.bytes().all(|b| b.is_ascii_graphic()),
        || format!("target {:?} is not origin-form visible ASCII", original.uri),
    )?;
    let single = |names: &[&str]| -> Outcome {
        for name in names {
            ensure(values(name).len() <= 1, || {
                format!("{name} twice was believed")
            })?;
        }
        Ok(())
    };
    if let (Some(url), Some(uri)) = (&original_url, &forwarded_uri) {
        // Both descriptions are believed only when they name the same request.
        return ensure(
            *uri == original.uri && (url.ends_with(original.uri.as_str()) || original.uri == "/"),
            || format!("{url:?} and {uri:?} gave {:?}", original.uri),
        );
    }
    let method_header = match (&original_url, &forwarded_uri) {
        (Some(url), None) => {
            single(&["x-original-url", "x-original-method"])?;
            ensure(
                url.ends_with(original.uri.as_str()) || original.uri == "/",
                || {
                    format!(
                        "target {:?} is not from X-Original-URL {url:?}",
                        original.uri
                    )
                },
            )?;
            values("x-original-method").pop()
        }
        (None, Some(uri)) => {
            single(&["x-forwarded-uri", "x-forwarded-host", "x-forwarded-method"])?;
            ensure(*uri == original.uri, || {
                format!("target {:?} is not X-Forwarded-Uri {uri:?}", original.uri)
            })?;
            values("x-forwarded-method").pop()
        }
        _ => {
            ensure(
                original.uri == "/" && original.method == request.method(),
                || format!("no description, yet {original:?}"),
            )?;
            return Ok(());
        }
    };
    let expected = match method_header {
        Some(method) => Method::from_bytes(method.as_bytes()).ok(),
        None => Some(unspecified_method()),
    };
    ensure(expected.as_ref() == Some(&original.method), || {
        format!("method {} is not the described one", original.method)
    })
}

/// `METHOD target\nname: value\n…` as a request; `None` when it is not one.
fn request_from_text(data: &[u8]) -> Option<Request> {
    let mut lines = data.split(|&b| b == b'\n');
    let first = lines.next()?;
    let mut words = first.splitn(2, |&b| b == b' ');
    let method = Method::from_bytes(words.next()?).ok()?;
    let target = Uri::try_from(words.next().unwrap_or(b"/oauth2/auth")).ok()?;
    let mut builder = Request::builder().method(method).uri(target);
    for line in lines {
        let colon = line.iter().position(|&b| b == b':')?;
        let (name, value) = line.split_at(colon);
        let value = value.get(1..)?;
        let value = value.strip_prefix(b" ").unwrap_or(value);
        builder = builder.header(
            http::HeaderName::from_bytes(name).ok()?,
            HeaderValue::from_bytes(value).ok()?,
        );
    }
    builder.body(Body::empty()).ok()
}

// ---------------------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------------------

/// The variables `${VAR}` may name in fuzzed files.
fn config_env(name: &str) -> Option<String> {
    match name {
        "SECRET" => Some("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f".into()),
        "PORTCULLIS_SECRET" => Some("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8".into()),
        "CLIENT_SECRET" => Some("client-secret-value".into()),
        "ISSUER_HOST" => Some("sso.example.com".into()),
        "EMPTY" => Some(String::new()),
        "ISSUER" => Some("https://sso.example.com".into()),
        _ => None,
    }
}

/// `Config::parse` of the input (the file must be UTF-8, as `Config::load` reads it): it
/// never panics; a refusal lists at least one problem, each naming the file and a line and
/// column inside it, none an internal error; an accepted file builds its route table.
pub fn config(data: &[u8]) -> Outcome {
    let Ok(source) = std::str::from_utf8(data) else {
        return Ok(());
    };
    match Config::parse(source, "fuzz.toml", &config_env) {
        Ok(config) => {
            let routes = RouteTable::new(config.upstreams);
            ensure(!routes.upstreams().is_empty(), || {
                "a configuration without upstreams was accepted".to_owned()
            })
        }
        Err(errors) => {
            ensure(!errors.0.is_empty(), || {
                "refused without a reason".to_owned()
            })?;
            let lines: Vec<&str> = source.split('\n').collect();
            for error in &errors.0 {
                let line_length = lines
                    .get(error.line.saturating_sub(1))
                    .map_or(0, |line| line.chars().count());
                ensure(
                    error.file == "fuzz.toml"
                        && (1..=lines.len()).contains(&error.line)
                        && (1..=line_length + 1).contains(&error.column),
                    || format!("no position in the file: {error:?}"),
                )?;
                ensure(
                    !error.message.is_empty() && !error.message.starts_with("internal error"),
                    || format!("an unhelpful message: {error:?}"),
                )?;
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests;
