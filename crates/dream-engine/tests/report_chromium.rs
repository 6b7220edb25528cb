//! The outcomes report renders in headless Chromium: a screenshot of the right size
//! that is not blank, and a rendered DOM with exactly one `svg.chart` per metric.
//!
//! Chromium is found as `$DREAM_CHROMIUM`, else `chromium`, `chromium-browser` or
//! `google-chrome` on the PATH. Without one the test says it is skipped, except
//! under CI (`CI=true`), where it fails: CI installs Debian's `chromium`.
//! The page and its screenshot stay in `target/tmp/report_chromium/` to look at.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use dream_engine::outcomes::report::{
    DreamMarker, MetricSeries, ReportData, VersionPoint, render_html,
};
use dream_engine::outcomes::{Direction, MetricComparison, MetricKind, SideStats, Verdict};

const WIDTH: u32 = 1280;
const HEIGHT: u32 = 2400;
const CHROMIUM_TIMEOUT: Duration = Duration::from_secs(90);

fn find_chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("DREAM_CHROMIUM").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH")?;
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .flat_map(|name| std::env::split_paths(&path).map(move |dir| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

/// Runs Chromium headless with `args` then `url`, its stdout into `stdout_to` (a file,
/// so a large DOM cannot fill a pipe), failing with its stderr if it fails or runs
/// past the timeout.
fn run_chromium(chromium: &Path, profile: &Path, args: &[String], url: &str, stdout_to: &Path) {
    let stdout = File::create(stdout_to).unwrap();
    let stderr_path = stdout_to.with_extension("stderr");
    let stderr = File::create(&stderr_path).unwrap();
    let mut child = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--no-default-browser-check",
            "--hide-scrollbars",
            "--force-device-scale-factor=1",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", chromium.display()));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > CHROMIUM_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{} did not finish within {CHROMIUM_TIMEOUT:?}; stderr:\n{}",
                chromium.display(),
                std::fs::read_to_string(&stderr_path).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(
        status.success(),
        "{} {args:?} failed ({status}); stderr:\n{}",
        chromium.display(),
        std::fs::read_to_string(&stderr_path).unwrap_or_default()
    );
}

/// Returns (width, height) from a PNG's IHDR chunk.
fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert!(bytes.len() > 24, "not a PNG: {} bytes", bytes.len());
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "not a PNG signature");
    assert_eq!(&bytes[12..16], b"IHDR", "the first chunk is not IHDR");
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    (be(&bytes[16..20]), be(&bytes[20..24]))
}

/// Counts `<svg …>` start tags whose class list holds `chart`.
fn count_chart_svgs(dom: &str) -> usize {
    dom.match_indices("<svg")
        .filter(|(at, _)| {
            let tag = &dom[*at..];
            let tag = &tag[..tag.find('>').unwrap_or(tag.len())];
            tag.split("class=\"")
                .nth(1)
                .and_then(|rest| rest.split('"').next())
                .is_some_and(|classes| classes.split_whitespace().any(|c| c == "chart"))
        })
        .count()
}

fn side(n: u64, mean: f64, sd: Option<f64>) -> SideStats {
    SideStats {
        n,
        mean: Some(mean),
        sd,
    }
}

#[allow(clippy::too_many_arguments)]
fn comparison(
    metric: &str,
    kind: MetricKind,
    direction: Direction,
    baseline: SideStats,
    candidate: SideStats,
    ci: (f64, f64),
    p_value: f64,
    verdict: Verdict,
) -> MetricComparison {
    MetricComparison {
        metric: metric.into(),
        kind,
        direction,
        baseline,
        candidate,
        difference: Some(candidate.mean.unwrap() - baseline.mean.unwrap()),
        ci_low: Some(ci.0),
        ci_high: Some(ci.1),
        confidence: 0.95,
        method: match kind {
            MetricKind::Binary => "newcombe_hybrid_score".into(),
            MetricKind::Continuous => "welch_t".into(),
        },
        p_value: Some(p_value),
        min_n: 30,
        verdict,
    }
}

/// Points over six store versions: (version, n, mean, half-width of the CI).
fn series(
    metric: &str,
    kind: MetricKind,
    direction: Direction,
    points: &[(u64, u64, f64, f64)],
) -> MetricSeries {
    MetricSeries {
        metric: metric.into(),
        direction,
        kind,
        points: points
            .iter()
            .map(|&(store_version, n, mean, half)| VersionPoint {
                store_version,
                n,
                mean,
                ci_low: Some(if kind == MetricKind::Binary {
                    (mean - half).max(0.0)
                } else {
                    mean - half
                }),
                ci_high: Some(if kind == MetricKind::Binary {
                    (mean + half).min(1.0)
                } else {
                    mean + half
                }),
            })
            .collect(),
    }
}

/// A support agent's store: two dreams (applied at v9 and v21), five metrics.
fn realistic_report() -> ReportData {
    use Direction::{HigherIsBetter as Up, LowerIsBetter as Down};
    use MetricKind::{Binary, Continuous};
    ReportData {
        title: "Outcomes · airline support agent".into(),
        store_id: "memstore_01HZX3K9Q4".into(),
        store_name: "airline-support".into(),
        generated_at: "2026-03-01T09:00:00Z".into(),
        baseline_label: "store versions 3–8 (before drm_01)".into(),
        candidate_label: "store versions 21–22 (after drm_02)".into(),
        comparisons: vec![
            comparison(
                "task_completion",
                Binary,
                Up,
                side(212, 0.618, None),
                side(141, 0.745, None),
                (0.027, 0.221),
                0.012,
                Verdict::Improved,
            ),
            comparison(
                "duration_secs",
                Continuous,
                Down,
                side(212, 184.2, Some(61.0)),
                side(141, 171.9, Some(58.3)),
                (-25.1, 0.5),
                0.059,
                Verdict::NoChange,
            ),
            comparison(
                "memory_lookup_count",
                Continuous,
                Up,
                side(212, 3.1, Some(1.4)),
                side(141, 4.4, Some(1.9)),
                (0.94, 1.66),
                0.0001,
                Verdict::Improved,
            ),
            comparison(
                "error_rate",
                Continuous,
                Down,
                side(212, 0.081, Some(0.05)),
                side(141, 0.052, Some(0.04)),
                (-0.039, -0.019),
                0.0004,
                Verdict::Improved,
            ),
            comparison(
                "user_correction_rate",
                Continuous,
                Down,
                side(18, 0.14, Some(0.09)),
                side(12, 0.11, Some(0.08)),
                (-0.093, 0.033),
                0.34,
                Verdict::InsufficientData,
            ),
        ],
        series: vec![
            series(
                "task_completion",
                Binary,
                Up,
                &[
                    (3, 64, 0.60, 0.12),
                    (8, 148, 0.63, 0.08),
                    (9, 37, 0.70, 0.15),
                    (14, 88, 0.69, 0.10),
                    (21, 52, 0.73, 0.12),
                    (22, 89, 0.76, 0.09),
                ],
            ),
            series(
                "duration_secs",
                Continuous,
                Down,
                &[
                    (3, 64, 191.0, 15.0),
                    (8, 148, 181.4, 9.8),
                    (9, 37, 176.0, 19.5),
                    (14, 88, 178.2, 12.7),
                    (21, 52, 169.5, 16.0),
                    (22, 89, 173.3, 12.1),
                ],
            ),
            series(
                "memory_lookup_count",
                Continuous,
                Up,
                &[
                    (3, 64, 2.9, 0.35),
                    (8, 148, 3.2, 0.23),
                    (9, 37, 3.9, 0.6),
                    (14, 88, 4.0, 0.4),
                    (21, 52, 4.6, 0.5),
                    (22, 89, 4.3, 0.38),
                ],
            ),
            series(
                "error_rate",
                Continuous,
                Down,
                &[
                    (3, 64, 0.085, 0.012),
                    (8, 148, 0.079, 0.008),
                    (9, 37, 0.061, 0.014),
                    (14, 88, 0.058, 0.009),
                    (21, 52, 0.049, 0.011),
                    (22, 89, 0.054, 0.008),
                ],
            ),
            series(
                "user_correction_rate",
                Continuous,
                Down,
                &[
                    (3, 7, 0.15, 0.07),
                    (8, 11, 0.13, 0.05),
                    (22, 12, 0.11, 0.05),
                ],
            ),
        ],
        dreams: vec![
            DreamMarker {
                dream_id: "drm_01HZX4A2".into(),
                applied_store_version: 9,
                label: "drm_01 · 4 lessons, 2 merges".into(),
            },
            DreamMarker {
                dream_id: "drm_01HZY7C5".into(),
                applied_store_version: 21,
                label: "drm_02 · 3 lessons, 1 supersede".into(),
            },
        ],
        excluded_unlinked: 17,
    }
}

#[test]
fn report_renders_in_headless_chromium_with_one_chart_per_metric() {
    let Some(chromium) = find_chromium() else {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!(
                "no Chromium found for the report screenshot test: install Debian's `chromium` \
                 (apt-get install -y chromium) or point DREAM_CHROMIUM at a Chromium binary"
            );
        }
        println!("skipped: no chromium (install Debian's `chromium` or set DREAM_CHROMIUM)");
        return;
    };

    let data = realistic_report();
    let html = render_html(&data);
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("report_chromium");
    std::fs::create_dir_all(&dir).unwrap();
    let page = dir.join("report.html");
    let shot = dir.join("report.png");
    let dom = dir.join("report.dom.html");
    for stale in [&shot, &dom] {
        let _ = std::fs::remove_file(stale);
    }
    std::fs::write(&page, &html).unwrap();
    let url = format!("file://{}", page.canonicalize().unwrap().display());
    let profile = tempfile::tempdir().unwrap();

    run_chromium(
        &chromium,
        profile.path(),
        &[
            format!("--screenshot={}", shot.display()),
            format!("--window-size={WIDTH},{HEIGHT}"),
        ],
        &url,
        &dir.join("screenshot.stdout"),
    );
    let png =
        std::fs::read(&shot).unwrap_or_else(|e| panic!("no screenshot at {}: {e}", shot.display()));
    assert_eq!(png_size(&png), (WIDTH, HEIGHT), "screenshot size");
    // A blank 1280×2400 page compresses to a few KB; five charts, a table and their
    // text take far more.
    assert!(
        png.len() > 60 * 1024,
        "the screenshot looks blank: only {} bytes ({})",
        png.len(),
        shot.display()
    );

    run_chromium(
        &chromium,
        profile.path(),
        &["--dump-dom".to_owned()],
        &url,
        &dom,
    );
    let rendered = std::fs::read_to_string(&dom).unwrap();
    assert!(
        rendered.contains("</html>"),
        "no DOM came back:\n{rendered}"
    );
    assert_eq!(
        count_chart_svgs(&rendered),
        data.series.len(),
        "one svg.chart per metric in the rendered DOM"
    );
    for s in &data.series {
        assert!(
            rendered.contains(&format!(
                "<svg class=\"chart\" data-metric=\"{}\"",
                s.metric
            )),
            "no chart for {}",
            s.metric
        );
    }
    assert!(!rendered.contains("<script"), "the page carries no script");
    println!("screenshot: {}", shot.display());
}
