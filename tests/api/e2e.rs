//! End-to-end journeys against real third-party components (issue 3, DESIGN §8): the
//! OpenID Certified `oidc-provider` from `e2e/op/` as identity provider and headless Chromium
//! over WebDriver as the browser, in front of the gateway's built-in echo upstream.
//!
//! Each test starts its own provider, gateway and (where it needs one) browser, and stops
//! them when it ends, also on failure. Without Node, the provider's packages, Chromium or
//! chromedriver a test prints `skipped: <reason>` and passes, unless `PORTCULLIS_E2E=1`
//! (as in `.ci/run`), where a missing component fails it; the end of `cargo test` lists every
//! test skipped so (`skips`, tests/skipped.rs). Logs of the provider and
//! chromedriver are kept under `target/e2e/<test>/`, screenshots under `target/screenshots/`.

mod back_button;
mod backchannel;
mod browser_login;
mod browserless;
mod concurrent_logins;
mod cookies;
mod cross_site_sign_out;
mod glewlwyd;
mod journey;
mod local_login;
mod login_timeout;
mod op_stats;
mod refresh;
mod screenshots;
pub mod skips;
mod support;

pub use support::target_dir;
