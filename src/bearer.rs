//! Bearer tokens for API clients: `Authorization: Bearer <JWT>` signed by a provider that
//! has `bearer = { audiences = [...] }` (RFC 6750, JWT profile RFC 9068), or by the gateway
//! itself for a local provider with `password_grant` (`crate::local`; its `iss` is the
//! public URL, checked without clock leeway, and its user must still be active).
//!
//! The token is validated as strictly as an ID token (see `OidcProvider::verify_bearer`)
//! and then goes through the same rules and identity headers as a cookie session. A bearer
//! token that fails validation, or names an identity an upstream would read as another
//! (`Identity::ambiguous_field`, as at login), is answered 401 with `WWW-Authenticate: Bearer
//! error="invalid_token"` (RFC 6750 §3.1) and never reaches an upstream.

use axum::http::{header, HeaderMap};

use crate::error::AppError;
use crate::identity::Identity;
use crate::jwt;
use crate::state::AppState;

/// A validated bearer token and who it names.
pub(crate) struct BearerIdentity {
    pub(crate) identity: Identity,
    pub(crate) token: String,
}

/// The bearer token of the request, validated; `None` when the request has none or no
/// provider accepts bearer tokens (the `Authorization` header is then the upstream's business).
pub(crate) async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
) -> Option<Result<BearerIdentity, AppError>> {
    let accepting: Vec<_> = state
        .config
        .providers
        .iter()
        .filter_map(|p| p.bearer().map(|bearer| (p.id.as_str(), bearer)))
        .collect();
    let local = state.local.granting().next().is_some();
    if accepting.is_empty() && !local {
        return None;
    }
    let token = bearer_token(headers)?;
    if local && issuer(token).is_some_and(|iss| state.local.issued(&iss)) {
        return Some(
            state
                .local
                .authenticate(token, crate::session::unix_now())
                .map(|identity| BearerIdentity {
                    identity,
                    token: token.to_owned(),
                })
                .map_err(|err| AppError::InvalidBearer(err.to_string())),
        );
    }
    // Boxed: validating (keys fetched when unknown) is a future of kilobytes that every
    // request's future would otherwise carry and move, bearer token or not.
    Some(Box::pin(validate(state, &accepting, token)).await)
}

/// The unverified `iss` of a JWT, to route it to the keys that must have signed it.
fn issuer(token: &str) -> Option<String> {
    jwt::payload(token).and_then(|payload| {
        payload
            .get("iss")
            .and_then(|iss| iss.as_str())
            .map(str::to_owned)
    })
}

async fn validate(
    state: &AppState,
    accepting: &[(&str, &crate::config::BearerConfig)],
    token: &str,
) -> Result<BearerIdentity, AppError> {
    let invalid = |reason: String| AppError::InvalidBearer(reason);
    let issuer = issuer(token).ok_or_else(|| invalid("not a JWT with an iss claim".into()))?;
    // Several providers may share an issuer (one IdP, several clients or audiences): each is
    // tried in configuration order, and the first whose keys and audiences accept the token
    // names it, so the identity carries the provider that actually vouched for it.
    let mut last_error = None;
    for (id, bearer) in accepting {
        let Some(provider) = state.providers.get(id) else {
            continue;
        };
        if provider.issuer() != issuer {
            continue;
        }
        match provider.verify_bearer(token, &bearer.audiences).await {
            // The same first line as at login: a value an upstream would read as another.
            Ok(identity) if identity.ambiguous_field().is_some() => {
                let field = identity.ambiguous_field().map_or("", |(field, _)| field);
                return Err(invalid(format!(
                    "its {field} has surrounding white space or a control character"
                )));
            }
            Ok(identity) => {
                return Ok(BearerIdentity {
                    identity,
                    token: token.to_owned(),
                })
            }
            Err(err) => last_error = Some(crate::error_chain::error_chain(&err)),
        }
    }
    Err(invalid(last_error.unwrap_or_else(|| {
        "issued by no provider that accepts bearer tokens".into()
    })))
}

/// The token of `Authorization: Bearer <token>` (scheme case-insensitive, RFC 6750 §2.1).
fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn bearer_token_parsing() {
        let cases = [
            ("Bearer abc", Some("abc")),
            ("bearer abc", Some("abc")),
            ("BEARER  abc ", Some("abc")),
            ("Basic abc", None),
            ("Bearer", None),
            ("Bearer ", None),
            ("Bearerabc", None),
        ];
        for (value, expected) in cases {
            let mut headers = HeaderMap::new();
            headers.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
            assert_eq!(bearer_token(&headers), expected, "{value:?}");
        }
        assert_eq!(bearer_token(&HeaderMap::new()), None);
    }
}
