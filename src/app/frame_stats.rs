//! Frame timing for responsiveness measurements (`pix2pix-studio --frame-log FILE`): the
//! interval between consecutive frames while a run trains, written as one value per line with
//! p50 / p95 on exit.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Instant;

use crate::stats::quantile;

/// Frame intervals recorded while the app runs.
pub struct FrameStats {
    path: PathBuf,
    last: Option<Instant>,
    intervals_ms: Vec<f64>,
}

impl FrameStats {
    /// Records into `path` (written by [`Self::write`]).
    pub fn new(path: PathBuf) -> Self {
        Self {
            path,
            last: None,
            intervals_ms: Vec::new(),
        }
    }

    /// Marks the start of a frame.
    pub fn frame(&mut self) {
        let now = Instant::now();
        if let Some(last) = self.last.replace(now) {
            self.intervals_ms
                .push(now.duration_since(last).as_secs_f64() * 1000.0);
        }
    }

    /// Stops measuring until the next `frame` (the gap is not an interval).
    pub fn pause(&mut self) {
        self.last = None;
    }

    /// Frames, p50 and p95 of the intervals in ms.
    fn summary(&self) -> (usize, f64, f64) {
        let mut values = self.intervals_ms.clone();
        let p50 = quantile(&mut values, 0.5);
        let p95 = quantile(&mut values, 0.95);
        (values.len(), p50, p95)
    }

    /// Writes the intervals (ms, one per line) and a summary line starting with `#`.
    pub fn write(&self) -> crate::Result<()> {
        let (frames, p50, p95) = self.summary();
        let mut text = format!("# frames {frames} p50_ms {p50:.1} p95_ms {p95:.1}\n");
        for value in &self.intervals_ms {
            let _ = writeln!(text, "{value:.2}");
        }
        log::info!("frame intervals: {frames} frames, p50 {p50:.1} ms, p95 {p95:.1} ms");
        crate::fs::write_atomic(&self.path, text.as_bytes())
    }
}
