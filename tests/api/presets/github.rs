//! `kind = "github"` against a GitHub Enterprise-shaped fake (`{base}/api/v3`): identity from
//! /user, the primary verified email, orgs and teams with Link-header pagination.

use serde_json::json;

use crate::helpers::{assert_redirects_to, spawn_app_with, TestApp};
use crate::presets::fake::{userinfo, Fake};

async fn github(extra: &str) -> (Fake, TestApp) {
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
