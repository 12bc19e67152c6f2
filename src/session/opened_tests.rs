//! The cookie store's opened-session cache, through the store's own `open`: what it returns
//! is only ever what the codec opened from exactly that value.

use super::CAPACITY;
use crate::identity::Identity;
use crate::session::cookie_store::CookieStore;
use crate::session::{Session, SessionCodec};

const NOW: u64 = 1_700_000_000;

fn session(user: &str, lifetime: u64) -> Session {
    Session::new(
        Identity {
            user: user.to_owned(),
            email: Some(format!("{user}@example.com")),
            preferred_username: None,
            groups: vec!["staff".to_owned()],
            provider: "dev".to_owned(),
        },
        NOW,
        lifetime,
    )
}

fn store() -> (CookieStore, SessionCodec) {
    let codec = SessionCodec::new(&[7u8; 32], &[]);
    (CookieStore::new(codec.clone(), false), codec)
}

#[test]
fn a_value_opened_once_is_remembered_and_gives_the_same_session() {
    let (store, codec) = store();
    let alice = session("alice", 3600);
    let sealed = alice.seal(&codec).expect("seal");
    let first = store.open(&sealed, NOW).expect("opens");
    assert_eq!(store.opened.len(), 1);
    let second = store.open(&sealed, NOW + 1).expect("opens again");
    assert_eq!(first, second);
    assert_eq!(*second.0, alice);
    assert_eq!(store.opened.len(), 1);
    // Each request's copy comes with the identity headers' values, made once.
    let values = second.0.header_values().expect("made when remembered");
    assert_eq!(
        values.groups.as_ref().map(|value| value.to_str().unwrap()),
        Some("staff")
    );
}

#[test]
fn a_changed_byte_is_never_answered_from_memory() {
    let (store, codec) = store();
    let sealed = session("alice", 3600).seal(&codec).expect("seal");
    store.open(&sealed, NOW).expect("opens");
    // The same tail (the map's key) with another byte at the front, and with a byte
    // missing or added: each is opened afresh, and fails.
    let mut front = sealed.clone().into_bytes();
    front[0] = if front[0] == b'A' { b'B' } else { b'A' };
    let front = String::from_utf8(front).expect("ascii");
    for forged in [front, sealed[1..].to_owned(), format!("A{sealed}")] {
        assert!(store.open(&forged, NOW).is_none(), "{forged}");
    }
    assert_eq!(store.opened.len(), 1);
}

#[test]
fn a_remembered_session_still_expires() {
    let (store, codec) = store();
    let sealed = session("alice", 60).seal(&codec).expect("seal");
    store.open(&sealed, NOW).expect("opens");
    assert!(store.open(&sealed, NOW + 59).is_some());
    assert!(store.open(&sealed, NOW + 60).is_none());
}

#[test]
fn values_that_do_not_open_are_not_remembered() {
    let (store, _) = store();
    let other = SessionCodec::new(&[8u8; 32], &[]);
    let sealed = session("mallory", 3600).seal(&other).expect("seal");
    for _ in 0..3 {
        assert!(store.open(&sealed, NOW).is_none());
    }
    assert!(store.open("not a sealed value at all", NOW).is_none());
    assert_eq!(store.opened.len(), 0);
}

#[test]
fn the_cache_stays_within_its_capacity() {
    let (store, codec) = store();
    let sealed: Vec<String> = (0..CAPACITY + 50)
        .map(|i| {
            session(&format!("user{i}"), 3600)
                .seal(&codec)
                .expect("seal")
        })
        .collect();
    for value in &sealed {
        store.open(value, NOW).expect("opens");
        assert!(store.opened.len() <= CAPACITY);
    }
    // Evicted or not, every value still opens to its own session.
    for (i, value) in sealed.iter().enumerate() {
        let (opened, _) = store.open(value, NOW).expect("opens");
        assert_eq!(opened.identity.user, format!("user{i}"));
    }
}

#[test]
fn expired_sessions_leave_first_when_the_cache_is_full() {
    let (store, codec) = store();
    for i in 0..CAPACITY {
        let value = session(&format!("short{i}"), 10)
            .seal(&codec)
            .expect("seal");
        store.open(&value, NOW).expect("opens");
    }
    let long = session("long", 3600).seal(&codec).expect("seal");
    store.open(&long, NOW + 20).expect("opens");
    assert_eq!(store.opened.len(), 1, "the expired ones were dropped");
}

#[test]
fn a_previous_secret_is_remembered_as_such() {
    let old = SessionCodec::new(&[1u8; 32], &[]);
    let codec = SessionCodec::new(&[2u8; 32], &[&[1u8; 32]]);
    let store = CookieStore::new(codec, false);
    let sealed = session("alice", 3600).seal(&old).expect("seal");
    assert!(store.open(&sealed, NOW).expect("opens").1);
    assert!(store.open(&sealed, NOW).expect("opens again").1);
}
