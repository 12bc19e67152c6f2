//! The Redis store: the browser's cookie holds only the session's random id (256 bits, 43
//! characters); Redis holds the session, AEAD-sealed with the session key and bound to its
//! entry's name, under `session:{SHA-256(id)}` (a Redis dump yields no working cookie), with
//! a TTL of the remaining lifetime. Indexes by `sid` and by provider + `sub` let a
//! back-channel logout find every session it ends; sign-out deletes the entry and its index
//! entries.

use std::sync::Arc;

use std::time::Duration;

use super::codec::SessionCodec;
use super::errors::{SaveError, StoreError};
use super::keys::digest;
use super::opened::OpenedSessions;
use super::record::{is_session_id, Ending, Session, SESSION_PURPOSE};
use crate::redis::Redis;

/// Longest sealed entry that still carries the raw ID token.
const ID_TOKEN_BUDGET: usize = 64 * 1024;

pub(crate) struct RedisStore {
    redis: Redis,
    codec: SessionCodec,
    lifetime: Duration,
    /// The sealed entries opened so far (`session/opened.rs`): Redis is still read on every
    /// request, so a deleted or rewritten entry counts at once; only opening the same bytes
    /// again is saved.
    opened: OpenedSessions,
}

impl RedisStore {
    pub(crate) fn new(redis: Redis, codec: SessionCodec, lifetime: Duration) -> RedisStore {
        RedisStore {
            redis,
            codec,
            lifetime,
            opened: OpenedSessions::default(),
        }
    }

    /// The session whose id is the cookie `value`, and whether a previous secret sealed it.
    pub(crate) async fn load(
        &self,
        value: &str,
        now: u64,
    ) -> Result<Option<(Arc<Session>, bool)>, StoreError> {
        if !is_session_id(value) {
            return Ok(None);
        }
        let name = entry_name(value);
        let Some(bytes) = self.redis.get(&self.redis.key(&name)).await? else {
            return Ok(None);
        };
        let Ok(sealed) = std::str::from_utf8(&bytes) else {
            return Ok(None);
        };
        if let Some((session, stale_key)) = self.opened.get(sealed, now) {
            // Opened under this entry's name before, but checked again all the same: an
            // entry copied under another name holds another session's id.
            return Ok((session.id == value).then_some((session, stale_key)));
        }
        let opened = self
            .codec
            .open_keyed(&associated_data(&name), sealed)
            .and_then(|(json, current)| {
                let session: Session = serde_json::from_slice(&json).ok()?;
                (session.id == value && now < session.expires_at).then_some((session, !current))
            });
        if let Some((session, stale_key)) = &opened {
            self.opened.insert(sealed, session, *stale_key, now);
        }
        Ok(opened.map(|(session, stale_key)| (Arc::new(session), stale_key)))
    }

    /// Writes the sealed entry (TTL: the remaining lifetime) and its index entries.
    pub(crate) async fn persist(&self, session: &Session, now: u64) -> Result<(), SaveError> {
        let name = entry_name(&session.id);
        let aad = associated_data(&name);
        let mut sealed = self.codec.seal(&aad, &serde_json::to_vec(session)?);
        if session.id_token.is_some() && sealed.len() > ID_TOKEN_BUDGET {
            sealed = self
                .codec
                .seal(&aad, &serde_json::to_vec(&session.without_id_token())?);
        }
        let ttl = Duration::from_secs(session.expires_at.saturating_sub(now).max(1));
        self.redis
            .set(&self.redis.key(&name), sealed.as_bytes(), ttl)
            .await
            .map_err(StoreError::from)?;
        let member = entry_hash(&session.id);
        for index in indexes(session) {
            self.redis
                .add_member(&self.redis.key(&index), &member, self.lifetime)
                .await
                .map_err(StoreError::from)?;
        }
        Ok(())
    }

    /// Deletes the session's entry and its index entries.
    pub(crate) async fn delete(&self, session: &Session) -> Result<(), StoreError> {
        let member = entry_hash(&session.id);
        self.redis
            .delete(&[self.redis.key(&entry_name(&session.id))])
            .await?;
        for index in indexes(session) {
            self.redis
                .remove_member(&self.redis.key(&index), &member)
                .await?;
        }
        Ok(())
    }

    /// Deletes every session of the `sid` (or else the `sub`) that `ending` names.
    pub(crate) async fn end_matching(&self, ending: &Ending) -> Result<(), StoreError> {
        let index = match (&ending.sid, &ending.sub) {
            (Some(sid), _) => index_name("sid", &ending.provider, sid),
            (None, Some(sub)) => index_name("sub", &ending.provider, sub),
            (None, None) => return Ok(()),
        };
        let index = self.redis.key(&index);
        let members = self.redis.members(&index).await?;
        let mut keys: Vec<String> = members
            .iter()
            .filter(|m| m.len() == 64 && m.bytes().all(|b| b.is_ascii_hexdigit()))
            .map(|member| self.redis.key(&format!("session:{member}")))
            .collect();
        keys.push(index);
        self.redis.delete(&keys).await?;
        Ok(())
    }
}

fn entry_hash(id: &str) -> String {
    digest(&[id.as_bytes()])
}

/// `session:{hex(SHA-256(id))}` (joined without `format!`: it is named on every request).
fn entry_name(id: &str) -> String {
    let hash = entry_hash(id);
    let mut name = String::with_capacity("session:".len() + hash.len());
    name.push_str("session:");
    name.push_str(&hash);
    name
}

/// The sealing purpose of one entry: a value moved under another entry's name does not open.
fn associated_data(name: &str) -> Vec<u8> {
    [SESSION_PURPOSE, b" redis ", name.as_bytes()].concat()
}

/// `index:{kind}:{hex(SHA-256(provider, value))}`.
fn index_name(kind: &str, provider: &str, value: &str) -> String {
    format!(
        "index:{kind}:{}",
        digest(&[provider.as_bytes(), value.as_bytes()])
    )
}

/// The indexes a session is listed in: by provider + `sub`, and by `sid` when it has one.
fn indexes(session: &Session) -> Vec<String> {
    let provider = &session.identity.provider;
    let mut names = vec![index_name("sub", provider, &session.identity.user)];
    if let Some(sid) = &session.sid {
        names.push(index_name("sid", provider, sid));
    }
    names
}
