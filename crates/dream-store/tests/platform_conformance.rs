//! Conformance tests for API keys, dream schedules and webhooks; instantiated for every
//! backend by `store_conformance_suite!`. Each case also gets the store's clock, to let
//! time pass.

use dream_store::{
    DeliveryOutcome, NewApiKey, NewMemoryStore, NewSchedule, NewWebhook, Store, StoreError,
};
use dream_types::{
    ApiKeyId, Clock, DeliveryAttempt, DeliveryId, DeliveryStatus, DreamId, DreamMode, FixedClock,
    MemoryStore, OutputBehavior, ScheduleId, ScheduleWindow, Scope, Timestamp, WebhookDelivery,
    WebhookId,
};
use serde_json::json;

fn new_key(name: &str, scopes: &[Scope], secret_sha256: &str) -> NewApiKey {
    NewApiKey {
        name: name.into(),
        scopes: scopes.to_vec(),
        hint: format!("dream_sk_{}", &secret_sha256[..4]),
        secret_sha256: secret_sha256.into(),
    }
}

async fn memory_store(store: &dyn Store, name: &str) -> MemoryStore {
    store
        .create_memory_store(NewMemoryStore {
            name: name.into(),
            ..Default::default()
        })
        .await
        .unwrap()
}

fn nightly(store: &MemoryStore) -> NewSchedule {
    NewSchedule {
        memory_store_id: store.id.clone(),
        cron: "0 3 * * *".into(),
        timezone: "Europe/Paris".into(),
        window: ScheduleWindow {
            last_sessions: Some(50),
            since_seconds: None,
        },
        min_new_sessions: Some(5),
        mode: DreamMode::Review,
        output_behavior: OutputBehavior::UpdateExisting,
        min_support: None,
        enabled: true,
        filters: dream_types::WindowFilters::default(),
    }
}

fn hook(url: &str, events: &[&str], enabled: bool) -> NewWebhook {
    NewWebhook {
        url: url.into(),
        events: events.iter().map(|e| (*e).to_owned()).collect(),
        secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into(),
        description: format!("receiver at {url}"),
        enabled,
    }
}

fn time(text: &str) -> Timestamp {
    Timestamp::parse(text).unwrap()
}

fn not_found(err: &StoreError) -> (&'static str, String) {
    match err {
        StoreError::NotFound { kind, reference } => (kind, reference.clone()),
        other => panic!("expected not found, got {other:?}"),
    }
}

fn attempt(
    n: u32,
    at: Timestamp,
    status_code: Option<u16>,
    error: Option<&str>,
) -> DeliveryAttempt {
    DeliveryAttempt {
        attempt: n,
        at,
        status_code,
        error: error.map(str::to_owned),
        duration_ms: 120 + u64::from(n),
        in_flight: false,
    }
}

fn ids(deliveries: &[WebhookDelivery]) -> Vec<&DeliveryId> {
    deliveries.iter().map(|d| &d.id).collect()
}

pub async fn api_keys_are_found_by_secret_hash_and_revoked_one_way(
    store: &dyn Store,
    clock: &FixedClock,
) {
    let created_at = clock.now();
    let reader = store
        .create_api_key(new_key(
            "agent",
            &[Scope::MemoryRead, Scope::DreamsWrite],
            "3fa9e1c0aa",
        ))
        .await
        .unwrap();
    assert!(reader.id.as_str().starts_with("apikey_"), "{}", reader.id);
    assert_eq!(reader.name, "agent");
    assert_eq!(reader.hint, "dream_sk_3fa9");
    assert_eq!(reader.scopes, [Scope::MemoryRead, Scope::DreamsWrite]);
    assert_eq!(
        (reader.created_at, reader.last_used_at, reader.revoked_at),
        (created_at, None, None)
    );
    assert!(reader.allows(Scope::MemoryRead) && reader.allows(Scope::DreamsWrite));
    assert!(
        !reader.allows(Scope::ProposalsReview),
        "agents must not review"
    );

    clock.advance_secs(1);
    let admin = store
        .create_api_key(new_key("ops", &[Scope::Admin], "77b2d4e5ff"))
        .await
        .unwrap();
    assert!(Scope::ALL.into_iter().all(|s| admin.allows(s)));

    // Lookup is by the hash of the secret, never by anything else.
    assert_eq!(
        store.api_key_by_secret("3fa9e1c0aa").await.unwrap(),
        Some(reader.clone())
    );
    assert_eq!(store.api_key_by_secret("3fa9").await.unwrap(), None);
    assert_eq!(
        store.api_key_by_secret("dream_sk_3fa9").await.unwrap(),
        None
    );
    assert_eq!(
        store.list_api_keys().await.unwrap(),
        [reader.clone(), admin.clone()],
        "oldest first"
    );

    let used = time("2026-03-01T10:00:00Z");
    store.touch_api_key(&reader.id, used).await.unwrap();
    // A request that started earlier but finished later does not move it back.
    store
        .touch_api_key(&reader.id, used.plus_secs(-30))
        .await
        .unwrap();
    let found = store
        .api_key_by_secret("3fa9e1c0aa")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.last_used_at, Some(used));

    clock.advance_secs(60);
    let revoked_at = clock.now();
    let revoked = store.revoke_api_key(&reader.id).await.unwrap();
    assert_eq!(revoked.revoked_at, Some(revoked_at));
    assert!(Scope::ALL.into_iter().all(|s| !revoked.allows(s)));
    // Still found, so that the caller can say "revoked" rather than "unknown".
    let found = store
        .api_key_by_secret("3fa9e1c0aa")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.revoked_at, Some(revoked_at));
    assert!(!found.allows(Scope::MemoryRead));

    clock.advance_secs(60);
    let again = store.revoke_api_key(&reader.id).await.unwrap();
    assert_eq!(
        again.revoked_at,
        Some(revoked_at),
        "revoking keeps the first time"
    );
    let revoked_admin = store.revoke_api_key(&admin.id).await.unwrap();
    assert!(
        !revoked_admin.allows(Scope::MemoryRead),
        "admin grants nothing once revoked"
    );
    assert!(
        store
            .list_api_keys()
            .await
            .unwrap()
            .iter()
            .all(|k| k.revoked_at.is_some())
    );

    let missing: ApiKeyId = "apikey_missing".parse().unwrap();
    let err = store.revoke_api_key(&missing).await.unwrap_err();
    assert_eq!(err.code(), "not_found_error");
    assert_eq!(err.to_string(), "API key apikey_missing not found");
}

pub async fn schedules_are_created_updated_listed_and_deleted(
    store: &dyn Store,
    clock: &FixedClock,
) {
    let support = memory_store(store, "support").await;
    let created_at = clock.now();
    let schedule = store.create_schedule(nightly(&support)).await.unwrap();
    assert!(schedule.id.as_str().starts_with("dsch_"), "{}", schedule.id);
    let want = nightly(&support);
    assert_eq!(schedule.memory_store_id, support.id);
    assert_eq!(
        (schedule.cron.as_str(), schedule.timezone.as_str()),
        ("0 3 * * *", "Europe/Paris")
    );
    assert_eq!(schedule.window, want.window);
    assert_eq!(schedule.min_new_sessions, Some(5));
    assert_eq!(schedule.mode, DreamMode::Review);
    assert_eq!(schedule.output_behavior, OutputBehavior::UpdateExisting);
    assert_eq!((schedule.min_support, schedule.enabled), (None, true));
    assert_eq!(
        (schedule.created_at, schedule.updated_at),
        (created_at, created_at)
    );
    assert_eq!(store.get_schedule(&schedule.id).await.unwrap(), schedule);

    let mut orphan = nightly(&support);
    orphan.memory_store_id = "memstore_missing".parse().unwrap();
    let err = store.create_schedule(orphan).await.unwrap_err();
    assert_eq!(not_found(&err).0, "memory store");

    clock.advance_secs(1);
    let second = store.create_schedule(nightly(&support)).await.unwrap();
    assert_eq!(
        store.list_schedules().await.unwrap(),
        [schedule.clone(), second.clone()],
        "oldest first"
    );

    let slot = time("2026-03-02T02:00:00Z");
    assert!(store.claim_schedule_slot(&schedule.id, slot).await.unwrap());
    clock.advance_secs(3600);
    let changed = NewSchedule {
        cron: "30 4 * * 1".into(),
        timezone: "UTC".into(),
        window: ScheduleWindow {
            last_sessions: None,
            since_seconds: Some(86_400),
        },
        min_new_sessions: None,
        mode: DreamMode::Auto,
        output_behavior: OutputBehavior::CreateNew,
        min_support: Some(3),
        enabled: false,
        ..nightly(&support)
    };
    let updated = store
        .update_schedule(&schedule.id, changed.clone())
        .await
        .unwrap();
    assert_eq!(updated.id, schedule.id);
    assert_eq!(updated.created_at, created_at, "the creation time stays");
    assert_eq!(updated.updated_at, clock.now());
    assert_eq!(
        (updated.cron.as_str(), updated.timezone.as_str()),
        ("30 4 * * 1", "UTC")
    );
    assert_eq!(updated.window, changed.window);
    assert_eq!(updated.min_new_sessions, None);
    assert_eq!(
        (updated.mode, updated.output_behavior),
        (DreamMode::Auto, OutputBehavior::CreateNew)
    );
    assert_eq!((updated.min_support, updated.enabled), (Some(3), false));
    assert_eq!(store.get_schedule(&schedule.id).await.unwrap(), updated);
    assert_eq!(
        store.schedule_runs(&schedule.id, 10).await.unwrap().len(),
        1,
        "runs survive an update"
    );
    assert!(
        !store.claim_schedule_slot(&schedule.id, slot).await.unwrap(),
        "an update does not make a claimed slot claimable again"
    );

    let missing: ScheduleId = "dsch_missing".parse().unwrap();
    let err = store
        .update_schedule(&missing, nightly(&support))
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "dream schedule dsch_missing not found");

    store.delete_schedule(&schedule.id).await.unwrap();
    assert_eq!(
        not_found(&store.get_schedule(&schedule.id).await.unwrap_err()).0,
        "dream schedule"
    );
    assert!(
        store
            .schedule_runs(&schedule.id, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(matches!(
        store.delete_schedule(&schedule.id).await,
        Err(StoreError::NotFound { .. })
    ));
    assert_eq!(store.list_schedules().await.unwrap(), [second]);
}

pub async fn a_slot_is_claimed_once_even_by_concurrent_workers(
    store: &dyn Store,
    _clock: &FixedClock,
) {
    let support = memory_store(store, "support").await;
    let a = store.create_schedule(nightly(&support)).await.unwrap();
    let b = store.create_schedule(nightly(&support)).await.unwrap();
    let monday = time("2026-03-02T02:00:00Z");
    let tuesday = time("2026-03-03T02:00:00Z");

    assert!(store.claim_schedule_slot(&a.id, monday).await.unwrap());
    assert!(
        !store.claim_schedule_slot(&a.id, monday).await.unwrap(),
        "a claimed slot never runs again"
    );
    assert!(store.claim_schedule_slot(&a.id, tuesday).await.unwrap());
    assert!(
        store.claim_schedule_slot(&b.id, monday).await.unwrap(),
        "slots belong to one schedule"
    );

    for day in 4..10 {
        let slot = time(&format!("2026-03-{day:02}T02:00:00Z"));
        let (first, second) = tokio::join!(
            store.claim_schedule_slot(&a.id, slot),
            store.claim_schedule_slot(&a.id, slot)
        );
        let wins = [first.unwrap(), second.unwrap()];
        assert_eq!(
            wins.iter().filter(|won| **won).count(),
            1,
            "exactly one of two workers claims {slot}"
        );
    }
    assert_eq!(store.schedule_runs(&a.id, 100).await.unwrap().len(), 8);

    let missing: ScheduleId = "dsch_missing".parse().unwrap();
    let err = store
        .claim_schedule_slot(&missing, monday)
        .await
        .unwrap_err();
    assert_eq!(not_found(&err).0, "dream schedule");
}

pub async fn schedule_runs_are_listed_newest_slot_first(store: &dyn Store, clock: &FixedClock) {
    let support = memory_store(store, "support").await;
    let schedule = store.create_schedule(nightly(&support)).await.unwrap();
    let other = store.create_schedule(nightly(&support)).await.unwrap();
    let slots = [
        time("2026-03-02T02:00:00Z"),
        time("2026-03-03T02:00:00Z"),
        time("2026-03-04T02:00:00Z"),
    ];
    // Claimed out of order (a worker catching up after downtime).
    for slot in [slots[1], slots[0], slots[2]] {
        assert!(store.claim_schedule_slot(&schedule.id, slot).await.unwrap());
    }
    assert!(
        store
            .claim_schedule_slot(&other.id, slots[0])
            .await
            .unwrap()
    );
    let dream: DreamId = "drm_01nightly".parse().unwrap();
    clock.advance_secs(5);
    store
        .finish_schedule_run(&schedule.id, slots[0], Some(&dream), None)
        .await
        .unwrap();
    store
        .finish_schedule_run(
            &schedule.id,
            slots[1],
            None,
            Some("min_new_sessions: 2 new sessions, 5 needed"),
        )
        .await
        .unwrap();

    let runs = store.schedule_runs(&schedule.id, 10).await.unwrap();
    assert_eq!(
        runs.iter().map(|r| r.slot).collect::<Vec<_>>(),
        [slots[2], slots[1], slots[0]],
        "newest slot first"
    );
    assert!(runs.iter().all(|r| r.schedule_id == schedule.id));
    assert_eq!(
        (runs[0].dream_id.as_ref(), runs[0].skipped_reason.as_deref()),
        (None, None),
        "claimed but not finished"
    );
    assert_eq!(
        runs[1].skipped_reason.as_deref(),
        Some("min_new_sessions: 2 new sessions, 5 needed")
    );
    assert_eq!(runs[1].dream_id, None);
    assert_eq!(runs[2].dream_id.as_ref(), Some(&dream));
    assert_eq!(
        runs[2].claimed_at,
        time("2026-03-01T09:00:00Z"),
        "claimed_at is the claim's time, not the finish's"
    );
    assert_eq!(
        store
            .schedule_runs(&schedule.id, 2)
            .await
            .unwrap()
            .iter()
            .map(|r| r.slot)
            .collect::<Vec<_>>(),
        [slots[2], slots[1]]
    );

    let unclaimed = time("2026-03-05T02:00:00Z");
    let err = store
        .finish_schedule_run(&schedule.id, unclaimed, Some(&dream), None)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "not_found_error");
    assert!(
        store
            .schedule_runs(&schedule.id, 10)
            .await
            .unwrap()
            .iter()
            .all(|r| r.slot != unclaimed),
        "finishing an unclaimed slot records nothing"
    );
}

pub async fn deleting_a_store_deletes_its_schedules(store: &dyn Store, _clock: &FixedClock) {
    let support = memory_store(store, "support").await;
    let billing = memory_store(store, "billing").await;
    let gone = store.create_schedule(nightly(&support)).await.unwrap();
    let kept = store.create_schedule(nightly(&billing)).await.unwrap();
    let slot = time("2026-03-02T02:00:00Z");
    assert!(store.claim_schedule_slot(&gone.id, slot).await.unwrap());

    store.delete_memory_store(&support.id).await.unwrap();
    assert!(matches!(
        store.get_schedule(&gone.id).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(store.schedule_runs(&gone.id, 10).await.unwrap().is_empty());
    assert_eq!(store.list_schedules().await.unwrap(), [kept]);
}

pub async fn webhooks_are_created_updated_listed_and_deleted(
    store: &dyn Store,
    clock: &FixedClock,
) {
    let created_at = clock.now();
    let ops = store
        .create_webhook(hook(
            "https://ops.example.com/dream",
            &["dream.completed", "dream.failed"],
            true,
        ))
        .await
        .unwrap();
    assert!(ops.id.as_str().starts_with("whk_"), "{}", ops.id);
    assert_eq!(ops.url, "https://ops.example.com/dream");
    assert_eq!(ops.events, ["dream.completed", "dream.failed"]);
    assert_eq!(ops.secret, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
    assert_eq!(ops.description, "receiver at https://ops.example.com/dream");
    assert_eq!((ops.enabled, ops.created_at), (true, created_at));
    assert_eq!(store.get_webhook(&ops.id).await.unwrap(), ops);

    clock.advance_secs(1);
    let review = store
        .create_webhook(hook(
            "http://localhost:9000/hook",
            &["proposal.created"],
            true,
        ))
        .await
        .unwrap();
    assert_eq!(
        store.list_webhooks().await.unwrap(),
        [ops.clone(), review.clone()],
        "oldest first"
    );

    clock.advance_secs(60);
    let mut changed = hook("https://ops.example.com/v2", &["outcomes.regressed"], false);
    changed.secret = "whsec_rotated".into();
    changed.description = "paused".into();
    let updated = store.update_webhook(&ops.id, changed).await.unwrap();
    assert_eq!((&updated.id, updated.created_at), (&ops.id, created_at));
    assert_eq!(updated.url, "https://ops.example.com/v2");
    assert_eq!(updated.events, ["outcomes.regressed"]);
    assert_eq!(
        (
            updated.secret.as_str(),
            updated.description.as_str(),
            updated.enabled
        ),
        ("whsec_rotated", "paused", false)
    );
    assert_eq!(store.get_webhook(&ops.id).await.unwrap(), updated);

    let missing: WebhookId = "whk_missing".parse().unwrap();
    let err = store
        .update_webhook(&missing, hook("https://x.example", &[], true))
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "webhook whk_missing not found");
    assert_eq!(
        not_found(&store.get_webhook(&missing).await.unwrap_err()).0,
        "webhook"
    );

    store.delete_webhook(&ops.id).await.unwrap();
    assert!(matches!(
        store.get_webhook(&ops.id).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store.delete_webhook(&ops.id).await,
        Err(StoreError::NotFound { .. })
    ));
    assert_eq!(store.list_webhooks().await.unwrap(), [review]);
}

pub async fn events_go_only_to_enabled_subscribed_webhooks(store: &dyn Store, clock: &FixedClock) {
    let subscribed = store
        .create_webhook(hook(
            "https://a.example",
            &["dream.completed", "proposal.created"],
            true,
        ))
        .await
        .unwrap();
    let other_events = store
        .create_webhook(hook("https://b.example", &["dream.failed"], true))
        .await
        .unwrap();
    let disabled = store
        .create_webhook(hook("https://c.example", &["dream.completed"], false))
        .await
        .unwrap();
    let also = store
        .create_webhook(hook("https://d.example", &["dream.completed"], true))
        .await
        .unwrap();

    let now = clock.now();
    let payload = json!({"type": "dream.completed", "data": {"id": "drm_1", "changes": 3}});
    let queued = store
        .enqueue_event("dream.completed", &payload)
        .await
        .unwrap();
    assert_eq!(
        queued.iter().map(|d| &d.webhook_id).collect::<Vec<_>>(),
        [&subscribed.id, &also.id]
    );
    for delivery in &queued {
        assert!(delivery.id.as_str().starts_with("msg_"), "{}", delivery.id);
        assert_eq!(delivery.event_type, "dream.completed");
        assert_eq!(delivery.payload, payload);
        assert_eq!(delivery.status, DeliveryStatus::Pending);
        assert_eq!(delivery.next_attempt_at, Some(now), "due now");
        assert_eq!((delivery.created_at, delivery.delivered_at), (now, None));
        assert!(delivery.attempts.is_empty());
    }
    assert_ne!(queued[0].id, queued[1].id, "one message id per receiver");
    assert_eq!(
        store.list_deliveries(&subscribed.id, 10).await.unwrap(),
        [queued[0].clone()],
        "listed as enqueued"
    );

    assert!(
        store
            .enqueue_event("proposal.applied", &json!({}))
            .await
            .unwrap()
            .is_empty(),
        "nobody subscribed"
    );
    assert!(
        store
            .list_deliveries(&other_events.id, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .list_deliveries(&disabled.id, 10)
            .await
            .unwrap()
            .is_empty()
    );

    clock.advance_secs(10);
    let later = store
        .enqueue_event("proposal.created", &json!({"type": "proposal.created"}))
        .await
        .unwrap();
    assert_eq!(later.len(), 1);
    assert_eq!(
        ids(&store.list_deliveries(&subscribed.id, 10).await.unwrap()),
        [&later[0].id, &queued[0].id],
        "newest first"
    );
    assert_eq!(
        ids(&store.list_deliveries(&subscribed.id, 1).await.unwrap()),
        [&later[0].id]
    );

    // Enabling a webhook does not replay what it missed.
    store
        .update_webhook(
            &disabled.id,
            hook("https://c.example", &["dream.completed"], true),
        )
        .await
        .unwrap();
    assert!(
        store
            .list_deliveries(&disabled.id, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let next = store
        .enqueue_event("dream.completed", &payload)
        .await
        .unwrap();
    assert!(next.iter().any(|d| d.webhook_id == disabled.id));
}

pub async fn due_deliveries_are_leased_to_one_worker_until_the_lease_ends(
    store: &dyn Store,
    clock: &FixedClock,
) {
    store
        .create_webhook(hook("https://a.example", &["dream.completed"], true))
        .await
        .unwrap();
    let t0 = clock.now();
    let first = store
        .enqueue_event("dream.completed", &json!({"n": 1}))
        .await
        .unwrap()
        .remove(0);
    clock.advance_secs(10);
    let second = store
        .enqueue_event("dream.completed", &json!({"n": 2}))
        .await
        .unwrap()
        .remove(0);

    assert!(
        store
            .claim_due_deliveries(t0.plus_secs(-1), t0.plus_secs(59), 10)
            .await
            .unwrap()
            .is_empty(),
        "nothing is due before it was enqueued"
    );
    assert_eq!(
        ids(&store
            .claim_due_deliveries(t0.plus_secs(5), t0.plus_secs(65), 10)
            .await
            .unwrap()),
        [&first.id],
        "only what is due"
    );
    let lease = t0.plus_secs(70);
    let claimed = store
        .claim_due_deliveries(t0.plus_secs(10), lease, 10)
        .await
        .unwrap();
    assert_eq!(ids(&claimed), [&second.id]);
    assert_eq!(claimed[0].next_attempt_at, Some(lease));
    assert_eq!(claimed[0].status, DeliveryStatus::Pending);
    assert_eq!(claimed[0].payload, json!({"n": 2}));

    assert!(
        store
            .claim_due_deliveries(t0.plus_secs(64), t0.plus_secs(120), 10)
            .await
            .unwrap()
            .is_empty(),
        "a leased delivery is not handed to a second worker"
    );
    // The first worker crashed: once the leases end, both come due again, oldest first.
    let again = store
        .claim_due_deliveries(lease, lease.plus_secs(60), 1)
        .await
        .unwrap();
    assert_eq!(ids(&again), [&first.id], "limit, oldest due first");
    assert_eq!(again[0].next_attempt_at, Some(lease.plus_secs(60)));
    assert_eq!(
        ids(&store
            .claim_due_deliveries(lease, lease.plus_secs(60), 10)
            .await
            .unwrap()),
        [&second.id]
    );

    // Two workers polling at once split the due deliveries between them.
    let mut queued = Vec::new();
    for n in 3..13 {
        let delivery = store
            .enqueue_event("dream.completed", &json!({ "n": n }))
            .await
            .unwrap()
            .remove(0);
        queued.push(delivery.id);
    }
    let now = clock.now();
    let (a, b) = tokio::join!(
        store.claim_due_deliveries(now, now.plus_secs(60), 100),
        store.claim_due_deliveries(now, now.plus_secs(60), 100)
    );
    let mut got: Vec<DeliveryId> = a
        .unwrap()
        .into_iter()
        .chain(b.unwrap())
        .map(|d| d.id)
        .collect();
    got.sort();
    queued.sort();
    assert_eq!(got, queued, "every due delivery claimed exactly once");
}

pub async fn attempts_are_recorded_in_order_and_move_the_delivery(
    store: &dyn Store,
    clock: &FixedClock,
) {
    let webhook = store
        .create_webhook(hook("https://a.example", &["dream.failed"], true))
        .await
        .unwrap();
    let t0 = clock.now();
    let flaky = store
        .enqueue_event("dream.failed", &json!({"id": "drm_1"}))
        .await
        .unwrap()
        .remove(0);
    let hopeless = store
        .enqueue_event("dream.failed", &json!({"id": "drm_2"}))
        .await
        .unwrap()
        .remove(0);
    let claimed = store
        .claim_due_deliveries(t0, t0.plus_secs(30), 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 2);

    // First try: the receiver answers 503; retry in a minute.
    let first = attempt(1, t0.plus_secs(1), Some(503), Some("service unavailable"));
    let retry_at = t0.plus_secs(61);
    let pending = store
        .record_delivery_attempt(
            &flaky.id,
            DeliveryOutcome {
                attempt: first.clone(),
                delivered: false,
                next_attempt_at: Some(retry_at),
            },
        )
        .await
        .unwrap();
    assert_eq!(pending.status, DeliveryStatus::Pending);
    assert_eq!(pending.next_attempt_at, Some(retry_at));
    assert_eq!(pending.delivered_at, None);
    assert_eq!(pending.attempts, std::slice::from_ref(&first));
    assert!(
        store
            .claim_due_deliveries(t0.plus_secs(60), t0.plus_secs(90), 10)
            .await
            .unwrap()
            .iter()
            .all(|d| d.id != flaky.id),
        "not due before the retry time"
    );
    let retried = store
        .claim_due_deliveries(retry_at, retry_at.plus_secs(30), 10)
        .await
        .unwrap();
    let retried = retried.iter().find(|d| d.id == flaky.id).unwrap();
    assert_eq!(
        retried.attempts,
        std::slice::from_ref(&first),
        "a claim carries the attempts so far"
    );

    // Second try: no answer, retry later. Third: delivered.
    let second = attempt(2, retry_at.plus_secs(1), None, Some("connection refused"));
    store
        .record_delivery_attempt(
            &flaky.id,
            DeliveryOutcome {
                attempt: second.clone(),
                delivered: false,
                next_attempt_at: Some(retry_at.plus_secs(300)),
            },
        )
        .await
        .unwrap();
    let third = attempt(3, retry_at.plus_secs(301), Some(204), None);
    let delivered = store
        .record_delivery_attempt(
            &flaky.id,
            DeliveryOutcome {
                attempt: third.clone(),
                delivered: true,
                next_attempt_at: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(delivered.status, DeliveryStatus::Delivered);
    assert_eq!(
        delivered.delivered_at,
        Some(third.at),
        "delivered at the attempt's time"
    );
    assert_eq!(delivered.next_attempt_at, None);
    assert_eq!(
        delivered.attempts,
        [first.clone(), second.clone(), third.clone()]
    );
    assert_eq!(delivered.payload, json!({"id": "drm_1"}));

    // Retries run out.
    let last = attempt(1, t0.plus_secs(2), Some(410), Some("gone"));
    let failed = store
        .record_delivery_attempt(
            &hopeless.id,
            DeliveryOutcome {
                attempt: last.clone(),
                delivered: false,
                next_attempt_at: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(failed.status, DeliveryStatus::Failed);
    assert_eq!((failed.next_attempt_at, failed.delivered_at), (None, None));
    assert_eq!(failed.attempts, [last]);
    assert!(
        store
            .claim_due_deliveries(t0.plus_secs(86_400), t0.plus_secs(86_460), 10)
            .await
            .unwrap()
            .is_empty(),
        "delivered and failed deliveries are never claimed again"
    );

    // A worker whose lease ran out reports late: the attempt is kept, the delivery
    // stays delivered and is not sent again.
    let late = attempt(4, retry_at.plus_secs(302), None, Some("timed out"));
    let after = store
        .record_delivery_attempt(
            &flaky.id,
            DeliveryOutcome {
                attempt: late.clone(),
                delivered: false,
                next_attempt_at: Some(retry_at.plus_secs(900)),
            },
        )
        .await
        .unwrap();
    assert_eq!(after.status, DeliveryStatus::Delivered);
    assert_eq!(after.delivered_at, Some(third.at));
    assert_eq!(after.attempts, [first, second, third, late]);

    let listed = store.list_deliveries(&webhook.id, 10).await.unwrap();
    assert_eq!(listed, [failed, after], "newest first, with every attempt");

    let missing: DeliveryId = "msg_missing".parse().unwrap();
    let err = store
        .record_delivery_attempt(
            &missing,
            DeliveryOutcome {
                attempt: attempt(1, t0, Some(200), None),
                delivered: true,
                next_attempt_at: None,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "webhook delivery msg_missing not found");
}

pub async fn an_attempt_is_visible_before_its_answer_and_a_crash_leaves_it_interrupted(
    store: &dyn Store,
    clock: &FixedClock,
) {
    let webhook = store
        .create_webhook(hook("http://127.0.0.1:9/hook", &["dream.completed"], true))
        .await
        .unwrap();
    let t0 = clock.now();
    let delivery = store
        .enqueue_event("dream.completed", &json!({"id": "drm_1"}))
        .await
        .unwrap()
        .remove(0);
    let lease = t0.plus_secs(60);
    store.claim_due_deliveries(t0, lease, 10).await.unwrap();

    // The worker records the attempt, then sends; the server dies before the answer
    // is recorded (the receiver may well have got the event).
    let number = store
        .start_delivery_attempt(&delivery.id, t0.plus_secs(1))
        .await
        .unwrap();
    assert_eq!(number, 1);
    let listed = store.list_deliveries(&webhook.id, 10).await.unwrap();
    let started = &listed[0].attempts;
    assert_eq!(started.len(), 1, "the attempt shows while it is under way");
    assert!(started[0].in_flight);
    assert_eq!(
        (started[0].status_code, started[0].error.as_deref()),
        (None, None)
    );
    assert_eq!(listed[0].status, DeliveryStatus::Pending);

    // After the lease, another worker claims it: the dead attempt is finished as
    // interrupted, and the new one is number 2.
    let again = store
        .claim_due_deliveries(lease, lease.plus_secs(60), 10)
        .await
        .unwrap();
    assert_eq!(ids(&again), [&delivery.id]);
    let interrupted = &again[0].attempts[0];
    assert!(!interrupted.in_flight);
    assert_eq!(interrupted.status_code, None);
    assert!(
        interrupted
            .error
            .as_deref()
            .is_some_and(|e| e.starts_with("interrupted")),
        "{interrupted:?}"
    );
    let second = store
        .start_delivery_attempt(&delivery.id, lease.plus_secs(1))
        .await
        .unwrap();
    assert_eq!(second, 2);
    let done = store
        .record_delivery_attempt(
            &delivery.id,
            DeliveryOutcome {
                attempt: attempt(2, lease.plus_secs(1), Some(200), None),
                delivered: true,
                next_attempt_at: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(done.status, DeliveryStatus::Delivered);
    assert_eq!(done.attempts.len(), 2, "both sends are in the log");
    assert_eq!(
        done.attempts[1],
        attempt(2, lease.plus_secs(1), Some(200), None)
    );
    assert!(done.attempts.iter().all(|a| !a.in_flight));

    let missing: DeliveryId = "msg_missing".parse().unwrap();
    assert_eq!(
        not_found(
            &store
                .start_delivery_attempt(&missing, t0)
                .await
                .unwrap_err()
        )
        .0,
        "webhook delivery"
    );
}

pub async fn deleting_a_webhook_deletes_its_deliveries(store: &dyn Store, clock: &FixedClock) {
    let gone = store
        .create_webhook(hook("https://a.example", &["memory_store.restored"], true))
        .await
        .unwrap();
    let kept = store
        .create_webhook(hook("https://b.example", &["memory_store.restored"], true))
        .await
        .unwrap();
    let queued = store
        .enqueue_event("memory_store.restored", &json!({"store_version": 7}))
        .await
        .unwrap();
    assert_eq!(queued.len(), 2);
    let now = clock.now();
    store
        .record_delivery_attempt(
            &queued[0].id,
            DeliveryOutcome {
                attempt: attempt(1, now, Some(500), None),
                delivered: false,
                next_attempt_at: Some(now),
            },
        )
        .await
        .unwrap();

    store.delete_webhook(&gone.id).await.unwrap();
    assert!(
        store
            .list_deliveries(&gone.id, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let due = store
        .claim_due_deliveries(now, now.plus_secs(60), 10)
        .await
        .unwrap();
    assert_eq!(
        ids(&due),
        [&queued[1].id],
        "nothing is sent to a deleted webhook"
    );
    assert_eq!(due[0].webhook_id, kept.id);
    assert!(matches!(
        store
            .record_delivery_attempt(
                &queued[0].id,
                DeliveryOutcome {
                    attempt: attempt(2, now, Some(200), None),
                    delivered: true,
                    next_attempt_at: None,
                },
            )
            .await,
        Err(StoreError::NotFound { .. })
    ));
}

pub async fn schedule_filters_round_trip(store: &dyn Store, _clock: &FixedClock) {
    let support = memory_store(store, "support").await;
    let filters = dream_types::WindowFilters {
        agents: vec!["support-bot".into(), "triage".into()],
        metadata: [("segment".to_owned(), "enterprise".to_owned())].into(),
        include_undated: true,
    };
    let schedule = store
        .create_schedule(NewSchedule {
            filters: filters.clone(),
            ..nightly(&support)
        })
        .await
        .unwrap();
    assert_eq!(schedule.filters, filters);
    assert_eq!(
        store.get_schedule(&schedule.id).await.unwrap().filters,
        filters
    );
    let cleared = store
        .update_schedule(&schedule.id, nightly(&support))
        .await
        .unwrap();
    assert!(cleared.filters.is_empty(), "{:?}", cleared.filters);
}
