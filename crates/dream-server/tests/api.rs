//! The API as a whole: every documented endpoint refuses callers without a key (401)
//! and keys without its scope (403), in Anthropic's error shape; `/openapi.json`
//! documents every route; `/health` is open.

use std::collections::BTreeMap;

use dream_types::Scope;
use serde_json::{Value, json};

use crate::common::{Options, TestServer, assert_error};

/// The scope each route needs, written out independently of the server's table:
/// `(method, path prefix)` → scope; the longest matching prefix wins.
fn expected_scope(method: &str, path: &str) -> Scope {
    let rules: [(&str, &str, Scope); 12] = [
        ("GET", "/v1/memory_stores", Scope::MemoryRead),
        ("POST", "/v1/memory_stores", Scope::MemoryWrite),
        ("DELETE", "/v1/memory_stores", Scope::MemoryWrite),
        ("GET", "/v1/sessions", Scope::SessionsRead),
        ("POST", "/v1/sessions", Scope::SessionsWrite),
        ("GET", "/v1/dreams", Scope::DreamsRead),
        ("POST", "/v1/dreams", Scope::DreamsWrite),
        (
            "POST",
            "/v1/dreams/{dream_id}/proposal",
            Scope::ProposalsReview,
        ),
        ("GET", "/v1/dream_schedules", Scope::DreamsRead),
        ("POST", "/v1/dream_schedules", Scope::DreamsWrite),
        ("DELETE", "/v1/dream_schedules", Scope::DreamsWrite),
        ("*", "/v1/webhooks", Scope::Admin),
    ];
    rules
        .iter()
        .filter(|(m, prefix, _)| (*m == method || *m == "*") && path.starts_with(prefix))
        .max_by_key(|(_, prefix, _)| prefix.len())
        .map(|(_, _, scope)| *scope)
        .unwrap_or(Scope::Admin)
}

/// Fills path parameters with well-formed ids of the right prefix.
fn concrete(path: &str) -> String {
    let ids = BTreeMap::from([
        ("{memory_store_id}", "memstore_0000000000000000000000"),
        ("{memory_id}", "mem_0000000000000000000000"),
        ("{memory_version_id}", "memver_0000000000000000000000"),
        ("{dream_id}", "drm_0000000000000000000000"),
        ("{session_id}", "sesn_0000000000000000000000"),
        ("{schedule_id}", "dsch_0000000000000000000000"),
        ("{webhook_id}", "whk_0000000000000000000000"),
    ]);
    let mut out = path.to_owned();
    for (param, id) in ids {
        out = out.replace(param, id);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_endpoint_needs_a_key_and_its_scope() {
    let server = TestServer::start_with(Options {
        with_admin_key: true,
        ..Options::default()
    })
    .await;
    let doc = server.get("/openapi.json").await;
    let paths = doc["paths"].as_object().expect("paths");
    let mut keys: BTreeMap<Scope, String> = BTreeMap::new();
    for scope in Scope::ALL {
        let others: Vec<Scope> = Scope::ALL
            .into_iter()
            .filter(|s| *s != scope && *s != Scope::Admin)
            .collect();
        let created = dream_server::auth::create_key(server.store.as_ref(), "probe", others)
            .await
            .expect("key");
        keys.insert(scope, created.secret);
    }
    let mut checked = 0;
    for (path, item) in paths {
        assert!(path.starts_with("/v1/"), "undocumented prefix {path}");
        for method in ["get", "post", "delete", "put", "patch"] {
            if item.get(method).is_none() {
                continue;
            }
            let upper = method.to_uppercase();
            let url = concrete(path);
            let body = (upper == "POST").then(|| json!({}));
            let (status, out) = server.call_as(None, &upper, &url, body.clone()).await;
            assert_error(status, &out, 401, "authentication_error");
            let (status, out) = server
                .call_as(Some("dream_sk_not_a_key"), &upper, &url, body.clone())
                .await;
            assert_error(status, &out, 401, "authentication_error");
            let scope = expected_scope(&upper, path);
            let (status, out) = server
                .call_as(Some(&keys[&scope]), &upper, &url, body.clone())
                .await;
            assert_error(status, &out, 403, "permission_error");
            assert!(
                out["error"]["message"]
                    .as_str()
                    .is_some_and(|m| m.contains(scope.as_str())),
                "{upper} {path}: the message names the missing scope: {out}"
            );
            // With the scope (the admin key), the request passes authorisation.
            let (status, out) = server.call(&upper, &url, body).await;
            assert!(
                status != 401 && status != 403,
                "{upper} {path} with the admin key: {status} {out}"
            );
            checked += 1;
        }
    }
    assert!(checked >= 30, "only {checked} endpoints documented");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_openapi_are_open_and_revoked_keys_stop_working() {
    let server = TestServer::start_with(Options {
        with_admin_key: true,
        ..Options::default()
    })
    .await;
    let (status, health) = server.call_as(None, "GET", "/health", None).await;
    assert_eq!(status, 200);
    assert_eq!(health, json!({"status": "ok"}), "no more without a key");
    let (status, doc) = server.call_as(None, "GET", "/openapi.json", None).await;
    assert_eq!(status, 200);
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")));
    for path in [
        "/v1/memory_stores",
        "/v1/memory_stores/{memory_store_id}/memories/{memory_id}",
        "/v1/memory_stores/{memory_store_id}/memory_versions/{memory_version_id}/redact",
        "/v1/dreams/{dream_id}/cancel",
        "/v1/dreams/{dream_id}/proposal/approve",
        "/v1/memory_stores/{memory_store_id}/restore",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} is not documented");
    }

    let reader =
        dream_server::auth::create_key(server.store.as_ref(), "reader", vec![Scope::MemoryRead])
            .await
            .expect("key");
    let (status, _) = server
        .call_as(Some(&reader.secret), "GET", "/v1/memory_stores", None)
        .await;
    assert_eq!(status, 200);
    let (status, out) = server
        .call_as(
            Some(&reader.secret),
            "POST",
            "/v1/memory_stores",
            Some(json!({"name": "x"})),
        )
        .await;
    assert_error(status, &out, 403, "permission_error");
    use dream_store::Store as _;
    server
        .store
        .revoke_api_key(&reader.key.id)
        .await
        .expect("revoke");
    let (status, out) = server
        .call_as(Some(&reader.secret), "GET", "/v1/memory_stores", None)
        .await;
    assert_error(status, &out, 401, "authentication_error");
    assert!(
        out["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("revoked")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_by_a_key_are_recorded_as_its_api_actor() {
    let server = TestServer::start_with(Options {
        with_admin_key: true,
        ..Options::default()
    })
    .await;
    let store = server.post("/v1/memory_stores", json!({"name": "s"})).await;
    let sid = store["id"].as_str().unwrap_or_default();
    server
        .post(
            &format!("/v1/memory_stores/{sid}/memories"),
            json!({"path": "/a.md", "content": "x"}),
        )
        .await;
    let versions: Value = server
        .get(&format!("/v1/memory_stores/{sid}/memory_versions"))
        .await;
    let actor = &versions["data"][0]["created_by"];
    assert_eq!(actor["type"], "api_actor");
    assert!(
        actor["api_key_id"]
            .as_str()
            .is_some_and(|id| id.starts_with("apikey_"))
    );
    let by_key = server
        .get(&format!(
            "/v1/memory_stores/{sid}/memory_versions?api_key_id={}",
            actor["api_key_id"].as_str().unwrap_or_default()
        ))
        .await;
    assert_eq!(by_key["data"].as_array().map(Vec::len), Some(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_are_client_errors_in_the_anthropic_shape() {
    let server = TestServer::start_with(Options {
        config: Box::new(|c| c.max_body_bytes = 200_000),
        ..Options::default()
    })
    .await;
    let store = server.post("/v1/memory_stores", json!({"name": "s"})).await;
    let sid = store["id"].as_str().unwrap_or_default();
    let url = format!("/v1/memory_stores/{sid}/memories");

    // Content over 100 KiB: a 400 naming the rule.
    let (status, out) = server
        .call(
            "POST",
            &url,
            Some(json!({"path": "/big.md", "content": "x".repeat(102_401)})),
        )
        .await;
    assert_error(status, &out, 400, "invalid_request_error");
    assert_eq!(out["error"]["code"], "content_too_large");
    // Exactly 100 KiB is fine.
    server
        .post(
            &url,
            json!({"path": "/ok.md", "content": "x".repeat(102_400)}),
        )
        .await;
    // A body over the server's limit: 413 before anything is parsed.
    let (status, out) = server
        .call(
            "POST",
            &url,
            Some(json!({"path": "/huge.md", "content": "x".repeat(300_000)})),
        )
        .await;
    assert_error(status, &out, 413, "request_too_large");
    // Path rules and page sizes.
    let (status, out) = server
        .call(
            "POST",
            &url,
            Some(json!({"path": "/a/../b.md", "content": ""})),
        )
        .await;
    assert_error(status, &out, 400, "invalid_request_error");
    assert_eq!(out["error"]["code"], "invalid_path");
    let (status, out) = server.call("GET", &format!("{url}?limit=0"), None).await;
    assert_error(status, &out, 400, "invalid_request_error");
    assert_eq!(out["error"]["code"], "invalid_limit");
    let page = server.get(&format!("{url}?view=full&limit=100")).await;
    assert_eq!(page["data"].as_array().map(Vec::len), Some(1));
    let (status, out) = server
        .call("GET", &format!("{url}?page=garbage"), None)
        .await;
    assert_error(status, &out, 400, "invalid_request_error");
    assert_eq!(out["error"]["code"], "invalid_page");
}
