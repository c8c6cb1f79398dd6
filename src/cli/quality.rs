//! `quality`: the Quick preset trained for a fixed number of steps on the sketches, with the
//! validation scores before and after and the time until the validation L1 halves.

use std::path::PathBuf;
use std::time::Instant;

use pix2pix_studio::config::RunOptions;
use pix2pix_studio::config::schedule::PolicyKind;
use pix2pix_studio::data::{Direction, LayoutHint};
use pix2pix_studio::platform::device::DeviceChoice;
use pix2pix_studio::training::metrics::Metrics;

use super::run_console::drive_training;
use super::spawn_worker;

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
    #[arg(long, default_value_t = RunOptions::quick().ngf)]
    pub width: usize,
    /// Seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Steps between validations (default: only before and after); with it, the time until
    /// the validation L1 falls to half its starting value is reported.
    #[arg(long)]
    pub validate_every: Option<u64>,
}

/// Runs `quality`: the Quick preset ([`RunOptions::quick`]) at a constant learning rate for a
/// fixed number of steps, validating before and after.
pub fn quality_command(device: DeviceChoice, args: &QualityArgs) -> anyhow::Result<()> {
    let run_dir = args.run_dir.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("pix2pix-quality-{}", std::process::id()))
    });
    let quick = RunOptions::quick();
    let options = RunOptions {
        ngf: args.width,
        ndf: args.width,
        seed: args.seed,
        lr_policy: PolicyKind::Constant,
        n_epochs: 10_000,
        n_epochs_decay: 0,
        preview_every_steps: args.steps,
        validate_every_steps: args.validate_every.unwrap_or(args.steps),
        checkpoint_every_steps: args.steps,
        keep_every_epochs: usize::MAX,
        max_steps: Some(args.steps),
        ..quick
    };
    let config = options.run_config(&args.dataroot, Direction::AtoB, LayoutHint::Auto);
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
        "quality on {} after {} steps ({} px, U-Net depth {}, ngf/ndf {}, batch {}):",
        args.dataroot.display(),
        outcome.steps,
        quick.image_size_px,
        quick.num_downs,
        args.width,
        quick.batch_size
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
