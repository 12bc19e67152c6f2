use super::*;
use crate::session::Session;

fn alice() -> Identity {
    Identity {
        user: "alice".to_owned(),
        email: Some("alice@example.com".to_owned()),
        preferred_username: None,
        groups: vec![
            "staff".to_owned(),
            "eng,admins".to_owned(),
            "ops ".to_owned(),
            "dev".to_owned(),
        ],
        provider: "dev".to_owned(),
    }
}

fn text(value: &Option<HeaderValue>) -> Option<&str> {
    value.as_ref().map(|value| value.to_str().unwrap())
}

#[test]
fn each_value_is_checked_once_and_left_out_when_it_would_read_otherwise() {
    let values = HeaderValues::new(&alice());
    assert_eq!(text(&values.user), Some("alice"));
    assert_eq!(text(&values.email), Some("alice@example.com"));
    assert_eq!(text(&values.preferred_username), None);
    assert_eq!(text(&values.groups), Some("staff,dev"));
    assert_eq!(text(&values.provider), Some("dev"));

    let mut bad = alice();
    bad.user = "alice\r\nX-Injected: 1".to_owned();
    bad.email = Some(" alice@example.com".to_owned());
    bad.groups = vec!["ops ".to_owned()];
    let values = HeaderValues::new(&bad);
    assert_eq!(text(&values.user), None);
    assert_eq!(text(&values.email), None);
    assert_eq!(text(&values.groups), None, "no group is left");
}

/// The values kept are used only for the identity they were made from: once a membership
/// check changes the groups (or anything else), the session's values are made again.
#[test]
fn kept_values_are_never_those_of_another_identity() {
    let mut session = Session::new(alice(), 0, 3600);
    assert!(session.header_values().is_none(), "none kept yet");
    session.header_values = Remembered::made_for(&session.identity);
    let kept = session.header_values().expect("kept for this identity");
    assert_eq!(text(&kept.groups), Some("staff,dev"));

    let copy = session.clone();
    assert!(copy.header_values().is_some(), "copies share them");

    let mut changed = session.clone();
    changed.identity.groups = vec!["staff".to_owned()];
    assert!(changed.header_values().is_none(), "groups changed");
    let mut changed = session.clone();
    changed.identity.user = "bob".to_owned();
    assert!(changed.header_values().is_none(), "user changed");
    let mut changed = session;
    changed.identity.provider = "other".to_owned();
    assert!(changed.header_values().is_none(), "provider changed");
}

/// They are no part of the session's value: equal either way, and never sealed.
#[test]
fn kept_values_are_neither_compared_nor_sealed() {
    let plain = Session::new(alice(), 0, 3600);
    let remembered = Session {
        header_values: Remembered::made_for(&plain.identity),
        ..plain.clone()
    };
    assert_eq!(plain, remembered);
    assert_eq!(
        serde_json::to_value(&plain).unwrap(),
        serde_json::to_value(&remembered).unwrap()
    );
    let json = serde_json::to_string(&remembered).unwrap();
    assert!(!json.contains("header_values"), "{json}");
    let read: Session = serde_json::from_str(&json).unwrap();
    assert!(read.header_values().is_none());
}
