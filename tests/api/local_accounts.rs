//! Local accounts (DESIGN §10): a `kind = "local"` provider with its own users file, next to
//! the mock OpenID provider. The sign-in page's username/password form and its CSRF
//! protection, the limits on failed passwords, the token endpoint (password and refresh
//! grants), the gateway-signed access tokens as bearer tokens, replicas and secret rotation,
//! and the configuration's rules, each from the outside: HTTP requests, the users file on
//! disk, the `portcullis check` command.

mod access_tokens;
mod config;
mod csrf;
pub mod fixture;
mod limits;
mod sign_in_form;
mod token_endpoint;
