//! The users file of a `kind = "local"` provider (DESIGN §10): `[[user]]` tables with a
//! username, optional email, name and groups, and an argon2id password hash.
//!
//! Parsed like `providers.toml` (raw structs that reject unknown keys, through the span
//! recovery of `spans.rs`), and every problem is reported at once with its file, line, column
//! and TOML path (`user[1].password_hash`). A hash is never echoed in a message.

use std::collections::HashMap;
use std::path::Path;

use argon2::password_hash::{PasswordHash, PasswordHasher as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine as _;
use serde::Deserialize;
use sha2::{Digest as _, Sha256};
use toml::Spanned;

use super::errors::{line_column, ConfigError, ConfigErrors, Diagnostics};
use super::spans::{self, Places};

/// One account of a local provider, as the operator wrote it.
pub struct LocalUser {
    /// As written; compared ignoring ASCII case.
    pub username: String,
    /// Counts as verified: the operator wrote it.
    pub email: Option<String>,
    pub name: Option<String>,
    pub groups: Vec<String>,
    /// An argon2id PHC string (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`), checked at parse.
    pub password_hash: String,
    /// `disabled = true`: the account exists but may not sign in ("Inactive user").
    pub disabled: bool,
}

impl LocalUser {
    /// base64url (no padding) of the first 16 bytes of SHA-256(`password_hash`): refresh
    /// tokens carry it, so a password change (a new hash) ends them.
    pub fn credential_tag(&self) -> String {
        let digest = Sha256::digest(self.password_hash.as_bytes());
        let first = digest.get(..16).unwrap_or_default();
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(first)
    }
}

impl std::fmt::Debug for LocalUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalUser")
            .field("username", &self.username)
            .field("email", &self.email)
            .field("name", &self.name)
            .field("groups", &self.groups)
            .field("password_hash", &"[redacted]")
            .field("disabled", &self.disabled)
            .finish()
    }
}

/// A whole users file.
#[derive(Debug, Default)]
pub struct UsersFile {
    /// In file order; usernames are unique ignoring ASCII case.
    pub users: Vec<LocalUser>,
}

/// Parses and checks `source`, the text of the users file named `file` (used in messages).
pub fn parse_users(source: &str, file: &str) -> Result<UsersFile, ConfigErrors> {
    let mut diagnostics = Diagnostics::new(file, source);
    let Some((raw, places)) =
        spans::deserialize_reporting_all::<RawUsersFile>(&mut diagnostics, &[], &["user"])
    else {
        return Err(diagnostics.finish());
    };
    let mut checker = UsersChecker {
        diagnostics,
        places,
        first_seen: HashMap::new(),
    };
    let users: Vec<Option<LocalUser>> = raw
        .user
        .iter()
        .enumerate()
        .map(|(index, user)| checker.user(index, user))
        .collect();
    if !checker.diagnostics.is_empty() {
        return Err(checker.diagnostics.finish());
    }
    Ok(UsersFile {
        users: users.into_iter().flatten().collect(),
    })
}

/// Reads and parses the users file at `path`; a file that cannot be read is one problem.
pub fn load_users(path: &Path) -> Result<UsersFile, ConfigErrors> {
    let file = path.display().to_string();
    let source = std::fs::read_to_string(path)
        .map_err(|err| ConfigErrors::single(ConfigError::io(&file, &err)))?;
    parse_users(&source, &file)
}

/// The argon2 crate could not hash a password.
#[derive(Debug, thiserror::Error)]
#[error("could not hash the password")]
pub struct HashError(#[source] argon2::password_hash::Error);

/// The argon2id (RFC 9106, version 19) PHC string of `password` with the argon2 crate's
/// default cost (m=19456 KiB, t=2, p=1, OWASP's minimum) and a random 16-byte salt.
pub fn hash_password(password: &str) -> Result<String, HashError> {
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::default());
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    let hash = argon2
        .hash_password(password.as_bytes(), &salt)
        .map_err(HashError)?;
    Ok(hash.to_string())
}

/// Upper bounds on a hash's cost: one sign-in must not take the gateway's memory or CPU.
const MAX_MEMORY_KIB: u32 = 262_144;
const MAX_ITERATIONS: u32 = 16;
const MAX_LANES: u32 = 8;
const MAX_USERNAME_CHARS: usize = 128;

const MAKE_ONE: &str = "make one with `portcullis hash-password`";

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawUsersFile {
    #[serde(default)]
    user: Vec<RawUser>,
}

type Text = Spanned<String>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUser {
    username: Option<Text>,
    email: Option<Text>,
    name: Option<Text>,
    groups: Option<Vec<Text>>,
    password_hash: Option<Text>,
    disabled: Option<bool>,
}

struct UsersChecker<'s> {
    diagnostics: Diagnostics<'s>,
    places: Places,
    /// Lower-cased (ASCII) username → offset of its first `username` value.
    first_seen: HashMap<String, usize>,
}

impl UsersChecker<'_> {
    fn user(&mut self, index: usize, raw: &RawUser) -> Option<LocalUser> {
        let table = format!("user[{index}]");
        let username = self.username(raw.username.as_ref(), &table);
        let email = self.optional(raw.email.as_ref(), &format!("{table}.email"), email);
        let name = self.optional(raw.name.as_ref(), &format!("{table}.name"), name);
        let groups = self.groups(raw.groups.as_deref(), &table);
        let password_hash = self.password_hash(raw.password_hash.as_ref(), &table);
        Some(LocalUser {
            username: username?,
            email: email?,
            name: name?,
            groups: groups?,
            password_hash: password_hash?,
            disabled: raw.disabled.unwrap_or(false),
        })
    }

    fn error(&mut self, offset: usize, key: &str, message: impl Into<String>) {
        self.diagnostics.error(offset, key, message);
    }

    /// Reports a missing `key` at the start of `table`, unless it was already reported as
    /// mistyped.
    fn missing(&mut self, table: &str, key: &str, message: &str) {
        if !self.places.was_dropped(key) {
            let offset = self.places.table_start(table);
            self.error(offset, key, message);
        }
    }

    /// `Some(None)` when absent, `Some(Some(_))` when valid, `None` when a problem was
    /// reported.
    fn optional(
        &mut self,
        raw: Option<&Text>,
        key: &str,
        check: fn(&str) -> Result<(), String>,
    ) -> Option<Option<String>> {
        let Some(raw) = raw else {
            return Some(None);
        };
        match check(raw.get_ref()) {
            Ok(()) => Some(Some(raw.get_ref().clone())),
            Err(message) => {
                self.error(raw.span().start, key, message);
                None
            }
        }
    }

    fn username(&mut self, raw: Option<&Text>, table: &str) -> Option<String> {
        let key = format!("{table}.username");
        let Some(raw) = raw else {
            self.missing(
                table,
                &key,
                "`username` is required: the name this user signs in with",
            );
            return None;
        };
        let value = raw.get_ref();
        let offset = raw.span().start;
        if let Err(message) = username(value) {
            self.error(offset, &key, message);
            return None;
        }
        let folded = value.to_ascii_lowercase();
        if let Some(&first) = self.first_seen.get(&folded) {
            let (line, _) = line_column(self.diagnostics.source(), first);
            self.error(
                offset,
                &key,
                format!(
                    "the username \"{value}\" is already taken by the user at line {line} \
                     (usernames are compared ignoring case): give each user their own"
                ),
            );
            return None;
        }
        self.first_seen.insert(folded, offset);
        Some(value.clone())
    }

    fn groups(&mut self, raw: Option<&[Text]>, table: &str) -> Option<Vec<String>> {
        let mut groups = Vec::new();
        let mut complete = true;
        for (index, raw) in raw.unwrap_or_default().iter().enumerate() {
            match group(raw.get_ref()) {
                Ok(()) => groups.push(raw.get_ref().clone()),
                Err(message) => {
                    let key = format!("{table}.groups[{index}]");
                    self.error(raw.span().start, &key, message);
                    complete = false;
                }
            }
        }
        complete.then_some(groups)
    }

    fn password_hash(&mut self, raw: Option<&Text>, table: &str) -> Option<String> {
        let key = format!("{table}.password_hash");
        let Some(raw) = raw else {
            self.missing(
                table,
                &key,
                &format!("`password_hash` is required: an argon2id hash, {MAKE_ONE}"),
            );
            return None;
        };
        match check_password_hash(raw.get_ref()) {
            Ok(()) => Some(raw.get_ref().clone()),
            Err(message) => {
                self.error(raw.span().start, &key, message);
                None
            }
        }
    }
}

fn has_control(value: &str) -> bool {
    value.chars().any(char::is_control)
}

fn username(value: &str) -> Result<(), String> {
    let length = value.chars().count();
    if length == 0 {
        return Err("must not be empty".to_owned());
    }
    if length > MAX_USERNAME_CHARS {
        return Err(format!(
            "is {length} characters long; at most {MAX_USERNAME_CHARS} are allowed"
        ));
    }
    if value.chars().any(char::is_whitespace) {
        return Err(format!(
            "\"{}\" contains white space, which a username must not",
            value.escape_debug()
        ));
    }
    if has_control(value) {
        return Err("contains a control character, which a username must not".to_owned());
    }
    Ok(())
}

/// One `@` with text on both sides, no white space or control characters.
fn email(value: &str) -> Result<(), String> {
    let shape = value
        .split_once('@')
        .is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty())
        && value.matches('@').count() == 1;
    if !shape || value.chars().any(char::is_whitespace) || has_control(value) {
        return Err(format!(
            "\"{}\" is not an email address like \"alice@example.com\" (one `@`, no white space)",
            value.escape_debug()
        ));
    }
    Ok(())
}

fn name(value: &str) -> Result<(), String> {
    if value.trim().is_empty() {
        return Err("must not be empty: leave the key out instead".to_owned());
    }
    trimmed_printable(value)
}

fn group(value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err("a group name must not be empty".to_owned());
    }
    trimmed_printable(value)
}

fn trimmed_printable(value: &str) -> Result<(), String> {
    if has_control(value) {
        return Err("contains a control character".to_owned());
    }
    if value.trim() != value {
        return Err(format!(
            "\"{}\" starts or ends with white space: remove it",
            value.escape_debug()
        ));
    }
    Ok(())
}

/// An argon2id, version 19 PHC string with a salt, a hash and a bounded cost.
fn check_password_hash(value: &str) -> Result<(), String> {
    let only_argon2id =
        format!("only argon2id hashes are accepted (`$argon2id$v=19$m=…,t=…,p=…$…`); {MAKE_ONE}");
    if !value.starts_with("$argon2id$") {
        return Err(only_argon2id);
    }
    let hash = PasswordHash::new(value)
        .map_err(|err| format!("is not a well-formed argon2id hash ({err}); {MAKE_ONE}"))?;
    if hash.version != Some(Version::V0x13.into()) {
        return Err(format!(
            "the hash must be of argon2 version 19 (`v=19`); {MAKE_ONE}"
        ));
    }
    let mut salt = [0u8; 64];
    let salt_long_enough = hash
        .salt
        .and_then(|salt_b64| salt_b64.decode_b64(&mut salt).ok())
        .is_some_and(|bytes| bytes.len() >= argon2::MIN_SALT_LEN);
    if !salt_long_enough || hash.hash.is_none() {
        return Err(format!(
            "the hash lacks its salt (at least 8 bytes) or its output; {MAKE_ONE}"
        ));
    }
    let params = Params::try_from(&hash)
        .map_err(|err| format!("the hash's parameters are invalid ({err}); {MAKE_ONE}"))?;
    let (m, t, p) = (params.m_cost(), params.t_cost(), params.p_cost());
    if m > MAX_MEMORY_KIB || t > MAX_ITERATIONS || p > MAX_LANES {
        return Err(format!(
            "the hash's cost m={m},t={t},p={p} is out of bounds (at most m={MAX_MEMORY_KIB} \
             KiB, t={MAX_ITERATIONS}, p={MAX_LANES}), so that one sign-in cannot take the \
             gateway's memory or CPU; {MAKE_ONE}"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
