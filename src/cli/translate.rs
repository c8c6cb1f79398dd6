//! `translate` (files and folders through the worker, with progress) and `export`.

use std::path::PathBuf;

use anyhow::{Context, bail};
use indicatif::{ProgressBar, ProgressStyle};

use pix2pix_studio::bundled::DemoModel;
use pix2pix_studio::data::decode::image_files;
use pix2pix_studio::device::{self, DeviceChoice};
use pix2pix_studio::inference::{ModelSource, SizeMode, TranslateOptions, Translator, output_file};
use pix2pix_studio::model::NormMode;
use pix2pix_studio::model::pytorch::{save_generator, save_generator_half};
use pix2pix_studio::run_folder;
use pix2pix_studio::shard::Shard;
use pix2pix_studio::worker::{Command, Event, TranslateInputs, TranslateRequest};

use super::{next_event, spawn_worker};

/// Options of `translate`.
#[derive(Debug, clap::Args)]
pub struct TranslateArgs {
    /// The model: a run folder, a checkpoint folder, or reference weights (.pth, .safetensors).
    /// Default: the demo model built into the binary (trained on sample_pairs/sketches).
    #[arg(long, short = 'm')]
    pub model: Option<PathBuf>,
    /// Images or folders of images.
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    /// Where the results go (PNG, named after the inputs).
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
    /// Leave out inputs whose output already exists (outputs are written whole or not at all,
    /// so a killed job restarted with this flag redoes nothing it finished).
    #[arg(long)]
    pub skip_existing: bool,
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
            eprintln!("no --model given: using the built-in demo model (sketches)");
            ModelSource::Demo(DemoModel::Sketches)
        }
    };
    let mut paths = expand_inputs(&args.inputs)?;
    let listed = paths.len();
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
        let before = paths.len();
        paths.retain(|path| !output_file(&args.output, path).exists());
        eprintln!("{} already translated, left out", before - paths.len());
    }
    if paths.is_empty() {
        outln!("nothing to translate into {}", args.output.display());
        return Ok(());
    }
    let options = TranslateOptions {
        norm: if args.eval {
            NormMode::RunningStats
        } else {
            NormMode::BatchStats
        },
        dropout_seed: args.dropout_seed,
        size: args.size,
    };
    let worker = spawn_worker()?;
    worker.send(Command::Translate(Box::new(TranslateRequest {
        id: 1,
        model: Some(model),
        inputs: TranslateInputs::Files {
            paths: paths.clone(),
            output_dir: args.output.clone(),
        },
        options,
        device,
    })))?;
    let bar = ProgressBar::new(paths.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} [{elapsed_precise}<{eta_precise}]")
            .context("progress bar template")?,
    );
    loop {
        match next_event(&worker)? {
            Event::TranslateProgress { done, .. } => bar.set_position(done as u64),
            Event::Translated { files, millis, .. } => {
                bar.finish_and_clear();
                let failed: Vec<_> = files
                    .iter()
                    .filter(|(_, outcome)| outcome.is_err())
                    .collect();
                for (path, outcome) in &failed {
                    if let Err(reason) = outcome {
                        eprintln!("failed {}: {reason}", path.display());
                    }
                }
                outln!(
                    "translated {} of {} image(s) into {} in {:.1} s",
                    files.len() - failed.len(),
                    files.len(),
                    args.output.display(),
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

/// Options of `export`.
#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// A run folder (its latest checkpoint, or the best with --best) or a checkpoint folder.
    pub model: PathBuf,
    /// Where to write: a `.safetensors` file (the generator with the reference's key names), or
    /// a folder, which gets `generator.safetensors` and the run's `config.json` and loads like a
    /// checkpoint (`translate -m FOLDER`).
    #[arg(long, short = 'o')]
    pub output: PathBuf,
    /// Store the weights in half precision (f16): half the size, for shipping a model.
    #[arg(long)]
    pub half: bool,
    /// Export the checkpoint with the best validation L1 instead of the latest.
    #[arg(long)]
    pub best: bool,
}

/// Runs `export`: loads the generator (which checks it) and writes it with the reference's keys.
pub fn export_command(device: DeviceChoice, args: &ExportArgs) -> anyhow::Result<()> {
    let source = match ModelSource::from_path(&args.model)? {
        ModelSource::RunDir(dir) if args.best => {
            ModelSource::Checkpoint(run_folder::best(&dir)?.with_context(|| {
                format!(
                    "{}: no validation yet, so no best checkpoint",
                    dir.display()
                )
            })?)
        }
        ModelSource::Weights { .. } => bail!("{}: already a weights file", args.model.display()),
        other => other,
    };
    let translator = Translator::load(&source, &device::select(device)?.device)?;
    let is_file = args
        .output
        .extension()
        .is_some_and(|extension| extension == "safetensors");
    let weights_path = if is_file {
        args.output.clone()
    } else {
        let checkpoint_dir = match &source {
            ModelSource::RunDir(dir) => run_folder::latest(dir)?
                .with_context(|| format!("{}: the run has no checkpoint yet", dir.display()))?,
            ModelSource::Checkpoint(dir) => dir.clone(),
            ModelSource::Weights { .. } => {
                bail!("{}: already a weights file", args.model.display())
            }
            ModelSource::Demo(_) => bail!("the built-in demo model has no run folder to export"),
        };
        let config = run_folder::read_config(&checkpoint_dir)?;
        run_folder::write_config(&args.output, &config)?;
        args.output.join("generator.safetensors")
    };
    if args.half {
        save_generator_half(translator.generator(), &weights_path)?;
    } else {
        save_generator(translator.generator(), &weights_path)?;
    }
    let config = translator.config();
    outln!(
        "wrote {} (U-Net num_downs {}, ngf {}, {}→{} channels, {:?} norm): load it in PyTorch with \
         UnetGenerator({}, {}, {}, {}) and load_state_dict",
        weights_path.display(),
        config.num_downs,
        config.ngf,
        config.input_channels,
        config.output_channels,
        config.norm,
        config.input_channels,
        config.output_channels,
        config.num_downs,
        config.ngf
    );
    Ok(())
}
