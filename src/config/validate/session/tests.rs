use super::*;

#[test]
fn secrets_decode_as_hex_or_base64() {
    let bytes: Vec<u8> = (0..32).collect();
    let url_safe_bytes: Vec<u8> = [0xfb, 0xff, 0xbf].repeat(11);
    let cases: [(&str, Option<Vec<u8>>); 11] = [
        (
            "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
            Some(bytes.clone()),
        ),
        (
            "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F",
            Some(bytes.clone()),
        ),
        (
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
            Some(bytes.clone()),
        ),
        (
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",
            Some(bytes.clone()),
        ),
        (
            " AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8\n",
            Some(bytes.clone()),
        ),
        (
            "+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/",
            Some(url_safe_bytes.clone()),
        ),
        (
            "-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_",
            Some(url_safe_bytes),
        ),
        ("abcd", Some(vec![0xab, 0xcd])),
        ("abc", Some(vec![0x69, 0xb7])),
        ("not a secret!", None),
        ("", Some(Vec::new())),
    ];
    for (text, expected) in cases {
        assert_eq!(decode_secret(text), expected, "{text:?}");
    }
}

#[test]
fn cookie_domains_are_domain_names() {
    let cases = [
        (".example.com", Some("example.com")),
        ("example.com", Some("example.com")),
        (".Example.COM", Some("example.com")),
        ("localhost", Some("localhost")),
        ("", None),
        (".", None),
        ("..example.com", None),
        ("*.example.com", None),
        ("127.0.0.1", None),
        (".127.0.0.1", None),
        ("[::1]", None),
        ("example.com:443", None),
        ("https://example.com", None),
        ("example.com/", None),
    ];
    for (value, expected) in cases {
        assert_eq!(
            parse_cookie_domain(value).ok().as_deref(),
            expected,
            "{value:?}"
        );
    }
}

#[test]
fn cookie_domain_covers_the_host_and_its_subdomains_only() {
    let cases = [
        ("example.com", "example.com", true),
        ("example.com", "auth.example.com", true),
        ("example.com", "a.b.example.com", true),
        ("example.com", "evil-example.com", false),
        ("example.com", "example.com.evil.org", false),
        ("auth.example.com", "example.com", false),
    ];
    for (domain, host, covered) in cases {
        assert_eq!(domain_covers(domain, host), covered, "{domain} {host}");
    }
}

#[test]
fn cookie_names_are_rfc_6265_tokens() {
    let cases = [
        ("_portcullis", true),
        ("__Host-gate", true),
        ("a.b~c|d", true),
        ("", false),
        ("my cookie", false),
        ("a=b", false),
        ("a;b", false),
        ("caf\u{e9}", false),
    ];
    for (name, ok) in cases {
        assert_eq!(is_token(name), ok, "{name:?}");
    }
}
