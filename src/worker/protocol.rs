//! The commands the GUI and the CLI send to the worker, and the events it sends back. Only plain
//! data crosses: configs, paths, numbers, strings and 8-bit images.

use std::path::PathBuf;

use image::{DynamicImage, RgbImage};

use crate::config::RunConfig;
use crate::data::report::{Problem, Report};
use crate::inference::{ModelSource, TranslateOptions};
use crate::insight::gallery::{CheckpointEntry, CheckpointScore, GalleryHeader};
use crate::insight::verdict::VerdictMap;
use crate::platform::device::{DeviceChoice, DeviceInfo};
use crate::training::StepLosses;
use crate::training::checkpoint::CheckpointKind;
use crate::training::health::HealthWarning;
use crate::training::history::History;
use crate::training::metrics::Metrics;

/// How the worker runs (set when it is spawned).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WorkerOptions {
    /// Train and score checkpoints on threads of the lowest priority, so a window stays
    /// responsive and translations (at the caller's priority) go first. The app sets it; the
    /// CLI works at its own priority.
    pub background_priority: bool,
    /// Threads of those background pools; `None`: rayon's default (one per logical CPU).
    pub background_threads: Option<usize>,
}

/// What to train and where.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainingRequest {
    /// The run's configuration. When resuming, the run's own `config.json` is used except for
    /// the schedule and the intervals, taken from here (and the dataset folder, if it moved).
    pub config: RunConfig,
    /// The run folder: config, checkpoints, previews.
    pub run_dir: PathBuf,
    /// Continue from the run folder's latest checkpoint.
    pub resume: bool,
    /// Where to compute.
    pub device: DeviceChoice,
}

/// Images to translate.
#[derive(Clone, Debug, PartialEq)]
pub enum TranslateInputs {
    /// Images in memory (a sketch, a picked file); results come back in the event.
    Images(Vec<DynamicImage>),
    /// Files, written as PNGs to `output_dir` named by [`crate::inference::output_names`]; progress is
    /// reported.
    Files {
        /// The inputs: images, or folders standing for the images in them.
        paths: Vec<PathBuf>,
        /// Where results go.
        output_dir: PathBuf,
        /// The whole job the output names are chosen over, of which `paths` is a shard (images
        /// or folders), so every shard names alike; `None`: `paths` is the whole job.
        names_from: Option<Vec<PathBuf>>,
        /// Video frames: normalise every file with statistics pooled over this sequence
        /// (images or folders; the whole sequence, of which `paths` may be a shard) so the
        /// frames do not flicker. `None`: each image its own normalisation.
        shared_statistics_from: Option<Vec<PathBuf>>,
    },
}

/// A translation job.
#[derive(Clone, Debug, PartialEq)]
pub struct TranslateRequest {
    /// Echoed in the events about it (the GUI keeps the newest).
    pub id: u64,
    /// The generator to use; `None` means the run being trained.
    pub model: Option<ModelSource>,
    /// The images.
    pub inputs: TranslateInputs,
    /// Normalisation, dropout and size handling.
    pub options: TranslateOptions,
    /// Where to load the model (a run being trained translates on its own device).
    pub device: DeviceChoice,
}

/// Score every checkpoint of a run for the gallery.
#[derive(Clone, Debug, PartialEq)]
pub struct GalleryRequest {
    /// Echoed in the events about it.
    pub id: u64,
    /// The run folder.
    pub run_dir: PathBuf,
    /// Where to load the checkpoints.
    pub device: DeviceChoice,
}

/// Judge (input, output) pairs with a trained discriminator.
#[derive(Clone, Debug, PartialEq)]
pub struct JudgeRequest {
    /// Echoed in the events about it.
    pub id: u64,
    /// A run folder (its latest discriminator) or a checkpoint folder.
    pub model: PathBuf,
    /// The pairs: an input and the output made of it.
    pub pairs: Vec<(DynamicImage, DynamicImage)>,
    /// Where to load the discriminator.
    pub device: DeviceChoice,
}

/// Commands to the worker.
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    /// Start (or resume) a training run. Rejected while one is running.
    StartTraining(Box<TrainingRequest>),
    /// Pause the run after the current step.
    Pause,
    /// Continue a paused run.
    Resume,
    /// Save the latest checkpoint and end the run.
    Stop,
    /// Save the latest checkpoint now and go on.
    SaveCheckpoint,
    /// Translate images (also while training, between steps).
    Translate(Box<TranslateRequest>),
    /// Score a run's checkpoints for the gallery (beside training, like translations).
    ScoreCheckpoints(GalleryRequest),
    /// Judge pairs with a run's discriminator (beside training, like translations).
    Judge(Box<JudgeRequest>),
    /// Make a checkpoint the run's best; refused for the run being trained (its validations
    /// choose its best).
    MakeBest {
        /// The run folder.
        run_dir: PathBuf,
        /// One of its checkpoint folders.
        checkpoint: PathBuf,
        /// The checkpoint's validation L1, when scored.
        val_l1: Option<f64>,
    },
    /// Find the device for a choice (the GPU probe can take seconds: it runs here, not on the
    /// UI thread) and report it with [`Event::DeviceSelected`].
    SelectDevice(DeviceChoice),
    /// Save (if training) and end the worker thread.
    Shutdown,
}

/// What a run reports when it starts.
#[derive(Clone, Debug, PartialEq)]
pub struct RunInfo {
    /// The run folder.
    pub run_dir: PathBuf,
    /// The configuration in effect.
    pub config: RunConfig,
    /// The device.
    pub device: DeviceInfo,
    /// Why the GPU was not used, when it was looked for.
    pub device_note: Option<String>,
    /// The dataset's validation report.
    pub dataset: Report,
    /// Batches per epoch.
    pub steps_per_epoch: usize,
    /// Steps the run will take in all.
    pub total_steps: u64,
    /// Steps already done (non-zero when resumed).
    pub start_step: u64,
    /// The history so far (empty unless resumed), so curves continue.
    pub history: History,
}

/// The device a choice resolved to.
#[derive(Clone, Debug, PartialEq)]
pub struct DeviceReport {
    /// What it is.
    pub info: DeviceInfo,
    /// Why a GPU was not used, when `auto` looked for one.
    pub fallback_reason: Option<String>,
}

/// One training step's report.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Progress {
    /// The epoch in progress (0-based).
    pub epoch: usize,
    /// Epochs in the run.
    pub total_epochs: usize,
    /// Steps done.
    pub step: u64,
    /// Steps in the run.
    pub total_steps: u64,
    /// The losses of this step.
    pub losses: StepLosses,
    /// The learning rate used.
    pub learning_rate: f64,
    /// Seconds per step, smoothed.
    pub secs_per_step: f64,
    /// Seconds to the end, at that pace.
    pub eta_secs: f64,
}

/// Input, generated and target images of one fixed sample.
#[derive(Clone, Debug, PartialEq)]
pub struct Triplet {
    /// The sample's file name.
    pub name: String,
    /// The input.
    pub input: RgbImage,
    /// What the generator made of it.
    pub generated: RgbImage,
    /// The target.
    pub target: RgbImage,
    /// The discriminator's verdicts on (input, generated); none without a GAN term.
    pub verdict_generated: Option<VerdictMap>,
    /// Its verdicts on (input, target), the real pair.
    pub verdict_real: Option<VerdictMap>,
}

/// Events from the worker.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// A run started (or resumed).
    RunStarted(Box<RunInfo>),
    /// The device for a [`Command::SelectDevice`] choice was looked for.
    DeviceSelected {
        /// The choice.
        choice: DeviceChoice,
        /// The device, or why the choice cannot be honoured (`gpu` without a working one).
        outcome: Result<DeviceReport, String>,
    },
    /// The first step on a GPU compiles its kernels: seconds to a minute without progress.
    CompilingKernels,
    /// A step finished (may be dropped when the receiver is slow).
    Progress(Progress),
    /// New previews of the fixed samples (may be dropped).
    Preview {
        /// Steps done.
        step: u64,
        /// The triplets.
        triplets: Vec<Triplet>,
    },
    /// Validation metrics.
    Validation {
        /// Steps done.
        step: u64,
        /// Mean over the validation pairs.
        metrics: Metrics,
        /// Pairs compared.
        pairs: usize,
    },
    /// What the run's health detectors see changed (an empty list: healthy again).
    Health {
        /// Steps done.
        step: u64,
        /// The symptoms seen now, with their evidence.
        warnings: Vec<HealthWarning>,
    },
    /// Early stopping ends the run (a [`Event::Finished`] with `stopped` follows).
    EarlyStopped {
        /// Steps done.
        step: u64,
        /// Why, with the best validation and its step.
        reason: String,
    },
    /// A pair could not be loaded and was left out.
    DataProblem(Problem),
    /// A checkpoint was written.
    CheckpointSaved {
        /// Its folder.
        path: PathBuf,
        /// Steps done.
        step: u64,
        /// Why.
        kind: CheckpointKind,
    },
    /// The run paused.
    Paused {
        /// Steps done.
        step: u64,
    },
    /// The run continues.
    Resumed {
        /// Steps done.
        step: u64,
    },
    /// The run ended.
    Finished {
        /// Steps done.
        step: u64,
        /// Whether it was stopped before the end of its schedule.
        stopped: bool,
    },
    /// Progress of a file translation job.
    TranslateProgress {
        /// The request.
        id: u64,
        /// Images done.
        done: usize,
        /// Images in all.
        total: usize,
    },
    /// Progress through the tiles of a large image being translated.
    TileProgress {
        /// The request.
        id: u64,
        /// Tiles done (both passes).
        done: usize,
        /// Tiles in all.
        total: usize,
    },
    /// A translation job finished.
    Translated {
        /// The request.
        id: u64,
        /// For in-memory inputs: the outputs, in order.
        images: Vec<DynamicImage>,
        /// For files: each input with where its output went, or why it failed.
        files: Vec<(PathBuf, Result<PathBuf, String>)>,
        /// Wall time of the job, in milliseconds.
        millis: u64,
    },
    /// A gallery request found these checkpoints (scores follow, one event each).
    GalleryListed {
        /// The request.
        id: u64,
        /// The run's checkpoints, oldest first.
        checkpoints: Vec<CheckpointEntry>,
        /// The pairs they are scored on.
        header: Box<GalleryHeader>,
    },
    /// A checkpoint of a gallery request was scored.
    CheckpointScored {
        /// The request.
        id: u64,
        /// The checkpoint's place in [`Event::GalleryListed`]'s list.
        index: usize,
        /// Its score, or why it could not be scored.
        score: Result<Box<CheckpointScore>, String>,
    },
    /// Every checkpoint of a gallery request was scored.
    GalleryScored {
        /// The request.
        id: u64,
        /// Wall time of the job, in milliseconds.
        millis: u64,
    },
    /// Pairs were judged.
    Judged {
        /// The request.
        id: u64,
        /// One map per pair, in order.
        maps: Vec<VerdictMap>,
    },
    /// A checkpoint became the run's best.
    BestChosen {
        /// The run folder.
        run_dir: PathBuf,
        /// The checkpoint.
        checkpoint: PathBuf,
    },
    /// A job of the translation thread could not run (no model, a model that does not load, an
    /// image that does not fit, a run without its dataset): a translation, a gallery or a
    /// judgement.
    TranslateFailed {
        /// The request.
        id: u64,
        /// Why, with the cause chain.
        message: String,
    },
    /// A command that does not apply now (e.g. Pause with no run).
    Rejected {
        /// The command.
        command: String,
        /// Why.
        reason: String,
    },
    /// Something failed; the message has the cause chain.
    Failed {
        /// What failed and why.
        message: String,
    },
}

impl Event {
    /// Whether the event may be dropped when the receiver is behind (progress and previews);
    /// lifecycle events are always delivered.
    pub fn is_droppable(&self) -> bool {
        matches!(
            self,
            Event::Progress(_)
                | Event::Preview { .. }
                | Event::TranslateProgress { .. }
                | Event::TileProgress { .. }
        )
    }
}
