use super::*;
use crate::identity::Identity;

fn session(id: &str, sid: Option<&str>, issued_at: u64) -> Session {
    let identity = Identity {
        user: "alice".to_owned(),
        email: None,
        preferred_username: None,
        groups: Vec::new(),
        provider: "op".to_owned(),
    };
    let mut session = Session::new(identity, issued_at, 3600);
    session.id = id.to_owned();
    session.sid = sid.map(str::to_owned);
    session
}

#[tokio::test]
async fn a_signed_out_session_is_ended_and_another_is_not() {
    let revocations = Revocations::in_memory();
    let (a, b) = (session("a", None, 100), session("b", None, 100));
    revocations.end_session(&a, 200).await.unwrap();
    assert_eq!(revocations.verdict(&a, 201).await.unwrap(), Verdict::Ended);
    assert_eq!(revocations.verdict(&b, 201).await.unwrap(), Verdict::Live);
    // Past the session's expiry the entry is gone (the session is expired anyway).
    assert_eq!(revocations.verdict(&a, 3700).await.unwrap(), Verdict::Live);
}

#[tokio::test]
async fn a_logout_by_sub_ends_sessions_issued_before_it_only() {
    let revocations = Revocations::in_memory();
    let before = session("a", None, 100);
    let after = session("b", None, 301);
    revocations
        .end_sub("op", "alice", 300, Duration::from_secs(3600))
        .await
        .unwrap();
    assert_eq!(
        revocations.verdict(&before, 302).await.unwrap(),
        Verdict::Ended
    );
    assert_eq!(
        revocations.verdict(&after, 302).await.unwrap(),
        Verdict::Live
    );
    let mut elsewhere = session("c", None, 100);
    elsewhere.identity.provider = "other".to_owned();
    assert_eq!(
        revocations.verdict(&elsewhere, 302).await.unwrap(),
        Verdict::Live
    );
}

#[tokio::test]
async fn a_logout_by_sid_ends_that_sid_only() {
    let revocations = Revocations::in_memory();
    let (one, two) = (session("a", Some("s1"), 100), session("b", Some("s2"), 100));
    revocations
        .end_sid("op", "s1", 300, Duration::from_secs(3600))
        .await
        .unwrap();
    assert_eq!(
        revocations.verdict(&one, 302).await.unwrap(),
        Verdict::Ended
    );
    assert_eq!(revocations.verdict(&two, 302).await.unwrap(), Verdict::Live);
}

#[tokio::test]
async fn older_generations_are_superseded() {
    let revocations = Revocations::in_memory();
    let old = session("a", None, 100);
    let mut renewed = old.clone();
    renewed.generation = 1;
    revocations.supersede(&renewed, 200).await.unwrap();
    assert_eq!(
        revocations.verdict(&old, 201).await.unwrap(),
        Verdict::Superseded { current: 1 }
    );
    assert_eq!(
        revocations.verdict(&renewed, 201).await.unwrap(),
        Verdict::Live
    );
}

#[test]
fn keys_name_no_secret_and_do_not_collide() {
    assert_ne!(key("sid", &["ab", "c"]), key("sid", &["a", "bc"]));
    assert!(!key("ended", &["the-session-id"]).contains("the-session-id"));
}
