use super::*;
use crate::providers::oidc::DiscoveryError;
use crate::providers::token_endpoint::read_answer;
use reqwest::StatusCode;

/// Each token-endpoint answer to a refresh, and whether the session must end: only a grant
/// or client the provider refuses does; an outage, an error page, garbage or
/// `temporarily_unavailable` keep it.
#[test]
fn only_a_refused_grant_or_client_ends_the_session() {
    for (status, body, ends) in [
        (
            StatusCode::BAD_REQUEST,
            &br#"{"error":"invalid_grant"}"#[..],
            true,
        ),
        (
            StatusCode::BAD_REQUEST,
            br#"{"error":"invalid_grant","error_description":"token reused"}"#,
            true,
        ),
        (
            StatusCode::UNAUTHORIZED,
            br#"{"error":"invalid_client"}"#,
            true,
        ),
        (
            StatusCode::BAD_REQUEST,
            br#"{"error":"unauthorized_client"}"#,
            true,
        ),
        // GitHub answers errors with 200.
        (StatusCode::OK, br#"{"error":"invalid_grant"}"#, true),
        (
            StatusCode::SERVICE_UNAVAILABLE,
            br#"{"error":"temporarily_unavailable"}"#,
            false,
        ),
        (
            StatusCode::BAD_REQUEST,
            br#"{"error":"temporarily_unavailable"}"#,
            false,
        ),
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            br#"{"error":"server_error"}"#,
            false,
        ),
        (StatusCode::BAD_GATEWAY, b"<html>Bad Gateway</html>", false),
        (StatusCode::SERVICE_UNAVAILABLE, b"", false),
        (StatusCode::OK, b"this is not {json", false),
        (StatusCode::OK, br#"{"access_token":""}"#, false),
        (StatusCode::UNAUTHORIZED, b"Unauthorized", false),
    ] {
        let err = RefreshError::TokenEndpoint(read_answer(status, body).unwrap_err());
        assert_eq!(
            err.ends_session(),
            ends,
            "{status} {}",
            String::from_utf8_lossy(body)
        );
    }
}

/// A request that never got an answer (refused connection, timeout) is an outage.
#[test]
fn a_token_endpoint_that_cannot_be_reached_keeps_the_session() {
    let unreachable = || reqwest::Client::new().get("not a url").build().unwrap_err();
    for err in [
        TokenEndpointError::Request(unreachable()),
        TokenEndpointError::Body(unreachable()),
    ] {
        assert!(!RefreshError::TokenEndpoint(err).ends_session());
    }
}

/// An answer that cannot be accepted ends the session; one the gateway could not check yet
/// (keys or userinfo unavailable, discovery pending) does not.
#[test]
fn an_unacceptable_answer_ends_the_session_an_unanswered_check_does_not() {
    let invalid = || LoginError::InvalidIdToken("iss is not the issuer".into());
    let cases = [
        (
            RefreshError::IdToken(IdTokenError::Invalid(invalid())),
            true,
        ),
        (RefreshError::SubjectChanged, true),
        (
            RefreshError::Rejected(LoginError::Userinfo("its sub differs".into())),
            true,
        ),
        (
            RefreshError::Rejected(LoginError::NotAuthorized("hd".into())),
            true,
        ),
        (
            RefreshError::IdToken(IdTokenError::KeysUnavailable(DiscoveryError::Status(503))),
            false,
        ),
        (
            RefreshError::Userinfo(LoginError::Userinfo("503 from userinfo".into())),
            false,
        ),
        (RefreshError::NotDiscovered, false),
    ];
    for (err, ends) in cases {
        assert_eq!(err.ends_session(), ends, "{err:?}");
    }
}
