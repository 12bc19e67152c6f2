//! Child processes the journeys start (the OpenID provider, chromedriver): spawned with
//! their output in a log file, awaited until they print the line that says they are ready,
//! and killed when their guard drops, also when the test fails.

use std::fs::{File, OpenOptions};
use std::io::{BufRead as _, BufReader, Write as _};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// How long a component may take to say it is ready (chromedriver and Node start in well
/// under a second; the margin is for a loaded CI machine).
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// A running child process; dropping it kills the process (and, with `own_group`, every
/// process it started, such as the browsers of chromedriver).
pub struct ChildProcess {
    name: &'static str,
    child: Child,
    own_group: bool,
    log: PathBuf,
}

/// Why a process never became ready.
#[derive(Debug)]
pub enum Unready {
    /// It exited first; the message quotes its log.
    Exited(String),
}

impl ChildProcess {
    /// Spawns `command` with stdout and stderr appended to `log`, and waits until a stdout
    /// line passes `ready`; returns the process and what `ready` extracted from that line.
    ///
    /// With `own_group`, the process leads a new process group so that [`Drop`] can kill the
    /// whole tree.
    pub async fn spawn(
        name: &'static str,
        command: Command,
        log: &Path,
        own_group: bool,
        ready: fn(&str) -> Option<String>,
    ) -> (ChildProcess, String) {
        match ChildProcess::try_spawn(name, command, log, own_group, ready).await {
            Ok(started) => started,
            Err(Unready::Exited(message)) => panic!("{message}"),
        }
    }

    /// [`spawn`](Self::spawn), but a process that exits before it is ready is an `Err` (with
    /// its log) for the caller to retry, rather than a panic.
    pub async fn try_spawn(
        name: &'static str,
        mut command: Command,
        log: &Path,
        own_group: bool,
        ready: fn(&str) -> Option<String>,
    ) -> Result<(ChildProcess, String), Unready> {
        let log_file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .unwrap_or_else(|err| panic!("open {}: {err}", log.display()));
        let stderr = log_file.try_clone().expect("clone the log handle");
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(stderr));
        if own_group {
            command.process_group(0);
        }
        let mut child = command
            .spawn()
            .unwrap_or_else(|err| panic!("start {name} ({command:?}): {err}"));
        let stdout = child.stdout.take().expect("piped stdout");
        let process = ChildProcess {
            name,
            child,
            own_group,
            log: log.to_owned(),
        };

        let (found, readiness) = tokio::sync::oneshot::channel();
        std::thread::spawn(move || forward_stdout(stdout, log_file, ready, found));
        match tokio::time::timeout(READY_TIMEOUT, readiness).await {
            Ok(Ok(line)) => Ok((process, line)),
            Ok(Err(_)) => Err(Unready::Exited(format!(
                "{name} exited before it was ready; its log ({}):\n{}",
                log.display(),
                process.log_tail()
            ))),
            Err(_) => panic!(
                "{name} was not ready after {READY_TIMEOUT:?}; its log ({}):\n{}",
                log.display(),
                process.log_tail()
            ),
        }
    }

    /// The last lines of the process's log, for failure messages.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }
}

/// Copies the child's stdout into its log until it closes, and hands the first line that
/// passes `ready` (as `ready` transformed it) to the waiting test.
fn forward_stdout(
    stdout: std::process::ChildStdout,
    mut log: File,
    ready: fn(&str) -> Option<String>,
    found: tokio::sync::oneshot::Sender<String>,
) {
    let mut found = Some(found);
    for line in BufReader::new(stdout).lines() {
        let Ok(line) = line else { break };
        let _ = writeln!(log, "{line}");
        if let Some(value) = ready(&line) {
            if let Some(sender) = found.take() {
                let _ = sender.send(value);
            }
        }
    }
}

impl Drop for ChildProcess {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "--- last lines of the {} log ({}) ---\n{}",
                self.name,
                self.log.display(),
                self.log_tail()
            );
        }
        if self.own_group {
            // The group id is the leader's pid (`process_group(0)`); `kill -KILL -- -PGID`
            // reaches chromedriver and every browser process it started.
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", self.child.id())])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
