//! IP networks in CIDR notation, for the address lists of the configuration
//! (`server.trusted_proxies`): parsing with a reason for every refusal, and membership.

use std::net::IpAddr;

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
    pub fn parse(text: &str) -> Result<IpNetwork, String> {
        let text = text.trim();
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let network: IpAddr = address
            .parse()
            .map_err(|_| format!("`{address}` is not an IP address"))?;
        let bits = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => bits,
            Some(prefix) => prefix
                .parse::<u8>()
                .ok()
                .filter(|prefix| *prefix <= bits)
                .ok_or_else(|| format!("`/{prefix}` is not a prefix length from 0 to {bits}"))?,
        };
        let parsed = IpNetwork { network, prefix };
        let canonical = IpNetwork {
            network: parsed.masked(network),
            prefix,
        };
        if canonical != parsed {
            return Err(format!(
                "`{text}` has bits set after the /{prefix} prefix; write `{canonical}`"
            ));
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
mod tests {
    use super::*;

    #[test]
    fn networks_parse_and_contain_exactly_their_addresses() {
        // (network, address, contained)
        let cases = [
            ("10.0.0.0/8", "10.255.1.2", true),
            ("10.0.0.0/8", "11.0.0.1", false),
            ("10.0.0.0/8", "::ffff:10.1.2.3", true),
            ("10.0.0.0/8", "::1", false),
            ("127.0.0.1", "127.0.0.1", true),
            ("127.0.0.1", "127.0.0.2", false),
            ("127.0.0.1/32", "::ffff:127.0.0.1", true),
            ("0.0.0.0/0", "192.0.2.1", true),
            ("0.0.0.0/0", "2001:db8::1", false),
            ("::1", "::1", true),
            ("::1", "127.0.0.1", false),
            ("fd00::/8", "fd12:3456::1", true),
            ("fd00::/8", "fe80::1", false),
            ("::/0", "2001:db8::1", true),
            ("192.168.1.0/24", "192.168.1.255", true),
            ("192.168.1.0/24", "192.168.2.0", false),
            ("::ffff:127.0.0.1", "127.0.0.1", true),
            ("::ffff:127.0.0.1", "::ffff:127.0.0.1", true),
            ("::ffff:10.0.0.0/104", "10.1.2.3", true),
            ("::ffff:10.0.0.0/104", "::ffff:10.1.2.3", true),
            ("::ffff:10.0.0.0/104", "11.0.0.1", false),
            ("::ffff:0:0/96", "192.0.2.1", true),
            ("::ffff:0:0/96", "2001:db8::1", false),
        ];
        for (network, address, contained) in cases {
            let parsed = IpNetwork::parse(network).unwrap();
            assert_eq!(
                parsed.contains(address.parse().unwrap()),
                contained,
                "{network} ∋ {address}"
            );
        }
    }

    #[test]
    fn malformed_networks_are_refused_with_a_reason() {
        let cases = [
            ("10.0.0.1/8", "write `10.0.0.0/8`"),
            ("10.0.0.0/33", "from 0 to 32"),
            ("::1/129", "from 0 to 128"),
            ("10.0.0.0/", "prefix length"),
            ("10.0.0.0/x", "prefix length"),
            ("localhost", "not an IP address"),
            ("10.0.0.0/8/8", "prefix length"),
            ("", "not an IP address"),
        ];
        for (text, fragment) in cases {
            let error = IpNetwork::parse(text).unwrap_err();
            assert!(error.contains(fragment), "{text}: {error}");
        }
        assert_eq!(
            IpNetwork::parse("10.0.0.0/8").unwrap().to_string(),
            "10.0.0.0/8"
        );
        assert_eq!(IpNetwork::parse("::1").unwrap().to_string(), "::1/128");
        assert_eq!(
            IpNetwork::parse("::ffff:10.0.0.0/104").unwrap().to_string(),
            "10.0.0.0/8"
        );
    }
}
