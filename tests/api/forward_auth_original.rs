//! `/oauth2/auth` and the original request a proxy describes (issue 9): a description from
//! a peer outside `trusted_proxies` is refused rather than judged as another path; a
//! fragment, a host that is not `host[:port]` and two descriptions that differ are never
//! judged as something else; two that agree are.

use reqwest::header::HOST;
use reqwest::StatusCode;

use crate::forward_auth::{
    ask, browser_signed_in_as, forward_auth_app, header, Case, TRUSTED_ELSEWHERE, TRUSTED_LOOPBACK,
};
use crate::helpers::{error_code, Browser};

/// From any other peer, a description of the original request is refused with 403 rather
/// than judged as another path: a proxy missing from `trusted_proxies` would otherwise have
/// every request judged as `/` (a user allowed on `/` would get 202 for `/admin`), and a
/// client could not be told apart from it. Forwarding headers that describe no path
/// (`X-Forwarded-Host` or `-Method` alone) are ignored, and the request is judged as `/`
/// on its own `Host`.
#[tokio::test]
async fn an_untrusted_peer_describing_the_original_request_is_refused() {
    let app = forward_auth_app(TRUSTED_ELSEWHERE).await;
    let signed_out = Browser::new();
    let alice = browser_signed_in_as(&app, "alice@example.com", &["staff"]);

    let descriptions: &[&[(&str, &str)]] = &[
        &[("x-forwarded-uri", "/public/x")],
        &[
            ("x-forwarded-uri", "/public"),
            ("x-forwarded-method", "GET"),
        ],
        &[("x-original-url", "http://gate.test/public/x")],
        &[("x-original-url", "/public")],
        &[
            ("x-forwarded-method", "GET"),
            ("x-forwarded-uri", "/status/health"),
        ],
        &[("x-forwarded-uri", "/admin")],
        &[
            ("x-forwarded-host", "ops.example.test"),
            ("x-forwarded-uri", "/x"),
        ],
        &[("x-original-url", "https://ops.example.test/admin")],
        &[
            ("x-original-url", "https://gate.test/admin"),
            ("x-original-method", "POST"),
        ],
        &[("x-forwarded-uri", "/a"), ("x-forwarded-uri", "/admin")],
        &[("x-forwarded-uri", "/public/../admin")],
        &[("x-forwarded-uri", "/")],
    ];
    for headers in descriptions {
        for (who, browser) in [("out", &signed_out), ("alice", &alice)] {
            let resp = ask(&app, browser, headers).await;
            assert_eq!(header(&resp, "x-auth-request-user"), None, "{headers:?}");
            let (status, code) = error_code(resp).await;
            assert_eq!(
                (status, code.as_str()),
                (StatusCode::FORBIDDEN, "untrusted_proxy"),
                "{who} {headers:?}"
            );
        }
    }

    // Headers that name no path change nothing: judged as `/` on the request's own Host.
    let resp = ask(&app, &signed_out, &[("x_forwarded_uri", "/public/x")]).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    for headers in [
        &[("x-forwarded-host", "ops.example.test")][..],
        &[("x-forwarded-method", "GET")][..],
    ] {
        let resp = ask(&app, &alice, headers).await;
        assert_eq!(resp.status(), StatusCode::ACCEPTED, "{headers:?}");
        assert_eq!(
            header(&resp, "x-auth-request-email"),
            Some("alice@example.com")
        );
    }
    let resp = alice
        .client
        .get(app.url("/oauth2/auth"))
        .header(HOST, "ops.example.test")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
}

/// A fragment never belongs to an origin-form target (RFC 9112 §3.2.1); a target that has
/// one is not routed, so the dot segments after `#` cannot hide behind a public route or a
/// `skip_auth` rule. Anonymous askers get 401, so nginx's `error_page 401` still sends
/// people to sign in; a signed-in one gets 403.
#[tokio::test]
async fn a_fragment_in_the_original_target_is_never_judged_as_the_part_before_it() {
    let app = forward_auth_app(TRUSTED_LOOPBACK).await;
    let signed_out = Browser::new();
    let alice = browser_signed_in_as(&app, "alice@example.com", &["staff"]);
    let attacks: &[&[(&str, &str)]] = &[
        &[("x-forwarded-uri", "/public/x#/../../secret")],
        &[("x-forwarded-uri", "/public/x#/%2e%2e/%2e%2e/secret")],
        &[("x-forwarded-uri", "/public/x#/%2E%2E/admin")],
        &[("x-original-url", "http://gate.test/public/x#/../../secret")],
        &[("x-original-url", "http://gate.test/public#/%2e%2e/admin")],
        &[
            ("x-forwarded-method", "GET"),
            ("x-forwarded-uri", "/status/health#/../x"),
        ],
        &[
            ("x-original-method", "GET"),
            (
                "x-original-url",
                "http://gate.test/status/health#/../../admin",
            ),
        ],
    ];
    for headers in attacks {
        let resp = ask(&app, &signed_out, headers).await;
        let (status, code) = error_code(resp).await;
        assert_eq!(
            (status, code.as_str()),
            (StatusCode::UNAUTHORIZED, "unauthenticated"),
            "{headers:?}"
        );
        let resp = ask(&app, &alice, headers).await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN, "alice {headers:?}");
    }
}

/// A host with list separators is read as a list by upstream frameworks (Express and Spring
/// take the first element, Rack the last): it is not a host, and no rule is judged for it.
#[tokio::test]
async fn a_host_with_list_separators_is_refused() {
    let app = forward_auth_app(TRUSTED_LOOPBACK).await;
    let alice = browser_signed_in_as(&app, "alice@example.com", &["staff"]);
    let attacks: &[&[(&str, &str)]] = &[
        &[
            ("x-forwarded-host", "ops.example.test,x"),
            ("x-forwarded-uri", "/"),
        ],
        &[
            ("x-forwarded-host", "x,ops.example.test"),
            ("x-forwarded-uri", "/"),
        ],
        &[
            ("x-forwarded-host", "ops.example.test;x"),
            ("x-forwarded-uri", "/"),
        ],
        &[("x-original-url", "https://ops.example.test,x/")],
        &[("x-original-url", "https://ops.example.test;x:443/x")],
    ];
    for headers in attacks {
        let resp = ask(&app, &alice, headers).await;
        assert_eq!(header(&resp, "x-auth-request-user"), None, "{headers:?}");
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{headers:?}");
    }
    for host in [
        "ops.example.test,x",
        "x,ops.example.test",
        "ops.example.test;x",
    ] {
        let resp = alice
            .client
            .get(app.url("/oauth2/auth"))
            .header(HOST, host)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "Host: {host}");
    }
}

/// Users who copy both the ingress-nginx and the Traefik-style examples send both
/// descriptions. When they describe the same request (same target byte for byte, same
/// host, same method) it is judged; when they differ, the client wrote one of them, and it
/// stays a 400.
#[tokio::test]
async fn both_descriptions_count_when_they_describe_the_same_request() {
    let app = forward_auth_app(TRUSTED_LOOPBACK).await;
    let signed_out = Browser::new();
    let alice = browser_signed_in_as(&app, "alice@example.com", &["staff"]);
    let cases: Vec<Case<'_>> = vec![
        (
            "alice",
            &alice,
            vec![
                ("x-original-url", "http://gate.test/app?x=1"),
                ("x-forwarded-uri", "/app?x=1"),
                ("x-forwarded-host", "gate.test"),
            ],
            StatusCode::ACCEPTED,
        ),
        (
            "alice",
            &alice,
            vec![
                ("x-original-url", "https://gate.test/admin"),
                ("x-original-method", "GET"),
                ("x-forwarded-uri", "/admin"),
                ("x-forwarded-host", "gate.test"),
                ("x-forwarded-method", "GET"),
            ],
            StatusCode::FORBIDDEN,
        ),
        (
            "alice",
            &alice,
            vec![
                ("x-original-url", "https://ops.example.test:8443/x"),
                ("x-forwarded-uri", "/x"),
                ("x-forwarded-host", "OPS.example.test"),
            ],
            StatusCode::FORBIDDEN,
        ),
        (
            "out",
            &signed_out,
            vec![
                ("x-original-url", "http://gate.test/public/x"),
                ("x-forwarded-uri", "/public/x"),
                ("x-forwarded-host", "gate.test"),
            ],
            StatusCode::ACCEPTED,
        ),
        (
            "out",
            &signed_out,
            vec![
                ("x-original-url", "http://gate.test/status/health"),
                ("x-original-method", "GET"),
                ("x-forwarded-uri", "/status/health"),
                ("x-forwarded-host", "gate.test"),
                ("x-forwarded-method", "GET"),
            ],
            StatusCode::ACCEPTED,
        ),
        // One method given, the other not: only rules for any method apply.
        (
            "out",
            &signed_out,
            vec![
                ("x-original-url", "http://gate.test/status/health"),
                ("x-forwarded-uri", "/status/health"),
                ("x-forwarded-host", "gate.test"),
                ("x-forwarded-method", "GET"),
            ],
            StatusCode::UNAUTHORIZED,
        ),
        // Different targets, hosts or methods: one is the client's.
        (
            "alice",
            &alice,
            vec![
                ("x-original-url", "http://gate.test/app"),
                ("x-forwarded-uri", "/app/"),
            ],
            StatusCode::BAD_REQUEST,
        ),
        (
            "alice",
            &alice,
            vec![
                ("x-original-url", "http://gate.test/App"),
                ("x-forwarded-uri", "/app"),
            ],
            StatusCode::BAD_REQUEST,
        ),
        (
            "alice",
            &alice,
            vec![
                ("x-original-url", "http://ops.example.test/x"),
                ("x-forwarded-uri", "/x"),
                ("x-forwarded-host", "gate.test"),
            ],
            StatusCode::BAD_REQUEST,
        ),
        (
            "alice",
            &alice,
            vec![("x-original-url", "/x"), ("x-forwarded-uri", "/x")],
            StatusCode::ACCEPTED,
        ),
        (
            "alice",
            &alice,
            vec![
                ("x-original-url", "http://gate.test/x"),
                ("x-forwarded-uri", "/x"),
            ],
            StatusCode::BAD_REQUEST,
        ),
        (
            "out",
            &signed_out,
            vec![
                ("x-original-url", "http://gate.test/status/health"),
                ("x-original-method", "POST"),
                ("x-forwarded-uri", "/status/health"),
                ("x-forwarded-host", "gate.test"),
                ("x-forwarded-method", "GET"),
            ],
            StatusCode::BAD_REQUEST,
        ),
    ];
    for (who, browser, headers, expected) in cases {
        let resp = ask(&app, browser, &headers).await;
        assert_eq!(resp.status(), expected, "{who} {headers:?}");
        if resp.status() == StatusCode::ACCEPTED && who == "out" {
            assert_eq!(
                header(&resp, "x-auth-request-user"),
                Some(""),
                "{headers:?}"
            );
        }
    }
}
