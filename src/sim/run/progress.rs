//! The progress bar of long runs.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// A progress bar on stderr, shown only on a terminal and only once a run
/// has taken a second.
pub(super) struct Progress {
    bar: Option<indicatif::ProgressBar>,
    start: Instant,
    shown: AtomicBool,
}

impl Progress {
    pub(super) fn new(enabled: bool, total: u64) -> Progress {
        let bar = enabled.then(|| {
            let b = indicatif::ProgressBar::with_draw_target(
                Some(total),
                indicatif::ProgressDrawTarget::hidden(),
            );
            b.set_style(
                indicatif::ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} cycles ({per_sec}, eta {eta})",
                )
                // infallible: a constant template
                .expect("a valid progress template"),
            );
            b
        });
        Progress {
            bar,
            start: Instant::now(),
            shown: AtomicBool::new(false),
        }
    }

    pub(super) fn set(&self, pos: u64) {
        if let Some(b) = &self.bar {
            if !self.shown.load(Ordering::Relaxed) && self.start.elapsed().as_secs_f64() > 1.0 {
                self.shown.store(true, Ordering::Relaxed);
                b.set_draw_target(indicatif::ProgressDrawTarget::stderr());
            }
            b.set_position(pos);
        }
    }

    pub(super) fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}
