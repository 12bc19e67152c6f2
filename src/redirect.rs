//! Post-login destinations: the `rd` parameter, validated so that it can never become an
//! open redirect (DESIGN §5 item 4).
//!
//! A [`RedirectTarget`] is either a local path (`/` not followed by `/` or `\`, no control
//! characters, no backslash, no scheme) or an absolute `http(s)` URL on an allowed host;
//! anything else becomes `/`. The checks assume a hostile sender and lenient consumers:
//! browsers that strip tabs and newlines, read `\` as `/`, resolve `..` and map Unicode
//! look-alikes (`／`, `∕`, `＼`), and servers that percent-decode a value once more. A local
//! path is therefore checked at every percent-decoding layer, after dot-segment removal
//! (RFC 3986 §5.2.4), and must keep its first segment ASCII. An absolute URL is parsed with
//! the WHATWG parser browsers use, matched on the host it really names, and returned in its
//! serialised form, so what was checked is exactly what the browser is sent to.

use std::fmt;

use url::{Host, Url};

/// Longer values are refused, before and after percent-encoding: `rd` travels in the flow
/// cookie and a `Location` header.
const MAX_LEN: usize = 2048;

/// Percent-decoding layers examined before a still-changing value is refused outright.
const MAX_DECODE_LAYERS: usize = 4;

/// A validated post-login destination.
///
/// [`as_str`](Self::as_str) is always visible ASCII, fit for a `Location` header as is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedirectTarget(String);

impl RedirectTarget {
    /// Validates `raw` (the already-decoded `rd` query value; `None` or empty gives `/`).
    ///
    /// Accepts a local path: starts with `/`, the next character is not `/` or `\`, no
    /// control characters (C0, DEL, C1), no backslash anywhere, a first segment in ASCII,
    /// and none of this undone by further percent-decoding or `..` resolution. Or an
    /// absolute `http`/`https` URL without userinfo whose host is in `allowed_hosts`: exact
    /// hostnames (`app.example.com`) or, with a leading dot, a domain and its subdomains
    /// (`.example.com`); ports are ignored and case does not matter, and a host name with an
    /// empty label (`https://.example.com`, `https://a..example.com`) names nothing. Anything
    /// else is `/`.
    pub fn parse(raw: Option<&str>, allowed_hosts: &[String]) -> RedirectTarget {
        raw.filter(|value| !value.is_empty())
            .and_then(|value| validate(value, allowed_hosts))
            .map_or_else(Self::root, RedirectTarget)
    }

    /// The destination, ready for a `Location` header.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The gateway's root, `/`: the destination when `rd` is absent or refused.
    pub fn root() -> RedirectTarget {
        RedirectTarget("/".to_owned())
    }
}

impl Default for RedirectTarget {
    fn default() -> Self {
        Self::root()
    }
}

impl fmt::Display for RedirectTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn validate(raw: &str, allowed_hosts: &[String]) -> Option<String> {
    if raw.len() > MAX_LEN || raw.chars().any(|c| c.is_control() || c == '\\') {
        return None;
    }
    let target = if raw.starts_with('/') {
        local_path(raw)
    } else {
        absolute_url(raw, allowed_hosts)
    };
    // Percent-encoding can triple a value; what is returned must also fit, or validating it
    // again (the callback does, from the flow cookie) would give `/`.
    target.filter(|target| target.len() <= MAX_LEN)
}

/// Checks the path part of `raw` at every percent-decoding layer; the query and fragment
/// cannot move the request to another origin and are kept as they are.
fn local_path(raw: &str) -> Option<String> {
    let path_end = raw.find(['?', '#']).unwrap_or(raw.len());
    let mut layer = raw.get(..path_end)?.as_bytes().to_vec();
    for _ in 0..=MAX_DECODE_LAYERS {
        if !is_safe_path(&String::from_utf8_lossy(&layer)) {
            return None;
        }
        let next = percent_decode(&layer);
        if next == layer {
            return Some(encode_non_visible(raw));
        }
        layer = next;
    }
    None
}

fn is_safe_path(path: &str) -> bool {
    let Some(after_slash) = path.strip_prefix('/') else {
        return false;
    };
    if after_slash.starts_with(['/', '\\']) || path.chars().any(|c| c.is_control() || c == '\\') {
        return false;
    }
    let Some(normalised) = remove_dot_segments(path) else {
        return false;
    };
    first_segment_is_ascii(path) && first_segment_is_ascii(&normalised)
}

/// RFC 3986 §5.2.4 for an absolute path; `None` when the result would start with `//`,
/// which a later re-parse would read as an authority (`/..//evil.com`, `/.//evil.com`).
fn remove_dot_segments(path: &str) -> Option<String> {
    let mut out: Vec<&str> = Vec::new();
    for segment in path.split('/').skip(1) {
        match segment {
            "." => {}
            ".." => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    if out.len() > 1 && out.first().is_some_and(|first| first.is_empty()) {
        return None;
    }
    Some(format!("/{}", out.join("/")))
}

/// Non-ASCII in the first segment is where Unicode slash look-alikes (`／`, `∕`, `⁄`, `＼`)
/// could be folded into an authority.
fn first_segment_is_ascii(path: &str) -> bool {
    path.chars()
        .skip(1)
        .take_while(|c| *c != '/')
        .all(|c| c.is_ascii())
}

fn percent_decode(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut bytes = input.iter().copied();
    while let Some(byte) = bytes.next() {
        if byte == b'%' {
            let mut lookahead = bytes.clone();
            let high = lookahead.next().and_then(hex_value);
            let low = lookahead.next().and_then(hex_value);
            if let (Some(high), Some(low)) = (high, low) {
                out.push(high << 4 | low);
                bytes = lookahead;
                continue;
            }
        }
        out.push(byte);
    }
    out
}

fn hex_value(byte: u8) -> Option<u8> {
    char::from(byte)
        .to_digit(16)
        .and_then(|digit| u8::try_from(digit).ok())
}

/// Percent-encodes what is not visible ASCII or is HTML-sensitive (space, `"`, `<`, `>`,
/// `` ` ``, non-ASCII), as browsers do for paths; everything else is kept byte for byte.
fn encode_non_visible(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        if c.is_ascii_graphic() && !matches!(c, '"' | '<' | '>' | '`') {
            out.push(c);
        } else {
            let mut buf = [0u8; 4];
            for byte in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{byte:02X}"));
            }
        }
    }
    out
}

fn absolute_url(raw: &str, allowed_hosts: &[String]) -> Option<String> {
    let rest = strip_prefix_ignore_case(raw, "https://")
        .or_else(|| strip_prefix_ignore_case(raw, "http://"))?;
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = rest.get(..authority_end)?;
    let plain = |c: char| c.is_ascii_graphic() && !matches!(c, '@' | '%');
    if authority.is_empty() || !authority.chars().all(plain) {
        return None;
    }
    let url = Url::parse(raw).ok()?;
    if !matches!(url.scheme(), "http" | "https")
        || !url.username().is_empty()
        || url.password().is_some()
    {
        return None;
    }
    let host = url.host()?;
    if let Host::Domain(domain) = host {
        // RFC 1035 §2.3.1: a host name's labels are not empty (`.a.example`, `a..example`).
        if domain.split('.').any(str::is_empty) {
            return None;
        }
    }
    allowed_hosts
        .iter()
        .any(|entry| host_matches(entry, &host))
        .then(|| url.to_string())
}

fn strip_prefix_ignore_case<'a>(value: &'a str, prefix: &str) -> Option<&'a str> {
    let head = value.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| value.get(prefix.len()..))
        .flatten()
}

/// `app.example.com` matches that host only; `.example.com` matches `example.com` and its
/// subdomains but never `evil-example.com` or `example.com.evil.org`. Entries are
/// normalised like URL hosts (lowercase, IDNA); a port on the entry is ignored.
fn host_matches(entry: &str, host: &Host<&str>) -> bool {
    let entry = entry.trim();
    let (subdomains, name) = match entry.strip_prefix('.') {
        Some(rest) => (true, rest),
        None => (false, entry),
    };
    let Ok(pattern) = Host::parse(strip_port(name)) else {
        return false;
    };
    match (subdomains, &pattern, host) {
        (false, _, _) => pattern.to_string() == host.to_string(),
        (true, Host::Domain(suffix), Host::Domain(domain)) => {
            *domain == suffix.as_str()
                || domain
                    .strip_suffix(suffix.as_str())
                    .is_some_and(|label| label.ends_with('.'))
        }
        (true, _, _) => false,
    }
}

fn strip_port(name: &str) -> &str {
    if name.starts_with('[') {
        return name
            .find(']')
            .and_then(|end| name.get(..=end))
            .unwrap_or(name);
    }
    match name.rsplit_once(':') {
        Some((host, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => name,
    }
}

#[cfg(test)]
mod properties;

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed() -> Vec<String> {
        vec!["app.example.com".to_owned(), ".corp.example.org".to_owned()]
    }

    fn parse_with(raw: &str, hosts: &[&str]) -> String {
        let hosts: Vec<String> = hosts.iter().map(|h| (*h).to_owned()).collect();
        RedirectTarget::parse(Some(raw), &hosts).as_str().to_owned()
    }

    #[test]
    fn hostile_inputs_become_root() {
        let hostile = [
            "//evil.com",
            "/\\evil.com",
            "/%5Cevil.com",
            "/%5cevil.com",
            "https://evil.com",
            "http://evil.com",
            "javascript:alert(1)",
            "JaVaScRiPt:alert(1)",
            " javascript:alert(1)",
            "data:text/html,x",
            "vbscript:msgbox(1)",
            "/\t/evil.com",
            "/\n/evil.com",
            "/\r/evil.com",
            "/\r\n/evil.com",
            "/\u{7f}/evil.com",
            "/\u{85}/evil.com",
            "/\0/evil.com",
            "/x?next=a\r\nSet-Cookie:%20s=1",
            "/x#\t",
            "/x?a=\u{9b}",
            "/x?a=\\b",
            " //evil.com",
            "\t//evil.com",
            "\\\\evil.com",
            "\\/evil.com",
            "/x\\evil",
            "//evil.com@good",
            "https://good.example.com@evil.com",
            "https://app.example.com@evil.com",
            "https://app.example.com:x@evil.com",
            "/／evil.com",
            "／／evil.com",
            "/∕evil.com",
            "/⁄evil.com",
            "/＼evil.com",
            "/%EF%BC%8Fevil.com",
            "/%2f%2fevil.com",
            "/%2F%2Fevil.com",
            "/%2fevil.com",
            "/%252f%252fevil.com",
            "/%25252f%25252fevil.com",
            "/%255cevil.com",
            "/%09/evil.com",
            "/%0a/evil.com",
            "/%2525252525252f",
            "http:evil.com",
            "https:evil.com",
            "http:/evil.com",
            "https:\\\\evil.com",
            "///evil.com",
            "////evil.com",
            "evil.com",
            ".evil.com",
            "./evil.com",
            "../evil.com",
            "/.//evil.com",
            "/..//evil.com",
            "/a/..//evil.com",
            "/%2e%2e//evil.com",
            "/%2e//evil.com",
            "/..%2f/evil.com",
            "/.%2f%2fevil.com",
            "https://evil-example.com",
            "https://example.com.evil.org",
            "https://app.example.com.evil.org/",
            "https:///app.example.com",
            "ftp://app.example.com/",
            "https://app.example.com%2eevil.com",
            "https://[::1]/",
            "https://",
        ];
        let mut failures = Vec::new();
        for input in hostile {
            let got = RedirectTarget::parse(Some(input), &allowed());
            if got.as_str() != "/" {
                failures.push(format!("{input:?} -> {:?}", got.as_str()));
            }
        }
        assert!(hostile.len() >= 45);
        assert!(failures.is_empty(), "not refused: {failures:#?}");
    }

    #[test]
    fn evil_example_is_not_a_subdomain_of_allowed_example() {
        for input in [
            "https://evil-example.com/",
            "https://example.com.evil.org/",
            "https://notexample.com/",
        ] {
            assert_eq!(parse_with(input, &[".example.com"]), "/", "{input}");
        }
    }

    #[test]
    fn legitimate_local_paths_survive_unchanged() {
        for input in [
            "/",
            "/app",
            "/app/",
            "/app/page?x=1&y=%20#frag",
            "/a//b",
            "/a/../b",
            "/a/./b",
            "/evil.com",
            "/a:b",
            "/app?next=//evil.com",
            "/app?next=https://evil.com",
            "/#//evil.com",
            "/?q=%2f%2f",
            "/path%20with%20spaces",
            "/files/report%2Fq1.pdf",
            "/a@b",
            "/~user/index.html",
            "/search?q=a+b&lang=en",
        ] {
            assert_eq!(parse_with(input, &[]), input, "{input}");
        }
    }

    #[test]
    fn local_paths_are_made_header_safe_without_changing_their_meaning() {
        assert_eq!(parse_with("/a b", &[]), "/a%20b");
        assert_eq!(parse_with("/docs/café", &[]), "/docs/caf%C3%A9");
        assert_eq!(parse_with("/x?q=\"<b>\"", &[]), "/x?q=%22%3Cb%3E%22");
        assert_eq!(parse_with("/café", &[]), "/");
    }

    #[test]
    fn none_empty_and_oversized_become_root() {
        assert_eq!(
            RedirectTarget::parse(None, &allowed()),
            RedirectTarget::root()
        );
        assert_eq!(RedirectTarget::parse(Some(""), &allowed()).as_str(), "/");
        let long = format!("/{}", "a".repeat(MAX_LEN));
        assert_eq!(parse_with(&long, &[]), "/");
        let fits = format!("/{}", "a".repeat(MAX_LEN - 1));
        assert_eq!(parse_with(&fits, &[]), fits);
    }

    /// Found by the `redirect` fuzz target: 243 bytes of non-ASCII became more than 2048
    /// once percent-encoded, so the callback, validating the `rd` from the flow cookie again,
    /// sent the browser to `/` instead.
    #[test]
    fn what_is_returned_fits_the_limit_and_validates_to_itself() {
        let hosts = ["app.example.com"];
        for input in [
            format!("/docs/{}", "é".repeat(700)),
            format!("/docs/{}", "\u{fffd}".repeat(300)),
            format!("/x?q={}", "€".repeat(600)),
            format!("https://app.example.com/{}", "é".repeat(700)),
            format!("https://app.example.com/?{}", " ".repeat(1500)),
        ] {
            assert!(input.len() <= MAX_LEN, "{}", input.len());
            let got = parse_with(&input, &hosts);
            assert!(got.len() <= MAX_LEN, "{} bytes from {input:?}", got.len());
            assert_eq!(parse_with(&got, &hosts), got);
        }
        let fits = format!("/docs/{}", "é".repeat(300));
        assert_eq!(
            parse_with(&fits, &hosts),
            format!("/docs/{}", "%C3%A9".repeat(300))
        );
    }

    #[test]
    fn exact_allowed_host_is_accepted() {
        assert_eq!(
            parse_with("https://app.example.com/x?y=1#z", &["app.example.com"]),
            "https://app.example.com/x?y=1#z"
        );
        assert_eq!(
            parse_with("https://other.example.com/", &["app.example.com"]),
            "/"
        );
        assert_eq!(
            parse_with("https://example.com/", &["app.example.com"]),
            "/"
        );
        assert_eq!(
            parse_with("https://sub.app.example.com/", &["app.example.com"]),
            "/"
        );
    }

    #[test]
    fn leading_dot_allows_domain_and_subdomains() {
        let hosts = [".example.com"];
        assert_eq!(
            parse_with("https://example.com/", &hosts),
            "https://example.com/"
        );
        assert_eq!(
            parse_with("https://a.example.com/", &hosts),
            "https://a.example.com/"
        );
        assert_eq!(
            parse_with("https://a.b.example.com/p", &hosts),
            "https://a.b.example.com/p"
        );
        assert_eq!(parse_with("https://evil-example.com/", &hosts), "/");
        assert_eq!(parse_with("https://example.com.evil.org/", &hosts), "/");
    }

    /// Found by the `redirect` fuzz target: `.corp.example.org` and `x..corp.example.org`
    /// end in the allowed domain but are no host names (RFC 1035 §2.3.1: labels are not
    /// empty), so no resolver agrees on what they name.
    #[test]
    fn hosts_with_empty_labels_are_refused() {
        let hosts = [".corp.example.org", "app.example.com"];
        for input in [
            "http://.corp.example.org#x",
            "https://.corp.example.org/",
            "https://x..corp.example.org/",
            "https://z-0..corp.example.org//....http://evil.com",
            "https://a.b..c.corp.example.org/",
            "https://..corp.example.org/",
        ] {
            assert_eq!(parse_with(input, &hosts), "/", "{input}");
        }
    }

    #[test]
    fn port_is_ignored_when_matching() {
        assert_eq!(
            parse_with("https://app.example.com:8443/x", &["app.example.com"]),
            "https://app.example.com:8443/x"
        );
        assert_eq!(
            parse_with("http://a.example.com:8080/", &[".example.com"]),
            "http://a.example.com:8080/"
        );
        assert_eq!(
            parse_with("https://app.example.com/", &["app.example.com:9000"]),
            "https://app.example.com/"
        );
    }

    #[test]
    fn host_matching_ignores_case() {
        assert_eq!(
            parse_with("HTTPS://APP.Example.COM/Path", &["app.example.com"]),
            "https://app.example.com/Path"
        );
        assert_eq!(
            parse_with("https://app.example.com/", &["APP.EXAMPLE.COM"]),
            "https://app.example.com/"
        );
        assert_eq!(
            parse_with("https://X.Example.Com/", &[".EXAMPLE.com"]),
            "https://x.example.com/"
        );
    }

    #[test]
    fn http_and_https_are_both_accepted_other_schemes_are_not() {
        let hosts = ["app.example.com"];
        assert_eq!(
            parse_with("http://app.example.com/", &hosts),
            "http://app.example.com/"
        );
        assert_eq!(
            parse_with("https://app.example.com/", &hosts),
            "https://app.example.com/"
        );
        assert_eq!(parse_with("ftp://app.example.com/", &hosts), "/");
        assert_eq!(parse_with("ws://app.example.com/", &hosts), "/");
        assert_eq!(
            parse_with("javascript://app.example.com/%0aalert(1)", &hosts),
            "/"
        );
    }

    #[test]
    fn allowed_host_with_userinfo_is_refused() {
        let hosts = ["app.example.com", ".example.com"];
        for input in [
            "https://user@app.example.com/",
            "https://user:pass@app.example.com/",
            "https://:pass@app.example.com/",
            "https://@app.example.com/",
            "https://evil.com@app.example.com/",
            "https://app.example.com@evil.com/",
        ] {
            assert_eq!(parse_with(input, &hosts), "/", "{input}");
        }
    }

    #[test]
    fn absolute_urls_with_tricks_on_allowed_hosts_are_refused() {
        let hosts = ["app.example.com"];
        for input in [
            "https://app.example.com\\@evil.com/",
            "https://app.example.com\t/",
            "https://app.example.com\n.evil.com/",
            "https://app.example.com /",
            "https://app.ｅxample.com/",
            "https:/app.example.com/",
            "https:app.example.com/",
            "https:///app.example.com/",
        ] {
            assert_eq!(parse_with(input, &hosts), "/", "{input:?}");
        }
    }

    #[test]
    fn no_allowed_hosts_means_no_absolute_urls() {
        assert_eq!(parse_with("https://app.example.com/", &[]), "/");
        assert_eq!(parse_with("https://app.example.com/", &["", ".", " "]), "/");
    }

    #[test]
    fn result_is_always_visible_ascii() {
        for input in ["/x/ü?ä#ö", "/a b", "https://app.example.com/ü"] {
            let got = parse_with(input, &["app.example.com"]);
            assert!(
                got.chars().all(|c| c.is_ascii_graphic()),
                "{input} -> {got}"
            );
        }
    }
}
