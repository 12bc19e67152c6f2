//! The sign-in page: a button per provider and a username/password form per local provider
//! (with its CSRF token and, on a first visit, the form cookie it is bound to), shown at
//! `/oauth2/sign_in` and again, with what went wrong, after a refused local sign-in.

use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};

use crate::links::start_url;
use crate::local::csrf;
use crate::pages::{LocalForm, ProviderButton, SignInPage};
use crate::redirect::RedirectTarget;
use crate::session::{unix_now, CookieJar};
use crate::state::AppState;
use crate::telemetry::RequestId;

/// What a local form says after a refused attempt.
pub(crate) struct FormNotice<'a> {
    /// The local provider whose form was sent.
    pub(crate) provider: &'a str,
    /// What was typed as the username, shown again.
    pub(crate) username: &'a str,
    pub(crate) message: &'a str,
}

/// The sign-in page for a browser with cookies `jar`, leading to `rd`, answered with `status`.
pub(crate) fn sign_in_page(
    state: &AppState,
    jar: &CookieJar<'_>,
    rd: &RedirectTarget,
    request_id: &RequestId,
    notice: Option<&FormNotice<'_>>,
    status: StatusCode,
) -> Response {
    let providers = state
        .providers
        .iter()
        .map(|p| ProviderButton {
            id: p.id().to_owned(),
            name: p.name().to_owned(),
            start_url: start_url(p.id(), rd),
            logo: p.logo().to_owned(),
        })
        .collect();
    let mut set_cookie = None;
    let mut local_forms = Vec::new();
    if state.local.iter().next().is_some() {
        let (token, cookie) = csrf::form_token(jar, &state.codec, unix_now());
        set_cookie = cookie;
        local_forms = state
            .local
            .iter()
            .map(|local| {
                let notice = notice.filter(|n| n.provider == local.id);
                LocalForm {
                    id: local.id.clone(),
                    name: local.name.clone(),
                    action: format!("/oauth2/local/{}", local.id),
                    csrf_token: token.clone(),
                    rd: rd.as_str().to_owned(),
                    username: notice.map(|n| n.username.to_owned()).unwrap_or_default(),
                    error: notice.map(|n| n.message.to_owned()),
                }
            })
            .collect();
    }
    let page = SignInPage {
        providers,
        local_forms,
        request_id: request_id.to_string(),
    };
    let mut response = (status, Html(state.pages.sign_in(&page))).into_response();
    if let Some(cookie) = set_cookie {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}
