//! A store's memory of the sealed sessions it has opened (DESIGN §7): opening one is base64,
//! AES-GCM over about a kilobyte and a JSON parse on every request, and a browser sends the
//! same cookie (the Redis store reads the same entry) until the session is saved again. The
//! cookie store remembers session cookies; the Redis store the entries Redis answered with,
//! read from Redis on every request all the same.
//!
//! Only what the store's secrets opened is remembered, under the exact sealed value: a
//! value is found only when every byte of it equals one that was opened, so nothing that has
//! not been verified is ever trusted, and a change to any byte is opened (and fails) afresh.
//! What the cache saves is the work, never a check: each hit is still tested for expiry at
//! the request's time, and everything after opening (lifetime, idle timeout, revocations,
//! renewal, memberships) runs on every request as before. Entries end with their sessions;
//! the number of entries is bounded so that memory stays flat however many cookies arrive.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::record::Session;
use crate::identity::header_values::Remembered;

/// Sessions remembered at most; about 3 KB each with their sealed values.
pub(crate) const CAPACITY: usize = 1024;

/// The last characters of a sealed value (its AES-GCM tag, 16 bytes in base64url, and some
/// ciphertext before it): different for every sealing, so a good and cheap key for the map.
/// A match of the key alone means nothing: the whole value is compared.
const KEY_CHARS: usize = 32;

#[derive(Default)]
pub(crate) struct OpenedSessions {
    entries: Mutex<HashMap<Box<str>, Entry, BuildHasherDefault<TagHasher>>>,
}

/// The hash of a key: its first 8 characters, mixed. A key is the end of a sealed value,
/// AES-GCM's tag: what the secrets sealed is as random as a hash already (48 bits in these 8
/// base64url characters), and SipHash over 32 characters cost a fifth of opening from
/// memory. Every key in the map was sealed by the gateway: a client can choose the keys it
/// looks up, never the ones it finds there.
#[derive(Default)]
struct TagHasher(u64);

impl Hasher for TagHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut first = [0u8; 8];
        for (slot, byte) in first.iter_mut().zip(bytes) {
            *slot = *byte;
        }
        self.0 ^= u64::from_le_bytes(first);
    }

    /// Mixed by a folded multiplication, so that every bit of the index into the table
    /// depends on all 48 bits (base64url characters differ only in their low bits).
    fn finish(&self) -> u64 {
        let product = u128::from(self.0) * 0x9e37_79b9_7f4a_7c15;
        (product as u64) ^ ((product >> 64) as u64)
    }
}

struct Entry {
    /// The whole sealed value, compared byte for byte on every lookup.
    sealed: Box<str>,
    /// Shared with every request that finds it: a hit costs a reference count, not a copy
    /// of the session's strings.
    session: Arc<Session>,
    /// A previous secret opened it (the session is to be sealed again).
    stale_key: bool,
}

impl OpenedSessions {
    /// The session once opened from exactly `sealed`, if it is remembered and still within
    /// its validity at `now`.
    pub(crate) fn get(&self, sealed: &str, now: u64) -> Option<(Arc<Session>, bool)> {
        let entries = self.lock();
        let entry = entries.get(key(sealed))?;
        if entry.sealed.as_bytes() != sealed.as_bytes() || !entry.session.is_live(now) {
            return None;
        }
        Some((Arc::clone(&entry.session), entry.stale_key))
    }

    /// Remembers `session`, just opened from `sealed` by the store's codec. When full,
    /// sessions that have expired are dropped first, then as many others as it takes.
    pub(crate) fn insert(&self, sealed: &str, session: &Session, stale_key: bool, now: u64) {
        let mut entries = self.lock();
        if entries.len() >= CAPACITY {
            entries.retain(|_, entry| entry.session.is_live(now));
        }
        if entries.len() >= CAPACITY {
            // Any one: the cache is only work saved, and an evicted session is opened again.
            let evict = entries.keys().next().cloned();
            if let Some(evict) = evict {
                entries.remove(&evict);
            }
        }
        // Every request that finds it sends the same identity headers: made once, here.
        let session = Arc::new(Session {
            header_values: Remembered::made_for(&session.identity),
            ..session.clone()
        });
        entries.insert(
            key(sealed).into(),
            Entry {
                sealed: sealed.into(),
                session,
                stale_key,
            },
        );
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<Box<str>, Entry, BuildHasherDefault<TagHasher>>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn key(sealed: &str) -> &str {
    let start = sealed.len().saturating_sub(KEY_CHARS);
    sealed.get(start..).unwrap_or(sealed)
}

#[cfg(test)]
#[path = "opened_tests.rs"]
mod tests;
