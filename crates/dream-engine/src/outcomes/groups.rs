//! Choosing the two groups of sessions a comparison sets against each other, and
//! comparing every metric between them.
//!
//! A group is a set of top-level sessions that ran with a version of the store
//! (their memory-version link); sessions with no link are left out and counted.
//! Group specifications (`--baseline` / `--candidate`):
//!
//! | spec | sessions that ran with |
//! |---|---|
//! | `v7` or `7` | store version 7 |
//! | `v3..v7` | store versions 3 to 7 |
//! | `drm_…` | as the baseline: the versions before the dream's changes were applied (since the previous applied dream); as the candidate: the versions from its first applied change up to the next applied dream |
//! | `before:drm_…`, `after:drm_…` | the same, explicitly |
//! | `2026-03-01..2026-04-01` | any version of the store, sessions started in that range (dates or RFC 3339 times; dates are whole UTC days, the end inclusive) |

use std::collections::{BTreeMap, BTreeSet};

use dream_store::{DreamFilter, Store};
use dream_types::{
    ChangeStatus, DreamId, MemoryStoreId, OutcomesConfig, Session, SessionFilter, SessionId,
    SessionMetric, Timestamp,
};
use serde::Serialize;

use crate::outcomes::compare::compare_metric;
use crate::outcomes::metrics::{self, is_builtin};
use crate::outcomes::rubric::{AVOIDED_KNOWN_MISTAKE, KnownMistakes, from_outcomes};
use crate::outcomes::{Direction, MetricComparison, MetricKind};
use crate::{EngineError, EngineResult};

/// Which side a specification is read for (a bare dream id means "before" as the
/// baseline and "after" as the candidate).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The reference group.
    Baseline,
    /// The group judged against it.
    Candidate,
}

/// A parsed group specification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum GroupSpec {
    /// Store versions `from..=to`.
    Versions {
        /// First version.
        from: u64,
        /// Last version.
        to: u64,
    },
    /// The versions before a dream was applied.
    BeforeDream {
        /// The dream.
        dream_id: DreamId,
    },
    /// The versions from a dream's first applied change.
    AfterDream {
        /// The dream.
        dream_id: DreamId,
    },
    /// Sessions started in `from..=to`.
    Time {
        /// Start (inclusive).
        from: Timestamp,
        /// End (inclusive).
        to: Timestamp,
    },
}

fn bad(spec: &str, why: &str) -> EngineError {
    EngineError::InvalidRequest(format!(
        "{spec:?} is not a group: {why}; use v7, v3..v7, drm_…, before:drm_…, after:drm_… or 2026-03-01..2026-04-01"
    ))
}

fn version(text: &str) -> Option<u64> {
    text.strip_prefix('v').unwrap_or(text).parse().ok()
}

fn time(text: &str, end: bool) -> Option<Timestamp> {
    if let Ok(t) = Timestamp::parse(text) {
        return Some(t);
    }
    let day = Timestamp::parse(&format!("{text}T00:00:00Z")).ok()?;
    Some(if end {
        Timestamp::from_unix_micros(day.unix_micros() + 86_400_000_000 - 1)?
    } else {
        day
    })
}

/// Parses a group specification (see the module table).
///
/// # Errors
/// [`EngineError::InvalidRequest`] naming the specification and the accepted forms.
pub fn parse_spec(spec: &str, side: Side) -> EngineResult<GroupSpec> {
    let spec = spec.trim();
    let dream = |text: &str| -> EngineResult<DreamId> {
        text.parse().map_err(|_| bad(spec, "not a dream id"))
    };
    if let Some(rest) = spec.strip_prefix("before:") {
        return Ok(GroupSpec::BeforeDream {
            dream_id: dream(rest)?,
        });
    }
    if let Some(rest) = spec.strip_prefix("after:") {
        return Ok(GroupSpec::AfterDream {
            dream_id: dream(rest)?,
        });
    }
    if spec.starts_with("drm_") {
        let dream_id = dream(spec)?;
        return Ok(match side {
            Side::Baseline => GroupSpec::BeforeDream { dream_id },
            Side::Candidate => GroupSpec::AfterDream { dream_id },
        });
    }
    if let Some((a, b)) = spec.split_once("..") {
        if let (Some(from), Some(to)) = (version(a), version(b)) {
            if from > to {
                return Err(bad(spec, "the first version is after the last"));
            }
            return Ok(GroupSpec::Versions { from, to });
        }
        if let (Some(from), Some(to)) = (time(a, false), time(b, true)) {
            if from > to {
                return Err(bad(spec, "the range starts after it ends"));
            }
            return Ok(GroupSpec::Time { from, to });
        }
        return Err(bad(spec, "neither a version range nor a time range"));
    }
    match version(spec) {
        Some(v) => Ok(GroupSpec::Versions { from: v, to: v }),
        None => Err(bad(spec, "unrecognised")),
    }
}

/// A dream applied to a store: where its changes start, and where the next applied
/// dream's start (both store versions).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AppliedDream {
    /// The dream.
    pub dream_id: DreamId,
    /// The store version its first applied change wrote.
    pub applied_store_version: u64,
    /// When it was created.
    pub created_at: Timestamp,
}

/// Returns the dreams whose changes were applied to `store`, in order of the version
/// their first applied change wrote.
///
/// # Errors
/// Store errors.
pub async fn applied_dreams(
    store: &dyn Store,
    store_id: &MemoryStoreId,
) -> EngineResult<Vec<AppliedDream>> {
    let dreams = store
        .list_dreams(&DreamFilter {
            include_archived: true,
            ..DreamFilter::default()
        })
        .await?;
    let mut out = Vec::new();
    for dream in dreams {
        if dream.output_store_id.as_ref() != Some(store_id) {
            continue;
        }
        let Some(proposal) = &dream.proposal_id else {
            continue;
        };
        let first = store
            .change_reviews(proposal)
            .await?
            .into_iter()
            .filter(|r| r.status == ChangeStatus::Applied)
            .filter_map(|r| r.applied_store_version)
            .min();
        if let Some(first) = first {
            out.push(AppliedDream {
                dream_id: dream.id,
                applied_store_version: first,
                created_at: dream.created_at,
            });
        }
    }
    out.sort_by_key(|d| (d.applied_store_version, d.created_at));
    Ok(out)
}

/// The store versions `[from, until)` around an applied dream.
fn dream_bounds(
    applied: &[AppliedDream],
    dream: &DreamId,
    after: bool,
) -> EngineResult<(u64, u64)> {
    let i = applied
        .iter()
        .position(|d| &d.dream_id == dream)
        .ok_or_else(|| {
            EngineError::InvalidRequest(format!(
                "dream {dream} has no applied change in this store: approve its proposal first, \
                 or compare store versions (v3..v7)"
            ))
        })?;
    let at = applied[i].applied_store_version;
    Ok(if after {
        (
            at,
            applied
                .get(i + 1)
                .map_or(u64::MAX, |d| d.applied_store_version),
        )
    } else {
        (
            if i == 0 {
                0
            } else {
                applied[i - 1].applied_store_version
            },
            at,
        )
    })
}

/// One side of a comparison, as chosen.
#[derive(Debug, Clone, Serialize)]
pub struct Group {
    /// What was asked for.
    pub spec: String,
    /// How it was read.
    pub parsed: GroupSpec,
    /// Linked top-level sessions in it.
    pub sessions: u64,
    /// The store versions they ran with.
    pub store_versions: Vec<u64>,
}

/// What [`compare_groups`] returns.
#[derive(Debug, Clone, Serialize)]
pub struct CompareReport {
    /// The store.
    pub memory_store_id: MemoryStoreId,
    /// Its name.
    pub store_name: String,
    /// The reference group.
    pub baseline: Group,
    /// The group judged.
    pub candidate: Group,
    /// Top-level sessions without a memory-version link, left out.
    pub excluded_unlinked: u64,
    /// One comparison per metric with data on either side.
    pub comparisons: Vec<MetricComparison>,
}

/// The values of every metric, per linked session.
#[derive(Debug, Default)]
pub struct MetricTable {
    /// Linked top-level sessions with their store version.
    pub sessions: Vec<(Session, u64)>,
    /// metric → session → value.
    pub values: BTreeMap<String, BTreeMap<SessionId, f64>>,
    /// Top-level sessions without any memory-version link.
    pub unlinked: u64,
}

/// Returns the kind and direction of a metric.
pub fn metric_shape(name: &str, config: &OutcomesConfig) -> (MetricKind, Direction) {
    if name == "task_completion" || name.starts_with("criterion:") {
        return (MetricKind::Binary, Direction::HigherIsBetter);
    }
    let lower = matches!(
        name,
        "duration_secs" | "error_rate" | "user_correction_rate" | "input_tokens" | "output_tokens"
    ) || config.lower_is_better.iter().any(|m| m == name);
    (
        MetricKind::Continuous,
        if lower {
            Direction::LowerIsBetter
        } else {
            Direction::HigherIsBetter
        },
    )
}

/// Reads every linked top-level session of `store_id` with its metrics (built-in,
/// custom, and each rubric criterion as `criterion:<name>`), refreshing stale
/// built-in metrics first.
///
/// # Errors
/// Store errors.
pub async fn metric_table(
    store: &dyn Store,
    store_id: &MemoryStoreId,
    config: &OutcomesConfig,
) -> EngineResult<MetricTable> {
    metrics::refresh(store).await?;
    let all = store
        .list_sessions(&SessionFilter {
            top_level_only: true,
            ..SessionFilter::default()
        })
        .await?;
    let mut table = MetricTable::default();
    for session in all {
        match &session.memory_version {
            None => table.unlinked += 1,
            Some(link) if link.store_id.is_none() => table.unlinked += 1,
            Some(link) if link.store_id.as_deref() == Some(store_id.as_str()) => {
                let version = link.version;
                table.sessions.push((session, version));
            }
            Some(_) => {}
        }
    }
    let ids: Vec<SessionId> = table.sessions.iter().map(|(s, _)| s.id.clone()).collect();
    for SessionMetric {
        session_id,
        name,
        value,
        ..
    } in store.session_metrics(&ids).await?
    {
        table
            .values
            .entry(name)
            .or_default()
            .insert(session_id, value);
    }
    let mut known = KnownMistakes::new();
    for criterion in &config.outcomes {
        let key = format!("criterion:{}", criterion.name);
        for (session, _) in &table.sessions {
            let result = if criterion.name == AVOIDED_KNOWN_MISTAKE {
                let events = store.session_events(&session.id, None).await?;
                known.judge(store, session, &events).await?
            } else {
                from_outcomes(&criterion.name, session)
            };
            if let Some(value) = result.value() {
                table
                    .values
                    .entry(key.clone())
                    .or_default()
                    .insert(session.id.clone(), value);
            }
        }
    }
    Ok(table)
}

/// Returns the linked sessions of `table` in a group, with the versions they ran with.
fn members<'a>(
    table: &'a MetricTable,
    spec: &GroupSpec,
    applied: &[AppliedDream],
) -> EngineResult<Vec<&'a (Session, u64)>> {
    let in_versions = |from: u64, until_exclusive: u64| {
        table
            .sessions
            .iter()
            .filter(|(_, v)| *v >= from && *v < until_exclusive)
            .collect::<Vec<_>>()
    };
    Ok(match spec {
        GroupSpec::Versions { from, to } => in_versions(*from, to.saturating_add(1)),
        GroupSpec::BeforeDream { dream_id } => {
            let (from, until) = dream_bounds(applied, dream_id, false)?;
            in_versions(from, until)
        }
        GroupSpec::AfterDream { dream_id } => {
            let (from, until) = dream_bounds(applied, dream_id, true)?;
            in_versions(from, until)
        }
        GroupSpec::Time { from, to } => table
            .sessions
            .iter()
            .filter(|(s, _)| {
                let at = s.started_at.unwrap_or(s.ingested_at);
                at >= *from && at <= *to
            })
            .collect(),
    })
}

/// Compares two groups of sessions of a store on every metric with data.
///
/// # Errors
/// [`EngineError::InvalidRequest`] for a bad specification or a dream with nothing
/// applied to this store; store errors.
pub async fn compare_groups(
    store: &dyn Store,
    store_id: &MemoryStoreId,
    baseline: &str,
    candidate: &str,
    only: Option<&[String]>,
) -> EngineResult<CompareReport> {
    let info = store.get_memory_store(store_id).await?;
    let config = store.outcomes_config(store_id).await?;
    let base_spec = parse_spec(baseline, Side::Baseline)?;
    let cand_spec = parse_spec(candidate, Side::Candidate)?;
    let applied = applied_dreams(store, store_id).await?;
    let table = metric_table(store, store_id, &config).await?;
    let base = members(&table, &base_spec, &applied)?;
    let cand = members(&table, &cand_spec, &applied)?;
    let group = |spec: &str, parsed: GroupSpec, rows: &[&(Session, u64)]| Group {
        spec: spec.to_owned(),
        parsed,
        sessions: rows.len() as u64,
        store_versions: rows
            .iter()
            .map(|(_, v)| *v)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect(),
    };
    let mut names: Vec<&String> = table.values.keys().collect();
    names.sort_by_key(|n| {
        (
            metrics::BUILTIN
                .iter()
                .position(|b| b == n)
                .unwrap_or(usize::MAX),
            (*n).clone(),
        )
    });
    if let Some(only) = only
        && let Some(unknown) = only
            .iter()
            .find(|m| !table.values.contains_key(*m) && !is_builtin(m))
    {
        return Err(EngineError::InvalidRequest(format!(
            "no session of {store_id} has a metric {unknown:?}; known: {}",
            names
                .iter()
                .map(|n| n.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let mut comparisons = Vec::new();
    for name in names {
        if only.is_some_and(|only| !only.contains(name)) {
            continue;
        }
        let values = &table.values[name];
        let side = |rows: &[&(Session, u64)]| -> Vec<f64> {
            rows.iter()
                .filter_map(|(s, _)| values.get(&s.id).copied())
                .collect()
        };
        let (kind, direction) = metric_shape(name, &config);
        comparisons.push(compare_metric(
            name,
            kind,
            direction,
            &side(&base),
            &side(&cand),
        ));
    }
    Ok(CompareReport {
        memory_store_id: store_id.clone(),
        store_name: info.name,
        baseline: group(baseline, base_spec, &base),
        candidate: group(candidate, cand_spec, &cand),
        excluded_unlinked: table.unlinked,
        comparisons,
    })
}

/// Builds the HTML report's data for a comparison: the summary rows, each compared
/// metric's mean per store version (with its 95% interval) over every linked
/// session of the store, and a marker per applied dream.
///
/// # Errors
/// Store errors.
pub async fn report_data(
    store: &dyn Store,
    report: &CompareReport,
    generated_at: &str,
) -> EngineResult<crate::outcomes::report::ReportData> {
    use crate::outcomes::report::{DreamMarker, MetricSeries, ReportData, VersionPoint};
    let config = store.outcomes_config(&report.memory_store_id).await?;
    let table = metric_table(store, &report.memory_store_id, &config).await?;
    let applied = applied_dreams(store, &report.memory_store_id).await?;
    let mut series = Vec::new();
    for comparison in &report.comparisons {
        let Some(values) = table.values.get(&comparison.metric) else {
            continue;
        };
        let mut by_version: BTreeMap<u64, Vec<f64>> = BTreeMap::new();
        for (session, version) in &table.sessions {
            if let Some(value) = values.get(&session.id) {
                by_version.entry(*version).or_default().push(*value);
            }
        }
        let points = by_version
            .into_iter()
            .filter_map(|(store_version, values)| {
                let stats = crate::outcomes::compare::describe(&values);
                let interval = crate::outcomes::compare::interval(comparison.kind, &values);
                Some(VersionPoint {
                    store_version,
                    n: stats.n,
                    mean: stats.mean?,
                    ci_low: interval.map(|(lo, _)| lo),
                    ci_high: interval.map(|(_, hi)| hi),
                })
            })
            .collect();
        series.push(MetricSeries {
            metric: comparison.metric.clone(),
            direction: comparison.direction,
            kind: comparison.kind,
            points,
        });
    }
    let label = |group: &Group| {
        format!(
            "{} — {} sessions, store versions {}",
            group.spec,
            group.sessions,
            match (group.store_versions.first(), group.store_versions.last()) {
                (Some(a), Some(b)) if a == b => a.to_string(),
                (Some(a), Some(b)) => format!("{a}–{b}"),
                _ => "none".to_owned(),
            }
        )
    };
    Ok(ReportData {
        title: format!("Outcomes of {}", report.store_name),
        store_id: report.memory_store_id.to_string(),
        store_name: report.store_name.clone(),
        generated_at: generated_at.to_owned(),
        baseline_label: label(&report.baseline),
        candidate_label: label(&report.candidate),
        comparisons: report.comparisons.clone(),
        series,
        dreams: applied
            .iter()
            .map(|d| DreamMarker {
                dream_id: d.dream_id.to_string(),
                applied_store_version: d.applied_store_version,
                label: format!("dream {}", d.dream_id),
            })
            .collect(),
        excluded_unlinked: report.excluded_unlinked,
    })
}
