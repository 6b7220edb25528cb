//! Webhooks over HTTP: CRUD and validation, and real deliveries to a receiver started
//! inside the test — signed, retried on failure, held while disabled, kept while the
//! receiver is down.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a failed unwrap is a failed test, with its location"
)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use dream_server::webhooks::sign::verify_headers;
use serde_json::{Value, json};
use tokio::net::TcpListener;

use crate::common::{Options, TestServer, assert_error};

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Received {
    headers: HeaderMap,
    body: Bytes,
    answered: u16,
}

/// A webhook receiver that answers 500 to its first `fail_first` requests and 200
/// after, recording every request.
#[derive(Debug)]
struct Receiver {
    fail_first: usize,
    seen: Mutex<Vec<Received>>,
}

impl Receiver {
    fn requests(&self) -> Vec<Received> {
        self.seen.lock().unwrap().clone()
    }

    fn accepted(&self) -> Vec<Received> {
        self.requests()
            .into_iter()
            .filter(|r| r.answered == 200)
            .collect()
    }
}

async fn hook(
    State(receiver): State<Arc<Receiver>>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, &'static str) {
    let mut seen = receiver.seen.lock().unwrap();
    let status = if seen.len() < receiver.fail_first {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::OK
    };
    seen.push(Received {
        headers,
        body,
        answered: status.as_u16(),
    });
    (status, if status.is_success() { "ok" } else { "boom" })
}

/// Serves a receiver on `listener`; returns it and its URL.
fn serve_receiver(listener: TcpListener, fail_first: usize) -> (Arc<Receiver>, String) {
    let addr = listener.local_addr().unwrap();
    let receiver = Arc::new(Receiver {
        fail_first,
        seen: Mutex::new(Vec::new()),
    });
    let app = Router::new()
        .route("/hook", post(hook))
        .with_state(Arc::clone(&receiver));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (receiver, format!("http://{addr}/hook"))
}

async fn start_receiver(fail_first: usize) -> (Arc<Receiver>, String) {
    serve_receiver(TcpListener::bind("127.0.0.1:0").await.unwrap(), fail_first)
}

async fn start_server(retry_scale: f64) -> TestServer {
    TestServer::start_with(Options {
        config: Box::new(move |c| c.webhook_retry_scale = retry_scale),
        ..Options::default()
    })
    .await
}

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Creates a webhook for `memory_store.restored` (and `dream.completed`); returns it,
/// secret included.
async fn create_webhook(server: &TestServer, url: &str) -> Value {
    server
        .post(
            "/v1/webhooks",
            json!({"url": url, "events": ["dream.completed", "memory_store.restored"]}),
        )
        .await
}

/// Causes one `memory_store.restored` event: a new store, one memory, a restore to
/// version 0. Returns the store's id.
async fn restore_event(server: &TestServer) -> String {
    let store = server
        .post("/v1/memory_stores", json!({"name": "hooked"}))
        .await;
    let sid = store["id"].as_str().unwrap().to_owned();
    server
        .post(
            &format!("/v1/memory_stores/{sid}/memories"),
            json!({"path": "/notes/a.md", "content": "hello"}),
        )
        .await;
    let restored = server
        .post(
            &format!("/v1/memory_stores/{sid}/restore"),
            json!({"store_version": 0}),
        )
        .await;
    assert_eq!(restored["changed"], 1, "{restored}");
    sid
}

/// Polls a webhook's delivery log until `done` holds for its `data`; returns it.
async fn wait_deliveries(
    server: &TestServer,
    webhook_id: &str,
    what: &str,
    done: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let mut last = Vec::new();
    for _ in 0..300 {
        let page = server
            .get(&format!("/v1/webhooks/{webhook_id}/deliveries?limit=100"))
            .await;
        last = page["data"].as_array().cloned().unwrap_or_default();
        if done(&last) {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("waited 15 s for {what}; the log is {}", json!(last));
}

fn status_is(deliveries: &[Value], status: &str) -> bool {
    !deliveries.is_empty() && deliveries.iter().all(|d| d["status"] == status)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_is_retried_until_accepted_signed_and_delivered_once() {
    let server = start_server(0.001).await;
    let (receiver, url) = start_receiver(2).await;
    let webhook = create_webhook(&server, &url).await;
    let wid = webhook["id"].as_str().unwrap();
    let secret = webhook["secret"].as_str().unwrap();
    let sid = restore_event(&server).await;

    let log = wait_deliveries(&server, wid, "the delivery", |d| status_is(d, "delivered")).await;
    assert_eq!(log.len(), 1, "{log:?}");
    let delivery = &log[0];
    assert_eq!(delivery["type"], "webhook_delivery");
    assert_eq!(delivery["event_type"], "memory_store.restored");
    assert_eq!(delivery["webhook_id"], wid);
    assert!(delivery["delivered_at"].is_string(), "{delivery}");
    assert_eq!(delivery["next_attempt_at"], Value::Null);
    assert_eq!(delivery["payload"], Value::Null, "payloads only on request");
    let attempts = delivery["attempts"].as_array().unwrap();
    let summary: Vec<(u64, Value)> = attempts
        .iter()
        .map(|a| (a["attempt"].as_u64().unwrap(), a["status_code"].clone()))
        .collect();
    assert_eq!(
        summary,
        [(1, json!(500)), (2, json!(500)), (3, json!(200))],
        "two failures, then delivered: {delivery}"
    );
    assert!(
        attempts[0]["error"]
            .as_str()
            .is_some_and(|e| e.contains("500") && e.contains("boom")),
        "{delivery}"
    );
    assert_eq!(attempts[2]["error"], Value::Null);

    // Every request, failed ones included, is signed, carries the same id, and is
    // the event; exactly one was accepted.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let requests = receiver.requests();
    assert_eq!(requests.len(), 3, "no request after the 2xx");
    assert_eq!(receiver.accepted().len(), 1);
    for request in &requests {
        verify_headers(secret, &request.headers, &request.body, now_secs())
            .unwrap_or_else(|e| panic!("signature: {e}"));
        assert_eq!(
            request.headers["webhook-id"],
            delivery["id"].as_str().unwrap()
        );
        assert_eq!(request.headers["content-type"], "application/json");
        assert!(
            request.headers["user-agent"]
                .to_str()
                .unwrap()
                .starts_with("dream-webhooks/")
        );
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        assert_eq!(body["type"], "memory_store.restored");
        assert_eq!(body["data"]["memory_store_id"], sid.as_str());
        assert!(body["timestamp"].is_string(), "{body}");
    }

    let full = server
        .get(&format!(
            "/v1/webhooks/{wid}/deliveries?include_payload=true"
        ))
        .await;
    let sent: Value = serde_json::from_slice(&requests[2].body).unwrap();
    assert_eq!(
        full["data"][0]["payload"], sent,
        "the log shows what was sent"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_are_created_listed_updated_and_deleted_with_the_secret_shown_once() {
    // An open server allows remote targets only when told to (see `guard.rs` tests).
    let server = TestServer::start_with(Options {
        config: Box::new(|config| config.allow_remote_webhooks = true),
        ..Options::default()
    })
    .await;
    let bad = [
        (
            json!({"url": "ftp://example.com/x", "events": ["dream.completed"]}),
            "invalid_url",
        ),
        (
            json!({"url": "not a url", "events": ["dream.completed"]}),
            "invalid_url",
        ),
        (
            json!({"url": "https://example.com/x", "events": []}),
            "invalid_events",
        ),
        (
            json!({"url": "https://example.com/x", "events": ["dream.completed"], "secret": "hunter2"}),
            "invalid_secret",
        ),
        (
            json!({"url": "https://example.com/x", "events": ["dream.completed"], "secret": "whsec_c2hvcnQ="}),
            "invalid_secret",
        ),
        (
            json!({"url": "https://example.com/x", "events": ["dream.completed"], "color": "red"}),
            "invalid_json",
        ),
    ];
    for (body, code) in bad {
        let (status, out) = server.call("POST", "/v1/webhooks", Some(body)).await;
        assert_error(status, &out, 400, "invalid_request_error");
        assert_eq!(out["error"]["code"], code, "{out}");
    }
    let (status, out) = server
        .call(
            "POST",
            "/v1/webhooks",
            Some(json!({"url": "https://example.com/x", "events": ["dream.started"]})),
        )
        .await;
    assert_error(status, &out, 400, "invalid_request_error");
    let message = out["error"]["message"].as_str().unwrap();
    for event in dream_types::WEBHOOK_EVENTS {
        assert!(message.contains(event), "{message}");
    }

    let given = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let first = server
        .post(
            "/v1/webhooks",
            json!({"url": "https://example.com/a", "events": ["dream.completed"], "secret": given, "description": "ops"}),
        )
        .await;
    assert_eq!(first["type"], "webhook");
    assert!(first["id"].as_str().unwrap().starts_with("whk_"));
    assert_eq!(first["secret"], given);
    assert_eq!(first["secret_hint"], "whsec_MfKQ…");
    assert_eq!(first["enabled"], true);
    assert_eq!(first["description"], "ops");
    let second = server
        .post(
            "/v1/webhooks",
            json!({"url": "http://127.0.0.1:9/b", "events": ["proposal.created"], "enabled": false}),
        )
        .await;
    let generated = second["secret"].as_str().unwrap();
    dream_server::webhooks::sign::decode_secret(generated).unwrap();
    assert_eq!(second["enabled"], false);
    let (a, b) = (
        first["id"].as_str().unwrap(),
        second["id"].as_str().unwrap(),
    );

    let got = server.get(&format!("/v1/webhooks/{a}")).await;
    assert_eq!(got["secret"], Value::Null, "the secret is shown once");
    assert_eq!(got["secret_hint"], "whsec_MfKQ…");
    assert_eq!(got["url"], "https://example.com/a");

    let page = server.get("/v1/webhooks?limit=1").await;
    assert_eq!(page["data"][0]["id"], b, "newest first");
    assert_eq!(page["data"][0]["secret"], Value::Null);
    let next = page["next_page"].as_str().unwrap();
    let page = server
        .get(&format!("/v1/webhooks?limit=1&page={next}"))
        .await;
    assert_eq!(page["data"][0]["id"], a);
    assert_eq!(page["next_page"], Value::Null);
    let (status, out) = server.call("GET", "/v1/webhooks?limit=0", None).await;
    assert_error(status, &out, 400, "invalid_request_error");

    let updated = server
        .post(
            &format!("/v1/webhooks/{a}"),
            json!({"events": ["dream.failed", "outcomes.regressed"], "enabled": false}),
        )
        .await;
    assert_eq!(
        updated["events"],
        json!(["dream.failed", "outcomes.regressed"])
    );
    assert_eq!(updated["enabled"], false);
    assert_eq!(updated["url"], "https://example.com/a", "left out, kept");
    assert_eq!(updated["description"], "ops");
    assert_eq!(updated["secret"], Value::Null);
    let rotated = server
        .post(&format!("/v1/webhooks/{a}"), json!({"rotate_secret": true}))
        .await;
    let new_secret = rotated["secret"].as_str().unwrap();
    assert_ne!(new_secret, given);
    assert_eq!(
        rotated["secret_hint"],
        format!("{}…", &new_secret[..10]),
        "{rotated}"
    );
    assert_eq!(
        server.get(&format!("/v1/webhooks/{a}")).await["secret"],
        Value::Null
    );
    let (status, out) = server
        .call(
            "POST",
            &format!("/v1/webhooks/{a}"),
            Some(json!({"url": "mailto:ops@example.com"})),
        )
        .await;
    assert_error(status, &out, 400, "invalid_request_error");
    assert_eq!(out["error"]["code"], "invalid_url");

    let deleted = server
        .call("DELETE", &format!("/v1/webhooks/{a}"), None)
        .await;
    assert_eq!(deleted, (200, json!({"type": "webhook_deleted", "id": a})));
    for (method, path) in [
        ("GET", format!("/v1/webhooks/{a}")),
        ("DELETE", format!("/v1/webhooks/{a}")),
        ("GET", format!("/v1/webhooks/{a}/deliveries")),
        ("POST", format!("/v1/webhooks/{a}")),
        ("GET", "/v1/webhooks/nope".to_owned()),
        ("GET", "/v1/webhooks/whk_nope/deliveries".to_owned()),
    ] {
        let body = (method == "POST").then(|| json!({"enabled": true}));
        let (status, out) = server.call(method, &path, body).await;
        assert_error(status, &out, 404, "not_found_error");
    }

    let openapi = server.get("/openapi.json").await;
    for path in [
        "/v1/webhooks",
        "/v1/webhooks/{webhook_id}",
        "/v1/webhooks/{webhook_id}/deliveries",
    ] {
        assert!(openapi["paths"][path].is_object(), "{path} documented");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_webhook_gets_nothing_new_until_enabled() {
    let server = start_server(0.001).await;
    let (on, on_url) = start_receiver(0).await;
    let (off, off_url) = start_receiver(0).await;
    let on_hook = create_webhook(&server, &on_url).await;
    let off_hook = create_webhook(&server, &off_url).await;
    let (on_id, off_id) = (
        on_hook["id"].as_str().unwrap(),
        off_hook["id"].as_str().unwrap(),
    );
    server
        .post(&format!("/v1/webhooks/{off_id}"), json!({"enabled": false}))
        .await;

    restore_event(&server).await;
    wait_deliveries(&server, on_id, "the enabled webhook's delivery", |d| {
        status_is(d, "delivered")
    })
    .await;
    let log = server
        .get(&format!("/v1/webhooks/{off_id}/deliveries"))
        .await;
    assert_eq!(
        log["data"],
        json!([]),
        "nothing queued for a disabled webhook"
    );
    assert!(off.requests().is_empty());
    assert_eq!(on.accepted().len(), 1);

    server
        .post(&format!("/v1/webhooks/{off_id}"), json!({"enabled": true}))
        .await;
    let second = restore_event(&server).await;
    wait_deliveries(&server, off_id, "the re-enabled webhook's delivery", |d| {
        status_is(d, "delivered")
    })
    .await;
    let got = off.accepted();
    assert_eq!(got.len(), 1, "only the event after enabling");
    let body: Value = serde_json::from_slice(&got[0].body).unwrap();
    assert_eq!(body["data"]["memory_store_id"], second.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_that_is_down_gets_the_event_when_it_comes_up() {
    let server = start_server(0.001).await;
    // A port nothing listens on (yet).
    let addr: SocketAddr = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap()
    };
    let webhook = create_webhook(&server, &format!("http://{addr}/hook")).await;
    let wid = webhook["id"].as_str().unwrap();
    let secret = webhook["secret"].as_str().unwrap();
    restore_event(&server).await;

    let log = wait_deliveries(&server, wid, "two refused attempts", |d| {
        d.first()
            .and_then(|d| d["attempts"].as_array())
            .is_some_and(|a| a.len() >= 2)
    })
    .await;
    assert_eq!(log[0]["status"], "pending", "{}", log[0]);
    for attempt in log[0]["attempts"].as_array().unwrap() {
        assert_eq!(attempt["status_code"], Value::Null, "{attempt}");
        assert!(
            attempt["error"]
                .as_str()
                .is_some_and(|e| e.contains("cannot connect")),
            "{attempt}"
        );
    }

    let (receiver, _) = serve_receiver(TcpListener::bind(addr).await.unwrap(), 0);
    let log = wait_deliveries(&server, wid, "the delivery once the receiver is up", |d| {
        status_is(d, "delivered")
    })
    .await;
    let attempts = log[0]["attempts"].as_array().unwrap();
    assert_eq!(attempts.last().unwrap()["status_code"], 200);
    let got = receiver.accepted();
    assert_eq!(got.len(), 1);
    verify_headers(secret, &got[0].headers, &got[0].body, now_secs()).unwrap();
    assert_eq!(got[0].headers["webhook-id"], log[0]["id"].as_str().unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_fails_after_the_last_retry() {
    // 27.6 h × 1e-5 ≈ 1 s for the whole schedule.
    let server = start_server(0.000_01).await;
    let (receiver, url) = start_receiver(usize::MAX).await;
    let webhook = create_webhook(&server, &url).await;
    let wid = webhook["id"].as_str().unwrap();
    restore_event(&server).await;

    let log = wait_deliveries(&server, wid, "the delivery to fail", |d| {
        status_is(d, "failed")
    })
    .await;
    let attempts = log[0]["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 8, "1 + 7 retries: {}", log[0]);
    assert!(attempts.iter().all(|a| a["status_code"] == 500));
    assert_eq!(log[0]["next_attempt_at"], Value::Null);
    assert_eq!(log[0]["delivered_at"], Value::Null);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(receiver.requests().len(), 8, "nothing after giving up");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_delivery_log_pages_newest_first() {
    let server = start_server(0.001).await;
    let (_receiver, url) = start_receiver(0).await;
    let webhook = create_webhook(&server, &url).await;
    let wid = webhook["id"].as_str().unwrap();
    let mut stores = Vec::new();
    for _ in 0..3 {
        stores.push(restore_event(&server).await);
    }
    wait_deliveries(&server, wid, "three deliveries", |d| {
        d.len() == 3 && status_is(d, "delivered")
    })
    .await;

    let mut seen = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let path = match &next {
            Some(page) => {
                format!("/v1/webhooks/{wid}/deliveries?limit=1&include_payload=true&page={page}")
            }
            None => format!("/v1/webhooks/{wid}/deliveries?limit=1&include_payload=true"),
        };
        let page = server.get(&path).await;
        assert_eq!(page["data"].as_array().unwrap().len(), 1, "{page}");
        seen.push(page["data"][0]["payload"]["data"]["memory_store_id"].clone());
        match page["next_page"].as_str() {
            Some(page) => next = Some(page.to_owned()),
            None => break,
        }
    }
    stores.reverse();
    assert_eq!(seen, stores.iter().map(|s| json!(s)).collect::<Vec<_>>());
    let (status, out) = server
        .call(
            "GET",
            &format!("/v1/webhooks/{wid}/deliveries?page=bogus"),
            None,
        )
        .await;
    assert_error(status, &out, 400, "invalid_request_error");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_send_cut_short_by_a_crash_stays_in_the_log_beside_the_resend() {
    use dream_store::Store as _;
    use dream_types::Clock as _;

    let server = start_server(0.001).await;
    let (receiver, url) = start_receiver(0).await;
    let webhook = create_webhook(&server, &url).await;
    let wid = webhook["id"].as_str().unwrap().to_owned();
    let (dir, store) = server.stop().await;

    // While the server is down: a worker claimed an event, recorded its attempt,
    // sent it, and was killed before the answer was recorded (its lease is over).
    let now = dream_types::SystemClock.now();
    let delivery = store
        .enqueue_event(
            "memory_store.restored",
            &json!({"type": "memory_store.restored"}),
        )
        .await
        .unwrap()
        .remove(0);
    store.claim_due_deliveries(now, now, 10).await.unwrap();
    store
        .start_delivery_attempt(&delivery.id, now)
        .await
        .unwrap();

    let server = TestServer::serve(
        dir,
        store,
        Arc::new(dream_types::SystemClock),
        Options {
            config: Box::new(|c| c.webhook_retry_scale = 0.001),
            ..Options::default()
        },
    )
    .await;
    let log = wait_deliveries(&server, &wid, "the resend", |d| status_is(d, "delivered")).await;
    let attempts = log[0]["attempts"].as_array().unwrap();
    assert_eq!(
        attempts.len(),
        2,
        "the cut-short send and the resend: {log:?}"
    );
    assert_eq!(attempts[0]["attempt"], 1);
    assert_eq!(attempts[0]["in_flight"], false);
    assert_eq!(attempts[0]["status_code"], Value::Null);
    assert!(
        attempts[0]["error"]
            .as_str()
            .is_some_and(|e| e.starts_with("interrupted")),
        "{log:?}"
    );
    assert_eq!(attempts[1]["attempt"], 2);
    assert_eq!(attempts[1]["status_code"], 200);
    assert_eq!(receiver.accepted().len(), 1);
}
