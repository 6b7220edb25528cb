//! `dream outcomes`: did a dream help? A store's rubric and watch policy, per-session
//! metrics, before/after comparisons (table, `--json`, `--html`), and the regression
//! watch.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use dream_engine::outcomes::groups::compare_groups;
use dream_engine::outcomes::metrics::{self, is_builtin};
use dream_engine::outcomes::report::render_html;
use dream_engine::outcomes::watch::watch_store;
use dream_engine::outcomes::{MetricComparison, Verdict};
use dream_store::{OpenMode, SessionRef, Store};
use dream_types::{MetricSource, OutcomesConfig, SessionMetric};

use super::stores::resolve_store;
use super::{now, open_store};
use crate::error::{CliError, CliResult};
use crate::output::{Output, bad, dim, good, strong};

/// `dream outcomes …`
#[derive(Debug, Subcommand)]
pub enum OutcomesCommand {
    /// Show or set a store's rubric and watch policy.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Record a custom metric of a session (`--name resolved_first_contact --value 1`).
    Record(RecordArgs),
    /// Show a session's metrics (built-in and custom).
    Metrics(MetricsArgs),
    /// Compare two groups of sessions (store versions, before/after a dream, time
    /// ranges) on every metric: n, mean or rate, difference, 95% CI, verdict.
    Compare(CompareArgs),
    /// Judge the applied dreams that have enough sessions since: alert on a regression
    /// and, with the store's auto_rollback policy, restore the version before the dream.
    Watch(WatchArgs),
}

/// `dream outcomes config …`
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the store's outcomes configuration (YAML-shaped; --json for JSON).
    Show(StoreArg),
    /// Replace it from a YAML or TOML file:
    /// `outcomes: [{name, description, signal: high|medium|low}]`,
    /// `policy: {watch, auto_rollback, min_sessions, metrics}`, `lower_is_better: [...]`.
    Set(SetArgs),
}

/// A `--store` option.
#[derive(Debug, Args)]
pub struct StoreArg {
    /// The memory store (name or memstore_ id; default: the only one, or DREAM_STORE).
    #[arg(long, env = "DREAM_STORE")]
    store: Option<String>,
}

/// Arguments of `dream outcomes config set`.
#[derive(Debug, Args)]
pub struct SetArgs {
    /// The file (`.yaml`, `.yml` or `.toml`).
    file: PathBuf,
    #[command(flatten)]
    store: StoreArg,
}

/// Arguments of `dream outcomes record`.
#[derive(Debug, Args)]
pub struct RecordArgs {
    /// The session (sesn_ id or its id in the source).
    #[arg(long)]
    session: String,
    /// The metric's name (snake_case; not a built-in name).
    #[arg(long)]
    name: String,
    /// Its value.
    #[arg(long, allow_negative_numbers = true)]
    value: f64,
}

/// Arguments of `dream outcomes metrics`.
#[derive(Debug, Args)]
pub struct MetricsArgs {
    /// The session (sesn_ id or its id in the source).
    session: String,
}

/// Arguments of `dream outcomes compare`.
#[derive(Debug, Args)]
pub struct CompareArgs {
    #[command(flatten)]
    store: StoreArg,
    /// The reference group: v7, v3..v7, drm_… (before it), before:/after:drm_…, or a
    /// time range 2026-03-01..2026-04-01.
    #[arg(long)]
    baseline: String,
    /// The group judged against it (same forms; drm_… means after it).
    #[arg(long)]
    candidate: String,
    /// Only these metrics (comma-separated).
    #[arg(long, value_delimiter = ',')]
    metrics: Vec<String>,
    /// Also write a self-contained HTML report (charts per store version) to FILE.
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
}

/// Arguments of `dream outcomes watch`.
#[derive(Debug, Args)]
pub struct WatchArgs {
    #[command(flatten)]
    store: StoreArg,
}

/// Runs a `dream outcomes` subcommand.
pub async fn cmd_outcomes(db: &Path, command: OutcomesCommand, out: Output) -> CliResult<u8> {
    let store = open_store(db, OpenMode::MustExist).await?;
    let result = match command {
        OutcomesCommand::Config(ConfigCommand::Show(args)) => show_config(&store, args, out).await,
        OutcomesCommand::Config(ConfigCommand::Set(args)) => set_config(&store, args, out).await,
        OutcomesCommand::Record(args) => record(&store, args, out).await,
        OutcomesCommand::Metrics(args) => show_metrics(&store, args, out).await,
        OutcomesCommand::Compare(args) => compare(&store, args, out).await,
        OutcomesCommand::Watch(args) => watch(&store, args, out).await,
    };
    store.close().await;
    result
}

/// Reads an outcomes configuration from YAML or TOML, naming the file and the field.
///
/// # Errors
/// `invalid_config` (exit 1) with the parser's position and message.
pub fn parse_config(path: &Path, text: &str) -> CliResult<OutcomesConfig> {
    let toml = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("toml"));
    let parsed: Result<OutcomesConfig, String> = if toml {
        toml::from_str(text).map_err(|e| e.to_string())
    } else {
        serde_saphyr::from_str(text).map_err(|e| e.to_string())
    };
    let config = parsed.map_err(|e| {
        CliError::input(
            "invalid_config",
            format!("{}: {}", path.display(), e.trim()),
        )
    })?;
    dream_engine::outcomes::validate_config(&config)
        .map_err(|e| CliError::input("invalid_config", format!("{}: {e}", path.display())))?;
    Ok(config)
}

async fn show_config(store: &dyn Store, args: StoreArg, out: Output) -> CliResult<u8> {
    let target = resolve_store(store, args.store.as_deref()).await?;
    let config = store.outcomes_config(&target.id).await?;
    if out.json {
        out.json(&config)?;
    } else {
        out.line(format!("# outcomes of {} ({})", target.name, target.id))?;
        let yaml = serde_saphyr::to_string(&config)
            .map_err(|e| CliError::Internal(format!("cannot print the configuration: {e}")))?;
        out.line(yaml.trim_end())?;
    }
    Ok(0)
}

async fn set_config(store: &dyn Store, args: SetArgs, out: Output) -> CliResult<u8> {
    let text = std::fs::read_to_string(&args.file).map_err(|e| {
        CliError::input(
            "not_found_error",
            format!("cannot read {}: {e}", args.file.display()),
        )
    })?;
    let config = parse_config(&args.file, &text)?;
    let target = resolve_store(store, args.store.store.as_deref()).await?;
    store.set_outcomes_config(&target.id, &config).await?;
    if out.json {
        out.json(&config)?;
    } else {
        out.line(format!(
            "Set the outcomes of {}: {} criteria, watch {}, auto_rollback {}, min_sessions {}.",
            target.name,
            config.outcomes.len(),
            if config.policy.watch { "on" } else { "off" },
            if config.policy.auto_rollback {
                "on"
            } else {
                "off"
            },
            config.policy.min_sessions
        ))?;
    }
    Ok(0)
}

async fn record(store: &dyn Store, args: RecordArgs, out: Output) -> CliResult<u8> {
    if is_builtin(&args.name) {
        return Err(CliError::usage(
            "invalid_request_error",
            format!(
                "{:?} is a built-in metric, computed from the transcript; record custom metrics under another name",
                args.name
            ),
        ));
    }
    dream_engine::outcomes::validate_metric_name(&args.name)
        .map_err(|e| CliError::usage("invalid_request_error", format!("--name: {e}")))?;
    if !args.value.is_finite() {
        return Err(CliError::usage(
            "invalid_request_error",
            "--value must be a finite number",
        ));
    }
    let session = store.get_session(&SessionRef::parse(&args.session)).await?;
    let metric = SessionMetric {
        session_id: session.id.clone(),
        name: args.name,
        value: args.value,
        source: MetricSource::Custom,
        definition_version: 0,
        recorded_at: now()?,
    };
    store.record_metric(&metric).await?;
    if out.json {
        out.json(&metric)?;
    } else {
        out.line(format!(
            "Recorded {} = {} for {}.",
            metric.name, metric.value, session.id
        ))?;
    }
    Ok(0)
}

async fn show_metrics(store: &dyn Store, args: MetricsArgs, out: Output) -> CliResult<u8> {
    metrics::refresh(store).await?;
    let session = store.get_session(&SessionRef::parse(&args.session)).await?;
    let values = store
        .session_metrics(std::slice::from_ref(&session.id))
        .await?;
    if out.json {
        out.json(&serde_json::json!({
            "session_id": session.id,
            "memory_version": session.memory_version,
            "metrics": values,
        }))?;
        return Ok(0);
    }
    let link = match &session.memory_version {
        Some(v) => format!(
            "ran with {} version {}",
            v.store_id.as_deref().unwrap_or("an unnamed store"),
            v.version
        ),
        None => "no memory-version link (left out of comparisons)".into(),
    };
    out.line(format!("{} — {link}", strong().apply_to(&session.id)))?;
    for m in &values {
        let source = match m.source {
            MetricSource::Builtin => "built-in",
            MetricSource::Custom => "custom",
        };
        out.line(format!(
            "  {:<24} {:>12}  {}",
            m.name,
            format_value(m.value),
            dim().apply_to(source)
        ))?;
    }
    Ok(0)
}

fn format_value(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e12 {
        format!("{value:.0}")
    } else if value.abs() < 10.0 {
        format!("{value:.3}")
    } else {
        format!("{value:.1}")
    }
}

fn format_side(c: &MetricComparison, side: &dream_engine::outcomes::SideStats) -> String {
    match side.mean {
        None => "—".into(),
        Some(mean) if c.kind == dream_engine::outcomes::MetricKind::Binary => {
            format!("{:.1}%", mean * 100.0)
        }
        Some(mean) => format_value(mean),
    }
}

fn verdict_text(verdict: Verdict) -> String {
    let text = verdict.as_str();
    match verdict {
        Verdict::Improved => good().apply_to(text).to_string(),
        Verdict::Regressed => bad().apply_to(text).to_string(),
        Verdict::NoChange | Verdict::InsufficientData => dim().apply_to(text).to_string(),
    }
}

async fn compare(store: &dyn Store, args: CompareArgs, out: Output) -> CliResult<u8> {
    let target = resolve_store(store, args.store.store.as_deref()).await?;
    let only = (!args.metrics.is_empty()).then_some(args.metrics.as_slice());
    let report = compare_groups(store, &target.id, &args.baseline, &args.candidate, only).await?;
    if let Some(path) = &args.html {
        let data =
            dream_engine::outcomes::groups::report_data(store, &report, &now()?.to_rfc3339())
                .await?;
        std::fs::write(path, render_html(&data)).map_err(|e| {
            CliError::input("io_error", format!("cannot write {}: {e}", path.display()))
        })?;
        out.note(format!("wrote {}", path.display()));
    }
    if out.json {
        out.json(&report)?;
        return Ok(0);
    }
    out.line(format!(
        "{} ({}): baseline {} — {} sessions (versions {}); candidate {} — {} sessions (versions {}); {} unlinked sessions left out.",
        strong().apply_to(&report.store_name),
        report.memory_store_id,
        report.baseline.spec,
        report.baseline.sessions,
        versions(&report.baseline.store_versions),
        report.candidate.spec,
        report.candidate.sessions,
        versions(&report.candidate.store_versions),
        report.excluded_unlinked,
    ))?;
    out.line("")?;
    out.line(format!(
        "  {:<28} {:>6} {:>10}   {:>6} {:>10}   {:>10}  {:<24}  {}",
        "metric", "n", "baseline", "n", "candidate", "difference", "95% CI", "verdict"
    ))?;
    for c in &report.comparisons {
        let ci = match (c.ci_low, c.ci_high) {
            (Some(lo), Some(hi)) => format!("[{}, {}]", format_value(lo), format_value(hi)),
            _ => "—".into(),
        };
        out.line(format!(
            "  {:<28} {:>6} {:>10}   {:>6} {:>10}   {:>10}  {:<24}  {}",
            c.metric,
            c.baseline.n,
            format_side(c, &c.baseline),
            c.candidate.n,
            format_side(c, &c.candidate),
            c.difference.map(format_value).unwrap_or_else(|| "—".into()),
            ci,
            verdict_text(c.verdict)
        ))?;
    }
    out.line("")?;
    out.line(
        dim()
            .apply_to(format!(
                "Rates: Newcombe's hybrid score interval; means: Welch's t interval. A verdict needs at least {} sessions per side.",
                dream_engine::outcomes::compare::MIN_N
            ))
            .to_string(),
    )?;
    Ok(0)
}

fn versions(list: &[u64]) -> String {
    match (list.first(), list.last()) {
        (None, _) | (_, None) => "none".into(),
        (Some(a), Some(b)) if a == b => a.to_string(),
        (Some(a), Some(b)) => format!("{a}–{b}"),
    }
}

async fn watch(store: &dyn Store, args: WatchArgs, out: Output) -> CliResult<u8> {
    let target = resolve_store(store, args.store.store.as_deref()).await?;
    let report = watch_store(store, &target.id, now()?).await?;
    if out.json {
        out.json(&report)?;
        return Ok(0);
    }
    if report.checks.is_empty() && report.waiting.is_empty() {
        out.line(format!(
            "Nothing to judge in {}: no applied dream without a check.",
            target.name
        ))?;
    }
    for check in &report.checks {
        let reason = check.comparison["reason"].as_str().unwrap_or_default();
        let line = match check.action.as_str() {
            "rolled_back" => format!(
                "{} {}: {reason}; restored store version {} as version {}.",
                bad().apply_to("Rolled back"),
                check.dream_id,
                check.restored_to_version.unwrap_or_default(),
                check.rollback_store_version.unwrap_or_default()
            ),
            "alerted" => format!(
                "{} {}: {reason} (auto_rollback is off: `dream memory restore` to undo).",
                bad().apply_to("Regressed"),
                check.dream_id
            ),
            _ => format!("{} {}: {reason}.", good().apply_to("OK"), check.dream_id),
        };
        out.line(line)?;
    }
    for waiting in &report.waiting {
        out.line(format!(
            "Waiting {}: {} sessions before, {} after; {} needed on each side.",
            waiting.dream_id,
            waiting.baseline_sessions,
            waiting.candidate_sessions,
            waiting.min_sessions
        ))?;
    }
    Ok(0)
}
