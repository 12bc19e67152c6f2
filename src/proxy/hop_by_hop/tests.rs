use super::*;

/// `is_hop_by_hop` names exactly the fields of `HOP_BY_HOP`, whatever case they came in.
#[test]
fn the_match_names_exactly_the_listed_fields() {
    for name in HOP_BY_HOP.map(HeaderName::from_static) {
        assert!(is_hop_by_hop(&name), "{name}");
        let upper = HeaderName::from_bytes(name.as_str().to_ascii_uppercase().as_bytes()).unwrap();
        assert!(is_hop_by_hop(&upper), "{upper}");
    }
    for other in [
        "host",
        "cookie",
        "content-length",
        "x-forwarded-for",
        "connections",
        "connectio",
        "t",
        "tee",
        "trailers",
        "upgrade-insecure-requests",
        "proxy-authorization-x",
        "keepalive",
        "http2_settings",
    ] {
        let name = HeaderName::from_static(other);
        assert_eq!(
            is_hop_by_hop(&name),
            HOP_BY_HOP.contains(&name.as_str()),
            "{other}"
        );
        assert!(!is_hop_by_hop(&name), "{other}");
    }
}
