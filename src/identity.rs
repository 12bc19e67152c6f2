//! The signed-in person as the gateway knows them after a successful login.

use serde::{Deserialize, Serialize};

pub mod header_values;

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

impl Identity {
    /// The first identity value an upstream could read as something else, as
    /// `(field, value)`: the user id, email or preferred username when it is not
    /// [`reads_as_written`]. A login or bearer token with one is refused, so no header made
    /// from it can name another person (`"admin "` is `admin` to every header parser).
    pub fn ambiguous_field(&self) -> Option<(&'static str, &str)> {
        let fields = [
            ("sub", Some(self.user.as_str())),
            ("email", self.email.as_deref()),
            ("preferred_username", self.preferred_username.as_deref()),
        ];
        fields
            .into_iter()
            .find_map(|(field, value)| value.filter(|v| !reads_as_written(v)).map(|v| (field, v)))
    }
}

impl Identity {
    /// The account as a page may name it to the person who just signed in (the "Access
    /// denied" page): the verified email, else the preferred username, when it is made only
    /// of the characters addresses and user names are made of, and bounded. Anything else —
    /// free text a provider lets its users choose, which would put their words on the
    /// gateway's page, or the opaque `sub` — is not shown.
    pub(crate) fn shown_account(&self) -> Option<&str> {
        let email = self.email.as_deref().filter(|email| {
            plain_account(email, 254)
                && email
                    .split_once('@')
                    .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'))
                && email.matches('@').count() == 1
        });
        email.or_else(|| {
            self.preferred_username
                .as_deref()
                .filter(|username| plain_account(username, 64) && !username.contains('@'))
        })
    }
}

/// ASCII letters, digits and `. _ % + - @` only, between 1 and `max` bytes.
fn plain_account(value: &str, max: usize) -> bool {
    (1..=max).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._%+-@".contains(&b))
}

/// Whether `value` reaches every HTTP parser, as a header field value, as exactly these
/// characters: no control character (RFC 9110 §5.5 forbids CR, LF and NUL; HTAB and DEL are
/// allowed there, and then read differently by different servers), and no leading or
/// trailing white space, which parsers drop (RFC 9110 §5.5: the optional white space around
/// a field value is not part of it; Unicode-aware trimming drops more than SP and HTAB).
pub fn reads_as_written(value: &str) -> bool {
    if value.is_ascii() {
        // The same test, a byte at a time: the only ASCII white space that is no control
        // character is SP. Identity values are checked on every request.
        let bytes = value.as_bytes();
        return !bytes.iter().any(u8::is_ascii_control)
            && bytes.first() != Some(&b' ')
            && bytes.last() != Some(&b' ');
    }
    !value.chars().any(char::is_control) && value.trim() == value
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The ASCII shortcut gives the general test's answer for every string of up to three
    /// characters over the ASCII controls, SP, `a`, `~` and DEL.
    #[test]
    fn ascii_values_are_judged_as_any_other() {
        let general = |value: &str| !value.chars().any(char::is_control) && value.trim() == value;
        let alphabet: Vec<char> = (0u8..=32)
            .chain([b'a', b'~', 127])
            .map(char::from)
            .collect();
        let mut values = vec![String::new()];
        let mut shorter = values.clone();
        for _ in 0..3 {
            shorter = shorter
                .iter()
                .flat_map(|value| alphabet.iter().map(move |c| format!("{value}{c}")))
                .collect();
            values.extend(shorter.iter().cloned());
        }
        assert_eq!(values.len(), 1 + 36 + 36 * 36 + 36 * 36 * 36);
        for value in &values {
            assert_eq!(reads_as_written(value), general(value), "{value:?}");
        }
    }

    #[test]
    fn values_that_parsers_trim_or_split_do_not_read_as_written() {
        for value in [
            "admin ",
            " admin",
            "admin\t",
            "\tadmin",
            "ad\nmin",
            "admin\r",
            "ad\0min",
            "admin\u{7f}",
            "admin\u{85}",
            "admin\u{a0}",
            "\u{3000}admin",
        ] {
            assert!(!reads_as_written(value), "{value:?}");
        }
        for value in ["admin", "Ada Lovelace", "ünïcødé", "a,b", "", "x y z"] {
            assert!(reads_as_written(value), "{value:?}");
        }
    }

    #[test]
    fn only_plain_addresses_and_user_names_are_shown() {
        let identity = |email: Option<&str>, username: Option<&str>| Identity {
            user: "248289761001".to_owned(),
            email: email.map(str::to_owned),
            preferred_username: username.map(str::to_owned),
            groups: Vec::new(),
            provider: "op".to_owned(),
        };
        let cases = [
            (
                Some("carol@example.org"),
                Some("carol"),
                Some("carol@example.org"),
            ),
            (None, Some("carol.b-2"), Some("carol.b-2")),
            (Some("Call +1 555 0100 now"), Some("carol"), Some("carol")),
            (Some("a@b@example.org"), None, None),
            (Some("@example.org"), None, None),
            (Some("carol@localhost"), None, None),
            (None, Some("Your account is locked, call us"), None),
            (None, Some("<b>carol</b>"), None),
            (None, Some("carol@example.org"), None),
            (None, Some(""), None),
            (None, None, None),
        ];
        for (email, username, shown) in cases {
            assert_eq!(
                identity(email, username).shown_account(),
                shown,
                "{email:?} {username:?}"
            );
        }
        let long = format!("{}@example.org", "a".repeat(250));
        assert_eq!(identity(Some(&long), None).shown_account(), None);
        let long_name = "b".repeat(65);
        assert_eq!(identity(None, Some(&long_name)).shown_account(), None);
    }

    #[test]
    fn the_first_ambiguous_field_is_named() {
        let mut identity = Identity {
            user: "alice".to_owned(),
            email: Some("alice@example.com".to_owned()),
            preferred_username: Some("alice".to_owned()),
            groups: vec!["staff ".to_owned()],
            provider: "dev".to_owned(),
        };
        assert_eq!(
            identity.ambiguous_field(),
            None,
            "groups are checked per header"
        );
        identity.preferred_username = Some("admin\t".to_owned());
        assert_eq!(
            identity.ambiguous_field(),
            Some(("preferred_username", "admin\t"))
        );
        identity.user = " admin".to_owned();
        assert_eq!(identity.ambiguous_field(), Some(("sub", " admin")));
    }
}
