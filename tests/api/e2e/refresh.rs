//! Token renewal against the real provider (DESIGN §6, "Refresh"): short-lived access tokens,
//! refresh tokens rotated on every use with reuse detection (a second redemption of one
//! token revokes the whole grant). Twenty requests of one session at the moment its access
//! token expires all succeed on exactly one refresh grant, and so again after two more
//! expiries; nothing is ever redeemed twice (no failed grant, no revoked grant). In both
//! stores.

use futures::future::join_all;
use portcullis::session::unix_now;
use reqwest::StatusCode;

use super::support::{
    deployment, sign_in_browserless, text_of, unescape, Deployment, OpSettings, OpStats, Settings,
};
use crate::helpers::Browser;
use crate::redis_server::{cleanup, shared_redis_prefix};
use crate::refresh::sleep_until;

const ALICE: &str = "alice@example.com";
/// Seconds the provider's access tokens live.
const TTL: u64 = 6;

fn settings(session_extra: String) -> Settings {
    Settings {
        op: OpSettings {
            access_token_ttl: Some(TTL as u32),
            ..OpSettings::default()
        },
        // At most half the token's lifetime.
        session_extra: format!("refresh_before = \"3s\"\n{session_extra}"),
        pass_access_token: true,
        ..Settings::default()
    }
}

/// The access token the echo upstream got for one navigation of `browser`.
async fn access_token(e2e: &Deployment, browser: &Browser) -> String {
    let page = text_of(browser.navigate(&e2e.url("/")).await, StatusCode::OK).await;
    let marker = "<th scope=\"row\">x-forwarded-access-token</th><td>";
    let start = page.find(marker).expect("the echo shows the access token") + marker.len();
    let end = start + page[start..].find("</td>").expect("end of the cell");
    unescape(&page[start..end])
}

async fn twenty_requests_at_each_of_three_expiries(e2e: &Deployment) {
    let browser = sign_in_browserless(e2e, ALICE).await;
    let mut issued_by = unix_now();
    let mut token = access_token(e2e, &browser).await;
    assert_eq!(e2e.op().stats().await, OpStats::default());

    for expiry in 1..=3 {
        sleep_until(issued_by + TTL).await;
        let tokens = join_all((0..20).map(|_| access_token(e2e, &browser))).await;
        issued_by = unix_now();
        assert_ne!(
            tokens[0], token,
            "expiry {expiry}: the old token was passed on"
        );
        assert!(
            tokens.iter().all(|t| *t == tokens[0]),
            "expiry {expiry}: the requests saw different tokens: {tokens:?}"
        );
        assert_eq!(
            e2e.op().stats().await,
            OpStats {
                refresh_grants: expiry,
                ..OpStats::default()
            },
            "expiry {expiry}: exactly one refresh grant, none failed, no grant revoked"
        );
        token = tokens[0].clone();
    }
    assert_eq!(access_token(e2e, &browser).await, token);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_requests_at_each_expiry_share_one_rotating_refresh_in_the_cookie_store() {
    let Some(e2e) = deployment(settings(String::new())).await else {
        return;
    };
    twenty_requests_at_each_of_three_expiries(&e2e).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_requests_at_each_expiry_share_one_rotating_refresh_in_the_redis_store() {
    let Some(prefix) = shared_redis_prefix() else {
        return;
    };
    let redis = format!(
        "store = \"redis\"\nredis_url = \"redis://127.0.0.1:6379/0\"\nkey_prefix = \"{prefix}\"\n"
    );
    let Some(e2e) = deployment(settings(redis)).await else {
        cleanup(&prefix).await;
        return;
    };
    twenty_requests_at_each_of_three_expiries(&e2e).await;
    cleanup(&prefix).await;
}
