//! The configuration of a pix2pix run: `TrainingConfig` (networks, losses, optimiser) and
//! `RunConfig` around it (data, schedule, reporting), saved as `config.json` with every run.

use std::path::{Path, PathBuf};

use burn::config::Config;
use serde::{Deserialize, Serialize};

use crate::data::augment::reference_load_size;
use crate::data::{Direction, LayoutHint, Preprocess, SynthTask};
use crate::error::Error;
use crate::model::blocks::NormKind;
use crate::model::generator::{MAX_NUM_DOWNS, MIN_NUM_DOWNS};
use crate::model::{PatchDiscriminatorConfig, UnetGeneratorConfig};
use crate::training::schedule::{PolicyKind, Schedule};

/// The adversarial loss (`--gan_mode`), or none for the paper's L1-only ablation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum GanMode {
    /// Binary cross-entropy on the logits against 1 / 0 (the paper's loss, the default).
    #[default]
    Vanilla,
    /// Least squares: mean squared error of the logits against 1 / 0.
    Lsgan,
    /// No GAN term and no discriminator: the generator learns from L1 alone.
    #[value(name = "none", alias = "off")]
    Off,
}

/// The reference's generator names (`--netG`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum GeneratorNet {
    /// The U-Net whose bottleneck is 1×1 at the training size ([`fitting_num_downs`]).
    #[default]
    Auto,
    /// U-Net with 8 down-samplings, for 256 px.
    #[value(name = "unet_256")]
    Unet256,
    /// U-Net with 7 down-samplings, for 128 px.
    #[value(name = "unet_128")]
    Unet128,
}

impl GeneratorNet {
    /// The U-Net depth this name stands for at `image_size_px`.
    pub fn num_downs(self, image_size_px: u32) -> usize {
        match self {
            GeneratorNet::Auto => fitting_num_downs(image_size_px),
            GeneratorNet::Unet256 => 8,
            GeneratorNet::Unet128 => 7,
        }
    }
}

/// The U-Net depth whose bottleneck is 1×1 at `image_size_px` (8 at 256 px, as `unet_256`), at
/// least [`MIN_NUM_DOWNS`] and at most [`MAX_NUM_DOWNS`].
pub fn fitting_num_downs(image_size_px: u32) -> usize {
    (image_size_px.max(1).ilog2() as usize).clamp(MIN_NUM_DOWNS, MAX_NUM_DOWNS)
}

/// The reference's discriminator names (`--netD`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum DiscriminatorNet {
    /// The 70×70 PatchGAN (3 stride-2 layers).
    Basic,
    /// A PatchGAN with `--n_layers_D` stride-2 layers.
    #[value(name = "n_layers")]
    NLayers,
    /// The 1×1 PixelGAN.
    Pixel,
}

impl DiscriminatorNet {
    /// The number of stride-2 layers, `n_layers` for [`DiscriminatorNet::NLayers`].
    pub fn n_layers(self, n_layers: usize) -> usize {
        match self {
            DiscriminatorNet::Basic => 3,
            DiscriminatorNet::NLayers => n_layers,
            DiscriminatorNet::Pixel => 0,
        }
    }
}

/// Everything that defines how a pix2pix model trains (data and schedule come later).
#[derive(Config, Debug, PartialEq)]
pub struct TrainingConfig {
    /// The generator's architecture.
    pub generator: UnetGeneratorConfig,
    /// The discriminator's architecture.
    pub discriminator: PatchDiscriminatorConfig,
    /// The adversarial loss.
    #[config(default = "RunOptions::default().gan_mode")]
    pub gan_mode: GanMode,
    /// Weight of the L1 term (`--lambda_L1`); 0 trains with the GAN term alone.
    #[config(default = "RunOptions::default().lambda_l1")]
    pub lambda_l1: f64,
    /// Adam learning rate for both networks (`--lr`).
    #[config(default = "RunOptions::default().learning_rate")]
    pub learning_rate: f64,
    /// Adam beta1 (`--beta1`).
    #[config(default = "RunOptions::default().beta1")]
    pub beta1: f64,
    /// Adam beta2.
    #[config(default = 0.999)]
    pub beta2: f64,
    /// Adam epsilon (PyTorch's default).
    #[config(default = 1e-8)]
    pub epsilon: f64,
    /// Seed of the initial weights and of the dropout masks.
    #[config(default = "RunOptions::default().seed")]
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

/// Where the pairs come from and how they are prepared.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DataConfig {
    /// The dataset folder.
    pub dataset_dir: PathBuf,
    /// Which side is the input (`--direction`).
    pub direction: Direction,
    /// Layout override; `Photos` makes pairs with a synthesis task.
    pub layout: LayoutHint,
    /// Preprocessing (`--preprocess`).
    pub preprocess: Preprocess,
    /// The training size (`--crop_size`); a multiple of 2^num_downs.
    pub image_size_px: u32,
    /// The size before cropping (`--load_size`).
    pub load_size_px: u32,
    /// Random horizontal flips (`--no_flip` turns them off).
    pub flip: bool,
    /// Pairs per batch (`--batch_size`).
    pub batch_size: usize,
    /// Shuffle every epoch (`--serial_batches` turns it off).
    pub shuffle: bool,
}

impl DataConfig {
    /// The synthesis task, for a folder of plain photos.
    pub fn synth(&self) -> Option<SynthTask> {
        match self.layout {
            LayoutHint::Photos(task) => Some(task),
            _ => None,
        }
    }
}

/// How often a run reports and saves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Intervals {
    /// Steps between preview triplets.
    pub preview_every_steps: u64,
    /// Steps between validations (mean L1, PSNR, SSIM on the validation split).
    pub validate_every_steps: u64,
    /// Steps between saves of the latest checkpoint (it is also saved every epoch and on stop).
    pub checkpoint_every_steps: u64,
    /// Epochs between checkpoints that are kept for good (the reference's `--save_epoch_freq`).
    pub keep_every_epochs: usize,
    /// Fixed samples shown in previews.
    pub preview_samples: usize,
    /// Stop after this many steps in all, whatever the schedule says.
    pub max_steps: Option<u64>,
    /// Early stopping: end the run once the validation L1 has not improved for this many
    /// validations in a row.
    #[serde(default)]
    pub early_stop_patience: Option<usize>,
}

/// The largest training (and load) size accepted, in pixels: 4 times the paper's largest.
pub const MAX_TRAINING_SIZE_PX: usize = 4096;
/// The largest batch accepted.
pub const MAX_BATCH_SIZE: usize = 1024;
/// The most epochs of either phase of the schedule.
pub const MAX_EPOCHS: usize = 100_000;
/// The most fixed preview samples.
pub const MAX_PREVIEW_SAMPLES: usize = 64;

/// `value` of the field at `field` (as `config.json` names it) within `min..=max`, or an error
/// naming the field and the range.
fn in_range(field: &str, value: usize, min: usize, max: usize) -> crate::Result<()> {
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(Error::InvalidConfig(format!(
            "{field} must be between {min} and {max}, got {value}"
        )))
    }
}

/// Everything that defines a training run; saved as `config.json` in its folder.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunConfig {
    /// Networks, losses, optimiser, seed.
    pub training: TrainingConfig,
    /// The data.
    pub data: DataConfig,
    /// Epochs and learning-rate schedule.
    pub schedule: Schedule,
    /// Reporting and saving.
    pub intervals: Intervals,
}

impl RunConfig {
    /// Checks the whole run before anything is loaded.
    pub fn validate(&self) -> crate::Result<()> {
        self.training.validate()?;
        let generator = &self.training.generator;
        if let Some(task) = self.data.synth() {
            let channels = (generator.input_channels, generator.output_channels);
            if channels != task.channels() {
                return Err(Error::InvalidConfig(format!(
                    "{task} makes {}-channel inputs and {}-channel targets; the generator has {} and {}",
                    task.channels().0,
                    task.channels().1,
                    channels.0,
                    channels.1
                )));
            }
        }
        let multiple = generator.size_multiple() as u32;
        if self.data.preprocess.fixed_size() && !self.data.image_size_px.is_multiple_of(multiple) {
            return Err(Error::InvalidConfig(format!(
                "the training size {} px is not a multiple of {multiple} (2^num_downs for num_downs {})",
                self.data.image_size_px, generator.num_downs
            )));
        }
        let data = &self.data;
        in_range(
            "data.image_size_px",
            data.image_size_px as usize,
            1,
            MAX_TRAINING_SIZE_PX,
        )?;
        in_range(
            "data.load_size_px",
            data.load_size_px as usize,
            1,
            MAX_TRAINING_SIZE_PX,
        )?;
        in_range("data.batch_size", data.batch_size, 1, MAX_BATCH_SIZE)?;
        in_range("schedule.n_epochs", self.schedule.n_epochs, 0, MAX_EPOCHS)?;
        in_range(
            "schedule.n_epochs_decay",
            self.schedule.n_epochs_decay,
            0,
            MAX_EPOCHS,
        )?;
        if self.schedule.total_epochs() == 0 {
            return Err(Error::InvalidConfig("the run has no epochs".into()));
        }
        let intervals = &self.intervals;
        in_range(
            "intervals.preview_samples",
            intervals.preview_samples,
            0,
            MAX_PREVIEW_SAMPLES,
        )?;
        in_range(
            "intervals.keep_every_epochs",
            intervals.keep_every_epochs,
            0,
            MAX_EPOCHS,
        )?;
        Ok(())
    }
}

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
    /// The reference's pix2pix defaults: the one place each default is written. The CLI's flags,
    /// the app's Paper preset and the model configs' own defaults all read them from here.
    fn default() -> Self {
        Self {
            image_size_px: REFERENCE_SIZE_PX,
            load_size_px: reference_load_size(REFERENCE_SIZE_PX),
            num_downs: fitting_num_downs(REFERENCE_SIZE_PX),
            ngf: 64,
            ndf: 64,
            n_layers_d: 3,
            norm: NormKind::Batch,
            dropout: true,
            skips: true,
            input_channels: 3,
            output_channels: 3,
            gan_mode: GanMode::Vanilla,
            lambda_l1: 100.0,
            learning_rate: 2e-4,
            beta1: 0.5,
            lr_policy: PolicyKind::Linear,
            lr_decay_epochs: 50,
            n_epochs: 100,
            n_epochs_decay: 100,
            batch_size: 1,
            preprocess: Preprocess::ResizeAndCrop,
            flip: true,
            shuffle: true,
            seed: 0,
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
        let quick = RunOptions::quick();
        assert_eq!(
            (quick.image_size_px, quick.load_size_px, quick.num_downs),
            (128, 143, 7)
        );
    }
}
