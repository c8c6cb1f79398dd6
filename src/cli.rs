//! The command line: no subcommand opens the app; subcommands run the same engine headless.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};

use pix2pix_studio::bench::{self, BenchConfig, BenchOptions, BenchResult};
use pix2pix_studio::data::{Direction, DiscoverOptions, LayoutHint, SynthTask, discover};
use pix2pix_studio::device::{self, DeviceChoice};
use pix2pix_studio::samples::{SampleCounts, make_samples};

/// pix2pix-studio: image-to-image translation with conditional GANs.
#[derive(Debug, Parser)]
#[command(version, about)]
pub struct Cli {
    /// Compute device: auto (a hardware GPU if one works, else the CPU), gpu or cpu.
    #[arg(long, global = true, default_value = "auto")]
    pub device: DeviceChoice,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Time training iterations and generator inference for the reference's configs A-D.
    Bench(BenchArgs),
    /// Print the validation report of a dataset folder: layout, pairs per split, sizes, problems.
    Inspect(InspectArgs),
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

/// Options of `inspect`.
#[derive(Debug, clap::Args)]
pub struct InspectArgs {
    /// The dataset folder.
    pub path: PathBuf,
    /// Which side is the input: AtoB or BtoA.
    #[arg(long, default_value = "AtoB")]
    pub direction: Direction,
    /// Treat the images as plain photos and make pairs: colorize, edges-to-photo, photo-to-edges.
    #[arg(long)]
    pub synth: Option<SynthTask>,
    /// Treat every image as input|target side by side, however narrow.
    #[arg(long, conflicts_with = "synth")]
    pub side_by_side: bool,
    /// Skip pairs with a side shorter than this many pixels.
    #[arg(long, default_value_t = 0)]
    pub min_side: u32,
}

/// Options of `bench`.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Configurations to run, e.g. `A,C` (default: all four).
    #[arg(long, value_delimiter = ',', default_values_t = ['A', 'B', 'C', 'D'])]
    pub configs: Vec<char>,
    /// Untimed warm-up iterations.
    #[arg(long, default_value_t = 2)]
    pub warmup: usize,
    /// Timed iterations; the median is reported.
    #[arg(long, default_value_t = 10)]
    pub iterations: usize,
    /// Print one JSON object per configuration instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Run every configuration in this process instead of one child process each (peak RSS is
    /// then the maximum so far, not per configuration).
    #[arg(long)]
    pub in_process: bool,
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        None => {
            let selected = device::select(cli.device)?;
            pix2pix_studio::app::run(selected)
                .map_err(|err| anyhow::anyhow!("could not open the window: {err}"))
        }
        Some(Command::Bench(args)) => bench_command(cli.device, &args),
        Some(Command::Inspect(args)) => inspect_command(&args),
        Some(Command::MakeSamples(args)) => {
            let counts = SampleCounts {
                train: args.train,
                val: args.val,
            };
            make_samples(&args.out, args.seed, counts)?;
            println!("wrote {} (seed {})", args.out.display(), args.seed);
            Ok(())
        }
    }
}

fn inspect_command(args: &InspectArgs) -> anyhow::Result<()> {
    let hint = match (args.synth, args.side_by_side) {
        (Some(task), _) => LayoutHint::Photos(task),
        (None, true) => LayoutHint::SideBySide,
        (None, false) => LayoutHint::Auto,
    };
    let options = DiscoverOptions {
        hint,
        direction: args.direction,
        min_side_px: args.min_side,
    };
    let dataset = discover(&args.path, &options)?;
    println!("{}", args.path.display());
    print!("{}", dataset.report);
    Ok(())
}

fn bench_command(choice: DeviceChoice, args: &BenchArgs) -> anyhow::Result<()> {
    let configs = args
        .configs
        .iter()
        .map(|&name| {
            BenchConfig::by_name(name).with_context(|| format!("unknown config `{name}`, use A-D"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let selected = device::select(choice)?;
    let options = BenchOptions {
        warmup: args.warmup,
        iterations: args.iterations,
    };
    if !args.json {
        println!(
            "device: {}; {} warm-up + {} timed iterations, batch 1",
            selected.info, options.warmup, options.iterations
        );
        if let Some(reason) = &selected.fallback_reason {
            println!("(no GPU: {reason})");
        }
    }
    let mut results = Vec::new();
    for config in configs {
        let result = if args.in_process || args.configs.len() == 1 {
            bench::run(config, &selected.device, options)?
        } else {
            bench_in_child(config, choice, args)?
        };
        if args.json {
            println!("{}", serde_json::to_string(&result)?);
        } else {
            eprintln!("{}: {:.3} s/iter", config.name, result.train_secs_per_iter);
        }
        results.push(result);
    }
    if !args.json {
        print!("{}", bench::format_table(&results));
        let data_secs = bench::decode_augment_secs(options)?;
        println!(
            "data: decode + augment of one 256 px JPEG pair (512×256 A|B, resize_and_crop + flip): {:.1} ms (median)",
            data_secs * 1e3
        );
    }
    Ok(())
}

/// Runs one configuration in a fresh process, so its peak RSS is its own.
fn bench_in_child(
    config: BenchConfig,
    choice: DeviceChoice,
    args: &BenchArgs,
) -> anyhow::Result<BenchResult> {
    let exe = std::env::current_exe().context("finding this program to run the benchmark")?;
    let output = std::process::Command::new(exe)
        .args(["--device", &choice.to_string(), "bench", "--json"])
        .args(["--configs", &config.name.to_string()])
        .args(["--warmup", &args.warmup.to_string()])
        .args(["--iterations", &args.iterations.to_string()])
        .output()
        .context("running the benchmark child process")?;
    if !output.status.success() {
        bail!(
            "benchmark of config {} failed: {}",
            config.name,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(line).with_context(|| format!("reading the child's result `{line}`"))
}

/// Prints an error once, with its cause chain, and maps it to the exit code.
pub fn report(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
