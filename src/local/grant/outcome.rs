//! How a grant ended, in the log and in `crate::metrics`.

use crate::local::registry::LocalProvider;
use crate::metrics::RefreshOutcome;
use crate::state::AppState;

/// The `grant_type` of RFC 6749 §4.3 and of §6.
pub(super) const PASSWORD: &str = "password";
pub(super) const REFRESH_TOKEN: &str = "refresh_token";

/// Logs a refused grant and counts it ([`count`]).
pub(super) fn log_refusal(
    state: &AppState,
    provider: &LocalProvider,
    grant_type: &'static str,
    username: &str,
    reason: &'static str,
) {
    tracing::warn!(provider = %provider.id, user = %username.chars().take(128).collect::<String>(), grant_type, result = "failure", reason, "token");
    count(state, provider, grant_type, Err(reason));
}

/// Counts a grant in `crate::metrics`: the password grant as a login (its refusals by their
/// `reason`, one of the login failures), a refresh token's redemption as a refresh.
pub(super) fn count(
    state: &AppState,
    provider: &LocalProvider,
    grant_type: &'static str,
    outcome: Result<(), &'static str>,
) {
    let metrics = &state.metrics;
    match (grant_type, outcome) {
        (PASSWORD, Ok(())) => metrics.login_succeeded(&provider.id),
        (PASSWORD, Err(reason)) => metrics.login_failed(&provider.id, reason),
        (_, Ok(())) => metrics.refreshed(&provider.id, RefreshOutcome::Success),
        (_, Err("not_authorized")) => {
            metrics.refreshed(&provider.id, RefreshOutcome::NotAuthorized)
        }
        (_, Err(_)) => metrics.refreshed(&provider.id, RefreshOutcome::Refused),
    }
}
