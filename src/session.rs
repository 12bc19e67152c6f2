//! Sessions: who is signed in, and where that is kept (DESIGN §6).
//!
//! One [`Session`] type and one code path above two stores (`session/store.rs`): the cookie
//! store seals the whole session into the (chunked) cookie; the Redis store seals it into a
//! Redis entry and gives the browser only a random id. Sealing is AES-256-GCM with a key
//! derived from `session.secret` by HKDF-SHA256 (`session/codec.rs`), the value's purpose (and
//! for Redis its key) bound as associated data, so a flow cookie can never be replayed as a
//! session, nor one Redis entry as another. Anything that does not open (tampered, truncated,
//! expired, sealed with another secret) is "signed out", never an error (DESIGN §5 item 7).
//! What a session keeps is decided once per login (`session/compact.rs`); ended sessions are
//! remembered until they would have expired (`session/revocations.rs`).

mod codec;
mod compact;
mod cookie_store;
mod cookies;
mod errors;
mod flights;
mod keys;
mod opened;
#[cfg(test)]
mod properties;
mod record;
mod redis_store;
mod revocations;
mod store;

pub use codec::SessionCodec;
pub(crate) use compact::{Issued, SessionNeeds};
pub(crate) use cookies::{CookieJar, CookieSettings};
pub(crate) use errors::{SaveError, StoreError};
pub(crate) use flights::{Flights, Outcome, GRACE};
pub(crate) use keys::cookie_binding;
pub use record::Session;
pub(crate) use record::{new_id, Ending, SESSION_PURPOSE};
pub(crate) use store::{Loaded, SessionStore};

/// Seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
