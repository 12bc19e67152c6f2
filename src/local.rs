//! `kind = "local"` providers (DESIGN §10): accounts kept in a users file that the gateway
//! checks passwords against itself, for people and scripts without an identity provider.

// Until the provider kind, the sign-in form and the token endpoint use these accounts.
#![cfg_attr(
    not(test),
    expect(dead_code, reason = "not wired into the gateway yet")
)]

pub(crate) mod accounts;
