use axum::http::{header, HeaderMap, HeaderValue};

use super::*;
use crate::session::CookieSettings;

const ORIGIN: &str = "https://login.example.com";

fn settings() -> CookieSettings {
    CookieSettings {
        name: "_portcullis".to_owned(),
        secure: true,
        lifetime: Duration::from_secs(3600),
        domain: None,
    }
}

fn codec() -> SessionCodec {
    SessionCodec::new(&[7u8; 32], &[])
}

/// The headers of a browser holding the form cookie of `set_cookie`.
fn browser_with(set_cookie: &HeaderValue) -> HeaderMap {
    let pair = set_cookie
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let mut headers = HeaderMap::new();
    headers.insert(header::COOKIE, HeaderValue::from_str(&pair).unwrap());
    headers
}

/// A first visit: a token and the cookie it is bound to.
fn first_visit(now: u64) -> (String, HeaderMap) {
    let settings = settings();
    let no_cookies = HeaderMap::new();
    let jar = CookieJar::from_headers(&settings, &no_cookies);
    let (token, cookie) = form_token(&jar, &codec(), now);
    (token, browser_with(&cookie.unwrap()))
}

fn checked(headers: &HeaderMap, token: Option<&str>, now: u64) -> Result<(), FormRefused> {
    let settings = settings();
    let jar = CookieJar::from_headers(&settings, headers);
    check(&jar, headers, &codec(), token, ORIGIN, now)
}

#[test]
fn a_form_from_this_browsers_page_is_accepted() {
    let (token, headers) = first_visit(1000);
    assert_eq!(checked(&headers, Some(&token), 1010), Ok(()));
}

#[test]
fn the_cookie_is_set_once_and_reused_by_later_pages() {
    let (first, headers) = first_visit(1000);
    let settings = settings();
    let jar = CookieJar::from_headers(&settings, &headers);
    let (second, cookie) = form_token(&jar, &codec(), 1001);
    assert!(cookie.is_none(), "a browser with a form cookie keeps it");
    // Both tabs' forms work.
    assert_eq!(checked(&headers, Some(&first), 1002), Ok(()));
    assert_eq!(checked(&headers, Some(&second), 1002), Ok(()));
}

#[test]
fn the_cookie_is_http_only_lax_and_scoped_to_the_gateway_paths() {
    let settings = settings();
    let no_cookies = HeaderMap::new();
    let jar = CookieJar::from_headers(&settings, &no_cookies);
    let (_, cookie) = form_token(&jar, &codec(), 0);
    let cookie = cookie.unwrap().to_str().unwrap().to_owned();
    assert!(cookie.starts_with("_portcullis_form="), "{cookie}");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/oauth2/", "Secure"] {
        assert!(cookie.contains(attribute), "{attribute} in {cookie}");
    }
}

#[test]
fn a_form_without_its_token_or_cookie_is_refused() {
    let (token, headers) = first_visit(1000);
    assert_eq!(checked(&headers, None, 1001), Err(FormRefused::NoToken));
    assert_eq!(checked(&headers, Some(""), 1001), Err(FormRefused::NoToken));
    assert_eq!(
        checked(&HeaderMap::new(), Some(&token), 1001),
        Err(FormRefused::NoCookie)
    );
}

#[test]
fn a_token_from_another_browser_is_refused() {
    let (token, _) = first_visit(1000);
    let (_, other_browser) = first_visit(1000);
    assert_eq!(
        checked(&other_browser, Some(&token), 1001),
        Err(FormRefused::Mismatch)
    );
}

#[test]
fn a_forged_or_foreign_token_is_refused() {
    let (_, headers) = first_visit(1000);
    assert_eq!(
        checked(&headers, Some("forged"), 1001),
        Err(FormRefused::Mismatch)
    );
    // Sealed by the same secret for another purpose (a sign-out token's shape).
    let other = codec().seal(b"portcullis sign-out v1", br#"{"b":"x","t":1000}"#);
    assert_eq!(
        checked(&headers, Some(&other), 1001),
        Err(FormRefused::Mismatch)
    );
}

#[test]
fn a_stale_token_is_refused() {
    let (token, headers) = first_visit(1000);
    let lifetime = FORM_LIFETIME.as_secs();
    assert_eq!(checked(&headers, Some(&token), 1000 + lifetime), Ok(()));
    assert_eq!(
        checked(&headers, Some(&token), 1001 + lifetime),
        Err(FormRefused::Expired)
    );
}

#[test]
fn the_browser_saying_another_site_sent_it_is_refused() {
    let (token, mut headers) = first_visit(1000);
    for site in ["cross-site", "same-site", "none"] {
        headers.insert("sec-fetch-site", HeaderValue::from_static(site));
        assert_eq!(
            checked(&headers, Some(&token), 1001),
            Err(FormRefused::CrossSite),
            "{site}"
        );
    }
    headers.insert("sec-fetch-site", HeaderValue::from_static("same-origin"));
    assert_eq!(checked(&headers, Some(&token), 1001), Ok(()));

    headers.remove("sec-fetch-site");
    headers.insert(
        header::ORIGIN,
        HeaderValue::from_static("https://evil.example"),
    );
    assert_eq!(
        checked(&headers, Some(&token), 1001),
        Err(FormRefused::CrossSite)
    );
    headers.insert(header::ORIGIN, HeaderValue::from_static("null"));
    assert_eq!(
        checked(&headers, Some(&token), 1001),
        Err(FormRefused::CrossSite)
    );
    headers.insert(header::ORIGIN, HeaderValue::from_static(ORIGIN));
    assert_eq!(checked(&headers, Some(&token), 1001), Ok(()));
}

#[test]
fn an_origin_naming_the_host_the_form_was_sent_to_is_accepted() {
    let (token, mut headers) = first_visit(1000);
    headers.insert(header::HOST, HeaderValue::from_static("app.example.com"));
    headers.insert(
        header::ORIGIN,
        HeaderValue::from_static("https://app.example.com"),
    );
    assert_eq!(checked(&headers, Some(&token), 1001), Ok(()));
    headers.insert(
        header::ORIGIN,
        HeaderValue::from_static("https://other.example.com"),
    );
    assert_eq!(
        checked(&headers, Some(&token), 1001),
        Err(FormRefused::CrossSite)
    );
}
