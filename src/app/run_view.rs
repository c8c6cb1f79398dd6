//! The UI's model of a training run, updated from worker events: state, losses, validation
//! metrics, previews and the last checkpoint. Plain data, no egui.

use std::path::PathBuf;

use crate::training::StepLosses;
use crate::training::health::HealthWarning;
use crate::training::metrics::Metrics;
use crate::worker::{Event, Progress, RunInfo, Triplet};

/// Preview sets kept for the slider; older ones are thinned out beyond this.
const MAX_PREVIEW_SETS: usize = 60;

/// Where the run is.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum RunState {
    /// No run in this session.
    #[default]
    Idle,
    /// Asked to start; waiting for the worker.
    Starting,
    /// The first GPU step is compiling kernels.
    CompilingKernels,
    /// Training.
    Training,
    /// Paused after a step.
    Paused,
    /// Asked to stop; the last checkpoint is being written.
    Stopping,
    /// Ended.
    Finished {
        /// Stopped before the end of the schedule.
        stopped: bool,
    },
    /// Failed with a message (also in `last_error`).
    Failed,
}

impl RunState {
    /// Whether the worker is busy with a run (start, pause and resume buttons follow this).
    pub fn is_active(&self) -> bool {
        matches!(
            self,
            RunState::Starting
                | RunState::CompilingKernels
                | RunState::Training
                | RunState::Paused
                | RunState::Stopping
        )
    }

    /// For the status bar.
    pub fn label(&self) -> &'static str {
        match self {
            RunState::Idle => "no run",
            RunState::Starting => "starting",
            RunState::CompilingKernels => "compiling kernels...",
            RunState::Training => "training",
            RunState::Paused => "paused",
            RunState::Stopping => "stopping (saving)",
            RunState::Finished { stopped: true } => "stopped",
            RunState::Finished { stopped: false } => "finished",
            RunState::Failed => "failed",
        }
    }
}

/// One point of the loss curves.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LossPoint {
    /// Epochs done, fractional.
    pub epoch: f64,
    /// The step's losses.
    pub losses: StepLosses,
}

/// The previews of one step.
#[derive(Clone, Debug, PartialEq)]
pub struct PreviewSet {
    /// Steps done when they were made.
    pub step: u64,
    /// One triplet per fixed sample.
    pub triplets: Vec<Triplet>,
}

/// Everything the Train tab shows about the run.
#[derive(Clone, Debug, Default)]
pub struct RunView {
    /// Where the run is.
    pub state: RunState,
    /// What the run reported when it started.
    pub info: Option<Box<RunInfo>>,
    /// The latest progress.
    pub progress: Option<Progress>,
    /// Loss history (resumed runs start with their saved history).
    pub losses: Vec<LossPoint>,
    /// Validation history: epoch and metrics.
    pub validations: Vec<(f64, Metrics)>,
    /// Preview sets, oldest first.
    pub previews: Vec<PreviewSet>,
    /// The last checkpoint written: folder and step.
    pub last_checkpoint: Option<(PathBuf, u64)>,
    /// The last failure or refusal.
    pub last_error: Option<String>,
    /// Pairs the loader had to leave out.
    pub data_problems: Vec<String>,
    /// When the first GPU step started compiling kernels (for the elapsed time shown).
    pub compiling_since: Option<std::time::Instant>,
    /// What the health detectors see now (empty: nothing wrong).
    pub health: Vec<HealthWarning>,
    /// Why the run ended before its schedule, when a rule ended it (early stopping).
    pub end_reason: Option<String>,
}

impl RunView {
    /// Takes a worker event that concerns the run (translation events are not its business).
    /// The event is consumed: previews and a resumed run's history move in without copies.
    pub fn apply(&mut self, event: Event) {
        match event {
            Event::RunStarted(mut info) => {
                // The history lives on as the curves; `info` keeps the rest.
                let history = std::mem::take(&mut info.history);
                // A Stop pressed while the run was starting stays on show until it ends.
                let state = if self.state == RunState::Stopping {
                    RunState::Stopping
                } else {
                    RunState::Training
                };
                *self = RunView {
                    state,
                    losses: history
                        .losses
                        .iter()
                        .map(|record| LossPoint {
                            epoch: record.epoch,
                            losses: record.losses,
                        })
                        .collect(),
                    validations: history
                        .validations
                        .iter()
                        .map(|record| (record.epoch, record.metrics))
                        .collect(),
                    info: Some(info),
                    ..RunView::default()
                };
            }
            Event::CompilingKernels => {
                self.state = RunState::CompilingKernels;
                self.compiling_since = Some(std::time::Instant::now());
            }
            Event::Progress(progress) => {
                if matches!(self.state, RunState::CompilingKernels | RunState::Starting) {
                    self.state = RunState::Training;
                }
                self.losses.push(LossPoint {
                    epoch: self.epoch_at(progress.step),
                    losses: progress.losses,
                });
                self.progress = Some(progress);
            }
            Event::Preview { step, triplets } => {
                self.previews.push(PreviewSet { step, triplets });
                self.thin_previews();
            }
            Event::Validation { step, metrics, .. } => {
                self.validations.push((self.epoch_at(step), metrics));
            }
            Event::Health { warnings, .. } => self.health = warnings,
            Event::EarlyStopped { reason, .. } => self.end_reason = Some(reason),
            Event::DataProblem(problem) => {
                self.data_problems
                    .push(format!("{}: {}", problem.path.display(), problem.issue));
            }
            Event::CheckpointSaved { path, step, .. } => {
                self.last_checkpoint = Some((path, step));
            }
            Event::Paused { .. } => self.state = RunState::Paused,
            Event::Resumed { .. } => self.state = RunState::Training,
            Event::Finished { stopped, .. } => {
                self.state = RunState::Finished { stopped };
            }
            Event::Failed { message } => {
                if self.state.is_active() {
                    self.state = RunState::Failed;
                }
                self.last_error = Some(message);
            }
            Event::Rejected { command, reason } => {
                if self.state == RunState::Starting {
                    self.state = RunState::Idle;
                }
                self.last_error = Some(format!("{command} refused: {reason}"));
            }
            Event::DeviceSelected { .. }
            | Event::TranslateProgress { .. }
            | Event::TileProgress { .. }
            | Event::Translated { .. }
            | Event::TranslateFailed { .. }
            | Event::GalleryListed { .. }
            | Event::CheckpointScored { .. }
            | Event::GalleryScored { .. }
            | Event::Judged { .. }
            | Event::BestChosen { .. } => {}
        }
    }

    /// Epochs done after `step` steps (fractional).
    fn epoch_at(&self, step: u64) -> f64 {
        let per_epoch = self
            .info
            .as_ref()
            .map_or(1, |info| info.steps_per_epoch.max(1));
        step as f64 / per_epoch as f64
    }

    /// Keeps at most `MAX_PREVIEW_SETS`, dropping every second of the older half so the slider
    /// still reaches back to the start.
    fn thin_previews(&mut self) {
        if self.previews.len() <= MAX_PREVIEW_SETS {
            return;
        }
        let older = self.previews.len() / 2;
        let mut index = 0;
        self.previews.retain(|_| {
            let keep = index >= older || index % 2 == 0;
            index += 1;
            keep
        });
    }

    /// The folder of the run, once it started.
    pub fn run_dir(&self) -> Option<&std::path::Path> {
        self.info.as_ref().map(|info| info.run_dir.as_path())
    }

    /// Steps per second, from the smoothed seconds per step.
    pub fn steps_per_sec(&self) -> Option<f64> {
        self.progress
            .filter(|progress| progress.secs_per_step > 0.0)
            .map(|progress| 1.0 / progress.secs_per_step)
    }
}

/// The curves of [`CURVE_NAMES`], `[epoch, value]` per point: exponentially smoothed with weight
/// `smoothing` in [0, 1), and as log10 of the value when `log_scale` (non-positive values are
/// left out there).
pub fn loss_curves(
    points: &[LossPoint],
    smoothing: f64,
    log_scale: bool,
) -> [Vec<[f64; 2]>; CURVE_NAMES.len()] {
    let mut curves: [Vec<[f64; 2]>; CURVE_NAMES.len()] = Default::default();
    let mut smoothed: Option<[f64; CURVE_NAMES.len()]> = None;
    for point in points {
        let l = &point.losses;
        let values = [l.g_gan, l.g_l1, l.d_real, l.d_fake, l.p_real, l.p_fake].map(f64::from);
        let next = match smoothed {
            Some(previous) => {
                std::array::from_fn(|i| smoothing * previous[i] + (1.0 - smoothing) * values[i])
            }
            None => values,
        };
        smoothed = Some(next);
        for (curve, value) in curves.iter_mut().zip(next) {
            if !log_scale {
                curve.push([point.epoch, value]);
            } else if value > 0.0 {
                curve.push([point.epoch, value.log10()]);
            }
        }
    }
    curves
}

/// The names of the curves, in the order of [`loss_curves`]: the four losses, then the
/// discriminator's mean probabilities that real and generated pairs are real.
pub const CURVE_NAMES: [&str; 6] = ["G_GAN", "G_L1", "D_real", "D_fake", "D(x, y)", "D(x, G(x))"];

#[cfg(test)]
mod tests {
    use super::*;

    fn point(epoch: f64, value: f32) -> LossPoint {
        LossPoint {
            epoch,
            losses: StepLosses {
                g_gan: value,
                g_l1: value * 10.0,
                d_real: value,
                d_fake: value,
                p_real: value / 10.0,
                p_fake: value / 20.0,
            },
        }
    }

    #[test]
    fn smoothing_follows_the_exponential_average() {
        let points = [point(0.0, 1.0), point(0.5, 3.0)];
        let curves = loss_curves(&points, 0.5, false);
        assert_eq!(curves[0], vec![[0.0, 1.0], [0.5, 2.0]]);
        assert_eq!(curves[1], vec![[0.0, 10.0], [0.5, 20.0]]);
    }

    #[test]
    fn log_scale_plots_log10_and_drops_zero() {
        let points = [point(0.0, 0.0), point(1.0, 100.0)];
        let curves = loss_curves(&points, 0.0, true);
        assert_eq!(curves[0], vec![[1.0, 2.0]]);
    }
}
