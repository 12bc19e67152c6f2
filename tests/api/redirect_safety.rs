//! `rd` can never send a signed-in user off the gateway (DESIGN §5 item 4; issue 2 point 8):
//! every hostile value, walked through a real login and a sign-out, ends at `/` or a local
//! path on the gateway itself.

use crate::helpers::{assert_redirects_to, local_part, location, spawn_app, TestApp};

/// Values an attacker might put in `rd`; none may lead off the gateway.
const HOSTILE: &[&str] = &[
    "//evil.com",
    "///evil.com",
    "////evil.com/path",
    "/\\evil.com",
    "\\\\evil.com",
    "/\\/evil.com",
    "\\/evil.com",
    "/\\\\evil.com",
    "\\/\\/evil.com",
    "/%5Cevil.com",
    "/%5C%5Cevil.com",
    "%2F%2Fevil.com",
    "/%2F/evil.com",
    "//%5Cevil.com",
    "%2F%5Cevil.com",
    "https://evil.com",
    "http://evil.com/",
    "HTTPS://evil.com",
    "https:evil.com",
    "http:/evil.com",
    "http:\\\\evil.com",
    "ftp://evil.com",
    "https://127.0.0.1@evil.com",
    "https://evil.com%2F@127.0.0.1",
    "//127.0.0.1.evil.com",
    "//@evil.com",
    "@evil.com",
    "evil.com",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "java\tscript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "/\t/evil.com",
    "/\n/evil.com",
    "/\r\n/evil.com",
    "\t//evil.com",
    " //evil.com",
    "/%09/evil.com",
    "/%0a/evil.com",
    "/\u{0}/evil.com",
    "\u{ff0f}\u{ff0f}evil.com",
    "/\u{2215}evil.com",
    "\u{2044}\u{2044}evil.com",
    "/\u{ff3c}evil.com",
    "//evil%E3%80%82com",
    "//evil.com\\@127.0.0.1",
    "/.//evil.com",
    "/..//evil.com",
    "",
];

/// Local destinations that must survive the round trip unchanged.
const LOCAL: &[&str] = &[
    "/",
    "/app",
    "/app/page?x=1&y=2",
    "/deep/path/",
    "/search?q=a%2Fb",
];

/// Asserts that `resp` redirects to a path on the gateway that a browser cannot read as
/// another host: on the gateway's origin, starting with one `/`, with no control characters.
#[track_caller]
fn assert_stays_local(app: &TestApp, resp: &reqwest::Response, rd: &str) {
    assert!(
        resp.status().is_redirection(),
        "rd {rd:?}: {}",
        resp.status()
    );
    let raw = resp.headers()["location"].to_str().unwrap();
    let resolved = url::Url::parse(&location(resp)).unwrap();
    let gateway = url::Url::parse(&app.address).unwrap();
    assert_eq!(
        resolved.origin(),
        gateway.origin(),
        "rd {rd:?} led to {raw:?}"
    );
    let path = if raw.starts_with(&app.address) {
        &raw[app.address.len()..]
    } else {
        raw
    };
    assert!(path.starts_with('/'), "rd {rd:?} led to {raw:?}");
    assert!(
        !path.starts_with("//") && !path.starts_with("/\\"),
        "rd {rd:?} led to {raw:?}"
    );
    assert!(
        !raw.chars().any(char::is_control),
        "rd {rd:?} led to {raw:?}"
    );
}

#[tokio::test]
async fn hostile_rd_values_end_on_the_gateway_after_login() {
    let app = spawn_app().await;

    for rd in HOSTILE {
        let resp = app.login(&app.browser, rd).await;

        assert_stays_local(&app, &resp, rd);
    }
}

#[tokio::test]
async fn hostile_rd_values_end_on_the_gateway_after_sign_out() {
    let app = spawn_app_without_end_session().await;

    for rd in HOSTILE {
        let mut url = url::Url::parse(&app.url("/oauth2/sign_out")).unwrap();
        url.query_pairs_mut().append_pair("rd", rd);
        let resp = app.browser.navigate(url.as_str()).await;

        assert_stays_local(&app, &resp, rd);
    }
}

#[tokio::test]
async fn local_rd_values_survive_the_login() {
    let app = spawn_app().await;

    for rd in LOCAL {
        let resp = app.login(&app.browser, rd).await;

        assert_redirects_to(&resp, rd);
        assert_eq!(local_part(&location(&resp)), *rd);
    }
}

async fn spawn_app_without_end_session() -> TestApp {
    crate::helpers::spawn_app_with(|cfg| cfg.behaviour.end_session_endpoint = false).await
}
