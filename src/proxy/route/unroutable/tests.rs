use super::*;

#[test]
fn dot_segments_in_any_disguise_are_found() {
    let hidden = [
        "/a/../b",
        "/a/./b",
        "/..",
        "/a/..",
        "/a/...",
        "/a/..;x=y/b",
        "/a/..;/b",
        "/a/.. /b",
        "/a/..%20/b",
        "/a/..%00/b",
        "/a/%2e%2e/b",
        "/a/%2E%2e/b",
        "/a%2f..%2fb",
        "/a%5c..%5cb",
        "/a\\..\\b",
        "/a/%252e%252e/b",
        "/a/%25252e%25252e/b",
        "/a/%u002e%u002e/b",
        "/a/%U002E%U002E/b",
        "/a/%c0%ae%c0%ae/b",
        "/a/%e0%80%ae/b",
        "/a/%c0%2e/b",
        "/a/%ef%bc%8e%ef%bc%8e/b",
        "/a/\u{FF0E}\u{FF0E}/b",
        "/a/%e2%80%a5/b",
        "/a/%e2%80%a4%e2%80%a4/b",
        "/a%ef%bc%8f..%ef%bc%8fb",
        "/a/%25%32%65%25%32%65/b",
    ];
    for path in hidden {
        assert!(could_hide_a_dot_segment(path), "{path:?}");
    }
}

#[test]
fn ordinary_paths_are_routable() {
    let plain = [
        "/",
        "/a/b",
        "/a/..x/.y",
        "/a/b.c",
        "/.well-known/x",
        "/a/%2e%2ex",
        "/a%2Fb",
        "/caf%C3%A9",
        "/a;b/c",
        "/100%25",
        "/a%zz",
        "/a/%u00zz",
    ];
    for path in plain {
        assert!(!could_hide_a_dot_segment(path), "{path:?}");
    }
}

#[test]
fn decoding_handles_malformed_escapes() {
    assert_eq!(percent_decode(b"/a%2Fb%2f"), b"/a/b/");
    assert_eq!(percent_decode(b"/a%zz%4"), b"/a%zz%4");
    assert_eq!(percent_decode(b"/%u002e"), b"/%u002e");
    assert_eq!(percent_decode_all(b"/%u002e%u00"), b"/.%u00");
    assert_eq!(percent_decode_all(b"/%ud800"), b"/%ud800");
}
