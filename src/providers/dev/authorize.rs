//! The development provider's authorization endpoint (OpenID Connect Core §3.1.2): a
//! "sign in as" form, and its submission answered with a code at the registered redirect URI.
//! A request it refuses is shown (never redirected: the redirect URI itself may be the
//! problem) through the gateway's error pages, with the request id.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Form, State};
use axum::http::Uri;
use axum::response::{Html, IntoResponse, Response};

use super::{random_token, DevProvider, DevUser, PendingCode, CODE_LIFETIME};
use crate::error::AppError;
use crate::pages::DevAuthorizePage;
use crate::query::QueryParams;

/// A request the development provider refuses, shown as a 400 page.
fn refused(problem: &str) -> AppError {
    AppError::BadRequest(format!(
        "The development provider refused this request: {problem}."
    ))
}

impl DevProvider {
    /// Checks an authorization request (OpenID Connect Core §3.1.2.2). Errors are shown,
    /// never redirected: the redirect URI itself may be the problem.
    fn check_authorization_request(
        &self,
        params: &HashMap<String, String>,
    ) -> Result<(), &'static str> {
        let get = |k: &str| params.get(k).map(String::as_str);
        if get("client_id") != Some(self.client_id.as_str()) {
            return Err("unknown client_id");
        }
        if get("redirect_uri") != Some(self.redirect_uri.as_str()) {
            return Err("redirect_uri is not the registered one");
        }
        if get("response_type") != Some("code") {
            return Err("only response_type=code is supported");
        }
        if get("code_challenge_method") != Some("S256")
            || get("code_challenge").is_none_or(str::is_empty)
        {
            return Err("PKCE with code_challenge_method=S256 is required");
        }
        if get("state").is_none_or(str::is_empty) {
            return Err("state is required");
        }
        Ok(())
    }
}

/// The query or form fields of an authorization request that travel through the form.
const AUTHORIZATION_FIELDS: [&str; 8] = [
    "client_id",
    "redirect_uri",
    "response_type",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
];

pub(super) async fn authorize_form(
    State(dev): State<Arc<DevProvider>>,
    uri: Uri,
) -> Result<Response, AppError> {
    let query = QueryParams::from_uri(&uri);
    let params: HashMap<String, String> = AUTHORIZATION_FIELDS
        .iter()
        .filter_map(|k| query.get(k).map(|v| ((*k).to_owned(), v.to_owned())))
        .collect();
    if let Err(problem) = dev.check_authorization_request(&params) {
        return Err(refused(problem));
    }
    let page = DevAuthorizePage {
        action: "/oauth2/dev/authorize".to_owned(),
        hidden: AUTHORIZATION_FIELDS
            .iter()
            .filter_map(|k| params.get(*k).map(|v| ((*k).to_owned(), v.clone())))
            .collect(),
        client_id: dev.client_id.clone(),
        default_email: "dev@example.com".to_owned(),
    };
    Ok(Html(dev.pages.dev_authorize(&page)).into_response())
}

pub(super) async fn authorize_submit(
    State(dev): State<Arc<DevProvider>>,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, AppError> {
    if let Err(problem) = dev.check_authorization_request(&form) {
        return Err(refused(problem));
    }
    let email = form
        .get("email")
        .map(|e| e.trim().to_owned())
        .unwrap_or_default();
    if email.is_empty() || !email.contains('@') || email.len() > 254 {
        return Err(refused("enter an email address"));
    }
    let user = DevUser {
        name: form
            .get("name")
            .map(|n| n.trim().to_owned())
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| email.clone()),
        groups: form
            .get("groups")
            .map(|g| {
                g.split(',')
                    .map(str::trim)
                    .filter(|g| !g.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default(),
        email,
    };
    let code = random_token();
    let pending = PendingCode {
        user,
        redirect_uri: dev.redirect_uri.clone(),
        nonce: form.get("nonce").cloned(),
        code_challenge: form.get("code_challenge").cloned().unwrap_or_default(),
        issued: Instant::now(),
    };
    if let Ok(mut codes) = dev.codes.lock() {
        codes.retain(|_, c| c.issued.elapsed() < CODE_LIFETIME);
        codes.insert(code.clone(), pending);
    }
    let mut target = match url::Url::parse(&dev.redirect_uri) {
        Ok(url) => url,
        Err(err) => {
            return Err(AppError::Internal(format!(
                "the development provider's redirect URI: {err}"
            )))
        }
    };
    target
        .query_pairs_mut()
        .append_pair("code", &code)
        .append_pair(
            "state",
            form.get("state").map(String::as_str).unwrap_or_default(),
        )
        .append_pair("iss", &dev.issuer);
    Ok(crate::links::redirect(target.as_str()))
}
