//! A real server on a free loopback port over a temporary SQLite store, and a small
//! JSON client for it.

#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use dream_server::{AppState, Server, ServerConfig};
use dream_store::Store;
use dream_store::sqlite::{OpenMode, SqliteStore};
use dream_types::{Clock, FixedClock, RandomIds, SystemClock, Timestamp};
use serde_json::Value;

/// A running server.
pub struct TestServer {
    pub base: String,
    pub store: Arc<SqliteStore>,
    pub state: AppState,
    pub http: reqwest::Client,
    pub key: Option<String>,
    dir: Option<tempfile::TempDir>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    handle: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

/// How to start one.
pub struct Options {
    /// Create an admin key first (the server then requires keys).
    pub with_admin_key: bool,
    /// A fixed clock instead of the system's.
    pub clock: Option<Arc<FixedClock>>,
    /// Adjust the configuration.
    pub config: Box<dyn FnOnce(&mut ServerConfig) + Send>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            with_admin_key: false,
            clock: None,
            config: Box::new(|_| {}),
        }
    }
}

impl TestServer {
    /// An open server (no keys) with the system clock.
    pub async fn start() -> Self {
        Self::start_with(Options::default()).await
    }

    /// A server with options.
    pub async fn start_with(options: Options) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let clock: Arc<dyn Clock> = match &options.clock {
            Some(clock) => Arc::clone(clock) as Arc<dyn Clock>,
            None => Arc::new(SystemClock),
        };
        let store = Arc::new(
            SqliteStore::open_with(
                &dir.path().join("dream.db"),
                OpenMode::Create,
                Arc::clone(&clock),
                Arc::new(RandomIds),
            )
            .await
            .expect("store"),
        );
        Self::serve(dir, store, clock, options).await
    }

    /// Serves an existing store (for restart tests).
    pub async fn serve(
        dir: tempfile::TempDir,
        store: Arc<SqliteStore>,
        clock: Arc<dyn Clock>,
        options: Options,
    ) -> Self {
        let key = if options.with_admin_key {
            let created = dream_server::auth::create_key(
                store.as_ref(),
                "admin",
                vec![dream_types::Scope::Admin],
            )
            .await
            .expect("key");
            Some(created.secret)
        } else {
            None
        };
        let mut config = ServerConfig::new("127.0.0.1:0".parse().expect("addr"));
        config.scheduler_tick = Duration::from_millis(50);
        (options.config)(&mut config);
        let server = Server::bind(store.clone() as Arc<dyn Store>, clock, config)
            .await
            .expect("bind");
        let addr = server.local_addr().expect("addr");
        let state = server.state().clone();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let handle = tokio::spawn(server.run(async {
            let _ = rx.await;
        }));
        Self {
            base: format!("http://{addr}"),
            store,
            state,
            http: reqwest::Client::new(),
            key,
            dir: Some(dir),
            shutdown: Some(tx),
            handle: Some(handle),
        }
    }

    /// Stops the server and returns its store directory and store (to serve again).
    pub async fn stop(mut self) -> (tempfile::TempDir, Arc<SqliteStore>) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(handle) = self.handle.take() {
            let _ = handle.await;
        }
        let dir = self.dir.take().expect("dir");
        (dir, Arc::clone(&self.store))
    }

    /// Sends a request with the server's key (if any); returns status and JSON body.
    pub async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        self.call_as(self.key.as_deref(), method, path, body).await
    }

    /// Sends a request with `key`.
    pub async fn call_as(
        &self,
        key: Option<&str>,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(key) = key {
            request = request.header("x-api-key", key);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("send");
        let status = response.status().as_u16();
        let text = response.text().await.expect("body");
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        (status, value)
    }

    /// GET, expecting 200.
    pub async fn get(&self, path: &str) -> Value {
        let (status, body) = self.call("GET", path, None).await;
        assert_eq!(status, 200, "GET {path}: {body}");
        body
    }

    /// POST, expecting 200.
    pub async fn post(&self, path: &str, body: Value) -> Value {
        let (status, out) = self.call("POST", path, Some(body)).await;
        assert_eq!(status, 200, "POST {path}: {out}");
        out
    }

    /// Polls a dream until its status is final; returns it.
    pub async fn wait_dream(&self, id: &str) -> Value {
        for _ in 0..600 {
            let dream = self.get(&format!("/v1/dreams/{id}")).await;
            if matches!(
                dream["status"].as_str(),
                Some("completed" | "failed" | "canceled")
            ) {
                return dream;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("dream {id} did not finish in 30 s");
    }
}

/// A fixed clock at `at` (RFC 3339).
pub fn fixed_clock(at: &str) -> Arc<FixedClock> {
    Arc::new(FixedClock::new(Timestamp::parse(at).expect("time")))
}

/// `../shared/data/<name>` when present (CI has it; a bare checkout may not).
pub fn shared_data(name: &str) -> Option<std::path::PathBuf> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data")
        .join(name);
    if path.exists() {
        Some(path)
    } else {
        // CI always has ../shared: a silent skip there would hide a broken test.
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{} is absent and CI=true: the real-data tests cannot run",
            path.display()
        );
        eprintln!(
            "skipped: {} is absent (CI always has ../shared)",
            path.display()
        );
        None
    }
}

/// Asserts an Anthropic error body with this status and type.
pub fn assert_error(status: u16, body: &Value, want_status: u16, want_type: &str) {
    assert_eq!(status, want_status, "{body}");
    assert_eq!(body["type"], "error", "{body}");
    assert_eq!(body["error"]["type"], want_type, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{body}"
    );
}
