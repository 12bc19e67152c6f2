//! What reaches the upstream, checked from the upstream's side (DESIGN §4 and §5 items
//! 1–3): forged identity headers never arrive, in any case or spelling and on public routes
//! too; the gateway's cookies never arrive; hop-by-hop fields never arrive; forwarding
//! headers describe the real client.

use crate::echo_upstream::EchoedRequest;
use crate::helpers::{echoed, spawn_app, spawn_app_with};

/// Every header the gateway sets to say who the user is.
const IDENTITY_HEADERS: [&str; 6] = [
    "x-forwarded-user",
    "x-forwarded-email",
    "x-forwarded-preferred-username",
    "x-forwarded-groups",
    "x-forwarded-access-token",
    "x-forwarded-provider",
];

/// The identity headers `seen` carries, matched as the rule says: any case, `_` for `-`.
fn identity_headers_in(seen: &EchoedRequest) -> Vec<(String, String)> {
    seen.headers
        .iter()
        .filter(|(name, _)| {
            let normalized = name.to_ascii_lowercase().replace('_', "-");
            IDENTITY_HEADERS.contains(&normalized.as_str())
        })
        .cloned()
        .collect()
}

fn forged(builder: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
    builder
        .header("X-Forwarded-User", "mallory")
        .header("X-Forwarded-Email", "mallory@example.com")
        .header("X-Forwarded-Preferred-Username", "root")
        .header("X-Forwarded-Groups", "admins")
        .header("X-Forwarded-Access-Token", "forged-token")
        .header("X-Forwarded-Provider", "forged")
        .header("X_Forwarded_User", "mallory")
        .header("x_forwarded_email", "mallory@example.com")
        .header("X-Forwarded_Groups", "admins")
}

#[tokio::test]
async fn forged_identity_headers_are_replaced_for_a_signed_in_user() {
    let app = spawn_app().await;
    app.sign_in().await;

    let seen = echoed(
        forged(app.request(reqwest::Method::GET, "/app"))
            .send()
            .await
            .unwrap(),
    )
    .await;

    assert_eq!(
        seen.header_values("x-forwarded-user"),
        vec!["alice-sub-0001"]
    );
    assert_eq!(
        seen.header_values("x-forwarded-email"),
        vec!["alice@example.com"]
    );
    assert_eq!(
        seen.header_values("x-forwarded-preferred-username"),
        vec!["alice"]
    );
    assert_eq!(
        seen.header_values("x-forwarded-groups"),
        vec!["staff,admins"]
    );
    assert!(!seen.has_header("x-forwarded-access-token"));
    for (name, value) in identity_headers_in(&seen) {
        assert!(
            !value.contains("mallory") && !value.contains("forged") && value != "root",
            "forged {name}: {value} reached the upstream"
        );
        assert!(!name.contains('_'), "{name} reached the upstream");
    }
}

#[tokio::test]
async fn forged_identity_headers_never_reach_a_public_route() {
    let app = spawn_app().await;

    let resp = forged(app.request(reqwest::Method::GET, "/public/page"))
        .send()
        .await
        .unwrap();
    let seen = echoed(resp).await;

    assert_eq!(seen.path, "/public/page");
    assert_eq!(identity_headers_in(&seen), Vec::<(String, String)>::new());
}

#[tokio::test]
async fn forged_identity_headers_in_any_case_are_stripped() {
    let app = spawn_app().await;

    let (status, body) = app
        .raw_request(
            "GET /public/raw HTTP/1.1\r\nHost: {host}\r\nX-FORWARDED-USER: mallory\r\n\
             x-Forwarded-Email: mallory@example.com\r\nX_FORWARDED_GROUPS: admins\r\n\
             x_forwarded_preferred_username: root\r\nX-Forwarded-Access-TOKEN: forged",
            "",
        )
        .await;

    assert_eq!(status, 200, "{body}");
    let seen: EchoedRequest = serde_json::from_str(&body).unwrap();
    assert_eq!(seen.path, "/public/raw");
    assert_eq!(identity_headers_in(&seen), Vec::<(String, String)>::new());
}

#[tokio::test]
async fn a_forged_authorization_header_is_replaced_when_the_gateway_sets_one() {
    let app = spawn_app_with(|cfg| cfg.pass_authorization_header = true).await;
    app.sign_in().await;

    let resp = app
        .request(reqwest::Method::GET, "/app")
        .header("Authorization", "Bearer forged.jwt.value")
        .send()
        .await
        .unwrap();
    let seen = echoed(resp).await;

    let values = seen.header_values("authorization");
    assert_eq!(values.len(), 1, "{values:?}");
    assert!(values[0].starts_with("Bearer ey"), "{values:?}");
    assert!(!values[0].contains("forged"));
}

#[tokio::test]
async fn the_gateways_cookies_never_reach_the_upstream() {
    let app = spawn_app().await;
    app.sign_in().await;
    let address = app.address.clone();
    app.browser.set_cookie(&address, "theme", "dark");
    app.browser
        .set_cookie(&address, "_portcullis_0", "chunk-looking");
    app.browser
        .set_cookie(&address, "_portcullis_flow_0123abcd", "flow-looking");
    app.browser.set_cookie(&address, "_portcullisX", "not-ours");

    let seen = echoed(app.get("/app").await).await;

    let names: Vec<String> = seen.cookies().into_iter().map(|(n, _)| n).collect();
    assert!(names.contains(&"theme".to_owned()), "{names:?}");
    assert!(names.contains(&"_portcullisX".to_owned()), "{names:?}");
    for name in &names {
        assert!(
            name != "_portcullis" && !name.starts_with("_portcullis_"),
            "gateway cookie {name} reached the upstream"
        );
    }
    assert_eq!(seen.header("x-forwarded-user"), Some("alice-sub-0001"));
}

#[tokio::test]
async fn the_gateways_cookies_never_reach_a_public_route() {
    let app = spawn_app().await;
    app.sign_in().await;

    let seen = echoed(app.get("/public/x").await).await;

    let session_cookies = seen
        .cookies()
        .into_iter()
        .filter(|(name, _)| name.starts_with("_portcullis"))
        .count();
    assert_eq!(session_cookies, 0, "{:?}", seen.cookies());
}

#[tokio::test]
async fn hop_by_hop_headers_are_removed() {
    let app = spawn_app().await;

    let (status, body) = app
        .raw_request(
            "GET /public/hop HTTP/1.1\r\nHost: {host}\r\nConnection: close, X-Hop-Secret\r\n\
             X-Hop-Secret: must-not-pass\r\nKeep-Alive: timeout=5\r\n\
             Proxy-Connection: keep-alive\r\nTE: trailers\r\nX-End-To-End: kept",
            "",
        )
        .await;

    assert_eq!(status, 200, "{body}");
    let seen: EchoedRequest = serde_json::from_str(&body).unwrap();
    assert_eq!(seen.header("x-end-to-end"), Some("kept"));
    for hop in ["x-hop-secret", "keep-alive", "proxy-connection", "te"] {
        assert!(
            !seen.has_header(hop),
            "{hop} reached the upstream: {:?}",
            seen.headers
        );
    }
    for value in seen.header_values("connection") {
        assert!(
            !value.to_ascii_lowercase().contains("x-hop-secret"),
            "{value}"
        );
    }
}

#[tokio::test]
async fn a_connection_header_cannot_remove_the_gateways_identity_headers() {
    let app = spawn_app().await;
    app.sign_in().await;

    let resp = app
        .request(reqwest::Method::GET, "/app")
        .header("Connection", "X-Forwarded-User, X-Forwarded-Email")
        .send()
        .await
        .unwrap();
    let seen = echoed(resp).await;

    assert_eq!(
        seen.header_values("x-forwarded-user"),
        vec!["alice-sub-0001"]
    );
    assert_eq!(
        seen.header_values("x-forwarded-email"),
        vec!["alice@example.com"]
    );
}

#[tokio::test]
async fn forwarding_headers_describe_the_real_client() {
    let app = spawn_app().await;

    let resp = app
        .request(reqwest::Method::GET, "/public/fwd")
        .header("X-Forwarded-For", "6.6.6.6")
        .header("X-Forwarded-Proto", "https")
        .header("X-Forwarded-Host", "evil.example")
        .send()
        .await
        .unwrap();
    let seen = echoed(resp).await;

    assert_eq!(seen.header_values("x-forwarded-for"), vec!["127.0.0.1"]);
    assert_eq!(seen.header_values("x-forwarded-proto"), vec!["http"]);
    assert_eq!(
        seen.header_values("x-forwarded-host"),
        vec![app.addr.to_string().as_str()]
    );
}

#[tokio::test]
async fn the_request_body_method_and_query_pass_through_unchanged() {
    let app = spawn_app().await;
    app.sign_in().await;

    let resp = app
        .request(reqwest::Method::PUT, "/app/items/7?a=1&a=2&b=%2F")
        .header("content-type", "application/json")
        .header("x-custom", "one")
        .body(r#"{"name":"seven"}"#)
        .send()
        .await
        .unwrap();
    let seen = echoed(resp).await;

    assert_eq!(seen.method, "PUT");
    assert_eq!(seen.path, "/app/items/7");
    assert_eq!(seen.query.as_deref(), Some("a=1&a=2&b=%2F"));
    assert_eq!(seen.body, r#"{"name":"seven"}"#);
    assert_eq!(seen.header("content-type"), Some("application/json"));
    assert_eq!(seen.header("x-custom"), Some("one"));
}
