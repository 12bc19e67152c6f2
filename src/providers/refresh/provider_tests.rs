//! `Provider::refresh` against a small OpenID provider on a loopback port (discovery, JWKS,
//! a token endpoint answering what each test queues), and the login fields a refresh needs.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::routing::{get, post};
use axum::Json;
use openidconnect::core::{
    CoreGenderClaim, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm,
    CoreRsaPrivateSigningKey,
};
use openidconnect::{
    Audience, EndUserEmail, EndUserUsername, IdToken, IdTokenClaims, IssuerUrl, JsonWebKeyId,
    Nonce, PrivateSigningKey, StandardClaims, SubjectIdentifier,
};
use secrecy::SecretString;
use serde_json::{json, Value};
use url::Url;

use crate::config::{ClaimMapping, OAuth2Api, OAuth2Config, ProviderPreset, TokenEndpointAuth};
use crate::identity::Identity;
use crate::providers::oauth2::{OAuth2Provider, OAuth2Settings};
use crate::providers::oidc::{ExtraClaims, OidcProvider, ProviderSettings};
use crate::providers::{Provider, RefreshError};

const KEY_PEM: &str = include_str!("../../../tests/fixtures/mock_provider_rsa.pem");
const SUB: &str = "alice-sub";

#[derive(Default)]
struct Queue {
    answers: VecDeque<(u16, Value)>,
    forms: Vec<String>,
}

/// The provider: its issuer, signing key and the token endpoint's queue.
struct TestOp {
    issuer: String,
    key: CoreRsaPrivateSigningKey,
    queue: Arc<Mutex<Queue>>,
}

/// What an ID token says; the defaults are an honest refreshed token.
struct Claims {
    sub: &'static str,
    iss: Option<String>,
    nonce: Option<&'static str>,
    groups: Vec<&'static str>,
    sid: Option<&'static str>,
}

impl Default for Claims {
    fn default() -> Claims {
        Claims {
            sub: SUB,
            iss: None,
            nonce: None,
            groups: vec!["staff"],
            sid: Some("sid-1"),
        }
    }
}

fn signing_key() -> CoreRsaPrivateSigningKey {
    CoreRsaPrivateSigningKey::from_pem(KEY_PEM, Some(JsonWebKeyId::new("k1".into()))).unwrap()
}

impl TestOp {
    async fn start() -> TestOp {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let issuer = format!("http://{}", listener.local_addr().unwrap());
        let queue = Arc::new(Mutex::new(Queue::default()));
        let mut jwk = serde_json::to_value(signing_key().as_verification_key()).unwrap();
        jwk["alg"] = json!("RS256");
        let doc = json!({
            "issuer": issuer,
            "authorization_endpoint": format!("{issuer}/authorize"),
            "token_endpoint": format!("{issuer}/token"),
            "jwks_uri": format!("{issuer}/jwks"),
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
        });
        let recorded = Arc::clone(&queue);
        let app = axum::Router::new()
            .route(
                "/.well-known/openid-configuration",
                get(move || async move { Json(doc) }),
            )
            .route(
                "/jwks",
                get(move || async move { Json(json!({ "keys": [jwk] })) }),
            )
            .route(
                "/token",
                post(move |form: String| async move {
                    let mut queue = recorded.lock().unwrap();
                    queue.forms.push(form);
                    let (status, body) = queue.answers.pop_front().unwrap();
                    (
                        axum::http::StatusCode::from_u16(status).unwrap(),
                        Json(body),
                    )
                }),
            );
        tokio::spawn(async move { axum::serve(listener, app).await });
        TestOp {
            issuer,
            key: signing_key(),
            queue,
        }
    }

    fn answer(&self, status: u16, body: Value) {
        self.queue.lock().unwrap().answers.push_back((status, body));
    }

    /// The forms the token endpoint received, decoded.
    fn forms(&self) -> Vec<Vec<(String, String)>> {
        let queue = self.queue.lock().unwrap();
        queue
            .forms
            .iter()
            .map(|form| {
                url::form_urlencoded::parse(form.as_bytes())
                    .into_owned()
                    .collect()
            })
            .collect()
    }

    fn id_token(&self, claims: Claims) -> String {
        let now = chrono::Utc::now();
        let iss = claims.iss.unwrap_or_else(|| self.issuer.clone());
        let standard =
            StandardClaims::<CoreGenderClaim>::new(SubjectIdentifier::new(claims.sub.to_owned()))
                .set_email(Some(EndUserEmail::new("alice@example.com".into())))
                .set_email_verified(Some(true))
                .set_preferred_username(Some(EndUserUsername::new("alice".into())));
        let claims = IdTokenClaims::new(
            IssuerUrl::new(iss).unwrap(),
            vec![Audience::new("client".into())],
            now + chrono::Duration::minutes(5),
            now,
            standard,
            ExtraClaims {
                groups: Some(json!(claims.groups)),
                sid: claims.sid.map(|sid| json!(sid)),
            },
        )
        .set_nonce(claims.nonce.map(|nonce| Nonce::new(nonce.to_owned())));
        IdToken::<
            ExtraClaims,
            CoreGenderClaim,
            CoreJweContentEncryptionAlgorithm,
            CoreJwsSigningAlgorithm,
        >::new(
            claims,
            &self.key,
            CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
            None,
            None,
        )
        .unwrap()
        .to_string()
    }

    /// An OpenID provider of this issuer, discovered.
    async fn oidc_client(&self) -> Provider {
        let provider = OidcProvider::new(
            ProviderSettings {
                id: "p".into(),
                name: "P".into(),
                issuer: self.issuer.clone(),
                client_id: "client".into(),
                client_secret: SecretString::from("secret"),
                scopes: vec!["openid".into()],
                token_endpoint_auth: TokenEndpointAuth::ClientSecretBasic,
                redirect_uri: "https://gateway.test/oauth2/callback/p".into(),
                preset: ProviderPreset::None,
                logo: "key.svg",
                allow_unverified_email: false,
            },
            reqwest::Client::new(),
        );
        provider.discover().await.unwrap();
        Provider::Oidc(provider)
    }
}

/// The identity a session signed in with.
fn current() -> Identity {
    Identity {
        user: SUB.into(),
        email: Some("alice@example.com".into()),
        preferred_username: Some("alice".into()),
        groups: vec!["staff".into()],
        provider: "p".into(),
    }
}

fn tokens(id_token: Option<String>) -> Value {
    let mut answer = json!({
        "access_token": "at-2",
        "token_type": "Bearer",
        "expires_in": 300,
        "refresh_token": "rt-2",
    });
    if let Some(id_token) = id_token {
        answer["id_token"] = json!(id_token);
    }
    answer
}

#[tokio::test]
async fn a_login_keeps_the_refresh_token_the_lifetime_and_the_sid() {
    let op = TestOp::start().await;
    let provider = op.oidc_client().await;
    let id_token = op.id_token(Claims {
        nonce: Some("n-1"),
        ..Claims::default()
    });
    op.answer(200, tokens(Some(id_token)));

    let login = provider
        .complete_login("code", "verifier", "n-1")
        .await
        .unwrap();

    assert_eq!(login.refresh_token.as_deref(), Some("rt-2"));
    assert_eq!(login.expires_in, Some(300));
    assert_eq!(login.sid.as_deref(), Some("sid-1"));
}

/// OpenID Connect Core §12.2: a refreshed ID token carries no nonce (or one that is not
/// compared), and the identity is made again from its claims.
#[tokio::test]
async fn a_refreshed_id_token_without_or_with_another_nonce_renews_the_identity() {
    for nonce in [None, Some("not-the-login-nonce")] {
        let op = TestOp::start().await;
        let provider = op.oidc_client().await;
        let id_token = op.id_token(Claims {
            nonce,
            groups: vec!["staff", "admins"],
            sid: Some("sid-2"),
            ..Claims::default()
        });
        op.answer(200, tokens(Some(id_token.clone())));

        let renewed = provider.refresh("rt-1", &current()).await.unwrap();

        assert_eq!(renewed.identity.groups, ["staff", "admins"]);
        assert_eq!(renewed.identity.user, SUB);
        assert_eq!(renewed.id_token.as_deref(), Some(id_token.as_str()));
        assert_eq!(renewed.access_token, "at-2");
        assert_eq!(renewed.refresh_token.as_deref(), Some("rt-2"));
        assert_eq!(renewed.expires_in, Some(300));
        assert_eq!(renewed.sid.as_deref(), Some("sid-2"));
        let forms = op.forms();
        let names: Vec<&str> = forms[0].iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(names, ["grant_type", "refresh_token"]);
        assert_eq!(forms[0][1].1, "rt-1");
    }
}

#[tokio::test]
async fn an_answer_without_an_id_token_keeps_the_identity() {
    let op = TestOp::start().await;
    let provider = op.oidc_client().await;
    op.answer(200, tokens(None));

    let renewed = provider.refresh("rt-1", &current()).await.unwrap();

    assert_eq!(renewed.identity, current());
    assert_eq!((renewed.id_token, renewed.sid), (None, None));
    assert_eq!(renewed.refresh_token.as_deref(), Some("rt-2"));
}

/// A refreshed ID token for another user, or from another issuer, ends the session.
#[tokio::test]
async fn a_refreshed_id_token_for_another_sub_or_issuer_ends_the_session() {
    let op = TestOp::start().await;
    let provider = op.oidc_client().await;
    op.answer(
        200,
        tokens(Some(op.id_token(Claims {
            sub: "mallory-sub",
            ..Claims::default()
        }))),
    );
    op.answer(
        200,
        tokens(Some(op.id_token(Claims {
            iss: Some("https://elsewhere.test".into()),
            ..Claims::default()
        }))),
    );

    let other_sub = provider.refresh("rt-1", &current()).await.err().unwrap();
    let other_iss = provider.refresh("rt-1", &current()).await.err().unwrap();

    assert!(
        matches!(other_sub, RefreshError::SubjectChanged),
        "{other_sub:?}"
    );
    assert!(other_sub.ends_session());
    assert!(
        matches!(other_iss, RefreshError::IdToken(_)),
        "{other_iss:?}"
    );
    assert!(other_iss.ends_session());
}

#[tokio::test]
async fn invalid_grant_ends_the_session_temporarily_unavailable_does_not() {
    let op = TestOp::start().await;
    let provider = op.oidc_client().await;
    op.answer(400, json!({ "error": "invalid_grant" }));
    op.answer(503, json!({ "error": "temporarily_unavailable" }));

    let gone = provider.refresh("rt-1", &current()).await.err().unwrap();
    let down = provider.refresh("rt-1", &current()).await.err().unwrap();

    assert!(gone.ends_session(), "{gone:?}");
    assert!(!down.ends_session(), "{down:?}");
}

/// Plain OAuth 2.0: the same grant at the configured token URL; the identity stays, and an
/// ID token in the answer is not taken for one.
#[tokio::test]
async fn a_plain_oauth2_refresh_keeps_the_identity_and_rotates_the_token() {
    let op = TestOp::start().await;
    let url = |path: &str| Url::parse(&format!("{}{path}", op.issuer)).unwrap();
    let provider = Provider::OAuth2(OAuth2Provider::new(
        OAuth2Settings {
            id: "p".into(),
            name: "P".into(),
            client_id: "client".into(),
            client_secret: SecretString::from("secret"),
            scopes: Vec::new(),
            token_endpoint_auth: TokenEndpointAuth::ClientSecretPost,
            redirect_uri: "https://gateway.test/oauth2/callback/p".into(),
            logo: "key.svg",
            allow_unverified_email: false,
            api: OAuth2Api::Generic(Box::new(OAuth2Config {
                auth_url: url("/authorize"),
                token_url: url("/token"),
                userinfo_url: url("/userinfo"),
                claims: ClaimMapping::default(),
            })),
        },
        reqwest::Client::new(),
    ));
    op.answer(200, tokens(Some(op.id_token(Claims::default()))));

    let renewed = provider.refresh("rt-1", &current()).await.unwrap();

    assert_eq!(renewed.identity, current());
    assert_eq!((renewed.id_token, renewed.sid), (None, None));
    assert_eq!(renewed.refresh_token.as_deref(), Some("rt-2"));
    assert_eq!(renewed.expires_in, Some(300));
    let form = &op.forms()[0];
    assert_eq!(
        form[0],
        ("grant_type".to_owned(), "refresh_token".to_owned())
    );
    assert!(form.iter().all(|(name, _)| name != "redirect_uri"));
}
