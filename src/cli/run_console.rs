//! A training run followed from the terminal: the run's device, data and schedule, an
//! indicatif progress bar with the losses, validations and warnings printed above it; Ctrl-C
//! saves and stops.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use anyhow::{Context, bail};
use indicatif::{ProgressBar, ProgressStyle};

use pix2pix_studio::config::RunConfig;
use pix2pix_studio::platform::device::DeviceChoice;
use pix2pix_studio::training::history::ValidationRecord;
use pix2pix_studio::training::metrics::Metrics;
use pix2pix_studio::worker::{Command, Event, Progress, RunInfo, TrainingRequest, WorkerHandle};

use super::next_event;

/// How a run driven from the command line ended.
pub(super) struct Outcome {
    /// Steps done in all.
    pub steps: u64,
    /// Whether it was stopped before its end.
    pub stopped: bool,
    /// Every validation of the run, earlier sessions' included.
    pub validations: Vec<ValidationRecord>,
    /// Seconds from the start of the command to each validation of this session, by step.
    pub validation_secs: Vec<(u64, f64)>,
}

/// Starts a run on the worker and follows it to the end with a progress bar.
pub(super) fn drive_training(
    worker: &WorkerHandle,
    config: RunConfig,
    run_dir: &Path,
    resume: bool,
    device: DeviceChoice,
) -> anyhow::Result<Outcome> {
    install_ctrl_c(worker)?;
    worker.send(Command::StartTraining(Box::new(TrainingRequest {
        config,
        run_dir: run_dir.to_path_buf(),
        resume,
        device,
    })))?;
    let mut console = RunConsole::new();
    loop {
        if let Some(outcome) = console.show(next_event(worker)?)? {
            return Ok(outcome);
        }
    }
}

/// What the terminal shows of a run, and what its outcome collects.
struct RunConsole {
    bar: ProgressBar,
    started: Instant,
    validations: Vec<ValidationRecord>,
    validation_secs: Vec<(u64, f64)>,
    compiling_since: Option<Instant>,
}

impl RunConsole {
    fn new() -> Self {
        Self {
            bar: ProgressBar::hidden(),
            started: Instant::now(),
            validations: Vec::new(),
            validation_secs: Vec::new(),
            compiling_since: None,
        }
    }

    /// Shows one event of the run; its outcome once the run has ended, an error when it failed.
    fn show(&mut self, event: Event) -> anyhow::Result<Option<Outcome>> {
        match event {
            Event::RunStarted(info) => self.run_started(&info)?,
            Event::CompilingKernels => {
                self.compiling_since = Some(Instant::now());
                self.bar.set_message("compiling GPU kernels…");
                self.bar
                    .enable_steady_tick(std::time::Duration::from_secs(1));
            }
            Event::Progress(progress) => self.progress(&progress),
            Event::Validation {
                step,
                metrics,
                pairs,
            } => self.validation(step, metrics, pairs),
            Event::Health { warnings, .. } => {
                for warning in &warnings {
                    self.say(format!("health warning at {warning}"));
                }
            }
            Event::EarlyStopped { step, reason } => self.say(format!("step {step}: {reason}")),
            Event::DataProblem(problem) => {
                self.say(format!(
                    "skipped {}: {}",
                    problem.path.display(),
                    problem.issue
                ));
            }
            Event::Finished { step, stopped } => return Ok(Some(self.finish(step, stopped))),
            Event::Failed { message } => {
                self.bar.finish_and_clear();
                bail!("{message}");
            }
            Event::Rejected { command, reason } => {
                self.bar.finish_and_clear();
                bail!("{command} refused: {reason}");
            }
            Event::CheckpointSaved { .. }
            | Event::Preview { .. }
            | Event::Paused { .. }
            | Event::Resumed { .. }
            | Event::DeviceSelected { .. }
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
        Ok(None)
    }

    /// The device, data and schedule, then the progress bar from where the run stands.
    fn run_started(&mut self, info: &RunInfo) -> anyhow::Result<()> {
        eprintln!("device: {}", info.device);
        if let Some(note) = &info.device_note {
            eprintln!("  ({note})");
        }
        eprintln!("data: {}", info.dataset.summary());
        let resuming = if info.start_step > 0 {
            format!(", resuming at step {}", info.start_step)
        } else {
            String::new()
        };
        eprintln!(
            "{} steps ({} per epoch){resuming}",
            info.total_steps, info.steps_per_epoch
        );
        self.validations = info.history.validations.clone();
        let bar = &self.bar;
        bar.set_length(info.total_steps);
        bar.set_position(info.start_step);
        bar.set_style(
            ProgressStyle::with_template(
                "{bar:30} {pos}/{len} [{elapsed_precise}<{eta_precise}, {per_sec}] {msg}",
            )
            .context("progress bar template")?,
        );
        bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
        bar.reset_eta();
        Ok(())
    }

    /// The bar at the step, with the losses; after the first GPU step, how long it took.
    fn progress(&mut self, progress: &Progress) {
        if let Some(since) = self.compiling_since.take() {
            self.bar.disable_steady_tick();
            self.say(format!(
                "first GPU step: {:.1} s (compiling and tuning kernels; the tuning is kept for \
                 later runs)",
                since.elapsed().as_secs_f64()
            ));
        }
        let l = progress.losses;
        self.bar.set_position(progress.step);
        self.bar.set_message(format!(
            "epoch {}/{} G_GAN {:.3} G_L1 {:.3} D_real {:.3} D_fake {:.3} lr {:.2e}",
            progress.epoch + 1,
            progress.total_epochs,
            l.g_gan,
            l.g_l1,
            l.d_real,
            l.d_fake,
            progress.learning_rate
        ));
    }

    /// A validation's scores, printed and kept for the outcome.
    fn validation(&mut self, step: u64, metrics: Metrics, pairs: usize) {
        self.say(format!(
            "step {step}: validation on {pairs} pairs: L1 {:.4}, PSNR {:.2} dB, SSIM {:.4}",
            metrics.l1, metrics.psnr_db, metrics.ssim
        ));
        self.validations.push(ValidationRecord {
            step,
            epoch: 0.0,
            metrics,
        });
        self.validation_secs
            .push((step, self.started.elapsed().as_secs_f64()));
    }

    fn finish(&mut self, step: u64, stopped: bool) -> Outcome {
        self.bar.finish_and_clear();
        Outcome {
            steps: step,
            stopped,
            validations: std::mem::take(&mut self.validations),
            validation_secs: std::mem::take(&mut self.validation_secs),
        }
    }

    /// Prints a line above the progress bar, or plainly when there is no terminal to draw it on.
    fn say(&self, line: String) {
        if self.bar.is_hidden() {
            eprintln!("{line}");
        } else {
            self.bar.println(line);
        }
    }
}

/// The first Ctrl-C saves a checkpoint and stops; a second one quits at once.
fn install_ctrl_c(worker: &WorkerHandle) -> anyhow::Result<()> {
    static PRESSES: AtomicUsize = AtomicUsize::new(0);
    let commands = worker.command_sender();
    let installed = ctrlc::set_handler(move || {
        if PRESSES.fetch_add(1, Ordering::SeqCst) == 0 {
            eprintln!("\nstopping after this step and saving (Ctrl-C again to quit now)");
            let _ = commands.try_send(Command::Stop);
        } else {
            std::process::exit(130);
        }
    });
    match installed {
        // Already installed in this process (a second run): the first handler stays.
        Ok(()) | Err(ctrlc::Error::MultipleHandlers) => Ok(()),
        Err(err) => Err(err).context("installing the Ctrl-C handler"),
    }
}
