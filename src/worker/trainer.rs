//! A training run: epochs and the learning-rate schedule, fixed preview samples, validation,
//! checkpoints, and a guard that stops a diverging run while its last good checkpoint is kept.
//!
//! The worker owns a [`Trainer`] and calls [`Trainer::step`] between commands, so pause, stop
//! and save are honoured within one step.

use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::tensor::Tensor;
use image::RgbImage;

use super::pending_losses::{PendingLosses, ReadPolicy, StepInfo};
use super::protocol::{Event, Progress, RunInfo, TrainingRequest, Triplet};
use super::run_start;
use super::sink::EventSink;
use crate::config::{GanMode, RunConfig};
use crate::data::convert::{batch_to_tensor, planar_to_image, planar_to_tensor};
use crate::data::loader::{Loader, LoaderMessage, LoaderOptions, Sample, SampleConfig};
use crate::data::{PairEntry, Split};
use crate::error::{Error, Result};
use crate::inference::Translator;
use crate::insight::validation::{
    MAX_VALIDATION_PAIRS, NamedSample, first_image, fixed_samples, generate_tensors, run_dataset,
    score_sample,
};
use crate::insight::verdict::VerdictMap;
use crate::platform::device::SelectedDevice;
use crate::training::checkpoint::{self, CheckpointKind, Counters};
use crate::training::health::{Symptom, diagnose};
use crate::training::history::{History, LossRecord, ValidationRecord};
use crate::training::metrics::Metrics;
use crate::training::queue_train_step;
use crate::training::state::TrainingState;
use crate::util::sheet::sheet;

/// Weight of the newest step in the smoothed seconds-per-step.
const TIMING_SMOOTHING: f64 = 0.1;
/// Steps between readings of the run's health (a scan of the loss history: microseconds).
const HEALTH_EVERY_STEPS: u64 = 25;

/// What a step left to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StepOutcome {
    /// More steps to go.
    Continue,
    /// The schedule (or `max_steps`) is done; the final checkpoint is saved.
    Finished,
    /// Early stopping ended the run, for this reason; the final checkpoint is saved.
    EarlyStopped(String),
}

/// A run in progress.
pub struct Trainer {
    config: RunConfig,
    run_dir: PathBuf,
    state: TrainingState,
    counters: Counters,
    history: History,
    loader: Loader,
    sample_config: SampleConfig,
    steps_per_epoch: usize,
    total_steps: u64,
    previews: Vec<NamedSample>,
    validation: Vec<NamedSample>,
    secs_per_step: Option<f64>,
    on_gpu: bool,
    /// Steps whose losses are still on the device.
    pending: PendingLosses,
    /// What the loader delivered in the epoch going on (since the start, for a resumed one).
    epoch_loads: EpochLoads,
    /// The symptoms last reported by [`Event::Health`].
    health: Vec<Symptom>,
}

/// Batches delivered and pairs skipped in one epoch.
#[derive(Default)]
struct EpochLoads {
    batches: u64,
    skipped: u64,
    first_problem: Option<String>,
}

impl Trainer {
    /// Prepares a run (new or resumed): data, networks, loader, fixed samples, the baseline
    /// validation; reports [`Event::RunStarted`]. `None` when `should_stop` turned true before
    /// the run was ready (it is asked between the slow parts).
    pub fn start(
        request: &TrainingRequest,
        device: &SelectedDevice,
        events: &EventSink,
        should_stop: &dyn Fn() -> bool,
    ) -> Result<Option<Self>> {
        let run_dir = request.run_dir.clone();
        let (config, restored) = run_start::resolve(request, device)?;
        let dataset = run_dataset(&config)?;
        if should_stop() {
            return Ok(None);
        }
        let sample_config = config.sample_config(dataset.synth);
        let (state, counters, history) =
            run_start::initial_state(&config, restored, &run_dir, device)?;
        let train_pairs = dataset.split(Split::Train);
        let loader = spawn_loader(&config, &train_pairs, sample_config, &counters)?;
        let steps_per_epoch = loader.batches_per_epoch();
        let scheduled = (steps_per_epoch * config.schedule.total_epochs()) as u64;
        let total_steps = config
            .intervals
            .max_steps
            .map_or(scheduled, |max| max.min(scheduled));
        let val_pairs = dataset.split(Split::Val);
        let (previews, validation) =
            fixed_pairs(&config, &train_pairs, &val_pairs, &sample_config, events);
        if should_stop() {
            return Ok(None);
        }

        events.send(Event::RunStarted(Box::new(RunInfo {
            run_dir: run_dir.clone(),
            config: config.clone(),
            device: device.info.clone(),
            device_note: device.fallback_reason.clone(),
            dataset: dataset.report.clone(),
            steps_per_epoch,
            total_steps,
            start_step: counters.steps,
            history: history.clone(),
        })));
        let mut trainer = Self {
            config,
            run_dir,
            state,
            counters,
            history,
            loader,
            sample_config,
            steps_per_epoch,
            total_steps,
            previews,
            validation,
            secs_per_step: None,
            on_gpu: !device.is_cpu(),
            pending: PendingLosses::new(ReadPolicy::for_device(!device.is_cpu())),
            epoch_loads: EpochLoads::default(),
            health: Vec::new(),
        };
        if trainer.counters.steps == 0 {
            // The untrained baseline: curves and the quality figure start from it.
            trainer.validate(events, should_stop)?;
            if should_stop() {
                return Ok(None);
            }
        }
        Ok(Some(trainer))
    }

    /// Steps done.
    pub fn steps(&self) -> u64 {
        self.counters.steps
    }

    /// The run folder.
    pub fn run_dir(&self) -> &Path {
        &self.run_dir
    }

    /// Whether the run trains on a GPU.
    pub fn on_gpu(&self) -> bool {
        self.on_gpu
    }

    /// A translator over the current generator weights.
    pub fn translator(&self) -> Translator {
        Translator::from_generator(
            self.state.generator.clone(),
            self.config.data.image_size_px,
            &self.state.device,
        )
    }

    /// Runs one training step, with whatever falls due after it (epoch end, previews,
    /// validation, checkpoints).
    pub fn step(&mut self, events: &EventSink) -> Result<StepOutcome> {
        if self.counters.steps >= self.total_steps {
            self.save(CheckpointKind::Latest, events)?;
            return Ok(StepOutcome::Finished);
        }
        let batch = loop {
            match self.loader.next() {
                Some(LoaderMessage::Batch(batch)) => {
                    self.epoch_loads.batches += 1;
                    break batch;
                }
                Some(LoaderMessage::Skipped(problem)) => {
                    self.epoch_loads.skipped += 1;
                    if self.epoch_loads.first_problem.is_none() {
                        self.epoch_loads.first_problem =
                            Some(format!("{}: {}", problem.path.display(), problem.issue));
                    }
                    events.send(Event::DataProblem(problem));
                }
                Some(LoaderMessage::EpochEnd { epoch }) => {
                    let loads = std::mem::take(&mut self.epoch_loads);
                    if loads.batches == 0 && loads.skipped > 0 {
                        // Every pair failed (deleted or damaged since the run started): going on
                        // would run empty epochs and call the run finished.
                        return Err(Error::NoUsablePairs {
                            path: self.config.data.dataset_dir.clone(),
                            summary: format!(
                                "none of the {} pair(s) of epoch {} could be read (e.g. {}); the \
                                 files changed since the run started. The last good checkpoint \
                                 is kept in {}",
                                loads.skipped,
                                epoch + 1,
                                loads.first_problem.unwrap_or_default(),
                                self.run_dir.display()
                            ),
                        });
                    }
                    if self.end_epoch(epoch, events)? == StepOutcome::Finished {
                        return Ok(StepOutcome::Finished);
                    }
                }
                None => return Err(Error::Backend("the data loader stopped".into())),
            }
        };
        if self.on_gpu && self.secs_per_step.is_none() && self.pending.is_empty() {
            events.send(Event::CompilingKernels);
        }
        self.pending.step_starting(Instant::now());
        let device = self.state.device.clone();
        let input = batch_to_tensor(batch.input, batch.input_shape, &device);
        let target = batch_to_tensor(batch.target, batch.target_shape, &device);
        let learning_rate = self.counters.learning_rate;
        let losses = queue_train_step(&mut self.state, input, target, learning_rate)?;
        self.counters.steps += 1;
        self.counters.batch_in_epoch = batch.index + 1;
        self.counters.generator_optimizer_steps = self.state.generator_optimizer.steps();
        self.counters.discriminator_optimizer_steps = self.state.discriminator_optimizer.steps();
        let info = StepInfo {
            step: self.counters.steps,
            epoch: self.counters.epoch,
            fractional_epoch: self.fractional_epoch(),
            learning_rate,
        };
        self.pending.push(info, losses);

        let steps = self.counters.steps;
        let intervals = self.config.intervals;
        let preview_due = steps.is_multiple_of(intervals.preview_every_steps.max(1)) || steps == 1;
        let validation_due = steps.is_multiple_of(intervals.validate_every_steps.max(1));
        let health_due = steps.is_multiple_of(HEALTH_EVERY_STEPS);
        // Whatever falls due reads the waiting losses first: the history is complete and a
        // diverged run is caught before anything is shown or saved.
        if preview_due || validation_due || health_due || self.pending.due(Instant::now()) {
            self.report_losses(events)?;
        }
        if preview_due {
            self.preview(events)?;
        }
        if validation_due {
            self.validate(events, &|| false)?;
            if let Some(reason) = self.early_stop_reason() {
                self.save(CheckpointKind::Latest, events)?;
                return Ok(StepOutcome::EarlyStopped(reason));
            }
        }
        if health_due {
            self.check_health(events);
        }
        if steps.is_multiple_of(intervals.checkpoint_every_steps.max(1)) {
            self.save(CheckpointKind::Latest, events)?;
        }
        if steps >= self.total_steps {
            if self.counters.batch_in_epoch >= self.steps_per_epoch {
                // The last step ended an epoch: end it now (the loader's epoch-end message would
                // only come with a next step), so the final epoch is kept like every other.
                self.end_epoch(self.counters.epoch, events)?;
            }
            self.save(CheckpointKind::Latest, events)?;
            return Ok(StepOutcome::Finished);
        }
        Ok(StepOutcome::Continue)
    }

    /// Reads the losses still on the device, records them and reports each step's progress;
    /// fails on the first step whose losses are not finite (the run diverged).
    pub fn report_losses(&mut self, events: &EventSink) -> Result<()> {
        let Some(read) = self.pending.read(Instant::now())? else {
            return Ok(());
        };
        let secs_per_step = match self.secs_per_step {
            // The first read holds the first step, with its kernel compilation on a GPU: it
            // starts the mean rather than entering it.
            Some(mean) => mean + TIMING_SMOOTHING * (read.secs_per_step - mean),
            None => read.secs_per_step,
        };
        self.secs_per_step = Some(secs_per_step);
        for (info, losses) in read.steps {
            if !losses.is_finite() {
                return Err(Error::NonFinite(format!(
                    "the losses at step {} ({losses:?}): training diverged; the last good \
                     checkpoint is kept in {} (try a lower learning rate)",
                    info.step,
                    self.run_dir.display()
                )));
            }
            self.history.losses.push(LossRecord {
                step: info.step,
                epoch: info.fractional_epoch,
                losses,
                learning_rate: info.learning_rate,
            });
            events.send(Event::Progress(Progress {
                epoch: info.epoch,
                total_epochs: self.config.schedule.total_epochs(),
                step: info.step,
                total_steps: self.total_steps,
                losses,
                learning_rate: info.learning_rate,
                secs_per_step,
                eta_secs: secs_per_step * self.total_steps.saturating_sub(info.step) as f64,
            }));
        }
        Ok(())
    }

    /// Why early stopping ends the run now, if it does: the validation L1 has not improved
    /// for the run's patience in validations.
    fn early_stop_reason(&self) -> Option<String> {
        let patience = self.config.intervals.early_stop_patience?;
        let since_best = self.history.validations_since_best()?;
        let best = self.history.best_validation()?;
        (since_best >= patience).then(|| {
            format!(
                "early stop: the validation L1 has not improved for {since_best} validations \
                 (best {:.4} at step {}, kept as the best checkpoint)",
                best.metrics.l1, best.step
            )
        })
    }

    /// Reads the run's health from its losses and reports it when what it shows changed.
    fn check_health(&mut self, events: &EventSink) {
        let warnings = diagnose(&self.history, self.config.training.gan_mode);
        let symptoms: Vec<Symptom> = warnings.iter().map(|w| w.symptom).collect();
        if symptoms != self.health {
            self.health = symptoms;
            events.send(Event::Health {
                step: self.counters.steps,
                warnings,
            });
        }
    }

    fn fractional_epoch(&self) -> f64 {
        self.counters.epoch as f64
            + self.counters.batch_in_epoch as f64 / self.steps_per_epoch.max(1) as f64
    }

    /// Epoch `epoch` is done: save, keep every N epochs, move the learning rate.
    fn end_epoch(&mut self, epoch: usize, events: &EventSink) -> Result<StepOutcome> {
        self.counters.epoch = epoch + 1;
        self.counters.batch_in_epoch = 0;
        self.counters.learning_rate = self
            .config
            .schedule
            .learning_rate(self.config.training.learning_rate, self.counters.epoch);
        let keep_every = self.config.intervals.keep_every_epochs.max(1);
        if (epoch + 1).is_multiple_of(keep_every) {
            self.save(CheckpointKind::Kept, events)?;
        }
        self.save(CheckpointKind::Latest, events)?;
        if self.counters.epoch >= self.config.schedule.total_epochs() {
            return Ok(StepOutcome::Finished);
        }
        Ok(StepOutcome::Continue)
    }

    /// Writes a checkpoint and reports it, after reading the losses still on the device (a
    /// diverged run is not saved).
    pub fn save(&mut self, kind: CheckpointKind, events: &EventSink) -> Result<PathBuf> {
        self.report_losses(events)?;
        let path = checkpoint::save(
            &self.run_dir,
            &self.config,
            &self.state,
            &self.counters,
            &self.history,
            kind,
        )?;
        events.send(Event::CheckpointSaved {
            path: path.clone(),
            step: self.counters.steps,
            kind,
        });
        Ok(path)
    }

    /// The sample's input, and the generator's output for it, on the run's device.
    fn generate_tensors(&self, sample: &Sample) -> Result<(Tensor<4>, Tensor<4>)> {
        generate_tensors(
            &burn::module::Module::valid(&self.state.generator),
            sample,
            self.sample_config.input_channels,
            &self.state.device.clone().inner(),
        )
    }

    /// The discriminator's verdicts on a preview sample's generated and real pair; none for a
    /// run without a GAN term.
    fn judge(
        &self,
        sample: &Sample,
        input: Tensor<4>,
        generated: Tensor<4>,
    ) -> Result<Option<(VerdictMap, VerdictMap)>> {
        let gan_mode = self.config.training.gan_mode;
        if gan_mode == GanMode::Off {
            return Ok(None);
        }
        let channels = self.sample_config.output_channels;
        let target = planar_to_tensor(
            vec![sample.target.clone()],
            [channels, sample.height, sample.width],
            &self.state.device.clone().inner(),
        );
        let discriminator = &self.state.discriminator;
        let fake = VerdictMap::compute(discriminator, input.clone(), generated, gan_mode)?;
        let real = VerdictMap::compute(discriminator, input, target, gan_mode)?;
        Ok(Some((fake, real)))
    }

    fn preview(&self, events: &EventSink) -> Result<()> {
        if self.previews.is_empty() {
            return Ok(());
        }
        let mut triplets = Vec::with_capacity(self.previews.len());
        for fixed in &self.previews {
            let sample = &fixed.sample;
            let (input_tensor, output) = self.generate_tensors(sample)?;
            let verdicts = self.judge(sample, input_tensor, output.clone())?;
            let generated = first_image(output)?;
            let (height, width) = (sample.height, sample.width);
            let input = planar_to_image(
                &sample.input,
                self.sample_config.input_channels,
                height,
                width,
            );
            let target = planar_to_image(
                &sample.target,
                self.sample_config.output_channels,
                height,
                width,
            );
            let (verdict_generated, verdict_real) = verdicts.unzip();
            triplets.push(Triplet {
                name: fixed.name.clone(),
                input: input.to_rgb8(),
                generated: generated.to_rgb8(),
                target: target.to_rgb8(),
                verdict_generated,
                verdict_real,
            });
        }
        let path = self
            .run_dir
            .join("previews")
            .join(format!("step_{:08}.png", self.counters.steps));
        save_grid(&path, &triplets)?;
        events.send(Event::Preview {
            step: self.counters.steps,
            triplets,
        });
        Ok(())
    }

    /// Scores the validation pairs and records the result; gives up without a record when
    /// `should_stop` turns true.
    fn validate(&mut self, events: &EventSink, should_stop: &dyn Fn() -> bool) -> Result<()> {
        if self.validation.is_empty() {
            return Ok(());
        }
        let generator = burn::module::Module::valid(&self.state.generator);
        let device = self.state.device.clone().inner();
        let mut all = Vec::with_capacity(self.validation.len());
        for fixed in &self.validation {
            if should_stop() {
                return Ok(());
            }
            let (_, metrics) =
                score_sample(&generator, &fixed.sample, &self.sample_config, &device)?;
            all.push(metrics);
        }
        let metrics = Metrics::mean(&all);
        let improved = self
            .history
            .best_val_l1()
            .is_none_or(|best| metrics.l1 < best);
        self.history.validations.push(ValidationRecord {
            step: self.counters.steps,
            epoch: self.fractional_epoch(),
            metrics,
        });
        events.send(Event::Validation {
            step: self.counters.steps,
            metrics,
            pairs: all.len(),
        });
        if improved && self.counters.steps > 0 {
            self.save(CheckpointKind::Best, events)?;
        }
        Ok(())
    }
}

/// The loader of the training split, from where the run stands (a resumed run goes on within
/// its epoch).
fn spawn_loader(
    config: &RunConfig,
    train_pairs: &[PairEntry],
    sample_config: SampleConfig,
    counters: &Counters,
) -> Result<Loader> {
    Loader::spawn(
        train_pairs.to_vec(),
        sample_config,
        LoaderOptions {
            batch_size: config.data.batch_size,
            shuffle: config.data.shuffle,
            seed: config.training.seed,
            start_epoch: counters.epoch,
            start_batch: counters.batch_in_epoch,
            prefetch: 4,
        },
    )
}

/// The run's fixed samples: preview pairs (validation pairs when there are any, else the first
/// training pairs) and the validation pairs; pairs that cannot be read are reported and left out.
fn fixed_pairs(
    config: &RunConfig,
    train_pairs: &[PairEntry],
    val_pairs: &[PairEntry],
    sample_config: &SampleConfig,
    events: &EventSink,
) -> (Vec<NamedSample>, Vec<NamedSample>) {
    let preview_pairs = if val_pairs.is_empty() {
        train_pairs
    } else {
        val_pairs
    };
    let (previews, preview_problems) = fixed_samples(
        preview_pairs,
        config.intervals.preview_samples,
        sample_config,
    );
    let (validation, validation_problems) =
        fixed_samples(val_pairs, MAX_VALIDATION_PAIRS, sample_config);
    for problem in preview_problems.into_iter().chain(validation_problems) {
        events.send(Event::DataProblem(problem));
    }
    (previews, validation)
}

/// Writes preview triplets as one PNG: a row per sample, input | generated | target.
fn save_grid(path: &Path, triplets: &[Triplet]) -> Result<()> {
    if triplets.is_empty() {
        return Ok(());
    }
    let rows: Vec<Vec<&RgbImage>> = triplets
        .iter()
        .map(|triplet| vec![&triplet.input, &triplet.generated, &triplet.target])
        .collect();
    let grid = sheet(&rows);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|err| Error::io(dir, err))?;
    }
    let mut bytes = Vec::new();
    grid.write_to(
        &mut std::io::Cursor::new(&mut bytes),
        image::ImageFormat::Png,
    )
    .map_err(|err| Error::Image {
        path: path.to_path_buf(),
        reason: format!("could not encode: {err}"),
    })?;
    crate::platform::fs::write_atomic(path, &bytes)
}
