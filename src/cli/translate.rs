//! `translate`: files and folders through the worker, with progress.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use indicatif::{ProgressBar, ProgressStyle};

use pix2pix_studio::data::decode::image_files;
use pix2pix_studio::inference::output_names::output_files;
use pix2pix_studio::inference::png_file::{SourceTag, read_source};
use pix2pix_studio::inference::shard::Shard;
use pix2pix_studio::inference::shared_norm::STATISTICS_FRAMES;
use pix2pix_studio::inference::tiling::{TileSize, Tiling};
use pix2pix_studio::inference::{ModelSource, SizeMode, TranslateOptions};
use pix2pix_studio::model::NormMode;
use pix2pix_studio::platform::bundled::DemoModel;
use pix2pix_studio::platform::device::DeviceChoice;
use pix2pix_studio::worker::{Command, Event, TranslateInputs, TranslateRequest, WorkerHandle};

use super::{next_event, spawn_worker};

/// Options of `translate`.
#[derive(Debug, clap::Args)]
pub struct TranslateArgs {
    /// The model: a run folder, a checkpoint folder, or reference weights (.pth, .safetensors).
    /// Default: the built-in demo model `--demo` names.
    #[arg(long, short = 'm')]
    pub model: Option<PathBuf>,
    /// Without --model, the demo model built into the binary: shoes (edges to shoes and
    /// handbags), sketches (sample sketches to objects) or labels (facade label maps).
    #[arg(long, conflicts_with = "model", default_value = "sketches", value_parser = parse_demo)]
    pub demo: DemoModel,
    /// Images or folders of images.
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    /// Where the results go: one PNG per input, `<name>.png` after the input's name without its
    /// extension; inputs whose names differ only in the extension (a.png, a.jpg) keep it
    /// (a.png.png, a.jpg.png). Refused: two inputs of the same name in different folders, and
    /// an output folder that holds inputs.
    #[arg(long, short = 'o')]
    pub output: PathBuf,
    /// Normalise with the stored running statistics (the reference's --eval) instead of each
    /// image's own statistics (its default).
    #[arg(long)]
    pub eval: bool,
    /// Keep dropout on, with masks from this seed (the reference's default test behaviour is
    /// dropout on; without this flag it is off, so results are repeatable).
    #[arg(long)]
    pub dropout_seed: Option<u64>,
    /// Sizes: trained (resize to the training size and back), pad (keep the size, pad to the
    /// U-Net's multiple), resize (to the nearest multiple and back).
    #[arg(long, value_enum, default_value_t = TranslateOptions::default().size)]
    pub size: SizeMode,
    /// Translate only shard K of N (0-based, e.g. 0/4 … 3/4): the files whose name hashes to
    /// K, the same on every machine whatever the listing order, so N jobs of any scheduler
    /// (a Slurm array, GNU parallel) cover the inputs once between them.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<Shard>,
    /// Leave out inputs whose output already exists and was translated from this very input
    /// (each output records its input's name, size and hash; outputs are written whole or not
    /// at all, so a killed job restarted with this flag redoes nothing it finished).
    #[arg(long)]
    pub skip_existing: bool,
    /// Translate each image at its own size in overlapping tiles, blended so no edge shows and
    /// all normalised with one set of statistics: memory is bounded by the tile, not the image
    /// (a 6000×4000 photo, an aerial scan). Keeps the size (`--size trained` acts as `pad`).
    #[arg(long)]
    pub tile: bool,
    /// With --tile: the tile side in pixels, a multiple of 2^num_downs (default: the size the
    /// model was trained at).
    #[arg(long, requires = "tile", value_name = "PX")]
    pub tile_size: Option<u32>,
    /// With --tile: how far neighbouring tiles overlap, in pixels (default: a quarter of the
    /// side).
    #[arg(long, requires = "tile", value_name = "PX")]
    pub tile_overlap: Option<u32>,
    /// Video frames: translate a frame sequence without flicker. Dropout stays off and every
    /// frame is normalised with the same statistics, pooled over up to 64 frames spread
    /// through the whole sequence (chosen before --shard, so all shards normalise alike) instead
    /// of each frame's own. With --eval the stored running statistics are shared already.
    #[arg(long, conflicts_with = "dropout_seed")]
    pub consistent: bool,
}

/// A demo model by its name.
fn parse_demo(name: &str) -> Result<DemoModel, String> {
    DemoModel::ALL
        .into_iter()
        .find(|demo| demo.name() == name)
        .ok_or_else(|| {
            let names: Vec<&str> = DemoModel::ALL.iter().map(|demo| demo.name()).collect();
            format!("no demo model {name:?}: one of {}", names.join(", "))
        })
}

/// Files and folders to the image files to translate (an error when there are none).
fn expand_inputs(inputs: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let files = image_files(inputs)?;
    if files.is_empty() {
        bail!("no images among the inputs");
    }
    Ok(files)
}

/// Runs `translate`.
pub fn translate_command(device: DeviceChoice, args: &TranslateArgs) -> anyhow::Result<()> {
    let model = match &args.model {
        Some(path) => ModelSource::from_path(path)?,
        None => {
            eprintln!(
                "no --model given: using the built-in demo model {}",
                args.demo.name()
            );
            ModelSource::Demo(args.demo)
        }
    };
    let job = expand_inputs(&args.inputs)?;
    // Names over the whole job, before sharding: every shard names alike, and a collision
    // anywhere in the job is refused on every machine.
    let outputs = output_files(&args.output, &job)?;
    let mut paths = job.clone();
    let listed = paths.len();
    // The whole sequence, before sharding: every shard pools the same frames.
    let shared_statistics_from = args.consistent.then(|| paths.clone());
    if args.consistent {
        eprintln!(
            "one normalisation for all frames: statistics pooled over {} of the {listed} frame(s)",
            listed.min(STATISTICS_FRAMES)
        );
    }
    if let Some(shard) = args.shard {
        paths = shard.select(paths);
        eprintln!(
            "shard {}/{}: {} of {listed} image(s)",
            shard.index,
            shard.count,
            paths.len()
        );
    }
    if args.skip_existing {
        leave_out_translated(&mut paths, &job, &outputs);
    }
    if paths.is_empty() {
        outln!("nothing to translate into {}", args.output.display());
        return Ok(());
    }
    let worker = spawn_worker()?;
    worker.send(Command::Translate(Box::new(TranslateRequest {
        id: 1,
        model: Some(model),
        inputs: TranslateInputs::Files {
            paths: paths.clone(),
            output_dir: args.output.clone(),
            names_from: Some(job),
            shared_statistics_from,
        },
        options: translate_options(args),
        device,
    })))?;
    follow_translation(&worker, paths.len(), &args.output)
}

/// `--skip-existing`: leaves out each input whose output exists and records that same input
/// (name, size and hash); an output of the same name from another input is translated again.
fn leave_out_translated(paths: &mut Vec<PathBuf>, job: &[PathBuf], outputs: &[PathBuf]) {
    let output_of: std::collections::HashMap<&PathBuf, &PathBuf> =
        job.iter().zip(outputs).collect();
    let (mut done, mut foreign) = (0, 0);
    paths.retain(|path| {
        let output = output_of[path];
        if !output.exists() {
            return true;
        }
        let same = read_source(output)
            .is_some_and(|tag| SourceTag::of_file(path).is_ok_and(|source| source == tag));
        if same {
            done += 1;
        } else {
            foreign += 1;
        }
        !same
    });
    eprintln!("{done} already translated, left out");
    if foreign > 0 {
        eprintln!(
            "{foreign} output(s) came from other inputs of the same name (or from elsewhere): \
             translating again"
        );
    }
}

/// Normalisation, dropout, size and tiling as the flags ask.
fn translate_options(args: &TranslateArgs) -> TranslateOptions {
    TranslateOptions {
        norm: if args.eval {
            NormMode::RunningStats
        } else {
            NormMode::BatchStats
        },
        dropout_seed: args.dropout_seed,
        size: args.size,
        tiling: if args.tile {
            Tiling::Tiles(TileSize {
                side: args.tile_size,
                overlap: args.tile_overlap,
            })
        } else {
            Tiling::Off
        },
    }
}

/// Follows the translation of `total` images with a progress bar; each image that failed is
/// named with its reason, and any failure makes the command fail.
fn follow_translation(worker: &WorkerHandle, total: usize, output: &Path) -> anyhow::Result<()> {
    let bar = ProgressBar::new(total as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "{bar:30} {pos}/{len} {msg} [{elapsed_precise}<{eta_precise}]",
        )
        .context("progress bar template")?,
    );
    loop {
        match next_event(worker)? {
            Event::TranslateProgress { done, .. } => bar.set_position(done as u64),
            Event::TileProgress { done, total, .. } => {
                bar.set_message(format!("(tile {done}/{total})"));
            }
            Event::Translated { files, millis, .. } => {
                bar.finish_and_clear();
                let failed: Vec<_> = files
                    .iter()
                    .filter_map(|(path, outcome)| {
                        outcome.as_ref().err().map(|reason| (path, reason))
                    })
                    .collect();
                for (path, reason) in &failed {
                    eprintln!("failed {}: {reason}", path.display());
                }
                outln!(
                    "translated {} of {} image(s) into {} in {:.1} s",
                    files.len() - failed.len(),
                    files.len(),
                    output.display(),
                    millis as f64 / 1000.0
                );
                if !failed.is_empty() {
                    bail!("{} image(s) could not be translated", failed.len());
                }
                return Ok(());
            }
            Event::Failed { message } | Event::TranslateFailed { message, .. } => {
                bail!("{message}")
            }
            Event::Rejected { reason, .. } => bail!("{reason}"),
            _ => {}
        }
    }
}
