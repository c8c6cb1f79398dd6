//! The configuration of a pix2pix run: `TrainingConfig` (networks, losses, optimiser) and
//! `RunConfig` around it (data, schedule, reporting), saved as `config.json` with every run.

use std::path::PathBuf;

use burn::config::Config;
use serde::{Deserialize, Serialize};

use crate::config::schedule::Schedule;
use crate::data::augment::AugmentConfig;
use crate::data::loader::SampleConfig;
use crate::data::{Direction, LayoutHint, Preprocess, SynthTask};
use crate::error::Error;
use crate::model::generator::{MAX_NUM_DOWNS, MIN_NUM_DOWNS};
use crate::model::{PatchDiscriminatorConfig, UnetGeneratorConfig};

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

/// The reference's weight of L1 (`--lambda_L1`).
pub const LAMBDA_L1: f64 = 100.0;
/// The reference's Adam learning rate (`--lr`).
pub const LEARNING_RATE: f64 = 2e-4;
/// The reference's Adam beta1 (`--beta1`).
pub const BETA1: f64 = 0.5;
/// The seed of a run nobody chose one for.
pub const SEED: u64 = 0;

/// Everything that defines how a pix2pix model trains (data and schedule come later).
#[derive(Config, Debug, PartialEq)]
pub struct TrainingConfig {
    /// The generator's architecture.
    pub generator: UnetGeneratorConfig,
    /// The discriminator's architecture.
    pub discriminator: PatchDiscriminatorConfig,
    /// The adversarial loss.
    #[config(default = "GanMode::default()")]
    pub gan_mode: GanMode,
    /// Weight of the L1 term (`--lambda_L1`); 0 trains with the GAN term alone.
    #[config(default = "LAMBDA_L1")]
    pub lambda_l1: f64,
    /// Adam learning rate for both networks (`--lr`).
    #[config(default = "LEARNING_RATE")]
    pub learning_rate: f64,
    /// Adam beta1 (`--beta1`).
    #[config(default = "BETA1")]
    pub beta1: f64,
    /// Adam beta2.
    #[config(default = 0.999)]
    pub beta2: f64,
    /// Adam epsilon (PyTorch's default).
    #[config(default = 1e-8)]
    pub epsilon: f64,
    /// Seed of the initial weights and of the dropout masks.
    #[config(default = "SEED")]
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
    /// How this run prepares its pairs (`synth`: the dataset's synthesis task).
    pub fn sample_config(&self, synth: Option<SynthTask>) -> SampleConfig {
        let generator = &self.training.generator;
        let data = &self.data;
        SampleConfig {
            augment: AugmentConfig {
                preprocess: data.preprocess,
                image_size_px: data.image_size_px,
                load_size_px: data.load_size_px,
                flip: data.flip,
                size_multiple: generator.size_multiple() as u32,
            },
            direction: data.direction,
            synth,
            input_channels: generator.input_channels,
            output_channels: generator.output_channels,
        }
    }

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
