//! Renewing a session's tokens with its refresh token (RFC 6749 §6) when the access token is
//! about to expire (DESIGN §6, "Refresh"), without ever redeeming one refresh token twice:
//!
//! - **In one process**, the requests of one session (id and generation) share one flight:
//!   the first redeems, the others await its outcome.
//! - **Across replicas**, when `redis_url` is set, the flight's owner first takes a Redis
//!   lock on the session; a replica that finds it taken waits for the owner's result instead
//!   of redeeming.
//! - **The pre-refresh cookie**: for 10 s after a renewal, a request that still carries the
//!   cookie of the generation before gets the renewed session (from this process's flight, or
//!   from Redis) and its new cookie, without a second redemption; later it is signed out.
//!
//! The outcome: new tokens (a rotated refresh token replaces the old one), the identity read
//! again from a new ID token (same `iss` and `sub`, checked by the provider), the `[authorize]`
//! rules applied again (route rules are applied by each request); `invalid_grant` or a
//! failed check ends the session; a provider that cannot be reached keeps it until its
//! access token has expired, then requests get a 503.

use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::authz::{self, Claims, Subject};
use crate::metrics::RefreshOutcome;
use crate::providers::Provider;
use crate::redis::Redis;
use crate::session::{Issued, Outcome, Session, SessionCodec, GRACE};
use crate::state::AppState;

/// How long a replica's Redis lock on one session's refresh lasts at most.
const LOCK_TTL: Duration = Duration::from_secs(15);
/// How often a replica that found the lock taken looks for the owner's result.
const LOCK_POLL: Duration = Duration::from_millis(50);
/// Associated data of a renewed session handed to other replicas through Redis.
const HANDOFF_PURPOSE: &[u8] = b"portcullis renewed session v1";

/// Whether `session` is due for renewal at `now`.
pub(crate) fn is_due(session: &Session, now: u64) -> bool {
    session.refresh_token.is_some() && session.refresh_at.is_some_and(|at| now >= at)
}

/// Renews `session` once for every request of its generation (see the module
/// documentation).
pub(crate) async fn renew(state: &AppState, session: &Session) -> Outcome {
    state
        .flights
        .flight(session)
        .get_or_init(|| async { (redeem_once(state, session).await, Instant::now()) })
        .await
        .0
        .clone()
}

/// The renewed session for a request that carries an older generation's cookie: from this
/// process's flight, else from the replica that renewed it (through Redis); `None` when the
/// grace period is over (the request is then signed out).
pub(crate) async fn renewed_elsewhere(state: &AppState, session: &Session) -> Option<Session> {
    if let Some(Outcome::Renewed(renewed)) = state.flights.landed(session) {
        return Some(*renewed);
    }
    let redis = state.sessions.redis()?;
    handoff(redis, &state.codec, session).await
}

/// One redemption for this process: under the Redis lock when there is Redis.
async fn redeem_once(state: &AppState, session: &Session) -> Outcome {
    let Some(redis) = state.sessions.redis() else {
        return redeem(state, session).await;
    };
    let lock = redis.key(&format!(
        "renewing:{}",
        digest(&session.id, session.generation)
    ));
    let token = crate::session::new_id();
    let started = Instant::now();
    loop {
        match redis.set_new(&lock, token.as_bytes(), LOCK_TTL).await {
            Ok(true) => break,
            Ok(false) => {}
            Err(err) => {
                tracing::warn!(user = %session.identity.user, error = %crate::error_chain::error_chain(&err), "session renewal postponed: the Redis lock could not be taken");
                return Outcome::Unavailable;
            }
        }
        // Another replica is renewing: its result arrives through Redis.
        if let Some(renewed) = handoff(redis, &state.codec, session).await {
            return Outcome::Renewed(Box::new(renewed));
        }
        if started.elapsed() > LOCK_TTL {
            return Outcome::Unavailable;
        }
        tokio::time::sleep(LOCK_POLL).await;
    }
    // The lock is ours; a replica may have finished just before we took it.
    let outcome = match handoff(redis, &state.codec, session).await {
        Some(renewed) => Outcome::Renewed(Box::new(renewed)),
        None => redeem(state, session).await,
    };
    if let Err(err) = redis.delete_if(&lock, token.as_bytes()).await {
        tracing::warn!(error = %crate::error_chain::error_chain(&err), "releasing the session renewal lock failed; it expires by itself");
    }
    outcome
}

/// Redeems the refresh token at the provider and saves what comes of it; counted in the
/// metrics by how it ended.
async fn redeem(state: &AppState, session: &Session) -> Outcome {
    let user = session.identity.user.as_str();
    let provider_id = session.identity.provider.as_str();
    let (Some(provider), Some(refresh_token)) = (
        state.providers.get(provider_id),
        session.refresh_token.as_deref(),
    ) else {
        return Outcome::Unavailable;
    };
    let now = crate::session::unix_now();
    let renewed = match provider.refresh(refresh_token, &session.identity).await {
        Ok(renewed) => renewed,
        Err(err) if err.ends_session() => {
            tracing::info!(provider = provider_id, user, reason = %crate::error_chain::error_chain(&err), "session ended: the refresh was refused");
            state
                .metrics
                .refreshed(provider_id, RefreshOutcome::Refused);
            return end(state, session, now).await;
        }
        Err(err) => {
            tracing::warn!(provider = provider_id, user, error = %crate::error_chain::error_chain(&err), "session renewal failed; the session is kept until its access token expires");
            state
                .metrics
                .refreshed(provider_id, RefreshOutcome::ProviderError);
            return Outcome::Unavailable;
        }
    };
    let issued = Issued {
        identity: renewed.identity,
        id_token: renewed.id_token,
        access_token: renewed.access_token,
        refresh_token: renewed.refresh_token,
        expires_in: renewed.expires_in,
        sid: renewed.sid,
        reads_memberships: provider.membership_check().is_some(),
    };
    let claims_token = issued.id_token.clone();
    let fresh = state.needs.renewed(session, issued, now);
    let claims = match (&claims_token, &fresh.claims) {
        (Some(token), _) => Claims::Token(token),
        (None, Some(kept)) => Claims::Kept(kept),
        (None, None) => Claims::None,
    };
    if let Err(denial) = authz::authorize(
        &state.config.authorize,
        &Subject::new(&fresh.identity, claims),
    ) {
        tracing::info!(provider = provider_id, user, reason = %denial, "session ended: the renewed identity is no longer authorized");
        state
            .metrics
            .refreshed(provider_id, RefreshOutcome::NotAuthorized);
        return end(state, session, now).await;
    }
    save_renewed(state, provider, fresh, now).await
}

async fn save_renewed(state: &AppState, provider: &Provider, fresh: Session, now: u64) -> Outcome {
    let saved = state
        .sessions
        .persist(&fresh, now)
        .await
        .and(state.sessions.supersede(&fresh, now).await);
    if let Err(err) = saved {
        // The provider has rotated the refresh token; without the new one stored the session
        // cannot be renewed again, and the old one must not be redeemed.
        tracing::error!(provider = provider.id(), user = %fresh.identity.user, error = %crate::error_chain::error_chain(&err), "the renewed session could not be stored");
        state
            .metrics
            .refreshed(provider.id(), RefreshOutcome::SessionStore);
        return Outcome::Unavailable;
    }
    if let Some(redis) = state.sessions.redis() {
        let mut previous = fresh.clone();
        previous.generation = previous.generation.saturating_sub(1);
        let key = redis.key(&format!(
            "renewed:{}",
            digest(&previous.id, previous.generation)
        ));
        let sealed = serde_json::to_vec(&fresh)
            .map(|json| state.codec.seal(HANDOFF_PURPOSE, &json))
            .unwrap_or_default();
        if let Err(err) = redis.set(&key, sealed.as_bytes(), GRACE).await {
            tracing::warn!(error = %crate::error_chain::error_chain(&err), "the renewed session could not be handed to other replicas");
        }
    }
    tracing::info!(provider = provider.id(), user = %fresh.identity.user, generation = fresh.generation, "session renewed");
    state
        .metrics
        .refreshed(provider.id(), RefreshOutcome::Success);
    Outcome::Renewed(Box::new(fresh))
}

async fn end(state: &AppState, session: &Session, now: u64) -> Outcome {
    if let Err(err) = state.sessions.forget(session, now).await {
        tracing::warn!(error = %crate::error_chain::error_chain(&err), "the ended session could not be removed from the store");
    }
    Outcome::Ended
}

/// The renewed successor of `session`'s generation another replica left in Redis.
async fn handoff(redis: &Redis, codec: &SessionCodec, session: &Session) -> Option<Session> {
    let key = redis.key(&format!(
        "renewed:{}",
        digest(&session.id, session.generation)
    ));
    let bytes = redis.get(&key).await.ok()??;
    let json = codec.open(HANDOFF_PURPOSE, std::str::from_utf8(&bytes).ok()?)?;
    let renewed: Session = serde_json::from_slice(&json).ok()?;
    (renewed.id == session.id && renewed.generation > session.generation).then_some(renewed)
}

/// A key part naming one generation of one session, without the id.
fn digest(id: &str, generation: u32) -> String {
    let hash = Sha256::digest(format!("{id}:{generation}").as_bytes());
    hash.iter().map(|b| format!("{b:02x}")).collect()
}
