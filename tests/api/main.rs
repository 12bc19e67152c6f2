// Test code: a failed unwrap is a failed test, and not every harness helper is used by
// every test. (clippy.toml's allow-*-in-tests only covers `#[test]` functions themselves.)
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod adversarial;
mod bearer;
mod bypass;
mod config_errors;
mod connections;
mod e2e;
mod echo_upstream;
mod forward_auth;
mod happy_path;
mod harness;
mod header_stripping;
mod helpers;
mod host_routing;
mod login_rejections;
mod mock_provider;
mod nginx;
mod presets;
mod redirect_safety;
mod route_rules;
mod sessions;
mod unauthenticated;
mod upstream_errors;
