//! Dreams and their review over HTTP, on the real Claude Code transcripts.

use std::time::Duration;

use dream_ingest::{IngestOptions, Ingestor, InputPath, NoProgress};
use dream_types::SessionFilter;
use serde_json::{Value, json};

use crate::common::{Options, TestServer, assert_error, shared_data};

/// Ingests `../shared/data/<name>` into the server's store; returns the top-level
/// session ids, or `None` when the data is absent.
async fn ingest(server: &TestServer, name: &str) -> Option<Vec<String>> {
    use dream_store::Store as _;
    let path = shared_data(name)?;
    Ingestor::new(server.store.as_ref(), IngestOptions::default(), &NoProgress)
        .ingest(&[InputPath::Path(path)])
        .await
        .expect("ingest");
    let sessions = server
        .store
        .list_sessions(&SessionFilter {
            top_level_only: true,
            ..SessionFilter::default()
        })
        .await
        .expect("sessions");
    Some(sessions.into_iter().map(|s| s.id.to_string()).collect())
}

fn dream_body(store: &str, sessions: &[String]) -> Value {
    json!({
        "inputs": [
            {"type": "memory_store", "memory_store_id": store},
            {"type": "sessions", "session_ids": sessions},
        ],
        "model": "dream-local",
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dream_runs_in_the_background_and_its_proposal_is_reviewed() {
    let server = TestServer::start().await;
    let Some(sessions) = ingest(&server, "claude-code").await else {
        return;
    };
    assert_eq!(sessions.len(), 5);
    let input = server
        .post("/v1/memory_stores", json!({"name": "agent"}))
        .await;
    let input_id = input["id"].as_str().unwrap_or_default().to_owned();

    let created = server
        .post("/v1/dreams", dream_body(&input_id, &sessions))
        .await;
    assert_eq!(created["type"], "dream");
    assert_eq!(created["status"], "pending");
    assert_eq!(created["outputs"], json!([]));
    assert_eq!(
        created["model"],
        json!({"id": "dream-local", "speed": "standard"})
    );
    let id = created["id"].as_str().unwrap_or_default().to_owned();
    let done = server.wait_dream(&id).await;
    assert_eq!(done["status"], "completed", "{done}");
    assert!(done["ended_at"].is_string());
    assert_eq!(done["usage"]["input_tokens"], 0);
    let output = done["outputs"][0]["memory_store_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(output.starts_with("memstore_") && output != input_id);
    assert_eq!(
        done["inputs"][1]["session_ids"].as_array().map(Vec::len),
        Some(5)
    );

    let proposal = server.get(&format!("/v1/dreams/{id}/proposal")).await;
    assert_eq!(proposal["type"], "proposal");
    let changes = proposal["changes"].as_array().cloned().unwrap_or_default();
    assert!(changes.len() >= 3, "lessons from five sessions: {proposal}");
    assert!(changes.iter().all(|c| c["review"]["status"] == "pending"));
    assert!(
        changes
            .iter()
            .any(|c| c["after"].as_str().unwrap_or("").contains("git push")),
        "the git push lesson is proposed"
    );
    // Review mode: nothing is written until approval.
    let before = server
        .get(&format!("/v1/memory_stores/{output}/memories"))
        .await;
    assert_eq!(before["data"], json!([]));

    let first = changes[0]["id"].as_str().unwrap_or_default().to_owned();
    let accepted = server
        .post(
            &format!("/v1/dreams/{id}/proposal/accept"),
            json!({"change_ids": [first]}),
        )
        .await;
    assert_eq!(accepted["applied"], json!([first]));
    let rejected = server
        .post(
            &format!("/v1/dreams/{id}/proposal/reject"),
            json!({"reason": "not now", "change_ids": [changes[1]["id"]]}),
        )
        .await;
    assert_eq!(rejected["rejected"].as_array().map(Vec::len), Some(1));
    let rest = server
        .post(&format!("/v1/dreams/{id}/proposal/approve"), json!({}))
        .await;
    assert_eq!(
        rest["applied"].as_array().map(Vec::len),
        Some(changes.len() - 2)
    );
    let after = server
        .get(&format!("/v1/memory_stores/{output}/memories?view=full"))
        .await;
    let text: String = after["data"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter_map(|m| m["content"].as_str().map(str::to_owned))
        .collect();
    assert!(text.contains("git push"), "{text}");
    let versions = server
        .get(&format!("/v1/memory_stores/{output}/memory_versions"))
        .await;
    assert_eq!(versions["data"][0]["created_by"]["type"], "dream_actor");
    // The input store is untouched (create_new).
    let input_after = server
        .get(&format!("/v1/memory_stores/{input_id}/memories"))
        .await;
    assert_eq!(input_after["data"], json!([]));

    // A finished dream cannot be canceled; it can be archived, once.
    let (status, body) = server
        .call("POST", &format!("/v1/dreams/{id}/cancel"), None)
        .await;
    assert_error(status, &body, 400, "invalid_request_error");
    let archived = server
        .post(&format!("/v1/dreams/{id}/archive"), json!({}))
        .await;
    assert!(archived["archived_at"].is_string());
    let again = server
        .post(&format!("/v1/dreams/{id}/archive"), json!({}))
        .await;
    assert_eq!(again["archived_at"], archived["archived_at"]);
    let listed = server.get("/v1/dreams").await;
    assert_eq!(listed["data"], json!([]));
    let listed = server
        .get("/v1/dreams?include_archived=true&statuses[]=completed")
        .await;
    assert_eq!(listed["data"][0]["id"], id.as_str());
    let none = server
        .get("/v1/dreams?include_archived=true&statuses[]=failed")
        .await;
    assert_eq!(none["data"], json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_running_dream_can_be_canceled_and_stays_canceled() {
    let server = TestServer::start_with(Options {
        config: Box::new(|c| c.test_extract_delay = Some(Duration::from_millis(400))),
        ..Options::default()
    })
    .await;
    let Some(sessions) = ingest(&server, "claude-code").await else {
        return;
    };
    let input = server.post("/v1/memory_stores", json!({"name": "a"})).await;
    let created = server
        .post(
            "/v1/dreams",
            dream_body(input["id"].as_str().unwrap_or_default(), &sessions),
        )
        .await;
    let id = created["id"].as_str().unwrap_or_default().to_owned();
    let mut seen_running = false;
    for _ in 0..100 {
        let dream = server.get(&format!("/v1/dreams/{id}")).await;
        if dream["status"] == "running" {
            seen_running = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(seen_running, "the dream never showed as running");
    let canceled = server
        .post(&format!("/v1/dreams/{id}/cancel"), json!({}))
        .await;
    assert_eq!(canceled["status"], "canceled");
    assert!(canceled["ended_at"].is_string());
    let end = server.wait_dream(&id).await;
    assert_eq!(end["status"], "canceled");
    // The job noticed: it stopped without a proposal.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let later = server.get(&format!("/v1/dreams/{id}")).await;
    assert_eq!(later["status"], "canceled");
    assert_eq!(later["proposal_id"], json!(null));
    let again = server
        .post(&format!("/v1/dreams/{id}/cancel"), json!({}))
        .await;
    assert_eq!(again["status"], "canceled");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_dream_requests_are_clear_400s_and_lists_page() {
    let server = TestServer::start().await;
    let input = server.post("/v1/memory_stores", json!({"name": "a"})).await;
    let store = input["id"].as_str().unwrap_or_default().to_owned();
    let cases = [
        (
            json!({"inputs": [{"type": "memory_store", "memory_store_id": store}, {"type": "sessions", "session_ids": ["sesn_x"]}], "model": "claude-opus-4"}),
            "dream-local",
        ),
        (
            json!({"inputs": [{"type": "memory_store", "memory_store_id": store}], "model": "dream-local"}),
            "sessions entry",
        ),
        (
            json!({"inputs": [{"type": "sessions", "session_ids": ["sesn_x"]}], "model": "dream-local"}),
            "memory_store entry",
        ),
        (
            json!({"inputs": [{"type": "memory_store", "memory_store_id": store}, {"type": "sessions", "session_ids": []}], "model": "dream-local"}),
            "1 to 100",
        ),
        (
            json!({"inputs": [{"type": "memory_store", "memory_store_id": store}, {"type": "sessions", "session_ids": ["nope"]}], "model": "dream-local"}),
            "not a session id",
        ),
        (
            json!({"inputs": [{"type": "memory_store", "memory_store_id": store}, {"type": "sessions", "session_ids": ["sesn_x"]}], "model": {"id": "dream-local", "speed": "fast"}}),
            "speed",
        ),
        (
            json!({"inputs": [], "model": "dream-local", "colour": "blue"}),
            "colour",
        ),
    ];
    for (body, needle) in cases {
        let (status, out) = server.call("POST", "/v1/dreams", Some(body.clone())).await;
        assert_error(status, &out, 400, "invalid_request_error");
        assert!(
            out["error"]["message"]
                .as_str()
                .unwrap_or("")
                .contains(needle),
            "{body} → {out}"
        );
    }
    let (status, out) = server.call("GET", "/v1/dreams/drm_missing", None).await;
    assert_error(status, &out, 404, "not_found_error");
    let (status, out) = server
        .call("GET", "/v1/dreams?statuses[]=sleeping", None)
        .await;
    assert_error(status, &out, 400, "invalid_request_error");

    let Some(sessions) = ingest(&server, "claude-code").await else {
        return;
    };
    let mut ids = Vec::new();
    for _ in 0..5 {
        let created = server
            .post("/v1/dreams", dream_body(&store, &sessions))
            .await;
        ids.push(created["id"].as_str().unwrap_or_default().to_owned());
    }
    for id in &ids {
        server.wait_dream(id).await;
    }
    let mut seen = Vec::new();
    let mut url = "/v1/dreams?limit=2".to_owned();
    loop {
        let page = server.get(&url).await;
        seen.extend(
            page["data"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .iter()
                .map(|d| d["id"].as_str().unwrap_or_default().to_owned()),
        );
        match page["next_page"].as_str() {
            Some(next) => url = format!("/v1/dreams?limit=2&page={next}"),
            None => break,
        }
    }
    ids.reverse();
    let mut sorted_seen = seen.clone();
    sorted_seen.sort();
    let mut sorted_ids = ids.clone();
    sorted_ids.sort();
    assert_eq!(sorted_seen, sorted_ids, "every dream exactly once");
    let first = server.get(&format!("/v1/dreams/{}", seen[0])).await;
    let newer = server
        .get(&format!(
            "/v1/dreams?created_at[gt]={}",
            first["created_at"].as_str().unwrap_or_default()
        ))
        .await;
    assert_eq!(newer["data"], json!([]), "nothing is newer than the newest");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn window_filters_pick_one_agent_and_supersede_pending_retires_older_proposals() {
    use dream_store::Store as _;
    let server = TestServer::start().await;
    if ingest(&server, "claude-code").await.is_none()
        || ingest(
            &server,
            "tau-bench/historical_trajectories/gpt-4o-airline.json",
        )
        .await
        .is_none()
    {
        return;
    }
    let sessions = server
        .store
        .list_sessions(&SessionFilter::default())
        .await
        .expect("sessions");
    let coding = sessions
        .iter()
        .find(|s| s.source_kind == dream_types::SourceKind::ClaudeCode)
        .and_then(|s| s.agent.clone())
        .expect("a Claude Code session with an agent");
    let input = server
        .post("/v1/memory_stores", json!({"name": "agent"}))
        .await;
    let input_id = input["id"].as_str().unwrap_or_default().to_owned();
    let body = |supersede: bool| {
        json!({
            "inputs": [{"type": "memory_store", "memory_store_id": input_id}],
            "window": {"type": "all", "agents": [coding]},
            "model": "dream-local",
            "supersede_pending": supersede,
        })
    };
    let first = server.post("/v1/dreams", body(false)).await;
    let first_id = first["id"].as_str().unwrap_or_default().to_owned();
    let first = server.wait_dream(&first_id).await;
    assert_eq!(first["status"], "completed", "{first}");
    assert_eq!(
        first["counts"]["sessions_read"], 5,
        "only the coding agent's five sessions: {first}"
    );
    // The API keeps Anthropic's default: a new store, which names its source.
    let output = first["outputs"][0]["memory_store_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let output_store = server.get(&format!("/v1/memory_stores/{output}")).await;
    assert_eq!(output_store["derived_from"], input_id.as_str());

    let second = server.post("/v1/dreams", body(true)).await;
    let second_id = second["id"].as_str().unwrap_or_default().to_owned();
    assert_eq!(server.wait_dream(&second_id).await["status"], "completed");
    let old = server.get(&format!("/v1/dreams/{first_id}/proposal")).await;
    let changes = old["changes"].as_array().cloned().unwrap_or_default();
    assert!(!changes.is_empty());
    assert!(
        changes
            .iter()
            .all(|c| c["review"]["status"] == "superseded"),
        "{old}"
    );
    let approved = server
        .post(
            &format!("/v1/dreams/{first_id}/proposal/approve"),
            json!({}),
        )
        .await;
    assert_eq!(approved["applied"], json!([]), "{approved}");
    assert_eq!(approved["skipped"][0]["reason"], "already superseded");

    let (status, bad) = server
        .call(
            "POST",
            "/v1/dreams",
            Some(json!({
                "inputs": [{"type": "memory_store", "memory_store_id": input_id}],
                "window": {"type": "since", "seconds": 60, "agents": [""]},
                "model": "dream-local",
            })),
        )
        .await;
    assert_error(status, &bad, 400, "invalid_request_error");
}
