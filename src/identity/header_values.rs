//! The identity headers' values of one [`Identity`] (DESIGN §4), each checked once
//! ([`HeaderValues`]), and the slot in which an opened session keeps them ([`Remembered`]):
//! the opened-session cache hands out the same session on every request, and making these
//! values again each time was most of the header rewrite.

use std::sync::Arc;

use http::HeaderValue;

use super::{reads_as_written, Identity};

/// The values of `X-Forwarded-User`, `-Email`, `-Preferred-Username`, `-Groups` and
/// `-Provider` (and of forward auth's `X-Auth-Request-*`), `None` where there is none or it
/// was left out ([`header_value`], [`groups_header`]).
#[derive(Debug)]
pub struct HeaderValues {
    /// What they were made from: they are only ever used for an identity equal to it.
    source: Identity,
    pub(crate) user: Option<HeaderValue>,
    pub(crate) email: Option<HeaderValue>,
    pub(crate) preferred_username: Option<HeaderValue>,
    pub(crate) groups: Option<HeaderValue>,
    pub(crate) provider: Option<HeaderValue>,
}

impl HeaderValues {
    pub(crate) fn new(identity: &Identity) -> HeaderValues {
        HeaderValues {
            source: identity.clone(),
            user: header_value("user", Some(&identity.user)),
            email: header_value("email", identity.email.as_deref()),
            preferred_username: header_value(
                "preferred_username",
                identity.preferred_username.as_deref(),
            ),
            groups: header_value("groups", groups_header(&identity.groups).as_deref()),
            provider: header_value("provider", Some(&identity.provider)),
        }
    }

    /// Whether these are the values of `identity`.
    pub(crate) fn are_of(&self, identity: &Identity) -> bool {
        self.source == *identity
    }
}

/// `value` as a header value, `None` when there is none, or when it is not a valid field
/// value (RFC 9110 §5.5: control characters such as CR or LF) or would not reach the
/// upstream as written ([`reads_as_written`]; never panics), so no upstream (or proxy
/// copying forward auth's answer) reads it as another value. `what` names it in the warning.
pub(crate) fn header_value(what: &str, value: Option<&str>) -> Option<HeaderValue> {
    let value = value?;
    if !reads_as_written(value) {
        tracing::warn!(header = %what, "skipped a header value an upstream would read differently");
        return None;
    }
    match HeaderValue::from_bytes(value.as_bytes()) {
        Ok(value) => Some(value),
        Err(_) => {
            tracing::warn!(header = %what, "skipped a header value that is not valid");
            None
        }
    }
}

/// The groups as one comma-separated header value, `None` when none is left: a group that
/// would not read as written ([`reads_as_written`]) or that has a comma (which would read as
/// the separator of the list: `eng,admins` as `admins`) is left out.
pub(crate) fn groups_header(groups: &[String]) -> Option<String> {
    let groups: Vec<&str> = groups
        .iter()
        .map(String::as_str)
        .filter(|group| !group.contains(',') && reads_as_written(group))
        .collect();
    (!groups.is_empty()).then(|| groups.join(","))
}

/// The [`HeaderValues`] a session keeps beside its identity while it is in memory (never
/// sealed or stored): filled once by the opened-session cache, shared by every copy of the
/// session it hands out, and used only while they are of the session's identity as it is
/// then ([`Remembered::of`]), so a membership check that changed the groups is never
/// answered with the old ones. Not part of the session's value: two sessions that differ
/// only here are equal.
#[derive(Clone, Default)]
pub struct Remembered(Option<Arc<HeaderValues>>);

impl Remembered {
    /// The values of `identity`, made now.
    pub(crate) fn made_for(identity: &Identity) -> Remembered {
        Remembered(Some(Arc::new(HeaderValues::new(identity))))
    }

    /// The values kept, if they are those of `identity`.
    pub(crate) fn of(&self, identity: &Identity) -> Option<&HeaderValues> {
        self.0.as_deref().filter(|values| values.are_of(identity))
    }
}

impl PartialEq for Remembered {
    fn eq(&self, _: &Remembered) -> bool {
        true
    }
}

impl std::fmt::Debug for Remembered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.0 {
            Some(_) => "Remembered(..)",
            None => "Remembered(none)",
        })
    }
}

#[cfg(test)]
mod tests;
