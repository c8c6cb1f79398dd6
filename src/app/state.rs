//! The settings the app keeps across launches (tab, dataset, training form, model choices,
//! brush) and how the training form becomes a `RunConfig`.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::bundled::{self, DemoModel};
use crate::config::{DataConfig, GanMode, Intervals, RunConfig, TrainingConfig};
use crate::data::{Direction, LayoutHint, Preprocess};
use crate::device::DeviceChoice;
use crate::inference::{ModelSource, SizeMode, TranslateOptions};
use crate::model::blocks::NormKind;
use crate::model::{NormMode, PatchDiscriminatorConfig, UnetGeneratorConfig};
use crate::training::schedule::{LrPolicy, Schedule};

/// The tabs of the main window.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Tab {
    /// Choose and check a dataset.
    #[default]
    Data,
    /// Train and watch.
    Train,
    /// Translate images with a model.
    Translate,
    /// Draw and see the translation live.
    Sketch,
}

impl Tab {
    /// All tabs in order.
    pub const ALL: [Tab; 4] = [Tab::Data, Tab::Train, Tab::Translate, Tab::Sketch];

    /// The tab's title.
    pub fn title(self) -> &'static str {
        match self {
            Tab::Data => "Data",
            Tab::Train => "Train",
            Tab::Translate => "Translate",
            Tab::Sketch => "Sketch",
        }
    }
}

/// Everything persisted between launches.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// The open tab.
    pub tab: Tab,
    /// The dataset folder, as typed or picked.
    pub dataset_dir: String,
    /// Which side of the pairs is the input.
    pub direction: Direction,
    /// Layout override (plain photos with a synthesis task).
    pub layout: LayoutHint,
    /// The training options.
    pub train: TrainForm,
    /// Where new runs go.
    pub runs_dir: String,
    /// The run folder to resume.
    pub resume_dir: String,
    /// The image or folder to translate, as typed or picked.
    pub translate_inputs: String,
    /// The model of the Translate tab.
    pub translate_model: ModelPick,
    /// Inference choices of the Translate tab.
    pub translate: InferenceForm,
    /// Where translated images are saved.
    pub output_dir: String,
    /// The model of the Sketch tab.
    pub sketch_model: ModelPick,
    /// Brush diameter on the sketch canvas, in canvas pixels.
    pub brush_px: f32,
    /// Draw label maps in the facade palette instead of black lines.
    pub palette_mode: bool,
}

impl Default for Settings {
    /// First launch: the bundled sketches selected, the Quick preset, the demo model.
    fn default() -> Self {
        let dataset_dir = bundled::sample_pairs_dir()
            .map(|dir| dir.join("sketches").display().to_string())
            .unwrap_or_default();
        Self {
            tab: Tab::Data,
            dataset_dir,
            direction: Direction::AtoB,
            layout: LayoutHint::Auto,
            train: TrainForm::quick(),
            runs_dir: "runs".into(),
            resume_dir: String::new(),
            translate_inputs: String::new(),
            translate_model: ModelPick::default(),
            translate: InferenceForm::default(),
            output_dir: "translated".into(),
            sketch_model: ModelPick::default(),
            brush_px: 5.0,
            palette_mode: false,
        }
    }
}

/// The training presets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Preset {
    /// Small and fast: learns the sample data on a laptop CPU in minutes.
    Quick,
    /// The paper's setup: 256 px, U-Net 256, 70×70 PatchGAN, 200 epochs.
    Paper,
    /// Edited by hand.
    Custom,
}

impl Preset {
    /// The preset's name in menus.
    pub fn title(self) -> &'static str {
        match self {
            Preset::Quick => "Quick - CPU, 128 px",
            Preset::Paper => "Paper - 256 px, U-Net 256, 70x70 PatchGAN",
            Preset::Custom => "Custom",
        }
    }
}

/// The learning-rate policies, as offered in the form.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PolicyChoice {
    /// Constant, then linear decay to zero.
    Linear,
    /// Never changes.
    Constant,
    /// x0.1 every `lr_decay_epochs`.
    Step,
    /// Cosine annealing to zero.
    Cosine,
}

/// Every training option of the Train tab.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TrainForm {
    /// The preset the values came from.
    pub preset: Preset,
    /// Training size (crop), px.
    pub image_size_px: u32,
    /// U-Net depth (7 = unet_128, 8 = unet_256).
    pub num_downs: usize,
    /// Generator width.
    pub ngf: usize,
    /// Discriminator width.
    pub ndf: usize,
    /// Discriminator stride-2 layers (patch size).
    pub n_layers_d: usize,
    /// Normalisation of both networks.
    pub norm: NormKind,
    /// Dropout in the generator's decoder (the paper's noise).
    pub dropout: bool,
    /// U-Net skip connections.
    pub skips: bool,
    /// Input channels (1 gray, 3 colour).
    pub input_channels: usize,
    /// Output channels.
    pub output_channels: usize,
    /// Adversarial loss.
    pub gan_mode: GanMode,
    /// Weight of L1.
    pub lambda_l1: f64,
    /// Adam learning rate.
    pub learning_rate: f64,
    /// Adam beta1.
    pub beta1: f64,
    /// Learning-rate policy.
    pub policy: PolicyChoice,
    /// Epochs between x0.1 decays for the step policy.
    pub lr_decay_epochs: usize,
    /// Epochs at the starting rate.
    pub n_epochs: usize,
    /// Epochs of decay.
    pub n_epochs_decay: usize,
    /// Pairs per batch.
    pub batch_size: usize,
    /// Preprocessing (jitter).
    pub preprocess: Preprocess,
    /// Size before the random crop, px.
    pub load_size_px: u32,
    /// Random horizontal flips.
    pub flip: bool,
    /// Seed of weights, shuffling, jitter and dropout.
    pub seed: u64,
    /// Where to compute.
    pub device: DeviceChoice,
    /// Steps between previews.
    pub preview_every_steps: u64,
    /// Steps between validations.
    pub validate_every_steps: u64,
    /// Steps between checkpoint saves.
    pub checkpoint_every_steps: u64,
}

impl Default for TrainForm {
    fn default() -> Self {
        Self::quick()
    }
}

impl TrainForm {
    /// Small networks at 128 px: the sample data learns visibly within minutes on a CPU.
    pub fn quick() -> Self {
        Self {
            preset: Preset::Quick,
            image_size_px: 128,
            num_downs: 7,
            ngf: 32,
            ndf: 32,
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
            policy: PolicyChoice::Linear,
            lr_decay_epochs: 50,
            n_epochs: 10,
            n_epochs_decay: 10,
            batch_size: 1,
            preprocess: Preprocess::ResizeAndCrop,
            load_size_px: 143,
            flip: true,
            seed: 0,
            device: DeviceChoice::Auto,
            preview_every_steps: 25,
            validate_every_steps: 200,
            checkpoint_every_steps: 500,
        }
    }

    /// The paper's configuration (the reference's defaults for pix2pix).
    pub fn paper() -> Self {
        Self {
            preset: Preset::Paper,
            image_size_px: 256,
            num_downs: 8,
            ngf: 64,
            ndf: 64,
            load_size_px: 286,
            n_epochs: 100,
            n_epochs_decay: 100,
            preview_every_steps: 100,
            validate_every_steps: 500,
            checkpoint_every_steps: 1000,
            ..Self::quick()
        }
    }

    /// The form of a preset, keeping the device, channels and seed.
    pub fn with_preset(&self, preset: Preset) -> Self {
        let base = match preset {
            Preset::Quick => Self::quick(),
            Preset::Paper => Self::paper(),
            Preset::Custom => {
                return Self {
                    preset,
                    ..self.clone()
                };
            }
        };
        Self {
            input_channels: self.input_channels,
            output_channels: self.output_channels,
            seed: self.seed,
            device: self.device,
            ..base
        }
    }

    /// The run this form describes on `dataset_dir`.
    pub fn run_config(
        &self,
        dataset_dir: &Path,
        direction: Direction,
        layout: LayoutHint,
    ) -> RunConfig {
        let (input_channels, output_channels) = match layout {
            LayoutHint::Photos(task) => task.channels(),
            _ => (self.input_channels, self.output_channels),
        };
        let generator = UnetGeneratorConfig::new()
            .with_input_channels(input_channels)
            .with_output_channels(output_channels)
            .with_num_downs(self.num_downs)
            .with_ngf(self.ngf)
            .with_norm(self.norm)
            .with_dropout(self.dropout)
            .with_skip_connections(self.skips);
        let discriminator = PatchDiscriminatorConfig::new()
            .with_input_channels(input_channels + output_channels)
            .with_ndf(self.ndf)
            .with_n_layers(self.n_layers_d)
            .with_norm(self.norm);
        let training = TrainingConfig::new(generator, discriminator)
            .with_gan_mode(self.gan_mode)
            .with_lambda_l1(self.lambda_l1)
            .with_learning_rate(self.learning_rate)
            .with_beta1(self.beta1)
            .with_seed(self.seed);
        let mut data = DataConfig::new(dataset_dir, self.image_size_px);
        data.direction = direction;
        data.layout = layout;
        data.preprocess = self.preprocess;
        data.load_size_px = self.load_size_px.max(self.image_size_px);
        data.flip = self.flip;
        data.batch_size = self.batch_size;
        let policy = match self.policy {
            PolicyChoice::Linear => LrPolicy::Linear,
            PolicyChoice::Constant => LrPolicy::Constant,
            PolicyChoice::Step => LrPolicy::Step {
                every_epochs: self.lr_decay_epochs.max(1),
                gamma: 0.1,
            },
            PolicyChoice::Cosine => LrPolicy::Cosine,
        };
        RunConfig {
            training,
            data,
            schedule: Schedule {
                n_epochs: self.n_epochs,
                n_epochs_decay: self.n_epochs_decay,
                policy,
            },
            intervals: Intervals {
                preview_every_steps: self.preview_every_steps.max(1),
                validate_every_steps: self.validate_every_steps.max(1),
                checkpoint_every_steps: self.checkpoint_every_steps.max(1),
                ..Intervals::default()
            },
        }
    }
}

/// Which generator a tab uses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ModelChoice {
    /// The demo model shipped in `assets/demo/` (sketches, or labels in palette mode).
    #[default]
    Demo,
    /// The run being trained, or the last one trained in this session.
    CurrentRun,
    /// A run folder or checkpoint folder.
    Checkpoint,
    /// Reference PyTorch weights (`.pth` / `.safetensors`).
    Weights,
}

/// A model choice with its paths.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ModelPick {
    /// The kind of source.
    pub choice: ModelChoice,
    /// A run or checkpoint folder.
    pub checkpoint_dir: String,
    /// A weights file.
    pub weights_path: String,
}

impl ModelPick {
    /// The model source, `Ok(None)` meaning the run the worker is training now.
    pub fn source(
        &self,
        demo: DemoModel,
        current_run: CurrentRun<'_>,
    ) -> Result<Option<ModelSource>, String> {
        match self.choice {
            ModelChoice::Demo => bundled::demo_model_dir(demo)
                .map(|dir| Some(ModelSource::Checkpoint(dir)))
                .ok_or_else(|| "the demo model (assets/demo/) was not found".to_string()),
            ModelChoice::CurrentRun => match current_run {
                CurrentRun::Training => Ok(None),
                CurrentRun::Finished(dir) => Ok(Some(ModelSource::RunDir(dir.to_path_buf()))),
                CurrentRun::None => Err("no run yet: train one, or pick a checkpoint".into()),
            },
            ModelChoice::Checkpoint => {
                non_empty(&self.checkpoint_dir, "a run or checkpoint folder")
                    .map(|dir| Some(folder_source(dir)))
            }
            ModelChoice::Weights => non_empty(&self.weights_path, "a .pth or .safetensors file")
                .map(|path| {
                    Some(ModelSource::Weights {
                        path,
                        architecture: None,
                    })
                }),
        }
    }
}

/// The state of the session's run, for "current run" model choices.
#[derive(Clone, Copy, Debug)]
pub enum CurrentRun<'a> {
    /// No run in this session.
    None,
    /// The worker is training (or paused): it translates with the live generator.
    Training,
    /// A run that has ended, with its folder.
    Finished(&'a Path),
}

/// A typed path, or what is missing.
fn non_empty(text: &str, what: &str) -> Result<PathBuf, String> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        Err(format!("choose {what} first"))
    } else {
        Ok(PathBuf::from(trimmed))
    }
}

/// A run folder (it holds `latest.json`) or else one checkpoint folder.
fn folder_source(dir: PathBuf) -> ModelSource {
    if dir.join("latest.json").exists() {
        ModelSource::RunDir(dir)
    } else {
        ModelSource::Checkpoint(dir)
    }
}

/// The inference choices of the Translate tab.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct InferenceForm {
    /// Normalisation at test time.
    pub norm: NormMode,
    /// Dropout on (the reference's test behaviour) with `dropout_seed`.
    pub dropout: bool,
    /// Seed of the dropout masks: change it to see variations.
    pub dropout_seed: u64,
    /// How other sizes meet the network.
    pub size: SizeMode,
}

impl Default for InferenceForm {
    fn default() -> Self {
        Self {
            norm: NormMode::BatchStats,
            dropout: false,
            dropout_seed: 0,
            size: SizeMode::TrainedSize,
        }
    }
}

impl InferenceForm {
    /// The worker's options.
    pub fn options(&self) -> TranslateOptions {
        TranslateOptions {
            norm: self.norm,
            dropout_seed: self.dropout.then_some(self.dropout_seed),
            size: self.size,
        }
    }
}
