//! Outcomes over HTTP: configuration, linked imports, metrics, comparison (JSON and
//! HTML), and the regression watch with its events and rollback.

use dream_store::Store as _;
use serde_json::{Value, json};

use crate::common::{TestServer, assert_error, shared_data};

/// Canonical JSONL of `n` sessions, the first `ok` with reward 1.
fn sessions(prefix: &str, n: usize, ok: usize) -> String {
    (0..n)
        .map(|i| {
            json!({
                "id": format!("{prefix}-{i}"),
                "agent": "support",
                "started_at": format!("2026-03-{:02}T10:00:00Z", 1 + i % 28),
                "messages": [
                    {"role": "user", "content": "please refund my order"},
                    {"role": "assistant", "content": "Done."}
                ],
                "reward": if i < ok { 1.0 } else { 0.0 },
            })
            .to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

async fn import(server: &TestServer, body: String, store: &str, version: u64) -> Value {
    let response = server
        .http
        .post(format!(
            "{}/v1/sessions/import?memory_store_id={store}&memory_version={version}",
            server.base
        ))
        .header("content-type", "application/x-ndjson")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_regression_after_an_applied_dream_is_announced_and_rolled_back() {
    let server = TestServer::start().await;
    let Some(claude) = shared_data("claude-code") else {
        return;
    };
    dream_ingest::Ingestor::new(
        server.store.as_ref(),
        dream_ingest::IngestOptions::default(),
        &dream_ingest::NoProgress,
    )
    .ingest(&[dream_ingest::InputPath::Path(claude)])
    .await
    .unwrap();
    let store = server
        .post("/v1/memory_stores", json!({"name": "agent"}))
        .await;
    let sid = store["id"].as_str().unwrap().to_owned();
    server
        .post(
            &format!("/v1/memory_stores/{sid}/memories"),
            json!({"path": "/notes.md", "content": "- be brief\n"}),
        )
        .await;
    // A webhook only to see the events land in the outbox.
    let hook = server
        .post("/v1/webhooks", json!({"url": "http://127.0.0.1:9/none", "events": ["outcomes.regressed", "memory_store.restored"]}))
        .await;

    let config = server
        .post(
            &format!("/v1/memory_stores/{sid}/outcomes_config"),
            json!({"outcomes": [{"name": "resolved", "signal": "high"}], "policy": {"auto_rollback": true, "min_sessions": 30, "metrics": ["task_completion"]}}),
        )
        .await;
    assert_eq!(
        config["policy"]["watch"], true,
        "defaults fill what is left out"
    );
    let (status, out) = server
        .call(
            "POST",
            &format!("/v1/memory_stores/{sid}/outcomes_config"),
            Some(json!({"outcomes": [{"name": "Bad Name"}]})),
        )
        .await;
    assert_error(status, &out, 400, "invalid_request_error");
    assert_eq!(out["error"]["code"], "invalid_config");

    // A dream applied to the store itself.
    let ids: Vec<String> = server.get("/v1/sessions?limit=20").await["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect();
    let created = server
        .post(
            "/v1/dreams",
            json!({"inputs": [{"type": "memory_store", "memory_store_id": sid}, {"type": "sessions", "session_ids": ids}],
                   "model": "dream-local", "output_behavior": {"type": "update_existing", "memory_store_id": sid}}),
        )
        .await;
    let dream_id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(server.wait_dream(&dream_id).await["status"], "completed");
    let applied = server
        .post(
            &format!("/v1/dreams/{dream_id}/proposal/approve"),
            json!({}),
        )
        .await;
    let first = applied["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["store_version"].as_u64().unwrap())
        .min()
        .unwrap();

    // Sessions before it succeed, sessions after it fail.
    let report = import(&server, sessions("before", 40, 34), &sid, first - 1).await;
    assert_eq!(report["counts"]["created"], 40);
    import(&server, sessions("after", 40, 8), &sid, first).await;
    let (status, out) = server
        .call(
            "POST",
            &format!("/v1/sessions/import?memory_store_id={sid}&memory_version=999"),
            Some(json!([])),
        )
        .await;
    assert_error(status, &out, 400, "invalid_request_error");

    let compared = server
        .get(&format!("/v1/memory_stores/{sid}/outcomes/compare?baseline={dream_id}&candidate={dream_id}&metrics=task_completion"))
        .await;
    assert_eq!(compared["comparisons"][0]["verdict"], "regressed");
    assert_eq!(compared["candidate"]["sessions"], 40);
    let html = server
        .http
        .get(format!(
            "{}/v1/memory_stores/{sid}/outcomes/compare?baseline=v1&candidate=v{first}&format=html",
            server.base
        ))
        .send()
        .await
        .unwrap();
    assert!(
        html.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let page = html.text().await.unwrap();
    assert!(page.contains("<svg class=\"chart\" data-metric=\"task_completion\""));

    // The server's own watch loop may judge first; asking for a pass is idempotent.
    let watched = server
        .post(
            &format!("/v1/memory_stores/{sid}/outcomes/watch"),
            json!({}),
        )
        .await;
    assert_eq!(watched["type"], "outcomes_watch");
    let listed = server
        .get(&format!("/v1/memory_stores/{sid}/regression_checks"))
        .await;
    let checks = listed["data"].as_array().unwrap();
    assert_eq!(checks.len(), 1, "one check per dream: {listed}");
    let check = &checks[0];
    assert_eq!(check["dream_id"], dream_id.as_str());
    assert_eq!(check["verdict"], "regressed");
    assert_eq!(check["action"], "rolled_back");
    assert_eq!(check["restored_to_version"], first - 1);
    let memories = server
        .get(&format!("/v1/memory_stores/{sid}/memories"))
        .await;
    let paths: Vec<&str> = memories["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["/notes.md"], "the dream's lessons were rolled back");

    let hook_id = hook["id"].as_str().unwrap().parse().unwrap();
    let deliveries = server.store.list_deliveries(&hook_id, 10).await.unwrap();
    let kinds: Vec<&str> = deliveries.iter().map(|d| d.event_type.as_str()).collect();
    assert!(kinds.contains(&"outcomes.regressed"), "{kinds:?}");
    assert!(kinds.contains(&"memory_store.restored"), "{kinds:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_metrics_are_read_and_custom_ones_recorded() {
    let server = TestServer::start().await;
    let store = server.post("/v1/memory_stores", json!({"name": "a"})).await;
    let sid = store["id"].as_str().unwrap().to_owned();
    server
        .post(
            &format!("/v1/memory_stores/{sid}/memories"),
            json!({"path": "/a.md", "content": "x"}),
        )
        .await;
    let report = import(&server, sessions("s", 1, 1), &sid, 1).await;
    let session = report["sessions"][0]["session_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let recorded = server
        .post(
            &format!("/v1/sessions/{session}/metrics"),
            json!({"name": "csat", "value": 4.5}),
        )
        .await;
    assert_eq!(recorded["source"], "custom");
    let (status, out) = server
        .call(
            "POST",
            &format!("/v1/sessions/{session}/metrics"),
            Some(json!({"name": "error_rate", "value": 1})),
        )
        .await;
    assert_error(status, &out, 400, "invalid_request_error");
    let metrics = server.get(&format!("/v1/sessions/{session}/metrics")).await;
    let names: Vec<&str> = metrics["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"task_completion") && names.contains(&"csat"),
        "{names:?}"
    );
    assert_eq!(metrics["memory_version"]["version"], 1);
}
