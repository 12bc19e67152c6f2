use super::*;

use axum::http::HeaderValue;

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

fn networks(list: &[&str]) -> Vec<IpNetwork> {
    list.iter()
        .map(|net| IpNetwork::parse(net).unwrap())
        .collect()
}

/// Headers with one `X-Forwarded-For` per value, in order.
fn forwarded_for(values: &[&str]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for value in values {
        headers.append(X_FORWARDED_FOR, HeaderValue::from_str(value).unwrap());
    }
    headers
}

/// The client address seen from a peer at 10.0.0.5 when the proxies are `trusted`.
fn behind(trusted: &[&str], values: &[&str]) -> IpAddr {
    client_address(ip("10.0.0.5"), &forwarded_for(values), &networks(trusted))
}

#[test]
fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
    assert_eq!(behind(&[], &["203.0.113.9"]), ip("10.0.0.5"));
    assert_eq!(behind(&["10.1.0.0/16"], &["203.0.113.9"]), ip("10.0.0.5"));
    assert_eq!(behind(&[], &[]), ip("10.0.0.5"));
}

#[test]
fn a_trusted_peer_forwards_the_rightmost_untrusted_address() {
    let trusted = ["10.0.0.0/8"];
    assert_eq!(behind(&trusted, &["203.0.113.9"]), ip("203.0.113.9"));
    assert_eq!(
        behind(&trusted, &["198.51.100.1, 203.0.113.9"]),
        ip("203.0.113.9"),
        "the left entry is the client's own claim"
    );
}

#[test]
fn a_chain_of_trusted_proxies_is_walked_through() {
    let trusted = ["10.0.0.0/8", "192.168.0.0/16"];
    assert_eq!(
        behind(
            &trusted,
            &["198.51.100.1, 203.0.113.9, 192.168.1.1, 10.2.3.4"]
        ),
        ip("203.0.113.9")
    );
}

#[test]
fn when_every_hop_is_trusted_the_leftmost_is_the_client() {
    let trusted = ["10.0.0.0/8"];
    assert_eq!(behind(&trusted, &["10.9.9.9, 10.8.8.8"]), ip("10.9.9.9"));
    assert_eq!(behind(&trusted, &[]), ip("10.0.0.5"), "no header: the peer");
}

#[test]
fn an_unparsable_entry_stops_at_the_last_trusted_hop() {
    let trusted = ["10.0.0.0/8"];
    let cases = [
        (vec!["203.0.113.9, unknown"], "10.0.0.5"),
        (vec!["203.0.113.9, unknown, 10.7.7.7"], "10.7.7.7"),
        (vec!["203.0.113.9,, 10.7.7.7"], "10.7.7.7"),
        (vec!["203.0.113.9, 10.7.7.7, "], "10.0.0.5"),
        (vec![""], "10.0.0.5"),
        (vec!["203.0.113.9, _hidden"], "10.0.0.5"),
        (vec!["203.0.113.9, 10.7.7.7/8"], "10.0.0.5"),
        (vec!["203.0.113.9", "garbage", "10.7.7.7"], "10.7.7.7"),
    ];
    for (values, expected) in cases {
        assert_eq!(behind(&trusted, &values), ip(expected), "{values:?}");
    }
}

#[test]
fn a_value_that_is_not_text_stops_the_walk() {
    let mut headers = forwarded_for(&["203.0.113.9"]);
    headers.append(
        X_FORWARDED_FOR,
        HeaderValue::from_bytes(b"10.7.7.7\xff").unwrap(),
    );
    let trusted = networks(&["10.0.0.0/8"]);
    assert_eq!(
        client_address(ip("10.0.0.5"), &headers, &trusted),
        ip("10.0.0.5")
    );
}

#[test]
fn several_headers_read_as_one_list_in_order() {
    let trusted = ["10.0.0.0/8"];
    assert_eq!(
        behind(&trusted, &["198.51.100.1, 203.0.113.9", "10.7.7.7"]),
        ip("203.0.113.9")
    );
    assert_eq!(
        behind(&trusted, &["198.51.100.1", "203.0.113.9, 10.7.7.7"]),
        ip("203.0.113.9")
    );
    assert_eq!(
        behind(&trusted, &["198.51.100.1", "10.6.6.6", "10.7.7.7"]),
        ip("198.51.100.1")
    );
}

#[test]
fn entries_may_carry_a_port_or_brackets() {
    let trusted = ["10.0.0.0/8"];
    let cases = [
        ("203.0.113.9:4711", "203.0.113.9"),
        ("2001:db8::9", "2001:db8::9"),
        ("[2001:db8::9]", "2001:db8::9"),
        ("[2001:db8::9]:443", "2001:db8::9"),
        ("203.0.113.9, 10.7.7.7:80", "203.0.113.9"),
    ];
    for (value, expected) in cases {
        assert_eq!(behind(&trusted, &[value]), ip(expected), "{value}");
    }
}

#[test]
fn ipv4_mapped_addresses_are_ipv4() {
    let trusted = networks(&["10.0.0.0/8"]);
    let mapped_proxy = ip("::ffff:10.0.0.5");
    let headers = forwarded_for(&["::ffff:203.0.113.9"]);
    assert_eq!(
        client_address(mapped_proxy, &headers, &trusted),
        ip("203.0.113.9")
    );
    let headers = forwarded_for(&["203.0.113.9, ::ffff:10.7.7.7"]);
    assert_eq!(
        client_address(mapped_proxy, &headers, &trusted),
        ip("203.0.113.9")
    );
    assert_eq!(
        client_address(ip("::ffff:198.51.100.1"), &headers, &[]),
        ip("198.51.100.1")
    );
}

#[test]
fn clients_are_ipv4_addresses_and_ipv6_networks_of_64() {
    let key = |text: &str| client_key(ip(text));
    assert_eq!(key("192.0.2.1"), "192.0.2.1");
    assert_eq!(key("::ffff:192.0.2.1"), "192.0.2.1");
    assert_eq!(key("2001:db8:1:2::1"), "2001:db8:1:2::/64");
    assert_eq!(key("2001:db8:1:2:ffff:ffff:ffff:ffff"), "2001:db8:1:2::/64");
    assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
    assert_ne!(key("192.0.2.1"), key("192.0.2.2"));
    assert_eq!(key("::1"), "::/64");
    let network = |text: &str| ClientNetwork::of(ip(text));
    assert_eq!(network("2001:db8:1:2::1"), network("2001:db8:1:2:ffff::9"));
    assert_eq!(network("::ffff:192.0.2.1"), network("192.0.2.1"));
}
