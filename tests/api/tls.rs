//! TLS (DESIGN §11, issue 14 point 4), with a private CA made here (`tls/pki.rs`): the
//! listener over HTTPS (HTTP/1.1 and HTTP/2 by ALPN) with HSTS, its certificate reloaded
//! without a restart, a stalled handshake closed, and upstreams and providers behind a
//! private CA reached with `ca_file` and refused without it.

mod pki;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt as _, Empty};
use hyper::body::Bytes;
use hyper_util::rt::{TokioExecutor, TokioIo};
use reqwest::StatusCode;
use tokio::io::AsyncReadExt as _;

use crate::captured_logs::Logs;
use crate::echo_upstream::EchoUpstream;
use crate::helpers::{fixed_answer_upstream, spawn_app, toml_str, TEST_SESSION_SECRET};
use crate::mock_provider::{ClientRegistration, MockProvider};
use pki::{presented_certificate, tls_front, Pki};

const HSTS: &str = "max-age=31536000";

/// A gateway started from `server` (extra `[server]` lines), `provider` (extra lines of the
/// mock provider's block, whose issuer is `issuer`) and `upstreams` (`[[upstream]]` blocks),
/// with `providers.toml` in `pki`'s directory, so relative paths start there.
struct Gateway {
    addr: SocketAddr,
    certificate: Option<portcullis::tls::ServerCertificate>,
    _provider: MockProvider,
    _echo: Option<EchoUpstream>,
}

async fn provider() -> MockProvider {
    MockProvider::start(ClientRegistration {
        client_id: "portcullis-test".to_owned(),
        client_secret: "mock-client-secret".to_owned(),
    })
    .await
}

async fn gateway(
    pki: &Pki,
    https: bool,
    server: &str,
    issuer: &str,
    provider_extra: &str,
    upstreams: &str,
    provider: MockProvider,
) -> Gateway {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let scheme = if https { "https" } else { "http" };
    let toml = format!(
        "[server]\nlisten = \"{addr}\"\npublic_url = \"{scheme}://{addr}\"\n{server}\n\n\
         [session]\nsecret = {secret}\n\n\
         [[provider]]\nid = \"mock\"\nkind = \"oidc\"\nissuer = {issuer}\n\
         client_id = \"portcullis-test\"\nclient_secret = \"mock-client-secret\"\n{provider_extra}\n\n\
         [authorize]\nemail_domains = [\"example.com\"]\n\n{upstreams}\n",
        secret = toml_str(TEST_SESSION_SECRET),
        issuer = toml_str(issuer),
    );
    let file = pki.dir.join("providers.toml").display().to_string();
    let config = portcullis::config::Config::parse(&toml, &file, &|_| None)
        .unwrap_or_else(|errors| panic!("{errors}\n{toml}"));
    let app = portcullis::startup::Application::with_listener(config, listener)
        .await
        .unwrap();
    let certificate = app.tls_certificate();
    tokio::spawn(app.run_until_stopped());
    Gateway {
        addr,
        certificate,
        _provider: provider,
        _echo: None,
    }
}

fn upstream(path: &str, url: &str, extra: &str) -> String {
    format!(
        "[[upstream]]\npath = {}\nurl = {}\npublic = true\ntimeout = \"5s\"\n{extra}\n\n",
        toml_str(path),
        toml_str(url)
    )
}

/// A TLS gateway in front of the echo upstream (`/`) and of one that sets its own
/// `Strict-Transport-Security` (`/own`).
async fn tls_gateway(pki: &Pki, server_extra: &str) -> Gateway {
    pki.write_leaf(&pki.leaf());
    let echo = EchoUpstream::start().await;
    let own = fixed_answer_upstream(
        b"HTTP/1.1 200 OK\r\nStrict-Transport-Security: max-age=60\r\nContent-Length: 2\r\n\r\nok",
    )
    .await;
    let provider = provider().await;
    let upstreams = upstream("/", &echo.url(), "") + &upstream("/own", &own, "");
    let server = format!("tls = {{ cert = \"cert.pem\", key = \"key.pem\" }}\n{server_extra}");
    let issuer = provider.issuer();
    let mut gateway = gateway(pki, true, &server, &issuer, "", &upstreams, provider).await;
    gateway._echo = Some(echo);
    gateway
}

#[tokio::test]
async fn the_gateway_serves_https_over_http1_with_hsts_on_its_answers() {
    let pki = Pki::new("h1");
    let gateway = tls_gateway(&pki, "").await;
    let client = pki.reqwest_client();
    let url = |path: &str| format!("https://{}{path}", gateway.addr);

    for path in [
        "/ping",
        "/oauth2/sign_in",
        "/anything",
        "/oauth2/no-such-page",
    ] {
        let response = client.get(url(path)).send().await.unwrap();
        assert_eq!(response.version(), reqwest::Version::HTTP_11, "{path}");
        assert_eq!(
            response.headers()["strict-transport-security"],
            HSTS,
            "{path} {}",
            response.status()
        );
    }
    // An upstream's own value is kept.
    let own = client.get(url("/own")).send().await.unwrap();
    assert_eq!(own.status(), StatusCode::OK);
    assert_eq!(own.headers()["strict-transport-security"], "max-age=60");
    // Plain HTTP is not spoken on the TLS port.
    assert!(reqwest::get(format!("http://{}/ping", gateway.addr))
        .await
        .is_err());
}

#[tokio::test]
async fn the_gateway_serves_http2_when_alpn_chooses_it() {
    let pki = Pki::new("h2");
    let gateway = tls_gateway(&pki, "").await;
    let connector =
        tokio_rustls::TlsConnector::from(Arc::new(pki.client_config(&[b"h2", b"http/1.1"])));
    let tcp = tokio::net::TcpStream::connect(gateway.addr).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let tls = connector.connect(name, tcp).await.unwrap();
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));

    let (mut sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tls))
            .await
            .unwrap();
    tokio::spawn(connection);
    let request = http::Request::get(format!("https://{}/ping", gateway.addr))
        .body(Empty::<Bytes>::new())
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    assert_eq!(response.version(), http::Version::HTTP_2);
    assert_eq!(response.status(), http::StatusCode::OK);
    assert_eq!(response.headers()["strict-transport-security"], HSTS);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&body[..], b"OK");
}

#[tokio::test]
async fn an_http_public_url_sends_no_hsts() {
    let app = spawn_app().await;
    let response = app.get("/ping").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response
        .headers()
        .get("strict-transport-security")
        .is_none());
}

#[tokio::test]
async fn a_reloaded_certificate_is_presented_to_the_next_handshake() {
    let pki = Pki::new("reload");
    let gateway = tls_gateway(&pki, "").await;
    let first = presented_certificate(&pki, gateway.addr).await;
    let certificate = gateway.certificate.clone().unwrap();
    assert_eq!(first, certificate.current().chain()[0]);

    let next = pki.leaf();
    pki.write_leaf(&next);
    certificate.reload().unwrap();
    assert_eq!(presented_certificate(&pki, gateway.addr).await, next.der());

    // A broken file is refused and the certificate in force stays.
    pki.write("key.pem", "not a key");
    assert!(certificate.reload().is_err());
    assert_eq!(presented_certificate(&pki, gateway.addr).await, next.der());
}

#[tokio::test]
async fn a_connection_that_never_finishes_its_handshake_is_closed() {
    let pki = Pki::new("slow");
    let gateway = tls_gateway(&pki, "header_timeout = \"1s\"").await;
    let mut silent = tokio::net::TcpStream::connect(gateway.addr).await.unwrap();
    let mut byte = [0u8; 1];
    // Generous: only a connection held forever fails this.
    let read = tokio::time::timeout(Duration::from_secs(20), silent.read(&mut byte))
        .await
        .expect("the gateway closes a silent TLS connection");
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
}

#[tokio::test]
async fn an_upstream_behind_a_private_ca_is_reached_with_its_ca_file_only() {
    let (logs, _guard) = Logs::capture("info");
    let pki = Pki::new("upstream");
    let echo = EchoUpstream::start().await;
    let echo_addr: SocketAddr = echo.url().trim_start_matches("http://").parse().unwrap();
    let trusted = tls_front(echo_addr, &pki.leaf()).await;
    let untrusted = tls_front(echo_addr, &pki.leaf()).await;
    let upstreams = upstream(
        "/trusted",
        &format!("https://127.0.0.1:{}", trusted.port()),
        "ca_file = \"ca.pem\"",
    ) + &upstream(
        "/untrusted",
        &format!("https://127.0.0.1:{}", untrusted.port()),
        "",
    );
    let provider = provider().await;
    let issuer = provider.issuer();
    let gateway = gateway(&pki, false, "", &issuer, "", &upstreams, provider).await;
    let client = reqwest::Client::new();

    let reached = client
        .get(format!("http://{}/trusted/page", gateway.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(reached.status(), StatusCode::OK);
    assert_eq!(echo.requests().last().unwrap().path, "/trusted/page");

    let refused = client
        .get(format!("http://{}/untrusted/page", gateway.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::BAD_GATEWAY);
    assert_eq!(echo.requests().len(), 1);
    let logs = logs.text();
    let line = logs
        .lines()
        .find(|line| line.contains("upstream unreachable"))
        .unwrap_or_else(|| panic!("no upstream error logged:\n{logs}"));
    assert!(
        line.contains("invalid peer certificate: UnknownIssuer"),
        "{line}"
    );
}

/// `/ready` of `gateway` once it answers `status`, with its body.
async fn ready_once(gateway: &Gateway, status: StatusCode, body_has: &str) -> String {
    let url = format!("http://{}/ready", gateway.addr);
    for _ in 0..200 {
        let response = reqwest::get(&url).await.unwrap();
        let got = response.status();
        let body = response.text().await.unwrap();
        if got == status && body.contains(body_has) {
            return body;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("/ready never answered {status} with {body_has:?}");
}

#[tokio::test]
async fn a_provider_behind_a_private_ca_is_discovered_with_a_ca_file_only() {
    let pki = Pki::new("provider");
    // The mock provider behind a TLS front: its discovery document names the front as
    // issuer (its other endpoints stay plain HTTP, which the gateway allows on loopback).
    let start = || {
        let pki = &pki;
        async move {
            let provider = provider().await;
            let front = tls_front(provider.addr(), &pki.leaf()).await;
            let issuer = format!("https://127.0.0.1:{}", front.port());
            let stated = issuer.clone();
            provider.behave(move |b| b.discovery_issuer = Some(stated));
            (provider, issuer)
        }
    };
    let echo = EchoUpstream::start().await;
    let upstreams = upstream("/", &echo.url(), "");

    let (provider, issuer) = start().await;
    let own = gateway(
        &pki,
        false,
        "",
        &issuer,
        "ca_file = \"ca.pem\"",
        &upstreams,
        provider,
    )
    .await;
    ready_once(&own, StatusCode::OK, "ready").await;

    let (provider, issuer) = start().await;
    let server_wide = gateway(
        &pki,
        false,
        "ca_file = \"ca.pem\"",
        &issuer,
        "",
        &upstreams,
        provider,
    )
    .await;
    ready_once(&server_wide, StatusCode::OK, "ready").await;

    let (provider, issuer) = start().await;
    let none = gateway(&pki, false, "", &issuer, "", &upstreams, provider).await;
    let body = ready_once(&none, StatusCode::SERVICE_UNAVAILABLE, "discovery failed").await;
    assert!(body.contains("mock (discovery failed:"), "{body}");
    assert!(body.contains("UnknownIssuer"), "{body}");
}
