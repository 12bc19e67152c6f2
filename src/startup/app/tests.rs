//! [`App`] answers every request as the router alone does: the shortcut to the gate only
//! skips the lookup that would have chosen the gate anyway.

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request};
use http::{Method, StatusCode};
use http_body_util::BodyExt as _;
use tower::ServiceExt as _;

use super::{routed, App};
use crate::config::Config;
use crate::state::AppState;

const CONFIG: &str = r#"
[server]
listen = "127.0.0.1:4180"
public_url = "http://127.0.0.1:4180"

[session]
secret = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

[[provider]]
id = "dev"
kind = "dev"

[authorize]
email_domains = ["example.com"]

[[upstream]]
path = "/"
url = "builtin:echo"
public = true

[[upstream]]
path = "/private"
url = "builtin:echo"
"#;

/// Paths at and around the router's own routes, in forms a router might read alike.
const PATHS: [&str; 22] = [
    "/",
    "/x",
    "/oauth2",
    "/oauth2/",
    "/oauth2/sign_in",
    "/oauth2/sign_in/",
    "/oauth2/nope",
    "/oauth2/dev/jwks",
    "/oauth2/static/nope.css",
    "/oauth2%2Fsign_in",
    "/%6Fauth2/sign_in",
    "/OAUTH2/sign_in",
    "//oauth2/sign_in",
    "/ping",
    "/ping/",
    "/PING",
    "//ping",
    "/ready",
    "/ready.",
    "/private",
    "/private/x",
    "/x?/oauth2/sign_in",
];

async fn answer(
    service: impl tower::Service<
        Request,
        Response = axum::response::Response,
        Error = std::convert::Infallible,
    >,
    method: &Method,
    path: &str,
    html: bool,
) -> (StatusCode, Vec<(String, String)>, String) {
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header("host", "127.0.0.1:4180")
        .body(Body::empty())
        .unwrap();
    if html {
        request
            .headers_mut()
            .insert("accept", "text/html".parse().unwrap());
    }
    request
        .extensions_mut()
        .insert(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 50000))));
    let response = service.oneshot(request).await.unwrap();
    let status = response.status();
    let id = response
        .headers()
        .get("x-request-id")
        .map(|id| id.to_str().unwrap().to_owned())
        .expect("every answer names its request id");
    let headers = response
        .headers()
        .iter()
        .filter(|(name, _)| *name != "x-request-id")
        .map(|(name, value)| (name.to_string(), value.to_str().unwrap().to_owned()))
        .collect();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    // Error pages and JSON carry the request id, which differs on every request.
    let body = String::from_utf8_lossy(&body).replace(&id, "{request id}");
    (status, headers, body)
}

#[tokio::test]
async fn every_request_is_answered_as_the_router_answers_it() {
    let state = AppState::new(Config::parse(CONFIG, "providers.toml", &|_| None).unwrap()).unwrap();
    let app = App::new(state.clone());
    let router = super::super::routes::router(state);
    let mut through_the_gate = 0;
    for path in PATHS {
        through_the_gate += usize::from(!routed(path.split('?').next().unwrap()));
        for method in [
            Method::GET,
            Method::HEAD,
            Method::POST,
            Method::OPTIONS,
            Method::CONNECT,
        ] {
            for html in [false, true] {
                let ours = answer(app.clone(), &method, path, html).await;
                let routers = answer(router.clone(), &method, path, html).await;
                assert_eq!(ours, routers, "{method} {path} (html: {html})");
            }
        }
    }
    assert!(
        through_the_gate >= 10,
        "only {through_the_gate} paths took the shortcut"
    );
}
