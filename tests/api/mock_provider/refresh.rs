//! The mock provider's refresh token grant (RFC 6749 §6), rotating like production
//! providers do (RFC 9700 §4.14.2): each redemption consumes the token and returns a new one
//! of the same family; presenting a consumed token answers `invalid_grant` and revokes the
//! whole family, so every later refresh with any of its tokens fails too.

use std::collections::{HashMap, HashSet};

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::{
    access_token_answer, check_client_auth, id_token_claims, lock, oauth_error, random_token,
    sign_jwt, Behaviour, Params, Shared,
};

/// One issued refresh token.
struct Issued {
    family: u64,
    consumed: bool,
}

/// Every refresh token issued, by value, and the families revoked.
#[derive(Default)]
pub(super) struct RefreshTokens {
    issued: HashMap<String, Issued>,
    revoked: HashSet<u64>,
    families: u64,
    grants: usize,
}

impl RefreshTokens {
    /// The first refresh token of a new family (a code grant's).
    pub(super) fn issue_family(&mut self) -> String {
        self.families += 1;
        self.issue(self.families)
    }

    fn issue(&mut self, family: u64) -> String {
        let token = random_token();
        self.issued.insert(
            token.clone(),
            Issued {
                family,
                consumed: false,
            },
        );
        token
    }

    /// Consumes `token` and returns its successor, or why it is refused.
    fn redeem(&mut self, token: &str) -> Result<String, &'static str> {
        let Some(issued) = self.issued.get_mut(token) else {
            return Err("unknown refresh token");
        };
        let family = issued.family;
        if self.revoked.contains(&family) {
            return Err("refresh token revoked");
        }
        if issued.consumed {
            self.revoked.insert(family);
            return Err("refresh token already used: every token of its family is revoked");
        }
        issued.consumed = true;
        Ok(self.issue(family))
    }

    pub(super) fn revoke_all(&mut self) {
        let families: Vec<u64> = self.issued.values().map(|issued| issued.family).collect();
        self.revoked.extend(families);
    }

    pub(super) fn grants(&self) -> usize {
        self.grants
    }
}

/// `grant_type=refresh_token`: [`Behaviour::refresh_error`] when set, else client
/// authentication as for the code grant, the token redeemed, and a new access token, refresh
/// token and (unless [`Behaviour::refresh_without_id_token`]) ID token with the user's `sub`
/// and no `nonce` (OpenID Connect Core §12.2).
pub(super) fn grant(
    shared: &Shared,
    behaviour: &Behaviour,
    form: &Params,
    authorization: Option<String>,
) -> Response {
    lock(&shared.refresh_tokens).grants += 1;
    if let Some((status, error)) = behaviour.refresh_error {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return oauth_error(status, error, "");
    }
    if let Err(description) = check_client_auth(&shared.client, behaviour, form, authorization) {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", &description);
    }
    let redeemed = match form.get("refresh_token") {
        Some(token) => lock(&shared.refresh_tokens).redeem(token),
        None => Err("no refresh_token"),
    };
    let next = match redeemed {
        Ok(next) => next,
        Err(description) => {
            return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", description)
        }
    };
    let mut answer = access_token_answer(shared, behaviour);
    answer["refresh_token"] = json!(next);
    if !behaviour.refresh_without_id_token {
        let claims = id_token_claims(shared, behaviour, None);
        answer["id_token"] = json!(sign_jwt(
            &shared.keys,
            &claims,
            &behaviour.signing,
            behaviour.omit_kid
        ));
    }
    (
        StatusCode::OK,
        [(header::CACHE_CONTROL, "no-store")],
        Json(answer),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;
    use serde_json::Value;
    use sha2::{Digest as _, Sha256};

    use super::super::{decode_jwt, ClientRegistration, Grant, MockProvider};
    use super::*;

    const REDIRECT_URI: &str = "http://gateway.test/oauth2/callback/mock";
    const VERIFIER: &str = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGH";

    async fn started() -> MockProvider {
        let provider = MockProvider::start(ClientRegistration {
            client_id: "client".into(),
            client_secret: "secret".into(),
        })
        .await;
        provider.behave(|b| {
            b.issue_refresh_tokens = true;
            b.sid = Some("sid-7".into());
        });
        provider
    }

    async fn post(provider: &MockProvider, form: &[(&str, &str)]) -> (u16, Value) {
        let response = reqwest::Client::new()
            .post(provider.url("/token"))
            .basic_auth("client", Some("secret"))
            .form(form)
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    }

    /// The refresh token a code grant issues (the code put in place of an authorization).
    async fn code_grant(provider: &MockProvider) -> Value {
        lock(&provider.shared.grants).insert(
            "code-1".into(),
            Grant {
                redirect_uri: REDIRECT_URI.into(),
                code_challenge: URL_SAFE_NO_PAD.encode(Sha256::digest(VERIFIER.as_bytes())),
                nonce: Some("n-1".into()),
                used: false,
            },
        );
        let form = [
            ("grant_type", "authorization_code"),
            ("code", "code-1"),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", VERIFIER),
        ];
        let (status, answer) = post(provider, &form).await;
        assert_eq!(status, 200, "{answer}");
        answer
    }

    async fn refresh(provider: &MockProvider, token: &Value) -> (u16, Value) {
        let token = token.as_str().unwrap();
        post(
            provider,
            &[("grant_type", "refresh_token"), ("refresh_token", token)],
        )
        .await
    }

    #[tokio::test]
    async fn each_refresh_rotates_and_a_reused_token_revokes_the_family() {
        let provider = started().await;
        let login = code_grant(&provider).await;
        let first = login["refresh_token"].clone();

        let (status, renewed) = refresh(&provider, &first).await;
        assert_eq!(status, 200, "{renewed}");
        let second = renewed["refresh_token"].clone();
        assert_ne!(second, first);
        let (_, claims) = decode_jwt(renewed["id_token"].as_str().unwrap());
        assert_eq!(claims["sub"], json!("alice-sub-0001"));
        assert_eq!(claims["sid"], json!("sid-7"));
        assert!(claims.get("nonce").is_none(), "{claims}");

        let (status, reused) = refresh(&provider, &first).await;
        assert_eq!(
            (status, reused["error"].clone()),
            (400, json!("invalid_grant"))
        );
        let (status, revoked) = refresh(&provider, &second).await;
        assert_eq!(
            (status, revoked["error"].clone()),
            (400, json!("invalid_grant"))
        );
        assert_eq!(provider.refresh_grants(), 3);
    }

    #[tokio::test]
    async fn the_switches_answer_errors_omit_the_id_token_and_revoke_everything() {
        let provider = started().await;
        provider.behave(|b| b.access_token_lifetime = Some(120));
        let login = code_grant(&provider).await;
        assert_eq!(login["expires_in"], json!(120));
        assert_eq!(
            decode_jwt(login["id_token"].as_str().unwrap()).1["sid"],
            json!("sid-7")
        );

        provider.behave(|b| b.refresh_error = Some((503, "temporarily_unavailable")));
        let (status, down) = refresh(&provider, &login["refresh_token"]).await;
        assert_eq!(
            (status, down["error"].clone()),
            (503, json!("temporarily_unavailable"))
        );

        provider.behave(|b| {
            b.refresh_error = None;
            b.refresh_without_id_token = true;
        });
        let (status, renewed) = refresh(&provider, &login["refresh_token"]).await;
        assert_eq!(status, 200, "{renewed}");
        assert!(renewed.get("id_token").is_none(), "{renewed}");

        provider.revoke_refresh_tokens();
        let (status, revoked) = refresh(&provider, &renewed["refresh_token"]).await;
        assert_eq!(
            (status, revoked["error"].clone()),
            (400, json!("invalid_grant"))
        );
        assert_eq!(provider.refresh_grants(), 3);
    }

    /// Without the switch the code grant answers as before: no refresh token.
    #[tokio::test]
    async fn by_default_no_refresh_token_is_issued() {
        let provider = started().await;
        provider.behave(|b| b.issue_refresh_tokens = false);
        let login = code_grant(&provider).await;
        assert!(login.get("refresh_token").is_none(), "{login}");
        assert_eq!(login["expires_in"], json!(3600));
    }
}
