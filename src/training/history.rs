//! The history of a run: every step's losses and learning rate, and every validation, saved
//! with each checkpoint so a resumed run's curves continue where they stopped.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::metrics::Metrics;
use super::step::StepLosses;
use crate::config::run_folder::{HISTORY, read_json};
use crate::error::Result;

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
    /// Reads a checkpoint folder's history (every step's losses and every validation so far).
    pub fn read(checkpoint: &Path) -> Result<Self> {
        read_json(&checkpoint.join(HISTORY))
    }

    /// The validation with the lowest L1 so far (the first of equals).
    pub fn best_validation(&self) -> Option<&ValidationRecord> {
        self.best_index().map(|index| &self.validations[index])
    }

    /// The best (lowest) validation L1 so far.
    pub fn best_val_l1(&self) -> Option<f64> {
        self.best_validation().map(|record| record.metrics.l1)
    }

    /// Validations since the best one (0 when the last is the best): how long the validation
    /// L1 has not improved, for early stopping and the plateau warning.
    pub fn validations_since_best(&self) -> Option<usize> {
        self.best_index()
            .map(|index| self.validations.len() - 1 - index)
    }

    fn best_index(&self) -> Option<usize> {
        let records = self.validations.iter().enumerate();
        records
            .min_by(|a, b| a.1.metrics.l1.total_cmp(&b.1.metrics.l1))
            .map(|(index, _)| index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_best_validation_is_the_first_lowest_and_counts_the_ones_since() {
        let record = |step, l1| ValidationRecord {
            step,
            epoch: 0.0,
            metrics: Metrics {
                l1,
                psnr_db: 0.0,
                ssim: 0.0,
            },
        };
        let mut history = History::default();
        assert_eq!(history.validations_since_best(), None);
        history.validations = vec![
            record(0, 0.5),
            record(10, 0.3),
            record(20, 0.4),
            record(30, 0.3),
        ];
        assert_eq!(history.best_validation().map(|r| r.step), Some(10));
        assert_eq!(history.best_val_l1(), Some(0.3));
        assert_eq!(history.validations_since_best(), Some(2));
    }
}
