//! The brand on the built-in pages: the title in `<title>` and the header, the logo and the
//! stylesheet linked and served; and nothing of it without a brand.

use super::super::*;

const PNG: &[u8] = b"\x89PNG\r\n\x1a\nrest-of-the-image";

fn brand() -> Brand<'static> {
    Brand {
        title: Some("Acme <Login>"),
        logo: Some(("image/png", PNG)),
        css: Some(b":root { --primary: #b91c1c; }"),
        templates: Vec::new(),
    }
}

fn sign_in_page() -> SignInPage {
    SignInPage {
        providers: vec![ProviderButton {
            id: "corp".into(),
            name: "Corp ID".into(),
            start_url: "/oauth2/start?provider=corp".into(),
            logo: "key.svg".into(),
        }],
        local_forms: Vec::new(),
        request_id: "req-1".into(),
    }
}

fn signed_out_page() -> SignedOutPage {
    SignedOutPage {
        sign_in_url: "/oauth2/sign_in".into(),
        provider: None,
    }
}

#[test]
fn the_title_logo_and_stylesheet_are_on_every_page_escaped() {
    let pages = Pages::branded(&brand()).unwrap();

    for html in [
        pages.sign_in(&sign_in_page()),
        pages.signed_out(&signed_out_page()),
    ] {
        assert!(html.contains(" · Acme &lt;Login&gt;</title>"), "{html}");
        assert!(!html.contains("· portcullis</title>"), "{html}");
        assert!(
            html.contains("<span class=\"brand-name\">Acme &lt;Login&gt;</span>"),
            "{html}"
        );
        assert!(
            html.contains(
                "<img class=\"brand-logo brand-logo-custom\" src=\"/oauth2/static/brand-logo\""
            ),
            "{html}"
        );
        assert!(
            html.contains(
                "<link rel=\"icon\" href=\"/oauth2/static/brand-logo\" type=\"image/png\">"
            ),
            "{html}"
        );
        let built_in = html.find("href=\"/oauth2/static/portcullis.css\"").unwrap();
        let branded = html
            .find("<link rel=\"stylesheet\" href=\"/oauth2/static/brand.css\">")
            .unwrap_or_else(|| panic!("no brand stylesheet: {html}"));
        assert!(built_in < branded, "the brand's stylesheet comes last");
    }
}

#[test]
fn without_a_brand_the_pages_are_portcullis_and_link_no_brand_file() {
    let pages = Pages::branded(&Brand::default()).unwrap();

    let html = pages.sign_in(&sign_in_page());

    assert!(
        html.contains("<title>Sign in · portcullis</title>"),
        "{html}"
    );
    assert!(html.contains("<span class=\"brand-name\">portcullis</span>"));
    assert!(html.contains("src=\"/oauth2/static/logo.svg\" alt=\"\" width=\"28\" height=\"28\""));
    assert!(!html.contains("brand.css"), "{html}");
    assert!(!html.contains("brand-logo-custom"), "{html}");
    assert!(pages.static_file("brand.css").is_none());
    assert!(pages.static_file("brand-logo").is_none());
}

#[test]
fn the_brand_files_are_served_with_their_content_types_next_to_the_embedded_ones() {
    let pages = Pages::branded(&brand()).unwrap();

    let (logo_type, logo) = pages.static_file("brand-logo").unwrap();
    let (css_type, css) = pages.static_file("brand.css").unwrap();
    let (builtin_type, _) = pages.static_file("portcullis.css").unwrap();

    assert_eq!((logo_type, &logo[..]), ("image/png", PNG));
    assert_eq!(css_type, "text/css; charset=utf-8");
    assert_eq!(&css[..], b":root { --primary: #b91c1c; }");
    assert_eq!(builtin_type, "text/css; charset=utf-8");
    for path in ["brand-logo.png", "brand", "../brand.css", "BRAND.CSS"] {
        assert!(pages.static_file(path).is_none(), "{path}");
    }
}

#[test]
fn the_fallback_page_carries_the_brand_too() {
    let pages = Pages::from_templates(&[], &brand()).unwrap();

    let html = pages.signed_out(&signed_out_page());

    assert!(
        html.contains("<title>You are signed out · Acme &lt;Login&gt;</title>"),
        "{html}"
    );
    assert!(html.contains("href=\"/oauth2/static/portcullis.css\"><link rel=\"stylesheet\" href=\"/oauth2/static/brand.css\">"), "{html}");
}
