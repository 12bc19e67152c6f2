// Test code: a failed unwrap is a failed test, and not every harness helper is used by
// every test. (clippy.toml's allow-*-in-tests only covers `#[test]` functions themselves.)
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod adversarial;
mod backchannel;
mod bearer;
mod binary;
mod branding;
mod bypass;
mod caddy;
mod captured_logs;
mod cli;
mod client_bodies;
mod config_errors;
mod connections;
mod dev_provider;
mod e2e;
mod echo_upstream;
mod event_loops;
mod flow_cookies;
mod forward_auth;
mod forward_auth_original;
mod happy_path;
mod harness;
mod hash_password;
mod header_stripping;
mod helpers;
mod host_routing;
mod http2;
mod identity_values;
mod json_logs;
mod local_accounts;
mod login_rate_limit;
mod login_rejections;
mod metrics;
mod mock_provider;
mod nginx;
mod presets;
mod proxy_in_front;
mod redirect_safety;
mod redis_faults;
mod redis_server;
mod redis_topologies;
mod refresh;
mod reload;
mod reload_signals;
mod replicas;
mod request_log;
mod route_rules;
mod session_store;
mod session_store_lifecycle;
mod sessions;
mod shutdown;
mod sign_out_confirmation;
mod sign_out_return;
mod tls;
mod traces;
mod tunnels;
mod unauthenticated;
mod unverified_email;
mod upstream_errors;
