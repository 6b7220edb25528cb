//! `dream`: the command-line tool. Thin glue over the library crates: it parses
//! arguments, opens the store, calls the library, and prints.

mod commands;
mod error;
mod output;
mod progress;
mod when;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use crate::commands::demo::DemoArgs;
use crate::commands::dreams::{DreamsCommand, RunArgs};
use crate::commands::ingest::IngestArgs;
use crate::commands::init::InitArgs;
use crate::commands::keys::KeysCommand;
use crate::commands::memory::MemoryArgs;
use crate::commands::outcomes::OutcomesCommand;
use crate::commands::proposals::ProposalsCommand;
use crate::commands::serve::ServeArgs;
use crate::commands::sessions::SessionsCommand;
use crate::commands::stores::StoresCommand;
use crate::error::CliError;
use crate::output::{Output, print_error};

/// Default store location, relative to the working directory.
const DEFAULT_DB: &str = ".dream/dream.db";

/// dream: memory consolidation for AI agents. Reads what agents did, finds what
/// recurs, and proposes reviewed changes to what they remember.
#[derive(Debug, Parser)]
#[command(name = "dream", version, max_term_width = 100)]
struct Cli {
    /// The store: a SQLite file, created by `dream init` or the first ingest.
    #[arg(long, global = true, env = "DREAM_DB", default_value = DEFAULT_DB, value_name = "PATH")]
    db: PathBuf,

    /// Print one JSON document on stdout instead of human text.
    #[arg(long, global = true)]
    json: bool,

    /// No progress bars or notes on stderr.
    #[arg(long, short, global = true)]
    quiet: bool,

    /// When to use colours.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    color: ColorChoice,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ColorChoice {
    /// Colours on a terminal, unless NO_COLOR is set.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Ingest transcripts and run a dream end to end: your ~/.claude/projects, else
    /// ../shared/data, else generated sessions (it says which).
    Demo(DemoArgs),
    /// Run a dream: mine the sessions for what recurs and propose memory changes.
    Run(RunArgs),
    /// List, show and cancel dreams.
    #[command(subcommand)]
    Dreams(DreamsCommand),
    /// Review proposals: show, approve, reject, accept some changes.
    #[command(subcommand)]
    Proposals(ProposalsCommand),
    /// Create the local store (default ./.dream/dream.db).
    Init(InitArgs),
    /// Read transcripts into the store: files, directories, or - for stdin.
    Ingest(IngestArgs),
    /// Browse stored sessions.
    #[command(subcommand)]
    Sessions(SessionsCommand),
    /// Create, list, show, update, archive and delete memory stores.
    #[command(subcommand)]
    Stores(StoresCommand),
    /// Read, write and version memories: ls, cat, write, edit, rm, mv, log, diff,
    /// restore, redact, export, import.
    Memory(MemoryArgs),
    /// Serve the HTTP API (Anthropic-compatible memory stores and dreams, review,
    /// schedules, webhooks) until interrupted.
    Serve(ServeArgs),
    /// Create, list and revoke API keys for `dream serve`.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Did a dream help? Rubric, per-session metrics, before/after comparison, the
    /// regression watch.
    #[command(subcommand)]
    Outcomes(OutcomesCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.color {
        ColorChoice::Always => {
            console::set_colors_enabled(true);
            console::set_colors_enabled_stderr(true);
        }
        ColorChoice::Never => {
            console::set_colors_enabled(false);
            console::set_colors_enabled_stderr(false);
        }
        ColorChoice::Auto => {
            if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) {
                console::set_colors_enabled(false);
                console::set_colors_enabled_stderr(false);
            }
        }
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("DREAM_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();

    let out = Output {
        json: cli.json,
        quiet: cli.quiet,
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            print_error(
                &CliError::Internal(format!("cannot start: {err}")),
                cli.json,
            );
            return ExitCode::from(255);
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Demo(args) => commands::demo::cmd_demo(&cli.db, args, out).await,
            Command::Run(args) => commands::dreams::cmd_run(&cli.db, args, out).await,
            Command::Dreams(command) => commands::dreams::cmd_dreams(&cli.db, command, out).await,
            Command::Proposals(command) => {
                commands::proposals::cmd_proposals(&cli.db, command, out).await
            }
            Command::Init(args) => commands::init::cmd_init(&cli.db, args, out).await,
            Command::Ingest(args) => commands::ingest::cmd_ingest(&cli.db, args, out).await,
            Command::Sessions(command) => {
                commands::sessions::cmd_sessions(&cli.db, command, out).await
            }
            Command::Stores(command) => commands::stores::cmd_stores(&cli.db, command, out).await,
            Command::Memory(args) => commands::memory::cmd_memory(&cli.db, args, out).await,
            Command::Serve(args) => commands::serve::cmd_serve(&cli.db, args, out).await,
            Command::Keys(command) => commands::keys::cmd_keys(&cli.db, command, out).await,
            Command::Outcomes(command) => {
                commands::outcomes::cmd_outcomes(&cli.db, command, out).await
            }
        }
    });
    match result {
        Ok(code) => ExitCode::from(code),
        Err(CliError::BrokenPipe) => ExitCode::SUCCESS,
        Err(err) => {
            print_error(&err, cli.json);
            ExitCode::from(err.exit_code())
        }
    }
}
