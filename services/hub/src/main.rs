//! The `ecohub` command.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use ecohub::config::{Overrides, Settings};
use ecohub::startup::Application;
use ecohub::telemetry::LogTarget;
use ecohub_kernel::{Clock, SystemClock};

/// mimalloc instead of the system allocator (measured in docs/benchmarks.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    Serve {
        #[command(flatten)]
        args: ServeArgs,
        /// First fill a fresh store with a demo ecosystem (partners, the bank's people,
        /// customers, consents, data, propositions and offers) written through the public
        /// API, and print the people's credentials once. A store holding the demo is served
        /// as it is; any other non-empty store is refused. Not in production mode.
        #[arg(long)]
        demo: bool,
    },
    /// Prints the effective configuration of `serve` as TOML, secrets masked.
    Config(ServeArgs),
    /// Prints the OpenAPI document.
    Openapi,
    /// Administration of the hub's own clients.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// The built-in customer directory (customers who sign in on the hub's login page).
    Customers {
        #[command(subcommand)]
        command: CustomersCommand,
    },
    /// The staff directory: people of the bank who sign in to the console (roles, TOTP).
    Staff {
        #[command(subcommand)]
        command: StaffCommand,
    },
    /// Compliance: checks the consent streams' tamper-evidence hash chains.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// The authorization server's signing keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
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

/// The flags of `serve` (and of `config`, which prints what `serve` would use): the listen
/// address, which means nothing to the commands that do not listen, and the common ones.
#[derive(Debug, Clone, clap::Args)]
struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, value_name = "ADDR")]
    bind: Option<SocketAddr>,
    #[command(flatten)]
    overrides: Overrides,
}

impl ServeArgs {
    fn overrides(&self) -> Overrides {
        Overrides {
            bind: self.bind,
            ..self.overrides.clone()
        }
    }
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Creates the first administrator client (scopes `admin audit`) and prints its
    /// credentials once, as JSON `{"client_id": …, "client_secret": …}`. Works before the first
    /// `serve` and while hubs run on the same store.
    Bootstrap(Overrides),
}

#[derive(Debug, Subcommand)]
enum CustomersCommand {
    /// Adds a customer and prints it as JSON (`customer_id`, the id the bank publishes data
    /// under; no hash). The password is read from standard input (first line, at least 10
    /// characters), never from the command line. Works while hubs run on the same store; a
    /// taken username is refused.
    Add {
        /// The username (3 to 64 of `a-z 0-9 . _ @ -`, case-insensitive).
        #[arg(long)]
        username: String,
        /// The name shown on pages.
        #[arg(long)]
        display_name: String,
        /// Read the password from standard input (required: the only way to pass it; at least
        /// 10 characters).
        #[arg(long, required = true)]
        password_stdin: bool,
        #[command(flatten)]
        overrides: Overrides,
    },
    /// Lists the customers as JSON lines (id, username, display name, registration time; no
    /// password hashes).
    List(Overrides),
}

#[derive(Debug, Subcommand)]
enum StaffCommand {
    /// Adds a staff person and prints them as JSON (`staff_id`, roles, the scopes the roles
    /// grant) with, once, `totp_provisioning_uri` — the `otpauth://` URI to enrol in an
    /// authenticator app; it is shown nowhere else. The password is read from standard input
    /// (first line, at least 10 characters), never from the command line. Works while hubs
    /// run on the same store; a taken username is refused.
    Add {
        /// The username (3 to 64 of `a-z 0-9 . _ @ -`, case-insensitive).
        #[arg(long)]
        username: String,
        /// The name shown on pages.
        #[arg(long)]
        display_name: String,
        /// A role: partnership_manager, product_manager, compliance_officer or administrator
        /// (repeat for several; at least one).
        #[arg(long = "role", required = true, value_name = "ROLE")]
        roles: Vec<String>,
        /// Add the person without a second factor (refused when the hub requires one: by
        /// default in production mode, `auth.staff_totp_required`).
        #[arg(long)]
        without_totp: bool,
        /// Read the password from standard input (required: the only way to pass it).
        #[arg(long, required = true)]
        password_stdin: bool,
        #[command(flatten)]
        overrides: Overrides,
    },
    /// Lists the staff as JSON lines (id, username, display name, roles, scopes, whether they
    /// have a second factor, status; no password hashes or secrets).
    List(Overrides),
    /// Disables a staff person: no further sign-in, and their sessions end at once on every
    /// instance. Prints them as JSON.
    Disable {
        /// The person's username.
        #[arg(long)]
        username: String,
        #[command(flatten)]
        overrides: Overrides,
    },
    /// Gives a staff person a new second factor: a new TOTP secret, sealed, replaces theirs
    /// (its codes stop working at once on every instance). Prints them as JSON with, once,
    /// the new `totp_provisioning_uri`. For a lost authenticator, a person without a second
    /// factor, or one whose secret an earlier build stored in the clear (`staff list` shows
    /// `"totp_in_clear": true`).
    ResetTotp {
        /// The person's username.
        #[arg(long)]
        username: String,
        #[command(flatten)]
        overrides: Overrides,
    },
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Recomputes every consent event's hash chain and prints a JSON report
    /// `{"streams", "events", "first_break"}`; exits 1 when a chain is broken (the break names
    /// the stream, the first revision that does not verify, and why). Read-only; safe while
    /// hubs run.
    Verify(Overrides),
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Adds a signing key: published at once, used for signing after the publication delay;
    /// the previous key keeps verifying until its tokens expire. Running hubs pick it up.
    Rotate {
        /// Algorithm of the new key: ES256 (default), PS256 or EdDSA.
        #[arg(long, default_value = "ES256")]
        alg: String,
        #[command(flatten)]
        overrides: Overrides,
    },
    /// Lists the signing keys and their states.
    List(Overrides),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let overrides = match &cli.command {
        Command::Serve { args: a, .. } | Command::Config(a) => a.overrides(),
        Command::Admin {
            command: AdminCommand::Bootstrap(o),
        }
        | Command::Keys {
            command: KeysCommand::List(o) | KeysCommand::Rotate { overrides: o, .. },
        }
        | Command::Customers {
            command: CustomersCommand::List(o) | CustomersCommand::Add { overrides: o, .. },
        }
        | Command::Staff {
            command:
                StaffCommand::List(o)
                | StaffCommand::Add { overrides: o, .. }
                | StaffCommand::Disable { overrides: o, .. }
                | StaffCommand::ResetTotp { overrides: o, .. },
        }
        | Command::Audit {
            command: AuditCommand::Verify(o),
        } => o.clone(),
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
        Command::Serve { demo, .. } => serve(settings, demo),
        Command::Migrate { from, to } => migrate(&settings, &from, &to),
        Command::Admin {
            command: AdminCommand::Bootstrap(_),
        } => admin_bootstrap(&settings),
        Command::Keys { command } => keys(&settings, command),
        Command::Customers { command } => customers(&settings, command),
        Command::Staff { command } => staff(&settings, command),
        Command::Audit {
            command: AuditCommand::Verify(_),
        } => audit_verify(&settings),
    }
}

fn audit_verify(settings: &Settings) -> ExitCode {
    ecohub::telemetry::init(&settings.log, LogTarget::Stderr);
    let Some(runtime) = runtime() else {
        return ExitCode::FAILURE;
    };
    let result: anyhow::Result<ecohub_consents::VerifyReport> = runtime.block_on(async {
        let store = ecohub::state::open_store(&settings.store_location()?).await?;
        let report = ecohub_consents::verify_all(&*store).await;
        store.close().await?;
        Ok(report?)
    });
    match result {
        Ok(report) => {
            let first_break = report.first_break.as_ref().map(|b| {
                serde_json::json!({"stream": b.stream, "revision": b.revision, "reason": b.reason})
            });
            println!(
                "{}",
                serde_json::json!({
                    "streams": report.streams,
                    "events": report.events,
                    "first_break": first_break,
                })
            );
            if first_break.is_some() {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(e) => {
            eprintln!("ecohub: audit verify failed: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn customers(settings: &Settings, command: CustomersCommand) -> ExitCode {
    ecohub::telemetry::init(&settings.log, LogTarget::Stderr);
    let password = match &command {
        CustomersCommand::Add { .. } => {
            let mut line = String::new();
            if let Err(e) = std::io::stdin().read_line(&mut line) {
                eprintln!("ecohub: cannot read the password from stdin: {e}");
                return ExitCode::from(2);
            }
            Some(line.trim_end_matches(['\r', '\n']).to_owned())
        }
        CustomersCommand::List(_) => None,
    };
    let Some(runtime) = runtime() else {
        return ExitCode::FAILURE;
    };
    let result: anyhow::Result<Vec<serde_json::Value>> = runtime.block_on(async {
        let store = ecohub::state::open_store(&settings.store_location()?).await?;
        let directory = ecohub_auth::BuiltInDirectory::new(store.clone());
        let outcome = match &command {
            CustomersCommand::Add {
                username,
                display_name,
                ..
            } => directory
                .add(
                    username,
                    display_name,
                    password.as_deref().unwrap_or_default(),
                    SystemClock.now(),
                    "system:cli",
                )
                .await
                .map(|c| vec![serde_json::json!(c)]),
            CustomersCommand::List(_) => directory
                .list()
                .await
                .map(|all| all.iter().map(|c| serde_json::json!(c)).collect()),
        };
        store.close().await?;
        Ok(outcome?)
    });
    match result {
        Ok(lines) => {
            for line in lines {
                println!("{line}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("ecohub: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn staff(settings: &Settings, command: StaffCommand) -> ExitCode {
    ecohub::telemetry::init(&settings.log, LogTarget::Stderr);
    let password = match &command {
        StaffCommand::Add { .. } => {
            let mut line = String::new();
            if let Err(e) = std::io::stdin().read_line(&mut line) {
                eprintln!("ecohub: cannot read the password from stdin: {e}");
                return ExitCode::from(2);
            }
            Some(line.trim_end_matches(['\r', '\n']).to_owned())
        }
        StaffCommand::List(_) | StaffCommand::Disable { .. } | StaffCommand::ResetTotp { .. } => {
            None
        }
    };
    let totp_required =
        ecohub::services::auth_settings(settings, settings.server.bind).staff_totp_required;
    let Some(runtime) = runtime() else {
        return ExitCode::FAILURE;
    };
    let result: anyhow::Result<Vec<serde_json::Value>> = runtime.block_on(async {
        let store = ecohub::state::open_store(&settings.store_location()?).await?;
        let directory = ecohub_auth::StaffDirectory::new(store.clone());
        // The keys the hub opens TOTP secrets with (`<data_dir>/totp-keys`, shared).
        let totp_keys = || {
            ecohub_auth::TotpKeys::open(&settings.data_dir).with_context(|| {
                format!(
                    "opening the staff TOTP keys under {}",
                    settings.data_dir.display()
                )
            })
        };
        let now = SystemClock.now();
        let outcome = match &command {
            StaffCommand::Add {
                username,
                display_name,
                roles,
                without_totp,
                ..
            } => directory
                .add(
                    ecohub_auth::NewStaff {
                        username,
                        display_name,
                        password: password.as_deref().unwrap_or_default(),
                        roles,
                        totp: !without_totp,
                    },
                    &totp_keys()?,
                    totp_required,
                    now,
                    "system:cli",
                )
                .await
                .map(|added| vec![serde_json::json!(added)]),
            StaffCommand::List(_) => directory
                .list()
                .await
                .map(|all| all.iter().map(|s| serde_json::json!(s)).collect()),
            StaffCommand::Disable { username, .. } => directory
                .disable(username, now, "system:cli")
                .await
                .map(|s| vec![serde_json::json!(s)]),
            StaffCommand::ResetTotp { username, .. } => directory
                .reset_totp(username, &totp_keys()?, now, "system:cli")
                .await
                .map(|added| vec![serde_json::json!(added)]),
        };
        store.close().await?;
        Ok(outcome?)
    });
    match result {
        Ok(lines) => {
            for line in lines {
                println!("{line}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("ecohub: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn runtime() -> Option<tokio::runtime::Runtime> {
    match tokio::runtime::Runtime::new() {
        Ok(r) => Some(r),
        Err(e) => {
            eprintln!("ecohub: cannot start the runtime: {e}");
            None
        }
    }
}

fn admin_bootstrap(settings: &Settings) -> ExitCode {
    ecohub::telemetry::init(&settings.log, LogTarget::Stderr);
    let Some(runtime) = runtime() else {
        return ExitCode::FAILURE;
    };
    let result: anyhow::Result<(String, String)> = runtime.block_on(async {
        let store = ecohub::state::open_store(&settings.store_location()?).await?;
        let created = ecohub_auth::bootstrap_admin(&*store, SystemClock.now()).await;
        store.close().await?;
        let (client_id, secret) = created?;
        Ok((client_id.to_string(), secret))
    });
    match result {
        Ok((client_id, client_secret)) => {
            println!(
                "{}",
                serde_json::json!({ "client_id": client_id, "client_secret": client_secret })
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("ecohub: bootstrap failed: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn keys(settings: &Settings, command: KeysCommand) -> ExitCode {
    let now = SystemClock.now();
    let auth = ecohub::services::auth_settings(settings, settings.server.bind);
    let result = match command {
        KeysCommand::Rotate { alg, .. } => match alg.parse::<ecohub_jose::SigningAlgorithm>() {
            Ok(alg) => ecohub_auth::rotate_keys(&settings.data_dir, alg, now, &auth)
                .map(|key| serde_json::json!(key)),
            Err(_) => {
                eprintln!("ecohub: unknown algorithm {alg:?} (use ES256, PS256 or EdDSA)");
                return ExitCode::from(2);
            }
        },
        KeysCommand::List(_) => {
            ecohub_auth::list_keys(&settings.data_dir, now).map(|keys| serde_json::json!(keys))
        }
    };
    match result {
        Ok(json) => {
            println!("{json}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("ecohub: {e}");
            ExitCode::FAILURE
        }
    }
}

fn migrate(settings: &Settings, from: &str, to: &str) -> ExitCode {
    ecohub::telemetry::init(&settings.log, LogTarget::Stderr);
    let Some(runtime) = runtime() else {
        return ExitCode::FAILURE;
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

fn serve(settings: Settings, demo: bool) -> ExitCode {
    ecohub::telemetry::init(&settings.log, LogTarget::Stdout);
    if demo && settings.production {
        eprintln!(
            "ecohub: --demo fills a store with made-up people; it is refused in production mode"
        );
        return ExitCode::from(2);
    }
    let runtime = actix_web::rt::System::new();
    let result = runtime.block_on(async move {
        let load_demo = if demo {
            match demo_store_contents(&settings).await? {
                ecohub::demo::StoreContents::Empty => true,
                ecohub::demo::StoreContents::Demo(loaded_at) => {
                    println!(
                        "ecohub: serving the demo ecosystem loaded at {loaded_at} (its credentials were printed then; start from an empty --data-dir for new ones)"
                    );
                    false
                }
                ecohub::demo::StoreContents::Other => {
                    return Ok(Err(format!(
                        "--demo fills a fresh store, and {} holds events already: serve it without --demo, or give an empty --data-dir",
                        settings.data_dir.display()
                    )));
                }
            }
        } else {
            false
        };
        let app = Application::build(settings).await?;
        if load_demo {
            let base = format!("http://{}", app.address());
            let store = app.state().store.clone();
            let totp_keys = app.state().services.auth.totp_keys.clone();
            let handle = app.handle();
            let running = actix_web::rt::spawn(app.run_until_stopped());
            println!("ecohub: loading the demo ecosystem through {base} (a few seconds)…");
            match ecohub::demo::load(&base, store, &totp_keys).await {
                Ok(loaded) => println!("{}", loaded.summary(&base)),
                Err(e) => {
                    handle.stop(true).await;
                    let _ = running.await;
                    return Err(e.context(
                        "loading the demo failed; the store holds part of it: remove the data directory and start again",
                    ));
                }
            }
            return running.await?.map(Ok);
        }
        app.run_until_stopped().await.map(Ok)
    });
    match result {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(refusal)) => {
            eprintln!("ecohub: {refusal}");
            ExitCode::from(2)
        }
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "ecohub failed");
            eprintln!("ecohub: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// What the configured store holds, for `serve --demo` (opened and closed before serving).
async fn demo_store_contents(settings: &Settings) -> anyhow::Result<ecohub::demo::StoreContents> {
    let store = ecohub::state::open_store(&settings.store_location()?).await?;
    let contents = ecohub::demo::contents(&*store).await;
    store.close().await?;
    contents
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    use super::{Cli, Command};

    fn help(path: &[&str]) -> String {
        let mut cmd = Cli::command();
        let mut sub = &mut cmd;
        for name in path {
            sub = sub.find_subcommand_mut(name).expect("subcommand exists");
        }
        sub.render_long_help().to_string()
    }

    #[test]
    fn the_cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn only_serve_and_config_take_bind() {
        for path in [&["serve"][..], &["config"]] {
            assert!(help(path).contains("--bind"), "{path:?}");
        }
        let add = [
            "--username",
            "alice",
            "--display-name",
            "Alice",
            "--password-stdin",
        ];
        let staff_add = [
            "--username",
            "alice",
            "--display-name",
            "Alice",
            "--role",
            "product_manager",
            "--password-stdin",
        ];
        for (path, required) in [
            (&["audit", "verify"][..], &[][..]),
            (&["customers", "add"], &add),
            (&["customers", "list"], &[]),
            (&["staff", "add"], &staff_add),
            (&["staff", "list"], &[]),
            (&["staff", "disable"], &["--username", "alice"]),
            (&["staff", "reset-totp"], &["--username", "alice"]),
            (&["admin", "bootstrap"], &[]),
            (&["keys", "rotate"], &[]),
            (&["keys", "list"], &[]),
        ] {
            assert!(!help(path).contains("--bind"), "{path:?} offers --bind");
            let mut args = vec!["ecohub"];
            args.extend_from_slice(path);
            args.extend_from_slice(required);
            assert!(Cli::try_parse_from(&args).is_ok(), "{path:?} parses");
            args.extend(["--bind", "127.0.0.1:1"]);
            assert!(
                Cli::try_parse_from(&args).is_err(),
                "{path:?} accepts --bind"
            );
        }
    }

    #[test]
    fn serve_bind_overrides_the_listen_address() {
        let cli = Cli::try_parse_from([
            "ecohub",
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--data-dir",
            "d",
        ])
        .unwrap();
        let Command::Serve { args, demo: false } = cli.command else {
            panic!("serve parses as serve");
        };
        let overrides = args.overrides();
        assert_eq!(overrides.bind, Some("127.0.0.1:0".parse().unwrap()));
        assert_eq!(overrides.data_dir, Some("d".into()));
    }
}
