//! Properties of `rd` validation over arbitrary strings, biased toward what open redirects
//! are made of: `/` and `\` and their escapes and Unicode look-alikes, `@`, `:`, control
//! characters, scheme prefixes and hosts. Whatever comes in, a browser sent to the result
//! from the gateway's public URL stays on the gateway or goes to an allowed host.

use proptest::prelude::*;
use url::Url;

use super::RedirectTarget;

const PUBLIC_URL: &str = "https://gate.example.net";

fn allowed() -> Vec<String> {
    vec!["app.example.com".to_owned(), ".corp.example.org".to_owned()]
}

/// Checked independently of `host_matches`.
fn is_allowed(host: &str) -> bool {
    host == "app.example.com"
        || host == "corp.example.org"
        || host
            .strip_suffix(".corp.example.org")
            .is_some_and(|label| !label.is_empty() && !label.ends_with('.'))
}

const PIECES: &[&str] = &[
    "/",
    "//",
    "\\",
    "%2f",
    "%2F",
    "%5c",
    "%5C",
    "%252f",
    "%25",
    "%2e",
    ".",
    "..",
    "@",
    "%40",
    ":",
    "%3a",
    "?",
    "#",
    "\t",
    "\n",
    "\r",
    "\0",
    " ",
    "%09",
    "%0a",
    "%0d",
    "%00",
    "\u{7f}",
    "\u{85}",
    "\u{a0}",
    "\u{2028}",
    "／",
    "∕",
    "⁄",
    "＼",
    "\u{ff0e}",
    "\u{3002}",
    "http:",
    "https:",
    "HTTPS://",
    "http://",
    "https://",
    "javascript:",
    "data:",
    "//evil.com",
    "evil.com",
    "app.example.com",
    "corp.example.org",
    ".corp.example.org",
    "x.",
    "[::1]",
    "127.0.0.1",
    "0x7f.1",
    "a",
    "~",
    ";",
    "&",
    "=",
    "%",
    "%%",
];

fn rd() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        4 => proptest::sample::select(PIECES).prop_map(str::to_owned),
        1 => any::<char>().prop_map(String::from),
    ];
    proptest::collection::vec(piece, 0..10).prop_map(|pieces| pieces.concat())
}

fn decode_once(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |at: usize| bytes.get(at).and_then(|b| char::from(*b).to_digit(16));
        match (bytes[i], hex(i + 1), hex(i + 2)) {
            (b'%', Some(high), Some(low)) => {
                out.push(u8::try_from(high * 16 + low).unwrap());
                i += 3;
            }
            (byte, _, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The host a browser lands on when the gateway answers `Location: location`, and whether
/// the reference starts like an authority once tabs, newlines and leading C0 controls and
/// spaces are dropped as browsers drop them (the `url` crate refuses `///evil.com` that
/// browsers follow to `evil.com`).
fn landing(location: &str) -> (Option<String>, bool) {
    let base = Url::parse(PUBLIC_URL).unwrap();
    let host = base
        .join(location)
        .ok()
        .and_then(|url| url.host_str().map(str::to_owned));
    let seen: String = location
        .trim_start_matches(|c: char| c <= ' ')
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
        .take(2)
        .collect();
    let authority_like = seen == "//" || seen == "/\\" || seen == "\\\\" || seen == "\\/";
    (host, authority_like)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn a_valid_rd_never_leaves_the_gateway(raw in rd()) {
        let target = RedirectTarget::parse(Some(&raw), &allowed());
        let location = target.as_str();
        prop_assert!(location.bytes().all(|b| b.is_ascii_graphic()), "{raw:?} -> {location:?}");
        let (host, authority_like) = landing(location);
        prop_assert!(!authority_like, "{raw:?} -> {location:?}");
        let host = host.unwrap_or_default();
        prop_assert!(
            host == "gate.example.net" || is_allowed(&host),
            "{raw:?} -> {location:?} lands on {host:?}"
        );
        if location.starts_with('/') {
            // Also for a server that decodes the path once more before redirecting.
            let once = decode_once(location);
            let (host, authority_like) = landing(&once);
            prop_assert!(!authority_like, "{raw:?} -> {location:?} -> {once:?}");
            if let Some(host) = host {
                prop_assert_eq!(host, "gate.example.net", "{:?} -> {:?}", raw, location);
            }
        }
        let again = RedirectTarget::parse(Some(location), &allowed());
        prop_assert_eq!(again.as_str(), location, "validating {:?} again changed it", raw);
    }
}
