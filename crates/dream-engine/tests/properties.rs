//! Property tests (proptest) of version history and restore: for any sequence of
//! create / update / rename / delete, the store read at version V equals replaying the
//! first V changes; restoring V gives that state; no version record ever changes.

use std::collections::BTreeMap;

use dream_engine::memory::restore;
use dream_store::{MemoryWrite, Store, StoreError, VersionFilter};
use dream_types::MemoryId;
use proptest::prelude::*;

use crate::common::{me, memory_store, temp_store};

const PATHS: [&str; 5] = [
    "/a.md",
    "/b.md",
    "/notes/c.md",
    "/notes/d.md",
    "/notes/deep/e.md",
];
const CONTENTS: [&str; 4] = ["", "one", "two\nlines", "three"];

/// What a write does to the model: the handle it touches and its new (path, content),
/// `None` for a delete.
type Effect = Option<(usize, Option<(String, String)>)>;

#[derive(Debug, Clone)]
enum Op {
    Create(usize, usize),
    Update(usize, usize),
    Rename(usize, usize),
    Delete(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..PATHS.len(), 0..CONTENTS.len()).prop_map(|(p, c)| Op::Create(p, c)),
        (0..8_usize, 0..CONTENTS.len()).prop_map(|(m, c)| Op::Update(m, c)),
        (0..8_usize, 0..PATHS.len()).prop_map(|(m, p)| Op::Rename(m, p)),
        (0..8_usize).prop_map(Op::Delete),
    ]
}

/// The model: live memories by handle, and the state after every store version.
#[derive(Default)]
struct Model {
    ids: Vec<MemoryId>,
    live: BTreeMap<usize, (String, String)>,
    states: Vec<BTreeMap<String, String>>,
}

impl Model {
    fn state(&self) -> BTreeMap<String, String> {
        self.live.values().cloned().collect()
    }
    fn holder(&self, path: &str) -> Option<usize> {
        self.live
            .iter()
            .find(|(_, (p, _))| p == path)
            .map(|(h, _)| *h)
    }
}

async fn run(ops: Vec<Op>, target_pick: usize) {
    let t = temp_store().await;
    let s = memory_store(&t.store).await;
    let mut model = Model {
        states: vec![BTreeMap::new()],
        ..Default::default()
    };
    for op in ops {
        let live_handles: Vec<usize> = model.live.keys().copied().collect();
        let pick =
            |i: usize| (!live_handles.is_empty()).then(|| live_handles[i % live_handles.len()]);
        let (write, expect_ok, effect): (MemoryWrite, bool, Effect) = match op {
            Op::Create(p, c) => {
                let path = PATHS[p].to_owned();
                let ok = model.holder(&path).is_none();
                let handle = model.ids.len();
                (
                    MemoryWrite::Create {
                        path: path.clone(),
                        content: CONTENTS[c].into(),
                    },
                    ok,
                    Some((handle, Some((path, CONTENTS[c].into())))),
                )
            }
            Op::Update(m, c) => {
                let Some(h) = pick(m) else { continue };
                let (path, _) = model.live[&h].clone();
                (
                    MemoryWrite::Update {
                        memory_id: model.ids[h].clone(),
                        content: Some(CONTENTS[c].into()),
                        path: None,
                        precondition: None,
                    },
                    true,
                    Some((h, Some((path, CONTENTS[c].into())))),
                )
            }
            Op::Rename(m, p) => {
                let Some(h) = pick(m) else { continue };
                let (_, content) = model.live[&h].clone();
                let ok = model.holder(PATHS[p]).is_none_or(|holder| holder == h);
                (
                    MemoryWrite::Update {
                        memory_id: model.ids[h].clone(),
                        content: None,
                        path: Some(PATHS[p].into()),
                        precondition: None,
                    },
                    ok,
                    Some((h, Some((PATHS[p].to_owned(), content)))),
                )
            }
            Op::Delete(m) => {
                let Some(h) = pick(m) else { continue };
                (
                    MemoryWrite::Delete {
                        memory_id: model.ids[h].clone(),
                        precondition: None,
                    },
                    true,
                    Some((h, None)),
                )
            }
        };
        let result = t.store.write_memories(&s.id, &[write], &me()).await;
        match (result, expect_ok) {
            (Ok(versions), true) => {
                let (handle, new) = effect.unwrap();
                if handle == model.ids.len() {
                    model.ids.push(versions[0].memory_id.clone());
                }
                let before = model.state();
                match new {
                    Some(value) => model.live.insert(handle, value),
                    None => model.live.remove(&handle),
                };
                let after = model.state();
                // A write that changes nothing writes no version.
                assert_eq!(versions.len(), usize::from(before != after));
                if !versions.is_empty() {
                    model.states.push(after);
                }
            }
            (Err(StoreError::PathConflict { .. }), false) => {}
            (other, expected) => panic!("expected ok={expected}, got {other:?}"),
        }
    }

    let current = t.store.get_memory_store(&s.id).await.unwrap().store_version;
    assert_eq!(current as usize + 1, model.states.len());
    for (v, state) in model.states.iter().enumerate() {
        let read: BTreeMap<String, String> = t
            .store
            .memories_at(&s.id, v as u64)
            .await
            .unwrap()
            .into_iter()
            .map(|m| (m.path.unwrap(), m.content.unwrap()))
            .collect();
        assert_eq!(&read, state, "state at store version {v}");
    }

    let history = t
        .store
        .list_memory_versions(&s.id, &VersionFilter::default())
        .await
        .unwrap();
    let target = (target_pick % model.states.len()) as u64;
    restore(&t.store, &s.id, target, &me()).await.unwrap();
    let live: BTreeMap<String, String> = t
        .store
        .list_memories(&s.id, None)
        .await
        .unwrap()
        .into_iter()
        .map(|m| (m.path, m.content))
        .collect();
    assert_eq!(live, model.states[target as usize], "restore {target}");
    let after = t
        .store
        .list_memory_versions(&s.id, &VersionFilter::default())
        .await
        .unwrap();
    assert_eq!(
        &after[after.len() - history.len()..],
        &history[..],
        "no version record changed"
    );

    restore(&t.store, &s.id, current, &me()).await.unwrap();
    let back: BTreeMap<String, String> = t
        .store
        .list_memories(&s.id, None)
        .await
        .unwrap()
        .into_iter()
        .map(|m| (m.path, m.content))
        .collect();
    assert_eq!(back, model.states[current as usize], "restore away");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn reading_at_a_version_replays_history_and_restore_returns_to_it(
        ops in prop::collection::vec(op(), 1..40),
        target in any::<usize>(),
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(run(ops, target));
    }
}
