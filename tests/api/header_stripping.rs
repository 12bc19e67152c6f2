//! What reaches the upstream, checked from the upstream's side (DESIGN §4 and §5 items
//! 1–3): forged identity headers never arrive, in any case or spelling and on public routes
//! too; the gateway's cookies never arrive; hop-by-hop fields never arrive; forwarding
//! headers describe the real client.

use portcullis::identity::Identity;
use portcullis::session::{unix_now, Session};

use crate::echo_upstream::EchoedRequest;
use crate::helpers::{
    echoed, fixed_answer_upstream, set_cookies, spawn_app, spawn_app_with, toml_str,
};

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

#[tokio::test]
async fn a_group_name_with_a_comma_cannot_add_groups_to_x_forwarded_groups() {
    // Arrange: a provider-side group named `eng,admins` would read as two groups, one of
    // them `admins`, to an upstream splitting X-Forwarded-Groups on commas.
    let app = spawn_app().await;
    let now = unix_now();
    let session = Session {
        issued_at: now - 60,
        expires_at: now + 3600,
        checked_at: now,
        ..Session::new(
            Identity {
                user: "bob-sub".to_owned(),
                email: Some("bob@example.com".to_owned()),
                preferred_username: Some("bob".to_owned()),
                groups: vec!["staff".to_owned(), "eng,admins".to_owned()],
                provider: "mock".to_owned(),
            },
            0,
            0,
        )
    };
    let browser = app.browser_with_session(&session);

    // Act
    let seen = echoed(browser.client.get(app.url("/app")).send().await.unwrap()).await;

    // Assert
    assert_eq!(seen.header_values("x-forwarded-user"), vec!["bob-sub"]);
    assert_eq!(seen.header_values("x-forwarded-groups"), vec!["staff"]);
}

#[tokio::test]
async fn client_descriptions_of_another_path_or_method_never_reach_the_upstream() {
    // Arrange: headers through which some servers and frameworks (IIS, Symfony, Zend, a
    // forward-auth proxy behind the gateway) take the path or method from the request
    // instead of its request line: `/public` would otherwise serve `/admin`.
    let app = spawn_app().await;

    // Act
    let (status, body) = app
        .raw_request(
            "GET /public/page HTTP/1.1\r\nHost: {host}\r\nX-Original-URL: /admin\r\n\
             X-Rewrite-URL: /admin\r\nX-Forwarded-Uri: /admin\r\nX-Forwarded-Method: DELETE\r\n\
             X-Original-Method: DELETE\r\nX_Original_URL: /admin\r\nx-rewrite_url: /admin\r\n\
             X-Kept: yes",
            "",
        )
        .await;

    // Assert
    assert_eq!(status, 200, "{body}");
    let seen: EchoedRequest = serde_json::from_str(&body).unwrap();
    assert_eq!(seen.header("x-kept"), Some("yes"));
    for (name, value) in &seen.headers {
        assert!(
            !value.contains("/admin") && value != "DELETE",
            "{name}: {value} reached the upstream"
        );
    }
}

/// An answer setting the gateway's cookies (the session, a chunk, a flow cookie) and two
/// of the upstream's own.
const SETS_GATEWAY_COOKIES: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\
    Connection: close\r\nSet-Cookie: _portcullis=forged; Path=/; HttpOnly\r\n\
    Set-Cookie: _portcullis_0=forged-chunk; Path=/\r\n\
    Set-Cookie: _portcullis_flow_0123abcd=forged; Path=/oauth2/callback\r\n\
    Set-Cookie:  _portcullis =spaced; Path=/\r\nSet-Cookie: app_session=kept; Path=/\r\n\
    Set-Cookie: _portcullisX=kept-too; Path=/\r\n\r\nok";

#[tokio::test]
async fn an_upstream_cannot_set_the_gateways_cookies() {
    // Arrange: the session cookie is the gateway's alone (DESIGN §5 item 2, the other way):
    // an upstream setting it could sign every visitor in as someone else, or out.
    let upstream = fixed_answer_upstream(SETS_GATEWAY_COOKIES).await;
    let app = spawn_app_with(|cfg| {
        cfg.extra_toml = format!(
            "[[upstream]]\npath = \"/sets-cookies\"\nurl = {url}\n\n\
             [[upstream]]\npath = \"/open-sets-cookies\"\nurl = {url}\npublic = true\n",
            url = toml_str(&upstream)
        );
    })
    .await;
    app.sign_in().await;
    let session_before = app.session_cookies(&app.browser);

    for path in ["/sets-cookies/x", "/open-sets-cookies/x"] {
        // Act
        let resp = app.get(path).await;

        // Assert
        assert_eq!(resp.status(), 200, "{path}");
        let cookies = set_cookies(&resp);
        let names: Vec<&str> = cookies
            .iter()
            .map(|cookie| cookie.split('=').next().unwrap_or_default().trim())
            .collect();
        assert!(names.contains(&"app_session"), "{path}: {cookies:?}");
        assert!(names.contains(&"_portcullisX"), "{path}: {cookies:?}");
        for name in names {
            assert!(
                name != "_portcullis" && !name.starts_with("_portcullis_"),
                "{path}: the upstream set the gateway's cookie: {cookies:?}"
            );
        }
        assert_eq!(app.session_cookies(&app.browser), session_before, "{path}");
    }
    let seen = echoed(app.get("/app").await).await;
    assert_eq!(seen.header("x-forwarded-user"), Some("alice-sub-0001"));
}
