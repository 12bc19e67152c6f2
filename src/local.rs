//! Local accounts (DESIGN §10): a `kind = "local"` provider keeps its own users in a TOML
//! users file (`accounts`, re-read when it changes), signs people in with the sign-in page's
//! username/password form (`form`, CSRF-protected by `csrf`), and, when `password_grant` is
//! on, answers `POST /oauth2/token` with the password and refresh grants (`grant`, RFC 6749
//! §4.3 and §6) and access tokens the gateway signs itself (`tokens`, `issue`), accepted as
//! bearer tokens wherever a session is.
//!
//! Failed passwords are limited per username and per client address (`crate::rate_limit`);
//! an unknown username costs the same argon2 verification as a wrong password.

pub(crate) mod accounts;
pub(crate) mod csrf;
mod form;
mod grant;
mod issue;
mod registry;
pub(crate) mod tokens;

pub(crate) use form::submit;
pub(crate) use grant::token;
pub(crate) use registry::LocalProviders;
