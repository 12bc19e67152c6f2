//! The provider's test-only counters (`/test/stats`, e2e/op/server.js) count what the refresh
//! and back-channel logout journeys will rely on (DESIGN §6): refresh grants and their
//! failures, rotation with reuse detection, revoked grants, back-channel logouts. The gateway
//! side is not exercised here; the tokens are the test's own, from a code flow at the provider.

use std::sync::{Arc, Mutex};

use reqwest::StatusCode;
use serde_json::Value;

use super::support::{
    deployment, end_op_session, follow_at_op, sign_in_browserless, text_of, tokens_at_op,
    Backchannel, OpSettings, OpStats, Settings,
};

const ALICE: &str = "alice@example.com";

#[tokio::test]
async fn a_gateway_sign_in_refreshes_nothing_and_ending_the_op_session_sends_its_back_channel_logout(
) {
    let receiver = BackchannelReceiver::start().await;
    let settings = Settings {
        op: OpSettings {
            backchannel_logout: Backchannel::To(receiver.url.clone()),
            ..OpSettings::default()
        },
        ..Settings::default()
    };
    let Some(e2e) = deployment(settings).await else {
        return;
    };
    assert_eq!(e2e.op().stats().await, OpStats::default());

    let browser = sign_in_browserless(&e2e, ALICE).await;
    assert_eq!(
        e2e.op().stats().await,
        OpStats::default(),
        "a sign-in redeems a code, never a refresh token"
    );

    // The test's own tokens in the same provider session (SSO: no forms), refreshed once.
    let tokens = tokens_at_op(&browser, &e2e, ALICE).await;
    let (status, refreshed) = refresh(&e2e, &tokens).await;
    assert_eq!(status, StatusCode::OK, "{refreshed}");

    end_op_session(&browser, e2e.op()).await;
    let logout_tokens = receiver.logout_tokens();
    assert_eq!(logout_tokens.len(), 1, "{logout_tokens:?}");
    let claims = jwt_claims(&logout_tokens[0]);
    assert_eq!(claims["sub"], "alice", "{claims}");
    assert!(claims["sid"].is_string(), "{claims}");

    // The refresh token was bound to the session that just ended.
    let (status, answer) = refresh(&e2e, &refreshed).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert_eq!(answer["error"], "invalid_grant", "{answer}");
    assert_eq!(
        e2e.op().stats().await,
        OpStats {
            refresh_grants: 2,
            refresh_failures: 1,
            backchannel_logouts: 1,
            grants_revoked: 1,
            ..OpStats::default()
        }
    );

    e2e.op().reset_stats().await;
    assert_eq!(e2e.op().stats().await, OpStats::default());
}

#[tokio::test]
async fn an_admin_logout_at_the_provider_ends_every_session_of_the_account() {
    let receiver = BackchannelReceiver::start().await;
    let settings = Settings {
        op: OpSettings {
            backchannel_logout: Backchannel::To(receiver.url.clone()),
            ..OpSettings::default()
        },
        ..Settings::default()
    };
    let Some(e2e) = deployment(settings).await else {
        return;
    };
    let laptop = sign_in_browserless(&e2e, ALICE).await;
    let _phone = sign_in_browserless(&e2e, ALICE).await;
    // bob is no example.com address, so not through the gateway: tokens of the test's own.
    let bob = tokens_at_op(&crate::helpers::Browser::new(), &e2e, "bob@example.org").await;

    assert_eq!(e2e.op().end_sessions_of("alice").await, 2);
    let sids: Vec<Value> = receiver
        .logout_tokens()
        .iter()
        .map(|token| jwt_claims(token))
        .inspect(|claims| assert_eq!(claims["sub"], "alice", "{claims}"))
        .map(|claims| claims["sid"].clone())
        .collect();
    assert_eq!(sids.len(), 2, "{sids:?}");
    assert_ne!(sids[0], sids[1], "one logout token per session");
    let (status, answer) = refresh(&e2e, &bob).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "bob's session should live on: {answer}"
    );
    assert_eq!(
        e2e.op().stats().await,
        OpStats {
            refresh_grants: 1,
            backchannel_logouts: 2,
            grants_revoked: 2,
            ..OpStats::default()
        }
    );
    // alice's session is gone at the provider: a new authorization asks for the password.
    let start = e2e.url("/oauth2/start?provider=op&rd=/");
    let authorize = crate::helpers::location(&laptop.navigate(&start).await);
    let (page, _) = follow_at_op(&laptop, e2e.op(), &authorize).await;
    assert!(text_of(page, StatusCode::OK)
        .await
        .contains("id=\"password\""));
    assert_eq!(e2e.op().end_sessions_of("alice").await, 0);
}

#[tokio::test]
async fn a_refresh_token_rotates_and_its_reuse_fails_and_revokes_the_grant() {
    let Some(e2e) = deployment(Settings {
        op: OpSettings {
            access_token_ttl: Some(120),
            ..OpSettings::default()
        },
        ..Settings::default()
    })
    .await
    else {
        return;
    };
    let tokens = tokens_at_op(&crate::helpers::Browser::new(), &e2e, ALICE).await;
    assert_eq!(tokens["expires_in"], 120, "{tokens}");

    let (status, rotated) = refresh(&e2e, &tokens).await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    assert_ne!(rotated["refresh_token"], tokens["refresh_token"]);
    assert_eq!(
        e2e.op().stats().await,
        OpStats {
            refresh_grants: 1,
            ..OpStats::default()
        }
    );

    // Reuse of the consumed token: refused, and the grant (so the rotated token) is revoked.
    for used in [&tokens, &rotated] {
        let (status, answer) = refresh(&e2e, used).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
        assert_eq!(answer["error"], "invalid_grant", "{answer}");
    }
    assert_eq!(
        e2e.op().stats().await,
        OpStats {
            refresh_grants: 3,
            refresh_failures: 2,
            grants_revoked: 1,
            ..OpStats::default()
        }
    );
}

/// A refresh grant with the `refresh_token` of `tokens`.
async fn refresh(e2e: &super::support::Deployment, tokens: &Value) -> (StatusCode, Value) {
    let refresh_token = tokens["refresh_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no refresh token in {tokens}"));
    e2e.op()
        .token_request(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ])
        .await
}

/// The payload of a JWT, unverified (the provider's own signature is not under test here).
fn jwt_claims(jwt: &str) -> Value {
    use base64::Engine as _;
    let payload = jwt.split('.').nth(1).expect("a JWT payload");
    let json = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url payload");
    serde_json::from_slice(&json).expect("JSON payload")
}

/// A back-channel logout endpoint that answers 200 and keeps each `logout_token`.
struct BackchannelReceiver {
    url: String,
    received: Arc<Mutex<Vec<String>>>,
}

impl BackchannelReceiver {
    async fn start() -> BackchannelReceiver {
        let received = Arc::new(Mutex::new(Vec::new()));
        let store = received.clone();
        let app = axum::Router::new().route(
            "/backchannel_logout",
            axum::routing::post(
                move |axum::Form(form): axum::Form<std::collections::HashMap<String, String>>| {
                    let store = store.clone();
                    async move {
                        if let Some(token) = form.get("logout_token") {
                            store.lock().unwrap().push(token.clone());
                        }
                        StatusCode::OK
                    }
                },
            ),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the back-channel receiver");
        let url = format!(
            "http://{}/backchannel_logout",
            listener.local_addr().expect("its address")
        );
        tokio::spawn(async move { axum::serve(listener, app).await });
        BackchannelReceiver { url, received }
    }

    fn logout_tokens(&self) -> Vec<String> {
        self.received.lock().unwrap().clone()
    }
}
