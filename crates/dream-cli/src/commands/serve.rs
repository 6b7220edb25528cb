//! `dream serve`: the HTTP API (see the `dream-server` crate and README "Server").

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use dream_server::{Server, ServerConfig};
use dream_store::{OpenMode, Store};

use super::{clock_and_ids, open_store};
use crate::error::{CliError, CliResult};
use crate::output::Output;

/// Test knob: milliseconds each dream sleeps per session while extracting.
pub const EXTRACT_DELAY_ENV: &str = "DREAM_TEST_EXTRACT_DELAY_MS";
/// Test knob: multiplies every webhook retry delay.
pub const RETRY_SCALE_ENV: &str = "DREAM_WEBHOOK_RETRY_SCALE";

/// Arguments of `dream serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on. Without API keys only a loopback address is allowed.
    #[arg(long, env = "DREAM_LISTEN", default_value = "127.0.0.1:8377")]
    listen: SocketAddr,
    /// Largest request body in bytes (a larger one is a 413).
    #[arg(long, default_value_t = 32 * 1024 * 1024, value_name = "BYTES")]
    max_body_bytes: usize,
    /// Dreams run at the same time; more wait as `pending`.
    #[arg(long, default_value_t = 2, value_name = "N")]
    dream_workers: usize,
    /// Seconds between scheduler checks for due dream schedules.
    #[arg(long, default_value_t = 30, value_name = "SECS")]
    scheduler_tick: u64,
    /// A host name requests may use to reach the server besides its listen address
    /// (repeatable): `NAME` on any port, or `NAME:PORT`. Requests naming another host
    /// in `Host` or `Origin` are refused (DNS rebinding, cross-site requests).
    #[arg(long = "allowed-host", value_name = "NAME")]
    allowed_hosts: Vec<String>,
    /// Without API keys, let webhooks point at hosts other than this machine
    /// (by default an open server delivers only to localhost, 127.0.0.1 and [::1]).
    #[arg(long)]
    allow_remote_webhooks: bool,
}

fn env_number<T: std::str::FromStr>(name: &str) -> CliResult<Option<T>> {
    match std::env::var(name) {
        Ok(text) => text.trim().parse().map(Some).map_err(|_| {
            CliError::usage(
                "invalid_request_error",
                format!("{name}={text:?} is not a number"),
            )
        }),
        Err(_) => Ok(None),
    }
}

/// Serves until interrupted (Ctrl-C or SIGTERM), then finishes in-flight requests.
pub async fn cmd_serve(db: &Path, args: ServeArgs, out: Output) -> CliResult<u8> {
    let store: Arc<dyn Store> = Arc::new(open_store(db, OpenMode::Create).await?);
    let (clock, _) = clock_and_ids()?;
    let mut config = ServerConfig::new(args.listen);
    config.max_body_bytes = args.max_body_bytes;
    config.dream_workers = args.dream_workers.max(1);
    config.scheduler_tick = Duration::from_secs(args.scheduler_tick.max(1));
    config.allowed_hosts = args.allowed_hosts;
    config.allow_remote_webhooks = args.allow_remote_webhooks;
    if let Some(ms) = env_number::<u64>(EXTRACT_DELAY_ENV)? {
        config.test_extract_delay = Some(Duration::from_millis(ms));
    }
    if let Some(scale) = env_number::<f64>(RETRY_SCALE_ENV)? {
        config.webhook_retry_scale = scale;
    }
    let server = Server::bind(store, clock, config)
        .await
        .map_err(|err| match err {
            dream_server::StartError::Store(store) => store.into(),
            other => CliError::usage(other.code(), other.to_string()),
        })?;
    let addr = server.local_addr()?;
    let auth = if server.is_open() {
        "OPEN: no API keys, loopback only"
    } else {
        "API keys required (x-api-key)"
    };
    if out.json {
        out.json(&serde_json::json!({
            "listening": format!("http://{addr}"),
            "open": server.is_open(),
            "db": db.display().to_string(),
        }))?;
    }
    eprintln!(
        "dream serve: listening on http://{addr} ({auth}); store {}",
        db.display()
    );
    server
        .run(shutdown_signal())
        .await
        .map_err(|err| CliError::Internal(format!("server stopped: {err}")))?;
    eprintln!("dream serve: stopped");
    Ok(0)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
