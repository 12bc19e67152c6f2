use std::sync::Arc;
use std::time::Instant;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use sha2::{Digest, Sha256};

use crate::config::{ProviderPreset, TokenEndpointAuth};
use crate::pages::Pages;
use crate::providers::dev::{DevProvider, DevUser, PendingCode};
use crate::providers::oidc::{OidcProvider, ProviderSettings};
use crate::providers::Provider;

const VERIFIER: &str = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGH";

/// The development provider served on a loopback port, and the gateway's client of it.
async fn served() -> (Arc<DevProvider>, Provider) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let public_url = format!("http://{}", listener.local_addr().unwrap());
    let pages = Arc::new(Pages::new().unwrap());
    let dev = Arc::new(DevProvider::new(&public_url, "dev", "portcullis", pages).unwrap());
    let app: axum::Router = Arc::clone(&dev).router();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let client = OidcProvider::new(
        ProviderSettings {
            id: "dev".into(),
            name: "Development".into(),
            issuer: dev.issuer().to_owned(),
            client_id: "portcullis".into(),
            client_secret: dev.client_secret(),
            scopes: vec!["openid".into(), "email".into()],
            token_endpoint_auth: TokenEndpointAuth::ClientSecretBasic,
            redirect_uri: dev.redirect_uri.clone(),
            preset: ProviderPreset::None,
            logo: "logo.svg",
            allow_unverified_email: false,
        },
        reqwest::Client::new(),
    );
    client.discover().await.unwrap();
    (dev, Provider::Oidc(client))
}

/// A code as the "sign in as" form leaves it.
fn pending_code(dev: &DevProvider) {
    let user = DevUser {
        email: "ada@example.com".into(),
        name: "Ada".into(),
        groups: vec!["staff".into()],
    };
    dev.codes.lock().unwrap().insert(
        "code-1".into(),
        PendingCode {
            user,
            redirect_uri: dev.redirect_uri.clone(),
            nonce: Some("n-1".into()),
            code_challenge: URL_SAFE_NO_PAD.encode(Sha256::digest(VERIFIER.as_bytes())),
            issued: Instant::now(),
        },
    );
}

/// The shipped configuration can refresh: the login brings a refresh token, each refresh a
/// new one and a new ID token (no nonce), and a redeemed one is refused for good.
#[tokio::test]
async fn the_development_provider_rotates_refresh_tokens() {
    let (dev, client) = served().await;
    pending_code(&dev);
    let login = client
        .complete_login("code-1", VERIFIER, "n-1")
        .await
        .unwrap();
    let first = login.refresh_token.unwrap();

    let renewed = client.refresh(&first, &login.identity).await.unwrap();
    let second = renewed.refresh_token.unwrap();
    assert_ne!(second, first);
    assert_eq!(renewed.identity, login.identity);
    assert!(renewed.id_token.is_some());

    let reused = client.refresh(&first, &login.identity).await.err().unwrap();
    assert!(reused.ends_session(), "{reused:?}");
    assert!(client.refresh(&second, &login.identity).await.is_ok());
}
