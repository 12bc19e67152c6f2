//! The cases where the gateway's three former decoders (of `rd`, of the `skip_auth` path, of
//! the routing checks) disagreed, each with the policy that now decides it.

use super::*;

#[test]
fn hex_digits_are_read_in_either_case_by_every_policy() {
    for input in [&b"/a%2Fb"[..], b"/a%2fb"] {
        assert_eq!(decode(input), b"/a/b");
        assert_eq!(decode_with_iis(input), b"/a/b");
        assert_eq!(decode_strictly(input, b"").as_deref(), Some(&b"/a/b"[..]));
        assert_eq!(decode_strictly(input, b"/"), None);
        assert_eq!(decode_keeping(input, b"/"), input);
    }
    assert_eq!(decode(b"/%41%61"), b"/Aa");
}

#[test]
fn a_malformed_escape_is_kept_leniently_and_refused_strictly() {
    for input in [
        &b"/a%zz"[..],
        b"/a%4",
        b"/a%",
        b"/a%%41",
        b"/a%g1",
        b"/a%1g",
    ] {
        assert_eq!(decode_strictly(input, b""), None, "{input:?}");
    }
    assert_eq!(decode(b"/a%zz"), b"/a%zz");
    assert_eq!(decode(b"/a%4"), b"/a%4");
    assert_eq!(decode(b"/a%"), b"/a%");
    assert_eq!(decode(b"/a%%41"), b"/a%A");
    assert_eq!(decode_with_iis(b"/a%zz%"), b"/a%zz%");
}

#[test]
fn non_ascii_bytes_are_no_hex_digits() {
    // `char::from(0xB2)` is `²`, a digit to some Unicode-aware readers but not a hex digit.
    assert_eq!(decode(b"/%\xB2\xB2"), b"/%\xB2\xB2");
    assert_eq!(decode_strictly(b"/%\xB2\xB2", b""), None);
}

#[test]
fn iis_escapes_are_decoded_only_by_the_iis_policy() {
    for input in [&b"/%u002e"[..], b"/%U002E", b"/%u002E"] {
        assert_eq!(decode_with_iis(input), b"/.", "{input:?}");
        assert_eq!(decode(input), input, "{input:?}");
        assert_eq!(decode_strictly(input, b""), None, "{input:?}");
    }
    assert_eq!(decode_with_iis(b"/%u00e9"), "/é".as_bytes());
    assert_eq!(decode_with_iis(b"/%u002e%u00"), b"/.%u00");
    assert_eq!(decode_with_iis(b"/%ud800"), b"/%ud800");
    assert_eq!(decode_with_iis(b"/%u00zz"), b"/%u00zz");
}

#[test]
fn kept_and_refused_bytes_apply_to_escapes_only() {
    assert_eq!(decode_keeping(b"/a/b%2Fc%5cd%41", b"/\\"), b"/a/b%2Fc%5cdA");
    assert_eq!(decode_strictly(b"/a/b.c", b"/."), Some(b"/a/b.c".to_vec()));
    assert_eq!(decode_strictly(b"/a%2eb", b"/."), None);
}

#[test]
fn every_policy_decodes_once() {
    assert_eq!(decode(b"/%252f"), b"/%2f");
    assert_eq!(decode_with_iis(b"/%u0025u002e"), b"/%u002e");
    assert_eq!(
        decode_strictly(b"/%252f", b"/").as_deref(),
        Some(&b"/%2f"[..])
    );
}
