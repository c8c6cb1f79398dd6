//! The performance benchmark: training iterations and generator inference for the reference's
//! configurations A–D, timed as the reference was (median after warm-up; batch 1 unless asked),
//! with the first step's time (kernel compilation and tuning on a GPU) and the process's peak
//! resident memory.

use std::time::Instant;

use burn::module::Module;
use burn::tensor::{Device, Distribution, Tensor};
use rand::SeedableRng;
use serde::{Deserialize, Serialize};

use pix2pix_studio::config::TrainingConfig;
use pix2pix_studio::error::{Error, Result};
use pix2pix_studio::model::{Dropout, NormMode, PatchDiscriminatorConfig, UnetGeneratorConfig};
use pix2pix_studio::platform::profile::{ProfileEntry, Recording, Totals};
use pix2pix_studio::platform::readback::host_data;
use pix2pix_studio::platform::threads::on_global_pool;
use pix2pix_studio::training::{TrainingState, train_step};

/// One benchmark configuration, named as in the reference's table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BenchConfig {
    /// Letter in the reference's table.
    pub name: char,
    /// Image side in pixels.
    pub image_size_px: usize,
    /// U-Net depth.
    pub num_downs: usize,
    /// Generator and discriminator width (ngf = ndf).
    pub width: usize,
}

/// The reference's configurations A–D.
pub const CONFIGS: [BenchConfig; 4] = [
    BenchConfig {
        name: 'A',
        image_size_px: 256,
        num_downs: 8,
        width: 64,
    },
    BenchConfig {
        name: 'B',
        image_size_px: 128,
        num_downs: 7,
        width: 64,
    },
    BenchConfig {
        name: 'C',
        image_size_px: 128,
        num_downs: 7,
        width: 32,
    },
    BenchConfig {
        name: 'D',
        image_size_px: 64,
        num_downs: 6,
        width: 32,
    },
];

/// The reference's timings on this kind of machine (PyTorch 2.15 CPU, 2 threads; medians of
/// `scripts/bench_reference.py`, 2026-12-01), s/iter.
pub fn reference_secs_per_iter(name: char) -> Option<f64> {
    match name {
        'A' => Some(0.95),
        'B' => Some(0.45),
        'C' => Some(0.098),
        'D' => Some(0.070),
        _ => None,
    }
}

impl BenchConfig {
    /// Looks a configuration up by its letter.
    pub fn by_name(name: char) -> Option<Self> {
        CONFIGS
            .iter()
            .copied()
            .find(|c| c.name.eq_ignore_ascii_case(&name))
    }

    /// The training configuration it stands for: the reference's defaults at this size.
    pub fn training_config(&self) -> TrainingConfig {
        TrainingConfig::new(
            UnetGeneratorConfig::new()
                .with_num_downs(self.num_downs)
                .with_ngf(self.width),
            PatchDiscriminatorConfig::new().with_ndf(self.width),
        )
    }
}

/// Timings of one configuration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BenchResult {
    /// The configuration.
    pub config: BenchConfig,
    /// Pairs per training iteration and images per inference.
    #[serde(default = "one")]
    pub batch_size: usize,
    /// Whether it ran on the CPU (the reference timings in the table are the CPU's).
    #[serde(default = "yes")]
    pub on_cpu: bool,
    /// Seconds of the first training iteration: on a GPU, with kernel compilation and tuning
    /// for its shapes (less where the tuning cache already knows them).
    #[serde(default)]
    pub first_step_secs: f64,
    /// Median seconds per training iteration (G forward, D update, G update).
    pub train_secs_per_iter: f64,
    /// Median seconds of one generator forward with running statistics and no dropout.
    pub infer_eval_secs: f64,
    /// Median seconds of one generator forward with batch statistics and dropout (the
    /// reference's default test mode).
    pub infer_train_mode_secs: f64,
    /// Peak resident memory of the process after the run, in bytes (Linux only).
    pub peak_rss_bytes: Option<u64>,
    /// Generator parameters.
    pub generator_params: usize,
    /// Discriminator parameters.
    pub discriminator_params: usize,
    /// With [`BenchOptions::profile`]: the timed training iterations' operations, per
    /// iteration (calls and seconds divided by the iterations), the slowest first.
    #[serde(default)]
    pub profile: Option<TrainingProfile>,
}

fn one() -> usize {
    1
}

fn yes() -> bool {
    true
}

impl BenchResult {
    /// Training pairs per second (the batch over the median iteration).
    pub fn train_samples_per_sec(&self) -> f64 {
        self.batch_size as f64 / self.train_secs_per_iter.max(f64::MIN_POSITIVE)
    }
}

/// Where a training iteration's time goes: the timed operations and the mean iteration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainingProfile {
    /// Mean seconds per iteration over the profiled iterations.
    pub mean_secs_per_iter: f64,
    /// Each operation's calls and seconds per iteration, the slowest first.
    pub entries: Vec<ProfileEntry>,
}

/// How many iterations to time, and on how large a batch.
#[derive(Clone, Copy, Debug)]
pub struct BenchOptions {
    /// Pairs per training iteration, images per inference.
    pub batch_size: usize,
    /// Untimed iterations first (the first of them is timed alone as the first step).
    pub warmup: usize,
    /// Timed iterations (the median is reported).
    pub iterations: usize,
    /// Also time each convolution product, activation and Adam step of the timed training
    /// iterations ([`pix2pix_studio::platform::profile`]).
    pub profile: bool,
}

/// Runs the training and inference benchmark of `config` on `device`.
pub fn run(config: BenchConfig, device: &Device, options: BenchOptions) -> Result<BenchResult> {
    if options.batch_size == 0 {
        return Err(Error::InvalidConfig(
            "the batch size must be at least 1".into(),
        ));
    }
    let training = config.training_config();
    let mut state = TrainingState::new(&training, device)?;
    let size = config.image_size_px;
    let shape = [options.batch_size, 3, size, size];
    let random =
        |device: &Device| Tensor::<4>::random(shape, Distribution::Uniform(-1.0, 1.0), device);
    let input = random(&state.device);
    let target = random(&state.device);

    let mut step = || {
        // On the pool, as the training worker runs its steps.
        let losses = on_global_pool(|| {
            train_step(
                &mut state,
                input.clone(),
                target.clone(),
                training.learning_rate,
            )
        })?;
        if losses.is_finite() {
            Ok(())
        } else {
            Err(Error::NonFinite(format!("benchmark losses {losses:?}")))
        }
    };
    let first_step_secs = time_iterations(1, &mut step)?[0];
    repeat(options.warmup.saturating_sub(1), &mut step)?;
    let recording = options.profile.then(Recording::start);
    let mut train_times = time_iterations(options.iterations, &mut step)?;
    let profile = recording.map(|recording| per_iteration(recording.finish(), &train_times));
    let train = pix2pix_studio::util::stats::median(&mut train_times);

    let generator = state.generator.valid();
    let plain_device = device.clone().inner();
    let input = random(&plain_device);
    let sync = |output: Tensor<4>| {
        // Reading one value forces the whole forward to finish on asynchronous devices.
        host_data(
            output.slice([0..1, 0..1, 0..1, 0..1]),
            "the generated image",
        )
        .map(|_| ())
    };
    let infer_eval = time_median(options, || {
        sync(generator.forward(input.clone(), NormMode::RunningStats, Dropout::Off)?)
    })?;
    let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    let infer_train_mode = time_median(options, || {
        let masks = generator.sample_dropout_masks(shape, &mut rng, &plain_device);
        sync(generator.forward(input.clone(), NormMode::BatchStats, Dropout::Masks(&masks))?)
    })?;

    Ok(BenchResult {
        config,
        batch_size: options.batch_size,
        on_cpu: pix2pix_studio::platform::device::is_host_memory(device),
        first_step_secs,
        train_secs_per_iter: train,
        infer_eval_secs: infer_eval,
        infer_train_mode_secs: infer_train_mode,
        peak_rss_bytes: peak_rss_bytes(),
        generator_params: generator.num_params(),
        discriminator_params: state.discriminator.num_params(),
        profile,
    })
}

/// A recording over `times.len()` iterations, divided down to one iteration.
fn per_iteration(entries: Vec<ProfileEntry>, times: &[f64]) -> TrainingProfile {
    let iterations = times.len().max(1);
    let entries = entries
        .into_iter()
        .map(|entry| ProfileEntry {
            operation: entry.operation,
            totals: Totals {
                calls: entry.totals.calls / iterations as u64,
                secs: entry.totals.secs / iterations as f64,
            },
        })
        .collect();
    TrainingProfile {
        mean_secs_per_iter: times.iter().sum::<f64>() / iterations as f64,
        entries,
    }
}

/// Runs `work` `warmup` times untimed, then `iterations` times timed; returns the median.
fn time_median(options: BenchOptions, mut work: impl FnMut() -> Result<()>) -> Result<f64> {
    repeat(options.warmup, &mut work)?;
    let mut times = time_iterations(options.iterations, &mut work)?;
    Ok(pix2pix_studio::util::stats::median(&mut times))
}

/// Runs `work` `count` times.
fn repeat(count: usize, work: &mut impl FnMut() -> Result<()>) -> Result<()> {
    (0..count).try_for_each(|_| work())
}

/// Runs `work` `iterations` times (at least once) and returns each run's seconds.
fn time_iterations(iterations: usize, work: &mut impl FnMut() -> Result<()>) -> Result<Vec<f64>> {
    let mut times = Vec::with_capacity(iterations);
    for _ in 0..iterations.max(1) {
        let start = Instant::now();
        work()?;
        times.push(start.elapsed().as_secs_f64());
    }
    Ok(times)
}

/// The process's peak resident set size (`VmHWM`), where the OS reports it.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Median seconds to decode one 256 px JPEG pair (a 512×256 A|B file) and apply the default
/// preprocessing (resize to 286, random 256 crop and flip) to both halves, planar `f32` out.
pub fn decode_augment_secs(options: BenchOptions) -> Result<f64> {
    use pix2pix_studio::data::augment::{AugmentConfig, Jitter, Preprocess};
    use pix2pix_studio::data::loader::{SampleConfig, load_sample};
    use pix2pix_studio::data::pairs::{Direction, PairEntry, PairFiles, Split};

    let dir = std::env::temp_dir().join(format!("pix2pix-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|err| Error::io(&dir, err))?;
    let path = dir.join("pair.jpg");
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let (a, b) = pix2pix_studio::samples::facades::draw(&mut rng, 256);
    let mut joined = image::RgbImage::new(512, 256);
    for (x, y, pixel) in joined.enumerate_pixels_mut() {
        *pixel = if x < 256 {
            *a.get_pixel(x, y)
        } else {
            *b.get_pixel(x - 256, y)
        };
    }
    joined.save(&path).map_err(|err| Error::Image {
        path: path.clone(),
        reason: err.to_string(),
    })?;
    let entry = PairEntry {
        split: Split::Train,
        files: PairFiles::SideBySide(path),
        side_px: (256, 256),
    };
    let config = SampleConfig {
        augment: AugmentConfig::new(Preprocess::ResizeAndCrop, 256, 256),
        direction: Direction::AtoB,
        synth: None,
        input_channels: 3,
        output_channels: 3,
    };
    let secs = time_median(options, || {
        let jitter = Jitter::draw(&config.augment, &mut rng);
        load_sample(&entry, &config, jitter).map(|_| ())
    });
    let _ = std::fs::remove_dir_all(&dir);
    secs
}

/// The table the `bench` command prints, with the reference's published timings beside ours.
pub fn format_table(results: &[BenchResult]) -> String {
    let mut table = String::from(
        "| cfg | input | generator | ngf/ndf | batch | s / iter | samples / s | first step | ref s / iter | ratio | G infer eval | G infer train-mode | peak RSS |\n\
         | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n",
    );
    for r in results {
        let c = r.config;
        // The reference's timings are one pair at a time on this project's 2-core CPU.
        let reference = reference_secs_per_iter(c.name).filter(|_| r.on_cpu && r.batch_size == 1);
        let ratio = reference.map_or("-".into(), |s| format!("{:.2}", r.train_secs_per_iter / s));
        let rss = r.peak_rss_bytes.map_or("-".into(), |b| {
            format!("{:.2} GiB", b as f64 / (1u64 << 30) as f64)
        });
        table.push_str(&format!(
            "| {} | {} | U-Net num_downs {} | {}/{} | {} | {:.3} | {:.1} | {:.1} s | {} | {} | {:.4} s | {:.4} s | {} |\n",
            c.name,
            c.image_size_px,
            c.num_downs,
            c.width,
            c.width,
            r.batch_size,
            r.train_secs_per_iter,
            r.train_samples_per_sec(),
            r.first_step_secs,
            reference.map_or("-".into(), |s| format!("{s:.3}")),
            ratio,
            r.infer_eval_secs,
            r.infer_train_mode_secs,
            rss,
        ));
    }
    table
}

/// The `--profile` table of one configuration: per kind, then per operation, with the rest of
/// the iteration (concatenations, losses, allocation, autodiff) as one line.
pub fn format_profile(result: &BenchResult) -> Option<String> {
    let profile = result.profile.as_ref()?;
    let iteration = profile.mean_secs_per_iter;
    let share = |secs: f64| 100.0 * secs / iteration.max(f64::MIN_POSITIVE);
    let mut text = format!(
        "config {}: {:.3} s per training iteration (mean of the profiled ones)\n",
        result.config.name, iteration
    );
    let mut by_kind = std::collections::BTreeMap::<&str, f64>::new();
    for entry in &profile.entries {
        *by_kind.entry(entry.operation.kind.label()).or_default() += entry.totals.secs;
    }
    let timed: f64 = by_kind.values().sum();
    for (kind, secs) in &by_kind {
        text.push_str(&format!(
            "  {kind}: {:.1} ms ({:.0} %)\n",
            secs * 1e3,
            share(*secs)
        ));
    }
    let rest = iteration - timed;
    text.push_str(&format!(
        "  everything else (concatenation, losses, autodiff, allocation): {:.1} ms ({:.0} %)\n\n",
        rest * 1e3,
        share(rest)
    ));
    text.push_str(
        "| operation | shape | calls | ms / iter | share | GFLOP/s |\n| --- | --- | --- | --- | --- | --- |\n",
    );
    for entry in &profile.entries {
        let (operation, totals) = (&entry.operation, entry.totals);
        let flops = operation.flops() * totals.calls as f64;
        let rate = if flops > 0.0 && totals.secs > 0.0 {
            format!("{:.0}", flops / totals.secs / 1e9)
        } else {
            "-".into()
        };
        text.push_str(&format!(
            "| {} | {} | {} | {:.2} | {:.1} % | {} |\n",
            operation.kind.label(),
            operation.describe(),
            totals.calls,
            totals.secs * 1e3,
            share(totals.secs),
            rate
        ));
    }
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_profile_table_lists_each_operation_and_the_rest_of_the_iteration() {
        use pix2pix_studio::platform::profile::{Kind, Operation};

        let conv = Operation::conv(Kind::Conv, [64, 128, 128, 128, 4, 2, 1]);
        let entry = |operation, secs| ProfileEntry {
            operation,
            totals: Totals { calls: 2, secs },
        };
        let result = BenchResult {
            config: CONFIGS[0],
            batch_size: 1,
            on_cpu: true,
            first_step_secs: 1.0,
            train_secs_per_iter: 1.0,
            infer_eval_secs: 0.1,
            infer_train_mode_secs: 0.1,
            peak_rss_bytes: None,
            generator_params: 0,
            discriminator_params: 0,
            profile: Some(TrainingProfile {
                mean_secs_per_iter: 1.0,
                entries: vec![
                    entry(conv, 0.5),
                    entry(Operation::elementwise(Kind::Adam, 54_400_000), 0.1),
                ],
            }),
        };
        let table = format_profile(&result).unwrap();
        // 2 calls of 2·64·128·16·64·64 flops in 0.5 s.
        assert!(
            table.contains("| conv | 64→128 @128×128 k4 s2 | 2 | 500.00 | 50.0 % | 4 |"),
            "{table}"
        );
        assert!(
            table.contains("| adam | 54.4 M values | 2 | 100.00 | 10.0 % | - |"),
            "{table}"
        );
        assert!(
            table.contains(
                "everything else (concatenation, losses, autodiff, allocation): 400.0 ms (40 %)"
            ),
            "{table}"
        );
        let without = BenchResult {
            profile: None,
            ..result
        };
        assert!(format_profile(&without).is_none());
    }

    #[test]
    fn a_batch_on_a_gpu_shows_samples_per_second_and_no_cpu_reference() {
        let result = |batch_size, on_cpu| BenchResult {
            config: CONFIGS[0],
            batch_size,
            on_cpu,
            first_step_secs: 44.5,
            train_secs_per_iter: 0.5,
            infer_eval_secs: 0.1,
            infer_train_mode_secs: 0.1,
            peak_rss_bytes: None,
            generator_params: 0,
            discriminator_params: 0,
            profile: None,
        };
        let table = format_table(&[result(8, false), result(1, true)]);
        let rows: Vec<&str> = table.lines().skip(2).collect();
        assert!(
            rows[0].starts_with(
                "| A | 256 | U-Net num_downs 8 | 64/64 | 8 | 0.500 | 16.0 | 44.5 s | - | - |"
            ),
            "{table}"
        );
        // One pair on the CPU: the reference's 0.95 s beside ours.
        assert!(
            rows[1].contains("| 1 | 0.500 | 2.0 | 44.5 s | 0.950 | 0.53 |"),
            "{table}"
        );
    }

    #[test]
    fn configs_match_the_reference_table() {
        let a = BenchConfig::by_name('a').unwrap();
        assert_eq!((a.image_size_px, a.num_downs, a.width), (256, 8, 64));
        assert!(BenchConfig::by_name('E').is_none());
    }
}
