//! Authorization rules per route (issue 5, point 1): a request passes when both `[authorize]`
//! and the route's `allow` pass; a denial is a 403 page for browsers and JSON for programs,
//! and the upstream never sees the request.
//!
//! The mock provider's user is alice@example.com (verified), groups `staff` and `admins`,
//! signed in with provider `mock`.

use reqwest::header::CONTENT_TYPE;
use reqwest::StatusCode;
use serde_json::json;

use portcullis::identity::Identity;
use portcullis::session::{unix_now, Session};

use crate::echo_upstream::EchoUpstream;
use crate::helpers::{echoed, error_code, spawn_app_with, Browser, TestApp};

/// Routes on the harness's echo upstream, each with one `allow`.
const ROUTES: &str = r#"
[[upstream]]
path = "/admins"
url = "${ECHO_URL}"
allow = { groups = ["admins"] }

[[upstream]]
path = "/ops"
url = "${ECHO_URL}"
allow = { groups = ["ops", "sre"] }

[[upstream]]
path = "/mock-users"
url = "${ECHO_URL}"
allow = { providers = ["mock"], emails = ["alice@example.com"] }

[[upstream]]
path = "/gold"
url = "${ECHO_URL}"
[upstream.allow]
claims = { "/org/tier" = ["gold", "platinum"], department = ["engineering"] }

[[upstream]]
path = "/platinum"
url = "${ECHO_URL}"
allow = { claims = { "/org/tier" = ["platinum"] } }

[[upstream]]
path = "/subdomains"
url = "${ECHO_URL}"
allow = { email_domains = ["*.example.com"] }

[[upstream]]
path = "/staff-admins"
url = "${ECHO_URL}"
allow = { groups = ["staff"], email_domains = ["example.com"], claims = { department = ["sales"] } }
"#;

/// The gateway, and the echo upstream behind every route of [`ROUTES`].
struct RulesApp {
    app: TestApp,
    routes: EchoUpstream,
}

impl std::ops::Deref for RulesApp {
    type Target = TestApp;
    fn deref(&self) -> &TestApp {
        &self.app
    }
}

/// `authorize_extra` is appended after [`ROUTES`], e.g. an `[authorize.claims]` table.
async fn app_with_routes(authorize_extra: &str) -> RulesApp {
    let routes = EchoUpstream::start().await;
    let app = spawn_app_with(|cfg| {
        cfg.extra_toml = format!("{ROUTES}\n{authorize_extra}");
        cfg.env.insert("ECHO_URL".into(), routes.url());
        let claims = &mut cfg.behaviour.id_token_overrides;
        claims.insert("org".into(), json!({ "tier": "gold", "name": "Example" }));
        claims.insert("department".into(), json!("engineering"));
    })
    .await;
    RulesApp { app, routes }
}

/// The `X-Forwarded-User` the upstream behind `path` saw, or the gateway's refusal.
async fn outcome(app: &TestApp, path: &str) -> Result<String, (StatusCode, String)> {
    let resp = app.get(path).await;
    if resp.status() == StatusCode::OK {
        let seen = echoed(resp).await;
        return Ok(seen
            .header("x-forwarded-user")
            .unwrap_or_default()
            .to_owned());
    }
    Err(error_code(resp).await)
}

#[tokio::test]
async fn route_rules_admit_only_matching_users() {
    // Arrange
    let app = app_with_routes("").await;
    app.sign_in().await;
    let allowed = ["/admins/x", "/mock-users", "/gold/report", "/"];
    let denied = ["/ops", "/platinum", "/subdomains", "/staff-admins"];

    for path in allowed {
        // Act
        let result = outcome(&app, path).await;

        // Assert
        assert_eq!(result, Ok("alice-sub-0001".to_owned()), "{path}");
    }
    for path in denied {
        let result = outcome(&app, path).await;
        assert_eq!(
            result,
            Err((StatusCode::FORBIDDEN, "forbidden".to_owned())),
            "{path}"
        );
    }
}

#[tokio::test]
async fn a_denied_browser_gets_the_403_page_and_the_upstream_sees_nothing() {
    // Arrange
    let app = app_with_routes("").await;
    app.sign_in().await;
    let seen_before = app.routes.requests().len();

    // Act
    let page = app.navigate("/ops/dashboard").await;

    // Assert
    assert_eq!(page.status(), StatusCode::FORBIDDEN);
    let content_type = page.headers()[CONTENT_TYPE].to_str().unwrap().to_owned();
    assert!(content_type.starts_with("text/html"), "{content_type}");
    let body = page.text().await.unwrap();
    assert!(body.contains("not allowed"), "{body}");
    assert_eq!(app.routes.requests().len(), seen_before);
}

/// A session sealed by the gateway's own codec for `identity`, as if it had signed in
/// before the rules changed.
fn browser_with_session(app: &TestApp, identity: Identity) -> Browser {
    let now = unix_now();
    let session = Session {
        issued_at: now - 60,
        expires_at: now + 3600,
        checked_at: now,
        ..Session::new(identity, 0, 0)
    };
    app.browser_with_session(&session)
}

#[tokio::test]
async fn both_the_global_and_the_route_rules_must_pass_on_every_request() {
    // Arrange: an admin whose domain [authorize] does not list, and a listed non-admin.
    let app = app_with_routes("").await;
    let outsider = browser_with_session(
        &app,
        Identity {
            user: "eve".into(),
            email: Some("eve@evil.test".into()),
            preferred_username: None,
            groups: vec!["admins".into()],
            provider: "mock".into(),
        },
    );
    let insider = browser_with_session(
        &app,
        Identity {
            user: "bob".into(),
            email: Some("bob@example.com".into()),
            preferred_username: None,
            groups: vec!["staff".into()],
            provider: "mock".into(),
        },
    );

    // Act
    let outsider_admins = outsider
        .client
        .get(app.url("/admins"))
        .send()
        .await
        .unwrap();
    let insider_admins = insider.client.get(app.url("/admins")).send().await.unwrap();
    let insider_root = insider.client.get(app.url("/")).send().await.unwrap();

    // Assert
    assert_eq!(outsider_admins.status(), StatusCode::FORBIDDEN);
    assert_eq!(insider_admins.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        echoed(insider_root).await.header("x-forwarded-user"),
        Some("bob")
    );
}

#[tokio::test]
async fn claim_rules_without_the_id_token_deny() {
    // Arrange: a session with no ID token to read claims from.
    let app = app_with_routes("").await;
    let browser = browser_with_session(
        &app,
        Identity {
            user: "alice-sub-0001".into(),
            email: Some("alice@example.com".into()),
            preferred_username: None,
            groups: vec!["admins".into()],
            provider: "mock".into(),
        },
    );

    // Act
    let gold = browser.client.get(app.url("/gold")).send().await.unwrap();
    let admins = browser.client.get(app.url("/admins")).send().await.unwrap();

    // Assert
    assert_eq!(gold.status(), StatusCode::FORBIDDEN);
    assert_eq!(admins.status(), StatusCode::OK);
}

#[tokio::test]
async fn global_claim_rules_are_checked_at_login() {
    // Arrange: [authorize] also requires a claim the user lacks.
    let app = app_with_routes("[authorize.claims]\n\"/org/tier\" = [\"platinum\"]\n").await;

    // Act
    let callback = app.login(&app.browser, "/").await;

    // Assert
    assert_eq!(callback.status(), StatusCode::FORBIDDEN);
    assert!(app.session_cookies(&app.browser).is_empty());
}

#[tokio::test]
async fn global_claim_rules_admit_users_who_have_the_claim() {
    // Arrange
    let app = app_with_routes("[authorize.claims]\n\"/org/tier\" = [\"gold\"]\n").await;

    // Act
    app.sign_in().await;

    // Assert
    assert_eq!(
        outcome(&app, "/gold").await,
        Ok("alice-sub-0001".to_owned())
    );
    assert_eq!(
        outcome(&app, "/platinum").await,
        Err((StatusCode::FORBIDDEN, "forbidden".to_owned()))
    );
}
