//! Memberships kept current during a session. Where a provider's groups can be read again
//! with the session's access token (GitHub's orgs and teams, every `membership_refresh`),
//! a request whose session was checked longer ago than that has them read again before it
//! is authorized, and the session follows the answer:
//!
//! - the groups as they are now: they replace the session's, `checked_at` moves to now and
//!   the session is saved again;
//! - the token refused (401) or the `orgs` / `teams` restriction no longer met: the session
//!   ends, and the request goes on as a signed-out one;
//! - no usable answer (the provider unreachable, a timeout, a 5xx, a rate limit): the
//!   session is kept unchanged for this request and the check is tried again on the next
//!   one. A provider outage must not sign everyone out; the price is that someone removed
//!   during the outage keeps the groups of the last successful check until it ends.
//!
//! A local provider's users file (`crate::local`) is read on every request instead, since it
//! is in memory: a user disabled or removed from it is signed out at their next request, and
//! changed groups or email take effect at once.
//!
//! `crate::signed_in` asks here for every signed-in request.

use std::sync::Arc;

use crate::providers::MembershipCheck;
use crate::session::Session;
use crate::state::AppState;

/// What a membership check did to the session.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Membership {
    /// Not due, or no usable answer: nothing to save.
    Unchanged,
    /// Read again: the groups and `checked_at` changed, save the session.
    Checked,
    /// The provider no longer admits the session.
    Ended,
}

/// Reads the session's memberships again when they are due at `now` (see the module
/// documentation).
pub(crate) async fn check(state: &AppState, session: &mut Arc<Session>, now: u64) -> Membership {
    if let Some(local) = state.local.get(&session.identity.provider) {
        return match local.accounts.active(&session.identity.user) {
            None => {
                tracing::info!(
                    provider = %local.id,
                    user = %session.identity.user,
                    reason = "the user is disabled or no longer in the users file",
                    "session ended by the membership check"
                );
                Membership::Ended
            }
            Some(user) => {
                let current = local.identity(&user);
                if current == session.identity {
                    Membership::Unchanged
                } else {
                    // Copied only now: the store's memory keeps the session as it was opened.
                    let session = Arc::make_mut(session);
                    session.identity = current;
                    session.checked_at = now;
                    Membership::Checked
                }
            }
        };
    }
    let check = state
        .providers
        .get(&session.identity.provider)
        .and_then(|provider| provider.membership_check())
        .filter(|check| now.saturating_sub(session.checked_at) >= check.interval().as_secs());
    match check {
        // Boxed, as renewal is: the provider's calls are a future of kilobytes that every
        // request's future would otherwise carry and move, though few are due.
        Some(check) => Box::pin(read_again(Arc::make_mut(session), &check, now)).await,
        None => Membership::Unchanged,
    }
}

async fn read_again(session: &mut Session, check: &MembershipCheck<'_>, now: u64) -> Membership {
    let provider = session.identity.provider.as_str();
    let user = session.identity.user.as_str();
    let Some(access_token) = session.access_token.as_deref() else {
        tracing::info!(
            provider,
            user,
            reason = "the session has no access token to read memberships with",
            "session ended by the membership check"
        );
        return Membership::Ended;
    };
    match check.groups(access_token).await {
        Ok(groups) => {
            if groups != session.identity.groups {
                tracing::info!(provider, user, groups = ?groups, "memberships changed");
            }
            session.identity.groups = groups;
            session.checked_at = now;
            Membership::Checked
        }
        Err(err) if err.ends_session() => {
            tracing::info!(provider, user, reason = %err, "session ended by the membership check");
            Membership::Ended
        }
        Err(err) => {
            tracing::warn!(provider, user, error = %err, "membership check failed; the session is kept and checked again on the next request");
            Membership::Unchanged
        }
    }
}
