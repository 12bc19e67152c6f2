use std::path::Path;
use std::time::Instant;

use super::*;

/// A cheap hash (m=256 KiB, t=1, p=1) so the tests run fast.
fn cheap_hash(password: &str) -> String {
    let params = Params::new(256, 1, 1, None).unwrap();
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password(password.as_bytes(), &salt)
        .unwrap()
        .to_string()
}

/// A users file in a directory of its own, removed when dropped.
struct UsersPath(PathBuf);

impl UsersPath {
    fn new(name: &str, content: &str) -> UsersPath {
        let mut suffix = [0u8; 8];
        rand::rngs::OsRng.fill_bytes(&mut suffix);
        let dir = std::env::temp_dir().join(format!(
            "portcullis-users-{name}-{}-{}",
            std::process::id(),
            u64::from_le_bytes(suffix)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let path = UsersPath(dir.join("users.toml"));
        path.write(content);
        path
    }

    fn write(&self, content: &str) {
        std::fs::write(&self.0, content).unwrap();
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for UsersPath {
    fn drop(&mut self) {
        if let Some(dir) = self.0.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

fn user(username: &str, password: &str, disabled: bool) -> String {
    format!(
        "[[user]]\nusername = \"{username}\"\npassword_hash = \"{}\"\ndisabled = {disabled}\n",
        cheap_hash(password)
    )
}

fn accounts(file: &UsersPath) -> Accounts {
    let initial = crate::config::load_users(file.path()).unwrap();
    Accounts::new(file.path().to_owned(), initial)
}

fn valid_name(verdict: &Verdict) -> Option<&str> {
    match verdict {
        Verdict::Valid(user) => Some(&user.username),
        _ => None,
    }
}

#[tokio::test]
async fn verdicts_for_right_wrong_unknown_and_disabled() {
    let file = UsersPath::new(
        "verdicts",
        &format!(
            "{}{}",
            user("Alice", "alice-pw", false),
            user("dave", "dave-pw", true)
        ),
    );
    let accounts = accounts(&file);

    let alice = accounts.verify("Alice", "alice-pw").await;
    assert_eq!(valid_name(&alice), Some("Alice"), "{alice:?}");
    assert!(matches!(
        accounts.verify("Alice", "wrong").await,
        Verdict::Incorrect
    ));
    assert!(matches!(
        accounts.verify("nobody", "alice-pw").await,
        Verdict::Incorrect
    ));
    assert!(matches!(
        accounts.verify("dave", "dave-pw").await,
        Verdict::Inactive
    ));
    assert!(matches!(
        accounts.verify("dave", "wrong").await,
        Verdict::Incorrect
    ));
}

#[tokio::test]
async fn usernames_match_ignoring_ascii_case_and_keep_the_file_spelling() {
    let file = UsersPath::new("case", &user("Alice", "pw", false));
    let accounts = accounts(&file);
    let verdict = accounts.verify("aLICE", "pw").await;
    assert_eq!(valid_name(&verdict), Some("Alice"), "{verdict:?}");
    assert_eq!(accounts.active("ALICE").unwrap().username, "Alice");
}

#[test]
fn active_is_only_for_existing_enabled_users() {
    let file = UsersPath::new(
        "active",
        &format!("{}{}", user("alice", "pw", false), user("dave", "pw", true)),
    );
    let accounts = accounts(&file);
    assert_eq!(accounts.active("alice").unwrap().username, "alice");
    assert!(accounts.active("dave").is_none());
    assert!(accounts.active("nobody").is_none());
}

#[test]
fn the_dummy_hash_has_the_first_users_cost_or_the_defaults() {
    let file = UsersPath::new("dummy", &user("alice", "pw", false));
    let accounts = accounts(&file);
    let dummy = accounts.current().dummy.clone();
    assert!(
        dummy.starts_with("$argon2id$v=19$m=256,t=1,p=1$"),
        "{dummy}"
    );
    assert!(!password_matches(&dummy, ""));

    let empty = dummy_hash(None);
    assert!(
        empty.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{empty}"
    );
}

#[tokio::test]
async fn a_default_cost_hash_verifies() {
    let phc = crate::config::hash_password("correct horse").unwrap();
    let file = UsersPath::new(
        "defaults",
        &format!("[[user]]\nusername = \"alice\"\npassword_hash = \"{phc}\"\n"),
    );
    let accounts = accounts(&file);
    assert!(accounts.current().dummy.contains("m=19456,t=2,p=1"));
    let verdict = accounts.verify("alice", "correct horse").await;
    assert_eq!(valid_name(&verdict), Some("alice"), "{verdict:?}");
    assert!(matches!(
        accounts.verify("alice", "correct horse!").await,
        Verdict::Incorrect
    ));
}

#[tokio::test]
async fn a_changed_file_takes_effect_on_reload() {
    let file = UsersPath::new("changed", &user("alice", "old", false));
    let accounts = accounts(&file);
    assert_eq!(accounts.reload(), Ok(false), "unchanged");

    file.write(&format!(
        "{}{}",
        user("alice", "new", false),
        user("bob", "pw", false)
    ));
    assert_eq!(accounts.reload(), Ok(true));
    assert!(matches!(
        accounts.verify("alice", "old").await,
        Verdict::Incorrect
    ));
    assert!(valid_name(&accounts.verify("alice", "new").await).is_some());
    assert!(accounts.active("bob").is_some());
    assert_eq!(accounts.reload(), Ok(false), "unchanged since");

    file.write(&user("alice", "new", true));
    assert_eq!(accounts.reload(), Ok(true));
    assert!(accounts.active("alice").is_none(), "disabled");
    assert!(accounts.active("bob").is_none(), "removed");
}

#[tokio::test]
async fn a_broken_or_missing_file_keeps_the_previous_users() {
    let file = UsersPath::new("broken", &user("alice", "pw", false));
    let accounts = accounts(&file);

    file.write(&format!(
        "{}[[user]]\nusername = \"bob\"\npassword_hash = \"plain\"\nshell = 1\n",
        user("alice", "changed", false)
    ));
    let errors = accounts.reload().unwrap_err();
    let places: Vec<_> = errors
        .0
        .iter()
        .map(|e| (e.line, e.column, e.key.as_str()))
        .collect();
    assert_eq!(
        places,
        [(7, 17, "user[1].password_hash"), (8, 1, "user[1].shell")],
        "{errors}"
    );
    assert!(errors.0[0].file.ends_with("users.toml"), "{errors}");
    assert!(valid_name(&accounts.verify("alice", "pw").await).is_some());
    assert!(accounts.active("bob").is_none());
    assert!(accounts.reload().is_err(), "still broken");

    std::fs::remove_file(file.path()).unwrap();
    let errors = accounts.reload().unwrap_err();
    assert!(errors.0[0].message.contains("cannot read"), "{errors}");
    assert!(accounts.active("alice").is_some());
}

#[test]
fn accounts_debug_prints_no_hash() {
    let file = UsersPath::new("debug", &user("alice", "pw", false));
    let printed = format!("{:?}", accounts(&file));
    assert!(printed.contains("users: 1"), "{printed}");
    assert!(!printed.contains("argon2"), "{printed}");
}

#[tokio::test]
async fn the_watch_puts_a_changed_file_in_effect() {
    let file = UsersPath::new("watch", &user("alice", "pw", false));
    let accounts = Arc::new(accounts(&file));
    accounts.spawn_watch(Duration::from_millis(20));
    file.write(&format!(
        "{}{}",
        user("alice", "pw", false),
        user("bob", "pw", false)
    ));
    let deadline = Instant::now() + Duration::from_secs(10);
    while accounts.active("bob").is_none() {
        assert!(Instant::now() < deadline, "bob never appeared");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[test]
fn a_changed_file_is_seen_within_five_seconds() {
    // One tick to notice, plus the time a reload takes.
    assert!(
        RELOAD_EVERY * 2 <= Duration::from_secs(5),
        "{RELOAD_EVERY:?}"
    );
}
