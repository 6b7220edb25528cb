//! What every handler and background task shares.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use dream_store::Store;
use dream_types::{Clock, Timestamp};

use crate::outbox::Outbox;
use crate::runner::DreamRunner;

/// How to run the server. [`ServerConfig::new`] gives the defaults documented on
/// each field.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Address to listen on. Default `127.0.0.1:8377`. [`crate::Server::bind`] puts
    /// the bound address here (port 0 becomes the port picked), so the `Host` check
    /// ([`crate::guard`]) knows the real port.
    pub listen: SocketAddr,
    /// Host names, besides the listen address, that requests may name in `Host` and
    /// `Origin` (`dream serve --allowed-host NAME`, repeatable): a name matches on any
    /// port (a reverse proxy in front may use 443), `name:port` on that port only.
    /// Compared case-insensitively. Default none.
    pub allowed_hosts: Vec<String>,
    /// On an open server (no API keys), let webhooks point at any host
    /// (`dream serve --allow-remote-webhooks`). Default false: loopback targets only,
    /// so a process that can reach the open server cannot make it send memory
    /// events elsewhere. Ignored once keys exist (webhooks then need `admin`).
    pub allow_remote_webhooks: bool,
    /// Largest request body in bytes. Default 32 MiB (Anthropic's Messages API limit);
    /// a larger body is a 413 `request_too_large`.
    pub max_body_bytes: usize,
    /// Dreams run at the same time; more wait as `pending`. Default 2.
    pub dream_workers: usize,
    /// How often the scheduler looks for due slots. Default 30 s.
    pub scheduler_tick: Duration,
    /// Multiplies every webhook retry delay (1.0 in production: 5 s, 5 min, 30 min,
    /// 2 h, 5 h, 10 h, 10 h — about 27.6 h in all). Tests shrink it.
    pub webhook_retry_scale: f64,
    /// Test knob: sleep this long per session while extracting, so a test can cancel
    /// a dream that is visibly `running`. `None` (default) in production.
    pub test_extract_delay: Option<Duration>,
}

impl ServerConfig {
    /// Returns the defaults, listening on `listen`.
    pub fn new(listen: SocketAddr) -> Self {
        Self {
            listen,
            allowed_hosts: Vec::new(),
            allow_remote_webhooks: false,
            max_body_bytes: 32 * 1024 * 1024,
            dream_workers: 2,
            scheduler_tick: Duration::from_secs(30),
            webhook_retry_scale: 1.0,
            test_extract_delay: None,
        }
    }
}

/// Shared state: the store, the clock, and the background workers' handles.
#[derive(Debug, Clone)]
pub struct AppState(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    open: bool,
    config: ServerConfig,
    runner: DreamRunner,
    outbox: Outbox,
}

impl AppState {
    /// Builds the state. `open`: no API key is required (loopback only; checked by
    /// [`crate::serve`]).
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        open: bool,
        config: ServerConfig,
    ) -> Self {
        let outbox = Outbox::new();
        let runner = DreamRunner::new(config.dream_workers);
        Self(Arc::new(Inner {
            store,
            clock,
            open,
            config,
            runner,
            outbox,
        }))
    }

    /// The store.
    pub fn store(&self) -> &dyn Store {
        self.0.store.as_ref()
    }

    /// The store, shared (for background tasks).
    pub fn store_arc(&self) -> Arc<dyn Store> {
        Arc::clone(&self.0.store)
    }

    /// The clock.
    pub fn clock(&self) -> &dyn Clock {
        self.0.clock.as_ref()
    }

    /// The clock, shared.
    pub fn clock_arc(&self) -> Arc<dyn Clock> {
        Arc::clone(&self.0.clock)
    }

    /// The current time.
    pub fn now(&self) -> Timestamp {
        self.0.clock.now()
    }

    /// Whether requests without a key are allowed.
    pub fn open(&self) -> bool {
        self.0.open
    }

    /// The configuration.
    pub fn config(&self) -> &ServerConfig {
        &self.0.config
    }

    /// The dream job runner.
    pub fn runner(&self) -> &DreamRunner {
        &self.0.runner
    }

    /// The webhook outbox.
    pub fn outbox(&self) -> &Outbox {
        &self.0.outbox
    }
}
