//! Sessions over HTTP: import (real tau-bench and Claude Code transcripts), list,
//! retrieve, events, and the errors a client sees.

use std::collections::{BTreeSet, HashMap};

use serde_json::{Value, json};

use crate::common::{TestServer, assert_error, shared_data};

/// `POST /v1/sessions/import{query}` with a raw body; returns status and JSON.
async fn import(server: &TestServer, query: &str, body: impl Into<reqwest::Body>) -> (u16, Value) {
    let response = server
        .http
        .post(format!("{}/v1/sessions/import{query}", server.base))
        .header("content-type", "application/x-ndjson")
        .body(body)
        .send()
        .await
        .unwrap_or_else(|e| panic!("import: {e}"));
    let status = response.status().as_u16();
    let value = response
        .json::<Value>()
        .await
        .unwrap_or_else(|e| panic!("import answered no JSON: {e}"));
    (status, value)
}

/// Walks every page of a list (`path` may hold a query); returns all items.
async fn walk(server: &TestServer, path: &str) -> Vec<Value> {
    let join = if path.contains('?') { '&' } else { '?' };
    let mut items = Vec::new();
    let mut page: Option<String> = None;
    for _ in 0..10_000 {
        let url = match &page {
            Some(p) => format!("{path}{join}page={p}"),
            None => path.to_owned(),
        };
        let body = server.get(&url).await;
        items.extend(body["data"].as_array().cloned().unwrap_or_default());
        match body["next_page"].as_str() {
            Some(next) => page = Some(next.to_owned()),
            None => return items,
        }
    }
    panic!("{path}: the list never ended");
}

fn ids(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|item| item["id"].as_str().unwrap_or_default().to_owned())
        .collect()
}

const TAU_BENCH: &str = "historical_trajectories/gpt-4o-airline.json";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tau_bench_imports_once_and_lists_every_run_exactly_once() {
    let Some(data) = shared_data("tau-bench") else {
        return;
    };
    let body = std::fs::read(data.join(TAU_BENCH)).unwrap();
    let server = TestServer::start().await;

    let (status, report) = import(&server, "?agent=gpt-4o-airline", body.clone()).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["counts"]["created"], 200, "{}", report["counts"]);
    assert_eq!(report["counts"]["skipped"], 0);
    assert_eq!(report["stopped_early"], false);
    let imported: BTreeSet<String> = report["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["session_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(imported.len(), 200);
    assert!(imported.iter().all(|id| id.starts_with("sesn_")));
    assert_eq!(
        report["sessions"][0]["source_session_id"], "stdin/task-0/trial-0",
        "a body is named as standard input is"
    );

    // The same body again changes nothing.
    let (status, again) = import(&server, "?agent=gpt-4o-airline", body).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["counts"]["unchanged"], 200, "{}", again["counts"]);
    assert_eq!(again["counts"]["created"], 0);
    assert_eq!(again["counts"]["events_written"], 0);

    // Paging walks every session exactly once, newest first, then oldest first.
    let first = server.get("/v1/sessions?limit=7").await;
    assert_eq!(first["data"].as_array().unwrap().len(), 7);
    assert_eq!(first["prev_page"], Value::Null);
    let newest_first = walk(&server, "/v1/sessions?limit=7").await;
    let listed = ids(&newest_first);
    assert_eq!(listed.len(), 200);
    assert_eq!(listed.iter().cloned().collect::<BTreeSet<_>>(), imported);
    let times: Vec<&str> = newest_first
        .iter()
        .map(|s| s["created_at"].as_str().unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "not newest first");
    let mut oldest_first = ids(&walk(&server, "/v1/sessions?limit=9&order=asc").await);
    oldest_first.reverse();
    assert_eq!(oldest_first, listed);

    // Filters.
    let by_agent = walk(&server, "/v1/sessions?agent_id=gpt-4o-airline&limit=100").await;
    assert_eq!(by_agent.len(), 200);
    for query in [
        "agent_id=someone-else",
        "statuses[]=running&statuses[]=idle",
        "agent_version=2",
        "memory_store_id=memstore_01jabcdefghjkmnpqrstvwxyz0",
    ] {
        let page = server.get(&format!("/v1/sessions?{query}")).await;
        assert_eq!(page["data"], json!([]), "{query}");
    }
    let terminated = server
        .get("/v1/sessions?statuses[]=idle&statuses[]=terminated&limit=3")
        .await;
    assert_eq!(terminated["data"].as_array().unwrap().len(), 3);
    let newest = times[0];
    let oldest = times[times.len() - 1];
    let after_newest = server
        .get(&format!("/v1/sessions?created_at[gt]={newest}"))
        .await;
    assert_eq!(after_newest["data"], json!([]));
    let at_newest = server
        .get(&format!("/v1/sessions?created_at[gte]={newest}"))
        .await;
    assert_eq!(at_newest["data"][0]["id"], newest_first[0]["id"]);
    let before_oldest = server
        .get(&format!("/v1/sessions?created_at[lt]={oldest}"))
        .await;
    assert_eq!(before_oldest["data"], json!([]));
    let window = walk(
        &server,
        &format!("/v1/sessions?created_at[gte]={oldest}&created_at[lte]={newest}&limit=100"),
    )
    .await;
    assert_eq!(window.len(), 200);

    // A failed run: its reward, its tool error, and the event that shows it.
    let failed = newest_first
        .iter()
        .find(|s| {
            s["tool_error_count"].as_u64().unwrap_or(0) > 0
                && s["outcomes"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|o| o["name"] == "reward" && o["value"] == 0.0)
        })
        .expect("a failed run with a tool error");
    let id = failed["id"].as_str().unwrap();
    let session = server.get(&format!("/v1/sessions/{id}")).await;
    assert_eq!(&session, failed, "retrieve and list agree");
    assert_eq!(session["type"], "session");
    assert_eq!(session["status"], "terminated");
    assert_eq!(session["agent"]["type"], "agent");
    assert_eq!(session["agent"]["name"], "gpt-4o-airline");
    assert_eq!(session["agent"]["id"], "gpt-4o-airline");
    assert_eq!(session["agent"]["tools"], json!([]));
    assert_eq!(session["source_kind"], "tau_bench");
    assert!(session["user"].is_string(), "{session}");
    assert!(session["metadata"]["task_id"].is_string(), "{session}");
    assert_eq!(
        session["outcome_evaluations"],
        json!([]),
        "a reward is not a verdict"
    );
    assert_eq!(session["archived_at"], Value::Null);
    assert_eq!(session["vault_ids"], json!([]));
    assert_eq!(session["parent_session_id"], Value::Null);
    assert_eq!(session["content_sha256"].as_str().unwrap().len(), 64);

    let events = walk(&server, &format!("/v1/sessions/{id}/events?limit=100")).await;
    assert_eq!(
        events.len() as u64,
        session["event_count"].as_u64().unwrap()
    );
    let indices: Vec<u64> = events
        .iter()
        .map(|e| e["index"].as_u64().unwrap())
        .collect();
    assert_eq!(indices, (0..events.len() as u64).collect::<Vec<_>>());
    assert_eq!(events[0]["type"], "system.message", "the airline policy");
    assert!(
        events.iter().all(
            |e| e["id"].as_str().unwrap().starts_with("sevt_") && e["processed_at"].is_string()
        )
    );
    let failures: Vec<&Value> = events
        .iter()
        .filter(|e| e["type"] == "agent.tool_result" && e["is_error"] == true)
        .collect();
    assert_eq!(
        failures.len() as u64,
        session["tool_error_count"].as_u64().unwrap()
    );
    let failure = failures[0];
    assert!(
        failure["content"][0]["text"]
            .as_str()
            .unwrap()
            .starts_with("Error"),
        "{failure}"
    );
    let call = events
        .iter()
        .find(|e| e["id"] == failure["tool_use_id"])
        .expect("the failed result names its tool use");
    assert_eq!(call["type"], "agent.tool_use");
    assert!(call["input"].is_object(), "{call}");
    assert!(call["name"].as_str().is_some_and(|n| !n.is_empty()));

    let only_results = walk(
        &server,
        &format!("/v1/sessions/{id}/events?types[]=agent.tool_result&limit=2"),
    )
    .await;
    assert!(!only_results.is_empty());
    assert!(
        only_results
            .iter()
            .all(|e| e["type"] == "agent.tool_result")
    );
    let newest_event = server
        .get(&format!("/v1/sessions/{id}/events?order=desc&limit=1"))
        .await;
    assert_eq!(newest_event["data"][0]["index"], events.len() as u64 - 1);
    let descending = walk(
        &server,
        &format!("/v1/sessions/{id}/events?order=desc&limit=3"),
    )
    .await;
    assert_eq!(descending.len(), events.len());
    let processed = events[0]["processed_at"].as_str().unwrap();
    let none_later = server
        .get(&format!(
            "/v1/sessions/{id}/events?created_at[gt]={processed}"
        ))
        .await;
    assert_eq!(
        none_later["data"],
        json!([]),
        "tau-bench events have no times: all are the session's"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claude_code_session_and_its_subagent_link_in_either_order() {
    let Some(data) = shared_data("claude-code") else {
        return;
    };
    let main = "258c7280-ae70-4798-800f-63464d01a85d";
    let subagent = data.join(main).join("subagents/agent-a881341.jsonl");
    let server = TestServer::start().await;

    // A subagent file arrives alone: stored, hidden from the default list.
    let (status, report) = import(&server, "", std::fs::read(&subagent).unwrap()).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["counts"]["created"], 1);
    let child_id = report["sessions"][0]["session_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        report["sessions"][0]["source_session_id"],
        format!("{main}:agent-a881341")
    );
    assert_eq!(server.get("/v1/sessions").await["data"], json!([]));
    let with_subagents = server.get("/v1/sessions?include_subagents=true").await;
    assert_eq!(
        ids(with_subagents["data"].as_array().unwrap()),
        [child_id.as_str()]
    );
    let child = server.get(&format!("/v1/sessions/{child_id}")).await;
    assert_eq!(child["parent_session_id"], Value::Null);
    assert_eq!(child["parent_source_session_id"], main);

    // Then the main session: it adopts the subagent.
    let body = std::fs::read(data.join(format!("{main}.jsonl"))).unwrap();
    let (status, report) = import(&server, "", body.clone()).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["counts"]["created"], 1);
    let main_id = report["sessions"][0]["session_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let child = server.get(&format!("/v1/sessions/{child_id}")).await;
    assert_eq!(child["parent_session_id"], main_id.as_str());
    let listed = server.get("/v1/sessions").await;
    assert_eq!(ids(listed["data"].as_array().unwrap()), [main_id.as_str()]);

    let session = server.get(&format!("/v1/sessions/{main_id}")).await;
    assert_eq!(session["source_kind"], "claude_code");
    assert_eq!(session["source_session_id"], main);
    assert_eq!(session["agent"]["name"], "claude-code");
    assert_ne!(session["agent"]["model"]["id"], "unknown", "{session}");
    assert!(session["stats"]["duration_seconds"].as_f64().unwrap() > 0.0);
    assert!(session["created_at"].as_str().unwrap() < session["ingested_at"].as_str().unwrap());
    assert!(session["tool_error_count"].as_u64().unwrap() > 0);

    let events = walk(&server, &format!("/v1/sessions/{main_id}/events?limit=100")).await;
    assert_eq!(
        events.len() as u64,
        session["event_count"].as_u64().unwrap()
    );
    let mut kinds: HashMap<&str, usize> = HashMap::new();
    for event in &events {
        *kinds.entry(event["type"].as_str().unwrap()).or_default() += 1;
    }
    for kind in [
        "user.message",
        "agent.message",
        "agent.tool_use",
        "agent.tool_result",
        "agent.thread_context_compacted",
    ] {
        assert!(kinds.contains_key(kind), "no {kind} in {kinds:?}");
    }
    let compaction = events
        .iter()
        .find(|e| e["type"] == "agent.thread_context_compacted")
        .unwrap();
    assert!(
        compaction["text"]
            .as_str()
            .unwrap()
            .contains("This session is being continued"),
        "{compaction}"
    );
    assert!(
        events
            .iter()
            .any(|e| e["type"] == "agent.tool_result" && e["is_error"] == true),
        "Claude Code sessions hold failed tool calls"
    );
    let times: Vec<&str> = events
        .iter()
        .map(|e| e["processed_at"].as_str().unwrap())
        .collect();
    let middle = times[times.len() / 2];
    let later = walk(
        &server,
        &format!("/v1/sessions/{main_id}/events?created_at[gte]={middle}&limit=100"),
    )
    .await;
    assert!(!later.is_empty() && later.len() < events.len());
    assert!(
        later
            .iter()
            .all(|e| e["processed_at"].as_str().unwrap() >= middle)
    );

    // Importing it again changes nothing.
    let (status, again) = import(&server, "", body).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["counts"]["unchanged"], 1, "{}", again["counts"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grown_transcript_is_appended() {
    let Some(data) = shared_data("claude-code") else {
        return;
    };
    let text =
        std::fs::read_to_string(data.join("4d5611e5-241a-462a-8d15-5122611a9569.jsonl")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let half = lines[..lines.len() / 2].join("\n") + "\n";
    let server = TestServer::start().await;
    let (status, first) = import(&server, "?format=claude-code", half).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["counts"]["created"], 1);
    let (status, grown) = import(&server, "?format=claude-code", text).await;
    assert_eq!(status, 200, "{grown}");
    assert_eq!(grown["counts"]["appended"], 1, "{}", grown["counts"]);
    assert_eq!(
        grown["sessions"][0]["session_id"],
        first["sessions"][0]["session_id"]
    );
    assert!(
        grown["sessions"][0]["event_count"].as_u64().unwrap()
            > first["sessions"][0]["event_count"].as_u64().unwrap()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn managed_agents_sessions_keep_their_events_and_original_id() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/transcripts/managed-agents-session.json");
    let server = TestServer::start().await;
    let (status, report) = import(&server, "", std::fs::read(path).unwrap()).await;
    assert_eq!(status, 200, "{report}");
    let id = report["sessions"][0]["session_id"]
        .as_str()
        .unwrap()
        .to_owned();

    let session = server.get(&format!("/v1/sessions/{id}")).await;
    assert_eq!(session["title"], "Refund request");
    assert_eq!(session["agent"]["name"], "billing-agent");
    assert_eq!(session["created_at"], "2026-04-02T10:00:00.000000Z");
    assert_eq!(session["user"], "olu");
    assert_eq!(
        session["outcome_evaluations"][0]["type"],
        "outcome_evaluation"
    );
    assert_eq!(session["outcome_evaluations"][0]["result"], "satisfied");
    assert_eq!(
        session["outcome_evaluations"][0]["description"],
        "Refund issued and confirmed to the customer"
    );
    let by_original = server
        .get("/v1/sessions/sesn_011CZkZAtmR3yMPDzynEDxu7")
        .await;
    assert_eq!(
        by_original["id"],
        id.as_str(),
        "found by its Managed Agents id"
    );

    let events = walk(&server, &format!("/v1/sessions/{id}/events")).await;
    let ids: Vec<&str> = events.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        [
            "sevt_01", "sevt_02", "sevt_04", "sevt_05", "sevt_06", "sevt_07", "sevt_08", "sevt_09"
        ],
        "stored whole: thinking and status events carry no transcript"
    );
    assert_eq!(events[3]["type"], "agent.mcp_tool_result");
    assert_eq!(events[3]["is_error"], true);
    assert_eq!(events[3]["dream_kind"], "tool_result");
    assert_eq!(events[3]["index"], 3);
    assert_eq!(events[1]["processed_at"], "2026-04-02T10:00:01Z");
    let errors = server
        .get(&format!(
            "/v1/sessions/{id}/events?types[]=agent.mcp_tool_result&types[]=span.outcome_evaluation_end"
        ))
        .await;
    assert_eq!(ids_of(&errors), ["sevt_05", "sevt_09"]);
    let window = server
        .get(&format!(
            "/v1/sessions/{id}/events?created_at[gt]=2026-04-02T10:00:01Z&created_at[lt]=2026-04-02T10:01:00Z&order=desc"
        ))
        .await;
    assert_eq!(
        ids_of(&window),
        ["sevt_07", "sevt_06", "sevt_05", "sevt_04"]
    );
}

fn ids_of(page: &Value) -> Vec<String> {
    ids(page["data"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn canonical_sessions_name_their_memory_store() {
    let server = TestServer::start().await;
    let line = json!({
        "id": "ticket-1",
        "agent": "support",
        "started_at": "2026-05-01T09:00:00Z",
        "ended_at": "2026-05-01T09:02:00Z",
        "memory_version": {"store_id": "memstore_01jabcdefghjkmnpqrstvwxyz0", "version": 4},
        "outcomes": [{"name": "resolved", "result": "failed", "explanation": "wrong fare"}],
        "messages": [
            {"role": "user", "content": "change my flight"},
            {"role": "assistant", "content": "done"}
        ]
    });
    let (status, report) = import(&server, "", format!("{line}\n")).await;
    assert_eq!(status, 200, "{report}");
    let id = report["sessions"][0]["session_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let session = server.get(&format!("/v1/sessions/{id}")).await;
    assert_eq!(
        session["resources"],
        json!([{"type": "memory_store", "memory_store_id": "memstore_01jabcdefghjkmnpqrstvwxyz0", "store_version": 4}])
    );
    assert_eq!(session["stats"]["duration_seconds"], 120.0);
    assert_eq!(session["outcome_evaluations"][0]["result"], "failed");
    assert_eq!(
        session["outcome_evaluations"][0]["completed_at"],
        "2026-05-01T09:02:00.000000Z"
    );
    let in_store = server
        .get("/v1/sessions?memory_store_id=memstore_01jabcdefghjkmnpqrstvwxyz0")
        .await;
    assert_eq!(ids_of(&in_store), [id.as_str()]);
    let events = server.get(&format!("/v1/sessions/{id}/events")).await;
    assert_eq!(events["data"][0]["type"], "user.message");
    assert_eq!(
        events["data"][0]["content"],
        json!([{"type": "text", "text": "change my flight"}])
    );
    assert_eq!(events["data"][1]["type"], "agent.message");
    assert_eq!(
        events["data"][0]["processed_at"],
        "2026-05-01T09:00:00.000000Z"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_stores_nothing_and_says_where() {
    let server = TestServer::start().await;
    let good = json!({"id": "s1", "messages": [{"role": "user", "content": "hi"}]});
    let body = format!("{good}\n{{\"id\": \"s2\", \"messages\": [\n");

    let (status, err) = import(&server, "", body.clone()).await;
    assert_error(status, &err, 400, "invalid_request_error");
    assert_eq!(err["error"]["code"], "invalid_json", "{err}");
    let message = err["error"]["message"].as_str().unwrap();
    assert!(message.starts_with("request body line 2"), "{message}");
    assert!(message.contains("nothing was stored"), "{message}");
    assert_eq!(
        server.get("/v1/sessions").await["data"],
        json!([]),
        "the valid line before it was not stored either"
    );

    let (status, report) = import(&server, "?skip_invalid=true", body).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["counts"]["created"], 1);
    assert_eq!(report["skipped"][0]["code"], "invalid_json");
    assert_eq!(report["skipped"][0]["line"], 2);
    assert!(
        report["skipped"][0]["message"]
            .as_str()
            .unwrap()
            .starts_with("request body line 2: ")
    );

    let wrong_field = json!({"id": "s3", "messages": [{"role": "robot", "content": "hi"}]});
    let (status, err) = import(&server, "", wrong_field.to_string()).await;
    assert_error(status, &err, 400, "invalid_request_error");
    assert_eq!(err["error"]["code"], "invalid_field", "{err}");
    assert!(
        err["error"]["message"].as_str().unwrap().contains("role"),
        "{err}"
    );

    let (status, err) = import(&server, "?format=csv", good.to_string()).await;
    assert_error(status, &err, 400, "invalid_request_error");
    assert_eq!(err["error"]["code"], "invalid_format");

    let (status, err) = import(&server, "?format=tau-bench", good.to_string()).await;
    assert_error(status, &err, 400, "invalid_request_error");
    assert_eq!(err["error"]["code"], "invalid_field", "{err}");

    let (status, err) = import(&server, "", "").await;
    assert_error(status, &err, 400, "invalid_request_error");
    assert_eq!(err["error"]["code"], "empty_file");

    let (status, err) = import(&server, "", "hello, world").await;
    assert_error(status, &err, 400, "invalid_request_error");
    assert_eq!(err["error"]["code"], "unknown_format");
    assert!(
        !err["error"]["message"].as_str().unwrap().contains("--"),
        "HTTP errors name query parameters, not CLI flags: {err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conflicting_session_needs_replace() {
    let server = TestServer::start().await;
    let first = json!({"id": "c1", "messages": [
        {"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]});
    let other = json!({"id": "c1", "messages": [{"role": "user", "content": "bye"}]});
    let (status, created) = import(&server, "", first.to_string()).await;
    assert_eq!(status, 200, "{created}");
    let (status, err) = import(&server, "", other.to_string()).await;
    assert_error(status, &err, 409, "conflict_error");
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("replace=true"),
        "{err}"
    );
    let (status, replaced) = import(&server, "?replace=true", other.to_string()).await;
    assert_eq!(status, 200, "{replaced}");
    assert_eq!(replaced["sessions"][0]["status"], "replaced");
    assert_eq!(
        replaced["sessions"][0]["session_id"], created["sessions"][0]["session_id"],
        "a replaced session keeps its id"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_sessions_and_bad_queries_are_client_errors() {
    let server = TestServer::start().await;
    for path in [
        "/v1/sessions/sesn_01jabcdefghjkmnpqrstvwxyz0",
        "/v1/sessions/sesn_01jabcdefghjkmnpqrstvwxyz0/events",
        "/v1/sessions/sesn_011CZkZAtmR3yMPDzynEDxu7",
        "/v1/sessions/not-a-session",
    ] {
        let (status, body) = server.call("GET", path, None).await;
        assert_error(status, &body, 404, "not_found_error");
    }
    for (query, code) in [
        ("/v1/sessions?limit=0", "invalid_limit"),
        ("/v1/sessions?limit=101", "invalid_limit"),
        ("/v1/sessions?page=nope", "invalid_page"),
        ("/v1/sessions?statuses[]=sleeping", "invalid_status"),
        (
            "/v1/sessions?created_at[gte]=yesterday",
            "invalid_timestamp",
        ),
        ("/v1/sessions?order=up", "invalid_query"),
    ] {
        let (status, body) = server.call("GET", query, None).await;
        assert_error(status, &body, 400, "invalid_request_error");
        assert_eq!(body["error"]["code"], code, "{query}: {body}");
    }
    let line = json!({"id": "q", "messages": [{"role": "user", "content": "hi"}]});
    let (_, report) = import(&server, "", line.to_string()).await;
    let id = report["sessions"][0]["session_id"].as_str().unwrap();
    for (query, code) in [
        ("types[]=agent.dance", "invalid_event_type"),
        ("page=page_eHl6", "invalid_page"),
        ("limit=1000", "invalid_limit"),
    ] {
        let (status, body) = server
            .call("GET", &format!("/v1/sessions/{id}/events?{query}"), None)
            .await;
        assert_error(status, &body, 400, "invalid_request_error");
        assert_eq!(body["error"]["code"], code, "{query}: {body}");
    }
    let (status, body) = server
        .call("POST", "/v1/sessions", Some(json!({"agent": "a"})))
        .await;
    assert_eq!(status, 405, "sessions are read-only except import: {body}");

    let openapi = server.get("/openapi.json").await;
    for path in [
        "/v1/sessions",
        "/v1/sessions/{session_id}",
        "/v1/sessions/{session_id}/events",
        "/v1/sessions/import",
    ] {
        assert!(
            openapi["paths"][path].is_object(),
            "{path} is not documented"
        );
    }
    let params: Vec<&str> = openapi["paths"]["/v1/sessions"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert!(
        params.contains(&"created_at[gte]") && params.contains(&"statuses[]"),
        "{params:?}"
    );
}
