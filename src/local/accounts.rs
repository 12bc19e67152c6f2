//! The live users of one local provider: password checks against the users file, and the
//! file re-read when it changes (DESIGN §10: in effect within 5 s, no restart).
//!
//! Every check costs exactly one argon2 verification, whether the username exists or not
//! (an unknown one is checked against a dummy hash of the same cost), so neither the answer
//! nor its time tells which usernames exist.

use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock, PoisonError, RwLock};
use std::time::Duration;

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::RngCore as _;
use sha2::{Digest as _, Sha256};
use tokio::sync::Semaphore;
use tokio::time::MissedTickBehavior;

use crate::config::{parse_users, ConfigError, ConfigErrors, LocalUser, UsersFile};

/// How often [`Accounts::spawn_watch`] looks at the file: a change is in effect within 5 s.
pub(crate) const RELOAD_EVERY: Duration = Duration::from_secs(2);

/// The outcome of a password check.
#[derive(Debug)]
pub(crate) enum Verdict {
    Valid(Arc<LocalUser>),
    /// Unknown username or wrong password: the same answer for both.
    Incorrect,
    /// The password was correct, but the user is `disabled`.
    Inactive,
}

/// The users of one local provider, replaced as a whole when the file changes.
pub(crate) struct Accounts {
    path: PathBuf,
    /// `path` as messages name it.
    file: String,
    users: RwLock<Arc<UserSet>>,
}

/// One loaded users file.
struct UserSet {
    /// SHA-256 of the file's bytes these users came from; `None` when it could not be read.
    digest: Option<[u8; 32]>,
    /// ASCII-lower-cased username → user (spelled as in the file).
    by_name: HashMap<String, Arc<LocalUser>>,
    /// A PHC string of a random password with the first user's cost, checked for unknown
    /// usernames.
    dummy: String,
}

impl UserSet {
    fn new(users: UsersFile, digest: Option<[u8; 32]>) -> UserSet {
        let dummy = dummy_hash(users.users.first());
        let by_name = users
            .users
            .into_iter()
            .map(|user| (user.username.to_ascii_lowercase(), Arc::new(user)))
            .collect();
        UserSet {
            digest,
            by_name,
            dummy,
        }
    }
}

impl std::fmt::Debug for Accounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Accounts")
            .field("file", &self.file)
            .field("users", &self.current().by_name.len())
            .finish_non_exhaustive()
    }
}

impl Accounts {
    /// `initial` is what `load_users(&path)` returned; the file's bytes are read again only
    /// for their digest, so the first [`Accounts::reload`] knows whether they changed since.
    pub(crate) fn new(path: PathBuf, initial: UsersFile) -> Accounts {
        let digest = std::fs::read(&path).ok().map(|bytes| digest(&bytes));
        Accounts {
            file: path.display().to_string(),
            path,
            users: RwLock::new(Arc::new(UserSet::new(initial, digest))),
        }
    }

    fn current(&self) -> Arc<UserSet> {
        Arc::clone(&self.users.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Exactly one argon2 verification whatever the input (a dummy hash for an unknown
    /// username, so unknown and wrong take the same time); `Inactive` only after a correct
    /// password of a disabled user. Runs in `tokio::task::spawn_blocking`, at most
    /// `available_parallelism()` verifications at once across the gateway; others wait.
    pub(crate) async fn verify(&self, username: &str, password: &str) -> Verdict {
        let users = self.current();
        let user = users.by_name.get(&username.to_ascii_lowercase()).cloned();
        let phc = user
            .as_ref()
            .map_or_else(|| users.dummy.clone(), |user| user.password_hash.clone());
        let password = password.to_owned();
        let Ok(permit) = verifications().acquire().await else {
            return Verdict::Incorrect;
        };
        // The permit moves into the task: a caller that gives up still holds its CPU share
        // until the verification ends.
        let matched = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            password_matches(&phc, &password)
        })
        .await
        .unwrap_or(false);
        match user {
            Some(user) if matched && user.disabled => Verdict::Inactive,
            Some(user) if matched => Verdict::Valid(user),
            _ => Verdict::Incorrect,
        }
    }

    /// The user, when they exist and are not disabled (refresh, bearer tokens and sessions
    /// check this on use).
    pub(crate) fn active(&self, username: &str) -> Option<Arc<LocalUser>> {
        self.current()
            .by_name
            .get(&username.to_ascii_lowercase())
            .filter(|user| !user.disabled)
            .cloned()
    }

    /// Reads the file again: `Ok(true)` when its content changed and the new users are in
    /// effect, `Ok(false)` when unchanged; `Err` with every problem (the previous users stay).
    /// Content, not mtime, is compared (a SHA-256 of the bytes): an edit within the same
    /// second and a symlink swap (how Kubernetes updates a mounted Secret) are both seen.
    pub(crate) fn reload(&self) -> Result<bool, ConfigErrors> {
        let bytes = std::fs::read(&self.path)
            .map_err(|err| ConfigErrors::single(ConfigError::io(&self.file, &err)))?;
        let digest = digest(&bytes);
        if self.current().digest == Some(digest) {
            return Ok(false);
        }
        let source = String::from_utf8(bytes).map_err(|_| {
            ConfigErrors::single(ConfigError {
                file: self.file.clone(),
                line: 0,
                column: 0,
                key: String::new(),
                message: "the file is not UTF-8 text".to_owned(),
            })
        })?;
        let users = parse_users(&source, &self.file)?;
        let loaded = Arc::new(UserSet::new(users, Some(digest)));
        *self.users.write().unwrap_or_else(PoisonError::into_inner) = loaded;
        Ok(true)
    }

    /// A background task calling [`Accounts::reload`] every `every` (on the tokio runtime of
    /// the caller) until the accounts are dropped. Logs at INFO when reloaded, and one WARN
    /// per problem plus "keeping the previous N users" when the file is broken, once per
    /// broken content, not on every tick.
    pub(crate) fn spawn_watch(self: &Arc<Self>, every: Duration) {
        let accounts = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every);
            ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
            ticks.tick().await;
            let mut reported: Option<ConfigErrors> = None;
            loop {
                ticks.tick().await;
                let Some(accounts) = accounts.upgrade() else {
                    return;
                };
                // Parsing a changed file makes a new dummy hash: argon2 work, off the runtime.
                let checked = Arc::clone(&accounts);
                let Ok(outcome) = tokio::task::spawn_blocking(move || checked.reload()).await
                else {
                    continue;
                };
                accounts.log(outcome, &mut reported);
            }
        });
    }

    fn log(&self, outcome: Result<bool, ConfigErrors>, reported: &mut Option<ConfigErrors>) {
        let users = self.current().by_name.len();
        match outcome {
            Ok(true) => {
                *reported = None;
                tracing::info!(file = %self.file, users, "users file reloaded");
            }
            Ok(false) => {
                if reported.take().is_some() {
                    tracing::info!(
                        file = %self.file,
                        users,
                        "users file is valid again, as it was: the users in effect are unchanged"
                    );
                }
            }
            Err(errors) if reported.as_ref() != Some(&errors) => {
                for error in &errors.0 {
                    tracing::warn!("{error}");
                }
                tracing::warn!(
                    file = %self.file,
                    "users file has problems: keeping the previous {users} users"
                );
                *reported = Some(errors);
            }
            Err(_) => {}
        }
    }
}

fn digest(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// The permits for argon2 verifications, shared by every local provider: one per core.
fn verifications() -> &'static Semaphore {
    static PERMITS: OnceLock<Semaphore> = OnceLock::new();
    PERMITS.get_or_init(|| {
        Semaphore::new(std::thread::available_parallelism().map_or(1, NonZeroUsize::get))
    })
}

fn password_matches(phc: &str, password: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|hash| {
        Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok()
    })
}

/// The argon2id hash of a random password with the cost of `first`'s hash (the argon2
/// defaults when there is no user), so an unknown username costs what a real one costs.
fn dummy_hash(first: Option<&LocalUser>) -> String {
    let params = first
        .and_then(|user| {
            let hash = PasswordHash::new(&user.password_hash).ok()?;
            Params::try_from(&hash).ok()
        })
        .unwrap_or_default();
    let mut password = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut password);
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    let hash = |params: Params| {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password(&password, &salt)
            .map(|hash| hash.to_string())
    };
    // The file's hashes were checked, so its cost hashes; the defaults always do.
    hash(params)
        .or_else(|_| hash(Params::default()))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests;
