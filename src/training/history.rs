//! The history of a run: every step's losses and learning rate, and every validation, saved
//! with each checkpoint so a resumed run's curves continue where they stopped.

use serde::{Deserialize, Serialize};

use super::metrics::Metrics;
use super::step::StepLosses;

/// One training step's record.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct LossRecord {
    /// Steps done after this one (1-based).
    pub step: u64,
    /// Fractional epoch at the end of the step (1.5 = half-way through the second epoch).
    pub epoch: f64,
    /// The losses.
    pub losses: StepLosses,
    /// The learning rate used.
    pub learning_rate: f64,
}

/// One validation's record.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ValidationRecord {
    /// Steps done when it ran.
    pub step: u64,
    /// Fractional epoch when it ran.
    pub epoch: f64,
    /// Mean metrics over the validation pairs.
    pub metrics: Metrics,
}

/// Everything recorded so far.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct History {
    /// Per-step losses.
    pub losses: Vec<LossRecord>,
    /// Validations.
    pub validations: Vec<ValidationRecord>,
}

impl History {
    /// The best (lowest) validation L1 so far.
    pub fn best_val_l1(&self) -> Option<f64> {
        self.validations
            .iter()
            .map(|v| v.metrics.l1)
            .min_by(f64::total_cmp)
    }
}
