//! Why the session store could not do what was asked.

use super::cookies::SessionTooLarge;
use crate::redis::RedisError;

/// A store that could not answer: Redis unreachable, too slow, or refusing. Requests that
/// need the store get a 503, never a sign-in redirect (DESIGN §6).
#[derive(Debug, thiserror::Error)]
pub(crate) enum StoreError {
    #[error("the session store (Redis) did not answer")]
    Redis(#[from] RedisError),
}

/// Why a session could not be saved.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SaveError {
    #[error(transparent)]
    TooLarge(#[from] SessionTooLarge),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the session could not be serialised")]
    Serialise(#[from] serde_json::Error),
}
