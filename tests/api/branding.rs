//! `[pages]` branding (DESIGN §11): the sign-in page shows the product name, links the brand's
//! stylesheet after the built-in one and shows its logo; the logo and stylesheet are served
//! like the built-in static files; a template of `templates_dir` replaces the built-in page;
//! and a branded page keeps the security headers and the strict CSP, unchanged.

use std::path::PathBuf;

use reqwest::Response;

use crate::helpers::{spawn_app, spawn_app_with, toml_str, TestApp};

/// The gateway's CSP on every `/oauth2/*` answer: the brand's files are served from 'self'.
const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; \
                   frame-ancestors 'none'; base-uri 'none'";

/// `tests/fixtures/brand/`: logo.svg, brand.css, templates/signed_out.html.
pub fn fixture(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/brand")
        .join(path)
}

/// `[pages]` with the "Acme Intranet" brand of `tests/fixtures/brand/`.
pub fn brand_toml() -> String {
    let path = |name: &str| toml_str(&fixture(name).display().to_string());
    format!(
        "[pages]\ntitle = \"Acme Intranet\"\nlogo = {}\ncss = {}\ntemplates_dir = {}\n",
        path("logo.svg"),
        path("brand.css"),
        path("templates"),
    )
}

async fn branded_app() -> TestApp {
    spawn_app_with(|c| c.extra_toml = brand_toml()).await
}

/// The headers every `/oauth2/*` answer carries, by name.
fn security_headers(resp: &Response) -> Vec<(&'static str, String)> {
    [
        "content-security-policy",
        "x-content-type-options",
        "x-frame-options",
        "referrer-policy",
        "cache-control",
    ]
    .into_iter()
    .map(|name| {
        let value = resp
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned());
        (
            name,
            value.unwrap_or_else(|| panic!("no {name} on {}", resp.url())),
        )
    })
    .collect()
}

#[tokio::test]
async fn the_sign_in_page_shows_the_title_the_logo_and_links_the_stylesheet() {
    let app = branded_app().await;

    let resp = app.navigate("/oauth2/sign_in").await;

    assert_eq!(resp.status(), 200);
    let html = resp.text().await.unwrap();
    assert!(
        html.contains("<title>Sign in · Acme Intranet</title>"),
        "{html}"
    );
    assert!(
        html.contains("<span class=\"brand-name\">Acme Intranet</span>"),
        "{html}"
    );
    assert!(!html.contains("· portcullis</title>"), "{html}");
    assert!(html.contains("src=\"/oauth2/static/brand-logo\""), "{html}");
    let built_in = html.find("href=\"/oauth2/static/portcullis.css\"").unwrap();
    let brand = html
        .find("href=\"/oauth2/static/brand.css\"")
        .unwrap_or_else(|| panic!("no brand stylesheet: {html}"));
    assert!(
        built_in < brand,
        "the brand's stylesheet comes after the built-in one"
    );
    assert!(html.contains("Sign in with Mock OpenID"), "{html}");
}

#[tokio::test]
async fn a_branded_page_keeps_the_security_headers_and_the_same_csp() {
    let plain = spawn_app().await;
    let branded = branded_app().await;

    let plain_page = plain.navigate("/oauth2/sign_in").await;
    let branded_page = branded.navigate("/oauth2/sign_in").await;

    let headers = security_headers(&branded_page);
    assert_eq!(headers, security_headers(&plain_page));
    assert_eq!(headers[0], ("content-security-policy", CSP.to_owned()));
    assert_eq!(headers[1].1, "nosniff");
}

#[tokio::test]
async fn the_logo_and_stylesheet_are_served_like_the_built_in_static_files() {
    let app = branded_app().await;
    let built_in = app.get("/oauth2/static/portcullis.css").await;
    assert_eq!(built_in.status(), 200);

    for (path, file, content_type) in [
        ("/oauth2/static/brand-logo", "logo.svg", "image/svg+xml"),
        (
            "/oauth2/static/brand.css",
            "brand.css",
            "text/css; charset=utf-8",
        ),
    ] {
        let resp = app.get(path).await;

        assert_eq!(resp.status(), 200, "{path}");
        assert_eq!(resp.headers()["content-type"], content_type, "{path}");
        assert_eq!(
            security_headers(&resp),
            security_headers(&built_in),
            "{path}"
        );
        let body = resp.bytes().await.unwrap();
        assert_eq!(
            body.as_ref(),
            std::fs::read(fixture(file)).unwrap(),
            "{path}"
        );
    }
}

#[tokio::test]
async fn without_pages_there_is_no_brand_file_and_the_pages_are_portcullis() {
    let app = spawn_app().await;

    let page = app.navigate("/oauth2/sign_in").await.text().await.unwrap();

    assert!(
        page.contains("<title>Sign in · portcullis</title>"),
        "{page}"
    );
    assert!(!page.contains("/oauth2/static/brand"), "{page}");
    for path in ["/oauth2/static/brand.css", "/oauth2/static/brand-logo"] {
        assert_eq!(app.get(path).await.status(), 404, "{path}");
    }
}

#[tokio::test]
async fn a_template_of_templates_dir_replaces_the_built_in_page() {
    let app = branded_app().await;

    let resp = app.navigate("/oauth2/signed_out").await;

    assert_eq!(security_headers(&resp)[0].1, CSP);
    let html = resp.text().await.unwrap();
    assert!(html.contains("<h1>See you soon</h1>"), "{html}");
    assert!(html.contains("You have left Acme Intranet."), "{html}");
    assert!(
        html.contains("<title>Signed out · Acme Intranet</title>"),
        "{html}"
    );
    assert!(!html.contains("You are signed out"), "{html}");
}
