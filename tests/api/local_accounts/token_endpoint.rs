//! `POST /oauth2/token` of a local provider with `password_grant = true` (DESIGN §10): the
//! password grant (RFC 6749 §4.3), its §5.2 errors, client authentication when `clients` are
//! listed (§2.3.1), and refresh tokens that rotate (§6, RFC 9700 §4.14.2) and end with the
//! user's account or password.

use reqwest::StatusCode;
use serde_json::Value;

use super::fixture::{
    accepted_at, access_token, granting, oauth_error, poll_until, refresh, spawn_local,
    token_request, tokens, tokens_at, LocalApp, User, INACTIVE, INCORRECT, PASSWORD,
};

const CLIENT_SECRET: &str = "ci-secret-0123456789";

async fn spawn() -> LocalApp {
    spawn_local(
        &[
            User::new("alice"),
            User::new("bob"),
            User::new("carol").disabled(),
        ],
        &granting(""),
    )
    .await
}

fn password_grant<'a>(username: &'a str, password: &'a str) -> [(&'a str, &'a str); 3] {
    [
        ("grant_type", "password"),
        ("username", username),
        ("password", password),
    ]
}

#[tokio::test]
async fn the_password_grant_answers_a_bearer_token_pair_never_stored() {
    let app = spawn().await;

    let resp = token_request(&app, &password_grant("alice", PASSWORD)).await;

    assert_eq!(resp.status(), StatusCode::OK);
    let cache_control = resp
        .headers()
        .get("cache-control")
        .unwrap()
        .to_str()
        .unwrap();
    assert!(cache_control.contains("no-store"), "{cache_control}");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    assert_eq!(access_token(&body).split('.').count(), 3);
    assert!(
        body["refresh_token"]
            .as_str()
            .is_some_and(|t| t.len() >= 32),
        "{body}"
    );
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_user_are_the_same_invalid_grant() {
    let app = spawn().await;

    let wrong = oauth_error(token_request(&app, &password_grant("alice", "wrong")).await).await;
    let unknown = oauth_error(token_request(&app, &password_grant("nobody", PASSWORD)).await).await;

    assert_eq!(
        wrong,
        (
            StatusCode::BAD_REQUEST,
            "invalid_grant".to_owned(),
            INCORRECT.to_owned()
        )
    );
    assert_eq!(unknown, wrong);
}

#[tokio::test]
async fn a_disabled_user_is_an_inactive_invalid_grant() {
    let app = spawn().await;

    let (status, error, description) =
        oauth_error(token_request(&app, &password_grant("carol", PASSWORD)).await).await;

    assert_eq!(
        (status, error.as_str()),
        (StatusCode::BAD_REQUEST, "invalid_grant")
    );
    assert_eq!(description, INACTIVE);
}

#[tokio::test]
async fn an_unknown_grant_type_is_unsupported() {
    let app = spawn().await;

    let (status, error, _) = oauth_error(
        token_request(
            &app,
            &[("grant_type", "client_credentials"), ("scope", "x")],
        )
        .await,
    )
    .await;

    assert_eq!(
        (status, error.as_str()),
        (StatusCode::BAD_REQUEST, "unsupported_grant_type")
    );
}

#[tokio::test]
async fn malformed_token_requests_are_invalid_request() {
    let app = spawn().await;
    let client = reqwest::Client::new();
    let url = app.url("/oauth2/token");
    let form = "grant_type=password&username=alice&password=correct+horse+battery+staple";
    let cases = [
        (
            "a JSON body",
            client.post(&url).json(&serde_json::json!({
                "grant_type": "password", "username": "alice", "password": PASSWORD,
            })),
        ),
        (
            "no username",
            client
                .post(&url)
                .form(&[("grant_type", "password"), ("password", PASSWORD)]),
        ),
        (
            "a repeated parameter",
            client
                .post(&url)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(format!("{form}&username=bob")),
        ),
        (
            "the password in the query string",
            client
                .post(format!("{url}?password=correct+horse+battery+staple"))
                .form(&[("grant_type", "password"), ("username", "alice")]),
        ),
    ];

    for (case, request) in cases {
        let (status, error, _) = oauth_error(request.send().await.unwrap()).await;
        assert_eq!(
            (status, error.as_str()),
            (StatusCode::BAD_REQUEST, "invalid_request"),
            "{case}"
        );
    }
}

#[tokio::test]
async fn without_password_grant_the_token_endpoint_and_its_keys_are_off() {
    let app = spawn_local(&[User::new("alice")], "").await;

    let (status, error, _) =
        oauth_error(token_request(&app, &password_grant("alice", PASSWORD)).await).await;
    let jwks = app.get("/oauth2/jwks.json").await;

    assert_eq!(
        (status, error.as_str()),
        (StatusCode::BAD_REQUEST, "unsupported_grant_type")
    );
    assert_eq!(jwks.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn with_clients_listed_the_token_endpoint_wants_one_of_them() {
    let app = spawn_local(
        &[User::new("alice")],
        &granting(&format!(
            "clients = [{{ id = \"ci\", secret = \"{CLIENT_SECRET}\" }}]"
        )),
    )
    .await;
    let client = reqwest::Client::new();
    let url = app.url("/oauth2/token");
    let grant = password_grant("alice", PASSWORD);
    let with_body = |id: &'static str, secret: &'static str| {
        let mut fields = grant.to_vec();
        fields.extend([("client_id", id), ("client_secret", secret)]);
        client.post(&url).form(&fields)
    };

    let anonymous = client.post(&url).form(&grant).send().await.unwrap();
    let wrong_basic = client
        .post(&url)
        .basic_auth("ci", Some("not-the-secret-at-all"))
        .form(&grant);
    let unknown = with_body("someone", CLIENT_SECRET);
    let basic = client
        .post(&url)
        .basic_auth("ci", Some(CLIENT_SECRET))
        .form(&grant);
    let posted = with_body("ci", CLIENT_SECRET);

    let (status, error, _) = oauth_error(anonymous).await;
    assert_eq!(
        (status, error.as_str()),
        (StatusCode::UNAUTHORIZED, "invalid_client")
    );
    for refused in [wrong_basic, unknown] {
        let (status, error, _) = oauth_error(refused.send().await.unwrap()).await;
        assert_eq!(
            (status, error.as_str()),
            (StatusCode::UNAUTHORIZED, "invalid_client")
        );
    }
    for accepted in [basic, posted] {
        assert_eq!(accepted.send().await.unwrap().status(), StatusCode::OK);
    }
}

#[tokio::test]
async fn a_refresh_token_is_redeemed_once_for_a_new_pair() {
    let app = spawn().await;
    let first = tokens(&app, "alice").await;
    let first_refresh = first["refresh_token"].as_str().unwrap();

    let resp = refresh(&app, first_refresh).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let second: Value = resp.json().await.unwrap();
    let replayed = oauth_error(refresh(&app, first_refresh).await).await;
    let third = refresh(&app, second["refresh_token"].as_str().unwrap()).await;

    assert_eq!(second["token_type"], "Bearer");
    assert_ne!(second["refresh_token"], first["refresh_token"]);
    assert_ne!(second["access_token"], first["access_token"]);
    assert!(accepted_at(&app.address, &access_token(&second)).await);
    assert_eq!(
        (replayed.0, replayed.1.as_str()),
        (StatusCode::BAD_REQUEST, "invalid_grant")
    );
    assert_eq!(third.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_user_disabled_or_removed_from_the_file_can_no_longer_refresh() {
    let app = spawn().await;
    let alice = tokens(&app, "alice").await;
    let bob = tokens(&app, "bob").await;
    for tokens in [&alice, &bob] {
        assert!(accepted_at(&app.address, &access_token(tokens)).await);
    }

    app.users.write(&[User::new("alice").disabled()]);
    // Access tokens are refused once the file is read again; refreshing is side-effect free
    // only when it fails, so it is tried once that is seen.
    for tokens in [&alice, &bob] {
        let access = access_token(tokens);
        poll_until("the users file is read again", || async {
            !accepted_at(&app.address, &access).await
        })
        .await;
    }

    for tokens in [&alice, &bob] {
        let (status, error, _) =
            oauth_error(refresh(&app, tokens["refresh_token"].as_str().unwrap()).await).await;
        assert_eq!(
            (status, error.as_str()),
            (StatusCode::BAD_REQUEST, "invalid_grant")
        );
    }
}

#[tokio::test]
async fn after_a_password_change_the_old_refresh_token_is_refused() {
    let app = spawn_local(
        &[User::new("alice")],
        &granting("failed_logins = { per_username = 1000, per_client = 1000 }"),
    )
    .await;
    let before = tokens(&app, "alice").await;

    app.users
        .write(&[User::new("alice").with_password("a new password, longer")]);
    poll_until("the new password works", || async {
        token_request(&app, &password_grant("alice", "a new password, longer"))
            .await
            .status()
            == StatusCode::OK
    })
    .await;

    let (status, error, _) =
        oauth_error(refresh(&app, before["refresh_token"].as_str().unwrap()).await).await;
    assert_eq!(
        (status, error.as_str()),
        (StatusCode::BAD_REQUEST, "invalid_grant")
    );
    let old_password = token_request(&app, &password_grant("alice", PASSWORD)).await;
    assert_eq!(old_password.status(), StatusCode::BAD_REQUEST);
    tokens_at(&app.address, "alice", "a new password, longer").await;
}
