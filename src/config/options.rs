//! `RunOptions`: every option a person sets for a run, flat, with the reference's defaults;
//! what the CLI's flags and the app's training form fill in, turned into a [`RunConfig`].

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::run::{
    self, DataConfig, GanMode, Intervals, RunConfig, TrainingConfig, fitting_num_downs,
};
use super::schedule::{self, PolicyKind, Schedule};
use crate::data::augment::reference_load_size;
use crate::data::{Direction, LayoutHint, Preprocess};
use crate::model::blocks::NormKind;
use crate::model::defaults;
use crate::model::{PatchDiscriminatorConfig, UnetGeneratorConfig};

/// Every option a person sets for a run, flat and with the reference's defaults: what the CLI's
/// flags and the app's training form both fill in, turned into a [`RunConfig`] in one place.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RunOptions {
    /// Training size (`--crop_size`), px.
    pub image_size_px: u32,
    /// Size before the random crop (`--load_size`), px.
    pub load_size_px: u32,
    /// U-Net depth (7 = unet_128, 8 = unet_256).
    pub num_downs: usize,
    /// Generator width (`--ngf`).
    pub ngf: usize,
    /// Discriminator width (`--ndf`).
    pub ndf: usize,
    /// Discriminator stride-2 layers: 0 = PixelGAN, 3 = 70x70 (`--n_layers_D`).
    pub n_layers_d: usize,
    /// Normalisation of both networks (`--norm`).
    pub norm: NormKind,
    /// Dropout in the generator's decoder.
    pub dropout: bool,
    /// U-Net skip connections.
    pub skips: bool,
    /// Input channels (1 or 3).
    pub input_channels: usize,
    /// Output channels (1 or 3).
    pub output_channels: usize,
    /// Adversarial loss (`--gan_mode`).
    pub gan_mode: GanMode,
    /// Weight of L1 (`--lambda_L1`).
    pub lambda_l1: f64,
    /// Adam learning rate (`--lr`).
    pub learning_rate: f64,
    /// Adam beta1.
    pub beta1: f64,
    /// Learning-rate policy (`--lr_policy`).
    pub lr_policy: PolicyKind,
    /// Epochs between x0.1 steps of the step policy (`--lr_decay_iters`).
    pub lr_decay_epochs: usize,
    /// Epochs at the starting rate (`--n_epochs`).
    pub n_epochs: usize,
    /// Epochs of decay (`--n_epochs_decay`).
    pub n_epochs_decay: usize,
    /// Pairs per batch.
    pub batch_size: usize,
    /// Preprocessing (`--preprocess`).
    pub preprocess: Preprocess,
    /// Random horizontal flips.
    pub flip: bool,
    /// Shuffle every epoch.
    pub shuffle: bool,
    /// Seed of weights, shuffling, jitter and dropout.
    pub seed: u64,
    /// Steps between previews.
    pub preview_every_steps: u64,
    /// Steps between validations.
    pub validate_every_steps: u64,
    /// Steps between checkpoint saves.
    pub checkpoint_every_steps: u64,
    /// Epochs between checkpoints kept for good (`--save_epoch_freq`).
    pub keep_every_epochs: usize,
    /// Fixed validation (or training) pairs shown in previews.
    pub preview_samples: usize,
    /// Stop after this many steps in all.
    pub max_steps: Option<u64>,
    /// Stop once the validation L1 has not improved for this many validations.
    pub early_stop: Option<usize>,
}

/// The reference's training size, from which its load size and U-Net depth follow.
const REFERENCE_SIZE_PX: u32 = 256;

impl Default for RunOptions {
    /// The reference's pix2pix defaults. The networks' come from [`defaults`] and the
    /// schedule's from [`schedule`], which the model configs and `Schedule::default()` read too;
    /// the rest are written here once. The CLI's flags and the app's Paper preset read them all.
    fn default() -> Self {
        Self {
            image_size_px: REFERENCE_SIZE_PX,
            load_size_px: reference_load_size(REFERENCE_SIZE_PX),
            num_downs: defaults::NUM_DOWNS,
            ngf: defaults::NGF,
            ndf: defaults::NDF,
            n_layers_d: defaults::N_LAYERS_D,
            norm: defaults::NORM,
            dropout: defaults::DROPOUT,
            skips: defaults::SKIPS,
            input_channels: defaults::INPUT_CHANNELS,
            output_channels: defaults::OUTPUT_CHANNELS,
            gan_mode: GanMode::default(),
            lambda_l1: run::LAMBDA_L1,
            learning_rate: run::LEARNING_RATE,
            beta1: run::BETA1,
            lr_policy: PolicyKind::default(),
            lr_decay_epochs: schedule::LR_DECAY_EPOCHS,
            n_epochs: schedule::N_EPOCHS,
            n_epochs_decay: schedule::N_EPOCHS_DECAY,
            batch_size: 1,
            preprocess: Preprocess::ResizeAndCrop,
            flip: true,
            shuffle: true,
            seed: run::SEED,
            preview_every_steps: 100,
            validate_every_steps: 500,
            checkpoint_every_steps: 1000,
            keep_every_epochs: 5,
            preview_samples: 4,
            max_steps: None,
            early_stop: None,
        }
    }
}

impl RunOptions {
    /// The Quick preset: small networks at 128 px (U-Net 128, ngf/ndf 32), so the sample data
    /// learns visibly within minutes on a CPU; used by the app and by `quality`.
    pub fn quick() -> Self {
        Self {
            ngf: 32,
            ndf: 32,
            n_epochs: 10,
            n_epochs_decay: 10,
            preview_every_steps: 25,
            validate_every_steps: 200,
            checkpoint_every_steps: 500,
            ..Self::at_size(128)
        }
    }

    /// The defaults scaled to a training size: the reference's load size for it and the U-Net
    /// whose bottleneck is 1×1 there.
    pub fn at_size(image_size_px: u32) -> Self {
        Self {
            image_size_px,
            load_size_px: reference_load_size(image_size_px),
            num_downs: fitting_num_downs(image_size_px),
            ..Self::default()
        }
    }

    /// The run these options describe on `dataset_dir` (not yet validated).
    pub fn run_config(
        &self,
        dataset_dir: &Path,
        direction: Direction,
        layout: LayoutHint,
    ) -> RunConfig {
        let generator = UnetGeneratorConfig::new()
            .with_input_channels(self.input_channels)
            .with_output_channels(self.output_channels)
            .with_num_downs(self.num_downs)
            .with_ngf(self.ngf)
            .with_norm(self.norm)
            .with_dropout(self.dropout)
            .with_skip_connections(self.skips);
        let discriminator = PatchDiscriminatorConfig::new()
            .with_input_channels(self.input_channels + self.output_channels)
            .with_ndf(self.ndf)
            .with_n_layers(self.n_layers_d)
            .with_norm(self.norm);
        let training = TrainingConfig::new(generator, discriminator)
            .with_gan_mode(self.gan_mode)
            .with_lambda_l1(self.lambda_l1)
            .with_learning_rate(self.learning_rate)
            .with_beta1(self.beta1)
            .with_seed(self.seed);
        let data = DataConfig {
            dataset_dir: dataset_dir.to_path_buf(),
            direction,
            layout,
            preprocess: self.preprocess,
            image_size_px: self.image_size_px,
            load_size_px: self.load_size_px.max(self.image_size_px),
            flip: self.flip,
            batch_size: self.batch_size,
            shuffle: self.shuffle,
        };
        RunConfig {
            training,
            data,
            schedule: Schedule {
                n_epochs: self.n_epochs,
                n_epochs_decay: self.n_epochs_decay,
                policy: self.lr_policy.policy(self.lr_decay_epochs),
            },
            intervals: Intervals {
                preview_every_steps: self.preview_every_steps.max(1),
                validate_every_steps: self.validate_every_steps.max(1),
                checkpoint_every_steps: self.checkpoint_every_steps.max(1),
                keep_every_epochs: self.keep_every_epochs.max(1),
                preview_samples: self.preview_samples,
                max_steps: self.max_steps,
                early_stop_patience: self.early_stop.map(|patience| patience.max(1)),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::run::GeneratorNet;
    use crate::model::generator::MIN_NUM_DOWNS;

    #[test]
    fn the_model_configs_defaults_are_the_run_options_defaults() {
        let from_options =
            RunOptions::default().run_config(Path::new("data"), Direction::AtoB, LayoutHint::Auto);
        let from_configs =
            TrainingConfig::new(UnetGeneratorConfig::new(), PatchDiscriminatorConfig::new());
        assert_eq!(from_options.training, from_configs);
        assert_eq!(from_options.schedule, Schedule::default());
    }

    #[test]
    fn the_reference_defaults_are_unet_256_at_256_px_loaded_at_286() {
        let options = RunOptions::default();
        assert_eq!(
            (
                options.image_size_px,
                options.load_size_px,
                options.num_downs
            ),
            (256, 286, 8)
        );
        assert_eq!(GeneratorNet::Auto.num_downs(256), 8);
        assert_eq!(GeneratorNet::Auto.num_downs(128), 7);
        assert_eq!(fitting_num_downs(16), MIN_NUM_DOWNS);
        assert_eq!(fitting_num_downs(REFERENCE_SIZE_PX), defaults::NUM_DOWNS);
        let quick = RunOptions::quick();
        assert_eq!(
            (quick.image_size_px, quick.load_size_px, quick.num_downs),
            (128, 143, 7)
        );
    }
}
