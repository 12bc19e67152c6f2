//! Local accounts (`kind = "local"`, DESIGN §10): users the gateway keeps itself, and the
//! access tokens it signs for them.

#![cfg_attr(
    not(test),
    expect(dead_code, reason = "not wired into the gateway yet")
)]

pub(crate) mod accounts;
pub(crate) mod tokens;
