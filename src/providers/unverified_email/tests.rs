use super::*;

fn email() -> Option<String> {
    Some("carol@example.com".to_owned())
}

#[test]
fn without_the_opt_in_only_a_verified_address_counts() {
    assert_eq!(
        email_that_counts(email(), Some(true), false),
        (email(), None)
    );
    assert_eq!(
        email_that_counts(email(), None, false),
        (None, Some(EmailDrop::NoVerifiedClaim))
    );
    assert_eq!(
        email_that_counts(email(), Some(false), false),
        (None, Some(EmailDrop::NotVerified))
    );
    assert_eq!(email_that_counts(None, Some(true), false), (None, None));
}

#[test]
fn the_opt_in_counts_an_address_without_a_claim_never_a_false_one() {
    assert_eq!(email_that_counts(email(), None, true), (email(), None));
    assert_eq!(
        email_that_counts(email(), Some(true), true),
        (email(), None)
    );
    assert_eq!(
        email_that_counts(email(), Some(false), true),
        (None, Some(EmailDrop::NotVerified))
    );
}

#[test]
fn the_explanation_names_the_claim_and_the_option() {
    let text = EmailDrop::NoVerifiedClaim.explain("glewlwyd");
    assert!(text.contains("`email_verified`"), "{text}");
    assert!(text.contains("allow_unverified_email = true"), "{text}");
    assert!(text.contains("\"glewlwyd\""), "{text}");
}
