//! portcullis: a login gateway that signs people in with OpenID Connect and reverse-proxies
//! their requests to upstream apps with identity headers.
//!
//! The binary (`src/main.rs`) only parses the command line, sets up tracing, loads the
//! configuration and hands it to [`startup::Application`].

pub mod authz;
pub mod bearer;
pub mod caller;
pub mod config;
pub mod error;
pub mod error_chain;
pub mod flow;
pub mod forward_auth;
#[doc(hidden)]
pub mod fuzzing;
pub mod gate;
pub mod identity;
pub mod jwt;
pub mod links;
pub mod membership;
pub mod pages;
mod percent;
pub mod providers;
pub mod proxy;
pub mod public;
pub mod query;
pub mod redirect;
pub mod server;
pub mod session;
pub mod startup;
pub mod state;
pub mod telemetry;
