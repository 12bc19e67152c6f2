//! Values that count once: the state of a flow already used at a callback, so that one flow
//! cookie signs in once (a flow cookie replayed with another code the provider issued for
//! the same request is refused instead of issuing a second session; RFC 9700 §2.1.2: the
//! nonce, like the code, is single-use), and the `jti` of a back-channel logout token
//! (OpenID Connect Back-Channel Logout 1.0 §2.6).
//!
//! Kept in Redis when `session.redis_url` is set, so that no replica accepts what another
//! one saw; else in memory, per process, each entry until it would have expired anyway. The
//! memory table is bounded ([`CAPACITY`] entries); when a flood fills it, the entry closest
//! to expiry makes room and every value expiring up to then is refused: the table fails
//! closed, never open. Only hashes are kept, never the values.

use std::collections::{BTreeSet, HashSet};
use std::sync::{Mutex, MutexGuard};

use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::redis::{Redis, RedisError};

/// The one-time records of the gateway: in Redis when there is one, else in memory.
pub(crate) struct OneTime {
    memory: ConsumedStates,
    redis: Option<Redis>,
}

impl OneTime {
    pub(crate) fn new(redis: Option<Redis>) -> OneTime {
        OneTime {
            memory: ConsumedStates::new(),
            redis,
        }
    }

    /// Records `value` of `kind` as used at `now`, remembered until `expires_at`; `false`
    /// when it was used before. `Err` only when Redis could not answer.
    pub(crate) async fn first_use(
        &self,
        kind: &str,
        value: &str,
        expires_at: u64,
        now: u64,
    ) -> Result<bool, RedisError> {
        let named = format!("{kind}\0{value}");
        match &self.redis {
            None => Ok(self.memory.consume(&named, expires_at, now)),
            Some(redis) => {
                let digest = Sha256::digest(named.as_bytes());
                let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
                let ttl = Duration::from_secs(expires_at.saturating_sub(now).max(1));
                redis
                    .set_new(&redis.key(&format!("used:{kind}:{hex}")), b"1", ttl)
                    .await
            }
        }
    }
}

/// Most states remembered at once (about 64 bytes each).
const CAPACITY: usize = 65_536;

/// 128 bits of SHA-256(state): the state itself is never kept.
type Key = [u8; 16];

/// The consumed states of this process.
pub(crate) struct ConsumedStates {
    table: Mutex<Table>,
    capacity: usize,
}

#[derive(Default)]
struct Table {
    keys: HashSet<Key>,
    by_expiry: BTreeSet<(u64, Key)>,
    /// Flows expiring at or before this time lost their entry early and are refused.
    forgotten_until: u64,
}

impl Default for ConsumedStates {
    fn default() -> ConsumedStates {
        ConsumedStates::new()
    }
}

impl ConsumedStates {
    pub(crate) fn new() -> ConsumedStates {
        ConsumedStates::with_capacity(CAPACITY)
    }

    fn with_capacity(capacity: usize) -> ConsumedStates {
        ConsumedStates {
            table: Mutex::new(Table::default()),
            capacity: capacity.max(1),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Table> {
        self.table
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Records `state` as used by a callback at `now`, for its flow that expires at
    /// `expires_at`; `false` when it was used before (or cannot be told apart from that).
    pub(crate) fn consume(&self, state: &str, expires_at: u64, now: u64) -> bool {
        let digest = Sha256::digest(state.as_bytes());
        let Some(key) = digest.first_chunk::<16>().copied() else {
            return false;
        };
        let mut table = self.lock();
        while let Some(&(expiry, old)) = table.by_expiry.first() {
            if expiry >= now {
                break;
            }
            table.by_expiry.pop_first();
            table.keys.remove(&old);
        }
        if expires_at <= table.forgotten_until || table.keys.contains(&key) {
            return false;
        }
        while table.keys.len() >= self.capacity {
            let Some((expiry, old)) = table.by_expiry.pop_first() else {
                break;
            };
            table.keys.remove(&old);
            table.forgotten_until = table.forgotten_until.max(expiry);
        }
        table.keys.insert(key);
        table.by_expiry.insert((expires_at, key));
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_state_is_consumed_once() {
        let consumed = ConsumedStates::new();
        assert!(consumed.consume("state-a", 700, 100));
        assert!(!consumed.consume("state-a", 700, 101));
        assert!(consumed.consume("state-b", 700, 101));
    }

    #[test]
    fn entries_go_once_their_flow_has_expired() {
        let consumed = ConsumedStates::new();
        assert!(consumed.consume("state-a", 700, 100));
        assert!(consumed.consume("state-b", 900, 800));
        assert_eq!(consumed.lock().keys.len(), 1);
    }

    #[test]
    fn a_full_table_refuses_the_flows_it_had_to_forget() {
        let consumed = ConsumedStates::with_capacity(2);
        assert!(consumed.consume("a", 500, 100));
        assert!(consumed.consume("b", 600, 100));
        assert!(consumed.consume("c", 700, 100));
        // "a" made room: it and anything expiring no later are refused, newer flows are not.
        assert!(!consumed.consume("a", 500, 101));
        assert!(!consumed.consume("d", 450, 101));
        assert!(!consumed.consume("c", 700, 101));
        assert!(consumed.consume("e", 800, 101));
        assert_eq!(consumed.lock().keys.len(), 2);
    }
}
