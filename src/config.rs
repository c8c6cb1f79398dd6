//! `TrainingConfig`: the networks, the losses and the optimiser of a pix2pix run.

use burn::config::Config;
use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::model::{PatchDiscriminatorConfig, UnetGeneratorConfig};

/// The adversarial loss (`--gan_mode`), or none for the paper's L1-only ablation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum GanMode {
    /// Binary cross-entropy on the logits against 1 / 0 (the paper's loss, the default).
    #[default]
    Vanilla,
    /// Least squares: mean squared error of the logits against 1 / 0.
    Lsgan,
    /// No GAN term and no discriminator: the generator learns from L1 alone.
    Off,
}

/// Everything that defines how a pix2pix model trains (data and schedule come later).
#[derive(Config, Debug, PartialEq)]
pub struct TrainingConfig {
    /// The generator's architecture.
    pub generator: UnetGeneratorConfig,
    /// The discriminator's architecture.
    pub discriminator: PatchDiscriminatorConfig,
    /// The adversarial loss.
    #[config(default = "GanMode::Vanilla")]
    pub gan_mode: GanMode,
    /// Weight of the L1 term (`--lambda_L1`); 0 trains with the GAN term alone.
    #[config(default = 100.0)]
    pub lambda_l1: f64,
    /// Adam learning rate for both networks (`--lr`).
    #[config(default = 2e-4)]
    pub learning_rate: f64,
    /// Adam beta1 (`--beta1`).
    #[config(default = 0.5)]
    pub beta1: f64,
    /// Adam beta2.
    #[config(default = 0.999)]
    pub beta2: f64,
    /// Adam epsilon (PyTorch's default).
    #[config(default = 1e-8)]
    pub epsilon: f64,
    /// Seed of the initial weights and of the dropout masks.
    #[config(default = 0)]
    pub seed: u64,
}

impl TrainingConfig {
    /// Checks the options and that the two networks fit together.
    pub fn validate(&self) -> crate::Result<()> {
        self.generator.validate()?;
        self.discriminator.validate()?;
        let pair_channels = self.generator.input_channels + self.generator.output_channels;
        if self.discriminator.input_channels != pair_channels {
            return Err(Error::InvalidConfig(format!(
                "the discriminator sees input + output = {pair_channels} channels, configured for {}",
                self.discriminator.input_channels
            )));
        }
        if !(self.lambda_l1 >= 0.0 && self.lambda_l1.is_finite()) {
            return Err(Error::InvalidConfig(format!(
                "lambda_l1 must be a finite number >= 0, got {}",
                self.lambda_l1
            )));
        }
        if self.gan_mode == GanMode::Off && self.lambda_l1 == 0.0 {
            return Err(Error::InvalidConfig(
                "with no GAN term and lambda_l1 = 0 there is nothing to learn".into(),
            ));
        }
        let betas_ok = (0.0..1.0).contains(&self.beta1) && (0.0..1.0).contains(&self.beta2);
        if !(self.learning_rate > 0.0 && betas_ok && self.epsilon > 0.0) {
            return Err(Error::InvalidConfig(format!(
                "Adam needs lr > 0, betas in [0, 1) and eps > 0, got lr {}, betas ({}, {}), eps {}",
                self.learning_rate, self.beta1, self.beta2, self.epsilon
            )));
        }
        Ok(())
    }
}
