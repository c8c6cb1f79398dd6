//! Opt-in timings of a training step's heavy parts (each convolution product per layer shape,
//! the activations, the Adam update), for `bench --profile`.
//!
//! The kernels have no context to pass a recorder through (burn calls them as backend
//! operations), so the recorder is process-wide: off by default, where recording costs one
//! relaxed atomic load per operation; [`Recording::start`] turns it on until it is dropped.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use serde::{Deserialize, Serialize};

static ENABLED: AtomicBool = AtomicBool::new(false);
static TIMINGS: Mutex<BTreeMap<Operation, Totals>> = Mutex::new(BTreeMap::new());

/// What was timed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Kind {
    /// `y = conv(x, w)`: im2col and one GEMM (a down layer's forward, an up layer's input
    /// gradient).
    Conv,
    /// The adjoint in `x`: one GEMM and col2im (an up layer's forward, a down layer's input
    /// gradient).
    ConvAdjoint,
    /// The weight gradient: im2col and one GEMM.
    WeightGrad,
    /// LeakyReLU or ReLU, forward or backward.
    Activation,
    /// BatchNorm with batch statistics, forward or backward.
    BatchNorm,
    /// One optimiser step over a whole network.
    Adam,
}

impl Kind {
    /// A short label for tables.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Conv => "conv",
            Kind::ConvAdjoint => "conv adjoint",
            Kind::WeightGrad => "weight grad",
            Kind::Activation => "activation",
            Kind::BatchNorm => "batch norm",
            Kind::Adam => "adam",
        }
    }
}

/// One timed operation: its kind and the shape it ran on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Operation {
    /// What ran.
    pub kind: Kind,
    /// For convolutions, `[C, O, H, W, k, stride, padding]` of `y = conv(x, w)` with
    /// `x: [1, C, H, W]` and `w: [O, C, k, k]` (a transposed convolution is named by the
    /// convolution it is the adjoint of); for the others, `[values, 0, 0, 0, 0, 0, 0]`.
    pub shape: [usize; 7],
}

impl Operation {
    /// A convolution product of `x: [C, H, W]` with `w: [O, C, k, k]`; `geometry` is
    /// `[C, O, H, W, k, stride, padding]`.
    pub fn conv(kind: Kind, geometry: [usize; 7]) -> Self {
        Operation {
            kind,
            shape: geometry,
        }
    }

    /// An element-wise operation over `values` numbers.
    pub fn elementwise(kind: Kind, values: usize) -> Self {
        Operation {
            kind,
            shape: [values, 0, 0, 0, 0, 0, 0],
        }
    }

    /// Multiply-adds times two, for convolutions (0 for the others).
    pub fn flops(&self) -> f64 {
        let [
            channels,
            out_channels,
            height,
            width,
            kernel,
            stride,
            padding,
        ] = self.shape;
        match self.kind {
            Kind::Conv | Kind::ConvAdjoint | Kind::WeightGrad if stride > 0 => {
                let out = |side: usize| (side + 2 * padding).saturating_sub(kernel) / stride + 1;
                2.0 * (channels * out_channels * kernel * kernel * out(height) * out(width)) as f64
            }
            _ => 0.0,
        }
    }

    /// The shape as people read it: `256→512 @32×32 k4 s2`, or `54.4 M values`.
    pub fn describe(&self) -> String {
        let [channels, out_channels, height, width, kernel, stride, _] = self.shape;
        match self.kind {
            Kind::Conv | Kind::ConvAdjoint | Kind::WeightGrad => {
                format!("{channels}→{out_channels} @{height}×{width} k{kernel} s{stride}")
            }
            Kind::Activation | Kind::BatchNorm | Kind::Adam => {
                format!("{:.1} M values", channels as f64 / 1e6)
            }
        }
    }
}

/// Calls and total seconds of one operation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Totals {
    /// How many times it ran.
    pub calls: u64,
    /// Seconds spent in it, all calls together.
    pub secs: f64,
}

/// One row of a profile: an operation and its totals.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProfileEntry {
    /// What ran, on which shape.
    pub operation: Operation,
    /// Calls and seconds.
    pub totals: Totals,
}

/// Records timings while it lives; [`Recording::finish`] returns them. One at a time per
/// process (a second one would share the first one's table).
pub struct Recording(());

impl Recording {
    /// Clears the table and turns recording on.
    pub fn start() -> Self {
        lock().clear();
        ENABLED.store(true, Ordering::Relaxed);
        Recording(())
    }

    /// Turns recording off and returns what was recorded, the slowest first.
    pub fn finish(self) -> Vec<ProfileEntry> {
        ENABLED.store(false, Ordering::Relaxed);
        let mut entries: Vec<ProfileEntry> = std::mem::take(&mut *lock())
            .into_iter()
            .map(|(operation, totals)| ProfileEntry { operation, totals })
            .collect();
        entries.sort_by(|a, b| b.totals.secs.total_cmp(&a.totals.secs));
        entries
    }
}

impl Drop for Recording {
    fn drop(&mut self) {
        ENABLED.store(false, Ordering::Relaxed);
    }
}

/// Runs `work`, adding its wall time to `operation`'s totals when a recording is on.
pub fn timed<T>(operation: impl FnOnce() -> Operation, work: impl FnOnce() -> T) -> T {
    if !ENABLED.load(Ordering::Relaxed) {
        return work();
    }
    let start = Instant::now();
    let result = work();
    let secs = start.elapsed().as_secs_f64();
    let mut timings = lock();
    let totals = timings.entry(operation()).or_default();
    totals.calls += 1;
    totals.secs += secs;
    result
}

/// The table, even if a thread panicked while holding it (it only holds sums).
fn lock() -> std::sync::MutexGuard<'static, BTreeMap<Operation, Totals>> {
    TIMINGS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flops_count_the_outputs_of_a_strided_convolution() {
        // 3→64 at 256 px, k4 s2 p1: 128×128 outputs of 3·16 multiply-adds per channel.
        let operation = Operation::conv(Kind::Conv, [3, 64, 256, 256, 4, 2, 1]);
        assert_eq!(operation.flops(), 2.0 * (3 * 64 * 16 * 128 * 128) as f64);
        // k4 s1 p1 (the PatchGAN's last two layers): 32 → 31.
        let operation = Operation::conv(Kind::WeightGrad, [256, 512, 32, 32, 4, 1, 1]);
        assert_eq!(operation.flops(), 2.0 * (256 * 512 * 16 * 31 * 31) as f64);
        assert_eq!(Operation::elementwise(Kind::Adam, 10).flops(), 0.0);
    }
}
