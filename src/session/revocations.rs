//! Sessions that ended before their expiry, remembered until then: signed out, ended by a
//! back-channel logout (by `sid`, or by `sub` for sessions issued before the logout), or
//! superseded by a refresh (an older generation of a cookie-store session). The cookie
//! store asks here on every request, since a sealed cookie cannot be taken back (DESIGN §6).
//!
//! Kept in Redis when `redis_url` is set, so every replica honours what any of them
//! recorded; else in this process's memory: lost on restart, and one replica only (the
//! README says so). Keys name hashes, never a session id, `sid` or `sub` itself.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use super::errors::StoreError;
use super::keys::digest;
use super::record::Session;
use crate::redis::Redis;

/// Most entries kept in memory (about 100 bytes each); beyond it, the entry closest to its
/// expiry is dropped, and the drop is logged.
const MEMORY_CAPACITY: usize = 262_144;

/// What the entries say about one session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    Live,
    /// Signed out, or ended by a back-channel logout.
    Ended,
    /// A refresh renewed it: this generation is older than `current`.
    Superseded {
        current: u32,
    },
}

/// The revocation entries, in Redis or in memory.
pub(crate) enum Revocations {
    Memory(Mutex<MemoryTable>),
    Redis(Redis),
}

#[derive(Default)]
pub(crate) struct MemoryTable {
    entries: HashMap<String, (u64, u64)>,
    by_expiry: BTreeSet<(u64, String)>,
}

impl Revocations {
    pub(crate) fn in_memory() -> Revocations {
        Revocations::Memory(Mutex::new(MemoryTable::default()))
    }

    /// `session` was signed out: refused until it expires.
    pub(crate) async fn end_session(&self, session: &Session, now: u64) -> Result<(), StoreError> {
        self.record(&key("ended", &[&session.id]), 1, session.expires_at, now)
            .await
    }

    /// Every session of `sid` at `provider` issued up to `now` has ended.
    pub(crate) async fn end_sid(
        &self,
        provider: &str,
        sid: &str,
        now: u64,
        lifetime: Duration,
    ) -> Result<(), StoreError> {
        let until = now.saturating_add(lifetime.as_secs());
        self.record(&key("sid", &[provider, sid]), now, until, now)
            .await
    }

    /// Every session of `sub` at `provider` issued up to `now` has ended.
    pub(crate) async fn end_sub(
        &self,
        provider: &str,
        sub: &str,
        now: u64,
        lifetime: Duration,
    ) -> Result<(), StoreError> {
        let until = now.saturating_add(lifetime.as_secs());
        self.record(&key("sub", &[provider, sub]), now, until, now)
            .await
    }

    /// `session` was renewed: its generations before `session.generation` are superseded.
    pub(crate) async fn supersede(&self, session: &Session, now: u64) -> Result<(), StoreError> {
        let generation = u64::from(session.generation);
        self.record(
            &key("generation", &[&session.id]),
            generation,
            session.expires_at,
            now,
        )
        .await
    }

    /// What the entries say about `session` at `now`.
    pub(crate) async fn verdict(&self, session: &Session, now: u64) -> Result<Verdict, StoreError> {
        if let Revocations::Memory(table) = self {
            // The common case of a process nobody signed out of: no key to hash.
            if lock(table).entries.is_empty() {
                return Ok(Verdict::Live);
            }
        }
        let provider = session.identity.provider.as_str();
        let mut keys = vec![
            key("ended", &[&session.id]),
            key("sub", &[provider, &session.identity.user]),
            key("generation", &[&session.id]),
        ];
        if let Some(sid) = &session.sid {
            keys.push(key("sid", &[provider, sid]));
        }
        // Boxed, as the store's Redis calls are (`SessionStore::load`).
        let values = Box::pin(self.read(&keys, now)).await?;
        let value = |index: usize| values.get(index).copied().flatten();
        let ended_at_or_after = |at: Option<u64>| at.is_some_and(|at| session.issued_at <= at);
        if value(0).is_some() || ended_at_or_after(value(1)) || ended_at_or_after(value(3)) {
            return Ok(Verdict::Ended);
        }
        match value(2).and_then(|g| u32::try_from(g).ok()) {
            Some(current) if current > session.generation => Ok(Verdict::Superseded { current }),
            _ => Ok(Verdict::Live),
        }
    }

    async fn record(&self, key: &str, value: u64, until: u64, now: u64) -> Result<(), StoreError> {
        match self {
            Revocations::Memory(table) => {
                lock(table).insert(key, value, until, now);
                Ok(())
            }
            Revocations::Redis(redis) => {
                let ttl = Duration::from_secs(until.saturating_sub(now).max(1));
                redis
                    .set(&redis.key(key), value.to_string().as_bytes(), ttl)
                    .await?;
                Ok(())
            }
        }
    }

    async fn read(&self, keys: &[String], now: u64) -> Result<Vec<Option<u64>>, StoreError> {
        match self {
            Revocations::Memory(table) => {
                let table = lock(table);
                Ok(keys.iter().map(|key| table.get(key, now)).collect())
            }
            Revocations::Redis(redis) => {
                let keys: Vec<String> = keys.iter().map(|key| redis.key(key)).collect();
                let values = redis.get_many(&keys).await?;
                Ok(values
                    .into_iter()
                    .map(|value| {
                        value.and_then(|bytes| std::str::from_utf8(&bytes).ok()?.parse().ok())
                    })
                    .collect())
            }
        }
    }
}

fn lock(table: &Mutex<MemoryTable>) -> MutexGuard<'_, MemoryTable> {
    table
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl MemoryTable {
    fn insert(&mut self, key: &str, value: u64, until: u64, now: u64) {
        self.purge(now);
        if let Some((_, old_until)) = self.entries.get(key).copied() {
            self.by_expiry.remove(&(old_until, key.to_owned()));
        }
        while self.entries.len() >= MEMORY_CAPACITY {
            let Some((expiry, old)) = self.by_expiry.pop_first() else {
                break;
            };
            self.entries.remove(&old);
            tracing::error!(
                expires_at = expiry,
                "the in-memory revocation table is full: an entry was dropped before its \
                 session's expiry; set session.redis_url to keep revocations in Redis"
            );
        }
        let until = until.max(self.entries.get(key).map_or(0, |(_, u)| *u));
        self.entries.insert(key.to_owned(), (value, until));
        self.by_expiry.insert((until, key.to_owned()));
    }

    fn get(&self, key: &str, now: u64) -> Option<u64> {
        self.entries
            .get(key)
            .filter(|(_, until)| now < *until)
            .map(|(value, _)| *value)
    }

    fn purge(&mut self, now: u64) {
        while let Some((expiry, _)) = self.by_expiry.first() {
            if *expiry > now {
                break;
            }
            if let Some((_, old)) = self.by_expiry.pop_first() {
                self.entries.remove(&old);
            }
        }
    }
}

/// `revoked:{kind}:{digest of kind and parts}`: the parts are not readable from the key.
fn key(kind: &str, parts: &[&str]) -> String {
    let mut all: Vec<&[u8]> = vec![kind.as_bytes()];
    all.extend(parts.iter().map(|part| part.as_bytes()));
    format!("revoked:{kind}:{}", digest(&all))
}

#[cfg(test)]
mod tests;
