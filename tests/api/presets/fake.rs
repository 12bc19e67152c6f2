//! A scriptable provider for the kinds the mock OpenID provider cannot play: fixed JSON
//! answers per path (with optional `Link` headers) that a test can change or turn into a
//! failure at any moment, an authorization endpoint that answers at once, and a token
//! endpoint that checks PKCE and can add a signed ID token.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use openidconnect::core::{CoreJsonWebKey, CoreRsaPrivateSigningKey};
use openidconnect::{JsonWebKeyId, PrivateSigningKey};
use serde_json::{json, Map, Value};

use crate::helpers::{assert_redirects_to, location, Browser, TestApp};
use crate::mock_provider::{
    pkce_verifier_matches, ClientRegistration, MockProvider, Params, Signing, SIGNING_KEY_PEM,
    SIGNING_KID,
};

#[derive(Default)]
pub struct Script {
    /// `path?query` → (status, JSON body, `Link` header).
    pub get: HashMap<String, (u16, Value, Option<String>)>,
    /// The token endpoint's JSON answer (status 200).
    pub token: Value,
    /// Claims of an ID token added to the token answer (with the request's nonce).
    pub id_token: Option<Map<String, Value>>,
    pub authorize: Vec<Params>,
    /// Form bodies of token requests.
    pub token_requests: Vec<Params>,
    /// `Authorization` headers of API requests.
    pub api_authorization: Vec<Option<String>>,
    /// `path?query` of API requests, in order.
    pub api_requests: Vec<String>,
    /// When set, every API request gets this status and JSON body instead of its answer.
    pub api_failure: Option<(u16, Value)>,
}

pub struct Fake {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    script: Arc<Mutex<Script>>,
    signer: MockProvider,
}

impl Fake {
    pub async fn start() -> Fake {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let script = Arc::new(Mutex::new(Script::default()));
        let app = Router::new().fallback(handle).with_state(script.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let signer = MockProvider::reserve(ClientRegistration {
            client_id: "unused".into(),
            client_secret: "unused".into(),
        })
        .await;
        Fake {
            url,
            script,
            signer,
        }
    }

    pub fn script(&self) -> std::sync::MutexGuard<'_, Script> {
        self.script.lock().unwrap()
    }

    /// Answers GET `path` (with its query) with `body`.
    pub fn answer(&self, path: &str, body: Value) {
        self.script().get.insert(path.to_owned(), (200, body, None));
    }

    /// Answers GET `path` with `body` and a `Link: <{url}{next}>; rel="next"` header.
    pub fn answer_page(&self, path: &str, body: Value, next: &str) {
        let link = format!(
            "<{}{next}>; rel=\"next\", <{}{next}>; rel=\"last\"",
            self.url, self.url
        );
        self.script()
            .get
            .insert(path.to_owned(), (200, body, Some(link)));
    }

    /// From now on every API request is answered with `status` and `body` (a revoked token,
    /// an outage), until [`Fake::recover`].
    pub fn fail(&self, status: u16, body: Value) {
        self.script().api_failure = Some((status, body));
    }

    /// API requests get their scripted answers again.
    pub fn recover(&self) {
        self.script().api_failure = None;
    }

    /// `path?query` of the API requests received so far.
    pub fn api_requests(&self) -> Vec<String> {
        self.script().api_requests.clone()
    }

    /// The JWKS of the mock provider's signing key.
    pub fn jwks() -> Value {
        let key = CoreRsaPrivateSigningKey::from_pem(
            SIGNING_KEY_PEM,
            Some(JsonWebKeyId::new(SIGNING_KID.to_owned())),
        )
        .unwrap();
        let keys: Vec<CoreJsonWebKey> = vec![key.as_verification_key()];
        let mut keys = serde_json::to_value(keys).unwrap();
        for key in keys.as_array_mut().unwrap() {
            key["alg"] = json!("RS256");
        }
        json!({ "keys": keys })
    }

    fn sign(&self, claims: &Map<String, Value>) -> String {
        self.signer.sign(claims, &Signing::Rs256, false)
    }
}

async fn handle(
    State(script): State<Arc<Mutex<Script>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path_and_query = uri.path_and_query().map(|pq| pq.as_str()).unwrap_or("/");
    if method == Method::GET && uri.path().ends_with("/authorize") {
        let params = Params::parse(uri.query().unwrap_or(""));
        let mut target = url::Url::parse(params.get("redirect_uri").unwrap()).unwrap();
        target
            .query_pairs_mut()
            .append_pair("code", "fake-code")
            .append_pair("state", params.get("state").unwrap_or(""));
        script.lock().unwrap().authorize.push(params);
        return (StatusCode::FOUND, [(header::LOCATION, target.to_string())]).into_response();
    }
    if method == Method::POST {
        let form = Params::parse(std::str::from_utf8(&body).unwrap_or(""));
        let mut script = script.lock().unwrap();
        script.token_requests.push(form.clone());
        let authorize = script.authorize.last().cloned();
        let pkce_ok = match (form.get("code_verifier"), authorize.as_ref()) {
            (Some(verifier), Some(auth)) => {
                pkce_verifier_matches(verifier, auth.get("code_challenge").unwrap_or(""))
            }
            _ => false,
        };
        if !pkce_ok {
            return (
                StatusCode::BAD_REQUEST,
                axum::Json(json!({"error": "invalid_grant"})),
            )
                .into_response();
        }
        return axum::Json(script.token.clone()).into_response();
    }
    let mut script = script.lock().unwrap();
    script.api_authorization.push(
        headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
    );
    script.api_requests.push(path_and_query.to_owned());
    if let Some((status, body)) = &script.api_failure {
        return (
            StatusCode::from_u16(*status).unwrap(),
            axum::Json(body.clone()),
        )
            .into_response();
    }
    match script.get.get(path_and_query) {
        Some((status, body, link)) => {
            let mut response = (
                StatusCode::from_u16(*status).unwrap(),
                axum::Json(body.clone()),
            )
                .into_response();
            if let Some(link) = link {
                response
                    .headers_mut()
                    .insert(header::LINK, link.parse().unwrap());
            }
            response
        }
        None => (
            StatusCode::NOT_FOUND,
            axum::Json(json!({"message": "Not Found"})),
        )
            .into_response(),
    }
}

impl Fake {
    /// Adds the ID token (if scripted) to the token answer, signed, with the nonce of the
    /// last authorization request. Call after the authorization step.
    pub fn seal_id_token(&self) {
        let mut script = self.script();
        let Some(mut claims) = script.id_token.clone() else {
            return;
        };
        if let Some(nonce) = script
            .authorize
            .last()
            .and_then(|a| a.get("nonce").map(str::to_owned))
        {
            claims.entry("nonce").or_insert(json!(nonce));
        }
        let token = self.sign(&claims);
        script.token["id_token"] = json!(token);
    }

    /// start → this fake's authorization endpoint → the gateway's callback, in `browser`;
    /// returns the callback's answer.
    pub async fn login(
        &self,
        app: &TestApp,
        browser: &Browser,
        provider: &str,
    ) -> reqwest::Response {
        let start = browser
            .navigate(&app.url(&format!("/oauth2/start?provider={provider}&rd=%2F")))
            .await;
        assert_redirects_to(&start, &self.url);
        let authorize = browser.navigate(&location(&start)).await;
        assert_redirects_to(
            &authorize,
            &app.url(&format!("/oauth2/callback/{provider}")),
        );
        self.seal_id_token();
        browser.navigate(&location(&authorize)).await
    }
}

/// `/oauth2/userinfo` for `browser`.
pub async fn userinfo(app: &TestApp, browser: &Browser) -> Value {
    let resp = browser
        .client
        .get(app.url("/oauth2/userinfo"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "not signed in");
    resp.json().await.unwrap()
}

/// Unix time now, for ID token claims.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}
