//! The `portcullis` command line as a newcomer meets it (issue 15 points 4 and 7): `--help`
//! says what no command does and names `RUST_LOG`, each command's help lists only its own
//! options, a mistyped flag or command gets a suggestion, `check` on a good file says what it
//! found, and start-up says which page to open and what to choose there.

#![cfg(unix)]

use std::io::Read as _;
use std::process::{Command, Output, Stdio};

use crate::binary::{answers_ping, free_port, public_echo_config, work_dir, BINARY};
use crate::echo_upstream::EchoUpstream;

fn run(args: &[&str]) -> Output {
    Command::new(BINARY)
        .args(args)
        .env_remove("PORTCULLIS_CONFIG")
        .env_remove("PORTCULLIS_LOG_FORMAT")
        .output()
        .expect("the gateway binary")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The shipped `providers.toml`, on `port` instead of 4180 (its `listen` and `public_url`).
fn shipped_config_on(port: u16) -> String {
    let shipped = include_str!("../../providers.toml");
    assert!(shipped.contains("127.0.0.1:4180"), "{shipped}");
    shipped.replace("127.0.0.1:4180", &format!("127.0.0.1:{port}"))
}

#[test]
fn help_says_that_no_command_runs_the_gateway_and_names_rust_log() {
    for flag in ["--help", "-h"] {
        let output = run(&[flag]);

        assert!(output.status.success(), "{output:?}");
        let help = stdout(&output);
        assert!(
            help.contains("Without a command, portcullis runs the gateway"),
            "{help}"
        );
        assert!(help.contains("RUST_LOG"), "{help}");
    }
}

#[test]
fn each_command_lists_only_the_options_that_apply_to_it() {
    let secret = stdout(&run(&["secret", "--help"]));
    let hash = stdout(&run(&["hash-password", "--help"]));
    let check = stdout(&run(&["check", "--help"]));

    for help in [&secret, &hash] {
        assert!(!help.contains("--config"), "{help}");
        assert!(!help.contains("--log-format"), "{help}");
    }
    assert!(check.contains("--config"), "{check}");
    assert!(!check.contains("--log-format"), "{check}");
    let refused = run(&["secret", "--config", "providers.toml"]);
    assert_eq!(refused.status.code(), Some(2), "{refused:?}");
}

#[test]
fn a_mistyped_flag_or_command_is_told_the_one_it_resembles() {
    let flag = run(&["--confg", "providers.toml"]);
    let command = run(&["chekc"]);

    assert_eq!(flag.status.code(), Some(2), "{flag:?}");
    assert!(
        stderr(&flag).contains("a similar argument exists: '--config'"),
        "{}",
        stderr(&flag)
    );
    assert_eq!(command.status.code(), Some(2), "{command:?}");
    assert!(
        stderr(&command).contains("a similar subcommand exists: 'check'"),
        "{}",
        stderr(&command)
    );
}

#[test]
fn check_on_a_good_file_says_what_it_found_whichever_side_of_check_config_is_on() {
    let port = free_port();
    let dir = work_dir("cli-check", port);
    let file = dir.join("providers.toml");
    std::fs::write(&file, shipped_config_on(port)).unwrap();
    let file = file.to_str().unwrap();

    let after = run(&["check", "--config", file]);
    let before = run(&["--config", file, "check"]);
    // `check --config` wins over the one before the command.
    let both = run(&[
        "--config",
        "/nonexistent/providers.toml",
        "check",
        "--config",
        file,
    ]);
    let _ = std::fs::remove_dir_all(&dir);

    for output in [&after, &before, &both] {
        assert!(output.status.success(), "{output:?}");
        let text = stdout(output);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.first(), Some(&&*format!("{file}: OK")), "{text}");
        assert!(
            lines.contains(&&*format!(
                "listen 127.0.0.1:{port}, public URL http://127.0.0.1:{port}/"
            )),
            "{text}"
        );
        assert!(lines.contains(&"1 provider:"), "{text}");
        assert!(
            lines.iter().any(|l| l.starts_with("  dev: dev, ")),
            "{text}"
        );
        assert!(lines.contains(&"1 upstream:"), "{text}");
        assert!(
            lines.contains(&"  / -> builtin:echo, sign-in required"),
            "{text}"
        );
        assert!(
            lines.iter().any(|l| l.starts_with("session store: cookie")),
            "{text}"
        );
    }
}

/// Everything the binary writes to stdout with `config`, from its start to a SIGTERM once
/// it answers `/ping` on `port`.
async fn start_up_log(name: &str, port: u16, config: &str) -> String {
    let dir = work_dir(name, port);
    let file = dir.join("providers.toml");
    std::fs::write(&file, config).unwrap();
    let mut child = Command::new(BINARY)
        .arg("--config")
        .arg(&file)
        .env("RUST_LOG", "info")
        .env_remove("PORTCULLIS_LOG_FORMAT")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the gateway binary");
    let answered = answers_ping(&format!("http://127.0.0.1:{port}")).await;
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
    let mut output = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut output)
        .unwrap();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(answered, "the gateway did not answer /ping:\n{output}");
    output
}

#[tokio::test]
async fn start_up_says_which_page_to_open_and_what_to_choose() {
    let port = free_port();

    let log = start_up_log("cli-start", port, &shipped_config_on(port)).await;

    let line = log
        .lines()
        .find(|line| line.contains(" open http"))
        .unwrap_or_else(|| panic!("no line says what to open:\n{log}"));
    assert!(
        line.contains(&format!(
            " INFO open http://127.0.0.1:{port}/ and choose Development "
        )),
        "{line}"
    );
}

#[tokio::test]
async fn with_a_public_root_start_up_points_at_the_sign_in_page() {
    let upstream = EchoUpstream::start().await;
    let port = free_port();

    let config = public_echo_config(port, &upstream, "");
    let log = start_up_log("cli-start-public", port, &config).await;

    assert!(
        log.contains(&format!(
            " open http://127.0.0.1:{port}/oauth2/sign_in and choose Development "
        )),
        "{log}"
    );
}
