use super::*;

#[test]
fn a_trailing_slash_is_named_with_the_fix_on_each_side() {
    let advice = issuer_advice("https://sso.example.com/", "https://sso.example.com");

    assert!(advice.contains("trailing `/`"), "{advice}");
    assert!(
        advice.contains("issuer = \"https://sso.example.com/\""),
        "{advice}"
    );
    assert!(advice.contains("provider's own issuer setting"), "{advice}");
}

#[test]
fn another_issuer_is_not_called_a_trailing_slash() {
    let advice = issuer_advice("https://other.example.com", "https://sso.example.com");

    assert!(!advice.contains("trailing"), "{advice}");
    assert!(
        advice.contains("issuer = \"https://other.example.com\""),
        "{advice}"
    );
}

#[test]
fn the_librarys_issuer_refusal_is_read_back() {
    let err: openidconnect::DiscoveryError<std::io::Error> =
        openidconnect::DiscoveryError::Validation(
            "unexpected issuer URI `https://a.example/` (expected `https://a.example`)".into(),
        );

    assert_eq!(
        issuer_mismatch(&err),
        Some(("https://a.example/".into(), "https://a.example".into()))
    );
    let other: openidconnect::DiscoveryError<std::io::Error> =
        openidconnect::DiscoveryError::Validation("something else".into());
    assert_eq!(issuer_mismatch(&other), None);
}

#[test]
fn an_hmac_refusal_gets_the_advice_and_others_do_not() {
    let hmac = ClaimsVerificationError::SignatureVerification(
        SignatureVerificationError::DisallowedAlg("algorithm `HS512` is not one of: …".into()),
    );
    let advice = algorithm_advice(&hmac).unwrap();
    assert!(
        advice.contains("RS256") && advice.contains("HS512"),
        "{advice}"
    );
    assert!(algorithm_advice(&ClaimsVerificationError::Expired("x".into())).is_none());
}
