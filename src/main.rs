//! The `portcullis` command: run the gateway, check a configuration, make a secret or hash a
//! password for a users file.

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::io::{IsTerminal as _, Read as _};
use std::path::PathBuf;
use std::process::ExitCode;

use base64::Engine as _;
use clap::{Parser, Subcommand};
use portcullis::config::Config;
use portcullis::startup::{Application, ConfigSource};
use portcullis::telemetry::{self, LogFormat};
use rand::RngCore;

/// A login gateway: OpenID Connect sign-in in front of existing web apps.
#[derive(Parser)]
#[command(version, about, after_help = RUN_HELP)]
struct Cli {
    /// The configuration file.
    #[arg(long, env = "PORTCULLIS_CONFIG", default_value = "providers.toml")]
    config: PathBuf,
    /// Log format; wins over `server.log_format` [default: text]
    #[arg(long, env = "PORTCULLIS_LOG_FORMAT", value_enum)]
    log_format: Option<LogFormat>,
    #[command(subcommand)]
    command: Option<Command>,
}

/// What `--help` says after the options: what no command does, and the log level.
const RUN_HELP: &str = "Without a command, portcullis runs the gateway: it reads the \
configuration file, listens on `server.listen` and logs to stdout.
RUST_LOG sets the log level (default `info`; `RUST_LOG=debug` also logs static files and the \
dev provider's answers to the gateway's own calls).";

#[derive(Subcommand)]
enum Command {
    /// Validate the configuration: list every problem, or summarise what it configures.
    Check {
        /// The configuration file [default: `portcullis --config`, PORTCULLIS_CONFIG or
        /// providers.toml]
        #[arg(long, value_name = "CONFIG")]
        config: Option<PathBuf>,
    },
    /// Print a fresh random secret for `session.secret`.
    Secret,
    /// Print the argon2id hash of a password for a users file's `password_hash`.
    ///
    /// From a terminal, the password is asked twice, without echo. From a pipe or a file,
    /// stdin must hold exactly one line, the password (its line ending is not part of it).
    /// Prints one line, the PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`). A password given
    /// as an argument is refused: it would stay in the shell history and show in `ps`.
    #[command(verbatim_doc_comment)]
    HashPassword {
        /// Refused (exit status 2): pass the password on stdin instead.
        #[arg(
            value_name = "PASSWORD",
            hide = true,
            trailing_var_arg = true,
            allow_hyphen_values = true
        )]
        refused: Vec<String>,
    },
}

/// Exit status of a command line used the wrong way, as clap's own usage errors.
const USAGE: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Secret) => {
            let mut bytes = [0u8; 32];
            rand::thread_rng().fill_bytes(&mut bytes);
            println!(
                "{}",
                base64::engine::general_purpose::STANDARD.encode(bytes)
            );
            ExitCode::SUCCESS
        }
        Some(Command::HashPassword { refused }) => hash_password_command(&refused),
        Some(Command::Check { config }) => {
            let path = config.unwrap_or(cli.config);
            match Config::load(&path) {
                Ok(config) => {
                    println!("{}: OK", path.display());
                    println!("{}", config.summary());
                    ExitCode::SUCCESS
                }
                Err(errors) => {
                    eprintln!("{errors}");
                    eprintln!("{} problem(s) found", errors.0.len());
                    ExitCode::FAILURE
                }
            }
        }
        None => {
            // Read first, so that `server.log_format` holds from the first line on; its
            // problems are written for people either way.
            let config = match Config::load(&cli.config) {
                Ok(config) => config,
                Err(errors) => {
                    eprintln!("{errors}");
                    eprintln!("portcullis did not start: fix the configuration ({} problem(s)); `portcullis check` lists them", errors.0.len());
                    return ExitCode::FAILURE;
                }
            };
            telemetry::init(
                cli.log_format
                    .or(config.server.log_format)
                    .unwrap_or(LogFormat::Text),
            );
            raise_descriptor_limit();
            match run(config, cli.config) {
                Ok(()) => ExitCode::SUCCESS,
                Err(err) => {
                    eprintln!("portcullis: {err:#}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

/// `portcullis hash-password`: reads the password (see [`Command::HashPassword`]) and prints
/// its hash.
fn hash_password_command(refused: &[String]) -> ExitCode {
    if !refused.is_empty() {
        eprintln!(
            "portcullis hash-password takes no argument: a password on the command line stays \
             in the shell history and is visible to other users in `ps`. Type it when asked, \
             or pipe it in: `portcullis hash-password < password.txt`"
        );
        return ExitCode::from(USAGE);
    }
    let password = if std::io::stdin().is_terminal() {
        password_from_terminal()
    } else {
        password_from_stdin()
    };
    let password = match password {
        Ok(password) if password.is_empty() => {
            eprintln!("portcullis hash-password: the password is empty; nothing was hashed");
            return ExitCode::FAILURE;
        }
        Ok(password) => password,
        Err(message) => {
            eprintln!("portcullis hash-password: {message}");
            return ExitCode::FAILURE;
        }
    };
    match portcullis::config::hash_password(&password) {
        Ok(hash) => {
            println!("{hash}");
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("portcullis hash-password: {:#}", anyhow::Error::new(err));
            ExitCode::FAILURE
        }
    }
}

/// Asks twice without echo, the prompts on stderr so that stdout holds only the hash.
fn password_from_terminal() -> Result<String, String> {
    let ask = |prompt: &str| {
        let config = rpassword::ConfigBuilder::new()
            .output_writer(std::io::stderr())
            .build();
        rpassword::prompt_password_with_config(prompt, config)
            .map_err(|err| format!("cannot read the password from the terminal: {err}"))
    };
    let password = ask("Password: ")?;
    if ask("Repeat password: ")? != password {
        return Err("the passwords do not match; nothing was hashed".to_owned());
    }
    Ok(password)
}

/// Exactly one line: the password, without its `\n` or `\r\n`.
fn password_from_stdin() -> Result<String, String> {
    let mut input = String::new();
    std::io::stdin()
        .read_to_string(&mut input)
        .map_err(|err| format!("cannot read the password from stdin: {err}"))?;
    let line = input
        .strip_suffix("\r\n")
        .or_else(|| input.strip_suffix('\n'))
        .unwrap_or(&input);
    if line.contains('\n') {
        return Err(
            "stdin holds more than one line; give the password alone, on one line".to_owned(),
        );
    }
    Ok(line.to_owned())
}

/// Every client connection and every upstream connection is a descriptor: take what the
/// hard limit allows before the connection bounds are derived from it.
fn raise_descriptor_limit() {
    #[cfg(unix)]
    {
        let before = portcullis::server::descriptor_limit();
        match portcullis::server::raise_descriptor_limit() {
            Ok(limit) => tracing::info!(
                before,
                limit,
                "open descriptor limit raised to the hard limit"
            ),
            Err(error) => tracing::warn!(
                before,
                %error,
                "could not raise the open descriptor limit"
            ),
        }
    }
}

fn run(config: Config, path: PathBuf) -> anyhow::Result<()> {
    // One event loop per CPU the process may use (its affinity and CPU quota), each on a
    // thread of its own: this one, which also runs the background work (provider discovery,
    // key refresh, the Redis client), and one more per further CPU.
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let public_url = config.server.public_url.clone();
        let app = Application::build(config)
            .await?
            .with_threads(threads)
            .reloading_from(ConfigSource::file(path));
        tracing::info!(listen = %app.local_addr(), public_url = %public_url, threads, "portcullis is listening");
        tracing::info!("{}", app.sign_in_hint());
        if let Some(metrics) = app.metrics_addr() {
            tracing::info!(metrics_listen = %metrics, "metrics at http://{metrics}/metrics");
        }
        app.run_until_stopped().await?;
        Ok(())
    })
}
