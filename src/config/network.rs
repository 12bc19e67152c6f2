//! IP networks in CIDR notation, for the address lists of the configuration
//! (`server.trusted_proxies`): parsing with a reason for every refusal, and membership.

use std::net::IpAddr;

/// Why a `trusted_proxies` entry is not a network; the text is the whole message shown with
/// the entry's position.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NetworkError {
    #[error("`{0}` is not an IP address")]
    NotAnAddress(String),
    #[error("`/{prefix}` is not a prefix length from 0 to {bits}")]
    BadPrefix { prefix: String, bits: u8 },
    #[error("`{written}` has bits set after the /{prefix} prefix; write `{canonical}`")]
    HostBitsSet {
        written: String,
        prefix: u8,
        canonical: IpNetwork,
    },
}

/// An IP network in CIDR notation (`10.0.0.0/8`, `fd00::/8`); a bare address is a network
/// of one (`/32` or `/128`). IPv4-mapped IPv6 networks (`::ffff:10.0.0.0/104`) are kept as
/// the IPv4 network they map (`10.0.0.0/8`).
///
/// Our own because the gateway needs only parsing and membership, which std's `IpAddr`
/// makes a few lines; not worth a dependency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNetwork {
    network: IpAddr,
    prefix: u8,
}

impl IpNetwork {
    /// Parses `10.0.0.0/8`, `::1` or `127.0.0.1/32`. Host bits set below the prefix
    /// (`10.0.0.1/8`) are refused: they usually mean a typo.
    pub fn parse(text: &str) -> Result<IpNetwork, NetworkError> {
        let text = text.trim();
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let network: IpAddr = address
            .parse()
            .map_err(|_| NetworkError::NotAnAddress(address.to_owned()))?;
        let bits = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => bits,
            Some(prefix) => prefix
                .parse::<u8>()
                .ok()
                .filter(|prefix| *prefix <= bits)
                .ok_or_else(|| NetworkError::BadPrefix {
                    prefix: prefix.to_owned(),
                    bits,
                })?,
        };
        let parsed = IpNetwork { network, prefix };
        let canonical = IpNetwork {
            network: parsed.masked(network),
            prefix,
        };
        if canonical != parsed {
            return Err(NetworkError::HostBitsSet {
                written: text.to_owned(),
                prefix,
                canonical,
            });
        }
        // `::ffff:10.0.0.0/104` is how a dual-stack listener shows 10.0.0.0/8: the same
        // peers, which `contains` sees as IPv4 addresses.
        match network {
            IpAddr::V6(v6) if prefix >= 96 => match v6.to_ipv4_mapped() {
                Some(v4) => Ok(IpNetwork {
                    network: IpAddr::V4(v4),
                    prefix: prefix - 96,
                }),
                None => Ok(parsed),
            },
            _ => Ok(parsed),
        }
    }

    /// Whether `address` is in this network. IPv4-mapped IPv6 addresses (`::ffff:10.1.2.3`,
    /// what a dual-stack listener reports for IPv4 peers) count as their IPv4 address.
    pub fn contains(&self, address: IpAddr) -> bool {
        let address = address.to_canonical();
        address.is_ipv4() == self.network.is_ipv4() && self.masked(address) == self.network
    }

    fn masked(&self, address: IpAddr) -> IpAddr {
        match address {
            IpAddr::V4(v4) => {
                let mask = u32::MAX
                    .checked_shl(32u32.saturating_sub(u32::from(self.prefix)))
                    .unwrap_or(0);
                IpAddr::from((u32::from(v4) & mask).to_be_bytes())
            }
            IpAddr::V6(v6) => {
                let mask = u128::MAX
                    .checked_shl(128u32.saturating_sub(u32::from(self.prefix)))
                    .unwrap_or(0);
                IpAddr::from((u128::from(v6) & mask).to_be_bytes())
            }
        }
    }
}

impl std::fmt::Display for IpNetwork {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

#[cfg(test)]
mod tests;
