//! `train` (every option under the reference's name where it has one) and `quality`, both
//! through the worker, with an indicatif progress bar; Ctrl-C saves and stops.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use anyhow::{Context, bail};
use indicatif::{ProgressBar, ProgressStyle};

use pix2pix_studio::config::{
    DataConfig, GanMode, Intervals, RunConfig, RunOptions, TrainingConfig,
};
use pix2pix_studio::data::augment::reference_load_size;
use pix2pix_studio::data::{Direction, LayoutHint, Preprocess, SynthTask};
use pix2pix_studio::device::DeviceChoice;
use pix2pix_studio::model::blocks::NormKind;
use pix2pix_studio::model::{PatchDiscriminatorConfig, UnetGeneratorConfig};
use pix2pix_studio::training::history::ValidationRecord;
use pix2pix_studio::training::metrics::Metrics;
use pix2pix_studio::training::schedule::{LrPolicy, PolicyKind, Schedule};
use pix2pix_studio::worker::{Command, Event, TrainingRequest, WorkerHandle};

use super::{next_event, spawn_worker};

/// Options of `train`.
#[derive(Debug, clap::Args)]
pub struct TrainArgs {
    /// The dataset folder (any layout `inspect` recognises).
    #[arg(long = "dataroot", visible_alias = "data")]
    pub dataroot: PathBuf,
    /// The run folder: config.json, checkpoints/, previews/.
    #[arg(long, short = 'o', visible_alias = "output")]
    pub run_dir: PathBuf,
    /// Continue the run in the run folder from its latest checkpoint.
    #[arg(long)]
    pub resume: bool,
    /// Which side is the input.
    #[arg(long, default_value = "AtoB")]
    pub direction: Direction,
    /// Make pairs from plain photos: colorize, edges-to-photo, photo-to-edges.
    #[arg(long)]
    pub synth: Option<SynthTask>,
    /// Treat every image as input|target side by side, however narrow.
    #[arg(long, conflicts_with = "synth")]
    pub side_by_side: bool,
    /// Input channels, 1 or 3 (default: 3, or the synthesis task's).
    #[arg(long = "input_nc")]
    pub input_nc: Option<usize>,
    /// Output channels, 1 or 3 (default: 3, or the synthesis task's).
    #[arg(long = "output_nc")]
    pub output_nc: Option<usize>,
    /// Generator: unet_256, unet_128, or auto (the depth that fits crop_size).
    #[arg(long = "netG", default_value = "auto", value_parser = ["auto", "unet_256", "unet_128"])]
    pub net_g: String,
    /// U-Net depth, overriding netG (at least 5).
    #[arg(long = "num_downs")]
    pub num_downs: Option<usize>,
    /// Generator filters in the first layer.
    #[arg(long, default_value_t = 64)]
    pub ngf: usize,
    /// Discriminator filters in the first layer.
    #[arg(long, default_value_t = 64)]
    pub ndf: usize,
    /// Discriminator: basic (70×70 PatchGAN), n_layers (n_layers_D), pixel (1×1).
    #[arg(long = "netD", default_value = "basic", value_parser = ["basic", "n_layers", "pixel"])]
    pub net_d: String,
    /// Stride-2 layers of the n_layers discriminator (1 = 16×16, 3 = 70×70, 5 = 286×286).
    #[arg(long = "n_layers_D", default_value_t = 3)]
    pub n_layers_d: usize,
    /// Normalisation: batch, instance or none.
    #[arg(long, default_value = "batch", value_parser = ["batch", "instance", "none"])]
    pub norm: String,
    /// No dropout in the generator.
    #[arg(long = "no_dropout")]
    pub no_dropout: bool,
    /// No U-Net skip connections (the paper's encoder-decoder).
    #[arg(long = "no_skips")]
    pub no_skips: bool,
    /// Adversarial loss: vanilla, lsgan, or none (L1 only).
    #[arg(long = "gan_mode", default_value = "vanilla", value_parser = ["vanilla", "lsgan", "none"])]
    pub gan_mode: String,
    /// Weight of the L1 loss (0: GAN only).
    #[arg(long = "lambda_L1", default_value_t = 100.0)]
    pub lambda_l1: f64,
    /// Adam learning rate.
    #[arg(long, default_value_t = 2e-4)]
    pub lr: f64,
    /// Adam beta1.
    #[arg(long, default_value_t = 0.5)]
    pub beta1: f64,
    /// Learning-rate policy: linear, constant, step, cosine.
    #[arg(long = "lr_policy", default_value = "linear", value_parser = ["linear", "constant", "step", "cosine"])]
    pub lr_policy: String,
    /// Epochs between decays of the step policy (x 0.1 each).
    #[arg(long = "lr_decay_iters", default_value_t = 50)]
    pub lr_decay_iters: usize,
    /// Epochs at the starting learning rate.
    #[arg(long = "n_epochs", default_value_t = 100)]
    pub n_epochs: usize,
    /// Epochs of linear decay to zero after that.
    #[arg(long = "n_epochs_decay", default_value_t = 100)]
    pub n_epochs_decay: usize,
    /// Pairs per batch.
    #[arg(long = "batch_size", default_value_t = 1)]
    pub batch_size: usize,
    /// Training size (a multiple of 2^num_downs).
    #[arg(long = "crop_size", default_value_t = 256)]
    pub crop_size: u32,
    /// Size before cropping (default: crop_size × 286 / 256).
    #[arg(long = "load_size")]
    pub load_size: Option<u32>,
    /// Preprocessing: resize_and_crop, crop, scale_width, scale_width_and_crop, none.
    #[arg(long, default_value = "resize_and_crop", value_parser = ["resize_and_crop", "crop", "scale_width", "scale_width_and_crop", "none"])]
    pub preprocess: String,
    /// No random flips.
    #[arg(long = "no_flip")]
    pub no_flip: bool,
    /// Take pairs in order instead of shuffling.
    #[arg(long = "serial_batches")]
    pub serial_batches: bool,
    /// Seed of the weights, shuffles, augmentation and dropout.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Epochs between checkpoints kept for good.
    #[arg(long = "save_epoch_freq", default_value_t = 5)]
    pub save_epoch_freq: usize,
    /// Steps between preview PNGs.
    #[arg(long, default_value_t = 100)]
    pub preview_every: u64,
    /// Steps between validations.
    #[arg(long, default_value_t = 500)]
    pub validate_every: u64,
    /// Steps between saves of the latest checkpoint.
    #[arg(long, default_value_t = 1000)]
    pub checkpoint_every: u64,
    /// Stop after this many steps in all.
    #[arg(long)]
    pub max_steps: Option<u64>,
}

impl TrainArgs {
    /// The run configuration these options describe.
    pub fn run_config(&self) -> anyhow::Result<RunConfig> {
        let synth_channels = self.synth.map(SynthTask::channels);
        let num_downs = match (self.num_downs, self.net_g.as_str()) {
            (Some(depth), _) => depth,
            (None, "unet_256") => 8,
            (None, "unet_128") => 7,
            // auto: the U-Net whose bottleneck is 1×1 at the training size, at least 5 deep.
            (None, _) => (self.crop_size.max(1).ilog2() as usize).max(5),
        };
        let options = RunOptions {
            image_size_px: self.crop_size,
            load_size_px: self
                .load_size
                .unwrap_or_else(|| reference_load_size(self.crop_size)),
            num_downs,
            ngf: self.ngf,
            ndf: self.ndf,
            n_layers_d: match self.net_d.as_str() {
                "pixel" => 0,
                "n_layers" => self.n_layers_d,
                _ => 3,
            },
            norm: match self.norm.as_str() {
                "instance" => NormKind::Instance,
                "none" => NormKind::None,
                _ => NormKind::Batch,
            },
            dropout: !self.no_dropout,
            skips: !self.no_skips,
            input_channels: self.input_nc.or(synth_channels.map(|c| c.0)).unwrap_or(3),
            output_channels: self.output_nc.or(synth_channels.map(|c| c.1)).unwrap_or(3),
            gan_mode: match self.gan_mode.as_str() {
                "lsgan" => GanMode::Lsgan,
                "none" => GanMode::Off,
                _ => GanMode::Vanilla,
            },
            lambda_l1: self.lambda_l1,
            learning_rate: self.lr,
            beta1: self.beta1,
            lr_policy: match self.lr_policy.as_str() {
                "constant" => PolicyKind::Constant,
                "step" => PolicyKind::Step,
                "cosine" => PolicyKind::Cosine,
                _ => PolicyKind::Linear,
            },
            lr_decay_epochs: self.lr_decay_iters,
            n_epochs: self.n_epochs,
            n_epochs_decay: self.n_epochs_decay,
            batch_size: self.batch_size,
            preprocess: match self.preprocess.as_str() {
                "crop" => Preprocess::Crop,
                "scale_width" => Preprocess::ScaleWidth,
                "scale_width_and_crop" => Preprocess::ScaleWidthAndCrop,
                "none" => Preprocess::None,
                _ => Preprocess::ResizeAndCrop,
            },
            flip: !self.no_flip,
            shuffle: !self.serial_batches,
            seed: self.seed,
            preview_every_steps: self.preview_every,
            validate_every_steps: self.validate_every,
            checkpoint_every_steps: self.checkpoint_every,
            keep_every_epochs: self.save_epoch_freq,
            max_steps: self.max_steps,
        };
        let layout = match (self.synth, self.side_by_side) {
            (Some(task), _) => LayoutHint::Photos(task),
            (None, true) => LayoutHint::SideBySide,
            (None, false) => LayoutHint::Auto,
        };
        let config = options.run_config(&self.dataroot, self.direction, layout);
        config.validate()?;
        Ok(config)
    }
}

/// Runs `train`.
pub fn train_command(device: DeviceChoice, args: &TrainArgs) -> anyhow::Result<()> {
    let config = args.run_config()?;
    let worker = spawn_worker()?;
    let outcome = drive_training(&worker, config, &args.run_dir, args.resume, device)?;
    outln!(
        "{} after {} steps; checkpoints in {}",
        if outcome.stopped {
            "stopped"
        } else {
            "finished"
        },
        outcome.steps,
        args.run_dir.join("checkpoints").display()
    );
    Ok(())
}

/// How a run driven from the command line ended.
struct Outcome {
    steps: u64,
    stopped: bool,
    validations: Vec<ValidationRecord>,
    /// Seconds from the start of the command to each validation of this session, by step.
    validation_secs: Vec<(u64, f64)>,
}

/// Starts a run on the worker and follows it to the end with a progress bar.
fn drive_training(
    worker: &WorkerHandle,
    config: pix2pix_studio::config::RunConfig,
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
    let started = Instant::now();
    let bar = ProgressBar::hidden();
    let mut validations = Vec::new();
    let mut validation_secs = Vec::new();
    let mut compiling_since = None;
    loop {
        match next_event(worker)? {
            Event::RunStarted(info) => {
                eprintln!("device: {}", info.device);
                if let Some(note) = &info.device_note {
                    eprintln!("  ({note})");
                }
                eprintln!("data: {}", info.dataset.summary());
                eprintln!(
                    "{} steps ({} per epoch){}",
                    info.total_steps,
                    info.steps_per_epoch,
                    if info.start_step > 0 {
                        format!(", resuming at step {}", info.start_step)
                    } else {
                        String::new()
                    }
                );
                validations = info.history.validations.clone();
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
            }
            Event::CompilingKernels => {
                compiling_since = Some(Instant::now());
                bar.set_message("compiling GPU kernels…");
                bar.enable_steady_tick(std::time::Duration::from_secs(1));
            }
            Event::Progress(progress) => {
                if let Some(since) = compiling_since.take() {
                    bar.disable_steady_tick();
                    say(
                        &bar,
                        format!(
                            "first GPU step: {:.1} s (compiling and tuning kernels; the tuning is \
                             kept for later runs)",
                            since.elapsed().as_secs_f64()
                        ),
                    );
                }
                let l = progress.losses;
                bar.set_position(progress.step);
                bar.set_message(format!(
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
            Event::Validation {
                step,
                metrics,
                pairs,
            } => {
                say(
                    &bar,
                    format!(
                        "step {step}: validation on {pairs} pairs: L1 {:.4}, PSNR {:.2} dB, SSIM {:.4}",
                        metrics.l1, metrics.psnr_db, metrics.ssim
                    ),
                );
                validations.push(ValidationRecord {
                    step,
                    epoch: 0.0,
                    metrics,
                });
                validation_secs.push((step, started.elapsed().as_secs_f64()));
            }
            Event::DataProblem(problem) => {
                say(
                    &bar,
                    format!("skipped {}: {}", problem.path.display(), problem.issue),
                );
            }
            Event::CheckpointSaved { .. } | Event::Preview { .. } => {}
            Event::Paused { .. } | Event::Resumed { .. } => {}
            Event::Finished { step, stopped } => {
                bar.finish_and_clear();
                return Ok(Outcome {
                    steps: step,
                    stopped,
                    validations,
                    validation_secs,
                });
            }
            Event::Failed { message } => {
                bar.finish_and_clear();
                bail!("{message}");
            }
            Event::Rejected { command, reason } => {
                bar.finish_and_clear();
                bail!("{command} refused: {reason}");
            }
            Event::DeviceSelected { .. }
            | Event::TranslateProgress { .. }
            | Event::Translated { .. }
            | Event::TranslateFailed { .. } => {}
        }
    }
}

/// Prints a line above the progress bar, or plainly when there is no terminal to draw it on.
fn say(bar: &ProgressBar, line: String) {
    if bar.is_hidden() {
        eprintln!("{line}");
    } else {
        bar.println(line);
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

/// Options of `quality`.
#[derive(Debug, clap::Args)]
pub struct QualityArgs {
    /// Training steps.
    #[arg(long, default_value_t = 2000)]
    pub steps: u64,
    /// The dataset (the sketches sample set by default).
    #[arg(long, default_value = "sample_pairs/sketches")]
    pub dataroot: PathBuf,
    /// Run folder (default: a fresh temporary folder).
    #[arg(long, short = 'o')]
    pub run_dir: Option<PathBuf>,
    /// Generator and discriminator width.
    #[arg(long, default_value_t = 32)]
    pub width: usize,
    /// Seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Steps between validations (default: only before and after); with it, the time until
    /// the validation L1 falls to half its starting value is reported.
    #[arg(long)]
    pub validate_every: Option<u64>,
}

/// Runs `quality`: the "Quick" setup (128 px, U-Net 128, ngf/ndf 32, constant learning rate)
/// for a fixed number of steps, validating before and after.
pub fn quality_command(device: DeviceChoice, args: &QualityArgs) -> anyhow::Result<()> {
    let run_dir = args.run_dir.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("pix2pix-quality-{}", std::process::id()))
    });
    let generator = UnetGeneratorConfig::new()
        .with_num_downs(7)
        .with_ngf(args.width);
    let discriminator = PatchDiscriminatorConfig::new().with_ndf(args.width);
    let config = RunConfig {
        training: TrainingConfig::new(generator, discriminator).with_seed(args.seed),
        data: DataConfig::new(&args.dataroot, 128),
        schedule: Schedule {
            n_epochs: 10_000,
            n_epochs_decay: 0,
            policy: LrPolicy::Constant,
        },
        intervals: Intervals {
            preview_every_steps: args.steps.max(1),
            validate_every_steps: args.validate_every.unwrap_or(args.steps).max(1),
            checkpoint_every_steps: args.steps.max(1),
            keep_every_epochs: usize::MAX,
            max_steps: Some(args.steps),
            ..Intervals::default()
        },
    };
    let worker = spawn_worker()?;
    let started = Instant::now();
    let outcome = drive_training(&worker, config, &run_dir, false, device)?;
    let wall = started.elapsed();
    let first = outcome.validations.first().map(|v| v.metrics);
    let last = outcome.validations.last().map(|v| v.metrics);
    let show = |label: &str, metrics: Option<Metrics>| -> anyhow::Result<()> {
        match metrics {
            Some(m) => outln!(
                "{label}: L1 {:.4}  PSNR {:.2} dB  SSIM {:.4}",
                m.l1,
                m.psnr_db,
                m.ssim
            ),
            None => outln!("{label}: no validation pairs"),
        }
        Ok(())
    };
    outln!(
        "quality on {} after {} steps (128 px, U-Net 128, ngf/ndf {}, batch 1):",
        args.dataroot.display(),
        outcome.steps,
        args.width
    );
    show("  before", first)?;
    show("  after ", last)?;
    if let Some(start) = first {
        let halved = outcome
            .validations
            .iter()
            .zip(&outcome.validation_secs)
            .find(|(record, _)| record.metrics.l1 <= start.l1 / 2.0);
        match halved {
            Some((record, (step, secs))) => outln!(
                "  validation L1 halved ({:.4} to {:.4}) at step {step}, {secs:.1} s after the start",
                start.l1,
                record.metrics.l1
            ),
            None => outln!(
                "  validation L1 did not fall to half ({:.4}) in this run",
                start.l1 / 2.0
            ),
        }
    }
    outln!(
        "  wall time {:.1} s ({:.3} s/step), run in {}",
        wall.as_secs_f64(),
        wall.as_secs_f64() / outcome.steps.max(1) as f64,
        run_dir.display()
    );
    Ok(())
}
