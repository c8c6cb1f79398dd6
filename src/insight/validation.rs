//! A run's fixed samples and how a generator is scored on them: the dataset a run trains on,
//! its first validation pairs loaded without jitter, and the generator's output for one (batch
//! statistics, no dropout). Training validates with these, and the checkpoint gallery scores
//! every kept checkpoint with the same, so their figures are the same numbers.

use burn::tensor::{Device, Tensor};
use image::DynamicImage;

use crate::config::RunConfig;
use crate::data::augment::{Jitter, Preprocess};
use crate::data::convert::{image_to_planar, planar_to_tensor, tensor_to_images};
use crate::data::loader::{Sample, SampleConfig, load_sample};
use crate::data::report::{Issue, Problem};
use crate::data::{Dataset, DiscoverOptions, PairEntry, Split, discover};
use crate::error::{Error, Result};
use crate::model::{Dropout, NormMode, UnetGenerator};
use crate::training::metrics::Metrics;

/// Validation compares at most this many pairs (the first of the split), to keep it quick.
pub const MAX_VALIDATION_PAIRS: usize = 32;

/// A fixed sample shown in previews or used for validation, with its file name.
#[derive(Clone, Debug, PartialEq)]
pub struct NamedSample {
    /// The pair's file name.
    pub name: String,
    /// The pair as the networks see it.
    pub sample: Sample,
}

/// Discovers the dataset of a run and checks it can be trained on.
pub fn run_dataset(config: &RunConfig) -> Result<Dataset> {
    let min_side_px = match config.data.preprocess {
        Preprocess::Crop => config.data.image_size_px,
        _ => 0,
    };
    let options = DiscoverOptions {
        hint: config.data.layout,
        direction: config.data.direction,
        min_side_px,
    };
    let dataset = discover(&config.data.dataset_dir, &options)?;
    dataset.ensure_trainable()?;
    Ok(dataset)
}

/// Loads up to `count` pairs without random jitter; the pairs that fail are returned as
/// problems beside the samples (a bad file leaves the others usable).
pub fn fixed_samples(
    pairs: &[PairEntry],
    count: usize,
    config: &SampleConfig,
) -> (Vec<NamedSample>, Vec<Problem>) {
    let mut samples = Vec::new();
    let mut problems = Vec::new();
    for pair in pairs.iter().take(count) {
        match load_sample(pair, config, Jitter::none()) {
            Ok(sample) => samples.push(NamedSample {
                name: pair
                    .files
                    .path()
                    .file_name()
                    .map(|name| name.to_string_lossy().to_string())
                    .unwrap_or_default(),
                sample,
            }),
            Err(err) => problems.push(Problem {
                path: pair.files.path().to_path_buf(),
                issue: Issue::Unreadable(err.to_string()),
            }),
        }
    }
    (samples, problems)
}

/// The pairs a run's checkpoints are scored on.
#[derive(Clone, Debug)]
pub struct ValidationPairs {
    /// The samples, in the split's order.
    pub samples: Vec<NamedSample>,
    /// The dataset has no validation split: these are its first training pairs.
    pub from_training_split: bool,
    /// How the run prepares its pairs (channels, size).
    pub sample_config: SampleConfig,
    /// Pairs that could not be loaded.
    pub problems: Vec<Problem>,
}

impl ValidationPairs {
    /// The run's validation pairs, as its training validates with them; a dataset without a
    /// validation split gives its first training pairs (and says so).
    pub fn of_run(config: &RunConfig) -> Result<Self> {
        let dataset = run_dataset(config)?;
        let sample_config = config.sample_config(dataset.synth);
        let validation = dataset.split(Split::Val);
        let from_training_split = validation.is_empty();
        let pairs = if from_training_split {
            dataset.split(Split::Train)
        } else {
            validation
        };
        let (samples, problems) = fixed_samples(&pairs, MAX_VALIDATION_PAIRS, &sample_config);
        Ok(Self {
            samples,
            from_training_split,
            sample_config,
            problems,
        })
    }
}

/// A sample's input as a batch of one, and the generator's output for it (batch statistics, no
/// dropout: how training previews and validates), on `device`.
pub fn generate_tensors(
    generator: &UnetGenerator,
    sample: &Sample,
    input_channels: usize,
    device: &Device,
) -> Result<(Tensor<4>, Tensor<4>)> {
    let input = planar_to_tensor(
        vec![sample.input.clone()],
        [input_channels, sample.height, sample.width],
        device,
    );
    let output = generator.forward(input.clone(), NormMode::BatchStats, Dropout::Off)?;
    Ok((input, output))
}

/// The one image of a generator output `[1, C, H, W]`.
pub fn first_image(output: Tensor<4>) -> Result<DynamicImage> {
    tensor_to_images(output)?
        .pop()
        .ok_or_else(|| Error::Backend("the generator returned no image".into()))
}

/// The generator's output for a sample, and its metrics against the sample's target (the
/// output is quantised to 8 bits first, as a saved result would be).
pub fn score_sample(
    generator: &UnetGenerator,
    sample: &Sample,
    config: &SampleConfig,
    device: &Device,
) -> Result<(DynamicImage, Metrics)> {
    let (_, output) = generate_tensors(generator, sample, config.input_channels, device)?;
    let generated = first_image(output)?;
    let channels = config.output_channels;
    let metrics = Metrics::compare(
        &image_to_planar(&generated, channels),
        &sample.target,
        channels,
        sample.height,
        sample.width,
    );
    Ok((generated, metrics))
}
