//! `bench`: training and inference timings of the reference's configs A-D (one child process
//! each, so peak memory is per configuration) and the data pipeline's decode time.

mod measure;

use anyhow::{Context, bail};

use measure::{BenchConfig, BenchOptions, BenchResult};
use pix2pix_studio::platform::device::{self, DeviceChoice};

/// Options of `bench`.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Configurations to run, e.g. `A,C` (default: all four).
    #[arg(long, value_delimiter = ',', default_values_t = ['A', 'B', 'C', 'D'])]
    pub configs: Vec<char>,
    /// Pairs per training iteration (and images per inference): how throughput scales on a GPU.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub batch: u32,
    /// Untimed warm-up iterations (the first is reported as the first step: kernel compilation
    /// and tuning on a GPU).
    #[arg(long, default_value_t = 2)]
    pub warmup: usize,
    /// Timed iterations; the median is reported.
    #[arg(long, default_value_t = 10)]
    pub iterations: usize,
    /// Print one JSON object per configuration instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Also print where a training iteration goes: each convolution product per layer shape
    /// (ms and GFLOP/s), the activations, Adam, and the rest.
    #[arg(long)]
    pub profile: bool,
    /// Run every configuration in this process instead of one child process each (peak RSS is
    /// then the maximum so far, not per configuration).
    #[arg(long)]
    pub in_process: bool,
}

pub fn bench_command(choice: DeviceChoice, args: &BenchArgs) -> anyhow::Result<()> {
    let configs = args
        .configs
        .iter()
        .map(|&name| {
            BenchConfig::by_name(name).with_context(|| format!("unknown config `{name}`, use A-D"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let selected = device::select(choice)?;
    let options = BenchOptions {
        batch_size: args.batch as usize,
        warmup: args.warmup,
        iterations: args.iterations,
        profile: args.profile,
    };
    if !args.json {
        outln!(
            "device: {}; {} warm-up + {} timed iterations, batch {}",
            selected.info,
            options.warmup,
            options.iterations,
            options.batch_size
        );
        if let Some(reason) = &selected.fallback_reason {
            outln!("(no GPU: {reason})");
        }
    }
    let mut results = Vec::new();
    for config in configs {
        let result = if args.in_process || args.configs.len() == 1 {
            measure::run(config, &selected.device, options)?
        } else {
            bench_in_child(config, choice, args)?
        };
        if args.json {
            outln!("{}", serde_json::to_string(&result)?);
        } else {
            eprintln!(
                "{}: {:.3} s/iter, {:.1} samples/s (first step {:.1} s)",
                config.name,
                result.train_secs_per_iter,
                result.train_samples_per_sec(),
                result.first_step_secs
            );
        }
        results.push(result);
    }
    if !args.json {
        outln!("{}", measure::format_table(&results).trim_end());
        for profile in results.iter().filter_map(measure::format_profile) {
            outln!("\n{}", profile.trim_end());
        }
        let data_secs = measure::decode_augment_secs(options)?;
        outln!(
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
        .args(["--threads", &rayon::current_num_threads().to_string()])
        .args(["--configs", &config.name.to_string()])
        .args(["--batch", &args.batch.to_string()])
        .args(["--warmup", &args.warmup.to_string()])
        .args(["--iterations", &args.iterations.to_string()])
        .args(args.profile.then_some("--profile"))
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
