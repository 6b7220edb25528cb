//! Progress bars on stderr (indicatif), hidden when stderr is not a terminal, with
//! `--quiet`, or with `--json`.

use std::io::IsTerminal;

use dream_engine::dream::DreamObserver;
use dream_ingest::IngestObserver;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::output::Output;

/// Shows bytes read and sessions stored during an ingest.
#[derive(Debug)]
pub struct IngestProgress {
    bar: ProgressBar,
}

/// Returns a bar with `template` that draws only where a person is watching: on a
/// terminal, without `--quiet` or `--json`.
fn watched_bar(out: Output, template: &str) -> ProgressBar {
    let visible = !out.quiet && !out.json && std::io::stderr().is_terminal();
    let target = if visible {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    };
    let bar = ProgressBar::with_draw_target(Some(0), target);
    bar.set_style(
        ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

impl IngestProgress {
    /// Returns a bar that draws only where a person is watching.
    pub fn new(out: Output) -> Self {
        Self {
            bar: watched_bar(
                out,
                "{spinner} {bar:30} {bytes}/{total_bytes} {bytes_per_sec} {msg}",
            ),
        }
    }

    /// Removes the bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl IngestObserver for IngestProgress {
    fn start(&self, total_bytes: u64, _files: usize) {
        self.bar.set_length(total_bytes);
    }

    fn advance(&self, bytes_done: u64, sessions_done: u64) {
        self.bar.set_position(bytes_done);
        self.bar.set_message(format!("{sessions_done} sessions"));
    }

    fn file(&self, label: &str) {
        self.bar.set_message(label.to_owned());
    }
}

/// Shows a dream's stage and the sessions read so far.
#[derive(Debug)]
pub struct DreamProgress {
    bar: ProgressBar,
}

impl DreamProgress {
    /// Returns a bar that draws only where a person is watching.
    pub fn new(out: Output) -> Self {
        Self {
            bar: watched_bar(
                out,
                "{spinner} {msg:8} {bar:30} {pos}/{len} sessions {elapsed}",
            ),
        }
    }

    /// Removes the bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl DreamObserver for DreamProgress {
    fn stage(&self, stage: &str) {
        self.bar.set_message(stage.to_owned());
        self.bar.tick();
    }

    fn progress(&self, done: u64, total: u64) {
        self.bar.set_length(total);
        self.bar.set_position(done);
    }
}
