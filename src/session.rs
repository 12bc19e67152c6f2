//! Sessions: who is signed in, sealed into an encrypted cookie.
//!
//! The cookie value is `base64url(nonce || AES-256-GCM ciphertext)`; the key is derived from
//! `session.secret` with HKDF-SHA256 and the cookie's purpose is bound as associated data, so
//! a flow cookie can never be replayed as a session and vice versa. Anything that does not
//! open (tampered, truncated, expired, sealed with another secret) is "signed out", never an
//! error (DESIGN §5 item 7).

mod codec;
mod cookies;
#[cfg(test)]
mod properties;

pub use codec::SessionCodec;
pub(crate) use cookies::{CookieJar, CookieSettings};

use serde::{Deserialize, Serialize};

use crate::identity::Identity;

/// Associated data for session cookies.
pub(crate) const SESSION_PURPOSE: &[u8] = b"portcullis session v1";

/// What the session cookie carries.
#[derive(Clone, Serialize, Deserialize)]
pub struct Session {
    pub identity: Identity,
    /// Kept for `id_token_hint` at sign-out and `Authorization: Bearer` to upstreams.
    pub id_token: Option<String>,
    pub access_token: Option<String>,
    /// Unix seconds.
    pub issued_at: u64,
    /// Unix seconds; the session is ignored from this moment on.
    pub expires_at: u64,
    /// Unix seconds of the last check of the provider's memberships (login, or the latest
    /// refresh; see `crate::membership`). Cookies sealed before this field existed read as 0:
    /// due for a check.
    #[serde(default)]
    pub checked_at: u64,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("identity", &self.identity)
            .field("id_token", &self.id_token.as_ref().map(|_| "[redacted]"))
            .field(
                "access_token",
                &self.access_token.as_ref().map(|_| "[redacted]"),
            )
            .field("issued_at", &self.issued_at)
            .field("expires_at", &self.expires_at)
            .field("checked_at", &self.checked_at)
            .finish()
    }
}

impl Session {
    /// Seals the session for its cookie.
    pub fn seal(&self, codec: &SessionCodec) -> Result<String, serde_json::Error> {
        let json = serde_json::to_vec(self)?;
        Ok(codec.seal(SESSION_PURPOSE, &json))
    }

    /// Opens a session cookie value; `None` for anything invalid or expired at `now`.
    pub fn open(codec: &SessionCodec, sealed: &str, now: u64) -> Option<Session> {
        let json = codec.open(SESSION_PURPOSE, sealed)?;
        let session: Session = serde_json::from_slice(&json).ok()?;
        (now < session.expires_at && session.issued_at <= now.saturating_add(60)).then_some(session)
    }
}

/// The valid, unexpired session the request's cookies carry, if any. A session older than
/// the configured `lifetime` has ended, even when it was sealed while a longer one was set.
pub fn current_session(codec: &SessionCodec, jar: &CookieJar<'_>) -> Option<Session> {
    let sealed = jar.session_value()?;
    let now = unix_now();
    let lifetime = jar.settings().lifetime.as_secs();
    Session::open(codec, &sealed, now)
        .filter(|session| now < session.issued_at.saturating_add(lifetime))
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
