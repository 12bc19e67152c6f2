//! `portcullis hash-password` (DESIGN §10): one line, the argon2id PHC string of the password
//! read from stdin or (twice, without echo) from a terminal; a password given as an argument
//! is refused.

use std::io::Write as _;
use std::process::{Command, Output, Stdio};

use argon2::password_hash::{PasswordHash, PasswordVerifier as _};
use argon2::Argon2;

const BINARY: &str = env!("CARGO_BIN_EXE_portcullis");

fn run(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(BINARY)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The child may exit (refusing its arguments) before reading: a broken pipe is fine.
    let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
    child.wait_with_output().unwrap()
}

fn assert_argon2id_of(phc: &str, password: &str) {
    assert!(phc.starts_with("$argon2id$v=19$"), "{phc:?}");
    let hash = PasswordHash::new(phc).unwrap();
    assert!(
        Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok(),
        "{phc} does not verify {password:?}"
    );
}

#[test]
fn a_password_on_stdin_gives_one_line_that_verifies() {
    let output = run(&["hash-password"], "correct horse\n");
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "{stdout:?}");
    assert!(stdout.ends_with('\n'));
    assert_argon2id_of(lines[0], "correct horse");
}

#[test]
fn only_the_trailing_line_ending_is_stripped() {
    let output = run(&["hash-password"], " spaced pw \r\n");
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert_argon2id_of(stdout.trim_end(), " spaced pw ");
}

#[test]
fn a_password_as_an_argument_is_refused_with_status_2() {
    for args in [
        &["hash-password", "hunter2"][..],
        &["hash-password", "--", "hunter2"],
        &["hash-password", "--password=hunter2"],
    ] {
        let output = run(args, "hunter2\n");
        assert_eq!(output.status.code(), Some(2), "{args:?}: {output:?}");
        assert!(output.stdout.is_empty(), "{args:?}: {output:?}");
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert!(stderr.contains("shell history"), "{stderr}");
    }
}

#[test]
fn empty_or_several_lines_on_stdin_are_refused() {
    for input in ["", "\n", "one\ntwo\n"] {
        let output = run(&["hash-password"], input);
        assert!(!output.status.success(), "{input:?}: {output:?}");
        assert!(output.stdout.is_empty(), "{input:?}: {output:?}");
    }
}

/// `script` (util-linux) gives the command a terminal, so the no-echo path is driven.
fn in_a_terminal(input: &str) -> Option<Output> {
    let script = ["/usr/bin/script", "/bin/script"]
        .into_iter()
        .find(|path| std::path::Path::new(path).exists())?;
    let mut child = Command::new(script)
        .args(["-qec", &format!("{BINARY} hash-password"), "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    Some(child.wait_with_output().unwrap())
}

#[test]
fn a_terminal_is_asked_twice() {
    let Some(output) = in_a_terminal("pw\npw\n") else {
        eprintln!("no `script` on this machine: the terminal path is not driven");
        return;
    };
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(stdout.contains("Password: "), "{stdout:?}");
    assert!(stdout.contains("Repeat password: "), "{stdout:?}");
    let last = stdout.lines().last().unwrap().trim_end_matches('\r');
    assert_argon2id_of(last, "pw");
}

#[test]
fn different_passwords_in_a_terminal_are_refused() {
    let Some(output) = in_a_terminal("pw\npx\n") else {
        eprintln!("no `script` on this machine: the terminal path is not driven");
        return;
    };
    assert!(!output.status.success(), "{output:?}");
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(stdout.contains("do not match"), "{stdout:?}");
    assert!(!stdout.contains("$argon2id$"), "{stdout:?}");
}
