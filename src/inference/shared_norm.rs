//! One set of normalisation statistics for many network inputs: the tiles of a large image, or
//! the frames of a video. With batch statistics each input is normalised by its own mean and
//! variance, so neighbouring tiles shift colour against each other and frames flicker; here the
//! statistics each norm layer sees are pooled over the inputs first, then every input is
//! normalised with the pooled ones.
//!
//! Pooling runs each input normalised by its own statistics (as it would run alone) and sums,
//! per layer and channel, the count, the values and their squares. A layer's pooled statistics
//! are then what one batch of all the inputs would give, except that the layers before it
//! normalised each input by its own statistics: pooling each layer after the exact pooled ones
//! of the layers before it would take one pass per norm layer (about seven times the work) for
//! a small difference in the statistics and none in consistency.

use burn::tensor::{Device, Tensor, TensorData};

use crate::error::{Error, Result};
use crate::model::blocks::{Norm2d, Normaliser};
use crate::model::{Dropout, NormKind, NormMode, UnetGenerator};
use crate::platform::readback::host_values;

/// At most this many frames of a sequence are pooled: spread evenly through it, they give the
/// statistics of the whole within sampling noise at a fraction of a second pass over it.
pub const STATISTICS_FRAMES: usize = 64;

/// Whether inputs normalised with `mode` by a network with `kind` norms need pooled statistics
/// to share one normalisation (running statistics and no norm are shared already).
pub fn needs_pooling(kind: NormKind, mode: NormMode) -> bool {
    match kind {
        NormKind::Batch => mode != NormMode::RunningStats,
        NormKind::Instance => true,
        NormKind::None => false,
    }
}

/// The frames whose statistics stand for a sequence: all of them up to [`STATISTICS_FRAMES`],
/// else that many spread evenly from first to last. Chosen from the whole sequence, so every
/// shard of a sharded job pools the same frames and normalises alike.
pub fn statistics_sample<T>(frames: &[T]) -> Vec<&T> {
    let count = frames.len();
    if count <= STATISTICS_FRAMES {
        return frames.iter().collect();
    }
    (0..STATISTICS_FRAMES)
        .map(|i| &frames[i * (count - 1) / (STATISTICS_FRAMES - 1)])
        .collect()
}

/// Per-channel sums of what one norm layer saw.
#[derive(Clone, Debug, Default)]
struct ChannelSums {
    count: f64,
    sum: Vec<f64>,
    sum_squares: Vec<f64>,
}

/// Statistics being pooled over inputs: [`Self::add`] each, then [`Self::finish`].
#[derive(Debug, Default)]
pub struct StatisticsPool {
    /// Per norm call of a forward pass (in visiting order); `None` where the layer is identity.
    layers: Vec<Option<ChannelSums>>,
    inputs: usize,
}

impl StatisticsPool {
    /// Runs `input` through `generator` (each layer normalised by the input's own statistics,
    /// dropout off) and adds what every norm layer saw.
    pub fn add(&mut self, generator: &UnetGenerator, input: Tensor<4>) -> Result<()> {
        let mut gatherer = Gatherer {
            pool: self,
            layer: 0,
            failure: None,
        };
        generator.forward_normalised(input, &mut gatherer, Dropout::Off)?;
        if let Some(failure) = gatherer.failure {
            return Err(failure);
        }
        self.inputs += 1;
        Ok(())
    }

    /// Inputs added so far.
    pub fn inputs(&self) -> usize {
        self.inputs
    }

    /// The pooled mean and biased variance of every norm layer.
    pub fn finish(self) -> Result<SharedStatistics> {
        if self.inputs == 0 {
            return Err(Error::InvalidConfig(
                "no input to gather normalisation statistics from".into(),
            ));
        }
        let layers = self
            .layers
            .into_iter()
            .map(|sums| {
                sums.map(|sums| {
                    let mean: Vec<f64> = sums.sum.iter().map(|s| s / sums.count).collect();
                    let variance = sums
                        .sum_squares
                        .iter()
                        .zip(&mean)
                        .map(|(squares, mean)| (squares / sums.count - mean * mean).max(0.0) as f32)
                        .collect();
                    (mean.into_iter().map(|m| m as f32).collect(), variance)
                })
            })
            .collect();
        Ok(SharedStatistics { layers })
    }

    fn record(&mut self, layer: usize, input: &Tensor<4>) -> Result<()> {
        let [batch, channels, height, width] = input.dims();
        let per_channel = input
            .clone()
            .swap_dims(0, 1)
            .reshape([channels, batch * height * width]);
        let (variance, mean) = per_channel.var_mean_bias(1);
        let mean = host_values(mean, "normalisation statistics")?;
        let variance = host_values(variance, "normalisation statistics")?;
        let count = (batch * height * width) as f64;
        if self.layers.len() <= layer {
            self.layers.resize_with(layer + 1, || None);
        }
        let sums = self.layers[layer].get_or_insert_with(|| ChannelSums {
            count: 0.0,
            sum: vec![0.0; channels],
            sum_squares: vec![0.0; channels],
        });
        if sums.sum.len() != channels {
            return Err(Error::InvalidConfig(format!(
                "norm layer {layer} saw {channels} channels after {}",
                sums.sum.len()
            )));
        }
        sums.count += count;
        for (channel, (&mean, &variance)) in mean.iter().zip(&variance).enumerate() {
            let (m, v) = (f64::from(mean), f64::from(variance));
            sums.sum[channel] += count * m;
            sums.sum_squares[channel] += count * (v + m * m);
        }
        Ok(())
    }
}

/// One forward pass of pooling: each layer normalised by the input's own statistics.
struct Gatherer<'a> {
    pool: &'a mut StatisticsPool,
    layer: usize,
    failure: Option<Error>,
}

impl Normaliser for Gatherer<'_> {
    fn normalise(&mut self, norm: &Norm2d, input: Tensor<4>) -> Tensor<4> {
        if (norm.batch.is_some() || norm.is_instance())
            && self.failure.is_none()
            && let Err(err) = self.pool.record(self.layer, &input)
        {
            self.failure = Some(err);
        }
        self.layer += 1;
        norm.forward(input, NormMode::BatchStats)
    }
}

/// Pooled statistics: the mean and biased variance of each norm layer, on the host.
#[derive(Clone, Debug, PartialEq)]
pub struct SharedStatistics {
    layers: Vec<Option<(Vec<f32>, Vec<f32>)>>,
}

impl SharedStatistics {
    /// A normaliser applying these statistics on `device`, for one forward pass at a time.
    pub fn normaliser(&self, device: &Device) -> SharedNormaliser {
        let to_tensor = |values: &Vec<f32>| {
            Tensor::from_data(TensorData::new(values.clone(), [values.len()]), device)
        };
        SharedNormaliser {
            layer: 0,
            layers: self
                .layers
                .iter()
                .map(|layer| {
                    layer
                        .as_ref()
                        .map(|(mean, variance)| (to_tensor(mean), to_tensor(variance)))
                })
                .collect(),
        }
    }
}

/// Normalises every norm layer with pooled statistics. Call [`Self::start`] before each
/// forward pass.
pub struct SharedNormaliser {
    layer: usize,
    layers: Vec<Option<(Tensor<1>, Tensor<1>)>>,
}

impl SharedNormaliser {
    /// Back to the first layer, for the next forward pass.
    pub fn start(&mut self) -> &mut Self {
        self.layer = 0;
        self
    }
}

impl Normaliser for SharedNormaliser {
    fn normalise(&mut self, norm: &Norm2d, input: Tensor<4>) -> Tensor<4> {
        let statistics = self.layers.get(self.layer).cloned().flatten();
        self.layer += 1;
        match statistics {
            Some((mean, variance)) => norm.forward_with_statistics(input, mean, variance),
            None => norm.forward(input, NormMode::BatchStats),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_sequence_is_sampled_evenly_from_first_to_last() {
        let short: Vec<usize> = (0..10).collect();
        assert_eq!(statistics_sample(&short).len(), 10);
        let long: Vec<usize> = (0..1000).collect();
        let sample = statistics_sample(&long);
        assert_eq!(sample.len(), STATISTICS_FRAMES);
        assert_eq!(*sample[0], 0);
        assert_eq!(*sample[STATISTICS_FRAMES - 1], 999);
        assert!(sample.windows(2).all(|pair| pair[0] < pair[1]));
    }
}
