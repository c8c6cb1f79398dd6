//! Responsiveness measurements (`pix2pix-studio --frame-log FILE`): the interval between
//! consecutive frames while a run trains, and the Sketch tab's round trips (stroke sent to
//! result back) while it trains, written with p50 / p95 on exit.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Instant;

use crate::util::stats::quantile;

/// Frame intervals recorded while the app runs.
pub struct FrameStats {
    path: PathBuf,
    last: Option<Instant>,
    intervals_ms: Vec<f64>,
    sketch_round_trips_ms: Vec<f64>,
    /// The part of each round trip spent translating in the worker.
    sketch_worker_ms: Vec<f64>,
}

impl FrameStats {
    /// Records into `path` (written by [`Self::write`]).
    pub fn new(path: PathBuf) -> Self {
        Self {
            path,
            last: None,
            intervals_ms: Vec::new(),
            sketch_round_trips_ms: Vec::new(),
            sketch_worker_ms: Vec::new(),
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

    /// Records a sketch translation's round trip made while a run trains, and the part of it
    /// the worker spent translating.
    pub fn sketch_round_trip(&mut self, round_trip_ms: u64, worker_ms: u64) {
        self.sketch_round_trips_ms.push(round_trip_ms as f64);
        self.sketch_worker_ms.push(worker_ms as f64);
    }

    /// Count, p50 and p95 of `values` in ms.
    fn summary(values: &[f64]) -> (usize, f64, f64) {
        let mut values = values.to_vec();
        let p50 = quantile(&mut values, 0.5);
        let p95 = quantile(&mut values, 0.95);
        (values.len(), p50, p95)
    }

    /// Writes the frame intervals (ms, one per line) after two summary lines starting with `#`:
    /// frames, then sketch round trips.
    pub fn write(&self) -> crate::Result<()> {
        let (frames, p50, p95) = Self::summary(&self.intervals_ms);
        let (trips, trip_p50, trip_p95) = Self::summary(&self.sketch_round_trips_ms);
        let most = self
            .sketch_round_trips_ms
            .iter()
            .copied()
            .fold(0.0, f64::max);
        let (_, worker_p50, worker_p95) = Self::summary(&self.sketch_worker_ms);
        let mut text = format!(
            "# frames {frames} p50_ms {p50:.1} p95_ms {p95:.1}\n# sketch_round_trips {trips} \
             p50_ms {trip_p50:.1} p95_ms {trip_p95:.1} max_ms {most:.1} (in the worker: p50_ms \
             {worker_p50:.1} p95_ms {worker_p95:.1})\n"
        );
        for value in &self.intervals_ms {
            let _ = writeln!(text, "{value:.2}");
        }
        log::info!("frame intervals: {frames} frames, p50 {p50:.1} ms, p95 {p95:.1} ms");
        log::info!("sketch round trips while training: {trips}, p50 {trip_p50:.1} ms");
        crate::platform::fs::write_atomic(&self.path, text.as_bytes())
    }
}
