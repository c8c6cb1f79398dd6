//! Learning-rate schedules, stepped once per epoch as in the reference (`--lr_policy`).

use serde::{Deserialize, Serialize};

/// How the learning rate changes over epochs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "policy")]
pub enum LrPolicy {
    /// Constant for `n_epochs`, then linear decay to zero over `n_epochs_decay` (the
    /// reference's default): factor `1 - max(0, epoch + 1 - n_epochs) / (n_epochs_decay + 1)`.
    #[default]
    Linear,
    /// Never changes.
    Constant,
    /// Multiplied by `gamma` every `every_epochs` epochs (the reference: 0.1 every
    /// `lr_decay_iters`).
    Step {
        /// Epochs between decays.
        every_epochs: usize,
        /// Factor of each decay.
        gamma: f64,
    },
    /// Cosine annealing from the base rate towards zero over the whole run
    /// (`n_epochs + n_epochs_decay`). The reference sets `T_max = n_epochs`, so its rate reaches
    /// zero after `n_epochs` and PyTorch's closed form climbs back up during the decay epochs;
    /// here every epoch trains, and the last one at a small positive rate.
    Cosine,
}

/// The policies by name, as the CLI and the app offer them (the step policy's period is an
/// option of its own; its factor is the reference's 0.1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
pub enum PolicyKind {
    /// Constant, then linear decay to zero (the reference's default).
    #[default]
    Linear,
    /// Never changes.
    Constant,
    /// x0.1 every N epochs.
    Step,
    /// Cosine annealing to zero.
    Cosine,
}

impl PolicyKind {
    /// The policy, with `step_every_epochs` for the step policy.
    pub fn policy(self, step_every_epochs: usize) -> LrPolicy {
        match self {
            PolicyKind::Linear => LrPolicy::Linear,
            PolicyKind::Constant => LrPolicy::Constant,
            PolicyKind::Step => LrPolicy::Step {
                every_epochs: step_every_epochs.max(1),
                gamma: 0.1,
            },
            PolicyKind::Cosine => LrPolicy::Cosine,
        }
    }
}

/// The schedule of a run: how long and how the learning rate moves.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Schedule {
    /// Epochs at the starting learning rate (`--n_epochs`).
    pub n_epochs: usize,
    /// Epochs of linear decay after that (`--n_epochs_decay`).
    pub n_epochs_decay: usize,
    /// The policy.
    pub policy: LrPolicy,
}

/// The reference's epochs at the starting learning rate (`--n_epochs`).
pub const N_EPOCHS: usize = 100;
/// The reference's epochs of decay (`--n_epochs_decay`).
pub const N_EPOCHS_DECAY: usize = 100;
/// The reference's epochs between x0.1 steps of the step policy (`--lr_decay_iters`).
pub const LR_DECAY_EPOCHS: usize = 50;

impl Default for Schedule {
    /// The reference's schedule: 100 epochs at the starting rate, then 100 of linear decay
    /// ([`RunOptions::default`](crate::config::RunOptions) reads the same constants).
    fn default() -> Self {
        Self {
            n_epochs: N_EPOCHS,
            n_epochs_decay: N_EPOCHS_DECAY,
            policy: PolicyKind::default().policy(LR_DECAY_EPOCHS),
        }
    }
}

impl Schedule {
    /// Total epochs of the run.
    pub fn total_epochs(&self) -> usize {
        match self.policy {
            LrPolicy::Linear => self.n_epochs + self.n_epochs_decay,
            _ => self.n_epochs.max(1) + self.n_epochs_decay,
        }
    }

    /// The learning rate during `epoch` (0-based), from the base rate.
    pub fn learning_rate(&self, base: f64, epoch: usize) -> f64 {
        let factor = match self.policy {
            LrPolicy::Linear => {
                // The reference's lambda_rule, with its epoch_count = 1 and 0-based epochs.
                let over = (epoch + 1).saturating_sub(self.n_epochs) as f64;
                1.0 - over / (self.n_epochs_decay as f64 + 1.0)
            }
            LrPolicy::Constant => 1.0,
            LrPolicy::Step {
                every_epochs,
                gamma,
            } => gamma.powi((epoch / every_epochs.max(1)) as i32),
            LrPolicy::Cosine => {
                let t_max = self.total_epochs() as f64;
                let position = (epoch as f64).min(t_max);
                0.5 * (1.0 + (std::f64::consts::PI * position / t_max).cos())
            }
        };
        base * factor.max(0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_matches_the_reference() {
        let schedule = Schedule {
            n_epochs: 100,
            n_epochs_decay: 100,
            policy: LrPolicy::Linear,
        };
        assert_eq!(schedule.total_epochs(), 200);
        // The reference: epoch counter 1..=200, lr = 2e-4 * (1 - max(0, e - 100) / 101).
        let reference = |e: usize| 2e-4 * (1.0 - (e as f64 - 100.0).max(0.0) / 101.0);
        for epoch in [0, 98, 99, 100, 150, 199] {
            let ours = schedule.learning_rate(2e-4, epoch);
            assert!((ours - reference(epoch + 1)).abs() < 1e-15, "epoch {epoch}");
        }
    }

    #[test]
    fn other_policies() {
        let step = Schedule {
            n_epochs: 10,
            n_epochs_decay: 0,
            policy: LrPolicy::Step {
                every_epochs: 5,
                gamma: 0.1,
            },
        };
        assert!((step.learning_rate(1.0, 4) - 1.0).abs() < 1e-12);
        assert!((step.learning_rate(1.0, 5) - 0.1).abs() < 1e-12);
        let cosine = Schedule {
            n_epochs: 10,
            n_epochs_decay: 0,
            policy: LrPolicy::Cosine,
        };
        assert!((cosine.learning_rate(1.0, 0) - 1.0).abs() < 1e-12);
        assert!((cosine.learning_rate(1.0, 5) - 0.5).abs() < 1e-12);
        assert!(cosine.learning_rate(1.0, 10).abs() < 1e-12);
        let constant = Schedule {
            policy: LrPolicy::Constant,
            ..Schedule::default()
        };
        assert_eq!(constant.learning_rate(3.0, 150), 3.0);
    }

    #[test]
    fn cosine_schedule_trains_through_the_decay_epochs() {
        // 10 + 10 epochs: the curve spans all 20, so no epoch runs at a learning rate of 0.
        let cosine = Schedule {
            n_epochs: 10,
            n_epochs_decay: 10,
            policy: LrPolicy::Cosine,
        };
        assert_eq!(cosine.total_epochs(), 20);
        let rates: Vec<f64> = (0..20)
            .map(|epoch| cosine.learning_rate(1.0, epoch))
            .collect();
        assert!(
            (rates[10] - 0.5).abs() < 1e-12,
            "half way at epoch 10: {}",
            rates[10]
        );
        assert!(rates.iter().all(|&rate| rate > 0.0), "{rates:?}");
        assert!(rates.windows(2).all(|pair| pair[1] < pair[0]), "{rates:?}");
        let expected = 0.5 * (1.0 + (std::f64::consts::PI * 19.0 / 20.0).cos());
        assert!((rates[19] - expected).abs() < 1e-12);
    }
}
