//! Reading the real transcripts without a store.

use dream_ingest::{Item, ReadOptions, parse_file};

use crate::common::shared_data;

#[test]
fn tau_bench_file_yields_200_sessions() {
    let Some(path) = shared_data("tau-bench/historical_trajectories/gpt-4o-airline.json") else {
        return;
    };
    let items = parse_file(&path, &ReadOptions::default());
    let begins = items.iter().filter(|i| matches!(i, Item::Begin(_))).count();
    let invalid: Vec<_> = items
        .iter()
        .filter(|i| matches!(i, Item::Invalid(_)))
        .collect();
    assert!(invalid.is_empty(), "{invalid:?}");
    assert_eq!(begins, 200);
}
