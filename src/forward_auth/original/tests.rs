use super::*;
use axum::body::Body;

fn request(method: &str, headers: &[(&str, &str)]) -> Request {
    let mut builder = Request::builder().method(method).uri("/oauth2/auth");
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(Body::empty()).unwrap()
}

fn original(method: &str, host: &str, uri: &str) -> OriginalRequest {
    OriginalRequest {
        method: Method::from_bytes(method.as_bytes()).unwrap(),
        host: Some(host.to_owned()),
        uri: uri.to_owned(),
    }
}

type Headers<'a> = &'a [(&'a str, &'a str)];

/// Every way of naming the original request, each heard from a trusted and from an
/// untrusted peer (asked with `GET`, as nginx, Traefik and Caddy ask).
#[test]
fn forwarding_headers_count_only_from_trusted_peers() {
    let own = original("GET", "gate.test", "/");
    let cases: &[(Headers<'_>, OriginalRequest)] = &[
        (&[("host", "gate.test")], own.clone()),
        (
            &[
                ("host", "gate.test"),
                ("x-forwarded-method", "POST"),
                ("x-forwarded-host", "app.example.com"),
                ("x-forwarded-uri", "/admin/x?y=1"),
                ("x-original-method", "GET"),
            ],
            original("POST", "app.example.com", "/admin/x?y=1"),
        ),
        (
            &[("host", "gate.test"), ("x-forwarded-uri", "/admin")],
            original("UNSPECIFIED", "gate.test", "/admin"),
        ),
        (
            &[
                ("host", "gate.test"),
                (
                    "x-original-url",
                    "https://App.example.com:8443/public/../admin?q",
                ),
                ("x-original-method", "DELETE"),
                ("x-forwarded-host", "ignored.test"),
                ("x-forwarded-method", "GET"),
            ],
            original("DELETE", "App.example.com:8443", "/public/../admin?q"),
        ),
        (
            &[
                ("host", "gate.test"),
                ("x-original-url", "http://app.example.com"),
            ],
            original("UNSPECIFIED", "app.example.com", "/"),
        ),
        (
            &[
                ("host", "gate.test"),
                ("x-original-url", "/admin"),
                ("x-original-method", "PUT"),
            ],
            original("PUT", "gate.test", "/admin"),
        ),
        (
            &[
                ("host", "gate.test"),
                ("x-forwarded-host", "app.example.com"),
                ("x-forwarded-method", "POST"),
                ("x-original-method", "POST"),
            ],
            own.clone(),
        ),
    ];
    for (headers, from_trusted) in cases {
        let got = OriginalRequest::from_request(&request("GET", headers), true).unwrap();
        assert_eq!(&got, from_trusted, "trusted {headers:?}");
        let got = OriginalRequest::from_request(&request("GET", headers), false);
        if describes(headers) {
            assert!(
                matches!(got, Err(AppError::UntrustedProxy(_))),
                "untrusted {headers:?}: {got:?}"
            );
        } else {
            assert_eq!(got.unwrap(), own, "untrusted {headers:?}");
        }
    }
}

fn describes(headers: Headers<'_>) -> bool {
    headers
        .iter()
        .any(|(name, _)| ["x-original-url", "x-forwarded-uri"].contains(name))
}

/// Both forms at once, describing the same request: the same target byte for byte, the
/// same host (the request's own `Host` where a form names none); a method only when
/// both name the same one.
#[test]
fn both_descriptions_are_read_when_they_agree() {
    let cases: &[(Headers<'_>, OriginalRequest)] = &[
        (
            &[("x-original-url", "/a?b"), ("x-forwarded-uri", "/a?b")],
            original("UNSPECIFIED", "gate.test", "/a?b"),
        ),
        (
            &[
                ("x-original-url", "https://App.example.com:8443/a"),
                ("x-original-method", "POST"),
                ("x-forwarded-uri", "/a"),
                ("x-forwarded-host", "app.example.com"),
                ("x-forwarded-method", "POST"),
            ],
            original("POST", "App.example.com:8443", "/a"),
        ),
        (
            &[
                ("x-original-url", "http://gate.test/a"),
                ("x-original-method", "GET"),
                ("x-forwarded-uri", "/a"),
            ],
            original("UNSPECIFIED", "gate.test", "/a"),
        ),
    ];
    for (headers, expected) in cases {
        let headers = &[&[("host", "gate.test")], *headers].concat();
        let got = OriginalRequest::from_request(&request("GET", headers), true);
        assert_eq!(&got.unwrap(), expected, "{headers:?}");
    }
}

#[test]
fn ambiguous_or_malformed_forwarding_headers_are_refused_from_trusted_peers() {
    let cases: &[Headers<'_>] = &[
        &[("x-forwarded-uri", "/a"), ("x-forwarded-uri", "/b")],
        &[
            ("x-forwarded-uri", "/a"),
            ("x-forwarded-host", "a.test"),
            ("x-forwarded-host", "b.test"),
        ],
        &[("x-original-url", "/a"), ("x-forwarded-uri", "/a/")],
        &[("x-original-url", "/a"), ("x-forwarded-uri", "/A")],
        &[
            ("x-original-url", "http://a.test/a"),
            ("x-forwarded-uri", "/a"),
        ],
        &[
            ("x-original-url", "/a"),
            ("x-original-method", "GET"),
            ("x-forwarded-uri", "/a"),
            ("x-forwarded-method", "POST"),
        ],
        &[("x-forwarded-uri", "/a"), ("x-forwarded-host", "a.test,b")],
        &[("x-forwarded-uri", "/a"), ("x-forwarded-host", "b;a.test")],
        &[("x-original-url", "https://a.test,b/")],
        &[
            ("x-original-url", "https://app.example.com/admin"),
            ("x-forwarded-uri", "/public"),
        ],
        &[("x-forwarded-uri", "admin")],
        // Found by the forward_auth fuzz target: a space or tab inside a target is no
        // origin-form target, and servers split it differently.
        &[("x-forwarded-uri", "/public/x /admin")],
        &[("x-original-url", "https://app.example.com/T\tONS")],
        &[("x-forwarded-uri", "/a"), ("x-forwarded-method", "GET\tX")],
        &[("x-forwarded-uri", "/a"), ("x-forwarded-host", "a.test b")],
        &[("x-forwarded-uri", "https://evil.test/admin")],
        &[("x-forwarded-uri", "/"), ("x-forwarded-method", "G E T")],
        &[("x-original-url", "ftp://app.example.com/")],
        &[("x-original-url", "https://user@evil.test/")],
        &[("x-original-url", "https:///admin")],
        &[("x-original-url", "https://app.example.com?x")],
        &[("x-original-url", "app.example.com/admin")],
    ];
    for headers in cases {
        let headers = &[&[("host", "gate.test")], *headers].concat();
        let result = OriginalRequest::from_request(&request("GET", headers), true);
        assert!(
            matches!(result, Err(AppError::BadRequest(_))),
            "{headers:?}: {result:?}"
        );
        let untrusted = OriginalRequest::from_request(&request("GET", headers), false);
        assert!(
            matches!(untrusted, Err(AppError::UntrustedProxy(_))),
            "untrusted {headers:?}: {untrusted:?}"
        );
    }
}

#[test]
fn the_auth_requests_own_method_counts_only_without_a_description() {
    let got = OriginalRequest::from_request(&request("HEAD", &[("host", "h")]), false);
    assert_eq!(got.unwrap(), original("HEAD", "h", "/"));
    let got = OriginalRequest::from_request(&request("HEAD", &[("host", "h")]), true);
    assert_eq!(got.unwrap(), original("HEAD", "h", "/"));
    let described = request("POST", &[("host", "h"), ("x-forwarded-uri", "/x")]);
    let got = OriginalRequest::from_request(&described, true).unwrap();
    assert_eq!(got.method, unspecified_method());
}
