//! Logout-token validation end to end through `OidcProvider::verify_logout_token`: tokens
//! signed in-test with the RSA keys of `tests/fixtures/`, the JWKS held in memory, and a
//! loopback JWKS endpoint for the refetch on an unknown `kid`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use openidconnect::core::{
    CoreHmacKey, CoreJsonWebKeySet, CoreJwsSigningAlgorithm, CoreRsaPrivateSigningKey,
};
use openidconnect::{JsonWebKeyId, JsonWebKeySetUrl, PrivateSigningKey as _};
use secrecy::SecretString;
use serde_json::{json, Value};
use url::Url;

use super::*;
use crate::config::{ProviderPreset, TokenEndpointAuth};
use crate::providers::oidc::discovery::Discovered;
use crate::providers::oidc::OidcProvider;

const ISSUER: &str = "https://issuer.test";
const CLIENT: &str = "client";
const CURRENT_PEM: &str = include_str!("../../../../tests/fixtures/mock_provider_rsa.pem");
const PUBLIC_PEM: &str = include_str!("../../../../tests/fixtures/mock_provider_rsa.pub.pem");
const ROTATED_PEM: &str = include_str!("../../../../tests/fixtures/mock_provider_rsa_rotated.pem");

fn key(pem: &str, kid: &str) -> CoreRsaPrivateSigningKey {
    CoreRsaPrivateSigningKey::from_pem(pem, Some(JsonWebKeyId::new(kid.to_owned()))).unwrap()
}

fn current() -> CoreRsaPrivateSigningKey {
    key(CURRENT_PEM, "mock-key-1")
}

fn rotated() -> CoreRsaPrivateSigningKey {
    key(ROTATED_PEM, "mock-key-2")
}

fn jwks(keys: &[CoreRsaPrivateSigningKey]) -> CoreJsonWebKeySet {
    CoreJsonWebKeySet::new(keys.iter().map(|k| k.as_verification_key()).collect())
}

/// A discovered provider holding the current key, whose `jwks_uri` is `jwks_uri`.
fn provider(jwks_uri: &str) -> OidcProvider {
    let provider = OidcProvider::new(
        ProviderSettings {
            id: "p".into(),
            name: "P".into(),
            issuer: ISSUER.into(),
            client_id: CLIENT.into(),
            client_secret: SecretString::from("secret"),
            scopes: vec!["openid".into()],
            token_endpoint_auth: TokenEndpointAuth::ClientSecretBasic,
            redirect_uri: "https://gateway.test/oauth2/callback/p".into(),
            preset: ProviderPreset::None,
            logo: "key.svg",
            allow_unverified_email: false,
        },
        reqwest::Client::builder().no_proxy().build().unwrap(),
    );
    let url = |path: &str| Url::parse(&format!("{ISSUER}{path}")).unwrap();
    provider.store(Discovered {
        authorization_endpoint: url("/authorize"),
        token_endpoint: url("/token"),
        userinfo_endpoint: None,
        end_session_endpoint: None,
        iss_parameter_supported: false,
        select_account_supported: false,
        jwks_uri: JsonWebKeySetUrl::new(jwks_uri.to_owned()).unwrap(),
        jwks: jwks(&[current()]),
    });
    provider
}

/// A provider whose JWKS is never refetched in the test (the token's key is known).
fn known_keys_provider() -> OidcProvider {
    provider("https://issuer.test/jwks")
}

/// A loopback JWKS endpoint serving `keys`, and how often it was asked.
async fn jwks_server(keys: CoreJsonWebKeySet) -> (String, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&hits);
    let keys = serde_json::to_value(&keys).unwrap();
    let app = axum::Router::new().route(
        "/jwks",
        axum::routing::get(move || {
            counter.fetch_add(1, Ordering::SeqCst);
            let keys = keys.clone();
            async move { axum::Json(keys) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/jwks"), hits)
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Valid claims with both `sid` and `sub`.
fn claims() -> Value {
    json!({
        "iss": ISSUER,
        "aud": CLIENT,
        "iat": now(),
        "exp": now() + 120,
        "jti": "jti-1",
        "sid": "session-1",
        "sub": "user-1",
        "events": { BACKCHANNEL_LOGOUT_EVENT: {} },
    })
}

fn with(changes: Value) -> Value {
    let mut claims = claims();
    for (name, value) in changes.as_object().unwrap() {
        if value.is_null() {
            claims.as_object_mut().unwrap().remove(name);
        } else {
            claims[name] = value.clone();
        }
    }
    claims
}

fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn signing_input(header: &Value, claims: &Value) -> String {
    format!("{}.{}", b64(header.to_string()), b64(claims.to_string()))
}

fn sign_with(key: &CoreRsaPrivateSigningKey, kid: &str, typ: &str, claims: &Value) -> String {
    let input = signing_input(&json!({ "alg": "RS256", "typ": typ, "kid": kid }), claims);
    let rs256 = CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256;
    let signature = key.sign(&rs256, input.as_bytes()).unwrap();
    format!("{input}.{}", b64(signature))
}

fn sign(claims: &Value) -> String {
    sign_with(&current(), "mock-key-1", "logout+jwt", claims)
}

async fn verify_with(
    provider: &OidcProvider,
    token: &str,
) -> Result<LogoutClaims, LogoutTokenError> {
    provider.verify_logout_token(token).await
}

async fn verify(claims: &Value) -> Result<LogoutClaims, LogoutTokenError> {
    verify_with(&known_keys_provider(), &sign(claims)).await
}

// Acceptance.

#[tokio::test]
async fn a_token_with_sid_and_sub_gives_both_and_its_jti() {
    let claims = claims();

    let accepted = verify(&claims).await.unwrap();

    assert_eq!(accepted.sid.as_deref(), Some("session-1"));
    assert_eq!(accepted.sub.as_deref(), Some("user-1"));
    assert_eq!(accepted.jti, "jti-1");
    let exp = claims["exp"].as_u64().unwrap();
    assert_eq!(accepted.remember_until, exp + CLOCK_SKEW.as_secs());
}

#[tokio::test]
async fn a_token_with_only_sid_is_accepted() {
    let accepted = verify(&with(json!({ "sub": null }))).await.unwrap();

    assert_eq!(accepted.sid.as_deref(), Some("session-1"));
    assert_eq!(accepted.sub, None);
}

#[tokio::test]
async fn a_token_with_only_sub_is_accepted() {
    let accepted = verify(&with(json!({ "sid": null }))).await.unwrap();

    assert_eq!(accepted.sub.as_deref(), Some("user-1"));
    assert_eq!(accepted.sid, None);
}

#[tokio::test]
async fn an_audience_array_containing_the_client_is_accepted() {
    let claims = with(json!({ "aud": ["other", CLIENT] }));

    assert!(verify(&claims).await.is_ok());
}

#[tokio::test]
async fn the_logout_and_plain_jwt_types_are_accepted() {
    let provider = known_keys_provider();
    for typ in ["logout+jwt", "application/logout+jwt", "JWT"] {
        let token = sign_with(&current(), "mock-key-1", typ, &claims());

        assert!(verify_with(&provider, &token).await.is_ok(), "{typ}");
    }
}

#[tokio::test]
async fn without_exp_the_jti_is_remembered_for_the_bounded_lifetime() {
    let claims = with(json!({ "exp": null }));
    let iat = claims["iat"].as_u64().unwrap();

    let accepted = verify(&claims).await.unwrap();

    let bound = LIFETIME_WITHOUT_EXP + CLOCK_SKEW;
    assert_eq!(accepted.remember_until, iat + bound.as_secs());
}

#[tokio::test]
async fn a_token_signed_with_a_rotated_key_is_accepted_after_one_refetch() {
    let (jwks_uri, hits) = jwks_server(jwks(&[current(), rotated()])).await;
    let provider = provider(&jwks_uri);
    let token = sign_with(&rotated(), "mock-key-2", "logout+jwt", &claims());

    let accepted = verify_with(&provider, &token).await;

    assert!(accepted.is_ok(), "{accepted:?}");
    assert_eq!(hits.load(Ordering::SeqCst), 1);
}

// Rejections: the signature (§2.6 steps 2–3).

#[tokio::test]
async fn a_bad_signature_is_refused() {
    let token = sign(&claims());
    let (input, _) = token.rsplit_once('.').unwrap();
    let mut signature = URL_SAFE_NO_PAD
        .decode(token.rsplit('.').next().unwrap())
        .unwrap();
    signature[10] ^= 0x01;
    let tampered = format!("{input}.{}", b64(signature));

    let refused = verify_with(&known_keys_provider(), &tampered).await;

    assert!(
        matches!(
            refused,
            Err(LogoutTokenError::Signature(JwsError::BadSignature(_)))
        ),
        "{refused:?}"
    );
}

#[tokio::test]
async fn hmac_keyed_with_the_public_key_is_refused() {
    let input = signing_input(
        &json!({ "alg": "HS256", "typ": "JWT", "kid": "mock-key-1" }),
        &claims(),
    );
    let hs256 = CoreJwsSigningAlgorithm::HmacSha256;
    let signature = CoreHmacKey::new(PUBLIC_PEM.as_bytes())
        .sign(&hs256, input.as_bytes())
        .unwrap();
    let token = format!("{input}.{}", b64(signature));

    let refused = verify_with(&known_keys_provider(), &token).await;

    assert!(
        matches!(
            refused,
            Err(LogoutTokenError::Signature(JwsError::DisallowedAlgorithm))
        ),
        "{refused:?}"
    );
}

#[tokio::test]
async fn alg_none_is_refused() {
    let input = signing_input(&json!({ "alg": "none", "typ": "JWT" }), &claims());
    let token = format!("{input}.");

    let refused = verify_with(&known_keys_provider(), &token).await;

    assert!(
        matches!(
            refused,
            Err(LogoutTokenError::Signature(JwsError::DisallowedAlgorithm))
        ),
        "{refused:?}"
    );
}

#[tokio::test]
async fn an_unknown_kid_is_refused_after_one_refetch() {
    let (jwks_uri, hits) = jwks_server(jwks(&[current()])).await;
    let provider = provider(&jwks_uri);
    let token = sign_with(&rotated(), "mock-key-2", "logout+jwt", &claims());

    let refused = verify_with(&provider, &token).await;

    assert!(
        matches!(
            refused,
            Err(LogoutTokenError::Signature(JwsError::NoMatchingKey))
        ),
        "{refused:?}"
    );
    assert_eq!(hits.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn another_token_type_is_refused() {
    let token = sign_with(&current(), "mock-key-1", "at+jwt", &claims());

    let refused = verify_with(&known_keys_provider(), &token).await;

    assert!(
        matches!(
            refused,
            Err(LogoutTokenError::Signature(JwsError::UnexpectedType))
        ),
        "{refused:?}"
    );
}

// Rejections: the claims (§2.6 steps 4–8).

#[tokio::test]
async fn another_issuer_is_refused_without_naming_it() {
    for iss in ["https://evil.test", "https://issuer.test/"] {
        let refused = verify(&with(json!({ "iss": iss }))).await;

        let Err(err @ LogoutTokenError::Issuer) = refused else {
            panic!("{iss}: {refused:?}");
        };
        assert!(!err.to_string().contains(iss), "{err}");
    }
}

#[tokio::test]
async fn an_audience_without_the_client_is_refused() {
    for aud in [json!("other"), json!(["other", "another"]), json!(null)] {
        let refused = verify(&with(json!({ "aud": aud }))).await;

        assert!(
            matches!(refused, Err(LogoutTokenError::Audience)),
            "{aud}: {refused:?}"
        );
    }
}

#[tokio::test]
async fn a_missing_iat_is_refused() {
    let refused = verify(&with(json!({ "iat": null }))).await;

    assert!(
        matches!(refused, Err(LogoutTokenError::IssuedAtMissing)),
        "{refused:?}"
    );
}

#[tokio::test]
async fn an_iat_in_the_future_beyond_the_skew_is_refused() {
    let refused = verify(&with(json!({ "iat": now() + 3600, "exp": now() + 7200 }))).await;

    assert!(
        matches!(refused, Err(LogoutTokenError::IssuedInTheFuture)),
        "{refused:?}"
    );
}

#[tokio::test]
async fn an_expired_token_is_refused() {
    let refused = verify(&with(json!({ "iat": now() - 7200, "exp": now() - 3600 }))).await;

    assert!(
        matches!(refused, Err(LogoutTokenError::Expired)),
        "{refused:?}"
    );
}

#[tokio::test]
async fn a_token_without_exp_older_than_the_bound_is_refused_as_expired() {
    let refused = verify(&with(json!({ "iat": now() - 3600, "exp": null }))).await;

    assert!(
        matches!(refused, Err(LogoutTokenError::Expired)),
        "{refused:?}"
    );
}

#[tokio::test]
async fn a_token_with_neither_sid_nor_sub_is_refused() {
    let refused = verify(&with(json!({ "sid": null, "sub": null }))).await;

    assert!(
        matches!(refused, Err(LogoutTokenError::NoSubject)),
        "{refused:?}"
    );
}

#[tokio::test]
async fn an_empty_or_non_string_sid_or_sub_is_refused() {
    for changes in [json!({ "sid": "" }), json!({ "sub": 42 })] {
        let refused = verify(&with(changes.clone())).await;

        assert!(
            matches!(refused, Err(LogoutTokenError::SubjectNotAString(_))),
            "{changes}: {refused:?}"
        );
    }
}

#[tokio::test]
async fn a_missing_or_wrong_events_claim_is_refused() {
    for events in [
        json!(null),
        json!("http://schemas.openid.net/event/backchannel-logout"),
        json!({ "http://schemas.openid.net/event/other": {} }),
        json!({ BACKCHANNEL_LOGOUT_EVENT: true }),
    ] {
        let refused = verify(&with(json!({ "events": events }))).await;

        assert!(
            matches!(refused, Err(LogoutTokenError::Events)),
            "{events}: {refused:?}"
        );
    }
}

#[tokio::test]
async fn a_nonce_is_refused() {
    let refused = verify(&with(json!({ "nonce": "n" }))).await;

    assert!(
        matches!(refused, Err(LogoutTokenError::Nonce)),
        "{refused:?}"
    );
}

#[tokio::test]
async fn a_missing_or_empty_jti_is_refused() {
    for jti in [json!(null), json!("")] {
        let refused = verify(&with(json!({ "jti": jti }))).await;

        assert!(
            matches!(refused, Err(LogoutTokenError::MissingJti)),
            "{jti}: {refused:?}"
        );
    }
}

#[tokio::test]
async fn a_provider_not_yet_discovered_refuses() {
    let provider = known_keys_provider();
    if let Ok(mut slot) = provider.discovered.write() {
        *slot = None;
    }

    let refused = verify_with(&provider, &sign(&claims())).await;

    assert!(
        matches!(refused, Err(LogoutTokenError::NotDiscovered)),
        "{refused:?}"
    );
}

#[tokio::test]
async fn a_plain_oauth2_provider_has_no_keys_for_logout_tokens() {
    use crate::config::{GithubConfig, OAuth2Api};
    use crate::providers::{oauth2::OAuth2Settings, OAuth2Provider, Provider};
    let github = Provider::OAuth2(OAuth2Provider::new(
        OAuth2Settings {
            id: "gh".into(),
            name: "GitHub".into(),
            client_id: CLIENT.into(),
            client_secret: SecretString::from("secret"),
            scopes: vec![],
            token_endpoint_auth: TokenEndpointAuth::ClientSecretBasic,
            redirect_uri: "https://gateway.test/oauth2/callback/gh".into(),
            logo: "github.svg",
            allow_unverified_email: false,
            api: OAuth2Api::Github(GithubConfig {
                base_url: Url::parse("https://github.com").unwrap(),
                orgs: vec![],
                teams: vec![],
                membership_refresh: std::time::Duration::from_secs(3600),
            }),
        },
        reqwest::Client::new(),
    ));

    let refused = github.verify_logout_token(&sign(&claims())).await;

    assert!(
        matches!(refused, Err(LogoutTokenError::NotOpenId)),
        "{refused:?}"
    );
}
