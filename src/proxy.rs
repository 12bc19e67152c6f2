//! The reverse proxy: which `[[upstream]]` a request goes to, how it is rewritten on the way
//! (identity and forwarding headers set, forged copies, gateway cookies and hop-by-hop fields
//! removed), and the one pooled, streaming upstream client that sends it (WebSocket upgrades
//! included).
//!
//! - [`route`]: longest-prefix, segment-aware routing ([`RouteTable`]).
//! - [`headers`]: the request rewrite ([`prepare_request`]), one documented function per rule
//!   of DESIGN §4 and §5 items 1–3, each citing its RFC.
//! - [`client`]: [`UpstreamClient`]; `error`: [`ProxyError`].
//! - `hop_by_hop`: the fields that concern one connection only (RFC 9110 §7.6.1).
//! - `upgrade`: joining the two halves of a `101 Switching Protocols` exchange.

pub mod client;
mod error;
pub mod headers;
mod hop_by_hop;
pub mod route;
mod upgrade;

#[cfg(test)]
mod client_tests;
#[cfg(test)]
mod headers_tests;

pub use client::UpstreamClient;
pub use error::ProxyError;
pub use headers::{prepare_request, ForwardContext, IdentityHeaders};
pub use route::RouteTable;
