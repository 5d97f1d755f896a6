//! The `ecohub` command.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use ecohub::config::{Overrides, Settings};
use ecohub::startup::Application;
use ecohub::telemetry::LogTarget;

/// Ecohub: the partner-ecosystem hub for banks.
#[derive(Debug, Parser)]
#[command(name = "ecohub", version, about)]
struct Cli {
    /// TOML configuration file (layered over the defaults, under env vars and flags).
    #[arg(long, short, global = true, env = "ECOHUB_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Runs the hub (embedded store under ./data and 127.0.0.1:8080 unless configured).
    Serve(Overrides),
    /// Prints the effective configuration as TOML, secrets masked.
    Config(Overrides),
    /// Prints the OpenAPI document.
    Openapi,
    /// Copies the whole event log from one store to another (order, ids, revisions and
    /// timestamps kept); safe to re-run after an interruption.
    Migrate {
        /// Source store URL, e.g. `sqlite:./data/events.db`.
        #[arg(long, value_name = "URL")]
        from: String,
        /// Target store URL, e.g. `kurrentdb://node1:2113,node2:2113,node3:2113`.
        #[arg(long, value_name = "URL")]
        to: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let overrides = match &cli.command {
        Command::Serve(o) | Command::Config(o) => o.clone(),
        Command::Openapi | Command::Migrate { .. } => Overrides::default(),
    };
    let settings = match Settings::load(cli.config.as_deref(), &overrides) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("ecohub: {e}");
            return ExitCode::from(2);
        }
    };
    match cli.command {
        Command::Config(_) => {
            print!("{}", settings.to_masked_toml());
            ExitCode::SUCCESS
        }
        Command::Openapi => {
            print!("{}", ecohub::openapi::spec_json());
            ExitCode::SUCCESS
        }
        Command::Serve(_) => serve(settings),
        Command::Migrate { from, to } => migrate(&settings, &from, &to),
    }
}

fn migrate(settings: &Settings, from: &str, to: &str) -> ExitCode {
    ecohub::telemetry::init(&settings.log, LogTarget::Stderr);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("ecohub: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(ecohub::migrate::migrate(from, to)) {
        Ok(report) => {
            println!("{}", serde_json::to_string(&report).unwrap_or_default());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("ecohub: migration failed: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn serve(settings: Settings) -> ExitCode {
    ecohub::telemetry::init(&settings.log, LogTarget::Stdout);
    let runtime = actix_web::rt::System::new();
    let result = runtime.block_on(async move {
        let app = Application::build(settings).await?;
        app.run_until_stopped().await
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "ecohub failed");
            eprintln!("ecohub: {e:#}");
            ExitCode::FAILURE
        }
    }
}
