//! The start-up line that tells a newcomer where to sign in (issue 15 point 4): the page to
//! open and what to choose there, true for the configuration it runs.
//!
//! The address is `public_url`, the one browsers use (`https://` when `server.tls` or a proxy
//! in front serves TLS), not `listen`. The page is `/` when a browser opening it is sent to
//! sign in (a route that needs a session serves it); otherwise `/` would show a public page
//! or a 404, so it is the sign-in page itself. The choices are what the sign-in page shows:
//! a button per provider, a form per local provider; with `auto_redirect` and a single
//! provider, `/` goes straight to it. With `server.tls` and an `http://` public URL the
//! line says that this address cannot work.

use axum::http::{HeaderMap, Method};

use crate::public::passes_without_session;
use crate::state::AppState;

/// `open http://127.0.0.1:4180/ and choose Development sign-in`, or its like.
pub(super) fn sign_in_hint(state: &AppState) -> String {
    let base = &state.public_url;
    let public_url = &state.config.server.public_url;
    let authority = match (public_url.host_str(), public_url.port()) {
        (Some(host), Some(port)) => Some(format!("{host}:{port}")),
        (host, None) => host.map(str::to_owned),
        (None, Some(_)) => None,
    };
    let root_signs_in = state
        .routes
        .route(authority.as_deref(), "/")
        .is_some_and(|upstream| {
            !passes_without_session(upstream, &Method::GET, "/", &HeaderMap::new())
        });
    let page = if root_signs_in {
        format!("{base}/")
    } else {
        format!("{base}/oauth2/sign_in")
    };
    let buttons: Vec<&str> = state.providers.iter().map(|p| p.name()).collect();
    let forms: Vec<String> = state
        .local
        .iter()
        .map(|local| format!("{} (username and password)", local.name))
        .collect();
    if let ([only], true, true, true) = (
        buttons.as_slice(),
        forms.is_empty(),
        root_signs_in,
        state.config.server.auto_redirect,
    ) {
        return format!("open {page} to sign in with {only}");
    }
    let choices: Vec<String> = buttons
        .iter()
        .map(|name| (*name).to_owned())
        .chain(forms)
        .collect();
    let hint = match choices.as_slice() {
        [] => format!("open {page} to sign in"),
        [only] => format!("open {page} and choose {only}"),
        several => format!("open {page} and choose one of: {}", several.join(", ")),
    };
    if state.config.server.tls.is_some() && public_url.scheme() == "http" {
        return format!(
            "{hint}; but server.tls is set, so {} speaks https only and that http:// address \
             fails: write public_url as https://",
            state.config.server.listen
        );
    }
    hint
}

#[cfg(test)]
mod tests;
