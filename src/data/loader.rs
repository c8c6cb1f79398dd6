//! The training data loader: a named prefetch thread that decodes and augments pairs ahead of
//! training and hands over batches of plain `f32` planes through a bounded channel.
//!
//! Every random choice of a sample is drawn from a generator seeded by `(seed, epoch, index)`,
//! so a run is reproducible however far ahead the thread gets, and a resumed run can start at
//! any batch of any epoch.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crossbeam_channel::{Receiver, Sender};
use image::DynamicImage;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

use super::augment::{AugmentConfig, Jitter, augment};
use super::convert::{image_to_planar, planar_to_image};
use super::decode::read_image;
use super::pairs::{Direction, PairEntry, PairFiles};
use super::report::{Issue, Problem};
use super::synth::SynthTask;
use crate::error::{Error, Result};
use crate::util::seed::{derived_rng, stream};

/// What the loader needs to turn pair entries into training samples.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SampleConfig {
    /// Preprocessing.
    pub augment: AugmentConfig,
    /// Which side is the input.
    pub direction: Direction,
    /// The synthesis task for photo datasets.
    pub synth: Option<SynthTask>,
    /// Channels of the input (1 or 3).
    pub input_channels: usize,
    /// Channels of the target (1 or 3).
    pub output_channels: usize,
}

/// One pair ready for the networks: planar `[C, H, W]` values in `[-1, 1]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    /// The input image.
    pub input: Vec<f32>,
    /// The target image.
    pub target: Vec<f32>,
    /// Height in pixels.
    pub height: usize,
    /// Width in pixels.
    pub width: usize,
}

/// Decodes one pair, splits or synthesises it, applies the direction and `jitter`.
pub fn load_sample(entry: &PairEntry, config: &SampleConfig, jitter: Jitter) -> Result<Sample> {
    let (a, b) = load_sides(&entry.files, config.synth)?;
    let (input, target) = match (config.direction, config.synth) {
        (Direction::BtoA, None) => (b, a),
        _ => (a, b),
    };
    let input = augment(&input, &config.augment, jitter);
    let target = augment(&target, &config.augment, jitter);
    let (input, target) = match (&entry.files, config.synth) {
        // Photos are synthesised after cropping: edges at the training size.
        (PairFiles::Photo(_), Some(task)) => task.make_pair(&input),
        _ => (input, target),
    };
    Ok(Sample {
        height: input.height() as usize,
        width: input.width() as usize,
        input: image_to_planar(&input, config.input_channels),
        target: image_to_planar(&target, config.output_channels),
    })
}

/// One pair as the networks see it in training, with `jitter` (resize, crop, flip), as
/// (input, target) pictures: what the Data tab's augmentation preview shows.
pub fn augmented_pair(
    entry: &PairEntry,
    config: &SampleConfig,
    jitter: Jitter,
) -> Result<(DynamicImage, DynamicImage)> {
    let sample = load_sample(entry, config, jitter)?;
    let (height, width) = (sample.height, sample.width);
    Ok((
        planar_to_image(&sample.input, config.input_channels, height, width),
        planar_to_image(&sample.target, config.output_channels, height, width),
    ))
}

/// One pair as (input, target) pictures at full size, for showing it (thumbnails, previews of
/// a synthesis task).
pub fn load_pair_images(
    entry: &PairEntry,
    direction: Direction,
    synth: Option<SynthTask>,
) -> Result<(DynamicImage, DynamicImage)> {
    let (a, b) = load_sides(&entry.files, synth)?;
    Ok(match (direction, synth) {
        (_, Some(task)) => task.make_pair(&a),
        (Direction::BtoA, None) => (b, a),
        (Direction::AtoB, None) => (a, b),
    })
}

/// The two sides (A, B) of a pair in pixels; a photo is returned twice.
fn load_sides(files: &PairFiles, synth: Option<SynthTask>) -> Result<(DynamicImage, DynamicImage)> {
    match files {
        PairFiles::SideBySide(path) => {
            let image = read_image(path)?;
            let half = image.width() / 2;
            if half == 0 {
                return Err(Error::Image {
                    path: path.clone(),
                    reason: "too narrow to hold two halves".into(),
                });
            }
            let a = image.crop_imm(0, 0, half, image.height());
            let b = image.crop_imm(half, 0, half, image.height());
            Ok((a, b))
        }
        PairFiles::Separate { a, b } => {
            let (a_image, b_image) = (read_image(a)?, read_image(b)?);
            let size = |image: &DynamicImage| (image.width(), image.height());
            if size(&a_image) != size(&b_image) {
                return Err(Error::Image {
                    path: b.clone(),
                    reason: format!(
                        "size {:?} differs from its input's {:?}",
                        size(&b_image),
                        size(&a_image)
                    ),
                });
            }
            Ok((a_image, b_image))
        }
        PairFiles::Photo(path) => {
            if synth.is_none() {
                return Err(Error::Image {
                    path: path.clone(),
                    reason: "a plain photo needs a synthesis task to become a pair".into(),
                });
            }
            let photo = read_image(path)?;
            Ok((photo.clone(), photo))
        }
    }
}

/// A batch of training samples of one size.
#[derive(Clone, Debug, PartialEq)]
pub struct Batch {
    /// Inputs, `[B, Cin, H, W]` row-major.
    pub input: Vec<f32>,
    /// Targets, `[B, Cout, H, W]` row-major.
    pub target: Vec<f32>,
    /// `[B, Cin, H, W]`.
    pub input_shape: [usize; 4],
    /// `[B, Cout, H, W]`.
    pub target_shape: [usize; 4],
    /// The epoch it belongs to (0-based).
    pub epoch: usize,
    /// Its position in the epoch (0-based).
    pub index: usize,
    /// Batches in the epoch.
    pub batches_in_epoch: usize,
}

/// What the loader sends.
#[derive(Clone, Debug, PartialEq)]
pub enum LoaderMessage {
    /// The next batch.
    Batch(Batch),
    /// A pair that failed to load, left out of its batch.
    Skipped(Problem),
    /// Every batch of `epoch` has been sent.
    EpochEnd {
        /// The epoch finished.
        epoch: usize,
    },
}

/// Where the loader starts and how it batches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoaderOptions {
    /// Pairs per batch.
    pub batch_size: usize,
    /// Shuffle the pairs every epoch (from the seed).
    pub shuffle: bool,
    /// Seed of the shuffles and augmentations.
    pub seed: u64,
    /// First epoch to load.
    pub start_epoch: usize,
    /// First batch of that epoch (for an exact resume).
    pub start_batch: usize,
    /// Batches decoded ahead of training.
    pub prefetch: usize,
}

/// The prefetch thread and the receiving end of its channel. Dropping it stops the thread.
pub struct Loader {
    receiver: Receiver<LoaderMessage>,
    stop: Arc<AtomicBool>,
    batches_per_epoch: usize,
}

impl Loader {
    /// Starts loading `pairs` (normally the train split) on a thread named `data-loader`.
    pub fn spawn(
        pairs: Vec<PairEntry>,
        config: SampleConfig,
        options: LoaderOptions,
    ) -> Result<Self> {
        if pairs.is_empty() {
            return Err(Error::InvalidConfig("the loader has no pairs".into()));
        }
        if options.batch_size == 0 {
            return Err(Error::InvalidConfig(
                "the batch size must be at least 1".into(),
            ));
        }
        if options.batch_size > 1 && !config.augment.preprocess.fixed_size() {
            return Err(Error::InvalidConfig(format!(
                "batch size {} needs every pair at one size; preprocess {:?} keeps each image's own \
                 aspect, so use batch size 1 or a cropping preprocess",
                options.batch_size, config.augment.preprocess
            )));
        }
        let batches_per_epoch = pairs.len().div_ceil(options.batch_size);
        let (sender, receiver) = crossbeam_channel::bounded(options.prefetch.max(1));
        let stop = Arc::new(AtomicBool::new(false));
        let thread_stop = Arc::clone(&stop);
        std::thread::Builder::new()
            .name("data-loader".into())
            .spawn(move || run(&pairs, &config, options, &sender, &thread_stop))
            .map_err(|err| Error::Backend(format!("could not start the data loader: {err}")))?;
        Ok(Self {
            receiver,
            stop,
            batches_per_epoch,
        })
    }

    /// The next message, waiting for it; `None` once the thread has stopped.
    pub fn next(&self) -> Option<LoaderMessage> {
        self.receiver.recv().ok()
    }

    /// Batches per epoch (the last one may be smaller).
    pub fn batches_per_epoch(&self) -> usize {
        self.batches_per_epoch
    }
}

impl Drop for Loader {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// The generator of one sample's random choices.
pub fn sample_rng(seed: u64, epoch: usize, index: usize) -> StdRng {
    derived_rng(seed, stream::AUGMENT + epoch as u64, index as u64)
}

/// The order of the pairs in `epoch`.
pub fn epoch_order(count: usize, seed: u64, epoch: usize, shuffle: bool) -> Vec<usize> {
    let mut order: Vec<usize> = (0..count).collect();
    if shuffle {
        order.shuffle(&mut derived_rng(seed, stream::SHUFFLE, epoch as u64));
    }
    order
}

fn run(
    pairs: &[PairEntry],
    config: &SampleConfig,
    options: LoaderOptions,
    sender: &Sender<LoaderMessage>,
    stop: &AtomicBool,
) {
    let batches_in_epoch = pairs.len().div_ceil(options.batch_size);
    let mut start_batch = options.start_batch;
    for epoch in options.start_epoch.. {
        let order = epoch_order(pairs.len(), options.seed, epoch, options.shuffle);
        for (index, chunk) in order
            .chunks(options.batch_size)
            .enumerate()
            .skip(start_batch)
        {
            if stop.load(Ordering::Relaxed) {
                return;
            }
            let mut samples = Vec::with_capacity(chunk.len());
            for &pair_index in chunk {
                let entry = &pairs[pair_index];
                let mut rng = sample_rng(options.seed, epoch, pair_index);
                let jitter = Jitter::draw(&config.augment, &mut rng);
                match load_sample(entry, config, jitter) {
                    Ok(sample) => samples.push(sample),
                    Err(err) => {
                        let problem = Problem {
                            path: error_path(&err)
                                .unwrap_or_else(|| entry.files.path().to_path_buf()),
                            issue: Issue::Unreadable(err.to_string()),
                        };
                        if sender.send(LoaderMessage::Skipped(problem)).is_err() {
                            return;
                        }
                    }
                }
            }
            let Some(batch) = stack(samples, config, epoch, index, batches_in_epoch) else {
                continue;
            };
            if sender.send(LoaderMessage::Batch(batch)).is_err() {
                return;
            }
        }
        start_batch = 0;
        if sender.send(LoaderMessage::EpochEnd { epoch }).is_err() {
            return;
        }
    }
}

fn error_path(err: &Error) -> Option<PathBuf> {
    match err {
        Error::Image { path, .. } | Error::Io { path, .. } => Some(path.clone()),
        _ => None,
    }
}

/// Stacks samples of one size into a batch; `None` when every pair of it failed.
fn stack(
    samples: Vec<Sample>,
    config: &SampleConfig,
    epoch: usize,
    index: usize,
    batches_in_epoch: usize,
) -> Option<Batch> {
    let first = samples.first()?;
    let (height, width) = (first.height, first.width);
    let count = samples.len();
    let mut input = Vec::with_capacity(count * config.input_channels * height * width);
    let mut target = Vec::with_capacity(count * config.output_channels * height * width);
    for sample in samples {
        input.extend_from_slice(&sample.input);
        target.extend_from_slice(&sample.target);
    }
    Some(Batch {
        input,
        target,
        input_shape: [count, config.input_channels, height, width],
        target_shape: [count, config.output_channels, height, width],
        epoch,
        index,
        batches_in_epoch,
    })
}
