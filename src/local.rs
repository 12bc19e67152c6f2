//! Local accounts (`kind = "local"`, DESIGN §10): users the gateway keeps itself, and the
//! access tokens it signs for them.

pub(crate) mod tokens;
