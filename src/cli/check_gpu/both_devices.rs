//! Does a GPU compute what the CPU computes? A few training steps of a small pix2pix on both,
//! from the same weights and the same pairs, compared loss by loss (`check-gpu`): for a driver
//! or kernel path nobody here has run (SPIR-V, MSL) before trusting it with a long run.

use burn::tensor::{Device, Tensor, TensorData};

use pix2pix_studio::config::TrainingConfig;
use pix2pix_studio::error::{Error, Result};
use pix2pix_studio::model::{PatchDiscriminatorConfig, UnetGeneratorConfig};
use pix2pix_studio::platform::device;
use pix2pix_studio::training::{StepLosses, TrainingState, train_step};

/// How far a GPU's losses may be from the CPU's: reductions run in another order there, and
/// Adam amplifies that a little over a few steps (measured ≤ 2.2e-7 on lavapipe).
pub const LOSS_TOLERANCE: f32 = 1e-4;

/// Pairs are this many pixels a side.
const SIZE_PX: usize = 64;

/// What the check saw.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckReport {
    /// Each step's losses on the GPU and on the CPU.
    pub steps: Vec<(StepLosses, StepLosses)>,
    /// The largest relative difference of any loss of any step.
    pub max_relative_difference: f32,
}

impl CheckReport {
    /// Whether every loss was finite on the GPU and within [`LOSS_TOLERANCE`] of the CPU's.
    pub fn passed(&self) -> bool {
        self.steps.iter().all(|(gpu, _)| gpu.is_finite())
            && self.max_relative_difference <= LOSS_TOLERANCE
    }
}

/// The network the check trains: the reference's layers at a size every device runs quickly
/// (64 px, U-Net of 6 levels, ngf = ndf = 8).
fn check_config() -> TrainingConfig {
    TrainingConfig::new(
        UnetGeneratorConfig::new().with_num_downs(6).with_ngf(8),
        PatchDiscriminatorConfig::new().with_ndf(8),
    )
    .with_seed(11)
}

/// A fixed pair made on the host (a device's random generator would differ), different per step.
fn pair(step: usize, device: &Device) -> (Tensor<4>, Tensor<4>) {
    let input: Vec<f32> = (0..3 * SIZE_PX * SIZE_PX)
        .map(|i| (((i * 7 + step * 13) % 97) as f32 / 48.0 - 1.0) * 0.9)
        .collect();
    let target: Vec<f32> = input.iter().map(|v| -0.5 * v + 0.1).collect();
    let shape = [1, 3, SIZE_PX, SIZE_PX];
    (
        Tensor::from_data(TensorData::new(input, shape), device),
        Tensor::from_data(TensorData::new(target, shape), device),
    )
}

fn train(device: &Device, steps: usize) -> Result<Vec<StepLosses>> {
    let mut state = TrainingState::new(&check_config(), device)?;
    (0..steps)
        .map(|step| {
            let (input, target) = pair(step, device);
            train_step(&mut state, input, target, 2e-3)
        })
        .collect()
}

/// Trains `steps` steps on `gpu` and on the CPU from the same start and compares the losses.
pub fn compare_with_cpu(gpu: &Device, steps: usize) -> Result<CheckReport> {
    if steps == 0 {
        return Err(Error::InvalidConfig(
            "the check needs at least one step".into(),
        ));
    }
    let on_gpu = train(gpu, steps)?;
    let on_cpu = train(&device::cpu().device, steps)?;
    let max_relative_difference = on_gpu
        .iter()
        .zip(&on_cpu)
        .flat_map(|(g, c)| {
            [
                (g.g_gan, c.g_gan),
                (g.g_l1, c.g_l1),
                (g.d_real, c.d_real),
                (g.d_fake, c.d_fake),
            ]
        })
        .map(|(g, c)| relative_difference(g, c))
        .fold(0.0, f32::max);
    Ok(CheckReport {
        steps: on_gpu.into_iter().zip(on_cpu).collect(),
        max_relative_difference,
    })
}

/// `|a - b|` relative to `b` (at least 1e-3, so losses near zero compare absolutely); NaN or
/// infinite as infinite.
fn relative_difference(a: f32, b: f32) -> f32 {
    let difference = (a - b).abs() / b.abs().max(1e-3);
    if difference.is_finite() {
        difference
    } else {
        f32::INFINITY
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cpu_checked_against_itself_passes_exactly() {
        let report = compare_with_cpu(&device::cpu().device, 2).unwrap();
        assert_eq!(report.steps.len(), 2);
        assert_eq!(report.max_relative_difference, 0.0);
        assert!(report.passed());
    }

    #[test]
    fn a_difference_or_a_nan_fails_the_check() {
        assert!(relative_difference(1.0, 1.0 + 2e-4) > LOSS_TOLERANCE);
        assert_eq!(relative_difference(f32::NAN, 1.0), f32::INFINITY);
        let losses = StepLosses {
            g_gan: 0.7,
            ..StepLosses::default()
        };
        let report = CheckReport {
            steps: vec![(losses, losses)],
            max_relative_difference: 2e-4,
        };
        assert!(!report.passed());
    }
}
