//! `/oauth2/auth`, forward auth for nginx, Traefik and Caddy (DESIGN §3, §4; issue 5 point
//! 4): 202 with `X-Auth-Request-*`, 401, 403, judged for the original request, which only a
//! peer in `trusted_proxies` may describe; an absolute `rd` only on `allowed_redirect_hosts`;
//! `cookie_domain` on the session cookie.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use portcullis::identity::Identity;
use portcullis::session::{unix_now, Session};
use reqwest::cookie::Jar;
use reqwest::header::{ACCEPT, WWW_AUTHENTICATE};
use reqwest::{Method, Response, StatusCode};

use crate::echo_upstream::EchoUpstream;
use crate::helpers::{
    error_code, location, render_toml, set_cookies, spawn_app, spawn_app_with, toml_str, Addresses,
    Browser, TestApp, TestConfig, BROWSER_ACCEPT, TEST_SESSION_SECRET,
};
use crate::mock_provider::{ClientRegistration, MockProvider, Signing};

/// The test client connects from 127.0.0.1: a trusted proxy.
pub(crate) const TRUSTED_LOOPBACK: &str = r#"trusted_proxies = ["127.0.0.1/32", "::1"]"#;
/// Proxies elsewhere: the test client (127.0.0.1) is not one of them.
pub(crate) const TRUSTED_ELSEWHERE: &str = r#"trusted_proxies = ["10.0.0.0/8"]"#;

/// Routes with stricter rules than `[authorize]` (which admits example.com): `/admin` only
/// for bob, the host `ops.example.test` only for the group `wheel`; and `GET
/// /status/health` without a session. The default routes of the harness stay: `/`
/// (protected) and `/public` (public).
const STRICT_ROUTES: &str = r#"
[[upstream]]
path = "/admin"
url = "{echo}"
allow = { emails = ["bob@example.com"] }

[[upstream]]
host = "ops.example.test"
path = "/"
url = "{echo}"
allow = { groups = ["wheel"] }

[[upstream]]
path = "/status"
url = "{echo}"
skip_auth = [{ methods = ["GET"], path = "^/status/health$" }]
"#;

pub(crate) async fn forward_auth_app(trusted_proxies: &str) -> TestApp {
    let trusted_proxies = trusted_proxies.to_owned();
    spawn_app_with(move |cfg| {
        cfg.server_extra = trusted_proxies;
        cfg.extra_toml = STRICT_ROUTES.to_owned();
    })
    .await
}

/// `GET /oauth2/auth` from `browser` (its cookies) with `headers`, as a proxy would ask.
pub(crate) async fn ask(app: &TestApp, browser: &Browser, headers: &[(&str, &str)]) -> Response {
    ask_with(app, browser, Method::GET, headers).await
}

async fn ask_with(
    app: &TestApp,
    browser: &Browser,
    method: Method,
    headers: &[(&str, &str)],
) -> Response {
    let mut request = browser.client.request(method, app.url("/oauth2/auth"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.expect("auth request")
}

/// A browser holding a session the gateway sealed for `email` (signed in with `groups`).
pub(crate) fn browser_signed_in_as(app: &TestApp, email: &str, groups: &[&str]) -> Browser {
    let now = unix_now();
    let session = Session {
        access_token: Some("forged-access-token".to_owned()),
        issued_at: now,
        expires_at: now + 3600,
        checked_at: now,
        ..Session::new(
            Identity {
                user: format!("sub-{email}"),
                email: Some(email.to_owned()),
                preferred_username: email.split('@').next().map(str::to_owned),
                groups: groups.iter().map(|g| (*g).to_owned()).collect(),
                provider: app.config.provider_id.clone(),
            },
            0,
            0,
        )
    };
    app.browser_with_session(&session)
}

pub(crate) fn header<'r>(resp: &'r Response, name: &str) -> Option<&'r str> {
    resp.headers().get(name).map(|v| v.to_str().unwrap())
}

const IDENTITY_HEADERS: [&str; 5] = [
    "x-auth-request-user",
    "x-auth-request-email",
    "x-auth-request-preferred-username",
    "x-auth-request-groups",
    "x-auth-request-access-token",
];

#[tokio::test]
async fn signed_out_is_401_json_for_programs_and_browsers_alike() {
    let app = forward_auth_app(TRUSTED_LOOPBACK).await;

    let resp = ask(&app, &app.browser, &[]).await;
    assert!(resp.headers().contains_key(WWW_AUTHENTICATE));
    assert_eq!(
        error_code(resp).await,
        (StatusCode::UNAUTHORIZED, "unauthenticated".to_owned())
    );

    let resp = ask(&app, &app.browser, &[("accept", BROWSER_ACCEPT)]).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "never a redirect");
    for name in IDENTITY_HEADERS {
        assert_eq!(header(&resp, name), None, "{name}");
    }
}

#[tokio::test]
async fn signed_in_and_allowed_is_202_with_the_identity() {
    let app = forward_auth_app(TRUSTED_LOOPBACK).await;
    app.sign_in().await;

    for method in [Method::GET, Method::HEAD, Method::POST] {
        let resp = ask_with(&app, &app.browser, method.clone(), &[]).await;

        assert_eq!(resp.status(), StatusCode::ACCEPTED, "{method}");
        assert_eq!(header(&resp, "x-auth-request-user"), Some("alice-sub-0001"));
        assert_eq!(
            header(&resp, "x-auth-request-email"),
            Some("alice@example.com")
        );
        assert_eq!(
            header(&resp, "x-auth-request-preferred-username"),
            Some("alice")
        );
        assert_eq!(header(&resp, "x-auth-request-groups"), Some("staff,admins"));
        assert_eq!(header(&resp, "x-auth-request-access-token"), None);
        assert_eq!(header(&resp, "cache-control"), Some("no-store"));
    }
}

/// A proxy that copies the identity headers (Caddy's `copy_headers`) must find each one in
/// the 202, or it forwards the client's copy or its own unresolved placeholder.
#[tokio::test]
async fn a_user_without_groups_gets_an_empty_groups_header() {
    let app = forward_auth_app(TRUSTED_LOOPBACK).await;
    let browser = browser_signed_in_as(&app, "dave@example.com", &[]);

    let resp = ask(&app, &browser, &[("x-auth-request-groups", "admins")]).await;

    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    assert_eq!(header(&resp, "x-auth-request-groups"), Some(""));
    assert_eq!(
        header(&resp, "x-auth-request-email"),
        Some("dave@example.com")
    );
}

#[tokio::test]
async fn the_access_token_is_passed_only_where_the_route_passes_it() {
    let app = spawn_app_with(|cfg| {
        cfg.server_extra = TRUSTED_LOOPBACK.to_owned();
        cfg.pass_access_token = true;
        cfg.extra_toml = "[[upstream]]\npath = \"/plain\"\nurl = \"{echo}\"\n".to_owned();
    })
    .await;
    let browser = browser_signed_in_as(&app, "carol@example.com", &[]);

    let passed = ask(&app, &browser, &[("x-forwarded-uri", "/app")]).await;
    let plain = ask(&app, &browser, &[("x-forwarded-uri", "/plain/x")]).await;

    assert_eq!(
        header(&passed, "x-auth-request-access-token"),
        Some("forged-access-token")
    );
    assert_eq!(plain.status(), StatusCode::ACCEPTED);
    assert_eq!(header(&plain, "x-auth-request-access-token"), None);
}

#[tokio::test]
async fn signed_in_but_refused_by_the_global_rules_is_403() {
    let app = forward_auth_app(TRUSTED_LOOPBACK).await;
    let mallory = browser_signed_in_as(&app, "mallory@evil.test", &["admins"]);

    let resp = ask(&app, &mallory, &[]).await;

    assert_eq!(header(&resp, "x-auth-request-user"), None);
    assert_eq!(
        error_code(resp).await,
        (StatusCode::FORBIDDEN, "forbidden".to_owned())
    );
}

/// Who asks (a label and their browser), with which forwarding headers, and the answer.
pub(crate) type Case<'a> = (&'a str, &'a Browser, Vec<(&'a str, &'a str)>, StatusCode);

/// API clients behind the proxy: a valid `Authorization: Bearer` JWT (forwarded by the
/// proxy with the other request headers) counts like a session, through the same route
/// rules; an invalid one is 401 `invalid_token` (DESIGN §4; issue 5 point 5).
#[tokio::test]
async fn bearer_tokens_count_like_sessions() {
    const AUDIENCE: &str = "https://api.example.test";
    let app = spawn_app_with(|cfg| {
        cfg.server_extra = TRUSTED_LOOPBACK.to_owned();
        cfg.provider_extra = format!("bearer = {{ audiences = [\"{AUDIENCE}\"] }}");
        cfg.extra_toml = STRICT_ROUTES.to_owned();
    })
    .await;
    let now = unix_now() as i64;
    let claims = |exp: i64| {
        serde_json::json!({
            "iss": app.provider.issuer(),
            "sub": "api-user-1",
            "aud": AUDIENCE,
            "iat": now,
            "exp": exp,
            "email": "alice@example.com",
            "email_verified": true,
            "groups": ["staff"],
        })
        .as_object()
        .unwrap()
        .clone()
    };
    let valid = app
        .provider
        .sign(&claims(now + 300), &Signing::Rs256, false);
    let expired = app
        .provider
        .sign(&claims(now - 300), &Signing::Rs256, false);
    let api = |token: &str, uri: &str| {
        let request = Browser::new()
            .client
            .get(app.url("/oauth2/auth"))
            .bearer_auth(token)
            .header("x-forwarded-method", "GET")
            .header("x-forwarded-uri", uri.to_owned());
        request.send()
    };

    let allowed = api(&valid, "/api/items").await.unwrap();
    let refused = api(&valid, "/admin").await.unwrap();
    let stale = api(&expired, "/api/items").await.unwrap();

    assert_eq!(allowed.status(), StatusCode::ACCEPTED);
    assert_eq!(header(&allowed, "x-auth-request-user"), Some("api-user-1"));
    assert_eq!(
        header(&allowed, "x-auth-request-email"),
        Some("alice@example.com")
    );
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let challenge = header(&stale, "www-authenticate")
        .unwrap_or_default()
        .to_owned();
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
    assert_eq!(
        error_code(stale).await,
        (StatusCode::UNAUTHORIZED, "invalid_token".to_owned())
    );
}

/// A request that needs no sign-in gets every identity header, empty, so that a proxy
/// copying them replaces what the client sent instead of passing it on.
#[tokio::test]
async fn a_public_request_gets_every_identity_header_empty() {
    let app = forward_auth_app(TRUSTED_LOOPBACK).await;

    let resp = ask(
        &app,
        &Browser::new(),
        &[
            ("x-forwarded-uri", "/public/x"),
            ("x-auth-request-user", "admin"),
        ],
    )
    .await;

    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    for name in &IDENTITY_HEADERS[..4] {
        assert_eq!(header(&resp, name), Some(""), "{name}");
    }
}

/// From a trusted proxy, the original request's method, host and path choose the route
/// whose rules apply, in both the Traefik/Caddy and the nginx form.
#[tokio::test]
async fn a_trusted_proxy_describes_the_original_request() {
    let app = forward_auth_app(TRUSTED_LOOPBACK).await;
    let signed_out = Browser::new();
    let alice = browser_signed_in_as(&app, "alice@example.com", &["staff"]);
    let bob = browser_signed_in_as(&app, "bob@example.com", &["wheel"]);

    let cases: Vec<Case<'_>> = vec![
        (
            "out",
            &signed_out,
            vec![("x-forwarded-uri", "/public/x")],
            StatusCode::ACCEPTED,
        ),
        (
            "out",
            &signed_out,
            vec![("x-forwarded-uri", "/app")],
            StatusCode::UNAUTHORIZED,
        ),
        (
            "out",
            &signed_out,
            vec![("x-original-url", "http://gate.test/public/page?q=1")],
            StatusCode::ACCEPTED,
        ),
        (
            "out",
            &signed_out,
            vec![("x-forwarded-uri", "/public/../admin")],
            StatusCode::UNAUTHORIZED,
        ),
        (
            "out",
            &signed_out,
            vec![("x-forwarded-uri", "/public/%2e%2e/admin")],
            StatusCode::UNAUTHORIZED,
        ),
        (
            "out",
            &signed_out,
            vec![("x-original-url", "http://gate.test/public%2F..%2Fadmin")],
            StatusCode::UNAUTHORIZED,
        ),
        (
            "alice",
            &alice,
            vec![("x-forwarded-uri", "/app")],
            StatusCode::ACCEPTED,
        ),
        (
            "alice",
            &alice,
            vec![("x-forwarded-uri", "/admin")],
            StatusCode::FORBIDDEN,
        ),
        // `/admin` as the app behind nginx (`merge_slashes`) or a case-insensitive router
        // reads it: not judged under the laxer `/`.
        (
            "alice",
            &alice,
            vec![("x-forwarded-uri", "//admin")],
            StatusCode::FORBIDDEN,
        ),
        (
            "alice",
            &alice,
            vec![("x-original-url", "http://gate.test/%2Fadmin/users")],
            StatusCode::FORBIDDEN,
        ),
        (
            "alice",
            &alice,
            vec![("x-forwarded-uri", "/ADMIN/users")],
            StatusCode::FORBIDDEN,
        ),
        (
            "alice",
            &alice,
            vec![
                ("x-forwarded-method", "POST"),
                ("x-forwarded-uri", "/admin/users?id=1"),
            ],
            StatusCode::FORBIDDEN,
        ),
        (
            "alice",
            &alice,
            vec![
                ("x-original-url", "https://gate.test/admin"),
                ("x-original-method", "GET"),
            ],
            StatusCode::FORBIDDEN,
        ),
        (
            "alice",
            &alice,
            vec![
                ("x-forwarded-host", "ops.example.test"),
                ("x-forwarded-uri", "/"),
            ],
            StatusCode::FORBIDDEN,
        ),
        (
            "alice",
            &alice,
            vec![("x-original-url", "https://OPS.example.test:8443/x")],
            StatusCode::FORBIDDEN,
        ),
        (
            "bob",
            &bob,
            vec![("x-forwarded-uri", "/admin")],
            StatusCode::ACCEPTED,
        ),
        (
            "bob",
            &bob,
            vec![
                ("x-forwarded-host", "ops.example.test"),
                ("x-forwarded-uri", "/x"),
            ],
            StatusCode::ACCEPTED,
        ),
        (
            "out",
            &signed_out,
            vec![
                ("x-forwarded-method", "GET"),
                ("x-forwarded-uri", "/status/health"),
            ],
            StatusCode::ACCEPTED,
        ),
        (
            "out",
            &signed_out,
            vec![
                ("x-forwarded-method", "POST"),
                ("x-forwarded-uri", "/status/health"),
            ],
            StatusCode::UNAUTHORIZED,
        ),
        (
            "out",
            &signed_out,
            vec![
                ("x-original-url", "http://gate.test/status/health"),
                ("x-original-method", "GET"),
            ],
            StatusCode::ACCEPTED,
        ),
        // Without the method the proxy asked with GET, which says nothing of the original.
        (
            "out",
            &signed_out,
            vec![("x-forwarded-uri", "/status/health")],
            StatusCode::UNAUTHORIZED,
        ),
        (
            "out",
            &signed_out,
            vec![("x-original-url", "http://gate.test/status/health")],
            StatusCode::UNAUTHORIZED,
        ),
        // Each proxy passes the other's form on from the client: both is never believed.
        (
            "alice",
            &alice,
            vec![
                ("x-original-url", "http://gate.test/app"),
                ("x-forwarded-uri", "/admin"),
            ],
            StatusCode::BAD_REQUEST,
        ),
        (
            "alice",
            &alice,
            vec![("x-forwarded-uri", "/a"), ("x-forwarded-uri", "/admin")],
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

/// `rd` may be an absolute URL only on `allowed_redirect_hosts` (exact, or with a leading
/// dot the domain and its subdomains), on the sign-in page, through a whole login, and at
/// sign-out; anything else becomes `/`.
#[tokio::test]
async fn an_absolute_rd_is_kept_only_for_allowed_hosts() {
    let app = spawn_app_with(|cfg| {
        cfg.server_extra =
            r#"allowed_redirect_hosts = ["app.example.test", ".corp.example.test"]"#.to_owned();
    })
    .await;
    // (rd, where the browser ends up)
    let cases = [
        (
            "https://app.example.test/x?y=1",
            "https://app.example.test/x?y=1",
        ),
        (
            "http://app.example.test:8443/x",
            "http://app.example.test:8443/x",
        ),
        ("https://APP.Example.test/", "https://app.example.test/"),
        ("https://corp.example.test/a", "https://corp.example.test/a"),
        (
            "https://wiki.corp.example.test/a",
            "https://wiki.corp.example.test/a",
        ),
        ("/local?x=1", "/local?x=1"),
        ("https://example.test/", "/"),
        ("https://evil.app.example.test/", "/"),
        ("https://app.example.test.evil.test/", "/"),
        ("https://evilcorp.example.test/", "/"),
        ("https://corp.example.test@evil.test/", "/"),
        ("https://evil.test/?app.example.test", "/"),
        ("ftp://app.example.test/", "/"),
        ("//app.example.test/", "/"),
        ("javascript://app.example.test/%0aalert(1)", "/"),
    ];
    for (rd, expected) in cases {
        let sign_in = app
            .get(&format!("/oauth2/sign_in?rd={}", urlencode(rd)))
            .await
            .text()
            .await
            .unwrap();
        assert!(
            sign_in.contains(&format!("rd={}\"", urlencode(expected))),
            "rd {rd:?}: the sign-in page does not carry {expected:?}"
        );

        let login = app.login(&Browser::new(), rd).await;
        assert_eq!(location_header(&login), expected, "login with rd {rd:?}");

        let sign_out = Browser::new()
            .client
            .get(app.url(&format!("/oauth2/sign_out?rd={}", urlencode(rd))))
            .send()
            .await
            .unwrap();
        assert_eq!(
            location_header(&sign_out),
            expected,
            "sign-out with rd {rd:?}"
        );
    }
}

/// Without `allowed_redirect_hosts`, no absolute `rd` survives.
#[tokio::test]
async fn without_allowed_hosts_an_absolute_rd_becomes_root() {
    let app = spawn_app().await;

    let login = app
        .login(&Browser::new(), "https://app.example.test/x")
        .await;

    assert_eq!(location_header(&login), "/");
}

fn location_header(resp: &Response) -> &str {
    assert!(resp.status().is_redirection(), "{}", resp.status());
    resp.headers()["location"].to_str().unwrap()
}

fn urlencode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

#[tokio::test]
async fn the_session_cookie_is_host_only_without_cookie_domain() {
    let app = spawn_app().await;

    let login = app.login(&app.browser, "/").await;
    let sign_out = app.get("/oauth2/sign_out").await;

    for cookie in set_cookies(&login).iter().chain(&set_cookies(&sign_out)) {
        assert!(!cookie.to_ascii_lowercase().contains("domain="), "{cookie}");
    }
}

/// With `cookie_domain`, the session cookie (and its clearing) carries `Domain`, so a
/// sign-in at `auth.` is seen by `/oauth2/auth` asked for `app.` (DESIGN §3; issue 5).
#[tokio::test]
async fn cookie_domain_lets_one_sign_in_cover_the_subdomains() {
    let gate = DomainGateway::start(".portcullis.localhost").await;
    let browser = gate.browser();

    let start = browser
        .navigate(&gate.url("auth", "/oauth2/start?provider=mock&rd=/"))
        .await;
    let authorize = browser.navigate(&location(&start)).await;
    let login = browser.navigate(&location(&authorize)).await;

    let session = set_cookies(&login)
        .into_iter()
        .find(|c| c.starts_with("_portcullis="))
        .expect("a session cookie");
    assert!(session.contains("Domain=portcullis.localhost"), "{session}");
    let on_app = browser
        .client
        .get(gate.url("app", "/oauth2/auth"))
        .send()
        .await
        .unwrap();
    assert_eq!(on_app.status(), StatusCode::ACCEPTED);
    assert_eq!(
        header(&on_app, "x-auth-request-email"),
        Some("alice@example.com")
    );

    let sign_out = browser
        .client
        .get(gate.url("app", "/oauth2/sign_out"))
        .send()
        .await
        .unwrap();
    let cleared: Vec<String> = set_cookies(&sign_out)
        .into_iter()
        .filter(|c| c.starts_with("_portcullis=;"))
        .collect();
    assert!(
        cleared
            .iter()
            .any(|c| c.contains("Domain=portcullis.localhost")),
        "{cleared:?}"
    );
    let after = browser
        .client
        .get(gate.url("app", "/oauth2/auth"))
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), StatusCode::UNAUTHORIZED);
}

/// A gateway whose `public_url` is `http://auth.portcullis.localhost:PORT` with
/// `cookie_domain` set (the harness's `public_url` is an IP address, which cannot have one),
/// and browsers that resolve `*.portcullis.localhost` to it without asking DNS.
struct DomainGateway {
    addr: SocketAddr,
    _provider: MockProvider,
    _upstream: EchoUpstream,
}

impl DomainGateway {
    async fn start(cookie_domain: &str) -> DomainGateway {
        let cfg = TestConfig {
            session_extra: format!("cookie_domain = {}", toml_str(cookie_domain)),
            ..TestConfig::default()
        };
        let provider = MockProvider::start(ClientRegistration {
            client_id: cfg.client_id.clone(),
            client_secret: cfg.client_secret.clone(),
        })
        .await;
        let upstream = EchoUpstream::start().await;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let public_url = format!("http://auth.portcullis.localhost:{}", addr.port());
        provider.register_redirect_uri(&format!("{public_url}/oauth2/callback/mock"));
        let refused = SocketAddr::from(([127, 0, 0, 1], 9));
        let toml = render_toml(
            &cfg,
            &Addresses {
                gateway: addr,
                issuer: &provider.issuer(),
                upstream: &upstream.url(),
                refused,
            },
        )
        .replace(
            &format!("public_url = {}", toml_str(&format!("http://{addr}"))),
            &format!("public_url = {}", toml_str(&public_url)),
        );
        assert!(toml.contains(&public_url), "{toml}");
        let env = |name: &str| match name {
            "PORTCULLIS_TEST_SECRET" => Some(TEST_SESSION_SECRET.to_owned()),
            "MOCK_CLIENT_SECRET" => Some(cfg.client_secret.clone()),
            _ => None,
        };
        let config = portcullis::config::Config::parse(&toml, "providers.toml", &env)
            .unwrap_or_else(|errors| panic!("{errors}\n{toml}"));
        let app = portcullis::startup::Application::with_listener(config, listener)
            .await
            .unwrap();
        tokio::spawn(app.run_until_stopped());
        let gate = DomainGateway {
            addr,
            _provider: provider,
            _upstream: upstream,
        };
        gate.wait_until_ready().await;
        gate
    }

    fn url(&self, subdomain: &str, path: &str) -> String {
        format!(
            "http://{subdomain}.portcullis.localhost:{}{path}",
            self.addr.port()
        )
    }

    fn browser(&self) -> Browser {
        let jar = Arc::new(Jar::default());
        let mut client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .cookie_provider(jar.clone())
            .timeout(Duration::from_secs(20));
        for subdomain in ["auth", "app"] {
            client = client.resolve(&format!("{subdomain}.portcullis.localhost"), self.addr);
        }
        Browser {
            client: client.build().unwrap(),
            jar,
        }
    }

    async fn wait_until_ready(&self) {
        let client = self.browser().client;
        for _ in 0..400 {
            let ready = client
                .get(self.url("auth", "/ready"))
                .header(ACCEPT, "text/plain")
                .send()
                .await;
            if ready.is_ok_and(|resp| resp.status() == StatusCode::OK) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("the gateway never became ready");
    }
}
