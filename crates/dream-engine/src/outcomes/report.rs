//! The outcomes report: one self-contained HTML file that shows how per-session
//! metrics moved across a memory store's versions, and where dreams were applied.
//!
//! [`render_html`] takes a [`ReportData`] (the comparisons of a baseline and a
//! candidate, plus each metric's mean per store version) and returns a page with
//! inline CSS and inline SVG only: no JavaScript, no fonts, images or anything else
//! fetched, and a Content-Security-Policy that forbids it. It opens in any browser,
//! offline, and renders the same in headless Chromium (the screenshot test in
//! `tests/report_chromium.rs`).
//!
//! The page has, from top to bottom: the title and the store; the baseline and
//! candidate labels with the count of sessions left out for lack of a memory-version
//! link; a summary table with one row per comparison (sessions, mean or rate on each
//! side, the difference with its 95% interval, the p-value and the verdict, coloured:
//! improved green, regressed red, no change grey, insufficient data amber); then one
//! chart per metric series. Every chart is an `<svg class="chart" data-metric="…">`
//! with the store versions that have sessions on the x axis (in order, one equal
//! step each, shared by all charts so they line up), the mean per version on the y
//! axis with its confidence interval as a band and whiskers, points sized by their
//! number of sessions (also printed under the version label), and a dashed vertical
//! line for each dream just before the first version with sessions that started
//! with its changes. Version labels are thinned when versions are many; a chart
//! without points says "no linked sessions"; equal values, a single point, and very
//! large or small numbers (SI suffixes, scientific notation) are drawn cleanly.
//!
//! The output is a pure function of the input: the same [`ReportData`] gives the
//! same bytes (no clock is read; `generated_at` is printed as given).
//!
//! ```
//! use dream_engine::outcomes::report::{render_html, MetricSeries, ReportData, VersionPoint};
//! use dream_engine::outcomes::{Direction, MetricKind};
//!
//! let data = ReportData {
//!     title: "Outcomes".into(),
//!     store_id: "memstore_01".into(),
//!     generated_at: "2026-03-01T09:00:00Z".into(),
//!     series: vec![MetricSeries {
//!         metric: "task_completion".into(),
//!         direction: Direction::HigherIsBetter,
//!         kind: MetricKind::Binary,
//!         points: vec![VersionPoint { store_version: 3, n: 40, mean: 0.7, ci_low: Some(0.55), ci_high: Some(0.82) }],
//!     }],
//!     ..Default::default()
//! };
//! let html = render_html(&data);
//! assert!(html.starts_with("<!DOCTYPE html>"));
//! assert_eq!(html.matches("<svg class=\"chart\"").count(), 1);
//! ```

use std::fmt::{self, Display, Write as _};

use serde::{Deserialize, Serialize};

use super::{Direction, MetricComparison, MetricKind, Verdict};

/// Everything the report shows. Built by `dream outcomes compare --html`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReportData {
    /// The page's title (`<title>` and heading), e.g. "Outcomes of memstore_01".
    pub title: String,
    /// The memory store's id (`memstore_…`).
    pub store_id: String,
    /// The memory store's name; may be empty.
    pub store_name: String,
    /// When the report was made, RFC 3339 (printed as given, never read from a clock).
    pub generated_at: String,
    /// What the baseline side is, in words (e.g. "store versions 1–8, before drm_01").
    pub baseline_label: String,
    /// What the candidate side is, in words.
    pub candidate_label: String,
    /// One row of the summary table each, in this order.
    pub comparisons: Vec<MetricComparison>,
    /// One chart each, in this order.
    pub series: Vec<MetricSeries>,
    /// Dreams to mark on every chart.
    pub dreams: Vec<DreamMarker>,
    /// Sessions left out because they carry no memory-version link.
    pub excluded_unlinked: u64,
}

/// One metric's mean per store version: one chart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricSeries {
    /// The metric's name (`task_completion`, `duration_secs`, or a custom one).
    pub metric: String,
    /// Which way is better; printed above the chart.
    pub direction: Direction,
    /// Binary metrics are drawn as rates (percent, y axis within 0–100%);
    /// continuous ones as means.
    pub kind: MetricKind,
    /// The points, in any order (drawn sorted by store version). Points whose mean is
    /// not finite are left out; an empty list draws "no linked sessions".
    pub points: Vec<VersionPoint>,
}

/// A metric's value over the sessions that started at one store version.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct VersionPoint {
    /// The store version the sessions started with.
    pub store_version: u64,
    /// Sessions with a value for the metric at this version (sets the point's size).
    pub n: u64,
    /// Their mean (for a binary metric: the rate of 1s, 0–1).
    pub mean: f64,
    /// Lower end of the mean's 95% confidence interval, where known.
    pub ci_low: Option<f64>,
    /// Upper end.
    pub ci_high: Option<f64>,
}

/// A dream applied to the store: a dashed line on every chart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DreamMarker {
    /// The dream's id (`drm_…`).
    pub dream_id: String,
    /// The first store version that holds the dream's changes. The line is drawn
    /// halfway between the last version with sessions before it and the first at or
    /// after it, so points on its right started with the dream's memory; a dream
    /// outside the versions with sessions widens the axis to show it.
    pub applied_store_version: u64,
    /// A short label (e.g. "drm_01 · 4 lessons"); the id is shown when empty.
    /// Cut to 32 characters on the chart, in up to three rows above the plot; a
    /// label that fits in no row is left off. The full text is in the line's tooltip.
    pub label: String,
}

/// Returns the report as one self-contained HTML document (UTF-8, no scripts, no
/// external resources). Every user-supplied string is HTML-escaped. Never fails:
/// non-finite numbers print as "—" and are left off the charts.
pub fn render_html(data: &ReportData) -> String {
    let mut out = String::with_capacity(32 * 1024 + 16 * 1024 * data.series.len());
    // Writing into a String cannot fail.
    let _ = write_document(&mut out, data);
    out
}

// ---------------------------------------------------------------------------
// Layout (SVG user units; the SVG scales to the card's width).

const CHART_W: f64 = 1000.0;
const CHART_H: f64 = 250.0;
const PLOT_LEFT: f64 = 72.0;
const PLOT_RIGHT: f64 = CHART_W - 28.0;
/// The plot's top without dream labels; each row of labels adds `MARKER_ROW_H`.
const PLOT_TOP_BARE: f64 = 14.0;
const MARKER_ROW_H: f64 = 16.0;
const PLOT_BOTTOM: f64 = CHART_H - 48.0;
/// Rows of dream labels above the plot, used when labels would collide; a label
/// that fits in none is left off (its line stays, with the label as tooltip).
const MARKER_LABEL_ROWS: usize = 3;
/// Room between the plot's sides and the first and last slots.
const PLOT_PAD_X: f64 = 12.0;
/// Below this many pixels per version, whiskers are left off (the band remains).
const MIN_SLOT_PX_FOR_WHISKERS: f64 = 10.0;
const MARKER_LABEL_MAX_CHARS: usize = 32;
/// Rough width of one character of the 11px chart font, for spacing labels.
const CHAR_W: f64 = 6.4;

const CSS: &str = r#"
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0; background: #f4f5f7; color: #1f2937;
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Liberation Sans", "DejaVu Sans", sans-serif; }
main { max-width: 1120px; margin: 0 auto; padding: 28px 24px 40px; }
h1 { font-size: 22px; font-weight: 650; margin: 0 0 4px; letter-spacing: -0.01em; }
h2 { font-size: 15px; font-weight: 650; margin: 0 0 10px; }
.sub { color: #6b7280; margin: 0; }
code, .mono { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, "Liberation Mono", "DejaVu Sans Mono", monospace; font-size: 0.92em; }
.card { background: #fff; border: 1px solid #e5e7eb; border-radius: 10px; padding: 16px 20px; margin: 0 0 16px; }
header.page { margin: 0 0 18px; }
.sides { display: grid; grid-template-columns: 1fr 1fr 1fr; gap: 12px; margin: 0 0 16px; }
.sides .card { margin: 0; padding: 12px 16px; }
.sides .k { color: #6b7280; font-size: 12px; text-transform: uppercase; letter-spacing: 0.04em; }
.sides .v { font-weight: 600; overflow-wrap: anywhere; }
table { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
th { text-align: left; color: #6b7280; font-size: 12px; font-weight: 600; text-transform: uppercase; letter-spacing: 0.03em; padding: 6px 10px; border-bottom: 1px solid #e5e7eb; vertical-align: bottom; }
td { padding: 8px 10px; border-bottom: 1px solid #f0f1f3; vertical-align: top; }
tr:last-child td { border-bottom: 0; }
td.num, th.num { text-align: right; white-space: nowrap; }
th.plain { text-transform: none; }
td .n { color: #6b7280; font-size: 12px; }
td .ci { color: #6b7280; font-size: 12px; display: block; }
td.metric { overflow-wrap: anywhere; min-width: 200px; }
.dir { color: #6b7280; font-size: 12px; white-space: nowrap; }
.pill { display: inline-block; padding: 1px 10px; border-radius: 999px; font-size: 12px; font-weight: 600; white-space: nowrap; border: 1px solid transparent; }
.v-improved { background: #dcfce7; color: #166534; border-color: #bbf7d0; }
.v-regressed { background: #fee2e2; color: #991b1b; border-color: #fecaca; }
.v-no_change { background: #f3f4f6; color: #4b5563; border-color: #e5e7eb; }
.v-insufficient_data { background: #fef3c7; color: #92400e; border-color: #fde68a; }
.empty { color: #6b7280; font-style: italic; }
.legend { display: flex; flex-wrap: wrap; gap: 18px; color: #4b5563; font-size: 12px; margin: 4px 0 12px; align-items: center; }
.legend svg { vertical-align: middle; margin-right: 6px; }
figure { margin: 0 0 16px; }
figure.card { padding: 14px 20px 8px; }
figcaption { display: flex; align-items: baseline; gap: 10px; flex-wrap: wrap; margin: 0 0 2px; }
figcaption .name { font-weight: 650; font-size: 15px; overflow-wrap: anywhere; }
svg.chart { display: block; width: 100%; height: auto; }
svg.chart text { font-family: inherit; font-size: 11px; fill: #6b7280; }
svg.chart .grid { stroke: #eceef1; stroke-width: 1; }
svg.chart .axis { stroke: #9ca3af; stroke-width: 1; }
svg.chart .band { fill: #2563eb; fill-opacity: 0.09; }
svg.chart .whisker { stroke: #93b4f5; stroke-width: 1.5; }
svg.chart .line { fill: none; stroke: #2563eb; stroke-width: 2; stroke-linejoin: round; }
svg.chart .pt { fill: #2563eb; stroke: #fff; stroke-width: 1.5; }
svg.chart .dream line { stroke: #7c3aed; stroke-width: 1.5; stroke-dasharray: 5 4; }
svg.chart .dream text { fill: #6d28d9; font-weight: 600; }
svg.chart .nlabel { fill: #9ca3af; font-size: 10px; }
svg.chart .nodata { font-size: 14px; fill: #9ca3af; font-style: italic; }
footer { color: #9ca3af; font-size: 12px; margin-top: 20px; }
"#;

// ---------------------------------------------------------------------------
// The document.

fn write_document(out: &mut String, data: &ReportData) -> fmt::Result {
    let title = if data.title.trim().is_empty() {
        "Outcomes report"
    } else {
        data.title.as_str()
    };
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    // Nothing is ever fetched: the page stays the same offline and cannot leak.
    out.push_str(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n",
    );
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    writeln!(out, "<title>{}</title>", Esc(title))?;
    writeln!(out, "<style>{CSS}</style>\n</head>\n<body>\n<main>")?;

    write_header(out, data, title)?;
    write_summary(out, data)?;
    write_charts(out, data)?;

    writeln!(
        out,
        "<footer>Generated by dream at <span class=\"mono\">{}</span>. Means per store version \
         are over the sessions that started with that version; intervals are 95%.</footer>",
        Esc(&data.generated_at)
    )?;
    out.push_str("</main>\n</body>\n</html>\n");
    Ok(())
}

fn write_header(out: &mut String, data: &ReportData, title: &str) -> fmt::Result {
    writeln!(out, "<header class=\"page\">\n<h1>{}</h1>", Esc(title))?;
    out.push_str("<p class=\"sub\">Memory store ");
    if !data.store_name.is_empty() {
        write!(out, "<strong>{}</strong> ", Esc(&data.store_name))?;
    }
    write!(out, "<code>{}</code>", Esc(&data.store_id))?;
    if !data.generated_at.is_empty() {
        write!(
            out,
            " · generated <span class=\"mono\">{}</span>",
            Esc(&data.generated_at)
        )?;
    }
    out.push_str("</p>\n</header>\n");

    out.push_str("<section class=\"sides\">\n");
    writeln!(
        out,
        "<div class=\"card\"><div class=\"k\">Baseline</div><div class=\"v\" data-side=\"baseline\">{}</div></div>",
        Esc(or_dash(&data.baseline_label))
    )?;
    writeln!(
        out,
        "<div class=\"card\"><div class=\"k\">Candidate</div><div class=\"v\" data-side=\"candidate\">{}</div></div>",
        Esc(or_dash(&data.candidate_label))
    )?;
    let excluded = match data.excluded_unlinked {
        0 => "none: every session is linked to a store version".to_owned(),
        1 => "1 session without a memory-version link".to_owned(),
        n => format!("{} sessions without a memory-version link", group_int(n)),
    };
    writeln!(
        out,
        "<div class=\"card\"><div class=\"k\">Left out</div><div class=\"v\" data-excluded-unlinked=\"{}\">{}</div></div>",
        data.excluded_unlinked, excluded
    )?;
    out.push_str("</section>\n");
    Ok(())
}

fn write_summary(out: &mut String, data: &ReportData) -> fmt::Result {
    out.push_str("<section class=\"card summary\">\n<h2>Baseline vs candidate</h2>\n");
    if data.comparisons.is_empty() {
        out.push_str("<p class=\"empty\">No comparisons.</p>\n</section>\n");
        return Ok(());
    }
    // The sides' labels are in the cards above; the headers stay short.
    out.push_str(
        "<table>\n<thead><tr><th>Metric</th><th class=\"num\">Baseline</th>\
         <th class=\"num\">Candidate</th><th class=\"num\">Difference <span class=\"n\">(95% CI)</span></th>\
         <th class=\"num plain\">p</th><th>Verdict</th></tr></thead>\n<tbody>\n",
    );
    for c in &data.comparisons {
        let binary = c.kind == MetricKind::Binary;
        writeln!(
            out,
            "<tr data-metric=\"{m}\"><td class=\"metric\"><code>{m}</code><br><span class=\"dir\">{dir} · {what}</span></td>\
             <td class=\"num\">{bm}<br><span class=\"n\">n={bn}</span></td>\
             <td class=\"num\">{cm}<br><span class=\"n\">n={cn}</span></td>\
             <td class=\"num\">{diff}<span class=\"ci\">{ci}</span></td>\
             <td class=\"num\">{p}</td>\
             <td><span class=\"pill v-{v}\">{vl}</span></td></tr>",
            m = Esc(&c.metric),
            dir = direction_words(c.direction),
            what = if binary { "rate" } else { "mean" },
            bm = fmt_value_opt(c.baseline.mean, binary),
            bn = group_int(c.baseline.n),
            cm = fmt_value_opt(c.candidate.mean, binary),
            cn = group_int(c.candidate.n),
            diff = fmt_diff_opt(c.difference, binary),
            ci = fmt_ci(c.ci_low, c.ci_high, binary),
            p = c.p_value.map_or_else(|| "—".to_owned(), fmt_p),
            v = c.verdict.as_str(),
            vl = verdict_words(c.verdict),
        )?;
    }
    out.push_str("</tbody>\n</table>\n</section>\n");
    Ok(())
}

fn write_charts(out: &mut String, data: &ReportData) -> fmt::Result {
    out.push_str("<section class=\"charts\">\n<h2>By store version</h2>\n");
    out.push_str(
        "<div class=\"legend\">\
         <span><svg width=\"34\" height=\"12\" aria-hidden=\"true\"><line x1=\"2\" y1=\"6\" x2=\"32\" y2=\"6\" stroke=\"#2563eb\" stroke-width=\"2\"/><circle cx=\"17\" cy=\"6\" r=\"4\" fill=\"#2563eb\" stroke=\"#fff\" stroke-width=\"1.5\"/></svg>mean per store version (size by sessions)</span>\
         <span><svg width=\"22\" height=\"14\" aria-hidden=\"true\"><rect x=\"1\" y=\"1\" width=\"20\" height=\"12\" fill=\"#2563eb\" fill-opacity=\"0.09\"/><line x1=\"11\" y1=\"1\" x2=\"11\" y2=\"13\" stroke=\"#93b4f5\" stroke-width=\"1.5\"/></svg>95% confidence interval</span>\
         <span><svg width=\"14\" height=\"16\" aria-hidden=\"true\"><line x1=\"7\" y1=\"0\" x2=\"7\" y2=\"16\" stroke=\"#7c3aed\" stroke-width=\"1.5\" stroke-dasharray=\"4 3\"/></svg>dream applied</span>\
         </div>\n",
    );
    if data.series.is_empty() {
        out.push_str("<p class=\"card empty\">No metric series.</p>\n</section>\n");
        return Ok(());
    }
    let axis = XAxis::new(data);
    for series in &data.series {
        let verdict = data
            .comparisons
            .iter()
            .find(|c| c.metric == series.metric)
            .map(|c| c.verdict);
        write_chart(out, series, verdict, &axis)?;
    }
    out.push_str("</section>\n");
    Ok(())
}

// ---------------------------------------------------------------------------
// Charts.

/// The x axis shared by every chart, so that they line up: one equal step per store
/// version that has sessions in any series, in order (versions without sessions,
/// such as the intermediate versions of a dream's writes, take no room). Labels are
/// thinned so they never overlap; the latest version is always named.
#[derive(Debug)]
struct XAxis {
    /// Versions with data, ascending: slot `i` holds `versions[i]`.
    versions: Vec<u64>,
    /// The slot range shown, with half a slot of margin.
    lo: f64,
    hi: f64,
    /// Versions that get a label, ascending.
    labelled: Vec<u64>,
    /// The largest `n` of any point, for point sizes.
    max_n: u64,
    /// The largest point radius that keeps neighbouring points apart.
    max_radius: f64,
    /// Pixels between neighbouring slots.
    slot_px: f64,
    /// The dreams' lines and labels, the same on every chart.
    dreams: Vec<PlacedDream>,
    /// The plot's top: lower when dream labels need room above it.
    plot_top: f64,
}

/// A dream's line and label, placed.
#[derive(Debug)]
struct PlacedDream {
    dream_id: String,
    version: u64,
    /// The label in full (the tooltip) and as shown (cut).
    full: String,
    text: String,
    x: f64,
    /// The label's row, or `None` when it fits in no row.
    row: Option<usize>,
    anchor_end: bool,
}

impl XAxis {
    fn new(data: &ReportData) -> Self {
        let mut versions: Vec<u64> = data
            .series
            .iter()
            .flat_map(|s| s.points.iter())
            .filter(|p| p.mean.is_finite())
            .map(|p| p.store_version)
            .collect();
        versions.sort_unstable();
        versions.dedup();
        let max_n = data
            .series
            .iter()
            .flat_map(|s| s.points.iter())
            .filter(|p| p.mean.is_finite())
            .map(|p| p.n)
            .max()
            .unwrap_or(0);

        let mut axis = XAxis {
            lo: -0.5,
            hi: versions.len() as f64 - 0.5,
            versions,
            labelled: Vec::new(),
            max_n,
            max_radius: 7.0,
            slot_px: f64::INFINITY,
            dreams: Vec::new(),
            plot_top: PLOT_TOP_BARE,
        };
        // A dream before the first or after the last version with data still shows.
        for d in &data.dreams {
            let at = axis.marker_slot(d.applied_store_version);
            axis.lo = axis.lo.min(at - 0.5);
            axis.hi = axis.hi.max(at + 0.5);
        }

        // Greedy thinning from the left; the last version takes its left neighbour's
        // place when they collide.
        let mut kept: Vec<(u64, f64, f64)> = Vec::new(); // (version, centre, half width)
        let last = axis.versions.last().copied();
        for (i, &v) in axis.versions.iter().enumerate() {
            let x = axis.x(i as f64);
            let half = label_width(&format!("v{v}")).max(label_width("0000")) / 2.0;
            match kept.last() {
                Some(&(_, px, ph)) if x - half < px + ph + 10.0 => {
                    if Some(v) == last && kept.len() > 1 {
                        kept.pop();
                        kept.push((v, x, half));
                    }
                }
                _ => kept.push((v, x, half)),
            }
        }
        axis.labelled = kept.into_iter().map(|(v, _, _)| v).collect();

        if axis.versions.len() > 1 {
            axis.slot_px = axis.x(1.0) - axis.x(0.0);
        }
        axis.max_radius = (axis.slot_px * 0.42).clamp(2.5, 7.0);
        axis.dreams = axis.place_dreams(&data.dreams);
        let rows = axis
            .dreams
            .iter()
            .filter_map(|d| d.row.map(|r| r + 1))
            .max()
            .unwrap_or(0);
        axis.plot_top = PLOT_TOP_BARE + MARKER_ROW_H * rows as f64;
        axis
    }

    /// Places each dream's line, and its label right of the line (left of it near
    /// the right edge) in the first row where it does not collide, if any.
    fn place_dreams(&self, dreams: &[DreamMarker]) -> Vec<PlacedDream> {
        let mut sorted: Vec<&DreamMarker> = dreams.iter().collect();
        sorted.sort_by(|a, b| {
            a.applied_store_version
                .cmp(&b.applied_store_version)
                .then_with(|| a.dream_id.cmp(&b.dream_id))
        });
        // Right edge of the last label in each row.
        let mut row_end = [f64::NEG_INFINITY; MARKER_LABEL_ROWS];
        let mut placed = Vec::with_capacity(sorted.len());
        for d in sorted {
            let x = self.x(self.marker_slot(d.applied_store_version));
            let full = if d.label.trim().is_empty() {
                d.dream_id.clone()
            } else {
                d.label.clone()
            };
            let text = truncate(&full, MARKER_LABEL_MAX_CHARS);
            let w = label_width(&text);
            let anchor_end = x + 4.0 + w > PLOT_RIGHT + 16.0;
            let start = if anchor_end { x - 4.0 - w } else { x + 4.0 };
            let row = row_end.iter().position(|&end| start > end + 8.0);
            if let Some(r) = row {
                row_end[r] = start + w;
            }
            placed.push(PlacedDream {
                dream_id: d.dream_id.clone(),
                version: d.applied_store_version,
                full,
                text,
                x,
                row,
                anchor_end,
            });
        }
        placed
    }

    /// Returns the x coordinate of a slot position (fractional between slots).
    fn x(&self, slot: f64) -> f64 {
        let span = self.hi - self.lo;
        if !(span.is_finite() && span > 0.0) {
            return (PLOT_LEFT + PLOT_RIGHT) / 2.0;
        }
        let (left, right) = (PLOT_LEFT + PLOT_PAD_X, PLOT_RIGHT - PLOT_PAD_X);
        left + (slot - self.lo) / span * (right - left)
    }

    /// Returns the x coordinate of a store version that has data, else of the place
    /// where it would sit.
    fn x_of_version(&self, version: u64) -> f64 {
        match self.versions.binary_search(&version) {
            Ok(i) => self.x(i as f64),
            Err(_) => self.x(self.marker_slot(version) + 0.5),
        }
    }

    /// Returns where a dream applied at `applied_store_version` (the first version
    /// holding its changes) is drawn: halfway between the last version with data
    /// before it and the first at or after it, so points on the line's right started
    /// with the dream's memory.
    fn marker_slot(&self, applied_store_version: u64) -> f64 {
        let before = self
            .versions
            .partition_point(|&v| v < applied_store_version);
        before as f64 - 0.5
    }

    fn radius(&self, n: u64) -> f64 {
        let min = 2.5_f64.min(self.max_radius);
        if self.max_n == 0 {
            return min;
        }
        let share = (n as f64 / self.max_n as f64).sqrt();
        min + (self.max_radius - min) * share
    }
}

/// The y axis of one chart: a padded, rounded range and its ticks.
#[derive(Debug)]
struct YAxis {
    /// The plot's top (the plot's bottom is fixed).
    top: f64,
    lo: f64,
    hi: f64,
    step: f64,
    ticks: Vec<f64>,
    percent: bool,
}

impl YAxis {
    fn new(values: &[f64], percent: bool, top: f64) -> Self {
        let lo = values.iter().copied().reduce(f64::min);
        let hi = values.iter().copied().reduce(f64::max);
        let (Some(lo0), Some(hi0)) = (lo, hi) else {
            return Self::fallback(0.0, 1.0, percent, top);
        };
        let (mut lo, mut hi) = (lo0, hi0);
        let within_unit = lo >= 0.0 && hi <= 1.0;
        if hi - lo <= hi.abs().max(lo.abs()) * 1e-12 {
            // All values equal: centre them in a small range around the value.
            let d = if percent {
                0.05
            } else if lo == 0.0 {
                1.0
            } else {
                lo.abs() * 0.1
            };
            lo -= d;
            hi += d;
        } else {
            let pad = (hi - lo) * 0.08;
            lo -= pad;
            hi += pad;
        }
        if percent && within_unit {
            lo = lo.max(0.0);
            hi = hi.min(1.0);
        }
        let span = hi - lo;
        if !(span.is_finite() && span > 0.0 && lo.is_finite() && hi.is_finite()) {
            return Self::fallback(lo0, hi0, percent, top);
        }
        let step = nice_step(span, 5);
        if !(step.is_finite() && step > 0.0) {
            return Self::fallback(lo0, hi0, percent, top);
        }
        let nice_lo = (lo / step).floor() * step;
        let nice_hi = (hi / step).ceil() * step;
        let count = ((nice_hi - nice_lo) / step).round();
        if !(count.is_finite() && (1.0..=24.0).contains(&count)) {
            return Self::fallback(lo0, hi0, percent, top);
        }
        let ticks = (0..=count as u32)
            .map(|i| nice_lo + f64::from(i) * step)
            .collect();
        YAxis {
            top,
            lo: nice_lo,
            hi: nice_hi,
            step,
            ticks,
            percent,
        }
    }

    /// A range whose ticks are just its ends (values too extreme to round).
    fn fallback(lo: f64, hi: f64, percent: bool, top: f64) -> Self {
        let (lo, hi) = if lo.is_finite() && hi.is_finite() && hi > lo {
            (lo, hi)
        } else {
            (0.0, 1.0)
        };
        // Halves keep the difference finite for values near f64::MAX.
        let step = (hi * 0.5 - lo * 0.5) * 2.0;
        YAxis {
            top,
            lo,
            hi,
            step: if step.is_finite() { step } else { f64::MAX },
            ticks: vec![lo, hi],
            percent,
        }
    }

    /// Returns the y coordinate of a value.
    fn y(&self, v: f64) -> f64 {
        let t = (v * 0.5 - self.lo * 0.5) / (self.hi * 0.5 - self.lo * 0.5);
        if !t.is_finite() {
            return (self.top + PLOT_BOTTOM) / 2.0;
        }
        PLOT_BOTTOM - t * (PLOT_BOTTOM - self.top)
    }

    fn label(&self, v: f64) -> String {
        if self.percent {
            format!(
                "{}%",
                fmt_tick(v * 100.0, self.step * 100.0, self.mag() * 100.0)
            )
        } else {
            fmt_tick(v, self.step, self.mag())
        }
    }

    fn mag(&self) -> f64 {
        self.lo.abs().max(self.hi.abs())
    }
}

fn write_chart(
    out: &mut String,
    series: &MetricSeries,
    verdict: Option<Verdict>,
    axis: &XAxis,
) -> fmt::Result {
    let binary = series.kind == MetricKind::Binary;
    let mut points: Vec<VersionPoint> = series
        .points
        .iter()
        .filter(|p| p.mean.is_finite())
        .copied()
        .collect();
    points.sort_by_key(|p| p.store_version);

    let metric = Esc(&series.metric);
    writeln!(out, "<figure class=\"card\" data-metric=\"{metric}\">")?;
    write!(
        out,
        "<figcaption><span class=\"name\"><code>{metric}</code></span><span class=\"dir\">{} · {} per store version</span>",
        direction_words(series.direction),
        if binary { "rate" } else { "mean" },
    )?;
    if let Some(v) = verdict {
        write!(
            out,
            "<span class=\"pill v-{}\">{}</span>",
            v.as_str(),
            verdict_words(v)
        )?;
    }
    out.push_str("</figcaption>\n");

    writeln!(
        out,
        "<svg class=\"chart\" data-metric=\"{metric}\" viewBox=\"0 0 {CHART_W} {CHART_H}\" width=\"{CHART_W}\" height=\"{CHART_H}\" \
         role=\"img\" aria-label=\"{metric} by store version\" xmlns=\"http://www.w3.org/2000/svg\">"
    )?;

    let values: Vec<f64> = points
        .iter()
        .flat_map(|p| [Some(p.mean), p.ci_low, p.ci_high])
        .flatten()
        .filter(|v| v.is_finite())
        .collect();
    let y = YAxis::new(&values, binary, axis.plot_top);

    // Grid and y labels; none without data.
    let ticks: &[f64] = if points.is_empty() { &[] } else { &y.ticks };
    for &t in ticks {
        let ty = y.y(t);
        writeln!(
            out,
            "<line class=\"grid\" x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\"/><text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>",
            C(PLOT_LEFT),
            C(ty),
            C(PLOT_RIGHT),
            C(ty),
            C(PLOT_LEFT - 8.0),
            C(ty + 3.5),
            Esc(&y.label(t)),
        )?;
    }
    writeln!(
        out,
        "<line class=\"axis\" x1=\"{l}\" y1=\"{b}\" x2=\"{r}\" y2=\"{b}\"/>",
        l = C(PLOT_LEFT),
        r = C(PLOT_RIGHT),
        b = C(PLOT_BOTTOM),
    )?;

    // X labels: the version, and under it this series' n at that version.
    for &v in &axis.labelled {
        let x = axis.x_of_version(v);
        writeln!(
            out,
            "<line class=\"axis\" x1=\"{x}\" y1=\"{b}\" x2=\"{x}\" y2=\"{b5}\"/><text x=\"{x}\" y=\"{ty}\" text-anchor=\"middle\">v{v}</text>",
            x = C(x),
            b = C(PLOT_BOTTOM),
            b5 = C(PLOT_BOTTOM + 5.0),
            ty = C(PLOT_BOTTOM + 18.0),
        )?;
        if let Some(p) = points.iter().find(|p| p.store_version == v) {
            writeln!(
                out,
                "<text class=\"nlabel\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
                C(x),
                C(PLOT_BOTTOM + 32.0),
                fmt_count(p.n),
            )?;
        }
    }
    // Row titles at the far left, clear of the first version's label.
    writeln!(
        out,
        "<text x=\"4\" y=\"{}\">version</text><text class=\"nlabel\" x=\"4\" y=\"{}\">sessions</text>",
        C(PLOT_BOTTOM + 18.0),
        C(PLOT_BOTTOM + 32.0),
    )?;

    if points.is_empty() {
        writeln!(
            out,
            "<text class=\"nodata\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">no linked sessions</text>",
            C((PLOT_LEFT + PLOT_RIGHT) / 2.0),
            C((axis.plot_top + PLOT_BOTTOM) / 2.0),
        )?;
    } else {
        write_band(out, &points, axis, &y)?;
        // Whiskers where versions are far enough apart to tell them from the band,
        // and always on a point the band does not reach.
        let cap = (axis.max_radius + 1.0).min(5.0);
        let roomy = axis.slot_px >= MIN_SLOT_PX_FOR_WHISKERS;
        let has_ci = |i: usize| {
            points
                .get(i)
                .is_some_and(|p| finite(p.ci_low).is_some() && finite(p.ci_high).is_some())
        };
        for (i, p) in points.iter().enumerate() {
            let in_band = i.checked_sub(1).is_some_and(has_ci) || has_ci(i + 1);
            if !roomy && in_band {
                continue;
            }
            if let (Some(lo), Some(hi)) = (finite(p.ci_low), finite(p.ci_high)) {
                let x = axis.x_of_version(p.store_version);
                let (ylo, yhi) = (y.y(lo), y.y(hi));
                writeln!(
                    out,
                    "<path class=\"whisker\" d=\"M{x} {ylo}V{yhi}M{xl} {ylo}H{xr}M{xl} {yhi}H{xr}\"/>",
                    x = C(x),
                    xl = C(x - cap),
                    xr = C(x + cap),
                    ylo = C(ylo),
                    yhi = C(yhi),
                )?;
            }
        }
        if points.len() > 1 {
            out.push_str("<polyline class=\"line\" points=\"");
            for (i, p) in points.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                write!(
                    out,
                    "{},{}",
                    C(axis.x_of_version(p.store_version)),
                    C(y.y(p.mean))
                )?;
            }
            out.push_str("\"/>\n");
        }
    }

    write_dreams(out, axis)?;

    // Points last, above the lines.
    for p in &points {
        let ci = match (finite(p.ci_low), finite(p.ci_high)) {
            (Some(lo), Some(hi)) => format!(
                ", 95% CI {} to {}",
                fmt_value(lo, binary),
                fmt_value(hi, binary)
            ),
            _ => String::new(),
        };
        writeln!(
            out,
            "<circle class=\"pt\" data-version=\"{v}\" cx=\"{cx}\" cy=\"{cy}\" r=\"{r}\"><title>v{v}: {mean} (n={n}{ci})</title></circle>",
            v = p.store_version,
            cx = C(axis.x_of_version(p.store_version)),
            cy = C(y.y(p.mean)),
            r = C(axis.radius(p.n)),
            mean = fmt_value(p.mean, binary),
            n = group_int(p.n),
        )?;
    }
    out.push_str("</svg>\n</figure>\n");
    Ok(())
}

/// The interval as a band between consecutive points that both have one.
fn write_band(out: &mut String, points: &[VersionPoint], axis: &XAxis, y: &YAxis) -> fmt::Result {
    for w in points.windows(2) {
        let (a, b) = (&w[0], &w[1]);
        if let (Some(alo), Some(ahi), Some(blo), Some(bhi)) = (
            finite(a.ci_low),
            finite(a.ci_high),
            finite(b.ci_low),
            finite(b.ci_high),
        ) {
            let (xa, xb) = (
                axis.x_of_version(a.store_version),
                axis.x_of_version(b.store_version),
            );
            writeln!(
                out,
                "<polygon class=\"band\" points=\"{},{} {},{} {},{} {},{}\"/>",
                C(xa),
                C(y.y(ahi)),
                C(xb),
                C(y.y(bhi)),
                C(xb),
                C(y.y(blo)),
                C(xa),
                C(y.y(alo)),
            )?;
        }
    }
    Ok(())
}

fn write_dreams(out: &mut String, axis: &XAxis) -> fmt::Result {
    for d in &axis.dreams {
        write!(
            out,
            "<g class=\"dream\" data-dream-id=\"{id}\" data-version=\"{v}\"><title>{id}: {full} (applied at v{v})</title>",
            id = Esc(&d.dream_id),
            full = Esc(&d.full),
            v = d.version,
        )?;
        match d.row {
            Some(row) => {
                let ly = PLOT_TOP_BARE + MARKER_ROW_H * row as f64;
                write!(
                    out,
                    "<line x1=\"{x}\" y1=\"{top}\" x2=\"{x}\" y2=\"{bottom}\"/><text x=\"{tx}\" y=\"{ly}\" text-anchor=\"{anchor}\">{text}</text>",
                    x = C(d.x),
                    top = C(ly - 10.0),
                    bottom = C(PLOT_BOTTOM),
                    tx = C(if d.anchor_end { d.x - 4.0 } else { d.x + 4.0 }),
                    ly = C(ly),
                    anchor = if d.anchor_end { "end" } else { "start" },
                    text = Esc(&d.text),
                )?;
            }
            None => write!(
                out,
                "<line x1=\"{x}\" y1=\"{top}\" x2=\"{x}\" y2=\"{bottom}\"/>",
                x = C(d.x),
                top = C(axis.plot_top - 4.0),
                bottom = C(PLOT_BOTTOM),
            )?,
        }
        out.push_str("</g>\n");
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Words and numbers.

fn direction_words(d: Direction) -> &'static str {
    match d {
        Direction::HigherIsBetter => "↑ higher is better",
        Direction::LowerIsBetter => "↓ lower is better",
    }
}

fn verdict_words(v: Verdict) -> &'static str {
    match v {
        Verdict::Improved => "improved",
        Verdict::Regressed => "regressed",
        Verdict::NoChange => "no change",
        Verdict::InsufficientData => "insufficient data",
    }
}

fn or_dash(s: &str) -> &str {
    if s.trim().is_empty() { "—" } else { s }
}

fn finite(v: Option<f64>) -> Option<f64> {
    v.filter(|v| v.is_finite())
}

/// Cuts `s` to at most `max` characters, ending with "…" when cut.
fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
    t.push('…');
    t
}

fn label_width(s: &str) -> f64 {
    s.chars().count() as f64 * CHAR_W
}

/// A value for people: a rate as a percentage, otherwise [`fmt_num`].
fn fmt_value(v: f64, binary: bool) -> String {
    if binary && v.is_finite() {
        format!("{}%", fmt_fixed(v * 100.0, 1))
    } else {
        fmt_num(v)
    }
}

fn fmt_value_opt(v: Option<f64>, binary: bool) -> String {
    v.map_or_else(|| "—".to_owned(), |v| fmt_value(v, binary))
}

/// A difference with its sign; percentage points for rates.
fn fmt_diff(v: f64, binary: bool) -> String {
    if !v.is_finite() {
        return "—".to_owned();
    }
    let sign = if v > 0.0 { "+" } else { "" };
    if binary {
        format!("{sign}{} pp", fmt_fixed(v * 100.0, 1))
    } else {
        format!("{sign}{}", fmt_num(v))
    }
}

fn fmt_diff_opt(v: Option<f64>, binary: bool) -> String {
    v.map_or_else(|| "—".to_owned(), |v| fmt_diff(v, binary))
}

fn fmt_ci(lo: Option<f64>, hi: Option<f64>, binary: bool) -> String {
    match (finite(lo), finite(hi)) {
        (Some(lo), Some(hi)) => format!("[{}, {}]", fmt_diff(lo, binary), fmt_diff(hi, binary)),
        _ => "no interval".to_owned(),
    }
}

fn fmt_p(p: f64) -> String {
    if !p.is_finite() {
        "—".to_owned()
    } else if p < 0.001 {
        "&lt;0.001".to_owned()
    } else {
        format!("{p:.3}")
    }
}

/// A count: plain below 10,000, then with separators, then SI from a million.
fn fmt_count(n: u64) -> String {
    if n < 10_000 {
        n.to_string()
    } else {
        fmt_num(n as f64)
    }
}

/// `n` with thousands separators.
fn group_int(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// Puts thousands separators into the integer part of a formatted number.
fn group_formatted(s: &str) -> String {
    let (sign, rest) = s.strip_prefix('-').map_or(("", s), |r| ("-", r));
    let (int, frac) = rest
        .split_once('.')
        .map_or((rest, None), |(i, f)| (i, Some(f)));
    let grouped = match int.parse::<u64>() {
        Ok(n) => group_int(n),
        Err(_) => int.to_owned(),
    };
    match frac {
        Some(f) => format!("{sign}{grouped}.{f}"),
        None => format!("{sign}{grouped}"),
    }
}

/// Uses a true minus sign for display.
fn minus(s: String) -> String {
    match s.strip_prefix('-') {
        Some(rest) => format!("−{rest}"),
        None => s,
    }
}

/// Fixed decimals, trailing zeros trimmed, "−0" avoided.
fn fmt_fixed(v: f64, decimals: usize) -> String {
    let s = trim_zeros(format!("{v:.decimals$}"));
    if s == "-0" { "0".to_owned() } else { minus(s) }
}

fn trim_zeros(s: String) -> String {
    if s.contains('.') && !s.contains('e') {
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        s
    }
}

/// Scientific notation with `decimals` in the mantissa: "1.25e-7".
fn fmt_sci(v: f64, decimals: usize) -> String {
    let s = format!("{v:.decimals$e}");
    let s = match s.split_once('e') {
        Some((m, e)) => format!("{}e{e}", trim_zeros(m.to_owned())),
        None => s,
    };
    minus(s)
}

/// Formats a value for people: about four significant digits, thousands separators
/// from 10,000, SI suffixes (M, G, T) from a million, scientific beyond 10^15 or
/// below 10^-4; "—" for NaN and infinities.
fn fmt_num(v: f64) -> String {
    if !v.is_finite() {
        return "—".to_owned();
    }
    let a = v.abs();
    if a == 0.0 {
        return "0".to_owned();
    }
    if !(1e-4..1e15).contains(&a) {
        return fmt_sci(v, 2);
    }
    if a >= 1e6 {
        let (scale, suffix) = si_scale(a);
        return format!("{}{suffix}", fmt_sig(v / scale, 3));
    }
    if a >= 1e4 {
        return minus(group_formatted(&format!("{:.0}", v.round())));
    }
    fmt_sig(v, 4)
}

fn si_scale(a: f64) -> (f64, &'static str) {
    if a >= 1e12 {
        (1e12, "T")
    } else if a >= 1e9 {
        (1e9, "G")
    } else {
        (1e6, "M")
    }
}

/// `sig` significant digits, trailing zeros trimmed.
fn fmt_sig(v: f64, sig: i32) -> String {
    let a = v.abs();
    if a == 0.0 || !a.is_finite() {
        return fmt_fixed(v, 0);
    }
    let mag = a.log10().floor() as i32;
    let decimals = (sig - 1 - mag).clamp(0, 12) as usize;
    fmt_fixed(v, decimals)
}

/// A tick label: as many decimals as the tick step needs (steps are 1, 2 or 5 times
/// a power of ten, so one significant digit of the step), in a notation chosen by
/// the axis' magnitude `mag` so that every label of an axis looks alike.
fn fmt_tick(v: f64, step: f64, mag: f64) -> String {
    if !(v.is_finite() && step.is_finite() && step > 0.0) {
        return fmt_num(v);
    }
    if v.abs() < step * 1e-6 {
        return "0".to_owned();
    }
    let step_exp = step.log10().floor() as i32;
    if !(1e-4..1e15).contains(&mag) {
        let exp = v.abs().log10().floor() as i32;
        return fmt_sci(v, (exp - step_exp).clamp(0, 8) as usize);
    }
    if mag >= 1e6 {
        let (scale, suffix) = si_scale(mag);
        let scale_exp = scale.log10().round() as i32;
        let decimals = (scale_exp - step_exp).clamp(0, 8) as usize;
        return format!("{}{suffix}", fmt_fixed(v / scale, decimals));
    }
    let decimals = (-step_exp).clamp(0, 8) as usize;
    let s = format!("{v:.decimals$}");
    if mag >= 1e4 {
        minus(group_formatted(&s))
    } else {
        minus(s)
    }
}

/// Returns a round step (1, 2 or 5 × 10^k) that cuts `span` into about `target` parts.
fn nice_step(span: f64, target: u32) -> f64 {
    let raw = span / f64::from(target.max(1));
    let base = 10f64.powf(raw.log10().floor());
    let f = raw / base;
    // The smallest round step at least `raw`: at most `target` parts (plus the
    // rounding of the ends outwards).
    let nice = if f <= 1.0 + 1e-9 {
        1.0
    } else if f <= 2.0 + 1e-9 {
        2.0
    } else if f <= 5.0 + 1e-9 {
        5.0
    } else {
        10.0
    };
    nice * base
}

/// An SVG coordinate: one decimal, and the plot's centre for anything not finite.
#[derive(Debug, Clone, Copy)]
struct C(f64);

impl Display for C {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = if self.0.is_finite() {
            self.0.clamp(-1e6, 1e6)
        } else {
            0.0
        };
        let s = format!("{v:.1}");
        f.write_str(s.strip_suffix(".0").unwrap_or(&s))
    }
}

/// Text escaped for HTML element content and double- or single-quoted attributes.
#[derive(Debug, Clone, Copy)]
struct Esc<'a>(&'a str);

impl Display for Esc<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        while let Some(i) = rest.find(['&', '<', '>', '"', '\'', '\0']) {
            f.write_str(&rest[..i])?;
            let (rep, len) = match rest.as_bytes()[i] {
                b'&' => ("&amp;", 1),
                b'<' => ("&lt;", 1),
                b'>' => ("&gt;", 1),
                b'"' => ("&quot;", 1),
                b'\'' => ("&#39;", 1),
                _ => ("\u{FFFD}", 1),
            };
            f.write_str(rep)?;
            rest = &rest[i + len..];
        }
        f.write_str(rest)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::outcomes::SideStats;

    fn point(v: u64, n: u64, mean: f64) -> VersionPoint {
        VersionPoint {
            store_version: v,
            n,
            mean,
            ci_low: Some(mean - 0.1),
            ci_high: Some(mean + 0.1),
        }
    }

    fn series(metric: &str, points: Vec<VersionPoint>) -> MetricSeries {
        MetricSeries {
            metric: metric.into(),
            direction: Direction::HigherIsBetter,
            kind: MetricKind::Continuous,
            points,
        }
    }

    fn comparison(metric: &str, verdict: Verdict) -> MetricComparison {
        MetricComparison {
            metric: metric.into(),
            kind: MetricKind::Binary,
            direction: Direction::HigherIsBetter,
            baseline: SideStats {
                n: 120,
                mean: Some(0.6),
                sd: None,
            },
            candidate: SideStats {
                n: 95,
                mean: Some(0.72),
                sd: None,
            },
            difference: Some(0.12),
            ci_low: Some(0.01),
            ci_high: Some(0.23),
            confidence: 0.95,
            method: "newcombe_hybrid_score".into(),
            p_value: Some(0.031),
            min_n: 30,
            verdict,
        }
    }

    fn data() -> ReportData {
        ReportData {
            title: "Outcomes".into(),
            store_id: "memstore_01".into(),
            store_name: "support".into(),
            generated_at: "2026-03-01T09:00:00Z".into(),
            baseline_label: "v1–v4".into(),
            candidate_label: "v5–v9".into(),
            comparisons: vec![comparison("task_completion", Verdict::Improved)],
            series: vec![
                series(
                    "task_completion",
                    (1..=5).map(|v| point(v, 10 * v, 0.5)).collect(),
                ),
                series("duration_secs", vec![point(2, 4, 30.0), point(4, 9, 41.0)]),
            ],
            dreams: vec![DreamMarker {
                dream_id: "drm_01".into(),
                applied_store_version: 3,
                label: "drm_01 · 4 lessons".into(),
            }],
            excluded_unlinked: 7,
        }
    }

    /// Returns the value of attribute `name` in the first tag (after `from`) that
    /// contains `marker`.
    fn attr_after(html: &str, marker: &str, name: &str) -> f64 {
        let at = html
            .find(marker)
            .unwrap_or_else(|| panic!("{marker} not found"));
        let tag_end = at + html[at..].find('>').unwrap();
        let tag = &html[html[..at].rfind('<').unwrap()..tag_end];
        let key = format!(" {name}=\"");
        let start = tag
            .find(&key)
            .unwrap_or_else(|| panic!("{name} not in {tag}"))
            + key.len();
        let end = start + tag[start..].find('"').unwrap();
        tag[start..end].parse().unwrap()
    }

    fn chart_of<'a>(html: &'a str, metric: &str) -> &'a str {
        let start = html
            .find(&format!("<svg class=\"chart\" data-metric=\"{metric}\""))
            .unwrap();
        let end = start + html[start..].find("</svg>").unwrap();
        &html[start..end]
    }

    #[test]
    fn one_chart_per_series_in_order_with_the_summary_above() {
        let html = render_html(&data());
        assert_eq!(html.matches("<svg class=\"chart\"").count(), 2);
        let table = html.find("<table>").unwrap();
        let first = html
            .find("<svg class=\"chart\" data-metric=\"task_completion\"")
            .unwrap();
        let second = html
            .find("<svg class=\"chart\" data-metric=\"duration_secs\"")
            .unwrap();
        assert!(table < first && first < second);
        assert!(html.contains("↑ higher is better"));
        assert!(html.contains("data-excluded-unlinked=\"7\""));
        assert!(html.contains("7 sessions without a memory-version link"));
        assert!(html.contains(">v1–v4<") && html.contains(">v5–v9<"));
        // Five points in the first chart, two in the second.
        assert_eq!(
            chart_of(&html, "task_completion")
                .matches("<circle class=\"pt\"")
                .count(),
            5
        );
        assert_eq!(
            chart_of(&html, "duration_secs")
                .matches("<circle class=\"pt\"")
                .count(),
            2
        );
    }

    #[test]
    fn self_contained_without_scripts_or_fetches() {
        let html = render_html(&data());
        assert!(!html.contains("<script"));
        // The only URL is the SVG namespace, which names and fetches nothing.
        assert_eq!(
            html.matches("http:").count() + html.matches("https:").count(),
            html.matches("http://www.w3.org/2000/svg").count()
        );
        assert!(!html.contains("https://"));
        assert!(!html.contains("<link") && !html.contains("<img") && !html.contains("url("));
        assert!(html.contains("default-src 'none'"));
    }

    #[test]
    fn summary_row_shows_sides_difference_and_coloured_verdict() {
        let mut d = data();
        d.comparisons.push(MetricComparison {
            verdict: Verdict::InsufficientData,
            metric: "custom".into(),
            p_value: None,
            difference: None,
            ci_low: None,
            ci_high: None,
            ..comparison("x", Verdict::NoChange)
        });
        d.comparisons.push(comparison("a", Verdict::Regressed));
        d.comparisons.push(comparison("b", Verdict::NoChange));
        let html = render_html(&d);
        let row = &html[html.find("<tr data-metric=\"task_completion\"").unwrap()..];
        let row = &row[..row.find("</tr>").unwrap()];
        assert!(row.contains("60%") && row.contains("n=120"), "{row}");
        assert!(row.contains("72%") && row.contains("n=95"), "{row}");
        assert!(
            row.contains("+12 pp") && row.contains("[+1 pp, +23 pp]"),
            "{row}"
        );
        assert!(row.contains("0.031"));
        assert!(row.contains("pill v-improved\">improved<"));
        for class in ["v-insufficient_data", "v-regressed", "v-no_change"] {
            assert!(html.contains(class), "{class}");
        }
        assert!(html.contains(".v-improved { background: #dcfce7"));
        assert!(html.contains(".v-regressed { background: #fee2e2"));
        assert!(html.contains(".v-insufficient_data { background: #fef3c7"));
        assert!(html.contains("no interval"));
    }

    #[test]
    fn user_text_is_escaped_everywhere() {
        let evil = "<script>alert('x')</script>\"&";
        let mut d = data();
        d.title = evil.into();
        d.store_name = evil.into();
        d.store_id = evil.into();
        d.baseline_label = evil.into();
        d.candidate_label = evil.into();
        d.generated_at = evil.into();
        d.comparisons[0].metric = evil.into();
        d.series[0].metric = evil.into();
        d.dreams[0].dream_id = evil.into();
        d.dreams[0].label = evil.into();
        let html = render_html(&d);
        assert!(!html.contains("<script"), "unescaped script tag");
        assert!(!html.contains("alert('x')"));
        assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&quot;&amp;"));
        // Still exactly one chart per series, with the escaped name as its marker.
        assert_eq!(html.matches("<svg class=\"chart\"").count(), 2);
        assert!(html.contains("<svg class=\"chart\" data-metric=\"&lt;script&gt;"));
    }

    #[test]
    fn an_empty_series_says_no_linked_sessions() {
        let mut d = data();
        d.series.push(series("user_correction_rate", vec![]));
        let html = render_html(&d);
        assert_eq!(html.matches("<svg class=\"chart\"").count(), 3);
        let chart = chart_of(&html, "user_correction_rate");
        assert!(chart.contains("no linked sessions"));
        assert!(!chart.contains("<circle"));
        // The others do not say it.
        assert!(!chart_of(&html, "duration_secs").contains("no linked sessions"));
    }

    #[test]
    fn no_series_and_no_comparisons_still_render() {
        let html = render_html(&ReportData::default());
        assert!(html.contains("No metric series."));
        assert!(html.contains("No comparisons."));
        assert!(html.contains("<title>Outcomes report</title>"));
        assert!(html.ends_with("</html>\n"));
    }

    #[test]
    fn dream_markers_sit_between_the_last_version_without_and_the_first_with() {
        let html = render_html(&data());
        let chart = chart_of(&html, "task_completion");
        let x2 = attr_after(chart, "data-version=\"2\" cx", "cx");
        let x3 = attr_after(chart, "data-version=\"3\" cx", "cx");
        let marker = attr_after(chart, "data-dream-id=\"drm_01\"", "data-version");
        assert_eq!(marker, 3.0);
        let g = &chart[chart.find("data-dream-id=\"drm_01\"").unwrap()..];
        let line_x = attr_after(g, "<line x1", "x1");
        assert!(
            (line_x - (x2 + x3) / 2.0).abs() <= 0.1,
            "{line_x} vs {x2}, {x3}"
        );
        assert!(g.contains(">drm_01 · 4 lessons</text>"));
        // The line is at the same x on every chart (the axis is shared).
        let other = chart_of(&html, "duration_secs");
        let g2 = &other[other.find("data-dream-id=\"drm_01\"").unwrap()..];
        assert_eq!(attr_after(g2, "<line x1", "x1"), line_x);
    }

    #[test]
    fn dream_outside_the_data_widens_the_axis() {
        let mut d = data();
        d.dreams.push(DreamMarker {
            dream_id: "drm_02".into(),
            applied_store_version: 40,
            label: String::new(),
        });
        let html = render_html(&d);
        let chart = chart_of(&html, "task_completion");
        let g = &chart[chart.find("data-dream-id=\"drm_02\"").unwrap()..];
        let x = attr_after(g, "<line x1", "x1");
        assert!(x > PLOT_LEFT && x < PLOT_RIGHT, "{x}");
        assert!(x > attr_after(chart, "data-version=\"5\" cx", "cx"));
        // An empty label falls back to the id, anchored left of the line at the edge.
        assert!(g.contains(">drm_02</text>"));
    }

    #[test]
    fn a_single_point_and_all_equal_values_render_finite_coordinates() {
        let mut d = data();
        d.series = vec![
            series("one", vec![point(7, 3, 2.0)]),
            series(
                "flat",
                (1..=4)
                    .map(|v| VersionPoint {
                        store_version: v,
                        n: 5,
                        mean: 0.0,
                        ci_low: None,
                        ci_high: None,
                    })
                    .collect(),
            ),
        ];
        d.dreams.clear();
        let html = render_html(&d);
        assert!(!html.contains("NaN") && !html.contains("inf"));
        let one = chart_of(&html, "one");
        let cx = attr_after(one, "data-version=\"7\" cx", "cx");
        assert!(cx > PLOT_LEFT && cx < PLOT_RIGHT);
        assert!(!one.contains("<polyline"), "no line through a single point");
        let flat = chart_of(&html, "flat");
        let cy = attr_after(flat, "data-version=\"1\" cx", "cy");
        assert!(cy > PLOT_TOP_BARE && cy < PLOT_BOTTOM, "{cy}");
    }

    #[test]
    fn extreme_and_non_finite_values_do_not_break_the_chart() {
        let mut d = data();
        d.series = vec![
            series(
                "huge",
                vec![
                    point(1, 2, 1.5e12),
                    point(2, 2, 3.2e12),
                    point(3, 1, f64::NAN),
                ],
            ),
            series(
                "tiny",
                vec![
                    VersionPoint {
                        ci_low: Some(1.0e-7),
                        ci_high: Some(3.0e-7),
                        ..point(1, 2, 2.0e-7)
                    },
                    VersionPoint {
                        ci_low: None,
                        ci_high: None,
                        ..point(2, 2, 5.5e-7)
                    },
                ],
            ),
            series(
                "wild",
                vec![
                    VersionPoint {
                        store_version: 1,
                        n: 1,
                        mean: 1e300,
                        ci_low: Some(f64::NEG_INFINITY),
                        ci_high: Some(f64::MAX),
                    },
                    point(2, 1, -1e300),
                ],
            ),
        ];
        let html = render_html(&d);
        assert!(!html.contains("NaN") && !html.contains("inf"));
        let huge = chart_of(&html, "huge");
        assert_eq!(
            huge.matches("<circle").count(),
            2,
            "the NaN point is left out"
        );
        assert!(huge.contains("T</text>"), "SI suffixes on a 10^12 axis");
        assert!(chart_of(&html, "tiny").contains("e-7</text>"));
    }

    #[test]
    fn many_versions_get_thinned_labels() {
        let mut d = data();
        d.series = vec![series(
            "busy",
            (1..=300).map(|v| point(v, 2, (v % 7) as f64)).collect(),
        )];
        let html = render_html(&d);
        let chart = chart_of(&html, "busy");
        assert_eq!(chart.matches("<circle").count(), 300);
        let labels = chart.matches("text-anchor=\"middle\">v").count();
        assert!((5..=30).contains(&labels), "{labels} version labels");
        assert!(
            chart.contains(">v300</text>"),
            "the latest version is named"
        );
    }

    #[test]
    fn output_is_deterministic() {
        assert_eq!(render_html(&data()), render_html(&data()));
    }

    #[test]
    fn numbers_read_well() {
        assert_eq!(fmt_num(0.0), "0");
        assert_eq!(fmt_num(3.0), "3");
        assert_eq!(fmt_num(0.123456), "0.1235");
        assert_eq!(fmt_num(-42.5), "−42.5");
        assert_eq!(fmt_num(12345.6), "12,346");
        assert_eq!(fmt_num(2_500_000.0), "2.5M");
        assert_eq!(fmt_num(3.2e12), "3.2T");
        assert_eq!(fmt_num(2.0e-7), "2e-7");
        assert_eq!(fmt_num(f64::NAN), "—");
        assert_eq!(fmt_value(0.825, true), "82.5%");
        assert_eq!(fmt_diff(-0.031, true), "−3.1 pp");
        assert_eq!(fmt_diff(1.5, false), "+1.5");
        assert_eq!(fmt_tick(0.30000000000000004, 0.1, 1.0), "0.3");
        assert_eq!(fmt_tick(1_500_000.0, 500_000.0, 2e6), "1.5M");
        assert_eq!(fmt_tick(20_000.0, 5_000.0, 3e4), "20,000");
        assert_eq!(fmt_tick(-2.0, 1.0, 3.0), "−2");
        assert_eq!(fmt_tick(2.5e-7, 5e-8, 6e-7), "2.5e-7");
        assert_eq!(group_int(1_234_567), "1,234,567");
        assert_eq!(fmt_count(123_456), "123,456");
        assert_eq!(truncate("abcdef", 4), "abc…");
    }

    #[test]
    fn rates_use_a_percent_axis_within_0_and_100() {
        let mut d = data();
        d.series[0].kind = MetricKind::Binary;
        d.series[0].points = vec![point(1, 10, 0.9), point(2, 10, 0.97)];
        d.series[0].points[1].ci_high = Some(1.0);
        let html = render_html(&d);
        let chart = chart_of(&html, "task_completion");
        assert!(chart.contains("100%</text>"));
        assert!(!chart.contains("110%") && !chart.contains("105%"));
    }
}
