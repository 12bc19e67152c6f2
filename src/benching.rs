//! Entry points for the criterion micro-benchmarks of the hot path (`benches/hot_path.rs`,
//! DESIGN §7): the session open, the route match, the header rewrite and the bearer check.
//!
//! Each type builds its realistic input once, in `new` (a real gateway state from a
//! configuration with ten routes and an OpenID provider discovered over loopback HTTP,
//! `benching/gateway.rs`), and one method per case runs the gateway's own function on it —
//! the part a benchmark measures, never a copy of it. The unit tests check that each case
//! does the real work and gets the right answer, so a benchmark cannot time a failure path
//! by mistake.

mod bearer;
mod gateway;
mod rewrite;
mod routing;
mod session;

pub use bearer::{BearerCheck, API_USER};
pub use rewrite::HeaderRewrite;
pub use routing::{RouteMatch, Target, HOST_HIT, MISS, PREFIX_HIT};
pub use session::SessionOpen;

#[cfg(test)]
mod tests;
