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

pub(crate) mod client;
mod error;
pub(crate) mod headers;
mod hop_by_hop;
mod pool;
pub(crate) mod route;
mod upgrade;

#[cfg(test)]
mod client_tests;
#[cfg(test)]
mod headers_tests;

pub(crate) use client::UpstreamClient;
pub(crate) use error::ProxyError;
pub(crate) use headers::{prepare_request, ForwardContext, IdentityHeaders};
pub(crate) use route::RouteTable;
