//! Limits on failed sign-in attempts (DESIGN §10): per username and per client address, a
//! refused attempt is answered 429 with `Retry-After` (RFC 6585 §4, RFC 9110 §10.2.3).
//!
//! Each key has a bucket of `allowed` failures that refills over `window`, kept as the GCRA
//! does (the generic cell rate algorithm): one instant per key, the "theoretical arrival
//! time" by which every failure it made is forgiven. A key may try while that instant is at
//! most `window - window / allowed` ahead of now; each failure moves it `window / allowed`
//! further. Only failures count, so people who type their password right are never slowed.
//!
//! Memory is bounded: a key is stored as a 128-bit digest (SHA-256 truncated), so a long
//! username chosen by an attacker costs nothing extra, and at most `max_keys` keys are kept.
//! An entry whose failures are all forgiven is dropped at the next failure recorded. When
//! the table is full, the entry closest to being forgiven goes, which may be the one just
//! failed. That is a trade-off: a flood of new keys (an attacker trying many usernames) can
//! push out a key that was locked, which then may try again early; it never refuses a key
//! that has no failures, so a flood cannot lock everyone out. The limit per client address
//! still holds the attacker making the flood. An entry is pushed out only when every other
//! entry is at least as locked, so a key locked harder than the flood stays locked.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

/// How many keys a [`FailureLimit`] remembers unless told otherwise (about 10 MB).
pub(crate) const DEFAULT_MAX_KEYS: usize = 100_000;

/// How long until a refused key may try again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RetryAfter(pub(crate) Duration);

impl RetryAfter {
    /// Whole seconds for the `Retry-After` header (RFC 9110 §10.2.3), rounded up and at
    /// least 1: a client that waits that long is let in.
    pub(crate) fn seconds(self) -> u64 {
        let whole = self.0.as_secs();
        let seconds = if self.0.subsec_nanos() > 0 {
            whole.saturating_add(1)
        } else {
            whole
        };
        seconds.max(1)
    }
}

/// Failed attempts allowed per key: a burst of `allowed`, then one more every
/// `window / allowed` (a GCRA / token bucket refilled over `window`). Only failures count;
/// a check does not consume.
pub(crate) struct FailureLimit {
    /// How far each failure moves a key's instant: `window / allowed`.
    interval: Duration,
    /// How far ahead of now a key's instant may be while it may still try.
    tolerance: Duration,
    max_keys: usize,
    entries: Mutex<Entries>,
}

/// A key as stored: the first 128 bits of its SHA-256.
type KeyDigest = [u8; 16];

/// The keys with failures not yet forgiven, by key and by the instant they are forgiven.
#[derive(Default)]
struct Entries {
    forgiven_at: HashMap<KeyDigest, Instant>,
    by_forgiveness: BTreeSet<(Instant, KeyDigest)>,
}

impl Entries {
    fn remove(&mut self, key: &KeyDigest) {
        if let Some(at) = self.forgiven_at.remove(key) {
            self.by_forgiveness.remove(&(at, *key));
        }
    }

    fn insert(&mut self, key: KeyDigest, at: Instant) {
        self.remove(&key);
        self.forgiven_at.insert(key, at);
        self.by_forgiveness.insert((at, key));
    }

    /// Drops the entry closest to being forgiven.
    fn pop_first(&mut self) {
        if let Some((_, key)) = self.by_forgiveness.pop_first() {
            self.forgiven_at.remove(&key);
        }
    }

    /// Drops every entry whose failures are all forgiven at `now`.
    fn drop_forgiven(&mut self, now: Instant) {
        while self
            .by_forgiveness
            .first()
            .is_some_and(|(at, _)| *at <= now)
        {
            self.pop_first();
        }
    }
}

impl FailureLimit {
    /// A limit of `allowed` failures (at least 1) per `window`, remembering at most
    /// [`DEFAULT_MAX_KEYS`] keys.
    pub(crate) fn new(allowed: u32, window: Duration) -> FailureLimit {
        FailureLimit::with_capacity(allowed, window, DEFAULT_MAX_KEYS)
    }

    /// A limit of `allowed` failures (at least 1) per `window`, remembering at most
    /// `max_keys` keys.
    pub(crate) fn with_capacity(allowed: u32, window: Duration, max_keys: usize) -> FailureLimit {
        let interval = window / allowed.max(1);
        FailureLimit {
            interval,
            tolerance: window.saturating_sub(interval),
            max_keys,
            entries: Mutex::new(Entries::default()),
        }
    }

    /// Err when the key may not try now, with how long until it may.
    pub(crate) fn check(&self, key: &str, now: Instant) -> Result<(), RetryAfter> {
        let forgiven_at = self.entries().forgiven_at.get(&digest(key)).copied();
        let Some(forgiven_at) = forgiven_at else {
            return Ok(());
        };
        let ahead = forgiven_at.saturating_duration_since(now);
        if ahead <= self.tolerance {
            Ok(())
        } else {
            Err(RetryAfter(ahead.saturating_sub(self.tolerance)))
        }
    }

    /// Records a failed attempt of `key` at `now`. A key whose bucket is already empty is
    /// not pushed further back: it waits at most `window / allowed` after its last failure.
    pub(crate) fn fail(&self, key: &str, now: Instant) {
        let key = digest(key);
        let mut entries = self.entries();
        self.record(&mut entries, key, now);
    }

    fn record(&self, entries: &mut Entries, key: KeyDigest, now: Instant) {
        entries.drop_forgiven(now);
        let start = entries
            .forgiven_at
            .get(&key)
            .copied()
            .map_or(now, |at| at.max(now));
        let full = now.checked_add(self.tolerance.saturating_add(self.interval));
        let at = match (start.checked_add(self.interval), full) {
            (Some(at), Some(full)) => at.min(full),
            (Some(at), None) => at,
            (None, _) => start,
        };
        entries.insert(key, at);
        while entries.forgiven_at.len() > self.max_keys {
            entries.pop_first();
        }
    }

    /// Counts one attempt of `key` whatever its outcome (every request to a login endpoint),
    /// under one lock: refused as [`FailureLimit::check`] refuses, else recorded as
    /// [`FailureLimit::fail`] records.
    pub(crate) fn take(&self, key: &str, now: Instant) -> Result<(), RetryAfter> {
        let digest = digest(key);
        let mut entries = self.entries();
        if let Some(forgiven_at) = entries.forgiven_at.get(&digest).copied() {
            let ahead = forgiven_at.saturating_duration_since(now);
            if ahead > self.tolerance {
                return Err(RetryAfter(ahead.saturating_sub(self.tolerance)));
            }
        }
        self.record(&mut entries, digest, now);
        Ok(())
    }

    /// After a success (a correct password), the key's failures are forgotten.
    pub(crate) fn clear(&self, key: &str) {
        self.entries().remove(&digest(key));
    }

    /// The table, emptied if a thread panicked while holding it: the two maps may be out of
    /// step then. Forgetting failures lets a few more attempts through; refusing every key
    /// or panicking on each request would be worse.
    fn entries(&self) -> MutexGuard<'_, Entries> {
        self.entries.lock().unwrap_or_else(|poisoned| {
            let mut entries = poisoned.into_inner();
            *entries = Entries::default();
            self.entries.clear_poison();
            entries
        })
    }
}

fn digest(key: &str) -> KeyDigest {
    let hash = Sha256::digest(key.as_bytes());
    let mut digest = KeyDigest::default();
    for (to, from) in digest.iter_mut().zip(hash.iter()) {
        *to = *from;
    }
    digest
}

#[cfg(test)]
mod tests;
