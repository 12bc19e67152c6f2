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
        let error = IpNetwork::parse(text).unwrap_err().to_string();
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
