//! Entry points for the fuzz targets in `fuzz/` and for the corpus replay in `cargo test`.
//!
//! Each function takes the raw bytes of one input, runs it through one of the gateway's
//! parsers and checks what the gateway promises about the result — not only that nothing
//! panics. A broken promise is returned as a [`Violation`]; the fuzz target turns it into a
//! crash, the replay test into a failure naming the input file. The targets, one per
//! function: the session cookie and the flow cookie (sealing and opening), `rd` validation,
//! request path normalisation, host normalisation, the forward-auth description of the
//! original request, and the configuration loader. Each has a file of its own below
//! `fuzzing/` (`cookies.rs` holds both cookies, `routing.rs` paths and hosts), and
//! `outcome.rs` what they all return.

mod config;
mod cookies;
mod forward_auth;
mod outcome;
mod redirect;
mod routing;

pub use self::config::config;
pub use cookies::{
    flow_cookie, seal_flow, seal_session, session_cookie, NOW, PREVIOUS_SECRET, SECRET,
};
pub use forward_auth::forward_auth;
pub use outcome::{Entry, Outcome, Violation};
pub use redirect::{allowed_redirect_hosts, check_redirect_target, redirect, PUBLIC_URL};
pub use routing::{check_normal_host, check_normal_path, host, path};

/// Every target by the name of its fuzz target (and of its corpus directory).
pub const TARGETS: &[(&str, Entry)] = &[
    ("session_cookie", session_cookie),
    ("flow_cookie", flow_cookie),
    ("redirect", redirect),
    ("path", path),
    ("host", host),
    ("forward_auth", forward_auth),
    ("config", config),
];

#[cfg(test)]
mod tests;
