//! Self-tests of the harness: the mock provider and the echo upstream do what the gateway
//! tests rely on, checked without the gateway.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use openidconnect::core::{CoreIdToken, CoreIdTokenVerifier, CoreJsonWebKeySet};
use openidconnect::{ClientId, IssuerUrl, Nonce};
use reqwest::StatusCode;
use serde_json::Value;
use sha2::{Digest as _, Sha256};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::echo_upstream::{websocket_accept, EchoUpstream, EchoedRequest};
use crate::helpers::{location, websocket_client_frame};
use crate::mock_provider::{
    decode_jwt, ClientAuthMethod, ClientRegistration, MockProvider, Signing, SIGNING_KID,
};

const REDIRECT_URI: &str = "http://127.0.0.1:9/oauth2/callback/mock";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const NONCE: &str = "nonce-1234";

fn registration() -> ClientRegistration {
    ClientRegistration {
        client_id: "portcullis-test".to_owned(),
        client_secret: "s3cret:with/odd chars".to_owned(),
    }
}

async fn provider() -> MockProvider {
    let provider = MockProvider::start(registration()).await;
    provider.register_redirect_uri(REDIRECT_URI);
    provider
}

fn plain_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// Runs the authorization request and returns the redirect's query parameters.
async fn authorize(provider: &MockProvider) -> Vec<(String, String)> {
    let mut url = url::Url::parse(&provider.url("/authorize")).unwrap();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", "portcullis-test")
        .append_pair("redirect_uri", REDIRECT_URI)
        .append_pair("scope", "openid email profile")
        .append_pair("state", "state-abc")
        .append_pair("nonce", NONCE)
        .append_pair("code_challenge", &challenge(VERIFIER))
        .append_pair("code_challenge_method", "S256");
    let resp = plain_client().get(url).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::FOUND);
    let target = url::Url::parse(&location(&resp)).unwrap();
    assert!(target.as_str().starts_with(REDIRECT_URI));
    target.query_pairs().into_owned().collect()
}

fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn basic(id: &str, secret: &str) -> String {
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    format!(
        "Basic {}",
        STANDARD.encode(format!("{}:{}", enc(id), enc(secret)))
    )
}

async fn redeem(provider: &MockProvider, code: &str, verifier: &str) -> reqwest::Response {
    plain_client()
        .post(provider.url("/token"))
        .header(
            "authorization",
            basic("portcullis-test", "s3cret:with/odd chars"),
        )
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", verifier),
        ])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn discovery_document_names_the_issuer_and_every_endpoint() {
    let provider = provider().await;

    let doc: Value = reqwest::get(provider.url("/.well-known/openid-configuration"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    let issuer = provider.issuer();
    assert_eq!(doc["issuer"], issuer.as_str());
    assert_eq!(doc["jwks_uri"], format!("{issuer}/jwks"));
    assert_eq!(doc["authorization_endpoint"], format!("{issuer}/authorize"));
    assert_eq!(doc["token_endpoint"], format!("{issuer}/token"));
    assert_eq!(doc["userinfo_endpoint"], format!("{issuer}/userinfo"));
    assert_eq!(doc["end_session_endpoint"], format!("{issuer}/logout"));
    assert_eq!(doc["code_challenge_methods_supported"][0], "S256");
    assert_eq!(provider.recorded().discovery_fetches, 1);
}

#[tokio::test]
async fn discovery_can_lie_about_the_issuer_and_drop_end_session() {
    let provider = provider().await;
    provider.behave(|b| {
        b.discovery_issuer = Some("https://impostor.example".into());
        b.end_session_endpoint = false;
    });

    let doc: Value = reqwest::get(provider.url("/.well-known/openid-configuration"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    assert_eq!(doc["issuer"], "https://impostor.example");
    assert!(doc.get("end_session_endpoint").is_none());
}

#[tokio::test]
async fn jwks_publishes_the_current_key_and_the_rotated_one_on_demand() {
    let provider = provider().await;
    let kids = |jwks: &Value| -> Vec<String> {
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap().to_owned())
            .collect()
    };

    let before: Value = reqwest::get(provider.url("/jwks"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    provider.behave(|b| b.publish_rotated_key = true);
    let after: Value = reqwest::get(provider.url("/jwks"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    assert_eq!(kids(&before), vec![SIGNING_KID]);
    assert_eq!(kids(&after), vec!["mock-key-1", "mock-key-2"]);
    assert_eq!(before["keys"][0]["kty"], "RSA");
    assert_eq!(provider.jwks_fetches(), 2);
}

#[tokio::test]
async fn authorize_redirects_back_with_code_state_and_iss() {
    let provider = provider().await;

    let pairs = authorize(&provider).await;

    assert!(param(&pairs, "code").is_some_and(|c| c.len() >= 32));
    assert_eq!(param(&pairs, "state"), Some("state-abc"));
    assert_eq!(param(&pairs, "iss"), Some(provider.issuer().as_str()));
    let recorded = provider.last_authorize().unwrap();
    assert_eq!(recorded.get("nonce"), Some(NONCE));
}

#[tokio::test]
async fn authorize_refuses_an_unregistered_redirect_uri_and_a_missing_pkce() {
    let provider = provider().await;
    let client = plain_client();
    let base = provider.url("/authorize");

    let unregistered = client
        .get(format!(
            "{base}?response_type=code&client_id=portcullis-test&redirect_uri=http%3A%2F%2Fevil.test%2Fcb&scope=openid&code_challenge=x&code_challenge_method=S256"
        ))
        .send()
        .await
        .unwrap();
    let no_pkce = client
        .get(format!(
            "{base}?response_type=code&client_id=portcullis-test&redirect_uri={}&scope=openid&state=s",
            url::form_urlencoded::byte_serialize(REDIRECT_URI.as_bytes()).collect::<String>()
        ))
        .send()
        .await
        .unwrap();

    assert_eq!(unregistered.status(), StatusCode::BAD_REQUEST);
    assert_eq!(no_pkce.status(), StatusCode::FOUND);
    assert!(location(&no_pkce).contains("error=invalid_request"));
}

#[tokio::test]
async fn token_endpoint_issues_an_id_token_a_real_verifier_accepts() {
    let provider = provider().await;
    let pairs = authorize(&provider).await;

    let resp = redeem(&provider, param(&pairs, "code").unwrap(), VERIFIER).await;

    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    let jwks: CoreJsonWebKeySet = reqwest::get(provider.url("/jwks"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let verifier = CoreIdTokenVerifier::new_public_client(
        ClientId::new("portcullis-test".into()),
        IssuerUrl::new(provider.issuer()).unwrap(),
        jwks,
    );
    let id_token: CoreIdToken = body["id_token"].as_str().unwrap().parse().unwrap();
    let claims = id_token
        .claims(&verifier, &Nonce::new(NONCE.into()))
        .unwrap();
    assert_eq!(claims.subject().as_str(), "alice-sub-0001");
    assert_eq!(claims.email().unwrap().as_str(), "alice@example.com");
    let token = provider.last_token_request().unwrap();
    assert!(token.authorization.unwrap().starts_with("Basic "));
}

#[tokio::test]
async fn token_endpoint_rejects_a_wrong_pkce_verifier_and_a_reused_code() {
    let provider = provider().await;
    let first = authorize(&provider).await;
    let second = authorize(&provider).await;

    let wrong_verifier = redeem(
        &provider,
        param(&first, "code").unwrap(),
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    )
    .await;
    let good = redeem(&provider, param(&second, "code").unwrap(), VERIFIER).await;
    let replay = redeem(&provider, param(&second, "code").unwrap(), VERIFIER).await;

    assert_eq!(wrong_verifier.status(), StatusCode::BAD_REQUEST);
    let error: Value = wrong_verifier.json().await.unwrap();
    assert_eq!(error["error"], "invalid_grant");
    assert_eq!(good.status(), StatusCode::OK);
    assert_eq!(replay.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn token_endpoint_enforces_the_configured_client_auth_method() {
    let provider = provider().await;
    provider.behave(|b| b.client_auth = ClientAuthMethod::ClientSecretPost);
    let pairs = authorize(&provider).await;

    let basic_when_post_expected =
        redeem(&provider, param(&pairs, "code").unwrap(), VERIFIER).await;

    assert_eq!(basic_when_post_expected.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn userinfo_answers_bearer_tokens_it_issued_and_can_lie_about_sub() {
    let provider = provider().await;
    let pairs = authorize(&provider).await;
    let body: Value = redeem(&provider, param(&pairs, "code").unwrap(), VERIFIER)
        .await
        .json()
        .await
        .unwrap();
    let access = body["access_token"].as_str().unwrap();
    provider.behave(|b| b.userinfo_sub = Some("mallory".into()));

    let unknown = plain_client()
        .get(provider.url("/userinfo"))
        .bearer_auth("made-up")
        .send()
        .await
        .unwrap();
    let known: Value = plain_client()
        .get(provider.url("/userinfo"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(known["sub"], "mallory");
    assert_eq!(known["email"], "alice@example.com");
}

#[tokio::test]
async fn hostile_signings_produce_the_headers_they_claim() {
    let provider = provider().await;
    let claims = serde_json::Map::new();

    let none = provider.sign(&claims, &Signing::AlgNone, false);
    let hmac = provider.sign(&claims, &Signing::Hs256WithPublicKey, false);
    let rotated = provider.sign(&claims, &Signing::RotatedKey, false);

    assert_eq!(decode_jwt(&none).0["alg"], "none");
    assert!(none.ends_with('.'));
    assert_eq!(decode_jwt(&hmac).0["alg"], "HS256");
    assert_eq!(decode_jwt(&rotated).0["kid"], "mock-key-2");
}

#[tokio::test]
async fn a_stopped_provider_refuses_connections_and_comes_back_on_the_same_port() {
    let provider = provider().await;
    let discovery = provider.url("/.well-known/openid-configuration");

    provider.stop().await;
    let while_down = reqwest::get(&discovery).await;
    provider.serve().await;
    let after = reqwest::get(&discovery).await.unwrap();

    assert!(while_down.unwrap_err().is_connect());
    assert_eq!(after.status(), StatusCode::OK);
}

#[tokio::test]
async fn echo_upstream_returns_the_request_with_duplicate_and_underscore_headers() {
    let upstream = EchoUpstream::start().await;

    let echoed: EchoedRequest = reqwest::Client::new()
        .post(format!("{}/some/path?a=1&a=2", upstream.url()))
        .header("X-Dup", "one")
        .header("X-Dup", "two")
        .header("X_Forwarded_User", "mallory")
        .body("hello body")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    assert_eq!(echoed.method, "POST");
    assert_eq!(echoed.path, "/some/path");
    assert_eq!(echoed.query.as_deref(), Some("a=1&a=2"));
    assert_eq!(echoed.header_values("x-dup"), vec!["one", "two"]);
    assert_eq!(echoed.header("x_forwarded_user"), Some("mallory"));
    assert_eq!(echoed.body, "hello body");
    assert_eq!(upstream.requests().len(), 1);
}

#[tokio::test]
async fn echo_upstream_holds_a_stream_until_released() {
    let upstream = EchoUpstream::start().await;
    let mut resp = reqwest::get(format!("{}/stream", upstream.url()))
        .await
        .unwrap();

    let first = resp.chunk().await.unwrap().unwrap();
    upstream.release_stream();
    let rest = resp.text().await.unwrap();

    assert_eq!(&first[..], b"chunk-1\n");
    assert_eq!(rest, "chunk-2\nchunk-3\n");
}

#[tokio::test]
async fn echo_upstream_accepts_a_websocket_and_echoes_bytes() {
    let upstream = EchoUpstream::start().await;
    let mut stream = tokio::net::TcpStream::connect(upstream.addr())
        .await
        .unwrap();
    stream
        .write_all(
            format!(
                "GET /ws HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                 Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
                upstream.addr()
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        head.push(stream.read_u8().await.unwrap());
    }
    let frame = websocket_client_frame(b"hello");

    stream.write_all(&frame).await.unwrap();
    let mut back = vec![0u8; frame.len()];
    stream.read_exact(&mut back).await.unwrap();

    let head = String::from_utf8(head).unwrap();
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    assert!(head.contains("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="), "{head}");
    assert_eq!(
        websocket_accept("dGhlIHNhbXBsZSBub25jZQ=="),
        "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    );
    assert_eq!(back, frame);
}
