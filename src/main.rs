//! The `portcullis` command: run the gateway, check a configuration, or make a secret.

use std::path::PathBuf;
use std::process::ExitCode;

use base64::Engine as _;
use clap::{Parser, Subcommand};
use portcullis::config::Config;
use portcullis::startup::Application;
use portcullis::telemetry::{self, LogFormat};
use rand::RngCore;

/// A login gateway: OpenID Connect sign-in in front of existing web apps.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// The configuration file.
    #[arg(
        long,
        global = true,
        env = "PORTCULLIS_CONFIG",
        default_value = "providers.toml"
    )]
    config: PathBuf,
    /// Log format.
    #[arg(
        long,
        global = true,
        env = "PORTCULLIS_LOG_FORMAT",
        value_enum,
        default_value = "text"
    )]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Validate the configuration and list every problem.
    Check,
    /// Print a fresh random secret for `session.secret`.
    Secret,
}

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
        Some(Command::Check) => match Config::load(&cli.config) {
            Ok(_) => {
                println!("{}: OK", cli.config.display());
                ExitCode::SUCCESS
            }
            Err(errors) => {
                eprintln!("{errors}");
                eprintln!("{} problem(s) found", errors.0.len());
                ExitCode::FAILURE
            }
        },
        None => {
            telemetry::init(cli.log_format);
            raise_descriptor_limit();
            let config = match Config::load(&cli.config) {
                Ok(config) => config,
                Err(errors) => {
                    eprintln!("{errors}");
                    eprintln!("portcullis did not start: fix the configuration ({} problem(s)); `portcullis check` lists them", errors.0.len());
                    return ExitCode::FAILURE;
                }
            };
            match run(config) {
                Ok(()) => ExitCode::SUCCESS,
                Err(err) => {
                    eprintln!("portcullis: {err:#}");
                    ExitCode::FAILURE
                }
            }
        }
    }
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

fn run(config: Config) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let public_url = config.server.public_url.clone();
        let app = Application::build(config).await?;
        tracing::info!(listen = %app.local_addr(), public_url = %public_url, "portcullis is listening");
        app.run_until_stopped().await?;
        Ok(())
    })
}
