//! Which client a request comes from (DESIGN §11: `server.trusted_proxies` decides), and
//! the network one client is counted under for limits.
//!
//! Behind a proxy the TCP peer is the proxy, which appends the address it saw to
//! `X-Forwarded-For`. Every entry left of that is whatever the client wrote, so the list is
//! read from the right and only as far as trusted proxies vouch for it (the same reading
//! RFC 7239 §5.2 gives `Forwarded`; only `X-Forwarded-For` is read).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use axum::http::HeaderMap;

use crate::config::IpNetwork;

/// The `X-Forwarded-For` header's name.
const X_FORWARDED_FOR: &str = "x-forwarded-for";

/// The address a request comes from: the TCP peer, unless the peer is in
/// `server.trusted_proxies`; then the rightmost `X-Forwarded-For` address (all such headers,
/// in order, comma-separated lists) that is not itself a trusted proxy (RFC 7239 §5.2 reads
/// the same for `Forwarded`; only X-Forwarded-For is read). An unparsable entry stops the walk:
/// the last trusted hop's address is used then (never an address a client could choose).
///
/// Entries may be `192.0.2.1`, `2001:db8::1`, `192.0.2.1:443`, `[2001:db8::1]` or
/// `[2001:db8::1]:443`. IPv4-mapped IPv6 addresses come back as IPv4.
pub(crate) fn client_address(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNetwork]) -> IpAddr {
    let is_trusted = |address: IpAddr| trusted.iter().any(|net| net.contains(address));
    let mut hop = peer.to_canonical();
    if !is_trusted(hop) {
        return hop;
    }
    for value in headers.get_all(X_FORWARDED_FOR).iter().rev() {
        let Ok(value) = value.to_str() else {
            return hop;
        };
        for entry in value.rsplit(',') {
            let Some(address) = parse_entry(entry) else {
                return hop;
            };
            hop = address.to_canonical();
            if !is_trusted(hop) {
                return hop;
            }
        }
    }
    hop
}

/// One `X-Forwarded-For` entry: an address, with or without a port.
fn parse_entry(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    if let Ok(address) = entry.parse::<IpAddr>() {
        return Some(address);
    }
    if let Ok(socket) = entry.parse::<SocketAddr>() {
        return Some(socket.ip());
    }
    entry
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
        .and_then(|inner| inner.parse::<Ipv6Addr>().ok())
        .map(IpAddr::V6)
}

/// The key one client is limited under: an IPv4 address (IPv4-mapped IPv6 as IPv4), or an
/// IPv6 /64 (one host usually holds a whole /64, RFC 4291 §2.5.4), as text.
pub(crate) fn client_key(address: IpAddr) -> String {
    ClientNetwork::of(address).to_string()
}

/// The network one client is counted under: an IPv4 address, or the first 64 bits of an
/// IPv6 address (one host usually holds a whole /64, RFC 4291 §2.5.4). IPv4-mapped IPv6
/// addresses, as a dual-stack listener reports IPv4 peers, count as IPv4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum ClientNetwork {
    V4(Ipv4Addr),
    /// The first 64 bits.
    V6(u64),
}

impl ClientNetwork {
    pub(crate) fn of(address: IpAddr) -> ClientNetwork {
        match address {
            IpAddr::V4(v4) => ClientNetwork::V4(v4),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => ClientNetwork::V4(v4),
                None => ClientNetwork::V6(prefix_64(v6)),
            },
        }
    }
}

fn prefix_64(address: Ipv6Addr) -> u64 {
    u64::try_from(address.to_bits() >> 64).unwrap_or(u64::MAX)
}

/// `192.0.2.1` or `2001:db8:1:2::/64`.
impl fmt::Display for ClientNetwork {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientNetwork::V4(v4) => write!(f, "{v4}"),
            ClientNetwork::V6(prefix) => {
                write!(f, "{}/64", Ipv6Addr::from_bits(u128::from(*prefix) << 64))
            }
        }
    }
}

#[cfg(test)]
mod tests;
