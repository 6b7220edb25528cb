//! Dream schedules over HTTP, with an injected clock: slots fire once, survive
//! restarts, catch up once after downtime, honour `min_new_sessions` and time zones,
//! and bad input is a 400 with a stable code.

use std::sync::Arc;
use std::time::Duration;

use dream_ingest::{IngestOptions, Ingestor, InputPath, NoProgress};
use dream_types::{Clock, FixedClock};
use serde_json::{Value, json};

use crate::common::{Options, TestServer, assert_error, fixed_clock};

/// A fixed clock one minute before 03:00 UTC on a winter night.
const BEFORE_SLOT: &str = "2026-11-20T02:59:00Z";

async fn start(clock: &Arc<FixedClock>) -> TestServer {
    TestServer::start_with(Options {
        clock: Some(Arc::clone(clock)),
        ..Options::default()
    })
    .await
}

async fn restart(server: TestServer, clock: &Arc<FixedClock>) -> TestServer {
    let (dir, store) = server.stop().await;
    TestServer::serve(
        dir,
        store,
        Arc::clone(clock) as Arc<dyn Clock>,
        Options::default(),
    )
    .await
}

/// Imports `count` canonical sessions named `{prefix}-{n}` through the ingestor.
async fn import(server: &TestServer, prefix: &str, count: usize) {
    let lines: Vec<String> = (0..count)
        .map(|n| {
            json!({
                "id": format!("{prefix}-{n}"),
                "agent": "support",
                "user": format!("user-{n}"),
                "started_at": "2026-11-19T10:00:00Z",
                "messages": [
                    {"role": "user", "content": "please refund my order"},
                    {"role": "assistant", "content": "Refunds go back to the original card."},
                ],
            })
            .to_string()
        })
        .collect();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"));
    let path = dir.path().join(format!("{prefix}.jsonl"));
    std::fs::write(&path, lines.join("\n") + "\n")
        .unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    let report = Ingestor::new(server.store.as_ref(), IngestOptions::default(), &NoProgress)
        .ingest(&[InputPath::Path(path)])
        .await
        .unwrap_or_else(|e| panic!("ingest: {e}"));
    assert!(report.skipped.is_empty(), "{:?}", report.skipped);
}

async fn memory_store(server: &TestServer) -> String {
    let store = server
        .post("/v1/memory_stores", json!({"name": "support agent"}))
        .await;
    match store["id"].as_str() {
        Some(id) => id.to_owned(),
        None => panic!("no store id in {store}"),
    }
}

async fn schedule(server: &TestServer, body: Value) -> Value {
    let created = server.post("/v1/dream_schedules", body).await;
    assert_eq!(created["type"], "dream_schedule", "{created}");
    created
}

async fn runs(server: &TestServer, schedule_id: &str) -> Vec<Value> {
    let page = server
        .get(&format!("/v1/dream_schedules/{schedule_id}/runs"))
        .await;
    page["data"].as_array().cloned().unwrap_or_default()
}

/// Polls until the schedule has `want` runs whose outcome is recorded; returns them.
async fn wait_runs(server: &TestServer, schedule_id: &str, want: usize) -> Vec<Value> {
    for _ in 0..200 {
        let runs = runs(server, schedule_id).await;
        if runs.len() >= want && runs.iter().all(|r| r["status"] != "claimed") {
            return runs;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!(
        "schedule {schedule_id} did not record {want} runs in 5 s: {:?}",
        runs(server, schedule_id).await
    );
}

/// Lets several scheduler ticks (50 ms in tests) pass.
async fn let_ticks_pass() {
    tokio::time::sleep(Duration::from_millis(300)).await;
}

async fn dreams_of(server: &TestServer, store_id: &str) -> Vec<Value> {
    let page = server
        .get(&format!("/v1/dreams?memory_store_id={store_id}"))
        .await;
    page["data"].as_array().cloned().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_schedule_fires_once_at_its_slot() {
    let clock = fixed_clock(BEFORE_SLOT);
    let server = start(&clock).await;
    let store_id = memory_store(&server).await;
    import(&server, "night", 3).await;
    let created = schedule(
        &server,
        json!({"memory_store_id": store_id, "schedule": "nightly"}),
    )
    .await;
    let id = created["id"].as_str().expect("id");
    assert_eq!(created["cron"], "0 3 * * *");
    assert_eq!(created["timezone"], "UTC");
    assert_eq!(created["mode"], "review");
    assert_eq!(created["output_behavior"], "update_existing");
    assert_eq!(
        created["window"],
        json!({"type": "since", "seconds": 86400})
    );
    assert_eq!(created["next_run_at"], "2026-11-20T03:00:00.000000Z");

    let_ticks_pass().await;
    assert!(runs(&server, id).await.is_empty(), "fired before its slot");

    clock.advance_secs(90);
    let recorded = wait_runs(&server, id, 1).await;
    let_ticks_pass().await;
    let recorded_later = runs(&server, id).await;
    assert_eq!(recorded_later.len(), 1, "{recorded_later:?}");
    let run = &recorded[0];
    assert_eq!(run["type"], "dream_schedule_run");
    assert_eq!(run["slot"], "2026-11-20T03:00:00.000000Z");
    assert_eq!(run["claimed_at"], "2026-11-20T03:00:30.000000Z");
    assert_eq!(run["status"], "started", "{run}");
    let dream_id = run["dream_id"].as_str().expect("dream id");
    let dreams = dreams_of(&server, &store_id).await;
    assert_eq!(dreams.len(), 1, "{dreams:?}");
    assert_eq!(dreams[0]["id"], dream_id);
    let dream = server.wait_dream(dream_id).await;
    assert_eq!(dream["status"], "completed", "{dream}");
    assert_eq!(
        dream["output_behavior"],
        json!({"type": "update_existing", "memory_store_id": store_id})
    );

    let now = server.get(&format!("/v1/dream_schedules/{id}")).await;
    assert_eq!(now["next_run_at"], "2026-11-21T03:00:00.000000Z");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_slot_does_not_fire_twice_across_a_restart() {
    let clock = fixed_clock(BEFORE_SLOT);
    let server = start(&clock).await;
    let store_id = memory_store(&server).await;
    import(&server, "night", 3).await;
    let created = schedule(
        &server,
        json!({"memory_store_id": store_id, "schedule": "0 3 * * *"}),
    )
    .await;
    let id = created["id"].as_str().expect("id").to_owned();
    clock.advance_secs(90);
    let first = wait_runs(&server, &id, 1).await;
    let dream_id = first[0]["dream_id"].as_str().expect("dream id").to_owned();
    server.wait_dream(&dream_id).await;

    let server = restart(server, &clock).await;
    let_ticks_pass().await;
    let after = runs(&server, &id).await;
    assert_eq!(after.len(), 1, "{after:?}");
    assert_eq!(after[0]["dream_id"], dream_id.as_str());
    assert_eq!(dreams_of(&server, &store_id).await.len(), 1);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn only_the_latest_slot_missed_while_down_runs_once_at_start_up() {
    let clock = fixed_clock(BEFORE_SLOT);
    let server = start(&clock).await;
    let store_id = memory_store(&server).await;
    import(&server, "night", 3).await;
    let created = schedule(
        &server,
        json!({"memory_store_id": store_id, "schedule": "nightly", "window": {"type": "all"}}),
    )
    .await;
    let id = created["id"].as_str().expect("id").to_owned();
    let (dir, store) = server.stop().await;

    // Down for three nights: 20th, 21st and 22nd at 03:00 are missed.
    clock.advance_secs(2 * 86_400 + 3_600);
    let server = TestServer::serve(
        dir,
        store,
        Arc::clone(&clock) as Arc<dyn Clock>,
        Options::default(),
    )
    .await;
    let recorded = wait_runs(&server, &id, 1).await;
    let_ticks_pass().await;
    let recorded = {
        let again = runs(&server, &id).await;
        assert_eq!(again.len(), 1, "older slots replayed: {again:?}");
        assert_eq!(again[0]["slot"], recorded[0]["slot"]);
        again
    };
    assert_eq!(recorded[0]["slot"], "2026-11-22T03:00:00.000000Z");
    assert_eq!(recorded[0]["status"], "started", "{:?}", recorded[0]);
    assert_eq!(dreams_of(&server, &store_id).await.len(), 1);
    let dream_id = recorded[0]["dream_id"].as_str().expect("dream id");
    server.wait_dream(dream_id).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn too_few_new_sessions_skip_the_slot_and_say_why() {
    let clock = fixed_clock(BEFORE_SLOT);
    let server = start(&clock).await;
    let store_id = memory_store(&server).await;
    import(&server, "night", 3).await;
    let created = schedule(
        &server,
        json!({
            "memory_store_id": store_id,
            "schedule": "nightly",
            "window": {"type": "last_sessions", "count": 50},
            "min_new_sessions": 2,
        }),
    )
    .await;
    let id = created["id"].as_str().expect("id").to_owned();
    assert_eq!(created["min_new_sessions"], 2);

    // The first night has no previous dream to count from: it runs.
    clock.advance_secs(90);
    let first = wait_runs(&server, &id, 1).await;
    let first_dream = first[0]["dream_id"].as_str().expect("dream id").to_owned();
    let dream = server.wait_dream(&first_dream).await;
    assert_eq!(dream["status"], "completed", "{dream}");

    // One new session during the day: below the threshold of 2 by the next night.
    clock.advance_secs(3_600);
    import(&server, "day", 1).await;
    clock.advance_secs(86_400 - 3_600);
    let second = wait_runs(&server, &id, 2).await;
    assert_eq!(second[0]["slot"], "2026-11-21T03:00:00.000000Z");
    assert_eq!(second[0]["status"], "skipped", "{:?}", second[0]);
    assert_eq!(second[0]["dream_id"], Value::Null);
    assert_eq!(
        second[0]["skipped_reason"],
        format!("1 new sessions since dream {first_dream} (min_new_sessions 2)")
    );
    assert_eq!(dreams_of(&server, &store_id).await.len(), 1);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_engine_refusal_is_recorded_and_the_loop_goes_on() {
    let clock = fixed_clock(BEFORE_SLOT);
    let server = start(&clock).await;
    let empty_store = memory_store(&server).await;
    let busy_store = memory_store(&server).await;
    let refused = schedule(
        &server,
        json!({"memory_store_id": empty_store, "schedule": "nightly"}),
    )
    .await;
    let refused_id = refused["id"].as_str().expect("id").to_owned();
    clock.advance_secs(90);
    let recorded = wait_runs(&server, &refused_id, 1).await;
    assert_eq!(recorded[0]["status"], "skipped");
    let reason = recorded[0]["skipped_reason"].as_str().unwrap_or_default();
    assert!(
        reason.starts_with("error: ") && reason.contains("no sessions to dream about"),
        "{reason}"
    );

    // The loop still serves other schedules afterwards.
    import(&server, "later", 3).await;
    let later = schedule(
        &server,
        json!({"memory_store_id": busy_store, "schedule": "nightly", "window": {"type": "all"}}),
    )
    .await;
    let later_id = later["id"].as_str().expect("id").to_owned();
    clock.advance_secs(86_400);
    let recorded = wait_runs(&server, &later_id, 1).await;
    assert_eq!(recorded[0]["status"], "started", "{:?}", recorded[0]);
    let dream_id = recorded[0]["dream_id"].as_str().expect("dream id");
    server.wait_dream(dream_id).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn slots_are_read_in_the_schedule_time_zone() {
    // 01:59 UTC on a winter night is 02:59 in Paris (UTC+1).
    let clock = fixed_clock("2026-11-20T01:59:00Z");
    let server = start(&clock).await;
    let store_id = memory_store(&server).await;
    import(&server, "night", 3).await;
    let created = schedule(
        &server,
        json!({
            "memory_store_id": store_id,
            "schedule": "0 3 * * *",
            "timezone": "Europe/Paris",
            "window": {"type": "all"},
        }),
    )
    .await;
    let id = created["id"].as_str().expect("id").to_owned();
    assert_eq!(created["timezone"], "Europe/Paris");
    assert_eq!(created["next_run_at"], "2026-11-20T02:00:00.000000Z");

    clock.advance_secs(61);
    let recorded = wait_runs(&server, &id, 1).await;
    assert_eq!(recorded[0]["slot"], "2026-11-20T02:00:00.000000Z");
    assert_eq!(recorded[0]["status"], "started", "{:?}", recorded[0]);
    let dream_id = recorded[0]["dream_id"].as_str().expect("dream id");
    server.wait_dream(dream_id).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn schedules_can_be_listed_updated_paused_and_deleted() {
    let clock = fixed_clock(BEFORE_SLOT);
    let server = start(&clock).await;
    let store_id = memory_store(&server).await;
    import(&server, "night", 3).await;
    let weekly = schedule(
        &server,
        json!({"memory_store_id": store_id, "schedule": "weekly", "mode": "auto",
               "output_behavior": "create_new", "min_support": 2}),
    )
    .await;
    let weekly_id = weekly["id"].as_str().expect("id").to_owned();
    assert_eq!(weekly["cron"], "0 3 * * 0");
    assert_eq!(
        weekly["window"],
        json!({"type": "since", "seconds": 604800})
    );
    assert_eq!(weekly["mode"], "auto");
    assert_eq!(weekly["output_behavior"], "create_new");
    assert_eq!(weekly["min_support"], 2);
    // 2026-11-20 is a Friday; the next Sunday is the 22nd.
    assert_eq!(weekly["next_run_at"], "2026-11-22T03:00:00.000000Z");
    let nightly = schedule(
        &server,
        json!({"memory_store_id": store_id, "cron": "0 3 * * *", "enabled": false}),
    )
    .await;
    let nightly_id = nightly["id"].as_str().expect("id").to_owned();
    assert_eq!(nightly["enabled"], false);
    assert_eq!(nightly["next_run_at"], Value::Null);

    let first = server.get("/v1/dream_schedules?limit=1").await;
    assert_eq!(first["data"].as_array().map(Vec::len), Some(1));
    let cursor = first["next_page"].as_str().expect("next page");
    let second = server
        .get(&format!("/v1/dream_schedules?limit=1&page={cursor}"))
        .await;
    assert_eq!(second["next_page"], Value::Null);
    let mut seen = vec![
        first["data"][0]["id"].clone(),
        second["data"][0]["id"].clone(),
    ];
    seen.sort_by_key(|v| v.to_string());
    let mut want = vec![json!(weekly_id), json!(nightly_id)];
    want.sort_by_key(|v| v.to_string());
    assert_eq!(seen, want);

    // A paused schedule does not fire.
    clock.advance_secs(90);
    let_ticks_pass().await;
    assert!(runs(&server, &nightly_id).await.is_empty());

    // Changing the expression moves the default window along; null clears a field.
    let updated = server
        .post(
            &format!("/v1/dream_schedules/{weekly_id}"),
            json!({"schedule": "nightly", "min_support": null, "timezone": "Asia/Tokyo"}),
        )
        .await;
    assert_eq!(updated["cron"], "0 3 * * *");
    assert_eq!(updated["timezone"], "Asia/Tokyo");
    assert_eq!(
        updated["window"],
        json!({"type": "since", "seconds": 86400})
    );
    assert_eq!(updated["min_support"], Value::Null);
    assert_eq!(updated["mode"], "auto");
    assert_eq!(updated["updated_at"], "2026-11-20T03:00:30.000000Z");
    // 03:00 in Tokyo (UTC+9) is 18:00 UTC the day before.
    assert_eq!(updated["next_run_at"], "2026-11-20T18:00:00.000000Z");

    // Resuming after a missed slot does not run it.
    let resumed = server
        .post(
            &format!("/v1/dream_schedules/{nightly_id}"),
            json!({"enabled": true}),
        )
        .await;
    assert_eq!(resumed["next_run_at"], "2026-11-21T03:00:00.000000Z");
    let_ticks_pass().await;
    assert!(runs(&server, &nightly_id).await.is_empty());

    let deleted = server
        .call("DELETE", &format!("/v1/dream_schedules/{nightly_id}"), None)
        .await;
    assert_eq!(deleted.0, 200);
    assert_eq!(
        deleted.1,
        json!({"type": "dream_schedule_deleted", "id": nightly_id})
    );
    let (status, body) = server
        .call("GET", &format!("/v1/dream_schedules/{nightly_id}"), None)
        .await;
    assert_error(status, &body, 404, "not_found_error");
    let (status, body) = server
        .call(
            "GET",
            &format!("/v1/dream_schedules/{nightly_id}/runs"),
            None,
        )
        .await;
    assert_error(status, &body, 404, "not_found_error");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_schedules_are_400s_with_stable_codes() {
    let clock = fixed_clock(BEFORE_SLOT);
    let server = start(&clock).await;
    let store_id = memory_store(&server).await;
    let create = |body: Value| {
        let server = &server;
        async move { server.call("POST", "/v1/dream_schedules", Some(body)).await }
    };
    let code = |body: &Value| {
        body["error"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };

    for (cron, says) in [
        ("0 3 * *", "it has 4 fields, not 5"),
        ("0 0 3 * * *", "it has 6 fields, not 5"),
        ("@daily", "it has 1 field, not 5"),
        ("0 25 * * *", "hour field \"25\": "),
        ("0 3 * * moonday", "day-of-week field \"moonday\": "),
        ("0 0 30 2 *", "it matches no date"),
    ] {
        let (status, body) = create(json!({"memory_store_id": store_id, "schedule": cron})).await;
        assert_error(status, &body, 400, "invalid_request_error");
        assert_eq!(code(&body), "invalid_cron", "{cron}: {body}");
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(says), "{cron}: {message}");
    }

    let (status, body) = create(
        json!({"memory_store_id": store_id, "schedule": "nightly", "timezone": "Mars/Olympus"}),
    )
    .await;
    assert_error(status, &body, 400, "invalid_request_error");
    assert_eq!(code(&body), "invalid_timezone", "{body}");

    for window in [
        json!({"type": "last_sessions", "count": 0}),
        json!({"type": "since", "seconds": 0}),
    ] {
        let (status, body) =
            create(json!({"memory_store_id": store_id, "schedule": "nightly", "window": window}))
                .await;
        assert_error(status, &body, 400, "invalid_request_error");
        assert_eq!(code(&body), "invalid_window", "{body}");
    }

    for (field, value) in [
        ("min_new_sessions", json!(0)),
        ("min_support", json!(0)),
        ("mode", json!("yolo")),
        ("output_behavior", json!("overwrite")),
    ] {
        let mut body = json!({"memory_store_id": store_id, "schedule": "nightly"});
        body[field] = value;
        let (status, body) = create(body).await;
        assert_error(status, &body, 400, "invalid_request_error");
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains(field)),
            "{body}"
        );
    }

    let (status, body) = create(
        json!({"memory_store_id": "memstore_doesnotexist0000000000", "schedule": "nightly"}),
    )
    .await;
    assert_error(status, &body, 404, "not_found_error");

    // Updates are checked the same way, and leave the schedule as it was.
    let created = schedule(
        &server,
        json!({"memory_store_id": store_id, "schedule": "nightly"}),
    )
    .await;
    let id = created["id"].as_str().expect("id");
    let (status, body) = server
        .call(
            "POST",
            &format!("/v1/dream_schedules/{id}"),
            Some(json!({"schedule": "every night"})),
        )
        .await;
    assert_error(status, &body, 400, "invalid_request_error");
    assert_eq!(code(&body), "invalid_cron", "{body}");
    let (status, body) = server
        .call(
            "POST",
            &format!("/v1/dream_schedules/{id}"),
            Some(json!({"memory_store_id": store_id})),
        )
        .await;
    assert_error(status, &body, 400, "invalid_request_error");
    let unchanged = server.get(&format!("/v1/dream_schedules/{id}")).await;
    assert_eq!(unchanged, created);

    assert!(runs(&server, id).await.is_empty());
    server.stop().await;
}
