//! `kind = "github"` against a GitHub Enterprise-shaped fake (`{base}/api/v3`): identity from
//! /user, the primary verified email, orgs and teams with Link-header pagination; and the
//! memberships read again during the session (`membership_refresh`).

use portcullis::session::{unix_now, Session};
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{
    assert_redirects_to, echoed, error_code, set_cookies, spawn_app_with, TestApp, TestConfig,
};
use crate::presets::fake::{userinfo, Fake};

async fn github(extra: &str) -> (Fake, TestApp) {
    github_with(extra, |_| {}).await
}

async fn github_with(extra: &str, change: impl FnOnce(&mut TestConfig)) -> (Fake, TestApp) {
    let fake = Fake::start().await;
    fake.script().token = json!({
        "access_token": "gho_16C7e42F292c6912E7710c838347Ae178B4a",
        "scope": "read:org,read:user,user:email",
        "token_type": "bearer",
    });
    fake.answer(
        "/api/v3/user",
        json!({ "login": "octocat", "id": 583231, "node_id": "MDQ6VXNlcjU4MzIzMQ==",
                "type": "User", "name": "The Octocat", "email": null }),
    );
    fake.answer(
        "/api/v3/user/emails?per_page=100",
        json!([
            { "email": "octocat@example.com", "verified": true, "primary": true, "visibility": "private" },
            { "email": "octo@elsewhere.org", "verified": false, "primary": false, "visibility": null },
        ]),
    );
    fake.answer(
        "/api/v3/user/orgs?per_page=100",
        json!([{ "login": "acme", "id": 1, "url": "https://api.github.com/orgs/acme" }]),
    );
    fake.answer_page(
        "/api/v3/user/teams?per_page=100",
        json!([{ "id": 1, "name": "Platform", "slug": "platform",
                 "organization": { "login": "acme", "id": 1 } }]),
        "/api/v3/user/teams?per_page=100&page=2",
    );
    fake.answer(
        "/api/v3/user/teams?per_page=100&page=2",
        json!([{ "id": 2, "name": "Web", "slug": "web",
                 "organization": { "login": "acme", "id": 1 } }]),
    );
    let block = format!(
        "[[provider]]\nid = \"github\"\nkind = \"github\"\nbase_url = \"{}\"\n\
         client_id = \"Iv1.portcullis\"\nclient_secret = \"${{MOCK_CLIENT_SECRET}}\"\n{extra}\n",
        fake.url
    );
    let app = spawn_app_with(|c| {
        c.provider_id = "github".into();
        c.provider_blocks = Some(block);
        change(c);
    })
    .await;
    (fake, app)
}

#[tokio::test]
async fn a_team_member_signs_in_with_orgs_and_teams_from_every_page() {
    // acme/web is only on the second page of /user/teams.
    let (fake, app) = github("teams = [\"acme/web\"]").await;

    let resp = fake.login(&app, &app.browser, "github").await;

    assert_redirects_to(&resp, "/");
    let me = userinfo(&app, &app.browser).await;
    assert_eq!(me["user"], "583231");
    assert_eq!(me["email"], "octocat@example.com");
    assert_eq!(me["preferred_username"], "octocat");
    assert_eq!(me["groups"], json!(["acme", "acme/platform", "acme/web"]));
    let script = fake.script();
    let authorize = &script.authorize[0];
    assert_eq!(
        authorize.get("scope"),
        Some("read:user user:email read:org")
    );
    assert_eq!(authorize.get("code_challenge_method"), Some("S256"));
    assert!(authorize.get("state").is_some_and(|s| s.len() >= 22));
    assert_eq!(
        authorize.get("nonce"),
        None,
        "no nonce without OpenID Connect"
    );
    assert!(script
        .api_authorization
        .iter()
        .all(|a| a.as_deref() == Some("Bearer gho_16C7e42F292c6912E7710c838347Ae178B4a")));
}

#[tokio::test]
async fn an_unverified_primary_email_is_refused() {
    let (fake, app) = github("").await;
    fake.answer(
        "/api/v3/user/emails?per_page=100",
        json!([
            { "email": "octocat@example.com", "verified": false, "primary": true, "visibility": "private" },
            { "email": "octo@example.com", "verified": true, "primary": false, "visibility": null },
        ]),
    );

    let resp = fake.login(&app, &app.browser, "github").await;

    assert_eq!(resp.status(), 403);
    assert!(app.session_cookies(&app.browser).is_empty());
}

#[tokio::test]
async fn a_user_outside_the_required_team_is_refused() {
    let (fake, app) = github("orgs = [\"acme\"]\nteams = [\"acme/security\"]").await;

    let resp = fake.login(&app, &app.browser, "github").await;

    assert_eq!(resp.status(), 403);
}

#[tokio::test]
async fn a_user_outside_the_required_org_is_refused() {
    let (fake, app) = github("orgs = [\"initech\"]").await;

    let resp = fake.login(&app, &app.browser, "github").await;

    assert_eq!(resp.status(), 403);
}

#[tokio::test]
async fn a_token_error_answered_with_200_is_refused() {
    let (fake, app) = github("").await;
    // GitHub answers a bad code with 200 and an error object.
    fake.script().token = json!({
        "error": "bad_verification_code",
        "error_description": "The code passed is incorrect or expired.",
        "error_uri": "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/#bad-verification-code",
    });

    let resp = fake.login(&app, &app.browser, "github").await;

    assert_eq!(resp.status(), 400);
}

const ORGS: &str = "/api/v3/user/orgs?per_page=100";
const TEAMS_PAGE_2: &str = "/api/v3/user/teams?per_page=100&page=2";
/// The default `membership_refresh`: a session whose last check is this old is due for one.
const HOUR: u64 = 3600;
/// Every group of the scripted user at login.
const GROUPS_AT_LOGIN: &str = "acme,acme/platform,acme/web";

/// Rewrites the default browser's session as if its last check was `seconds` ago.
fn age_the_last_check(app: &TestApp, seconds: u64) {
    let codec = app.session_codec();
    let (name, sealed) = app.session_cookies(&app.browser).remove(0);
    let mut session = Session::open(&codec, &sealed, unix_now()).expect("a valid session");
    session.checked_at -= seconds;
    app.browser
        .set_cookie(&app.address, &name, &session.seal(&codec).unwrap());
}

fn sets_the_session(set_cookies: &[String]) -> bool {
    set_cookies
        .iter()
        .any(|c| c.starts_with("_portcullis=") && !c.starts_with("_portcullis=;"))
}

fn clears_the_session(set_cookies: &[String]) -> bool {
    set_cookies
        .iter()
        .any(|c| c.starts_with("_portcullis=;") && c.contains("Max-Age=0"))
}

async fn signed_in(fake: &Fake, app: &TestApp) {
    let resp = fake.login(app, &app.browser, "github").await;
    assert_redirects_to(&resp, "/");
}

#[tokio::test]
async fn a_user_removed_from_the_required_org_is_signed_out_at_the_next_check() {
    let (fake, app) = github("orgs = [\"acme\"]").await;
    signed_in(&fake, &app).await;
    fake.answer(ORGS, json!([]));
    age_the_last_check(&app, HOUR);

    let resp = app.navigate("/").await;

    assert_redirects_to(&resp, "/oauth2/sign_in");
    assert!(
        clears_the_session(&set_cookies(&resp)),
        "{:?}",
        set_cookies(&resp)
    );
    assert!(app.session_cookies(&app.browser).is_empty());
}

#[tokio::test]
async fn a_team_added_on_github_reaches_the_upstream_and_the_route_rules_at_the_next_check() {
    let (fake, app) = github_with("", |c| {
        c.extra_toml = "[[upstream]]\npath = \"/security\"\nurl = \"{echo}\"\n\
                        allow = { groups = [\"acme/security\"] }"
            .into();
    })
    .await;
    signed_in(&fake, &app).await;
    assert_eq!(app.navigate("/security").await.status(), 403);
    fake.answer(
        TEAMS_PAGE_2,
        json!([{ "id": 2, "name": "Web", "slug": "web", "organization": { "login": "acme", "id": 1 } },
               { "id": 3, "name": "Security", "slug": "security", "organization": { "login": "acme", "id": 1 } }]),
    );
    age_the_last_check(&app, HOUR);

    let resp = app.navigate("/security").await;

    let cookies = set_cookies(&resp);
    assert_eq!(
        echoed(resp).await.header("x-forwarded-groups"),
        Some("acme,acme/platform,acme/web,acme/security")
    );
    assert!(sets_the_session(&cookies), "{cookies:?}");
    // The new cookie carries the new groups, whatever GitHub answers next.
    fake.fail(500, json!({ "message": "Server Error" }));
    let me = userinfo(&app, &app.browser).await;
    assert_eq!(
        me["groups"],
        json!(["acme", "acme/platform", "acme/web", "acme/security"])
    );
}

#[tokio::test]
async fn a_revoked_token_signs_the_user_out_at_the_next_check() {
    let (fake, app) = github("").await;
    signed_in(&fake, &app).await;
    fake.fail(
        401,
        json!({ "message": "Bad credentials", "documentation_url": "https://docs.github.com/rest" }),
    );
    age_the_last_check(&app, HOUR);

    let resp = app.get("/").await;

    let cookies = set_cookies(&resp);
    assert_eq!(
        error_code(resp).await,
        (StatusCode::UNAUTHORIZED, "unauthenticated".to_owned())
    );
    assert!(clears_the_session(&cookies), "{cookies:?}");
    assert!(app.session_cookies(&app.browser).is_empty());
}

#[tokio::test]
async fn while_github_fails_the_session_is_kept_and_checked_again_on_the_next_request() {
    let (fake, app) = github("orgs = [\"acme\"]").await;
    signed_in(&fake, &app).await;
    let at_login = fake.api_requests().len();
    fake.fail(500, json!({ "message": "Server Error" }));
    fake.answer(TEAMS_PAGE_2, json!([]));
    age_the_last_check(&app, HOUR);

    let resp = app.navigate("/").await;

    assert!(set_cookies(&resp).is_empty(), "{:?}", set_cookies(&resp));
    assert_eq!(
        echoed(resp).await.header("x-forwarded-groups"),
        Some(GROUPS_AT_LOGIN)
    );
    assert_eq!(
        fake.api_requests().get(at_login).map(String::as_str),
        Some(ORGS)
    );
    // GitHub is back: the very next request checks again.
    fake.recover();
    let resp = app.navigate("/").await;
    assert!(sets_the_session(&set_cookies(&resp)));
    assert_eq!(
        echoed(resp).await.header("x-forwarded-groups"),
        Some("acme,acme/platform")
    );
}

#[tokio::test]
async fn no_github_call_is_made_before_the_check_is_due() {
    // The default interval, an hour.
    let (fake, app) = github("").await;
    signed_in(&fake, &app).await;
    let at_login = fake.api_requests().len();

    let proxied = app.navigate("/").await;
    let me = userinfo(&app, &app.browser).await;
    let forward_auth = app.get("/oauth2/auth").await;

    assert_eq!(proxied.status(), 200);
    assert_eq!(me["groups"], json!(["acme", "acme/platform", "acme/web"]));
    assert_eq!(forward_auth.status(), 202);
    assert_eq!(
        fake.api_requests().len(),
        at_login,
        "{:?}",
        fake.api_requests()
    );
    // An hour later, the next request reads orgs and teams (only those) again.
    age_the_last_check(&app, HOUR);
    assert_eq!(app.navigate("/").await.status(), 200);
    assert_eq!(
        fake.api_requests()[at_login..],
        [ORGS, "/api/v3/user/teams?per_page=100", TEAMS_PAGE_2]
    );
}

#[tokio::test]
async fn forward_auth_and_userinfo_read_memberships_again_when_due() {
    let (fake, app) = github("orgs = [\"acme\"]").await;
    signed_in(&fake, &app).await;
    fake.answer(TEAMS_PAGE_2, json!([]));
    age_the_last_check(&app, HOUR);

    let resp = app.get("/oauth2/auth").await;

    assert_eq!(resp.status(), 202);
    assert_eq!(
        resp.headers()["x-auth-request-groups"],
        "acme,acme/platform"
    );
    assert!(sets_the_session(&set_cookies(&resp)));
    fake.answer(ORGS, json!([]));
    age_the_last_check(&app, HOUR);
    let resp = app.get("/oauth2/userinfo").await;
    let cookies = set_cookies(&resp);
    assert_eq!(resp.status(), 401);
    assert!(clears_the_session(&cookies), "{cookies:?}");
}
