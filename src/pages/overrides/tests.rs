//! Templates that replace the built-in ones: used in their place, and every mistake in them
//! reported with its template and line when the pages are built; one that fails later on
//! data no sample had still gets the fallback page.

use super::super::*;

fn replacing(templates: &[(&'static str, &'static str)]) -> Brand<'static> {
    Brand {
        title: Some("Acme"),
        templates: templates.to_vec(),
        ..Brand::default()
    }
}

fn problems(templates: &[(&'static str, &'static str)]) -> Vec<TemplateProblem> {
    match Pages::branded(&replacing(templates)) {
        Ok(_) => panic!("accepted: {templates:?}"),
        Err(problems) => problems,
    }
}

fn sign_in_page(local_forms: Vec<LocalForm>) -> SignInPage {
    SignInPage {
        providers: vec![ProviderButton {
            id: "corp".into(),
            name: "Corp ID".into(),
            start_url: "/oauth2/start?provider=corp".into(),
            logo: "key.svg".into(),
        }],
        local_forms,
        request_id: "req-1".into(),
    }
}

#[test]
fn a_replacing_template_is_used_in_place_of_the_built_in_one() {
    let pages = Pages::branded(&replacing(&[(
        "signed_out.html",
        "{% extends \"base.html\" %}{% block title %}Bye{% endblock %}\
         {% block content %}<h1>Bye from {{ brand.title }}</h1>\
         <a href=\"{{ sign_in_url }}\">Back</a>{% endblock %}",
    )]))
    .unwrap();

    let signed_out = pages.signed_out(&SignedOutPage {
        sign_in_url: "/oauth2/sign_in".into(),
        provider: None,
    });
    let sign_in = pages.sign_in(&sign_in_page(Vec::new()));

    assert!(
        signed_out.contains("<h1>Bye from Acme</h1>"),
        "{signed_out}"
    );
    assert!(
        signed_out.contains("<title>Bye · Acme</title>"),
        "{signed_out}"
    );
    assert!(!signed_out.contains("You are signed out"));
    assert!(
        sign_in.contains("<h1>Sign in</h1>"),
        "the others stay: {sign_in}"
    );
}

#[test]
fn a_replaced_base_template_frames_every_page() {
    let pages = Pages::branded(&replacing(&[(
        "base.html",
        "<!doctype html><title>{{ brand.title }}</title>\
         <div class=\"acme\">{% block content %}{% endblock %}</div>",
    )]))
    .unwrap();

    let html = pages.sign_in(&sign_in_page(Vec::new()));

    assert!(
        html.starts_with("<!doctype html><title>Acme</title><div class=\"acme\">"),
        "{html}"
    );
    assert!(html.contains("Sign in with Corp ID"), "{html}");
}

#[test]
fn a_template_that_does_not_parse_is_reported_with_its_line() {
    let found = problems(&[
        (
            "sign_in.html",
            "<h1>Sign in</h1>\n{% if providers %}\n{{ providers }\n",
        ),
        ("error.html", "{% block content %}\n\n{% endblok %}"),
    ]);

    assert_eq!(found.len(), 2, "{found:?}");
    assert_eq!(
        (found[0].template.as_str(), found[0].line),
        ("sign_in.html", Some(3))
    );
    assert!(
        found[0].message.starts_with("syntax error"),
        "{}",
        found[0].message
    );
    assert_eq!(
        (found[1].template.as_str(), found[1].line),
        ("error.html", Some(3))
    );
}

#[test]
fn a_template_that_fails_on_its_sample_page_is_reported_with_its_line() {
    let found = problems(&[(
        "error.html",
        "{% extends \"base.html\" %}\n{% block content %}\n<p>{{ status }}</p>\n\
         <p>{{ details.reason }}</p>\n{% endblock %}",
    )]);

    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(
        (found[0].template.as_str(), found[0].line),
        ("error.html", Some(4))
    );
    assert!(
        found[0].message.contains("undefined"),
        "{}",
        found[0].message
    );
    assert!(
        found[0].message.contains("sample error.html page"),
        "{}",
        found[0].message
    );
}

#[test]
fn every_page_has_a_sample_and_a_broken_base_is_reported_once() {
    for name in template_names().filter(|name| *name != "base.html") {
        let found = problems(&[(name, "<p>\n{{ no_such.value }}</p>")]);
        assert_eq!(found.len(), 1, "{name}: {found:?}");
        assert_eq!((found[0].template.as_str(), found[0].line), (name, Some(2)));
    }

    let found = problems(&[(
        "base.html",
        "{{ no_such.value }}{% block content %}{% endblock %}",
    )]);

    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].template, "base.html");
}

#[test]
fn an_include_of_a_template_that_does_not_exist_is_reported() {
    let found = problems(&[("signed_out.html", "{% include \"footer.html\" %}")]);

    assert_eq!(found[0].template, "signed_out.html");
    assert!(
        found[0].message.contains("footer.html"),
        "{}",
        found[0].message
    );
}

#[test]
fn a_template_that_fails_on_data_no_sample_had_gets_the_fallback_page() {
    // The samples have a local form; this page fails only without one.
    let pages = Pages::branded(&replacing(&[(
        "sign_in.html",
        "{% if not local_forms %}{{ no_such.value }}{% endif %}<h1>Custom</h1>",
    )]))
    .unwrap();

    let html = pages.sign_in(&sign_in_page(Vec::new()));

    assert!(!html.contains("Custom"), "{html}");
    assert!(
        html.contains("href=\"/oauth2/start?provider=corp\">Sign in with Corp ID"),
        "{html}"
    );
    assert!(html.contains("<title>Sign in · Acme</title>"), "{html}");
}
