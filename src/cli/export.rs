//! `export`: a run's generator as `.safetensors` with the reference's keys (a file, or a folder
//! that loads like a checkpoint), or as an ONNX model for other runtimes.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use pix2pix_studio::config::run_folder;
use pix2pix_studio::inference::{ModelSource, Translator};
use pix2pix_studio::model::NormMode;
use pix2pix_studio::model::pytorch::{save_generator, save_generator_half};
use pix2pix_studio::onnx::{DEFAULT_OPSET, OnnxOptions, OnnxSize, export_onnx};
use pix2pix_studio::platform::device::{self, DeviceChoice};

/// Options of `export`.
#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// A run folder (its latest checkpoint, or the best with --best) or a checkpoint folder; for
    /// ONNX also reference weights (.pth, .safetensors).
    pub model: PathBuf,
    /// Where to write: `model.onnx` (an ONNX graph with the weights inside), a `.safetensors`
    /// file (the generator with the reference's key names), or a folder, which gets
    /// `generator.safetensors` and the run's `config.json` and loads like a checkpoint
    /// (`translate -m FOLDER`).
    #[arg(long, short = 'o')]
    pub output: PathBuf,
    /// Store the weights in half precision (f16): half the size, for shipping a model.
    #[arg(long)]
    pub half: bool,
    /// Export the checkpoint with the best validation L1 instead of the latest.
    #[arg(long)]
    pub best: bool,
    /// ONNX: the opset to write, 13 to 17.
    #[arg(long, default_value_t = DEFAULT_OPSET)]
    pub opset: i64,
    /// ONNX: normalise with the stored running statistics (BatchNormalization, like
    /// `translate --eval`) instead of each image's own (InstanceNormalization at batch 1, like
    /// `translate`).
    #[arg(long)]
    pub eval: bool,
    /// ONNX: accept any height and width (multiples of 2^num_downs) instead of a fixed size.
    #[arg(long, conflicts_with = "size")]
    pub dynamic_size: bool,
    /// ONNX: the fixed side in pixels (default: the size the model was trained at).
    #[arg(long)]
    pub size: Option<usize>,
}

impl ExportArgs {
    fn is_onnx(&self) -> bool {
        has_extension(&self.output, "onnx")
    }
}

fn has_extension(path: &Path, wanted: &str) -> bool {
    path.extension()
        .is_some_and(|extension| extension.eq_ignore_ascii_case(wanted))
}

/// Runs `export`: loads the generator (which checks it) and writes it.
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
        ModelSource::Weights { .. } if !args.is_onnx() => {
            bail!("{}: already a weights file", args.model.display())
        }
        other => other,
    };
    let onnx_only = [
        (args.opset != DEFAULT_OPSET, "--opset"),
        (args.eval, "--eval"),
        (args.dynamic_size, "--dynamic-size"),
        (args.size.is_some(), "--size"),
    ];
    if !args.is_onnx()
        && let Some((_, flag)) = onnx_only.iter().find(|(given, _)| *given)
    {
        bail!("{flag} is for ONNX export: name the output `something.onnx`");
    }
    if args.is_onnx() && args.half {
        bail!("--half is for .safetensors; an ONNX model keeps f32 weights");
    }
    let translator = Translator::load(&source, &device::select(device)?.device)?;
    if args.is_onnx() {
        return write_onnx(&translator, args);
    }
    // A folder gets the generator first and its config.json last: a folder with a config is a
    // model folder to every reader, so it must not be one before its weights are whole.
    let (weights_path, folder_config) = if has_extension(&args.output, "safetensors") {
        (args.output.clone(), None)
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
        std::fs::create_dir_all(&args.output)
            .with_context(|| format!("creating {}", args.output.display()))?;
        (args.output.join("generator.safetensors"), Some(config))
    };
    if args.half {
        save_generator_half(translator.generator(), &weights_path)?;
    } else {
        save_generator(translator.generator(), &weights_path)?;
    }
    if let Some(config) = folder_config {
        run_folder::write_config(&args.output, &config)?;
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

/// Writes the ONNX model and says what it takes.
fn write_onnx(translator: &Translator, args: &ExportArgs) -> anyhow::Result<()> {
    let size = match (args.dynamic_size, args.size) {
        (true, _) => OnnxSize::Dynamic,
        (false, Some(side)) => OnnxSize::Fixed {
            height: side,
            width: side,
        },
        (false, None) => OnnxSize::Trained,
    };
    let options = OnnxOptions {
        opset: args.opset,
        norm: if args.eval {
            NormMode::RunningStats
        } else {
            NormMode::BatchStats
        },
        size,
    };
    export_onnx(translator, &options, &args.output)?;
    let config = translator.config();
    let shape = match size {
        OnnxSize::Trained => {
            let side = translator.trained_size_px();
            format!("{side}×{side}")
        }
        OnnxSize::Fixed { height, width } => format!("{height}×{width}"),
        OnnxSize::Dynamic => format!("any H×W in multiples of {}", config.size_multiple()),
    };
    outln!(
        "wrote {} (ONNX opset {}; `input` and `output`: NCHW f32 in [-1, 1], {} channel(s) in, \
         {shape}; {})",
        args.output.display(),
        args.opset,
        config.input_channels,
        if args.eval {
            "running statistics"
        } else {
            "each image's own statistics"
        }
    );
    Ok(())
}
