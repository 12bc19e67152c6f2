//! Every way a login must fail (DESIGN §5 items 5, 6 and 10; issue 2 points 4, 5 and 9):
//! each test makes the mock provider or the browser misbehave in one way and checks that the
//! callback answers with a 4xx naming the reason, sets no session cookie, and leaves the
//! browser signed out.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{
    assert_no_session_cookie_set, assert_redirects_to, error_code, spawn_app, spawn_app_with,
    wait_until, Browser, TestApp,
};
use crate::mock_provider::{
    Behaviour, CallbackIss, NonceMode, Signing, TokenResponseMode, UserClaims,
};

/// Logs the default browser in against a provider changed by `misbehave`, checks that the
/// login left no session behind, and returns the callback's status and JSON `error` code.
async fn rejected_login(misbehave: impl FnOnce(&mut Behaviour)) -> (StatusCode, String) {
    let app = spawn_app().await;
    app.provider.behave(misbehave);
    let callback = app.begin_login(&app.browser, "/").await;
    let resp = app.finish_login_as_program(&app.browser, &callback).await;
    assert_signed_out_after(&app, &resp).await;
    error_code(resp).await
}

async fn assert_signed_out_after(app: &TestApp, resp: &reqwest::Response) {
    assert_no_session_cookie_set(resp, app.cookie_name());
    assert!(
        app.session_cookies(&app.browser).is_empty(),
        "the browser holds a session cookie after a rejected login"
    );
    assert_eq!(
        app.get("/oauth2/userinfo").await.status(),
        StatusCode::UNAUTHORIZED,
        "the browser is signed in after a rejected login"
    );
}

fn bad_request(code: &str) -> (StatusCode, String) {
    (StatusCode::BAD_REQUEST, code.to_owned())
}

// ---- ID token validation (DESIGN §5 item 6) ----

#[tokio::test]
async fn an_id_token_from_another_issuer_is_rejected() {
    let outcome = rejected_login(|b| b.id_token_iss = Some("https://evil.example".into())).await;

    assert_eq!(outcome, bad_request("invalid_id_token"));
}

#[tokio::test]
async fn an_id_token_for_another_audience_is_rejected() {
    let outcome = rejected_login(|b| b.id_token_aud = Some(json!("some-other-client"))).await;

    assert_eq!(outcome, bad_request("invalid_id_token"));
}

#[tokio::test]
async fn an_id_token_with_an_extra_audience_and_no_azp_is_rejected() {
    let outcome =
        rejected_login(|b| b.id_token_aud = Some(json!(["portcullis-test", "other-client"]))).await;

    assert_eq!(outcome, bad_request("invalid_id_token"));
}

#[tokio::test]
async fn an_id_token_with_an_extra_audience_and_a_foreign_azp_is_rejected() {
    let outcome = rejected_login(|b| {
        b.id_token_aud = Some(json!(["portcullis-test", "other-client"]));
        b.id_token_azp = Some("other-client".into());
    })
    .await;

    assert_eq!(outcome, bad_request("invalid_id_token"));
}

#[tokio::test]
async fn an_id_token_with_an_extra_audience_and_our_azp_is_accepted() {
    let app = spawn_app().await;
    app.provider.behave(|b| {
        b.id_token_aud = Some(json!(["portcullis-test", "other-client"]));
        b.id_token_azp = Some("portcullis-test".into());
    });

    let resp = app.login(&app.browser, "/").await;

    assert_redirects_to(&resp, "/");
    assert_eq!(app.get("/oauth2/userinfo").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn an_expired_id_token_is_rejected() {
    let outcome = rejected_login(|b| {
        b.exp_offset_secs = -600;
        b.iat_offset_secs = -1200;
    })
    .await;

    assert_eq!(outcome, bad_request("invalid_id_token"));
}

#[tokio::test]
async fn an_id_token_issued_in_the_future_is_rejected() {
    let outcome = rejected_login(|b| {
        b.iat_offset_secs = 3600;
        b.exp_offset_secs = 7200;
    })
    .await;

    assert_eq!(outcome, bad_request("invalid_id_token"));
}

#[tokio::test]
async fn an_id_token_with_the_wrong_nonce_is_rejected() {
    let outcome = rejected_login(|b| b.nonce = NonceMode::Wrong).await;

    assert_eq!(outcome, bad_request("invalid_id_token"));
}

#[tokio::test]
async fn an_id_token_without_a_nonce_is_rejected() {
    let outcome = rejected_login(|b| b.nonce = NonceMode::Missing).await;

    assert_eq!(outcome, bad_request("invalid_id_token"));
}

#[tokio::test]
async fn an_id_token_without_sub_is_rejected() {
    let outcome = rejected_login(|b| b.omit_sub = true).await;

    assert_eq!(outcome, bad_request("invalid_id_token"));
}

#[tokio::test]
async fn an_id_token_with_an_empty_sub_is_rejected() {
    let outcome = rejected_login(|b| {
        b.id_token_overrides.insert("sub".into(), json!(""));
        b.userinfo_sub = Some(String::new());
    })
    .await;

    assert_eq!(outcome, bad_request("invalid_id_token"));
}

#[tokio::test]
async fn an_id_token_not_yet_valid_is_rejected() {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let outcome = rejected_login(|b| {
        b.id_token_overrides
            .insert("nbf".into(), json!(now as f64 + 3600.5));
    })
    .await;

    assert_eq!(outcome, bad_request("invalid_id_token"));
}

#[tokio::test]
async fn an_unsigned_alg_none_id_token_is_rejected() {
    let outcome = rejected_login(|b| b.signing = Signing::AlgNone).await;

    assert_eq!(outcome, bad_request("invalid_id_token"));
}

#[tokio::test]
async fn an_id_token_hmac_signed_with_the_public_key_is_rejected() {
    let outcome = rejected_login(|b| b.signing = Signing::Hs256WithPublicKey).await;

    assert_eq!(outcome, bad_request("invalid_id_token"));
}

#[tokio::test]
async fn an_id_token_with_a_broken_signature_is_rejected() {
    let outcome = rejected_login(|b| b.signing = Signing::BadSignature).await;

    assert_eq!(outcome, bad_request("invalid_id_token"));
}

// ---- Key rotation (DESIGN §5 item 6) ----

#[tokio::test]
async fn a_token_signed_with_a_newly_published_key_is_accepted_after_one_jwks_refetch() {
    let app = spawn_app().await;
    let fetches_at_start = app.provider.jwks_fetches();
    app.provider.behave(|b| {
        b.signing = Signing::RotatedKey;
        b.publish_rotated_key = true;
    });

    let resp = app.login(&app.browser, "/").await;

    assert_redirects_to(&resp, "/");
    assert_eq!(app.provider.jwks_fetches(), fetches_at_start + 1);
}

#[tokio::test]
async fn a_token_signed_with_an_unknown_key_is_rejected_after_at_most_one_refetch() {
    let app = spawn_app().await;
    let fetches_at_start = app.provider.jwks_fetches();
    app.provider.behave(|b| b.signing = Signing::RotatedKey);

    let first = app.begin_login(&app.browser, "/").await;
    let first = app.finish_login_as_program(&app.browser, &first).await;
    let second = app.begin_login(&app.browser, "/").await;
    let second = app.finish_login_as_program(&app.browser, &second).await;

    assert_eq!(error_code(first).await, bad_request("invalid_id_token"));
    assert_eq!(error_code(second).await, bad_request("invalid_id_token"));
    assert_eq!(
        app.provider.jwks_fetches(),
        fetches_at_start + 1,
        "an unknown kid must trigger one rate-limited refetch, not one per token"
    );
}

// ---- Userinfo (issue 2 point 4) ----

#[tokio::test]
async fn claims_missing_from_the_id_token_are_fetched_from_userinfo() {
    let app = spawn_app().await;
    app.provider.behave(|b| b.claims_in_id_token = false);

    let resp = app.login(&app.browser, "/").await;

    assert_redirects_to(&resp, "/");
    let recorded = app.provider.recorded();
    assert_eq!(recorded.userinfo.len(), 1);
    assert!(recorded.userinfo[0]
        .as_deref()
        .is_some_and(|auth| auth.starts_with("Bearer ")));
    let me: serde_json::Value = app.get("/oauth2/userinfo").await.json().await.unwrap();
    assert_eq!(me["email"], "alice@example.com");
}

#[tokio::test]
async fn userinfo_naming_another_subject_is_rejected() {
    let outcome = rejected_login(|b| {
        b.claims_in_id_token = false;
        b.userinfo_sub = Some("mallory-sub".into());
    })
    .await;

    assert_eq!(outcome, bad_request("userinfo"));
}

#[tokio::test]
async fn a_failing_userinfo_endpoint_is_a_clear_rejection() {
    let outcome = rejected_login(|b| {
        b.claims_in_id_token = false;
        b.userinfo_status = Some(500);
    })
    .await;

    assert_eq!(outcome, bad_request("userinfo"));
}

// ---- Token endpoint failures (never a 500) ----

#[tokio::test]
async fn a_token_endpoint_oauth_error_is_a_clear_rejection() {
    let outcome = rejected_login(|b| {
        b.token_response = TokenResponseMode::OAuthError {
            error: "invalid_grant".into(),
            description: "code expired".into(),
        }
    })
    .await;

    assert_eq!(outcome, bad_request("token_exchange"));
}

#[tokio::test]
async fn a_token_endpoint_500_is_a_clear_rejection() {
    let outcome = rejected_login(|b| b.token_response = TokenResponseMode::ServerError).await;

    assert_eq!(outcome, bad_request("token_exchange"));
}

#[tokio::test]
async fn a_garbage_token_response_is_a_clear_rejection() {
    let outcome = rejected_login(|b| b.token_response = TokenResponseMode::Garbage).await;

    assert_eq!(outcome, bad_request("token_exchange"));
}

#[tokio::test]
async fn a_token_response_without_an_id_token_is_rejected() {
    let outcome = rejected_login(|b| b.token_response = TokenResponseMode::WithoutIdToken).await;

    assert_eq!(outcome.0, StatusCode::BAD_REQUEST);
    assert!(
        ["token_exchange", "invalid_id_token"].contains(&outcome.1.as_str()),
        "unexpected reason {}",
        outcome.1
    );
}

// ---- Callback checks (DESIGN §1, §5 item 5; RFC 9207) ----

#[tokio::test]
async fn a_wrong_iss_parameter_on_the_callback_is_rejected() {
    let outcome =
        rejected_login(|b| b.callback_iss = CallbackIss::Wrong("https://evil.example".into()))
            .await;

    assert_eq!(outcome, bad_request("issuer_mismatch"));
}

#[tokio::test]
async fn a_missing_iss_parameter_is_rejected_when_the_provider_advertises_it() {
    let outcome = rejected_login(|b| b.callback_iss = CallbackIss::Absent).await;

    assert_eq!(outcome, bad_request("issuer_mismatch"));
}

#[tokio::test]
async fn a_missing_iss_parameter_is_accepted_when_the_provider_does_not_advertise_it() {
    let app = spawn_app_with(|cfg| cfg.behaviour.advertise_iss_parameter = false).await;
    app.provider
        .behave(|b| b.callback_iss = CallbackIss::Absent);

    let resp = app.login(&app.browser, "/").await;

    assert_redirects_to(&resp, "/");
}

#[tokio::test]
async fn a_provider_error_answer_is_shown_as_a_page_with_a_request_id() {
    let app = spawn_app().await;
    app.provider.behave(|b| {
        b.authorize_error = Some(("access_denied".into(), "The user said no".into()));
    });

    let callback = app.begin_login(&app.browser, "/app/report?week=9").await;
    let resp = app.finish_login(&app.browser, &callback).await;

    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let request_id = resp
        .headers()
        .get("x-request-id")
        .expect("x-request-id")
        .to_str()
        .unwrap()
        .to_owned();
    assert_no_session_cookie_set(&resp, app.cookie_name());
    let page = resp.text().await.unwrap();
    assert!(page.contains("access_denied"), "{page}");
    assert!(page.contains("The sign-in was cancelled"), "{page}");
    assert!(
        page.contains(&request_id),
        "no request id in the page: {page}"
    );
    // Starting again leads back to where the person was going.
    assert!(
        page.contains("href=\"/oauth2/sign_in?rd=%2Fapp%2Freport%3Fweek%3D9\""),
        "no retry link keeping rd: {page}"
    );
}

#[tokio::test]
async fn a_callback_completed_in_another_browser_is_rejected() {
    let app = spawn_app().await;
    let callback = app.begin_login(&app.browser, "/").await;

    let resp = app
        .finish_login_as_program(&app.other_browser, &callback)
        .await;

    assert_no_session_cookie_set(&resp, app.cookie_name());
    assert_eq!(error_code(resp).await, bad_request("no_flow_cookie"));
    assert!(app.session_cookies(&app.other_browser).is_empty());
}

#[tokio::test]
async fn a_callback_replayed_after_a_successful_login_is_rejected() {
    let app = spawn_app().await;
    let callback = app.begin_login(&app.browser, "/").await;
    let first = app.finish_login(&app.browser, &callback).await;
    assert_redirects_to(&first, "/");
    let fresh = Browser::new();

    let replay_same_browser = app.finish_login_as_program(&app.browser, &callback).await;
    let replay_fresh_browser = app.finish_login_as_program(&fresh, &callback).await;

    assert_eq!(
        error_code(replay_same_browser).await,
        bad_request("no_flow_cookie")
    );
    assert_eq!(
        error_code(replay_fresh_browser).await,
        bad_request("no_flow_cookie")
    );
    assert!(app.session_cookies(&fresh).is_empty());
    assert_eq!(app.provider.recorded().token.len(), 1);
}

#[tokio::test]
async fn a_callback_with_a_tampered_state_is_rejected() {
    let app = spawn_app().await;
    let callback = app.begin_login(&app.browser, "/").await;
    let mut tampered = url::Url::parse(&callback).unwrap();
    let pairs: Vec<(String, String)> = tampered
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == "state" {
                format!("{v}x")
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    tampered.query_pairs_mut().clear().extend_pairs(pairs);

    let resp = app
        .finish_login_as_program(&app.browser, tampered.as_str())
        .await;

    assert_signed_out_after(&app, &resp).await;
    let (status, _) = error_code(resp).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        app.provider.recorded().token.is_empty(),
        "the code was redeemed"
    );
}

#[tokio::test]
async fn a_callback_without_state_is_rejected() {
    let app = spawn_app().await;
    let callback = app.begin_login(&app.browser, "/").await;
    let mut stripped = url::Url::parse(&callback).unwrap();
    let pairs: Vec<(String, String)> = stripped
        .query_pairs()
        .filter(|(k, _)| k != "state")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    stripped.query_pairs_mut().clear().extend_pairs(pairs);

    let resp = app
        .finish_login_as_program(&app.browser, stripped.as_str())
        .await;

    assert_signed_out_after(&app, &resp).await;
    assert_eq!(error_code(resp).await, bad_request("missing_state"));
}

#[tokio::test]
async fn a_callback_for_an_unknown_provider_is_rejected() {
    let app = spawn_app().await;
    let callback = app.begin_login(&app.browser, "/").await;
    let other = callback.replace("/oauth2/callback/mock", "/oauth2/callback/other");

    let resp = app.finish_login_as_program(&app.browser, &other).await;

    assert!(resp.status().is_client_error(), "{}", resp.status());
    assert_no_session_cookie_set(&resp, app.cookie_name());
}

#[tokio::test]
async fn starting_a_login_with_an_unknown_provider_is_a_400_page() {
    let app = spawn_app().await;

    let resp = app.navigate("/oauth2/start?provider=nope&rd=/").await;

    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert!(resp
        .headers()
        .get("content-type")
        .is_some_and(|ct| ct.to_str().unwrap().starts_with("text/html")));
}

#[tokio::test]
async fn a_callback_without_code_is_rejected() {
    let app = spawn_app().await;
    let callback = app.begin_login(&app.browser, "/").await;
    let mut stripped = url::Url::parse(&callback).unwrap();
    let pairs: Vec<(String, String)> = stripped
        .query_pairs()
        .filter(|(k, _)| k != "code")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    stripped.query_pairs_mut().clear().extend_pairs(pairs);

    let resp = app
        .finish_login_as_program(&app.browser, stripped.as_str())
        .await;

    assert_signed_out_after(&app, &resp).await;
    assert_eq!(error_code(resp).await, bad_request("missing_code"));
}

// ---- Authorization (DESIGN §5 item 10) ----

async fn login_as(user: UserClaims) -> (StatusCode, String) {
    rejected_login(move |b| b.user = user).await
}

fn user_with_email(email: &str, verified: Option<bool>) -> UserClaims {
    UserClaims {
        email: Some(email.to_owned()),
        email_verified: verified,
        ..UserClaims::default()
    }
}

#[tokio::test]
async fn an_email_outside_the_allowed_domains_is_forbidden() {
    let outcome = login_as(user_with_email("bob@other.org", Some(true))).await;

    assert_eq!(outcome, (StatusCode::FORBIDDEN, "not_authorized".into()));
}

#[tokio::test]
async fn lookalike_domains_are_forbidden() {
    for email in [
        "eve@evil-example.com",
        "eve@example.com.evil.org",
        "eve@sub.example.com",
        "eve@examplexcom",
    ] {
        let outcome = login_as(user_with_email(email, Some(true))).await;

        assert_eq!(
            outcome,
            (StatusCode::FORBIDDEN, "not_authorized".into()),
            "{email} was admitted"
        );
    }
}

#[tokio::test]
async fn an_unverified_email_does_not_count() {
    let unverified = login_as(user_with_email("alice@example.com", Some(false))).await;
    let unstated = login_as(user_with_email("alice@example.com", None)).await;

    assert_eq!(unverified, (StatusCode::FORBIDDEN, "not_authorized".into()));
    assert_eq!(unstated, (StatusCode::FORBIDDEN, "not_authorized".into()));
}

#[tokio::test]
async fn email_verified_as_a_string_is_read_as_the_boolean_it_spells() {
    // Some providers (Apple, for one) send `"email_verified": "true"` in the ID token.
    let app = spawn_app().await;
    app.provider.behave(|b| {
        b.id_token_overrides
            .insert("email_verified".into(), json!("true"));
    });

    let resp = app.login(&app.browser, "/").await;

    assert_redirects_to(&resp, "/");
    let unverified = rejected_login(|b| {
        b.id_token_overrides
            .insert("email_verified".into(), json!("false"));
    })
    .await;
    assert_eq!(unverified, (StatusCode::FORBIDDEN, "not_authorized".into()));
}

#[tokio::test]
async fn emails_and_domains_match_case_insensitively() {
    let app = spawn_app_with(|cfg| {
        cfg.email_domains = vec!["Example.COM".into()];
    })
    .await;
    app.provider
        .behave(|b| b.user = user_with_email("Alice@EXAMPLE.com", Some(true)));

    let resp = app.login(&app.browser, "/").await;

    assert_redirects_to(&resp, "/");
}

#[tokio::test]
async fn an_email_allow_list_admits_only_the_listed_address() {
    let app = spawn_app_with(|cfg| {
        cfg.email_domains = Vec::new();
        cfg.emails = vec!["carol@partner.org".into()];
    })
    .await;
    app.provider
        .behave(|b| b.user = user_with_email("CAROL@partner.org", Some(true)));
    let carol = app.login(&app.browser, "/").await;
    app.provider
        .behave(|b| b.user = user_with_email("dave@partner.org", Some(true)));

    let dave_callback = app.begin_login(&app.other_browser, "/").await;
    let dave = app
        .finish_login_as_program(&app.other_browser, &dave_callback)
        .await;

    assert_redirects_to(&carol, "/");
    assert_eq!(
        error_code(dave).await,
        (StatusCode::FORBIDDEN, "not_authorized".into())
    );
}

// ---- Discovery (issue 2 point 4) ----

#[tokio::test]
async fn a_discovery_document_naming_another_issuer_is_refused_and_retried() {
    let app = spawn_app_with(|cfg| {
        cfg.behaviour.discovery_issuer = Some("https://impostor.example".into());
        cfg.wait_until_ready = false;
    })
    .await;

    let provider = app.provider.clone();
    wait_until("the gateway retries discovery", || {
        provider.recorded().discovery_fetches >= 2
    })
    .await;

    let ready = app.get("/ready").await;
    let start = app.browser.navigate(&app.start_url("/")).await;

    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(start.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(app.provider.recorded().authorize.is_empty());
}

#[tokio::test]
async fn a_provider_down_at_start_up_does_not_stop_the_gateway() {
    let app = spawn_app_with(|cfg| cfg.provider_running = false).await;
    let ping = app.get("/ping").await;
    let ready_while_down = app.get("/ready").await;
    let start_while_down = app.browser.navigate(&app.start_url("/")).await;

    app.provider.serve().await;
    app.wait_until_ready().await;
    let resp = app.login(&app.browser, "/").await;

    assert_eq!(ping.status(), StatusCode::OK);
    assert_eq!(ready_while_down.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(start_while_down.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_redirects_to(&resp, "/");
}

// ---- The "Access denied" page (issue 15 point 5) ----

/// A sign-in that `[authorize]` refuses is "Access denied", not a failed sign-in: the page
/// names the account, and "Sign in with a different account" starts a login that asks the
/// provider to let the person sign in again (`prompt=login`: the mock advertises no
/// `select_account`), where an ordinary login asks nothing of the kind.
#[tokio::test]
async fn a_refused_account_is_named_on_an_access_denied_page_that_offers_another_account() {
    let app = spawn_app().await;
    app.provider
        .behave(|b| b.user = user_with_email("bob@other.org", Some(true)));
    let callback = app.begin_login(&app.browser, "/reports").await;

    let resp = app.finish_login(&app.browser, &callback).await;

    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert_no_session_cookie_set(&resp, app.cookie_name());
    let html = resp.text().await.unwrap();
    assert!(
        html.contains("<title>Access denied · portcullis</title>"),
        "{html}"
    );
    assert!(html.contains("<h1>Access denied</h1>"), "{html}");
    assert!(!html.contains("Sign-in failed"), "{html}");
    assert!(
        html.contains("Signed in as <strong class=\"account-name\">bob@other.org</strong>"),
        "{html}"
    );
    let other = "/oauth2/start?provider=mock&amp;rd=%2Freports&amp;prompt=select_account";
    assert!(
        html.contains(&format!(
            "<a class=\"button\" href=\"{other}\">Sign in with a different account</a>"
        )),
        "{html}"
    );
    assert!(
        html.contains("href=\"/oauth2/sign_in?rd=%2Freports\">Back to the sign-in page</a>"),
        "{html}"
    );

    let start = app
        .browser
        .navigate(&app.url(&other.replace("&amp;", "&")))
        .await;
    assert_redirects_to(&start, &app.provider.url("/authorize"));
    let asked = app.provider.recorded().authorize;
    assert_eq!(asked.len(), 1, "{asked:?}");
    let authorize = url::Url::parse(&crate::helpers::location(&start)).unwrap();
    let prompt: Vec<String> = authorize
        .query_pairs()
        .filter(|(name, _)| name == "prompt")
        .map(|(_, value)| value.into_owned())
        .collect();
    assert_eq!(prompt, ["login"], "{authorize}");
    assert_eq!(
        asked[0].get("prompt"),
        None,
        "the first login asked for a prompt"
    );
}

/// What a provider lets its users write into their profile is not put on the gateway's
/// page: a user name that is free text is not shown, and the page still offers another
/// account.
#[tokio::test]
async fn a_refused_account_whose_names_are_free_text_is_not_named() {
    let app = spawn_app().await;
    app.provider.behave(|b| {
        b.user = UserClaims {
            email: None,
            preferred_username: Some("Your account is locked, call +1 555 0100".to_owned()),
            ..UserClaims::default()
        }
    });
    let callback = app.begin_login(&app.browser, "/").await;

    let resp = app.finish_login(&app.browser, &callback).await;

    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let html = resp.text().await.unwrap();
    assert!(html.contains("<h1>Access denied</h1>"), "{html}");
    assert!(!html.contains("Signed in as"), "{html}");
    assert!(!html.contains("call +1 555"), "{html}");
    assert!(
        html.contains("Sign in with a different account</a>"),
        "{html}"
    );
}

/// A failure that is no refusal of the account keeps its title and its "Try again".
#[tokio::test]
async fn a_failed_sign_in_is_still_titled_sign_in_failed() {
    let app = spawn_app().await;
    app.provider.behave(|b| b.exp_offset_secs = -600);
    let callback = app.begin_login(&app.browser, "/").await;

    let resp = app.finish_login(&app.browser, &callback).await;

    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let html = resp.text().await.unwrap();
    assert!(html.contains("<h1>Sign-in failed</h1>"), "{html}");
    assert!(html.contains(">Try again</a>"), "{html}");
    assert!(!html.contains("different account"), "{html}");
}
