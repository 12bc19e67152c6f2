//! Each benchmark case does its real work once and gets the right answer.

use super::*;
use crate::config::UpstreamTarget;

#[test]
fn the_session_cookie_opens_as_the_sealed_session_and_is_a_realistic_size() {
    let open = SessionOpen::new().expect("set up");

    assert!(
        (1200..=2000).contains(&open.cookie_len()),
        "{} bytes",
        open.cookie_len()
    );
    let opened = open.open().expect("the session opens");
    assert_eq!(&*opened, open.expected());
    assert_eq!(
        opened.identity.email.as_deref(),
        Some("alice.johnson@example.com")
    );
    assert_eq!(open.unseal().as_ref(), Some(open.expected()));
}

#[test]
fn the_tampered_session_cookie_is_refused() {
    let open = SessionOpen::new().expect("set up");

    assert!(open.reject().is_none());
}

fn port(upstream: &crate::config::UpstreamConfig) -> Option<u16> {
    match &upstream.target {
        UpstreamTarget::Http(url) => url.port(),
        UpstreamTarget::Echo => None,
    }
}

#[test]
fn the_routes_pick_the_expected_upstreams_and_the_miss_none() {
    let routes = RouteMatch::new().expect("set up");

    let by_prefix = routes.route(PREFIX_HIT).expect("a route by prefix");
    assert_eq!(
        (by_prefix.path.as_str(), port(by_prefix)),
        ("/app", Some(9001))
    );
    let by_host = routes.route(HOST_HIT).expect("a route by host");
    assert_eq!((by_host.path.as_str(), port(by_host)), ("/", Some(9006)));
    assert!(routes.route(MISS).is_none());
}

#[test]
fn the_rewrite_sets_the_identity_and_strips_the_forged_headers_and_the_session_cookie() {
    let rewrite = HeaderRewrite::new().expect("set up");
    let request = rewrite.request();
    assert_eq!(request.headers()["x-forwarded-user"], "admin");

    let rewritten = rewrite.rewrite(request);

    let headers = rewritten.headers();
    let all = |name: &str| -> Vec<&str> {
        headers
            .get_all(name)
            .iter()
            .map(|value| value.to_str().expect("text"))
            .collect()
    };
    assert_eq!(all("x-forwarded-user"), ["248289761001"]);
    assert_eq!(all("x-forwarded-email"), ["alice.johnson@example.com"]);
    assert_eq!(all("x-forwarded-groups"), ["staff,engineering,oncall"]);
    assert_eq!(all("x-forwarded-for"), ["203.0.113.7"]);
    assert_eq!(all("x-forwarded-proto"), ["https"]);
    assert!(all("x_auth_request_email").is_empty());
    assert!(all("connection").is_empty());
    assert_eq!(
        all("cookie"),
        ["_ga=GA1.1.1938457120.1779995000; theme=dark; lang=en-GB"]
    );
    assert_eq!(
        rewritten.uri(),
        "http://127.0.0.1:9001/app/projects/42/settings?tab=members"
    );
}

#[test]
fn the_bearer_check_accepts_the_signed_token_and_refuses_the_tampered_one() {
    let check = BearerCheck::new().expect("set up");

    let identity = check.valid().expect("the valid token is accepted");
    assert_eq!(identity.user, API_USER);
    assert_eq!(identity.provider, "corp");
    assert!(check.tampered().is_none());
}
