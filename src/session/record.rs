//! The session itself: who is signed in, with the tokens and times the stores keep, and its
//! random id; and [`Ending`], which sessions a back-channel logout ends.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand::RngCore as _;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::codec::SessionCodec;
use crate::identity::header_values::{HeaderValues, Remembered};
use crate::identity::Identity;

/// Associated data for session cookies.
pub(crate) const SESSION_PURPOSE: &[u8] = b"portcullis session v1";

/// Bytes of randomness in a session id: 256 bits (DESIGN §6).
const ID_BYTES: usize = 32;

/// One signed-in session, whichever store keeps it. The fields that came with renewal and
/// the idle timeout have short names, and zeros and absences are left out: the cookie store
/// opens every byte of it on every request.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    /// 256 random bits, base64url: the Redis store's cookie value, and the name under which
    /// either store records the session's end and renewal. Sessions sealed before ids existed
    /// read as empty and are not accepted.
    #[serde(default)]
    pub id: String,
    pub identity: Identity,
    /// The ID token's `sid` (OpenID Connect Back-Channel Logout 1.0 §2.4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// The raw ID token, only while it fits (`id_token_hint` at sign-out, `Authorization:
    /// Bearer` to upstreams that ask for it).
    pub id_token: Option<String>,
    /// Kept when an upstream receives it or the provider's memberships are read with it.
    pub access_token: Option<String>,
    /// Kept when refresh is on (RFC 6749 §6).
    #[serde(rename = "rt", default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// Unix seconds when the access token expires, when the provider said (`expires_in`).
    #[serde(rename = "ax", default, skip_serializing_if = "Option::is_none")]
    pub access_expires_at: Option<u64>,
    /// Unix seconds from which the next request renews the tokens; `None`: never.
    #[serde(rename = "ra", default, skip_serializing_if = "Option::is_none")]
    pub refresh_at: Option<u64>,
    /// The claims the configured `claims` rules read, copied from the verified ID token at
    /// the paths the rules name (so the rules need no raw ID token).
    #[serde(rename = "cl", default, skip_serializing_if = "Option::is_none")]
    pub claims: Option<Value>,
    /// Unix seconds.
    pub issued_at: u64,
    /// Unix seconds; the session is ignored from this moment on.
    pub expires_at: u64,
    /// Unix seconds of the last check of the provider's memberships (login, or the latest
    /// refresh; see `crate::membership`). Cookies sealed before this field existed read as 0:
    /// due for a check.
    #[serde(default)]
    pub checked_at: u64,
    /// Unix seconds of the last recorded use, kept only when `idle_timeout` is set; 0: the
    /// sign-in.
    #[serde(rename = "sa", default, skip_serializing_if = "is_zero")]
    pub seen_at: u64,
    /// How many times the tokens were renewed; a cookie of an older generation is the
    /// pre-refresh cookie (DESIGN §6, "Refresh").
    #[serde(rename = "g", default, skip_serializing_if = "is_zero")]
    pub generation: u32,
    /// The identity headers' values, kept in memory by the opened-session cache; never
    /// sealed or stored.
    #[serde(skip)]
    pub header_values: Remembered,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let redacted = |token: &Option<String>| token.as_ref().map(|_| "[redacted]");
        f.debug_struct("Session")
            .field("id", &"[redacted]")
            .field("identity", &self.identity)
            .field("sid", &self.sid)
            .field("id_token", &redacted(&self.id_token))
            .field("access_token", &redacted(&self.access_token))
            .field("refresh_token", &redacted(&self.refresh_token))
            .field("access_expires_at", &self.access_expires_at)
            .field("refresh_at", &self.refresh_at)
            .field("issued_at", &self.issued_at)
            .field("expires_at", &self.expires_at)
            .field("checked_at", &self.checked_at)
            .field("seen_at", &self.seen_at)
            .field("generation", &self.generation)
            .finish()
    }
}

impl Session {
    /// A session for `identity` with a fresh id, issued at `now`, ending after `lifetime`
    /// seconds, keeping no token yet.
    pub fn new(identity: Identity, now: u64, lifetime: u64) -> Session {
        Session {
            id: new_id(),
            identity,
            sid: None,
            id_token: None,
            access_token: None,
            refresh_token: None,
            access_expires_at: None,
            refresh_at: None,
            claims: None,
            issued_at: now,
            expires_at: now.saturating_add(lifetime),
            checked_at: now,
            seen_at: 0,
            generation: 0,
            header_values: Remembered::default(),
        }
    }

    /// The identity headers' values of this session's identity as it is now, if they were
    /// made and kept for it ([`Remembered::of`]).
    pub(crate) fn header_values(&self) -> Option<&HeaderValues> {
        self.header_values.of(&self.identity)
    }

    /// Seals the session for its cookie.
    pub fn seal(&self, codec: &SessionCodec) -> Result<String, serde_json::Error> {
        let json = serde_json::to_vec(self)?;
        Ok(codec.seal(SESSION_PURPOSE, &json))
    }

    /// Opens a session cookie value; `None` for anything invalid or expired at `now`.
    pub fn open(codec: &SessionCodec, sealed: &str, now: u64) -> Option<Session> {
        Session::open_keyed(codec, sealed, now).map(|(session, _)| session)
    }

    /// Like [`open`](Self::open), also telling whether a previous secret opened it (the
    /// session is then re-sealed with the current one).
    pub(crate) fn open_keyed(
        codec: &SessionCodec,
        sealed: &str,
        now: u64,
    ) -> Option<(Session, bool)> {
        let (json, current_key) = codec.open_keyed(SESSION_PURPOSE, sealed)?;
        let session: Session = serde_json::from_slice(&json).ok()?;
        session.is_live(now).then_some((session, !current_key))
    }

    /// Within its validity: not expired, not issued (beyond a minute of clock skew) in the
    /// future.
    pub(super) fn is_live(&self, now: u64) -> bool {
        now < self.expires_at && self.issued_at <= now.saturating_add(60)
    }

    /// Whether the id is one the gateway made (256 bits, base64url).
    pub(crate) fn has_valid_id(&self) -> bool {
        is_session_id(&self.id)
    }
}

/// Numbers at zero are left out of the sealed JSON: every byte is opened on every request.
fn is_zero<T: Default + PartialEq>(value: &T) -> bool {
    *value == T::default()
}

/// A fresh session id: 256 random bits, base64url without padding (43 characters).
pub(crate) fn new_id() -> String {
    let mut bytes = [0u8; ID_BYTES];
    rand::thread_rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Text that can be a session id: exactly what [`new_id`] makes.
pub(crate) fn is_session_id(text: &str) -> bool {
    text.len() == 43
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Which sessions a back-channel logout ends: those of `sid` when the token names one, else
/// every session of `sub` at the provider issued before now.
#[derive(Debug, Clone)]
pub(crate) struct Ending {
    pub(crate) provider: String,
    pub(crate) sid: Option<String>,
    pub(crate) sub: Option<String>,
}
