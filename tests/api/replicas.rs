//! Replicas (DESIGN §6): two gateway processes' worth of state (two `Application`s on one
//! configuration: same secret, same `key_prefix`, one public URL) sharing the real Redis.
//! What one of them records — a session, its sign-out, a back-channel logout, a used flow
//! state — the other honours. [`spawn_replica`] starts the second one.

use reqwest::StatusCode;

use crate::backchannel::{
    clean, logout_claims, send_logout, signed, signed_in_at, signed_in_browser, spawn_on, Store,
};
use crate::helpers::{
    assert_no_session_cookie_set, assert_redirects_to, error_code, location, Browser, TestApp,
    BROWSER_ACCEPT,
};

/// A second gateway on the configuration of a [`TestApp`], on a port of its own.
pub struct Replica {
    /// `http://127.0.0.1:PORT`; its `public_url` is still the first gateway's, as behind one
    /// load balancer.
    pub address: String,
}

/// Starts a second `Application` from `app.gateway_config` on a fresh port and waits until
/// it is ready. It runs until the test's runtime ends.
pub async fn spawn_replica(app: &TestApp) -> Replica {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the replica port");
    let address = format!("http://{}", listener.local_addr().expect("its address"));
    let gateway =
        portcullis::startup::Application::with_listener(app.gateway_config.clone(), listener)
            .await
            .expect("the replica starts");
    tokio::spawn(gateway.run_until_stopped());
    let probe = reqwest::Client::new();
    for _ in 0..400 {
        if let Ok(resp) = probe.get(format!("{address}/ready")).send().await {
            if resp.status() == StatusCode::OK {
                return Replica { address };
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("the replica at {address} never became ready");
}

/// Signs `browser` out through `base` (a typed navigation: one click, no confirmation).
async fn sign_out_at(base: &str, browser: &Browser) {
    let resp = browser
        .client
        .get(format!("{base}/oauth2/sign_out"))
        .header(reqwest::header::ACCEPT, BROWSER_ACCEPT)
        .send()
        .await
        .expect("sign-out request");
    assert!(
        resp.status().is_redirection(),
        "sign-out answered {}",
        resp.status()
    );
}

#[tokio::test]
async fn redis_store_a_session_from_a_is_used_and_signed_out_at_b_and_then_refused_by_a() {
    let Some((app, prefix)) = spawn_on(Store::Redis, |_| {}).await else {
        return;
    };
    let replica = spawn_replica(&app).await;
    let browser = signed_in_browser(&app).await;
    let cookies = app.session_cookies(&browser);
    assert!(
        signed_in_at(&replica.address, &browser).await,
        "B does not know A's session"
    );

    sign_out_at(&replica.address, &browser).await;

    let kept_cookie = app.browser_with_cookies(&cookies);
    assert!(
        !signed_in_at(&app.address, &kept_cookie).await,
        "A still honours it"
    );
    assert!(!signed_in_at(&replica.address, &kept_cookie).await);
    clean(prefix).await;
}

#[tokio::test]
async fn redis_store_a_back_channel_logout_received_by_b_ends_the_session_on_a() {
    let Some((app, prefix)) =
        spawn_on(Store::Redis, |c| c.behaviour.sid = Some("sid-one".into())).await
    else {
        return;
    };
    let replica = spawn_replica(&app).await;
    let browser = signed_in_browser(&app).await;
    let token = signed(&app, &logout_claims(&app, &[("sid", "sid-one")]));

    let resp = send_logout(&app, &replica.address, &token).await;

    assert_eq!(resp.status(), StatusCode::OK);
    assert!(!signed_in_at(&app.address, &browser).await);
    clean(prefix).await;
}

#[tokio::test]
async fn cookie_store_with_redis_url_a_sign_out_at_a_is_honoured_by_b() {
    let Some((app, prefix)) = spawn_on(Store::CookieWithRedis, |_| {}).await else {
        return;
    };
    let replica = spawn_replica(&app).await;
    let browser = signed_in_browser(&app).await;
    let cookies = app.session_cookies(&browser);
    assert!(signed_in_at(&replica.address, &browser).await);

    sign_out_at(&app.address, &browser).await;

    // The sealed cookie itself is still valid: only the revocation in Redis refuses it.
    let kept_cookie = app.browser_with_cookies(&cookies);
    assert!(
        !signed_in_at(&replica.address, &kept_cookie).await,
        "B honours a revoked cookie"
    );
    clean(prefix).await;
}

#[tokio::test]
async fn a_flow_state_consumed_at_a_cannot_be_replayed_at_b() {
    let Some((app, prefix)) = spawn_on(Store::Redis, |_| {}).await else {
        return;
    };
    let replica = spawn_replica(&app).await;
    let start = app.browser.navigate(&app.start_url("/")).await;
    let authorize_url = location(&start);
    let flow_cookies: Vec<(String, String)> = app
        .browser
        .cookies(&app.callback_url())
        .into_iter()
        .filter(|(name, _)| name.starts_with("_portcullis_flow_"))
        .collect();
    assert!(!flow_cookies.is_empty());
    let authorize = app.browser.navigate(&authorize_url).await;
    let first = app.finish_login(&app.browser, &location(&authorize)).await;
    assert_redirects_to(&first, "/");
    // Another code for the same authorization request (same state), taken to B.
    let again = Browser::new().navigate(&authorize_url).await;
    let at_b = location(&again).replacen(&app.address, &replica.address, 1);
    let replayer = app.browser_with_cookies(&flow_cookies);

    let resp = app.finish_login_as_program(&replayer, &at_b).await;

    assert_no_session_cookie_set(&resp, app.cookie_name());
    assert_eq!(
        error_code(resp).await,
        (StatusCode::BAD_REQUEST, "flow_replayed".to_owned())
    );
    clean(prefix).await;
}
