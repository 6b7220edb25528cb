//! Memory stores, memories and versions over HTTP.

use serde_json::json;

use crate::common::{TestServer, assert_error};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_and_its_memories_round_trip_with_preconditions() {
    let server = TestServer::start().await;
    let store = server
        .post(
            "/v1/memory_stores",
            json!({"name": "agent", "description": "notes", "metadata": {"team": "a"}}),
        )
        .await;
    assert_eq!(store["type"], "memory_store");
    let sid = store["id"].as_str().unwrap().to_owned();
    assert!(sid.starts_with("memstore_"));

    let memory = server
        .post(
            &format!("/v1/memory_stores/{sid}/memories"),
            json!({"path": "/notes/a.md", "content": "hello"}),
        )
        .await;
    assert_eq!(memory["type"], "memory");
    assert_eq!(
        memory["content"],
        json!(null),
        "create defaults to view=basic"
    );
    let mid = memory["id"].as_str().unwrap().to_owned();
    let full = server
        .get(&format!("/v1/memory_stores/{sid}/memories/{mid}"))
        .await;
    assert_eq!(full["content"], "hello", "retrieve defaults to view=full");
    let sha = full["content_sha256"].as_str().unwrap().to_owned();

    let (status, body) = server
        .call(
            "POST",
            &format!("/v1/memory_stores/{sid}/memories/{mid}"),
            Some(json!({"content": "new", "precondition": {"type": "content_sha256", "content_sha256": "0".repeat(64)}})),
        )
        .await;
    assert_error(status, &body, 409, "memory_precondition_failed_error");
    let updated = server
        .post(
            &format!("/v1/memory_stores/{sid}/memories/{mid}"),
            json!({"content": "new", "precondition": {"type": "content_sha256", "content_sha256": sha}}),
        )
        .await;
    assert_ne!(updated["content_sha256"], full["content_sha256"]);

    let (status, body) = server
        .call(
            "POST",
            &format!("/v1/memory_stores/{sid}/memories"),
            Some(json!({"path": "notes", "content": ""})),
        )
        .await;
    assert_error(status, &body, 400, "invalid_request_error");
    assert_eq!(body["error"]["code"], "invalid_path");

    let versions = server
        .get(&format!("/v1/memory_stores/{sid}/memory_versions"))
        .await;
    let ops: Vec<&str> = versions["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["operation"].as_str().unwrap())
        .collect();
    assert_eq!(ops, ["modified", "created"]);
    assert_eq!(versions["data"][0]["created_by"]["type"], "user_actor");

    let diff = server
        .get(&format!("/v1/memory_stores/{sid}/diff?from=1&to=2"))
        .await;
    assert!(
        diff["entries"][0]["unified"]
            .as_str()
            .unwrap()
            .contains("+new")
    );
    let restored = server
        .post(
            &format!("/v1/memory_stores/{sid}/restore"),
            json!({"store_version": 1}),
        )
        .await;
    assert_eq!(restored["store_version"], 3);
    let back = server
        .get(&format!("/v1/memory_stores/{sid}/memories/{mid}"))
        .await;
    assert_eq!(back["content"], "hello");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_page_without_repeats_and_errors_have_the_anthropic_shape() {
    let server = TestServer::start().await;
    let sid = server.post("/v1/memory_stores", json!({"name": "s"})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for i in 0..7 {
        server
            .post(
                &format!("/v1/memory_stores/{sid}/memories"),
                json!({"path": format!("/d/{i}.md"), "content": "x"}),
            )
            .await;
    }
    server
        .post(
            &format!("/v1/memory_stores/{sid}/memories"),
            json!({"path": "/top.md", "content": "x"}),
        )
        .await;
    let mut paths = Vec::new();
    let mut page: Option<String> = None;
    loop {
        let url = match &page {
            Some(p) => format!("/v1/memory_stores/{sid}/memories?limit=3&page={p}"),
            None => format!("/v1/memory_stores/{sid}/memories?limit=3"),
        };
        let body = server.get(&url).await;
        paths.extend(
            body["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["path"].as_str().unwrap().to_owned()),
        );
        match body["next_page"].as_str() {
            Some(next) => page = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(paths.len(), 8);
    let rolled = server
        .get(&format!("/v1/memory_stores/{sid}/memories?depth=1"))
        .await;
    let kinds: Vec<(&str, &str)> = rolled["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["type"].as_str().unwrap(), i["path"].as_str().unwrap()))
        .collect();
    assert_eq!(kinds, [("memory_prefix", "/d/"), ("memory", "/top.md")]);

    let (status, body) = server
        .call(
            "GET",
            &format!("/v1/memory_stores/{sid}/memories?limit=500"),
            None,
        )
        .await;
    assert_error(status, &body, 400, "invalid_request_error");
    let (status, body) = server
        .call("GET", "/v1/memory_stores/memstore_nope", None)
        .await;
    assert_error(status, &body, 404, "not_found_error");
    let (status, body) = server
        .call("POST", "/v1/memory_stores", Some(json!({"name": 3})))
        .await;
    assert_error(status, &body, 400, "invalid_request_error");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("`name`")
    );
    let (status, body) = server.call("GET", "/v1/nothing", None).await;
    assert_error(status, &body, 404, "not_found_error");

    let archived = server
        .post(&format!("/v1/memory_stores/{sid}/archive"), json!({}))
        .await;
    assert!(archived["archived_at"].is_string());
    let (status, body) = server
        .call(
            "POST",
            &format!("/v1/memory_stores/{sid}/memories"),
            Some(json!({"path": "/late.md", "content": "x"})),
        )
        .await;
    assert_error(status, &body, 400, "invalid_request_error");
    let listed = server.get("/v1/memory_stores").await;
    assert_eq!(listed["data"].as_array().unwrap().len(), 0);
    let listed = server.get("/v1/memory_stores?include_archived=true").await;
    assert_eq!(listed["data"].as_array().unwrap().len(), 1);
    let deleted = server
        .call("DELETE", &format!("/v1/memory_stores/{sid}"), None)
        .await;
    assert_eq!(
        deleted.1,
        json!({"type": "memory_store_deleted", "id": sid})
    );
}
