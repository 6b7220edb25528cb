//! What a web page in the user's browser can no longer do to a server on loopback
//! (cross-site writes, DNS rebinding, webhooks pointing out), and the smaller safety
//! rules: `/health` says little without a key, body errors name their field, a byte
//! order mark is skipped, look-alike paths and NUL content are refused.

use serde_json::{Value, json};

use crate::common::{Options, TestServer, assert_error};

/// Sends `method path` with a raw body and the given headers (no key); returns the
/// status and the JSON answer.
async fn send(
    server: &TestServer,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> (u16, Value) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut request = server
        .http
        .request(method, format!("{}{path}", server.base));
    if let Some(key) = &server.key {
        request = request.header("x-api-key", key);
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    if let Some(body) = body {
        request = request.body(body.to_owned());
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// The number of memory stores the server holds.
async fn store_count(server: &TestServer) -> usize {
    server.get("/v1/memory_stores?limit=100").await["data"]
        .as_array()
        .map_or(0, Vec::len)
}

fn port(server: &TestServer) -> u16 {
    server
        .base
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap()
}

fn message(body: &Value) -> &str {
    body["error"]["message"].as_str().unwrap_or_default()
}

const STORE: &str = r#"{"name": "from a web page"}"#;
const JSON: (&str, &str) = ("content-type", "application/json");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_must_be_json_as_a_web_page_cannot_send_it_unasked() {
    let server = TestServer::start().await;
    let path = "/v1/memory_stores";
    for (headers, what) in [
        (
            vec![("content-type", "text/plain")],
            "a form-free text body",
        ),
        (
            vec![("content-type", "application/x-www-form-urlencoded")],
            "a form",
        ),
        (vec![], "no content-type"),
    ] {
        let (status, body) = send(&server, "POST", path, &headers, Some(STORE)).await;
        assert_error(status, &body, 415, "invalid_request_error");
        assert_eq!(body["error"]["code"], "unsupported_media_type", "{what}");
        assert!(message(&body).contains("application/json"), "{body}");
    }
    assert_eq!(store_count(&server).await, 0, "nothing was written");

    for content_type in [
        "application/json",
        "application/json; charset=utf-8",
        "Application/JSON;charset=UTF-8",
        "application/merge-patch+json",
    ] {
        let (status, body) = send(
            &server,
            "POST",
            path,
            &[("content-type", content_type)],
            Some(STORE),
        )
        .await;
        assert_eq!(status, 200, "{content_type}: {body}");
    }
    // The SDK sends no body (and so no content-type) to archive or cancel.
    let id = server.post(path, json!({"name": "to archive"})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, body) = send(&server, "POST", &format!("{path}/{id}/archive"), &[], None).await;
    assert_eq!(status, 200, "{body}");

    // The import takes the JSON Lines types it documents, and says which.
    let line = json!({
        "id": "s-1", "agent": "support", "started_at": "2026-11-19T10:00:00Z",
        "messages": [{"role": "user", "content": "hello"}],
    })
    .to_string();
    let import = "/v1/sessions/import";
    let (status, body) = send(
        &server,
        "POST",
        import,
        &[("content-type", "text/plain")],
        Some(&line),
    )
    .await;
    assert_error(status, &body, 415, "invalid_request_error");
    for named in ["application/json", "application/x-ndjson"] {
        assert!(message(&body).contains(named), "{body}");
    }
    assert_eq!(server.get("/v1/sessions").await["data"], json!([]));
    for content_type in [
        "application/x-ndjson",
        "application/jsonl",
        "application/json",
    ] {
        let (status, body) = send(
            &server,
            "POST",
            import,
            &[("content-type", content_type)],
            Some(&line),
        )
        .await;
        assert_eq!(status, 200, "{content_type}: {body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreign_origins_and_hosts_are_refused() {
    let server = TestServer::start().await;
    let port = port(&server);
    let path = "/v1/memory_stores";
    for origin in [
        "https://evil.example".to_owned(),
        "null".to_owned(),
        format!("http://localhost:{}", port.wrapping_add(1)),
        format!("http://evil.example:{port}"),
    ] {
        let (status, body) = send(
            &server,
            "POST",
            path,
            &[JSON, ("origin", &origin)],
            Some(STORE),
        )
        .await;
        assert_error(status, &body, 403, "permission_error");
        assert_eq!(body["error"]["code"], "origin_not_allowed", "{origin}");
    }
    let (status, _) = send(
        &server,
        "GET",
        path,
        &[("origin", "https://evil.example")],
        None,
    )
    .await;
    assert_eq!(status, 403, "reads too");
    assert_eq!(store_count(&server).await, 0);
    for origin in [
        format!("http://localhost:{port}"),
        format!("http://127.0.0.1:{port}"),
        format!("http://[::1]:{port}"),
    ] {
        let (status, body) = send(
            &server,
            "POST",
            path,
            &[JSON, ("origin", &origin)],
            Some(STORE),
        )
        .await;
        assert_eq!(status, 200, "{origin}: {body}");
    }

    // DNS rebinding: the page's name now points at 127.0.0.1, the Host is its name.
    for host in [
        format!("evil.example:{port}"),
        "localhost".to_owned(),
        format!("localhost:{}", port.wrapping_add(1)),
    ] {
        for (method, path, body) in [("GET", "/health", None), ("POST", path, Some(STORE))] {
            let (status, answer) =
                send(&server, method, path, &[JSON, ("host", &host)], body).await;
            assert_error(status, &answer, 403, "permission_error");
            assert_eq!(answer["error"]["code"], "host_not_allowed", "{host}");
            assert!(message(&answer).contains("--allowed-host"), "{answer}");
        }
    }
    for host in [format!("localhost:{port}"), format!("127.0.0.1:{port}")] {
        let (status, body) = send(&server, "GET", path, &[("host", &host)], None).await;
        assert_eq!(status, 200, "{host}: {body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allowed_hosts_may_name_the_server() {
    let server = TestServer::start_with(Options {
        config: Box::new(|c| c.allowed_hosts = vec!["Dream.LAN".into()]),
        ..Options::default()
    })
    .await;
    let (status, body) = send(
        &server,
        "POST",
        "/v1/memory_stores",
        &[JSON, ("host", "dream.lan"), ("origin", "https://dream.lan")],
        Some(STORE),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = send(&server, "GET", "/health", &[("host", "other.lan")], None).await;
    assert_eq!(status, 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_server_sends_webhooks_only_to_this_machine() {
    let server = TestServer::start().await;
    let events = json!(["dream.completed"]);
    for url in [
        "https://attacker.example/collect",
        "http://10.0.0.5/hook",
        "http://localhost.attacker.example/hook",
    ] {
        let (status, body) = server
            .call(
                "POST",
                "/v1/webhooks",
                Some(json!({"url": url, "events": events})),
            )
            .await;
        assert_error(status, &body, 400, "invalid_request_error");
        assert_eq!(body["error"]["code"], "remote_webhook_not_allowed", "{url}");
        assert!(message(&body).contains("--allow-remote-webhooks"), "{body}");
    }
    let local = server
        .post(
            "/v1/webhooks",
            json!({"url": "http://127.0.0.1:9/hook", "events": events}),
        )
        .await;
    let id = local["id"].as_str().unwrap();
    let (status, body) = server
        .call(
            "POST",
            &format!("/v1/webhooks/{id}"),
            Some(json!({"url": "https://attacker.example/collect"})),
        )
        .await;
    assert_error(status, &body, 400, "invalid_request_error");
    assert_eq!(body["error"]["code"], "remote_webhook_not_allowed");
    let kept = server.get(&format!("/v1/webhooks/{id}")).await;
    assert_eq!(kept["url"], "http://127.0.0.1:9/hook");
    server
        .post(
            &format!("/v1/webhooks/{id}"),
            json!({"url": "http://localhost:9/other"}),
        )
        .await;

    let allowed = TestServer::start_with(Options {
        config: Box::new(|c| c.allow_remote_webhooks = true),
        ..Options::default()
    })
    .await;
    allowed
        .post(
            "/v1/webhooks",
            json!({"url": "https://hooks.example/dream", "events": events}),
        )
        .await;
    let keyed = TestServer::start_with(Options {
        with_admin_key: true,
        ..Options::default()
    })
    .await;
    keyed
        .post(
            "/v1/webhooks",
            json!({"url": "https://hooks.example/dream", "events": events}),
        )
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_tells_more_only_to_a_valid_key() {
    let open = TestServer::start().await;
    let (status, body) = open.call_as(None, "GET", "/health", None).await;
    assert_eq!(status, 200);
    assert_eq!(body, json!({"status": "ok"}));

    let keyed = TestServer::start_with(Options {
        with_admin_key: true,
        ..Options::default()
    })
    .await;
    for key in [None, Some("dream_sk_not-a-key")] {
        let (status, body) = keyed.call_as(key, "GET", "/health", None).await;
        assert_eq!(status, 200);
        assert_eq!(body, json!({"status": "ok"}), "{key:?}");
    }
    let full = keyed.get("/health").await;
    assert_eq!(full["status"], "ok");
    assert_eq!(full["sessions"], 0);
    assert_eq!(full["auth"], "api_key");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn body_errors_name_the_field_and_the_accepted_shapes() {
    let server = TestServer::start().await;
    let sid = server.post("/v1/memory_stores", json!({"name": "s"})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let inputs = json!([
        {"type": "memory_store", "memory_store_id": sid},
        {"type": "sessions", "session_ids": ["sesn_x"]},
    ]);
    let cases = [
        (
            json!({"inputs": inputs, "model": "dream-local", "output_behavior": {"type": "keep"}}),
            "output_behavior",
        ),
        (
            json!({"inputs": inputs, "model": "dream-local", "output_behavior": 5}),
            "output_behavior",
        ),
        (json!({"inputs": inputs, "model": 5}), "model"),
    ];
    for (body, field) in cases {
        let (status, out) = server.call("POST", "/v1/dreams", Some(body.clone())).await;
        assert_error(status, &out, 400, "invalid_request_error");
        assert_eq!(out["error"]["code"], "invalid_json", "{out}");
        let text = message(&out);
        assert!(
            text.starts_with(&format!("request body at `{field}`: ")),
            "{text}"
        );
        assert!(!text.contains("did not match any variant"), "{text}");
    }
    let (_, out) = server
        .call(
            "POST",
            "/v1/dreams",
            Some(json!({"inputs": inputs, "model": "dream-local", "output_behavior": {"type": "keep"}})),
        )
        .await;
    for shape in [
        "create_new",
        "update_existing",
        "memory_store_id",
        "unknown variant `keep`",
    ] {
        assert!(message(&out).contains(shape), "{out}");
    }

    let (status, out) = server
        .call(
            "POST",
            "/v1/dreams",
            Some(json!({"inputs": inputs, "model": {"id": "dream-local", "speed": "turbo"}})),
        )
        .await;
    assert_error(status, &out, 400, "invalid_request_error");
    assert_eq!(out["error"]["code"], "invalid_model_speed");
    assert!(message(&out).contains("\"standard\""), "{out}");

    // A leading UTF-8 byte order mark (Windows editors write one) is skipped.
    let (status, out) = send(
        &server,
        "POST",
        "/v1/memory_stores",
        &[JSON],
        Some("\u{feff}{\"name\": \"bom\"}"),
    )
    .await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(out["name"], "bom");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dream_echoes_its_model_speed() {
    let server = TestServer::start().await;
    let line = json!({
        "id": "s-1", "agent": "support", "started_at": "2026-11-19T10:00:00Z",
        "messages": [{"role": "user", "content": "hello"}],
    })
    .to_string();
    let (status, report) = send(
        &server,
        "POST",
        "/v1/sessions/import",
        &[("content-type", "application/x-ndjson")],
        Some(&line),
    )
    .await;
    assert_eq!(status, 200, "{report}");
    let session = report["sessions"][0]["session_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let sid = server.post("/v1/memory_stores", json!({"name": "s"})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let inputs = json!([
        {"type": "memory_store", "memory_store_id": sid},
        {"type": "sessions", "session_ids": [session]},
    ]);
    for model in [
        json!({"id": "dream-local", "speed": "standard"}),
        json!("dream-local"),
    ] {
        let created = server
            .post("/v1/dreams", json!({"inputs": inputs, "model": model}))
            .await;
        assert_eq!(
            created["model"],
            json!({"id": "dream-local", "speed": "standard"}),
            "{model}"
        );
        let id = created["id"].as_str().unwrap();
        let done = server.wait_dream(id).await;
        assert_eq!(done["model"]["speed"], "standard");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn look_alike_paths_and_nul_content_are_refused() {
    let server = TestServer::start().await;
    let sid = server.post("/v1/memory_stores", json!({"name": "s"})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let memories = format!("/v1/memory_stores/{sid}/memories");
    server
        .post(&memories, json!({"path": "/prefs.md", "content": "tabs"}))
        .await;
    let (status, out) = server
        .call(
            "POST",
            &memories,
            Some(json!({"path": "/pr\u{435}fs.md", "content": "spaces"})),
        )
        .await;
    assert_error(status, &out, 400, "invalid_request_error");
    assert_eq!(out["error"]["code"], "invalid_path");
    assert!(message(&out).contains("mixing Latin and Cyrillic"), "{out}");
    server
        .post(&memories, json!({"path": "/заметки.md", "content": "ok"}))
        .await;
    let (status, out) = server
        .call(
            "POST",
            &memories,
            Some(json!({"path": "/nul.md", "content": "a\u{0}b"})),
        )
        .await;
    assert_error(status, &out, 400, "invalid_request_error");
    assert_eq!(out["error"]["code"], "invalid_content");
    assert!(message(&out).contains("NUL"), "{out}");
}
