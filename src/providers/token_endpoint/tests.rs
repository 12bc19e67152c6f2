use super::*;
use reqwest::StatusCode;

/// Where the two former readers differed, the stricter answer holds: an `error` field
/// fails even with 200 and an access token, an empty access token is none.
#[test]
fn only_a_clean_success_with_an_access_token_counts() {
    let ok = read_answer(StatusCode::OK, br#"{"access_token":"a","id_token":"i"}"#).unwrap();
    assert_eq!(
        (ok.access_token.as_str(), ok.id_token.as_deref()),
        ("a", Some("i"))
    );

    let refused = read_answer(
        StatusCode::OK,
        br#"{"access_token":"a","error":"bad_verification_code"}"#,
    );
    assert!(matches!(
        refused,
        Err(TokenEndpointError::Refused { status: 200, .. })
    ));
    for (status, body) in [
        (StatusCode::OK, &br#"{"access_token":""}"#[..]),
        (StatusCode::OK, br#"{"token_type":"bearer"}"#),
        (StatusCode::OK, b"not json"),
        (StatusCode::BAD_GATEWAY, br#"{"access_token":"a"}"#),
    ] {
        assert!(
            matches!(
                read_answer(status, body),
                Err(TokenEndpointError::NoAccessToken(_))
            ),
            "{status} {}",
            String::from_utf8_lossy(body)
        );
    }
}

#[test]
fn a_refusal_names_the_status_the_code_and_the_description() {
    let err = read_answer(
        StatusCode::BAD_REQUEST,
        br#"{"error":"invalid_grant","error_description":"unknown code"}"#,
    )
    .unwrap_err();
    assert_eq!(err.to_string(), "400 invalid_grant: unknown code");
}

#[test]
fn the_refresh_token_and_the_lifetime_are_read_when_present() {
    let tokens = read_answer(
        StatusCode::OK,
        br#"{"access_token":"a","refresh_token":"r","expires_in":3600}"#,
    )
    .unwrap();
    assert_eq!(tokens.refresh_token.as_deref(), Some("r"));
    assert_eq!(tokens.expires_in, Some(3600));

    let without = read_answer(StatusCode::OK, br#"{"access_token":"a"}"#).unwrap();
    assert_eq!((without.refresh_token, without.expires_in), (None, None));
}

/// RFC 6749 §5.1: `expires_in` is a number of seconds; what cannot be one is no lifetime, and
/// does not fail an otherwise good answer.
#[test]
fn an_expires_in_that_is_not_a_non_negative_integer_is_none() {
    for (expires_in, expected) in [
        ("0", Some(0)),
        ("3599", Some(3599)),
        (r#""3599""#, Some(3599)),
        ("-1", None),
        ("1.5", None),
        (r#""soon""#, None),
        (r#""-5""#, None),
        (r#""""#, None),
        ("null", None),
        ("true", None),
        ("[60]", None),
    ] {
        let body = format!(r#"{{"access_token":"a","expires_in":{expires_in}}}"#);
        let tokens = read_answer(StatusCode::OK, body.as_bytes()).unwrap();
        assert_eq!(tokens.expires_in, expected, "expires_in {expires_in}");
    }
}

#[test]
fn an_empty_refresh_token_is_none() {
    let tokens = read_answer(
        StatusCode::OK,
        br#"{"access_token":"a","refresh_token":""}"#,
    )
    .unwrap();
    assert_eq!(tokens.refresh_token, None);
}

#[test]
fn debug_shows_which_tokens_came_but_not_their_values() {
    let tokens = read_answer(
        StatusCode::OK,
        br#"{"access_token":"at-secret","id_token":"it-secret","refresh_token":"rt-secret"}"#,
    )
    .unwrap();
    let debug = format!("{tokens:?}");
    assert!(!debug.contains("secret"), "{debug}");
    assert!(debug.contains("refresh_token: Some"), "{debug}");
}

/// Only the answers that say the grant or the client is refused mean asking again is useless.
#[test]
fn only_invalid_grant_and_client_errors_say_the_grant_is_gone() {
    for (status, body, gone) in [
        (
            StatusCode::BAD_REQUEST,
            &br#"{"error":"invalid_grant"}"#[..],
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
        (StatusCode::OK, br#"{"error":"invalid_grant"}"#, true),
        (StatusCode::OK, br#"{"error":"bad_refresh_token"}"#, true),
        (
            StatusCode::SERVICE_UNAVAILABLE,
            br#"{"error":"temporarily_unavailable"}"#,
            false,
        ),
        (
            StatusCode::BAD_REQUEST,
            br#"{"error":"invalid_request"}"#,
            false,
        ),
        (
            StatusCode::BAD_REQUEST,
            br#"{"error":"Invalid_Grant"}"#,
            false,
        ),
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            b"<html>oops</html>",
            false,
        ),
        (StatusCode::UNAUTHORIZED, b"", false),
        (StatusCode::OK, br#"{"token_type":"bearer"}"#, false),
    ] {
        let err = read_answer(status, body).unwrap_err();
        assert_eq!(
            err.grant_is_gone(),
            gone,
            "{status} {}",
            String::from_utf8_lossy(body)
        );
    }
}

/// A token endpoint on a loopback port that answers `answer` and hands back the request's
/// `Authorization` header and form.
async fn recording_endpoint(
    answer: &'static str,
) -> (
    Url,
    tokio::sync::mpsc::UnboundedReceiver<(Option<String>, String)>,
) {
    use axum::http::HeaderMap;
    let (sent, received) = tokio::sync::mpsc::unbounded_channel();
    let app = axum::Router::new().route(
        "/token",
        axum::routing::post(move |headers: HeaderMap, body: String| {
            let authorization = headers
                .get(reqwest::header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let _ = sent.send((authorization, body));
            async move {
                (
                    [(reqwest::header::CONTENT_TYPE, "application/json")],
                    answer,
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (
        Url::parse(&format!("http://{addr}/token")).unwrap(),
        received,
    )
}

/// RFC 6749 §6: `grant_type=refresh_token` and the token, the client authenticated as for
/// the code grant, and no `redirect_uri` (nor code or verifier).
#[tokio::test]
async fn a_refresh_sends_the_refresh_grant_with_the_configured_client_authentication() {
    let answer = r#"{"access_token":"new","refresh_token":"next","expires_in":60}"#;
    for auth in [
        TokenEndpointAuth::ClientSecretBasic,
        TokenEndpointAuth::ClientSecretPost,
    ] {
        let (endpoint, mut requests) = recording_endpoint(answer).await;
        let http = reqwest::Client::new();
        let secret = SecretString::from("s3cret");
        let client = TokenClient {
            http: &http,
            client_id: "client",
            client_secret: &secret,
            auth,
            redirect_uri: "https://gateway.test/oauth2/callback/p",
        };

        let tokens = client.refresh(endpoint, "old-refresh").await.unwrap();

        assert_eq!(tokens.access_token, "new");
        assert_eq!(tokens.refresh_token.as_deref(), Some("next"));
        assert_eq!(tokens.expires_in, Some(60));
        let (authorization, body) = requests.recv().await.unwrap();
        let form: Vec<(String, String)> = url::form_urlencoded::parse(body.as_bytes())
            .into_owned()
            .collect();
        let names: Vec<&str> = form.iter().map(|(name, _)| name.as_str()).collect();
        let value = |name: &str| {
            form.iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(value("grant_type"), Some("refresh_token"));
        assert_eq!(value("refresh_token"), Some("old-refresh"));
        match auth {
            TokenEndpointAuth::ClientSecretBasic => {
                assert_eq!(names, ["grant_type", "refresh_token"]);
                let expected = format!("Basic {}", STANDARD.encode("client:s3cret"));
                assert_eq!(authorization.as_deref(), Some(expected.as_str()));
            }
            TokenEndpointAuth::ClientSecretPost => {
                assert_eq!(
                    names,
                    ["grant_type", "refresh_token", "client_id", "client_secret"]
                );
                assert_eq!(value("client_secret"), Some("s3cret"));
                assert_eq!(authorization, None);
            }
        }
    }
}
