//! The signed-in person as the gateway knows them after a successful login.

use serde::{Deserialize, Serialize};

/// Who a session belongs to. Built once at the callback from the validated ID token (and
/// userinfo), stored encrypted in the session cookie, and turned into identity headers for
/// upstreams.
///
/// `email` is only ever set when the provider asserted it as verified (DESIGN §5 item 10):
/// an unverified address is dropped at login, so nothing downstream can trust it by mistake.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// Stable user id: the ID token's `sub`.
    pub user: String,
    /// Verified email address, if the provider gave one.
    pub email: Option<String>,
    pub preferred_username: Option<String>,
    pub groups: Vec<String>,
    /// The `[[provider]] id` that signed this user in.
    pub provider: String,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("user", &self.user)
            .field("email", &self.email)
            .field("preferred_username", &self.preferred_username)
            .field("groups", &self.groups)
            .field("provider", &self.provider)
            .finish()
    }
}
