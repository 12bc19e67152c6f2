//! Properties of sealed cookies (DESIGN §5 item 7), over arbitrary sessions, plaintexts and
//! purposes: sealing then opening is the identity; any single bit flipped in the sealed text,
//! another purpose or a foreign secret is "signed out" (`None`, no panic); a cookie sealed
//! under a previous secret still opens.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use proptest::prelude::*;

use super::{Session, SessionCodec, SESSION_PURPOSE};
use crate::identity::Identity;

fn codec() -> SessionCodec {
    SessionCodec::new(&[7u8; 32], &[])
}

/// Every text that differs from `sealed` in exactly one bit and is still UTF-8.
fn single_bit_flips(sealed: &str) -> impl Iterator<Item = String> + '_ {
    (0..sealed.len()).flat_map(move |index| {
        (0..8).filter_map(move |bit| {
            let mut bytes = sealed.as_bytes().to_vec();
            bytes[index] ^= 1 << bit;
            String::from_utf8(bytes).ok()
        })
    })
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof!["[a-z0-9@._-]{0,24}", any::<String>(), Just(String::new()),]
}

prop_compose! {
    fn session()(
        user in text(),
        email in proptest::option::of(text()),
        preferred_username in proptest::option::of(text()),
        groups in proptest::collection::vec(text(), 0..4),
        provider in text(),
        id_token in proptest::option::of(text()),
        access_token in proptest::option::of(text()),
        issued_at in any::<u64>(),
        lifetime in any::<u64>(),
        checked_at in any::<u64>(),
    ) -> Session {
        Session {
            id_token,
            access_token,
            checked_at,
            ..Session::new(
                Identity { user, email, preferred_username, groups, provider },
                issued_at,
                lifetime,
            )
        }
    }
}

proptest! {
    #[test]
    fn sealing_then_opening_is_identity(
        purpose in proptest::collection::vec(any::<u8>(), 0..40),
        plaintext in proptest::collection::vec(any::<u8>(), 0..600),
    ) {
        let sealed = codec().seal(&purpose, &plaintext);
        prop_assert_eq!(codec().open(&purpose, &sealed), Some(plaintext));
    }

    #[test]
    fn another_purpose_opens_nothing(
        purpose in proptest::collection::vec(any::<u8>(), 0..40),
        other in proptest::collection::vec(any::<u8>(), 0..40),
        plaintext in proptest::collection::vec(any::<u8>(), 0..100),
    ) {
        prop_assume!(purpose != other);
        let sealed = codec().seal(&purpose, &plaintext);
        prop_assert_eq!(codec().open(&other, &sealed), None);
    }

    #[test]
    fn previous_secrets_open_and_foreign_ones_do_not(
        current in any::<[u8; 32]>(),
        previous in any::<[u8; 32]>(),
        foreign in any::<[u8; 32]>(),
        plaintext in proptest::collection::vec(any::<u8>(), 0..100),
    ) {
        prop_assume!(current != previous && foreign != current && foreign != previous);
        let rotated = SessionCodec::new(&current, &[&previous]);
        let old_cookie = SessionCodec::new(&previous, &[]).seal(b"p", &plaintext);
        prop_assert_eq!(rotated.open(b"p", &old_cookie), Some(plaintext.clone()));
        let foreign_cookie = SessionCodec::new(&foreign, &[]).seal(b"p", &plaintext);
        prop_assert_eq!(rotated.open(b"p", &foreign_cookie), None);
        // What the rotated gateway seals, a gateway that only knows the old secret cannot open.
        let new_cookie = rotated.seal(b"p", &plaintext);
        prop_assert_eq!(SessionCodec::new(&previous, &[]).open(b"p", &new_cookie), None);
    }

    #[test]
    fn arbitrary_cookie_values_never_panic(value in any::<String>(), now in any::<u64>()) {
        prop_assert!(Session::open(&codec(), &value, now).is_none());
        prop_assert!(codec().open(SESSION_PURPOSE, &value).is_none());
    }
}

proptest! {
    // Each case opens every one-bit variant of its cookie, hundreds of openings.
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn any_single_bit_flip_is_signed_out(
        purpose in proptest::collection::vec(any::<u8>(), 0..16),
        plaintext in proptest::collection::vec(any::<u8>(), 0..48),
    ) {
        let sealed = codec().seal(&purpose, &plaintext);
        for flipped in single_bit_flips(&sealed) {
            prop_assert_eq!(codec().open(&purpose, &flipped), None, "{:?}", flipped);
        }
        let bytes = URL_SAFE_NO_PAD.decode(&sealed).unwrap();
        for index in 0..bytes.len() {
            for bit in 0..8 {
                let mut tampered = bytes.clone();
                tampered[index] ^= 1 << bit;
                let tampered = URL_SAFE_NO_PAD.encode(&tampered);
                prop_assert_eq!(codec().open(&purpose, &tampered), None);
            }
        }
    }

    #[test]
    fn sessions_round_trip_while_valid_and_bit_flips_sign_out(session in session()) {
        let sealed = session.seal(&codec()).unwrap();
        let now = session.expires_at.saturating_sub(1);
        let valid = now < session.expires_at && session.issued_at <= now.saturating_add(60);
        let opened = Session::open(&codec(), &sealed, now);
        prop_assert_eq!(opened.is_some(), valid);
        if let Some(opened) = opened {
            prop_assert_eq!(
                serde_json::to_value(&opened).unwrap(),
                serde_json::to_value(&session).unwrap()
            );
        }
        prop_assert!(Session::open(&codec(), &sealed, session.expires_at).is_none());
        for flipped in single_bit_flips(&sealed).step_by(7) {
            prop_assert!(Session::open(&codec(), &flipped, now).is_none(), "{:?}", flipped);
        }
    }
}
