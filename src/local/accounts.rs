// TEMPORARY STUB (replaced by the real module on merge)
#![allow(dead_code, unused_variables, clippy::unused_async)]
use crate::config::{ConfigErrors, LocalUser, UsersFile};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
#[derive(Debug)]
pub(crate) struct Accounts;
pub(crate) enum Verdict {
    Valid(Arc<LocalUser>),
    Incorrect,
    Inactive,
}
pub(crate) const RELOAD_EVERY: Duration = Duration::from_secs(2);
impl Accounts {
    pub(crate) fn new(path: PathBuf, initial: UsersFile) -> Accounts {
        Accounts
    }
    pub(crate) async fn verify(&self, username: &str, password: &str) -> Verdict {
        Verdict::Incorrect
    }
    pub(crate) fn active(&self, username: &str) -> Option<Arc<LocalUser>> {
        None
    }
    pub(crate) fn reload(&self) -> Result<bool, ConfigErrors> {
        Ok(false)
    }
    pub(crate) fn spawn_watch(self: &Arc<Self>, every: Duration) {}
}
