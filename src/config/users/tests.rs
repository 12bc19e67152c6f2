use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use super::*;

/// A cheap hash (m=256 KiB, t=1, p=1) so the tests run fast.
fn cheap_hash(password: &str) -> String {
    hash_with(password, Algorithm::Argon2id, Version::V0x13, 256, 1, 1)
}

fn hash_with(
    password: &str,
    algorithm: Algorithm,
    version: Version,
    m: u32,
    t: u32,
    p: u32,
) -> String {
    let params = Params::new(m, t, p, None).unwrap();
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    Argon2::new(algorithm, version, params)
        .hash_password(password.as_bytes(), &salt)
        .unwrap()
        .to_string()
}

fn parse(source: &str) -> Result<UsersFile, ConfigErrors> {
    parse_users(source, "users.toml")
}

/// `(line, column, key)` of every problem, and the messages joined for `contains` checks.
fn problems(source: &str) -> (Vec<(usize, usize, String)>, String) {
    let errors = parse(source).unwrap_err();
    let places = errors
        .0
        .iter()
        .map(|e| (e.line, e.column, e.key.clone()))
        .collect();
    let messages = errors
        .0
        .iter()
        .map(|e| e.message.clone())
        .collect::<Vec<_>>()
        .join("\n");
    (places, messages)
}

fn one_user(extra: &str) -> String {
    format!(
        "[[user]]\nusername = \"alice\"\npassword_hash = \"{}\"\n{extra}",
        cheap_hash("pw")
    )
}

#[test]
fn a_full_user_is_read_as_written() {
    let hash = cheap_hash("pw");
    let source = format!(
        "[[user]]\nusername = \"Alice\"\nemail = \"alice@example.com\"\nname = \"Alice Example\"\n\
         groups = [\"staff\", \"ops\"]\npassword_hash = \"{hash}\"\ndisabled = true\n\n\
         [[user]]\nusername = \"bob\"\npassword_hash = \"{hash}\"\n"
    );
    let file = parse(&source).unwrap();
    let [alice, bob] = &file.users[..] else {
        panic!("two users expected: {file:?}");
    };
    assert_eq!(alice.username, "Alice");
    assert_eq!(alice.email.as_deref(), Some("alice@example.com"));
    assert_eq!(alice.name.as_deref(), Some("Alice Example"));
    assert_eq!(alice.groups, ["staff", "ops"]);
    assert_eq!(alice.password_hash, hash);
    assert!(alice.disabled);
    assert_eq!(bob.username, "bob");
    assert_eq!((bob.email.as_ref(), bob.name.as_ref()), (None, None));
    assert!(bob.groups.is_empty());
    assert!(!bob.disabled);
}

#[test]
fn an_empty_file_or_one_without_users_has_no_users() {
    assert!(parse("").unwrap().users.is_empty());
    assert!(parse("# nobody yet\n").unwrap().users.is_empty());
}

#[test]
fn debug_never_prints_the_hash() {
    let file = parse(&one_user("")).unwrap();
    let printed = format!("{file:?}");
    assert!(printed.contains("alice"), "{printed}");
    assert!(!printed.contains("argon2id"), "{printed}");
}

#[test]
fn the_credential_tag_is_16_bytes_of_the_hash_digest_and_changes_with_it() {
    let file = parse(&one_user("")).unwrap();
    let user = &file.users[0];
    let tag = user.credential_tag();
    let decoded = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(&tag)
        .unwrap();
    let digest = Sha256::digest(user.password_hash.as_bytes());
    assert_eq!(decoded, digest[..16]);
    let other = LocalUser {
        password_hash: cheap_hash("pw"),
        ..parse(&one_user("")).unwrap().users.remove(0)
    };
    assert_ne!(other.credential_tag(), tag);
}

#[test]
fn each_rule_is_reported_at_its_value() {
    let hash = cheap_hash("pw");
    // (line 2 holds the value under test; the problem is at column `column` of it)
    let cases: &[(&str, usize, &str, &str)] = &[
        ("username = \"\"", 12, "username", "must not be empty"),
        ("username = \"al ice\"", 12, "username", "white space"),
        ("username = \"al\\tice\"", 12, "username", "white space"),
        (
            "username = \"al\\u0007ice\"",
            12,
            "username",
            "control character",
        ),
        ("email = \"alice\"", 9, "email", "not an email address"),
        (
            "email = \"@example.com\"",
            9,
            "email",
            "not an email address",
        ),
        ("email = \"alice@\"", 9, "email", "not an email address"),
        (
            "email = \"a@b@example.com\"",
            9,
            "email",
            "not an email address",
        ),
        (
            "email = \"al ice@example.com\"",
            9,
            "email",
            "not an email address",
        ),
        ("name = \" Alice\"", 8, "name", "white space"),
        ("name = \"Alice\\n\"", 8, "name", "control character"),
        ("name = \"\"", 8, "name", "must not be empty"),
        (
            "groups = [\"staff\", \"\"]",
            20,
            "groups[1]",
            "must not be empty",
        ),
        ("groups = [\"staff \"]", 11, "groups[0]", "white space"),
        (
            "groups = [\"st\\u0000aff\"]",
            11,
            "groups[0]",
            "control character",
        ),
    ];
    for (line, column, key, message) in cases {
        let (field, _) = line.split_once(" = ").unwrap();
        let mut source = format!("[[user]]\n{line}\n");
        if field != "username" {
            source.push_str("username = \"alice\"\n");
        }
        source.push_str(&format!("password_hash = \"{hash}\"\n"));
        let (places, messages) = problems(&source);
        assert_eq!(
            places,
            [(2, *column, format!("user[0].{key}"))],
            "{line}: {messages}"
        );
        assert!(messages.contains(message), "{line}: {messages}");
    }
}

#[test]
fn a_username_of_128_characters_is_accepted_and_129_refused() {
    let longest = "é".repeat(128);
    let source = one_user("").replace("alice", &longest);
    assert_eq!(parse(&source).unwrap().users[0].username, longest);
    let (places, messages) = problems(&one_user("").replace("alice", &"é".repeat(129)));
    assert_eq!(places, [(2, 12, "user[0].username".to_owned())]);
    assert!(messages.contains("at most 128"), "{messages}");
}

#[test]
fn usernames_are_unique_ignoring_ascii_case_and_the_second_names_the_first() {
    let hash = cheap_hash("pw");
    let source = format!(
        "[[user]]\nusername = \"alice\"\npassword_hash = \"{hash}\"\n\
         [[user]]\nusername = \"bob\"\npassword_hash = \"{hash}\"\n\
         [[user]]\nusername = \"ALICE\"\npassword_hash = \"{hash}\"\n"
    );
    let (places, messages) = problems(&source);
    assert_eq!(places, [(8, 12, "user[2].username".to_owned())]);
    assert!(messages.contains("at line 2"), "{messages}");
}

#[test]
fn username_and_password_hash_are_required_at_the_table() {
    let (places, messages) = problems("\n[[user]]\nemail = \"a@example.com\"\n");
    assert_eq!(
        places,
        [
            (2, 1, "user[0].username".to_owned()),
            (2, 1, "user[0].password_hash".to_owned())
        ]
    );
    assert!(
        messages.contains("`portcullis hash-password`"),
        "{messages}"
    );
}

#[test]
fn only_argon2id_v19_hashes_of_bounded_cost_are_accepted_and_none_is_echoed() {
    let id = Algorithm::Argon2id;
    let cases: Vec<(String, &str)> = vec![
        (
            "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW".to_owned(),
            "only argon2id hashes are accepted",
        ),
        (
            "{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=".to_owned(),
            "only argon2id hashes are accepted",
        ),
        (
            "correct horse".to_owned(),
            "only argon2id hashes are accepted",
        ),
        (
            hash_with("pw", Algorithm::Argon2i, Version::V0x13, 256, 1, 1),
            "only argon2id hashes are accepted",
        ),
        (hash_with("pw", id, Version::V0x10, 256, 1, 1), "version 19"),
        (
            "$argon2id$v=19$m=256,t=1,p=1$bm90IGJhc2U2NA".to_owned(),
            "salt",
        ),
        (
            "$argon2id$v=19$m=256,t=1,p=1$%%%%$%%%%".to_owned(),
            "well-formed",
        ),
        (with_cost("m=262145,t=1,p=1"), "at most m=262144"),
        (with_cost("m=256,t=17,p=1"), "t=16"),
        (with_cost("m=256,t=1,p=9"), "p=8"),
    ];
    for (hash, message) in &cases {
        let source = format!("[[user]]\nusername = \"alice\"\npassword_hash = '{hash}'\n");
        let errors = parse(&source).unwrap_err();
        let [error] = &errors.0[..] else {
            panic!("{hash}: one problem expected: {errors}");
        };
        assert_eq!(
            (error.line, error.column, error.key.as_str()),
            (3, 17, "user[0].password_hash"),
            "{hash}"
        );
        assert!(error.message.contains(message), "{hash}: {}", error.message);
        assert!(
            error.message.contains("portcullis hash-password"),
            "{}",
            error.message
        );
        let secret_part = hash.rsplit('$').next().unwrap();
        assert!(!error.message.contains(secret_part), "{}", error.message);
    }
}

/// A cheap hash with its cost rewritten (checked, never verified: hashing at the cost would
/// be slow).
fn with_cost(cost: &str) -> String {
    cheap_hash("pw").replace("m=256,t=1,p=1", cost)
}

#[test]
fn hash_bounds_are_inclusive() {
    let hash = with_cost("m=262144,t=16,p=8");
    let source = format!("[[user]]\nusername = \"alice\"\npassword_hash = \"{hash}\"\n");
    assert_eq!(parse(&source).unwrap().users.len(), 1);
}

#[test]
fn every_problem_is_reported_at_once_with_unknown_keys_and_wrong_types() {
    let hash = cheap_hash("pw");
    let source = format!(
        "[[user]]\nusername = \"al ice\"\nemail = \"nope\"\npassword_hash = \"{hash}\"\n\
         [[user]]\nusername = 7\npassword_hash = \"plain\"\nshell = \"/bin/sh\"\n\
         [[user]]\nusername = \"carol\"\npassword_hash = \"{hash}\"\ndisabled = \"yes\"\n\
         [extra]\n"
    );
    let (places, messages) = problems(&source);
    let expected = [
        (2, 12, "user[0].username"),
        (3, 9, "user[0].email"),
        (6, 12, "user[1].username"),
        (7, 17, "user[1].password_hash"),
        (8, 1, "user[1].shell"),
        (12, 12, "user[2].disabled"),
        (13, 2, "extra"),
    ];
    let expected: Vec<_> = expected
        .iter()
        .map(|(line, column, key)| (*line, *column, (*key).to_owned()))
        .collect();
    assert_eq!(places, expected, "{messages}");
    assert!(messages.contains("unknown key"), "{messages}");
}

#[test]
fn not_toml_is_one_problem_with_its_position() {
    let (places, messages) = problems("[[user]]\nusername = \"alice\n");
    assert_eq!(places.len(), 1, "{messages}");
    assert_eq!(places[0].0, 2, "{messages}");
    assert!(messages.contains("invalid TOML"), "{messages}");
}

#[test]
fn load_users_reports_an_unreadable_file_as_one_problem() {
    let path = std::env::temp_dir().join(format!("portcullis-no-users-{}", std::process::id()));
    let errors = load_users(&path).unwrap_err();
    assert_eq!(errors.0.len(), 1);
    assert!(errors.0[0].message.contains("cannot read"), "{errors}");
}

#[test]
fn hash_password_makes_a_default_cost_argon2id_hash_that_verifies() {
    let phc = hash_password("correct horse").unwrap();
    assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
    let hash = PasswordHash::new(&phc).unwrap();
    assert!(Argon2::default()
        .verify_password(b"correct horse", &hash)
        .is_ok());
    assert!(Argon2::default().verify_password(b"wrong", &hash).is_err());
    assert_ne!(hash_password("correct horse").unwrap(), phc, "salts differ");
    let source = format!("[[user]]\nusername = \"alice\"\npassword_hash = \"{phc}\"\n");
    assert_eq!(parse(&source).unwrap().users.len(), 1);
}
