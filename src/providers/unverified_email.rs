//! Whether the email address a provider sent counts (DESIGN §5 item 10: unverified emails do
//! not), with `allow_unverified_email`, the per-provider opt-in for providers that never
//! assert verification (glewlwyd and LemonLDAP::NG send no `email_verified` by default). One
//! rule for OpenID Connect (ID token and userinfo) and plain OAuth 2.0 (the claim mapping).
//!
//! The opt-in only counts an address that comes *without* a verification claim: an
//! `email_verified` of `false` is the provider saying the address is not proven, and never
//! counts. It is off by default: with it, anyone who can put an address they do not own into
//! their account at the provider passes `emails` / `email_domains` rules as that address.

/// Why an email address the provider sent does not count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EmailDrop {
    /// An email without an `email_verified` claim (or one that is not a boolean).
    NoVerifiedClaim,
    /// `email_verified` is `false`.
    NotVerified,
}

/// The address that counts (`email` when `verified` is true, or absent with the opt-in),
/// and why a sent address does not.
pub(crate) fn email_that_counts(
    email: Option<String>,
    verified: Option<bool>,
    allow_unverified_email: bool,
) -> (Option<String>, Option<EmailDrop>) {
    match (email, verified) {
        (None, _) => (None, None),
        (Some(email), Some(true)) => (Some(email), None),
        (Some(email), None) if allow_unverified_email => (Some(email), None),
        (Some(_), None) => (None, Some(EmailDrop::NoVerifiedClaim)),
        (Some(_), Some(false)) => (None, Some(EmailDrop::NotVerified)),
    }
}

impl EmailDrop {
    /// For the log line: which claim, and what to change.
    pub(crate) fn explain(self, provider: &str) -> String {
        match self {
            EmailDrop::NoVerifiedClaim => format!(
                "provider \"{provider}\" sent `email` without an `email_verified` claim, so the \
                 address does not count; if this provider never asserts verification, set \
                 `allow_unverified_email = true` in its [[provider]] (see the README's \
                 security note first), or make the provider send `email_verified`"
            ),
            EmailDrop::NotVerified => format!(
                "provider \"{provider}\" sent `email` with `email_verified: false`: the address \
                 is not verified there and never counts (`allow_unverified_email` does not \
                 change that); the user must verify it at the provider"
            ),
        }
    }
}

#[cfg(test)]
mod tests;
