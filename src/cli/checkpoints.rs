//! `checkpoints`: the gallery without the window: every checkpoint of a run scored on its
//! validation pairs (L1, PSNR, SSIM) as a table, the lowest L1 marked, optionally a contact
//! sheet of the thumbnails, and `--make-best` to point `best.json` at one.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, bail};
use image::RgbImage;

use pix2pix_studio::config::run_folder;
use pix2pix_studio::insight::gallery::{
    GalleryHeader, list_checkpoints, make_best, score_checkpoint,
};
use pix2pix_studio::insight::validation::ValidationPairs;
use pix2pix_studio::platform::device::{self, DeviceChoice};
use pix2pix_studio::util::sheet::sheet;

/// Options of `checkpoints`.
#[derive(Debug, clap::Args)]
pub struct CheckpointsArgs {
    /// The run folder.
    pub run: PathBuf,
    /// Write the thumbnails as one PNG: the validation inputs and targets, then a row per
    /// checkpoint.
    #[arg(long, short = 'o')]
    pub sheet: Option<PathBuf>,
    /// Make this checkpoint (a folder name, e.g. `epoch_0007`) the run's best after scoring.
    #[arg(long)]
    pub make_best: Option<String>,
}

/// Runs `checkpoints`.
pub fn checkpoints_command(device: DeviceChoice, args: &CheckpointsArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let config = run_folder::read_config(&args.run)?;
    let checkpoints = list_checkpoints(&args.run)?;
    if let Some(name) = &args.make_best
        && !checkpoints.iter().any(|c| &c.name == name)
    {
        bail!("{}: no checkpoint named {name}", args.run.display());
    }
    let pairs = ValidationPairs::of_run(&config)
        .context("the run's dataset holds the pairs it is scored on")?;
    for problem in &pairs.problems {
        outln!("skipped {}: {}", problem.path.display(), problem.issue);
    }
    let device = device::select(device)?.device;
    let mut rows = Vec::with_capacity(checkpoints.len());
    for checkpoint in &checkpoints {
        let score = score_checkpoint(&checkpoint.dir, &pairs, &device)
            .with_context(|| format!("scoring {}", checkpoint.dir.display()));
        rows.push((checkpoint, score?));
    }
    // Ties are all marked: the latest checkpoint is often the last kept one's weights.
    let lowest = rows
        .iter()
        .map(|(_, score)| score.metrics.l1)
        .min_by(f64::total_cmp);
    let split = if pairs.from_training_split {
        "training pairs (the dataset has no validation split)"
    } else {
        "validation pairs"
    };
    outln!(
        "{} checkpoint(s) scored on {} {split} in {:.1} s",
        rows.len(),
        pairs.samples.len(),
        started.elapsed().as_secs_f64()
    );
    outln!("checkpoint        steps    L1      PSNR dB  SSIM    ");
    for (checkpoint, score) in &rows {
        let mut marks = Vec::new();
        if checkpoint.is_latest {
            marks.push("latest");
        }
        if checkpoint.is_best {
            marks.push("best.json");
        }
        if lowest == Some(score.metrics.l1) {
            marks.push("lowest L1");
        }
        let m = score.metrics;
        outln!(
            "{:<16}  {:>7}  {:.4}  {:>7.2}  {:.4}  {}",
            checkpoint.name,
            checkpoint.steps,
            m.l1,
            m.psnr_db,
            m.ssim,
            marks.join(", ")
        );
    }
    if let Some(path) = &args.sheet {
        let thumbnails: Vec<&[RgbImage]> = rows
            .iter()
            .map(|(_, score)| score.thumbnails.as_slice())
            .collect();
        let sheet = contact_sheet(&GalleryHeader::of(&pairs), &thumbnails);
        pix2pix_studio::platform::fs::save_image_atomic(
            path,
            &image::DynamicImage::ImageRgb8(sheet),
        )?;
        outln!("thumbnails written to {}", path.display());
    }
    if let Some(name) = &args.make_best
        && let Some((checkpoint, score)) = rows.iter().find(|(c, _)| &c.name == name)
    {
        make_best(&args.run, &checkpoint.dir, Some(score.metrics.l1))?;
        outln!("{} is now the run's best", checkpoint.dir.display());
    }
    Ok(())
}

/// The inputs, the targets, then each checkpoint's translations, a row each.
fn contact_sheet(header: &GalleryHeader, rows: &[&[RgbImage]]) -> RgbImage {
    let rows: Vec<Vec<&RgbImage>> = [header.inputs.as_slice(), header.targets.as_slice()]
        .into_iter()
        .chain(rows.iter().copied())
        .map(|row| row.iter().collect())
        .collect();
    sheet(&rows)
}
