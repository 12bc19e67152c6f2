//! Which host a request is for, and how that host is named to the upstream: the `Host`
//! header and the request target's authority, checked to agree and normalised (RFC 9110
//! §7.2, RFC 3986 §3.2.2).

use std::borrow::Cow;

use http::header::HOST;
use http::{HeaderMap, HeaderValue, Uri, Version};

/// The host of a `Host` header value or URI authority (RFC 9110 §7.2): lower-cased, without
/// the port and without one trailing dot (`app.example.com.` names the same host). `None`
/// when it is not a valid authority (see [`normalize_authority`]).
pub(crate) fn normalize_host(value: &str) -> Option<Cow<'_, str>> {
    Some(parse_authority(value)?.0)
}

/// A `Host` header value or URI authority as the gateway sends it on (`Host` of an HTTP/2
/// request, `X-Forwarded-Host`): the host lower-cased, without a trailing dot, with its port
/// when it has one. `None` unless it is exactly `host[:port]` where the host is a DNS-style
/// name (letters, digits, `-`, `_`, dot-separated labels), an IPv4 address or a bracketed
/// IPv6 address, and the port 1 to 5 digits up to 65535 (RFC 3986 §3.2.2, §3.2.3).
///
/// Narrower than RFC 3986's `reg-name` on purpose: that admits `,` and `;`, and
/// `admin.example.com,x` is a list to Express and Spring (which read its first element) and
/// to Rack (the last), so the upstream would read another host than the one routed. User
/// information, percent-escapes and white space are refused too.
///
/// Borrowed from `value` when it is already normal, as nearly every request's is.
pub(crate) fn normalize_authority(value: &str) -> Option<Cow<'_, str>> {
    let (host, port) = parse_authority(value)?;
    Some(authority_of(value, host, port))
}

/// The normal authority of `value` from its parts ([`parse_authority`]).
fn authority_of<'a>(value: &'a str, host: Cow<'a, str>, port: Option<&str>) -> Cow<'a, str> {
    match (host, port) {
        (host, None) => host,
        // Nothing was dropped or lowered: `value` is `host:port` itself.
        (Cow::Borrowed(host), Some(port)) if host.len() + 1 + port.len() == value.len() => {
            Cow::Borrowed(value)
        }
        (host, Some(port)) => Cow::Owned(format!("{host}:{port}")),
    }
}

/// `(host, port)` of a valid authority, the host normalised (borrowed from `value` when it
/// is already lower case); see [`normalize_authority`].
fn parse_authority(value: &str) -> Option<(Cow<'_, str>, Option<&str>)> {
    let (host, port) = match value.strip_prefix('[') {
        Some(bracketed) => {
            let (literal, after) = bracketed.split_once(']')?;
            literal.parse::<std::net::Ipv6Addr>().ok()?;
            let port = match after {
                "" => None,
                after => Some(after.strip_prefix(':')?),
            };
            (value.get(..literal.len() + 2)?, port)
        }
        // A byte search: a host is a few bytes, and `split_once` sets up a searcher.
        None => match value.bytes().position(|byte| byte == b':') {
            Some(colon) => (value.get(..colon)?, Some(value.get(colon + 1..)?)),
            None => (value, None),
        },
    };
    if let Some(port) = port {
        let digits =
            !port.is_empty() && port.len() <= 5 && port.bytes().all(|b| b.is_ascii_digit());
        if !digits {
            return None;
        }
        // At most five digits: no overflow.
        let number = port
            .bytes()
            .fold(0u32, |number, digit| number * 10 + u32::from(digit - b'0'));
        if number > 65535 {
            return None;
        }
    }
    if host.starts_with('[') {
        return Some((lowered(host), port));
    }
    let name = host.strip_suffix('.').unwrap_or(host);
    (name.len() <= 253 && labels_ok(name.as_bytes())).then(|| (lowered(name), port))
}

/// Whether every `.`-separated label of `name` is 1 to 63 letters (of either case: lowering
/// them changes no label's validity), digits, `-` or `_`; in one pass, as it runs three times
/// on every request.
pub(super) fn labels_ok(name: &[u8]) -> bool {
    let mut label = 0;
    for &byte in name {
        if byte == b'.' {
            if label == 0 {
                return false;
            }
            label = 0;
        } else if byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_' {
            label += 1;
            if label > 63 {
                return false;
            }
        } else {
            return false;
        }
    }
    label > 0
}

/// `host` in lower case, borrowed when it is already.
fn lowered(host: &str) -> Cow<'_, str> {
    match host.bytes().any(|b| b.is_ascii_uppercase()) {
        true => Cow::Owned(host.to_ascii_lowercase()),
        false => Cow::Borrowed(host),
    }
}

/// Why a request's host cannot be determined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum BadHost {
    #[error("the request has several Host headers")]
    Several,
    #[error("the Host header is not a valid host")]
    Malformed,
    #[error("the Host header and the request target name different hosts")]
    Conflicting,
    #[error("an HTTP/1.1 request must have a Host header")]
    Missing,
}

/// The host a request is for, as the upstream will see it (see `proxy::headers`): the
/// `Host` header, else the request target's authority (HTTP/2 `:authority`, or an HTTP/1.1
/// absolute-form target). When both are present they must name the same host, so routing
/// and the upstream cannot disagree. An HTTP/1.1 request without `Host` is malformed
/// (RFC 9112 §3.2: the server must answer 400).
pub(crate) fn request_host<'a>(
    headers: &'a HeaderMap,
    uri: &'a Uri,
    version: Version,
) -> Result<Option<&'a str>, BadHost> {
    Ok(routed_host(headers, uri, version)?.map(|routed| routed.raw))
}

/// The host a request is for ([`request_host`]), read once for routing and for the upstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RoutedHost<'a> {
    /// As it was sent.
    pub(crate) raw: &'a str,
    /// The host alone, normalised as routing reads it ([`normalize_host`]).
    pub(crate) host: Cow<'a, str>,
    /// The host with its port, as the upstream is told it ([`normalize_authority`]).
    pub(crate) authority: Cow<'a, str>,
    /// The `Host` field it was read from; `None` when it came from the request target.
    field: Option<&'a HeaderValue>,
}

impl<'a> RoutedHost<'a> {
    fn read(raw: &'a str, field: Option<&'a HeaderValue>) -> Option<RoutedHost<'a>> {
        let (host, port) = parse_authority(raw)?;
        let authority = authority_of(raw, host.clone(), port);
        Some(RoutedHost {
            raw,
            host,
            authority,
            field,
        })
    }

    /// [`RoutedHost::authority`] as the upstream's `Host` value: the request's own `Host`
    /// field, shared rather than copied, when that is already it.
    pub(crate) fn header_value(&self) -> Option<HeaderValue> {
        match self.field {
            Some(field) if field.as_bytes() == self.authority.as_bytes() => Some(field.clone()),
            _ => HeaderValue::from_str(&self.authority).ok(),
        }
    }
}

/// [`request_host`] as it was sent, with the host it names normalised with and without its
/// port: found once for routing and for the upstream's `Host`.
pub(crate) fn routed_host<'a>(
    headers: &'a HeaderMap,
    uri: &'a Uri,
    version: Version,
) -> Result<Option<RoutedHost<'a>>, BadHost> {
    let mut values = headers.get_all(HOST).iter();
    let field = match (values.next(), values.next()) {
        (Some(_), Some(_)) => return Err(BadHost::Several),
        (Some(value), None) => Some(value),
        (None, _) if version == Version::HTTP_11 => return Err(BadHost::Missing),
        (None, _) => None,
    };
    let header = match field {
        Some(value) => Some((value.to_str().map_err(|_| BadHost::Malformed)?, value)),
        None => None,
    };
    // An empty `Host` is how a client says the target has no authority (RFC 9112 §3.2).
    // A field value is visible ASCII, space and tab (`to_str`): `trim` without its Unicode
    // tables.
    let header = header.filter(|(text, _)| !text.bytes().all(|byte| byte == b' ' || byte == b'\t'));
    let authority = uri.authority().map(http::uri::Authority::as_str);
    match (header, authority) {
        (Some((header, field)), Some(authority)) => {
            let routed = RoutedHost::read(header, Some(field)).ok_or(BadHost::Malformed)?;
            if routed.host == normalize_host(authority).ok_or(BadHost::Malformed)? {
                Ok(Some(routed))
            } else {
                Err(BadHost::Conflicting)
            }
        }
        (Some((raw, field)), None) => Ok(Some(
            RoutedHost::read(raw, Some(field)).ok_or(BadHost::Malformed)?,
        )),
        (None, Some(raw)) => Ok(Some(RoutedHost::read(raw, None).ok_or(BadHost::Malformed)?)),
        (None, None) => Ok(None),
    }
}
