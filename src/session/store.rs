//! The session store seam (DESIGN §6): one code path above two stores. The rest of the
//! gateway loads, saves and ends sessions here and never asks which store it has.
//!
//! - `store = "cookie"` (`session/cookie_store.rs`): the sealed session is the cookie;
//!   ended and superseded sessions are refused through `session/revocations.rs`.
//! - `store = "redis"` (`session/redis_store.rs`): the cookie is the session's random id;
//!   the sealed session lives in Redis under a hash of it, with indexes by `sid` and `sub`.
//!
//! Both enforce `lifetime` and `idle_timeout`, and re-seal a session opened with a
//! previous secret on its next use.

use std::sync::Arc;
use std::time::Duration;

use axum::http::HeaderValue;

use super::codec::SessionCodec;
use super::cookie_store::CookieStore;
use super::cookies::CookieJar;
use super::errors::{SaveError, StoreError};
use super::record::{Ending, Session};
use super::redis_store::RedisStore;
use super::revocations::{Revocations, Verdict};
use crate::config::{Config, SessionStoreKind};
use crate::metrics::Metrics;
use crate::redis::{Redis, RedisError};

/// The request's session as the store found it.
pub(crate) struct Loaded {
    /// Shared with the store's memory of opened sessions; changed by `Arc::make_mut`.
    pub(crate) session: Arc<Session>,
    /// Save it again on this request: it was opened with a previous secret, or its activity
    /// is due to be recorded (`idle_timeout`).
    pub(crate) needs_save: bool,
    /// A refresh renewed this session: the browser still holds an older generation (cookie
    /// store), and `current` is the newest.
    pub(crate) superseded: Option<u32>,
}

/// Where sessions live.
pub(crate) struct SessionStore {
    kind: StoreKind,
    /// Signed-out and back-channel-ended sessions of the cookie store; in Redis when
    /// `redis_url` is set. The memory table outlives a reload ([`SessionStore::succeeding`]).
    revocations: Arc<Revocations>,
    idle_timeout: Option<Duration>,
    lifetime: Duration,
    redis: Option<Redis>,
}

enum StoreKind {
    Cookie(CookieStore),
    Redis(RedisStore),
}

impl SessionStore {
    /// The configured store. Redis is connected in the background: an unreachable Redis
    /// does not stop the gateway from starting (`/ready` says 503 until it answers). Every
    /// Redis command that fails is counted in `metrics`.
    pub(crate) fn new(
        config: &Config,
        codec: SessionCodec,
        wants_id_token: bool,
        metrics: Arc<Metrics>,
    ) -> Result<SessionStore, RedisError> {
        let redis = config
            .session
            .redis
            .as_ref()
            .map(|redis| Redis::connect(redis, metrics))
            .transpose()?;
        let revocations = Arc::new(match &redis {
            Some(redis) => Revocations::Redis(redis.clone()),
            None => Revocations::in_memory(),
        });
        Ok(SessionStore::with(
            config,
            codec,
            wants_id_token,
            redis,
            revocations,
        ))
    }

    /// The store of a reloaded configuration whose `[session]` changed: on `redis`, the
    /// running connection when its settings are unchanged; the running store's revocations
    /// kept when both keep them in memory, so a signed-out session stays signed out.
    pub(crate) fn succeeding(
        config: &Config,
        codec: SessionCodec,
        wants_id_token: bool,
        redis: Option<Redis>,
        running: &SessionStore,
    ) -> SessionStore {
        let revocations = match (&redis, running.revocations.as_ref()) {
            (Some(redis), _) => Arc::new(Revocations::Redis(redis.clone())),
            (None, Revocations::Memory(_)) => Arc::clone(&running.revocations),
            (None, Revocations::Redis(_)) => Arc::new(Revocations::in_memory()),
        };
        SessionStore::with(config, codec, wants_id_token, redis, revocations)
    }

    fn with(
        config: &Config,
        codec: SessionCodec,
        wants_id_token: bool,
        redis: Option<Redis>,
        revocations: Arc<Revocations>,
    ) -> SessionStore {
        let kind = match (config.session.store, &redis) {
            (SessionStoreKind::Redis, Some(redis)) => StoreKind::Redis(RedisStore::new(
                redis.clone(),
                codec,
                config.session.lifetime,
            )),
            _ => StoreKind::Cookie(CookieStore::new(codec, wants_id_token)),
        };
        SessionStore {
            kind,
            revocations,
            idle_timeout: config.session.idle_timeout,
            lifetime: config.session.lifetime,
            redis,
        }
    }

    /// The Redis connection, when `redis_url` is set (for the other one-time records that
    /// replicas must share).
    pub(crate) fn redis(&self) -> Option<&Redis> {
        self.redis.as_ref()
    }

    /// The request's live session, if any: unexpired, within `lifetime` and `idle_timeout`,
    /// not ended. `Err` only when the store could not answer.
    pub(crate) async fn load(
        &self,
        jar: &CookieJar<'_>,
        now: u64,
    ) -> Result<Option<Loaded>, StoreError> {
        let Some(value) = jar.session_value() else {
            return Ok(None);
        };
        // The Redis calls are boxed: futures of a kilobyte that every request's future
        // would otherwise carry and move, with the cookie store too.
        let opened = match &self.kind {
            StoreKind::Cookie(store) => store.open(&value, now),
            StoreKind::Redis(store) => Box::pin(store.load(&value, now)).await?,
        };
        let Some((session, stale_key)) = opened else {
            return Ok(None);
        };
        if !session.has_valid_id()
            || now >= session.issued_at.saturating_add(self.lifetime.as_secs())
        {
            return Ok(None);
        }
        let last_seen = session.seen_at.max(session.issued_at);
        if let Some(idle) = self.idle_timeout {
            if now.saturating_sub(last_seen) >= idle.as_secs() {
                if let StoreKind::Redis(store) = &self.kind {
                    Box::pin(store.delete(&session)).await?;
                }
                return Ok(None);
            }
        }
        let superseded = match &self.kind {
            StoreKind::Cookie(_) => match self.revocations.verdict(&session, now).await? {
                Verdict::Live => None,
                Verdict::Ended => return Ok(None),
                Verdict::Superseded { current } => Some(current),
            },
            StoreKind::Redis(_) => None,
        };
        let activity_due = self
            .idle_timeout
            .is_some_and(|idle| now.saturating_sub(last_seen) >= activity_interval(idle));
        Ok(Some(Loaded {
            session,
            needs_save: stale_key || activity_due,
            superseded,
        }))
    }

    /// Saves `session` (its activity recorded at `now`) and answers the `Set-Cookie` headers
    /// that point the browser at it.
    pub(crate) async fn save(
        &self,
        session: &Session,
        jar: &CookieJar<'_>,
        now: u64,
    ) -> Result<Vec<HeaderValue>, SaveError> {
        let mut session = session.clone();
        if self.idle_timeout.is_some() {
            session.seen_at = now;
        }
        self.persist(&session, now).await?;
        self.cookies(&session, jar)
    }

    /// Writes `session` where the store keeps it (Redis); the cookie store keeps nothing
    /// but the cookie.
    pub(crate) async fn persist(&self, session: &Session, now: u64) -> Result<(), SaveError> {
        match &self.kind {
            StoreKind::Cookie(_) => Ok(()),
            StoreKind::Redis(store) => store.persist(session, now).await,
        }
    }

    /// The `Set-Cookie` headers that carry `session` (cookie store) or its id (Redis, only
    /// when the browser does not hold it yet).
    pub(crate) fn cookies(
        &self,
        session: &Session,
        jar: &CookieJar<'_>,
    ) -> Result<Vec<HeaderValue>, SaveError> {
        match &self.kind {
            StoreKind::Cookie(store) => store.save(session, jar),
            StoreKind::Redis(_) => {
                if jar.session_value().as_deref() == Some(session.id.as_str()) {
                    return Ok(Vec::new());
                }
                Ok(jar.set_session(&session.id)?)
            }
        }
    }

    /// A refresh renewed `session` (whose generation is the new one): older generations of
    /// a cookie-store session are superseded from now on.
    pub(crate) async fn supersede(&self, session: &Session, now: u64) -> Result<(), SaveError> {
        match &self.kind {
            StoreKind::Cookie(_) => Ok(self.revocations.supersede(session, now).await?),
            StoreKind::Redis(_) => Ok(()),
        }
    }

    /// The session is dead everywhere: Redis deletes it and its index entries; the cookie
    /// store records its end until its expiry.
    pub(crate) async fn forget(&self, session: &Session, now: u64) -> Result<(), StoreError> {
        match &self.kind {
            StoreKind::Cookie(_) => self.revocations.end_session(session, now).await,
            StoreKind::Redis(store) => store.delete(session).await,
        }
    }

    /// Back-channel logout: ends the sessions `ending` names, on every replica.
    pub(crate) async fn end_matching(&self, ending: &Ending, now: u64) -> Result<(), StoreError> {
        match &self.kind {
            StoreKind::Redis(store) => store.end_matching(ending).await,
            StoreKind::Cookie(_) => match (&ending.sid, &ending.sub) {
                (Some(sid), _) => {
                    self.revocations
                        .end_sid(&ending.provider, sid, now, self.lifetime)
                        .await
                }
                (None, Some(sub)) => {
                    self.revocations
                        .end_sub(&ending.provider, sub, now, self.lifetime)
                        .await
                }
                (None, None) => Ok(()),
            },
        }
    }

    /// Whether the store answers (`/ready`): always for cookies without Redis.
    pub(crate) async fn ping(&self) -> Result<(), StoreError> {
        match &self.redis {
            Some(redis) => Ok(redis.ping().await?),
            None => Ok(()),
        }
    }
}

/// How often a session's activity is recorded: every minute, or every quarter of
/// `idle_timeout` when that is shorter (DESIGN §6).
fn activity_interval(idle: Duration) -> u64 {
    (idle.as_secs() / 4).clamp(1, 60)
}
