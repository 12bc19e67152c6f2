//! The gateway's own sign-in links and the 302 that sends a browser to one: the sign-in page
//! and the start of a login with the destination (`rd`) that follows it, built in one place
//! for the handlers (`flow`, `gate`) and the development provider.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::redirect::RedirectTarget;

/// `/oauth2/start?provider=ID&rd=PATH`, as a local URL.
pub(crate) fn start_url(provider: &str, rd: &RedirectTarget) -> String {
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("provider", provider)
        .append_pair("rd", rd.as_str())
        .finish();
    format!("/oauth2/start?{query}")
}

/// The `prompt` value of `/oauth2/start` that asks the provider to let the person choose
/// another account (`crate::providers::Provider::offers_other_account`).
pub(crate) const CHOOSE_ACCOUNT: &str = "select_account";

/// "Sign in with a different account": `/oauth2/start?provider=ID&rd=PATH&prompt=select_account`.
pub(crate) fn other_account_url(provider: &str, rd: &RedirectTarget) -> String {
    format!("{}&prompt={CHOOSE_ACCOUNT}", start_url(provider, rd))
}

/// `/oauth2/sign_in?rd=PATH`, as a local URL.
pub(crate) fn sign_in_url(rd: &RedirectTarget) -> String {
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("rd", rd.as_str())
        .finish();
    format!("/oauth2/sign_in?{query}")
}

/// A 302 to `location` (already validated or built by the gateway); to `/` when `location`
/// is not a valid field value.
pub(crate) fn redirect(location: &str) -> Response {
    redirect_with(StatusCode::FOUND, location)
}

/// A 303 to `location`, as [`redirect`]: the answer to a form POST, which the browser
/// follows with a GET (RFC 9110 §15.4.4), so a password is never sent twice.
pub(crate) fn see_other(location: &str) -> Response {
    redirect_with(StatusCode::SEE_OTHER, location)
}

fn redirect_with(status: StatusCode, location: &str) -> Response {
    let mut response = status.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    } else {
        response
            .headers_mut()
            .insert(header::LOCATION, HeaderValue::from_static("/"));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_carry_the_destination_encoded() {
        let rd = RedirectTarget::parse(Some("/docs?a=1&b=2"), &[]);
        assert_eq!(
            sign_in_url(&rd),
            "/oauth2/sign_in?rd=%2Fdocs%3Fa%3D1%26b%3D2"
        );
        assert_eq!(
            start_url("dev", &rd),
            "/oauth2/start?provider=dev&rd=%2Fdocs%3Fa%3D1%26b%3D2"
        );
        assert_eq!(
            other_account_url("dev", &rd),
            "/oauth2/start?provider=dev&rd=%2Fdocs%3Fa%3D1%26b%3D2&prompt=select_account"
        );
    }

    #[test]
    fn a_location_that_is_no_field_value_redirects_home() {
        let response = redirect("/a\nb");
        assert_eq!(response.status(), StatusCode::FOUND);
        assert_eq!(response.headers()[header::LOCATION], "/");
    }
}
