use super::*;

fn kept(now: u64) -> LogoutReturn {
    LogoutReturn::new("corp", Some(&RedirectTarget::parse(Some("/bye"), &[])), now)
}

#[test]
fn the_state_sent_is_random_and_long() {
    let a = kept(1000);
    let b = kept(1000);
    assert_ne!(a.state, b.state);
    assert_eq!(URL_SAFE_NO_PAD.decode(&a.state).unwrap().len(), 32);
}

#[test]
fn the_own_state_confirms_and_hands_back_provider_and_rd() {
    let way_back = kept(1000);
    let state = way_back.state.clone();

    let verdict = LogoutReturn::verdict(Some(way_back), Some(&state), 1100);

    assert_eq!(
        verdict,
        Verdict::Confirmed {
            provider: "corp".into(),
            rd: Some("/bye".into())
        }
    );
}

#[test]
fn no_state_is_the_plain_page_even_with_a_cookie() {
    assert_eq!(
        LogoutReturn::verdict(Some(kept(1000)), None, 1100),
        Verdict::NoState
    );
    assert_eq!(LogoutReturn::verdict(None, None, 1100), Verdict::NoState);
}

#[test]
fn a_wrong_missing_or_stale_state_is_trusted_for_nothing() {
    let way_back = kept(1000);
    let state = way_back.state.clone();
    let mut wrong = state.clone();
    wrong.pop();
    wrong.push(if state.ends_with('A') { 'B' } else { 'A' });

    assert_eq!(
        LogoutReturn::verdict(Some(kept(1000)), Some(&wrong), 1100),
        Verdict::Mismatch
    );
    assert_eq!(
        LogoutReturn::verdict(None, Some(&state), 1100),
        Verdict::Mismatch
    );
    assert_eq!(
        LogoutReturn::verdict(Some(kept(1000)), Some(""), 1100),
        Verdict::Mismatch
    );
    let late = 1000 + RETURN_LIFETIME.as_secs() + 1;
    assert_eq!(
        LogoutReturn::verdict(Some(way_back), Some(&state), late),
        Verdict::Mismatch
    );
}

#[test]
fn only_the_gateway_opens_the_cookie_it_sealed() {
    let codec = SessionCodec::new(&[7u8; 32], &[]);
    let other = SessionCodec::new(&[8u8; 32], &[]);
    let way_back = kept(1000);
    let sealed = codec.seal(LOGOUT_PURPOSE, &serde_json::to_vec(&way_back).unwrap());

    let opened = LogoutReturn::open(&codec, &sealed).unwrap();

    assert_eq!(opened.state, way_back.state);
    assert!(LogoutReturn::open(&other, &sealed).is_none());
    let flow_sealed = codec.seal(
        b"portcullis flow v2",
        &serde_json::to_vec(&way_back).unwrap(),
    );
    assert!(LogoutReturn::open(&codec, &flow_sealed).is_none());
}
