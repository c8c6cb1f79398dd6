//! The settings the app keeps across launches (tab, dataset, training form, model choices,
//! brush) and how the training form becomes a `RunConfig`.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::{RunConfig, RunOptions};
use crate::data::{Direction, LayoutHint};
use crate::inference::drawing_frame::DrawingFrame;
use crate::inference::tiling::Tiling;
use crate::inference::{ModelSource, SizeMode, TranslateOptions};
use crate::model::NormMode;
use crate::platform::bundled::{self, DemoModel};
use crate::platform::device::DeviceChoice;

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
    /// A run's checkpoints scored side by side.
    Checkpoints,
    /// Several runs' curves and options overlaid.
    Compare,
}

impl Tab {
    /// All tabs in order.
    pub const ALL: [Tab; 6] = [
        Tab::Data,
        Tab::Train,
        Tab::Translate,
        Tab::Sketch,
        Tab::Checkpoints,
        Tab::Compare,
    ];

    /// The tab's title.
    pub fn title(self) -> &'static str {
        match self {
            Tab::Data => "Data",
            Tab::Train => "Train",
            Tab::Translate => "Translate",
            Tab::Sketch => "Sketch",
            Tab::Checkpoints => "Checkpoints",
            Tab::Compare => "Compare",
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
    /// The shipped model the Sketch tab uses when its choice is the demo.
    pub sketch_demo: DemoModel,
    /// Frame a drawing as the chosen model's training drawings were before translating it.
    pub fit_drawing: bool,
    /// Brush diameter on the sketch canvas, in canvas pixels.
    pub brush_px: f32,
    /// Draw label maps in the facade palette instead of black lines.
    pub palette_mode: bool,
    /// The run folder of the Checkpoints tab, as typed or picked.
    pub gallery_run: String,
    /// The run folders of the Compare tab.
    pub compare_runs: Vec<String>,
}

impl Default for Settings {
    /// First launch: the Sketch tab with the shoes model (it travels inside the binary) and its
    /// pen; the bundled sketches selected for training, the Quick preset.
    fn default() -> Self {
        let samples = bundled::sample_pairs_dir();
        let dataset_dir = samples
            .as_ref()
            .map(|dir| dir.join("sketches").display().to_string())
            .unwrap_or_default();
        Self {
            tab: Tab::Sketch,
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
            sketch_demo: DemoModel::default(),
            fit_drawing: true,
            brush_px: DemoModel::default().pen_px(),
            palette_mode: false,
            gallery_run: String::new(),
            compare_runs: Vec::new(),
        }
    }
}

impl Settings {
    /// The frame the Sketch tab's model was trained in, where it is known (a shipped model's,
    /// see [`DrawingFrame::of_demo`]); whether drawings are fitted to it is `fit_drawing`.
    pub fn sketch_frame(&self) -> Option<DrawingFrame> {
        match self.sketch_model.choice {
            ModelChoice::Demo => DrawingFrame::of_demo(self.sketch_demo),
            ModelChoice::CurrentRun | ModelChoice::Checkpoint | ModelChoice::Weights => None,
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

/// The Train tab's form: a preset, the device, and the run options it edits.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TrainForm {
    /// The preset the values came from (Custom once edited).
    pub preset: Preset,
    /// Where to compute.
    pub device: DeviceChoice,
    /// Every option of the run.
    pub options: RunOptions,
}

impl Default for TrainForm {
    fn default() -> Self {
        Self::quick()
    }
}

impl TrainForm {
    /// The Quick preset ([`RunOptions::quick`]).
    pub fn quick() -> Self {
        Self {
            preset: Preset::Quick,
            device: DeviceChoice::Auto,
            options: RunOptions::quick(),
        }
    }

    /// The paper's configuration (the reference's defaults for pix2pix).
    pub fn paper() -> Self {
        Self {
            preset: Preset::Paper,
            device: DeviceChoice::Auto,
            options: RunOptions::default(),
        }
    }

    /// The form of a preset, keeping the device, channels and seed.
    pub fn with_preset(&self, preset: Preset) -> Self {
        let mut form = match preset {
            Preset::Quick => Self::quick(),
            Preset::Paper => Self::paper(),
            Preset::Custom => {
                return Self {
                    preset,
                    ..self.clone()
                };
            }
        };
        form.device = self.device;
        form.options.input_channels = self.options.input_channels;
        form.options.output_channels = self.options.output_channels;
        form.options.seed = self.options.seed;
        form
    }

    /// The run this form describes on `dataset_dir`; a photo task sets the channels itself.
    pub fn run_config(
        &self,
        dataset_dir: &Path,
        direction: Direction,
        layout: LayoutHint,
    ) -> RunConfig {
        let mut options = self.options.clone();
        if let LayoutHint::Photos(task) = layout {
            (options.input_channels, options.output_channels) = task.channels();
        }
        options.run_config(dataset_dir, direction, layout)
    }
}

/// Which generator a tab uses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ModelChoice {
    /// A model built into the binary: `Settings::sketch_demo` in the Sketch tab, the
    /// sketches model in the Translate tab.
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
            ModelChoice::Demo => Ok(Some(ModelSource::Demo(demo))),
            ModelChoice::CurrentRun => match current_run {
                CurrentRun::Training => Ok(None),
                CurrentRun::Finished(dir) => Ok(Some(ModelSource::RunDir(dir.to_path_buf()))),
                CurrentRun::None => Err("no run yet: train one, or pick a checkpoint".into()),
            },
            ModelChoice::Checkpoint => {
                let dir = non_empty(&self.checkpoint_dir, "a run or checkpoint folder")?;
                ModelSource::from_path(&dir)
                    .map(Some)
                    .map_err(|err| err.to_string())
            }
            ModelChoice::Weights => {
                let path = non_empty(&self.weights_path, "a .pth or .safetensors file")?;
                Ok(Some(ModelSource::Weights {
                    path,
                    architecture: None,
                }))
            }
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
            // Large images at their own size are tiled: memory stays bounded.
            tiling: Tiling::Auto,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_survive_a_round_trip_and_missing_fields_take_defaults() {
        let mut settings = Settings::default();
        settings.tab = Tab::Sketch;
        settings.train = settings.train.with_preset(Preset::Paper);
        settings.train.options.seed = 7;
        settings.sketch_model.choice = ModelChoice::Weights;
        let text = serde_json::to_string(&settings).unwrap_or_default();
        let back: Settings = serde_json::from_str(&text).unwrap_or_default();
        assert_eq!(back, settings);
        // A settings file from an older version (fields missing) keeps what it has.
        let old: Settings =
            serde_json::from_str(r#"{"tab": "Train", "brush_px": 9.0}"#).unwrap_or_default();
        assert_eq!((old.tab, old.brush_px), (Tab::Train, 9.0));
        assert_eq!(old.train, TrainForm::quick());
    }

    #[test]
    fn presets_keep_the_device_channels_and_seed() {
        let mut form = TrainForm::quick();
        form.device = DeviceChoice::Cpu;
        form.options.input_channels = 1;
        form.options.seed = 3;
        let paper = form.with_preset(Preset::Paper);
        assert_eq!(paper.options.image_size_px, 256);
        assert_eq!(paper.options.num_downs, 8);
        assert_eq!(
            (
                paper.device,
                paper.options.input_channels,
                paper.options.seed
            ),
            (DeviceChoice::Cpu, 1, 3)
        );
        let config = paper.run_config(Path::new("data"), Direction::AtoB, LayoutHint::Auto);
        assert!(config.validate().is_ok());
        let colourise = LayoutHint::Photos(crate::data::SynthTask::Colorize);
        let config = form.run_config(Path::new("photos"), Direction::AtoB, colourise);
        assert_eq!(config.training.generator.input_channels, 1);
        assert_eq!(config.training.generator.output_channels, 3);
    }
}
