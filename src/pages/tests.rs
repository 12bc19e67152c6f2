use super::*;

fn pages() -> Pages {
    Pages::new().expect("embedded templates parse")
}

fn error_page(message: &str) -> ErrorPage {
    ErrorPage {
        status: 403,
        title: "Access denied".into(),
        message: message.into(),
        request_id: "req-123".into(),
        retry_url: None,
        retry_label: "Try again".into(),
        account: None,
        sign_in_url: None,
    }
}

fn assert_common_layout(html: &str) {
    assert!(html.starts_with("<!doctype html>"), "{html}");
    assert!(html.contains("<html lang=\"en\">"));
    assert!(html.contains("<main"));
    assert!(html.contains("href=\"/oauth2/static/portcullis.css\""));
    assert!(html.contains("<link rel=\"icon\" href=\"/oauth2/static/logo.svg\""));
    assert!(html.contains("name=\"viewport\""));
    assert!(html.contains("portcullis"));
}

#[test]
fn sign_in_page_has_one_button_per_provider() {
    let html = pages().sign_in(&SignInPage {
        local_forms: Vec::new(),
        providers: vec![
            ProviderButton {
                id: "google".into(),
                logo: "key.svg".into(),
                name: "Google".into(),
                start_url: "/oauth2/start?provider=google&rd=%2Fapp".into(),
            },
            ProviderButton {
                id: "dev".into(),
                logo: "key.svg".into(),
                name: "Dev login".into(),
                start_url: "/oauth2/start?provider=dev&rd=%2F".into(),
            },
        ],
        request_id: "req-42".into(),
    });

    assert_common_layout(&html);
    assert!(html.contains("<title>Sign in · portcullis</title>"));
    assert!(html.contains("<h1>Sign in</h1>"));
    assert!(html.contains("href=\"/oauth2/start?provider=google&amp;rd=%2Fapp\""));
    assert!(html.contains("Sign in with Google"));
    assert!(html.contains("src=\"/oauth2/static/key.svg\""));
    assert!(html.contains("href=\"/oauth2/start?provider=dev&amp;rd=%2F\""));
    assert!(html.contains("Sign in with Dev login"));
    assert_eq!(html.matches("class=\"button provider").count(), 2);
    assert!(html.contains("req-42"));
}

#[test]
fn sign_in_page_without_providers_says_so() {
    let html = pages().sign_in(&SignInPage {
        local_forms: Vec::new(),
        providers: vec![],
        request_id: "req-1".into(),
    });

    assert!(html.contains("No sign-in providers are configured"));
    assert!(!html.contains("Sign in with"));
}

#[test]
fn error_page_shows_status_title_message_and_request_id() {
    let html = pages().error(&error_page("Your email is not on the list."));

    assert_common_layout(&html);
    assert!(html.contains("<title>Access denied · portcullis</title>"));
    assert!(html.contains("Error 403"));
    assert!(html.contains("<h1>Access denied</h1>"));
    assert!(html.contains("Your email is not on the list."));
    assert!(html.contains("Request ID: <code>req-123</code>"));
    assert!(!html.contains("Try again"));
}

#[test]
fn error_page_links_to_retry_url_when_given() {
    let page = ErrorPage {
        retry_url: Some("/oauth2/sign_in?rd=%2Fdocs".into()),
        ..error_page("The sign-in took too long.")
    };

    let html = pages().error(&page);

    assert!(html.contains("href=\"/oauth2/sign_in?rd=%2Fdocs\">Try again</a>"));
}

#[test]
fn signed_out_page_offers_sign_in_again() {
    let html = pages().signed_out(&SignedOutPage {
        sign_in_url: "/oauth2/sign_in".into(),
        provider: None,
    });

    assert_common_layout(&html);
    assert!(html.contains("You are signed out"));
    assert!(html.contains("href=\"/oauth2/sign_in\">Sign in again</a>"));
    assert!(!html.contains("too"));
}

#[test]
fn signed_out_page_names_the_provider_of_a_confirmed_return() {
    let html = pages().signed_out(&SignedOutPage {
        sign_in_url: "/oauth2/sign_in".into(),
        provider: Some("Corp <ID>".into()),
    });

    assert!(html.contains("signed out at Corp &lt;ID&gt; too"));
}

#[test]
fn dev_authorize_page_is_labelled_and_has_the_form_fields() {
    let html = pages().dev_authorize(&DevAuthorizePage {
        action: "/oauth2/dev/authorize".into(),
        hidden: vec![
            ("state".into(), "abc\"def".into()),
            (
                "redirect_uri".into(),
                "http://127.0.0.1:4180/oauth2/callback/dev".into(),
            ),
        ],
        client_id: "portcullis-dev".into(),
        default_email: "dev@example.com".into(),
    });

    assert_common_layout(&html);
    assert!(html.contains("Development provider — not for production use"));
    assert!(html.contains("<form class=\"form\" method=\"post\" action=\"/oauth2/dev/authorize\">"));
    assert!(html.contains("<input type=\"hidden\" name=\"state\" value=\"abc&quot;def\">"));
    assert!(html.contains(
        "<input type=\"hidden\" name=\"redirect_uri\" value=\"http://127.0.0.1:4180/oauth2/callback/dev\">"
    ));
    for field in ["email", "name", "groups"] {
        assert!(
            html.contains(&format!("<label for=\"{field}\">")),
            "{field}"
        );
        assert!(
            html.contains(&format!("id=\"{field}\" name=\"{field}\"")),
            "{field}"
        );
    }
    assert!(html.contains("value=\"dev@example.com\""));
    assert!(html.contains("portcullis-dev"));
    assert!(html.contains("<button class=\"button\" type=\"submit\">"));
}

#[test]
fn echo_page_lists_headers_and_highlights_forwarded_ones() {
    let html = pages().echo(&EchoPage {
        method: "GET".into(),
        uri: "/app/path?x=1".into(),
        identity: vec![
            ("x-forwarded-user".into(), "alice".into()),
            ("x-forwarded-email".into(), "alice@example.com".into()),
        ],
        headers: vec![
            ("host".into(), "127.0.0.1:8080".into()),
            ("X-Forwarded-For".into(), "127.0.0.1".into()),
        ],
    });

    assert_common_layout(&html);
    assert!(html.contains("<code>GET /app/path?x=1</code>"));
    assert!(html.contains("<tr><th scope=\"row\">host</th><td>127.0.0.1:8080</td></tr>"));
    assert!(html.contains(
        "<tr class=\"forwarded\"><th scope=\"row\">x-forwarded-email</th><td>alice@example.com</td></tr>"
    ));
    assert!(html.contains("<tr class=\"forwarded\"><th scope=\"row\">X-Forwarded-For</th>"));
    assert_eq!(html.matches("class=\"forwarded\"").count(), 3);
}

/// On a phone the rows stack: who signed in must come before the browser's own headers.
#[test]
fn echo_page_shows_the_identity_before_the_other_headers() {
    let html = pages().echo(&EchoPage {
        method: "GET".into(),
        uri: "/".into(),
        identity: vec![("x-forwarded-user".into(), "alice".into())],
        headers: vec![("user-agent".into(), "Mozilla/5.0".into())],
    });

    let user = html
        .find(">x-forwarded-user</th>")
        .expect("the identity row");
    let agent = html.find(">user-agent</th>").expect("the browser's header");
    assert!(user < agent, "{html}");
    assert!(html.contains("<caption>Who signed in</caption>"), "{html}");
    assert!(!html.contains("No identity headers"), "{html}");

    let public = pages().echo(&EchoPage {
        method: "GET".into(),
        uri: "/".into(),
        identity: Vec::new(),
        headers: vec![("user-agent".into(), "Mozilla/5.0".into())],
    });
    assert!(public.contains("No identity headers"), "{public}");
}

#[test]
fn values_are_html_escaped() {
    let pages = pages();
    let attack = "<script>alert('x')</script>\"&";

    let error = pages.error(&ErrorPage {
        title: attack.into(),
        request_id: attack.into(),
        retry_url: Some(format!("\"><script>{attack}")),
        ..error_page(attack)
    });
    let echo = pages.echo(&EchoPage {
        method: attack.into(),
        uri: attack.into(),
        identity: vec![(attack.into(), attack.into())],
        headers: vec![(attack.into(), attack.into())],
    });
    let sign_in = pages.sign_in(&SignInPage {
        local_forms: Vec::new(),
        providers: vec![ProviderButton {
            id: attack.into(),
            name: attack.into(),
            start_url: attack.into(),
            logo: attack.into(),
        }],
        request_id: attack.into(),
    });

    for html in [error, echo, sign_in] {
        assert!(!html.contains("<script"), "{html}");
        assert!(html.contains("&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;&quot;&amp;"));
    }
}

#[test]
fn a_failing_template_falls_back_to_an_escaped_page() {
    let broken = Pages::from_templates(
        &[("error.html", "{{ no_such_variable }}")],
        &Brand::default(),
    )
    .unwrap();

    let html = broken.error(&ErrorPage {
        retry_url: Some("/oauth2/sign_in".into()),
        ..error_page("<script>bad</script>")
    });

    assert!(html.contains("<html lang=\"en\">"));
    assert!(html.contains("Error 403"));
    assert!(html.contains("&lt;script&gt;bad&lt;/script&gt;"));
    assert!(!html.contains("<script"));
    assert!(html.contains("Request ID: req-123"));
    assert!(html.contains("href=\"/oauth2/sign_in\">Try again</a>"));
}

#[test]
fn a_missing_template_falls_back_for_every_page() {
    let empty = Pages::from_templates(&[], &Brand::default()).unwrap();

    let sign_in = empty.sign_in(&SignInPage {
        local_forms: Vec::new(),
        providers: vec![ProviderButton {
            id: "dev".into(),
            logo: "key.svg".into(),
            name: "Dev".into(),
            start_url: "/oauth2/start?provider=dev".into(),
        }],
        request_id: "r".into(),
    });
    let signed_out = empty.signed_out(&SignedOutPage {
        sign_in_url: "/oauth2/sign_in".into(),
        provider: None,
    });
    let dev = empty.dev_authorize(&DevAuthorizePage {
        action: "/oauth2/dev/authorize".into(),
        hidden: vec![("state".into(), "s".into())],
        client_id: "c".into(),
        default_email: "d@example.com".into(),
    });
    let echo = empty.echo(&EchoPage {
        method: "GET".into(),
        uri: "/".into(),
        identity: vec![("x-forwarded-user".into(), "<b>".into())],
        headers: Vec::new(),
    });

    assert!(sign_in.contains("href=\"/oauth2/start?provider=dev\""));
    assert!(signed_out.contains("Sign in again"));
    assert!(dev.contains("not for production use"));
    assert!(dev.contains("name=\"groups\""));
    assert!(echo.contains("x-forwarded-user: &lt;b&gt;"));
}

#[test]
fn static_asset_serves_the_stylesheet_and_logo() {
    let (content_type, css) = static_asset("portcullis.css").unwrap();
    assert!(content_type.starts_with("text/css"));
    assert!(std::str::from_utf8(css).unwrap().contains(":focus-visible"));

    for logo in [
        "google.svg",
        "github.svg",
        "gitlab.svg",
        "microsoft.svg",
        "keycloak.svg",
        "key.svg",
    ] {
        let (content_type, svg) = static_asset(logo).unwrap();
        assert_eq!(content_type, "image/svg+xml");
        assert!(
            std::str::from_utf8(svg).unwrap().contains("<title>"),
            "{logo}"
        );
    }
    let (content_type, svg) = static_asset("logo.svg").unwrap();
    assert_eq!(content_type, "image/svg+xml");
    assert!(std::str::from_utf8(svg).unwrap().starts_with("<svg"));
}

#[test]
fn static_asset_rejects_unknown_and_traversal_paths() {
    for path in [
        "",
        "missing.css",
        "../portcullis.css",
        "../Cargo.toml",
        "../../src/pages.rs",
        "/portcullis.css",
        "static/portcullis.css",
        "portcullis.css/",
        "%2e%2e/portcullis.css",
        "PORTCULLIS.CSS",
    ] {
        assert!(static_asset(path).is_none(), "{path:?}");
    }
}

#[test]
fn templates_have_no_inline_script_or_style() {
    for (name, source) in TEMPLATES {
        let lower = source.to_ascii_lowercase();
        assert!(!lower.contains("<script"), "{name} has a script element");
        assert!(!lower.contains("<style"), "{name} has a style element");
        assert!(!lower.contains("style="), "{name} has a style attribute");
        assert!(
            !has_event_handler(&lower),
            "{name} has an event handler attribute"
        );
    }
}

/// Whether `html` has an attribute like ` onclick=`.
fn has_event_handler(html: &str) -> bool {
    html.match_indices(" on").any(|(at, _)| {
        let rest = &html[at + 3..];
        let letters = rest.len()
            - rest
                .trim_start_matches(|c: char| c.is_ascii_alphabetic())
                .len();
        letters > 0 && rest[letters..].starts_with('=')
    })
}

#[test]
fn event_handler_check_finds_handlers() {
    assert!(has_event_handler("<a onclick=\"x\">"));
    assert!(!has_event_handler("<p>sign in on time</p>"));
}

#[test]
fn sign_out_page_posts_the_token_back() {
    let html = pages().sign_out(&SignOutPage {
        action: "/oauth2/sign_out?rd=%2Fa&x=\"".into(),
        csrf_token: "tok-123".into(),
        cancel_url: "/".into(),
    });

    assert_common_layout(&html);
    assert!(html.contains("<title>Sign out? · portcullis</title>"));
    assert!(html.contains(
        "<form class=\"form\" method=\"post\" action=\"/oauth2/sign_out?rd=%2Fa&amp;x=&quot;\">"
    ));
    assert!(html.contains("<input type=\"hidden\" name=\"csrf_token\" value=\"tok-123\">"));
    assert!(html.contains("<a href=\"/\">Stay signed in</a>"));
    assert!(!html.contains("<script"));
}

#[test]
fn signing_out_page_moves_on_by_meta_refresh() {
    let html = pages().signing_out(&SigningOutPage {
        next_url: "https://op.example/logout?id_token_hint=a.b.c&post_logout_redirect_uri=x".into(),
    });

    assert_common_layout(&html);
    assert!(html.contains("<meta http-equiv=\"refresh\" content=\"0; url=https://op.example/logout?id_token_hint=a.b.c&amp;post_logout_redirect_uri=x\">"));
    assert!(html.contains(
        "href=\"https://op.example/logout?id_token_hint=a.b.c&amp;post_logout_redirect_uri=x\""
    ));
    assert!(!html.contains("<script"));
}
