//! Back-channel logout from the real provider (OpenID Connect Back-Channel Logout 1.0,
//! DESIGN §6): the client's `backchannel_logout_uri` is the gateway's endpoint, so a
//! provider session that ends without the gateway (an admin's logout, or the user's at the
//! provider's own end-session page) ends the gateway session too, and the provider counts a
//! delivered notification.

use reqwest::StatusCode;

use super::support::{
    deployment, end_op_session, sign_in_browserless, Backchannel, Deployment, OpSettings, Settings,
};
use crate::helpers::Browser;

const ALICE: &str = "alice@example.com";

fn with_backchannel_to_the_gateway() -> Settings {
    Settings {
        op: OpSettings {
            backchannel_logout: Backchannel::Gateway,
            ..OpSettings::default()
        },
        ..Settings::default()
    }
}

/// Whether `browser` gets through the gateway to the echo upstream, as a program would ask.
async fn signed_in(e2e: &Deployment, browser: &Browser) -> bool {
    let resp = browser.client.get(e2e.url("/")).send().await.unwrap();
    match resp.status() {
        StatusCode::OK => true,
        StatusCode::UNAUTHORIZED => false,
        other => panic!("expected 200 or 401, got {other}"),
    }
}

/// Asserts one notification delivered and none failed.
async fn assert_one_logout_delivered(e2e: &Deployment) {
    let stats = e2e.op().stats().await;
    assert_eq!(stats.backchannel_logouts, 1, "{stats:?}");
    assert_eq!(stats.backchannel_errors, 0, "{stats:?}");
}

#[tokio::test]
async fn ending_the_provider_sessions_of_a_user_ends_the_gateway_session() {
    let Some(e2e) = deployment(with_backchannel_to_the_gateway()).await else {
        return;
    };
    let browser = sign_in_browserless(&e2e, ALICE).await;
    assert!(signed_in(&e2e, &browser).await);

    let ended = e2e.op().end_sessions_of("alice").await;

    assert_eq!(ended, 1);
    assert!(
        !signed_in(&e2e, &browser).await,
        "the gateway session outlived the provider's"
    );
    assert_one_logout_delivered(&e2e).await;
}

#[tokio::test]
async fn a_logout_at_the_providers_own_page_ends_that_sessions_gateway_session_only() {
    let Some(e2e) = deployment(with_backchannel_to_the_gateway()).await else {
        return;
    };
    let browser = sign_in_browserless(&e2e, ALICE).await;
    // Another client of the same user: another provider session, another sid.
    let elsewhere = sign_in_browserless(&e2e, ALICE).await;

    end_op_session(&browser, e2e.op()).await;

    assert!(
        !signed_in(&e2e, &browser).await,
        "the gateway session outlived the provider's"
    );
    assert!(
        signed_in(&e2e, &elsewhere).await,
        "another provider session's gateway session ended"
    );
    assert_one_logout_delivered(&e2e).await;
}
