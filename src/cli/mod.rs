//! The command line: no subcommand opens the app; subcommands drive the same worker headless.
//! Exit codes: 0 done, 1 failed (the error once, with its causes), 2 usage (from clap).

/// `println!` that returns an error instead of panicking when stdout is closed (`| head`); the
/// command then ends quietly with success.
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::cli::write_line(format_args!($($arg)*))?
    };
}

mod bench;
mod check_gpu;
mod checkpoints;
mod compare;
mod export;
mod inspect;
mod judge;
mod quality;
mod run_console;
mod train;
mod translate;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

use pix2pix_studio::platform::device::DeviceChoice;
use pix2pix_studio::platform::threads;
use pix2pix_studio::samples::{SampleCounts, make_samples};
use pix2pix_studio::worker::{Event, WorkerHandle};

/// pix2pix-studio: image-to-image translation with conditional GANs.
#[derive(Debug, Parser)]
#[command(version, about)]
pub struct Cli {
    /// Compute device: auto (a hardware GPU if one works, else the CPU; the default), gpu or
    /// cpu. For the app, it replaces the device saved in its settings.
    #[arg(long, global = true)]
    pub device: Option<DeviceChoice>,
    /// Threads for the CPU backend (default: one per physical core; the app's training leaves
    /// one core to the window where there are four or more). For machines shared with others.
    #[arg(long, global = true, value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub threads: Option<u16>,
    /// With no subcommand: record the interval of every frame of the window into this file
    /// (one value in ms per line, p50 / p95 first) for measuring responsiveness.
    #[arg(long)]
    pub frame_log: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Train (or resume) a model on a dataset folder.
    Train(Box<train::TrainArgs>),
    /// Translate images or folders with a run, a checkpoint or reference weights.
    Translate(translate::TranslateArgs),
    /// Show a dataset's validation report, or a run's configuration and history.
    Inspect(inspect::InspectArgs),
    /// Compare run folders: the options in which they differ and their validation scores.
    Compare(compare::CompareArgs),
    /// Score every checkpoint of a run on its validation pairs (L1, PSNR, SSIM); optionally
    /// write their thumbnails or make one the run's best.
    Checkpoints(checkpoints::CheckpointsArgs),
    /// Write a run's generator as .safetensors with the reference's key names, or as an ONNX
    /// model (`-o model.onnx`) for onnxruntime, TensorRT, Unity Sentis and other runtimes.
    Export(export::ExportArgs),
    /// Score an (input, output) pair with a run's discriminator, patch by patch, and write the
    /// verdict map.
    Judge(judge::JudgeArgs),
    /// Time training iterations and generator inference for the reference's configs A-D.
    Bench(bench::BenchArgs),
    /// Check that the GPU computes what the CPU computes: a few training steps of a small
    /// network on both from the same start, compared loss by loss (exit code 1 if not).
    CheckGpu(check_gpu::CheckGpuArgs),
    /// Train on sample_pairs/sketches for a fixed number of steps and print validation
    /// L1 / PSNR / SSIM before and after, with the wall time.
    Quality(quality::QualityArgs),
    /// Draw the sample datasets (sketches/ and labels/) deterministically from a seed.
    MakeSamples(MakeSamplesArgs),
}

/// Options of `make-samples`.
#[derive(Debug, clap::Args)]
pub struct MakeSamplesArgs {
    /// Seed of the drawings; the same seed writes the same files.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Output folder.
    #[arg(long, default_value = "sample_pairs")]
    pub out: PathBuf,
    /// Training pairs per set.
    #[arg(long, default_value_t = SampleCounts::default().train)]
    pub train: usize,
    /// Validation pairs per set.
    #[arg(long, default_value_t = SampleCounts::default().val)]
    pub val: usize,
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    // The app looks for the GPU in its worker, after the window opens.
    let device = cli.device.unwrap_or_default();
    let threads = cli.threads.map(usize::from);
    if let Err(message) = threads::use_global_threads(threads::compute_threads(threads)) {
        log::warn!("{message}");
    }
    match cli.command {
        None => pix2pix_studio::app::run(cli.device, cli.frame_log, threads)
            .map_err(|err| anyhow::anyhow!("could not open the window: {err}")),
        Some(Command::Train(args)) => train::train_command(device, &args),
        Some(Command::Translate(args)) => translate::translate_command(device, &args),
        Some(Command::Inspect(args)) => inspect::inspect_command(&args),
        Some(Command::Compare(args)) => compare::compare_command(&args),
        Some(Command::Checkpoints(args)) => checkpoints::checkpoints_command(device, &args),
        Some(Command::Export(args)) => export::export_command(device, &args),
        Some(Command::Judge(args)) => judge::judge_command(device, &args),
        Some(Command::Bench(args)) => bench::bench_command(device, &args),
        Some(Command::CheckGpu(args)) => check_gpu::check_gpu_command(&args),
        Some(Command::Quality(args)) => quality::quality_command(device, &args),
        Some(Command::MakeSamples(args)) => {
            let counts = SampleCounts {
                train: args.train,
                val: args.val,
            };
            make_samples(&args.out, args.seed, counts)?;
            outln!("wrote {} (seed {})", args.out.display(), args.seed);
            Ok(())
        }
    }
}

/// A worker for a headless command (nothing to wake).
fn spawn_worker() -> anyhow::Result<WorkerHandle> {
    Ok(WorkerHandle::spawn(Box::new(|_| {}))?)
}

/// The next event from the worker, waiting as long as it takes; an error if it has ended.
fn next_event(worker: &WorkerHandle) -> anyhow::Result<Event> {
    loop {
        if let Some(event) = worker.recv_timeout(Duration::from_millis(200)) {
            return Ok(event);
        }
        if worker.is_finished() {
            anyhow::bail!("the worker stopped unexpectedly");
        }
    }
}

/// Stdout was closed by the reader (e.g. `| head`): not a failure of the command.
#[derive(Debug, thiserror::Error)]
#[error("standard output was closed")]
struct StdoutClosed;

/// Writes one line to stdout (see `outln!`).
fn write_line(args: std::fmt::Arguments<'_>) -> anyhow::Result<()> {
    use std::io::Write as _;
    match writeln!(std::io::stdout().lock(), "{args}") {
        Ok(()) => Ok(()),
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => Err(StdoutClosed.into()),
        Err(err) => Err(anyhow::Error::new(err).context("writing to standard output")),
    }
}

/// Prints an error once, with its cause chain, and maps it to the exit code.
pub fn report(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) if err.is::<StdoutClosed>() => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
