//! Hop-by-hop fields (RFC 9110 §7.6.1): the fields that concern one connection only and the
//! lists they are read from, removed from requests and responses both ways, and the one
//! protocol an upgrade may keep (RFC 9110 §7.8).

use http::header::{CONNECTION, HOST, UPGRADE};
use http::{HeaderMap, HeaderName, HeaderValue};

/// How many names [`HOP_BY_HOP`] lists.
const FIXED: usize = 10;

/// Hop-by-hop fields (RFC 9110 §7.6.1): meaningful for one connection only, so a proxy must
/// not forward them. `Proxy-Connection` is the pre-standard `Connection`; `Proxy-Authenticate`
/// and `Proxy-Authorization` (RFC 9110 §11.7) are addressed to the proxy, not the origin;
/// `HTTP2-Settings` belongs to the h2c upgrade (RFC 7540 §3.2.1, "a hop-by-hop header
/// field"), which is never forwarded. Lower case, as `HeaderName` holds names.
const HOP_BY_HOP: [&str; FIXED] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "proxy-authenticate",
    "proxy-authorization",
    "http2-settings",
];

/// Whether `name` is one of [`HOP_BY_HOP`]: a match on the text, which every message's every
/// field name goes through, rather than ten comparisons of names.
fn is_hop_by_hop(name: &HeaderName) -> bool {
    matches!(
        name.as_str(),
        "connection"
            | "keep-alive"
            | "proxy-connection"
            | "te"
            | "trailer"
            | "transfer-encoding"
            | "upgrade"
            | "proxy-authenticate"
            | "proxy-authorization"
            | "http2-settings"
    )
}

/// Whether a `Connection` option names a field of [`HOP_BY_HOP`], in any case.
fn is_hop_by_hop_text(option: &[u8]) -> bool {
    HOP_BY_HOP
        .iter()
        .any(|name| option.eq_ignore_ascii_case(name.as_bytes()))
}

/// Removes hop-by-hop fields (RFC 9110 §7.6.1, DESIGN §5 item 3): every field named in
/// `Connection`, then the fixed list [`HOP_BY_HOP`]. Used on requests and responses.
///
/// With `keep_upgrade` (a protocol upgrade being forwarded, RFC 9110 §7.8; RFC 6455 §4.1
/// requires `Connection: Upgrade` and `Upgrade` to reach the server), `Upgrade` is replaced by
/// the one protocol [`requested_upgrade`] picks (none when it picks none) and `Connection` is
/// reduced to exactly `upgrade`. `Host` is never removed, even when listed: it is addressed
/// to every recipient, which RFC 9110 §7.6.1 forbids listing.
pub(crate) fn remove_hop_by_hop(headers: &mut HeaderMap, keep_upgrade: bool) {
    let kept = if keep_upgrade {
        requested_upgrade(headers)
    } else {
        None
    };
    // Found before anything is removed, in one pass over the names: most messages have one
    // such field (`Connection`) or none, and a lookup or removal hashes its name, so the
    // first is held by value and only a second one takes a `Vec`.
    let mut found = headers.keys().filter(|name| is_hop_by_hop(name));
    let Some(first) = found.next().cloned() else {
        return set_upgrade(headers, kept);
    };
    let more: Vec<HeaderName> = found.cloned().collect();
    // Options are read only from a `Connection` field; those that name a field of the fixed
    // list are left to the list.
    let listed: Vec<HeaderName> = match first == CONNECTION || more.contains(&CONNECTION) {
        true => connection_options(headers)
            .filter(|option| !is_hop_by_hop_text(option))
            .filter_map(|option| HeaderName::from_bytes(option).ok())
            .filter(|name| *name != HOST)
            .collect(),
        false => Vec::new(),
    };
    for name in listed.into_iter().chain([first]).chain(more) {
        headers.remove(name);
    }
    set_upgrade(headers, kept);
}

/// With the protocol an upgrade keeps, `Upgrade` names it and `Connection` is `upgrade`.
fn set_upgrade(headers: &mut HeaderMap, kept: Option<HeaderValue>) {
    if let Some(protocol) = kept {
        headers.insert(UPGRADE, protocol);
        headers.insert(CONNECTION, HeaderValue::from_static("upgrade"));
    }
}

/// The one protocol a request asks to upgrade to (RFC 9110 §7.8), when `Connection` lists
/// `upgrade`: the first item of its `Upgrade` fields, all of them read as one list in order,
/// that is not `h2c` (RFC 9113 §3.1 removed the HTTP/2 upgrade: an upstream that still
/// honours it would speak HTTP/2 with the client past the gateway's checks). Only this one
/// protocol is forwarded, so the upstream cannot switch to another that nobody checked.
pub(crate) fn requested_upgrade(headers: &HeaderMap) -> Option<HeaderValue> {
    // Nearly every request has no `Upgrade`: one lookup instead of reading `Connection`.
    if !headers.contains_key(UPGRADE) {
        return None;
    }
    let asks = connection_options(headers).any(|option| option.eq_ignore_ascii_case(b"upgrade"));
    if !asks {
        return None;
    }
    let protocol = headers
        .get_all(UPGRADE)
        .iter()
        .flat_map(|value| list_items(value.as_bytes()))
        .find(|item| !item.eq_ignore_ascii_case(b"h2c"))?;
    HeaderValue::from_bytes(protocol).ok()
}

/// The options of every `Connection` field (RFC 9110 §7.6.1), in order.
fn connection_options(headers: &HeaderMap) -> impl Iterator<Item = &[u8]> {
    headers
        .get_all(CONNECTION)
        .iter()
        .flat_map(|value| list_items(value.as_bytes()))
}

/// The non-empty, trimmed items of a comma-separated list field (RFC 9110 §5.6.1).
pub(crate) fn list_items(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value
        .split(|&byte| byte == b',')
        .map(<[u8]>::trim_ascii)
        .filter(|item| !item.is_empty())
}

#[cfg(test)]
mod tests;
