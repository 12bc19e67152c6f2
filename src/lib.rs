//! portcullis: a login gateway that signs people in with OpenID Connect and reverse-proxies
//! their requests to upstream apps with identity headers.
//!
//! The binary (`src/main.rs`) only parses the command line, sets up tracing, loads the
//! configuration and hands it to [`startup::Application`].

mod authz;
mod backchannel;
mod bearer;
#[doc(hidden)]
pub mod benching;
mod caller;
mod client_address;
pub mod config;
mod error;
mod error_chain;
mod fields;
mod flow;
mod forward_auth;
#[doc(hidden)]
pub mod fuzzing;
mod gate;
pub mod identity;
mod jwt;
mod links;
mod local;
mod login_limit;
mod membership;
mod metrics;
mod one_time;
mod pages;
mod percent;
mod providers;
mod proxy;
mod public;
mod query;
mod rate_limit;
mod redirect;
mod redis;
mod renewal;
pub mod server;
pub mod session;
mod signed_in;
pub mod startup;
mod state;
pub mod telemetry;
pub mod tls;
