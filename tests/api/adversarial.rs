//! Adversarial probes of the gate from the wire (DESIGN §5 items 1–3): request framing and
//! header tricks sent byte for byte, checked from a raw TCP upstream that records every byte
//! the gateway writes, so nothing a parser upstream might read (trailers, a second request
//! smuggled behind a body) can hide from the assertion.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;

use crate::helpers::{spawn_app_with, toml_str, TestApp};

/// An upstream that records the raw bytes of every connection and answers `200 ok` once
/// the connection has been quiet for a moment (so bytes sent after a body are seen too).
#[derive(Clone)]
struct RawUpstream {
    url: String,
    connections: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl RawUpstream {
    async fn start() -> RawUpstream {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let connections: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
        let shared = Arc::clone(&connections);
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let shared = Arc::clone(&shared);
                tokio::spawn(async move {
                    let index = {
                        let mut all = shared.lock().expect("lock");
                        all.push(Vec::new());
                        all.len() - 1
                    };
                    let mut buffer = [0u8; 4096];
                    loop {
                        match tokio::time::timeout(
                            Duration::from_millis(300),
                            stream.read(&mut buffer),
                        )
                        .await
                        {
                            Ok(Ok(0)) | Ok(Err(_)) => return,
                            Ok(Ok(n)) => {
                                shared.lock().expect("lock")[index].extend_from_slice(&buffer[..n])
                            }
                            Err(_) => break,
                        }
                    }
                    let _ = stream
                        .write_all(
                            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
                        )
                        .await;
                    let _ = stream.shutdown().await;
                });
            }
        });
        RawUpstream { url, connections }
    }

    /// Everything received, all connections, lower-cased.
    fn received(&self) -> String {
        self.connections
            .lock()
            .expect("lock")
            .iter()
            .map(|bytes| String::from_utf8_lossy(bytes).to_ascii_lowercase())
            .collect::<Vec<_>>()
            .join("\n=====\n")
    }
}

/// The harness app plus a protected `/raw` and a public `/open` route on a [`RawUpstream`].
async fn raw_app() -> (TestApp, RawUpstream) {
    let raw = RawUpstream::start().await;
    let extra = format!(
        "[[upstream]]\npath = \"/raw\"\nurl = {url}\n\n\
         [[upstream]]\npath = \"/open\"\nurl = {url}\npublic = true\n",
        url = toml_str(&raw.url),
    );
    let app = spawn_app_with(|cfg| cfg.extra_toml = extra).await;
    (app, raw)
}

/// Writes `request` exactly as given and returns the whole answer.
async fn send_raw(app: &TestApp, request: &str) -> String {
    let mut stream = tokio::net::TcpStream::connect(app.addr)
        .await
        .expect("connect");
    let request = request.replace("{host}", &app.addr.to_string());
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut response = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut response)).await;
    String::from_utf8_lossy(&response).into_owned()
}

/// Header names and spellings a client must never get to an upstream (DESIGN §5 item 1),
/// as they appear lower-cased on the wire with `_` read as `-`.
const FORGED_NAMES: [&str; 9] = [
    "x-forwarded-user",
    "x-forwarded-email",
    "x-forwarded-groups",
    "x-auth-request-user",
    "x-auth-request-email",
    "x-auth-request-groups",
    "x-real-ip",
    "forwarded:",
    "mallory",
];

fn assert_nothing_forged(received: &str, case: &str) {
    let normalized = received.replace('_', "-");
    for name in FORGED_NAMES {
        assert!(
            !normalized.contains(name),
            "{case}: the upstream received {name:?}:\n{received}"
        );
    }
}

#[tokio::test]
async fn request_trailers_cannot_smuggle_identity_headers() {
    // Arrange: a chunked body whose trailer section (RFC 9112 §7.1.2) names identity headers,
    // even declared in `Trailer`; some servers merge trailers into the headers.
    let (app, raw) = raw_app().await;
    let request = "POST /open/t HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding: chunked\r\n\
                   Trailer: X-Forwarded-User, X-Auth-Request-User\r\nConnection: close\r\n\r\n\
                   5\r\nhello\r\n0\r\nX-Forwarded-User: mallory\r\n\
                   X_Auth_Request_User: mallory\r\nX-Forwarded-Groups: admins\r\n\r\n";

    // Act
    let answer = send_raw(&app, request).await;

    // Assert: the body arrives, the trailers do not.
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let received = raw.received();
    assert!(received.contains("hello"), "{received}");
    assert_nothing_forged(&received, "trailers");
}

#[tokio::test]
async fn ambiguous_framing_and_header_syntax_never_reach_the_upstream_as_sent() {
    // Arrange: request-smuggling and header-injection shapes (RFC 9112 §6.3, §5.2), on a
    // public route so that nothing but the parser stands in the way.
    let (app, raw) = raw_app().await;
    let cases = [
        // Content-Length and Transfer-Encoding together, in both orders.
        "POST /open/a HTTP/1.1\r\nHost: {host}\r\nContent-Length: 4\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        "POST /open/b HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding: chunked\r\n\
         Content-Length: 4\r\nConnection: close\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        // Conflicting lengths; a transfer coding other than chunked.
        "POST /open/c HTTP/1.1\r\nHost: {host}\r\nContent-Length: 5\r\n\
         Content-Length: 30\r\nConnection: close\r\n\r\nhello",
        "POST /open/d HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding: identity\r\n\
         Content-Length: 5\r\nConnection: close\r\n\r\nhello",
        // Obsolete line folding hiding a header; white space before the colon.
        "GET /open/e HTTP/1.1\r\nHost: {host}\r\nX-Note: a\r\n X-Forwarded-User: mallory\r\n\
         Connection: close\r\n\r\n",
        "GET /open/f HTTP/1.1\r\nHost: {host}\r\nX-Forwarded-User : mallory\r\n\
         Connection: close\r\n\r\n",
        // HTTP/1.0, and a Connection header naming the identity header.
        "GET /open/g HTTP/1.0\r\nHost: {host}\r\nConnection: keep-alive, X-Forwarded-User\r\n\
         X-Forwarded-User: mallory\r\nX_Auth_Request_Email: mallory@example.com\r\n\
         X-Real-IP: 10.0.0.1\r\nForwarded: for=10.0.0.1;host=mallory\r\n\r\n",
    ];

    for case in cases {
        // Act
        let before = raw.received().len();
        let answer = send_raw(&app, case).await;

        // Assert: refused, or forwarded with one framing and nothing forged.
        let received = raw.received();
        let received = received.get(before..).unwrap_or_default();
        let status = answer.get(9..12).unwrap_or_default();
        assert!(status == "200" || status == "400", "{case}: {answer}");
        assert_nothing_forged(received, case);
        assert!(
            !(received.contains("content-length:") && received.contains("transfer-encoding:")),
            "{case}: forwarded with two framings:\n{received}"
        );
    }
}

/// `/` public and `/admin` protected, both on the harness's echo upstream: a site whose
/// back office is under one prefix of the same application.
async fn public_root_app() -> TestApp {
    spawn_app_with(|cfg| {
        cfg.public_upstream = false;
        cfg.down_upstream = false;
        // The root upstream is the last table before `extra_toml`: this line is its key.
        cfg.extra_toml =
            "public = true\n\n[[upstream]]\npath = \"/admin\"\nurl = \"{echo}\"\n".to_owned();
    })
    .await
}

#[tokio::test]
async fn paths_a_server_reads_under_a_protected_prefix_do_not_pass_as_the_public_root() {
    // Arrange: Tomcat and Jetty drop `;` parameters (`/admin;x=y` is `/admin`), Windows
    // servers trailing dots and spaces and read `\` as `/`, C code stops at a NUL, nginx
    // (`merge_slashes`) and Tomcat merge repeated slashes (`//admin` is `/admin`), IIS,
    // ASP.NET Core and Express match paths in any case (`/ADMIN` is `/admin`).
    let app = public_root_app().await;
    let targets = [
        "/admin;x=y",
        "/admin;",
        "/admin;/users",
        "/admin%3bjsessionid=1",
        "/admin.",
        "/admin%2e",
        "/admin%20",
        "/admin./users",
        "/admin%00",
        "/admin\\users",
        "/admin%5cusers",
        "//admin",
        "///admin/users",
        "/%2Fadmin",
        "/%2f%2fadmin",
        "/ADMIN",
        "/Admin/users",
        "/%41dmin",
        "/aDmIn.",
    ];

    for target in targets {
        // Act
        let head = format!("GET {target} HTTP/1.1\r\nHost: {{host}}");
        let (status, body) = app.raw_request(&head, "").await;

        // Assert: never proxied under the public root's policy.
        assert!(
            !(200..300).contains(&status),
            "{target} passed without a session: {status} {body}"
        );
    }
    let seen = app.upstream.requests();
    assert!(seen.is_empty(), "the upstream was reached: {seen:#?}");
    // The public root itself still works, `;`, dots, repeated slashes and capitals included.
    let (status, _) = app
        .raw_request("GET /Page;v=1//about. HTTP/1.1\r\nHost: {host}", "")
        .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn a_login_started_for_one_provider_cannot_finish_at_another() {
    // Arrange: two providers with the same issuer and client (so the RFC 9207 `iss` check
    // cannot tell them apart); the flow cookie is sent to every `/oauth2/callback/…` path.
    let block = |id: &str| {
        format!(
            "[[provider]]\nid = \"{id}\"\nkind = \"oidc\"\nissuer = \"{{issuer}}\"\n\
             client_id = \"portcullis-test\"\nclient_secret = \"${{MOCK_CLIENT_SECRET}}\"\n"
        )
    };
    let blocks = format!("{}\n{}", block("mock"), block("twin"));
    let app = spawn_app_with(|cfg| cfg.provider_blocks = Some(blocks)).await;
    let callback = app.begin_login(&app.browser, "/").await;
    assert!(callback.contains("/oauth2/callback/mock?"), "{callback}");

    // Act: the provider's answer, delivered to the other provider's callback.
    let swapped = callback.replace("/oauth2/callback/mock?", "/oauth2/callback/twin?");
    let resp = app.finish_login_as_program(&app.browser, &swapped).await;

    // Assert
    assert!(resp.status().is_client_error(), "{}", resp.status());
    assert!(
        resp.headers()
            .get_all(reqwest::header::SET_COOKIE)
            .iter()
            .all(|c| !c
                .to_str()
                .unwrap_or_default()
                .starts_with(&format!("{}=", app.cookie_name()))),
        "a session cookie was set"
    );
    assert_eq!(app.get("/oauth2/userinfo").await.status(), 401);
    assert!(app.upstream.requests().is_empty());
}

#[tokio::test]
async fn providers_sharing_an_issuer_each_vouch_only_for_their_own_audiences() {
    // Arrange: one IdP behind two providers, each accepting API tokens for its own audience.
    let block = |id: &str, audience: &str| {
        format!(
            "[[provider]]\nid = \"{id}\"\nkind = \"oidc\"\nissuer = \"{{issuer}}\"\n\
             client_id = \"portcullis-test\"\nclient_secret = \"${{MOCK_CLIENT_SECRET}}\"\n\
             bearer = {{ audiences = [\"{audience}\"] }}\n"
        )
    };
    let blocks = format!(
        "{}\n{}",
        block("mock", "https://a.example.test"),
        block("twin", "https://b.example.test")
    );
    let app = spawn_app_with(|cfg| cfg.provider_blocks = Some(blocks)).await;
    let token = |aud: &str| {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let claims = serde_json::json!({
            "iss": app.provider.issuer(), "sub": "api-user-1", "aud": aud,
            "iat": now, "exp": now + 300,
            "email": "alice@example.com", "email_verified": true,
        });
        app.provider.sign(
            claims.as_object().unwrap(),
            &crate::mock_provider::Signing::Rs256,
            false,
        )
    };
    let call = |token: String| {
        app.request(reqwest::Method::GET, "/api")
            .header("Accept", "application/json")
            .bearer_auth(token)
            .send()
    };

    // Act
    let for_b = call(token("https://b.example.test")).await.unwrap();
    let for_neither = call(token("portcullis-test")).await.unwrap();

    // Assert: the second provider's audience is accepted and attributed to it; the gateway's
    // own client id (an ID token's audience) is nobody's API audience.
    assert_eq!(for_b.status(), 200);
    let seen = crate::helpers::echoed(for_b).await;
    assert_eq!(seen.header("x-forwarded-provider"), Some("twin"));
    assert_eq!(for_neither.status(), 401);
}

#[tokio::test]
async fn only_the_one_validated_upgrade_reaches_the_upstream_and_never_h2c() {
    // Arrange: several `Upgrade` fields, or one listing several protocols, with h2c among
    // them and its `HTTP2-Settings` (RFC 9113 §3.1 removed the h2c upgrade; a server behind
    // the gateway that still honours it would speak HTTP/2 to the client past every check).
    let (app, raw) = raw_app().await;
    let handshake = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";
    let cases = [
        format!(
            "GET /open/a HTTP/1.1\r\nHost: {{host}}\r\nConnection: Upgrade\r\n\
             Upgrade: websocket\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\
             {handshake}\r\n"
        ),
        format!(
            "GET /open/b HTTP/1.1\r\nHost: {{host}}\r\nConnection: Upgrade\r\n\
             Upgrade: h2c\r\nUpgrade: websocket\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\
             {handshake}\r\n"
        ),
        format!(
            "GET /open/c HTTP/1.1\r\nHost: {{host}}\r\nConnection: Upgrade, HTTP2-Settings\r\n\
             Upgrade: websocket, h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\
             {handshake}\r\n"
        ),
        "GET /open/d HTTP/1.1\r\nHost: {host}\r\nConnection: Upgrade, HTTP2-Settings\r\n\
         Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n"
            .to_owned(),
        format!(
            "GET /open/e HTTP/1.1\r\nHost: {{host}}\r\nConnection: Upgrade\r\n\
             Upgrade: websocket\r\nUpgrade: websocket\r\nUpgrade: IRC/6.9\r\n{handshake}\r\n"
        ),
    ];

    for case in cases {
        // Act
        let before = raw.received().len();
        let answer = send_raw(&app, &case).await;

        // Assert: from the upstream's side, at most one protocol offered, and never h2c.
        assert!(answer.starts_with("HTTP/1.1 "), "{case}: {answer}");
        let received = raw.received();
        let received = received.get(before..).unwrap_or_default();
        let received = received.trim_start_matches("\n=====\n");
        assert!(received.starts_with("get /open/"), "{case}: {received}");
        assert!(!received.contains("h2c"), "{case}: h2c passed:\n{received}");
        assert!(
            !received.contains("http2-settings"),
            "{case}: HTTP2-Settings passed:\n{received}"
        );
        assert!(!received.contains("irc/6.9"), "{case}: {received}");
        let upgrades: Vec<&str> = received
            .lines()
            .filter(|line| line.starts_with("upgrade:"))
            .collect();
        assert!(upgrades.len() <= 1, "{case}: several upgrades:\n{received}");
        if case.contains("Sec-WebSocket-Key") {
            assert_eq!(upgrades, ["upgrade: websocket"], "{case}:\n{received}");
        }
    }
}

#[tokio::test]
async fn a_websocket_upgrade_without_one_valid_key_is_refused_before_the_upstream() {
    // Arrange: RFC 6455 §4.1 item 7 (the key is 16 random bytes, base64) and §4.2.1 (a server
    // answers a handshake without one 400); the gateway can only check the upstream's accept
    // against one well-formed key.
    let (app, raw) = raw_app().await;
    let keys = [
        "",
        "Sec-WebSocket-Key: not base64!\r\n",
        "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAA\r\n",
        "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAAAA\r\n",
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==\r\n",
    ];

    for key in keys {
        // Act
        let answer = send_raw(
            &app,
            &format!(
                "GET /open/ws HTTP/1.1\r\nHost: {{host}}\r\nConnection: Upgrade\r\n\
                 Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n{key}Connection: close\r\n\r\n"
            ),
        )
        .await;

        // Assert
        assert!(answer.starts_with("HTTP/1.1 400"), "{key:?}: {answer}");
    }
    let received = raw.received();
    assert!(received.is_empty(), "the upstream was reached:\n{received}");
}
