//! BatchNorm with batch statistics (a training step, and the reference's test-time default) in
//! two parallel passes forward and two backward on the CPU.
//!
//! burn 0.22 builds `batch_norm_train` from generic operations: a mean, a centred copy, its
//! square, a second mean, then the normalisation, each a pass of its own, broadcasting over the
//! channel axis, and the backward pass likewise. On the CPU backend those operations run on one
//! thread, so BatchNorm was most of what did not scale with the cores (docs/performance.md).
//! Here the forward is one reduction pass (per-channel sum, then the centred sum of squares over
//! the same planes while they are in cache) and one write `y = x·scale + shift`; the backward is
//! one reduction (`Σdy`, `Σ(x - mean)·dy`) and one write. The arithmetic is that of PyTorch's
//! CPU kernel (`batch_norm_kernel.cpp`) operation for operation: statistics summed in `f64`, the
//! inverse deviation taken in `f64`, `dx = (dy - Σdy/N - (x - mean)·k)·istd·gamma`. The
//! reductions run in parallel over channels, the writes over the `[H, W]` planes.

use burn::backend::Flex;
use burn::backend::tensor::FloatTensor;
use burn::backend::{AutodiffBackend, Backend};
use burn::tensor::TensorData;
use burn_autodiff::checkpoint::base::Checkpointer;
use burn_autodiff::checkpoint::strategy::CheckpointStrategy;
use burn_autodiff::grads::Gradients;
use burn_autodiff::ops::{Backward, Ops, OpsKind};
use burn_autodiff::{Autodiff, NodeId};
use burn_flex::FlexTensor;
use rayon::prelude::*;

use super::flex::{as_f32, restore};
use super::scratch;
use super::{NormKernels, NormTrainOutput};
use crate::platform::profile::{self, Kind, Operation};

/// Values per parallel task, at least: small planes (the inner layers' 1×1 … 8×8) are grouped
/// so that a task outweighs its scheduling.
const TASK_VALUES: usize = 1 << 14;

/// Partial sums the reductions keep at once: independent chains the compiler turns into vector
/// adds (a single running sum is one long dependency chain).
const LANES: usize = 16;

impl NormKernels for Flex {
    fn norm_train_forward(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
    ) -> NormTrainOutput<Self> {
        let values = x.layout().num_elements();
        let operation = || Operation::elementwise(Kind::BatchNorm, values);
        profile::timed(operation, || forward(x, gamma, beta, epsilon))
    }

    fn norm_train_backward(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        mean: FloatTensor<Self>,
        inverse_deviation: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        let values = x.layout().num_elements();
        let operation = || Operation::elementwise(Kind::BatchNorm, values);
        profile::timed(operation, || {
            backward(x, gamma, mean, inverse_deviation, grad)
        })
    }
}

/// How a `[B, C, …]` tensor's values fall into per-channel planes.
#[derive(Clone, Copy)]
struct Planes {
    batch: usize,
    channels: usize,
    /// Values per plane (`H·W`).
    size: usize,
}

impl Planes {
    fn of(tensor: &FlexTensor) -> Self {
        let shape = tensor.layout().shape();
        let (batch, channels) = (shape[0], shape[1]);
        let size = shape.num_elements() / (batch * channels).max(1);
        Self {
            batch,
            channels,
            size,
        }
    }

    /// Values per channel over the batch: the `N` the statistics divide by.
    fn samples(self) -> usize {
        self.batch * self.size
    }

    /// Channel `channel`'s plane in each image of the batch.
    fn of_channel(self, values: &[f32], channel: usize) -> impl Iterator<Item = &[f32]> {
        (0..self.batch).map(move |image| {
            let start = (image * self.channels + channel) * self.size;
            &values[start..start + self.size]
        })
    }

    /// Channels per reduction task.
    fn channels_per_task(self) -> usize {
        TASK_VALUES.div_ceil(self.samples().max(1))
    }

    /// Planes per write task.
    fn planes_per_task(self) -> usize {
        TASK_VALUES.div_ceil(self.size.max(1))
    }
}

/// Per-channel statistics of a batch, as PyTorch's CPU kernel keeps them.
struct Statistics {
    mean: f32,
    /// Biased variance (what the output is normalised with).
    variance: f32,
    /// `1 / sqrt(variance + epsilon)`, taken in `f64` from the `f64` sum of squares.
    inverse_deviation: f32,
}

/// The output and the per-channel statistics.
fn forward(
    x: FlexTensor,
    gamma: FlexTensor,
    beta: FlexTensor,
    epsilon: f64,
) -> NormTrainOutput<Flex> {
    let (x, dtype) = as_f32(x);
    let (gamma, _) = as_f32(gamma);
    let (beta, _) = as_f32(beta);
    let planes = Planes::of(&x);
    let values = x.storage::<f32>();
    let count = planes.samples() as f64;
    // PyTorch sums the values and the squares `(x - mean)²` (taken in f32) in f64.
    let statistics: Vec<Statistics> = (0..planes.channels)
        .into_par_iter()
        .with_min_len(planes.channels_per_task())
        .map(|channel| {
            let sum: f64 = planes.of_channel(values, channel).map(wide_sum).sum();
            let mean = (sum / count) as f32;
            let squares: f64 = planes
                .of_channel(values, channel)
                .map(|plane| centred_squares(plane, mean))
                .sum();
            let variance = f64::from(squares as f32) / count;
            Statistics {
                mean,
                variance: variance as f32,
                inverse_deviation: (1.0 / (variance + epsilon).sqrt()) as f32,
            }
        })
        .collect();
    let (gamma, beta) = (gamma.storage::<f32>(), beta.storage::<f32>());
    // y = (x - mean) / sqrt(var + eps) · gamma + beta = x · scale + shift.
    let affine: Vec<(f32, f32)> = statistics
        .iter()
        .zip(gamma.iter().zip(beta))
        .map(|(channel, (&gamma, &beta))| {
            let scale = channel.inverse_deviation * gamma;
            (scale, beta - channel.mean * scale)
        })
        .collect();
    let mut output = scratch::zeroed(values.len());
    output
        .par_chunks_mut(planes.size.max(1))
        .zip(values.par_chunks(planes.size.max(1)))
        .enumerate()
        .with_min_len(planes.planes_per_task())
        .for_each(|(plane, (out, input))| {
            let (scale, shift) = affine[plane % planes.channels];
            for (out, &input) in out.iter_mut().zip(input) {
                *out = input * scale + shift;
            }
        });
    let shape = x.layout().shape().clone();
    let per_channel = |field: fn(&Statistics) -> f32| {
        let values: Vec<f32> = statistics.iter().map(field).collect();
        restore(per_channel(values), dtype)
    };
    NormTrainOutput {
        output: restore(FlexTensor::from_data(TensorData::new(output, shape)), dtype),
        mean: per_channel(|channel| channel.mean),
        variance: per_channel(|channel| channel.variance),
        inverse_deviation: per_channel(|channel| channel.inverse_deviation),
    }
}

/// `(dx, dgamma, dbeta)` given the forward's input, statistics and the output gradient.
fn backward(
    x: FlexTensor,
    gamma: FlexTensor,
    mean: FlexTensor,
    inverse_deviation: FlexTensor,
    grad: FlexTensor,
) -> (FlexTensor, FlexTensor, FlexTensor) {
    let (x, _) = as_f32(x);
    let (gamma, _) = as_f32(gamma);
    let (mean, _) = as_f32(mean);
    let (inverse_deviation, _) = as_f32(inverse_deviation);
    let (mut grad, dtype) = as_f32(grad);
    let planes = Planes::of(&x);
    let (input, means) = (x.storage::<f32>(), mean.storage::<f32>());
    // Σdy and Σ(x - mean)·dy per channel: f32 lanes within a plane, f64 across planes, as
    // PyTorch's vectorised reductions.
    let sums: Vec<(f64, f64)> = {
        let grads = grad.storage::<f32>();
        (0..planes.channels)
            .into_par_iter()
            .with_min_len(planes.channels_per_task())
            .map(|channel| {
                let mean = means[channel];
                planes
                    .of_channel(grads, channel)
                    .zip(planes.of_channel(input, channel))
                    .fold((0.0, 0.0), |(sum, dot), (dy, x)| {
                        (sum + lane_sum(dy), dot + centred_products(dy, x, mean))
                    })
            })
            .collect()
    };
    let count = planes.samples();
    let (gammas, deviations) = (gamma.storage::<f32>(), inverse_deviation.storage::<f32>());
    // PyTorch's `batch_norm_cpu_backward_contiguous_impl`, operation for operation:
    // dx = (dy - Σdy/N - (x - mean)·k)·istd·gamma with k = Σ(x - mean)·dy·istd²/N.
    let coefficients: Vec<Coefficients> = sums
        .iter()
        .enumerate()
        .map(|(channel, &(sum, dot))| {
            let inverse = deviations[channel];
            Coefficients {
                mean: means[channel],
                k: dot as f32 * inverse * inverse / count as f32,
                grad_mean: (sum / count as f64) as f32,
                inverse,
                gamma: gammas[channel],
            }
        })
        .collect();
    let size = planes.size.max(1);
    // The output gradient is usually this step's own buffer: overwritten in place.
    let input_grad = match grad.try_storage_mut::<f32>() {
        Some(grads) => {
            grads
                .par_chunks_mut(size)
                .zip(input.par_chunks(size))
                .enumerate()
                .with_min_len(planes.planes_per_task())
                .for_each(|(plane, (dx, x))| {
                    let channel = &coefficients[plane % planes.channels];
                    for (dx, &x) in dx.iter_mut().zip(x) {
                        *dx = channel.input_grad(*dx, x);
                    }
                });
            grad
        }
        None => {
            let grads = grad.storage::<f32>();
            let mut output = scratch::zeroed(grads.len());
            output
                .par_chunks_mut(size)
                .zip(grads.par_chunks(size).zip(input.par_chunks(size)))
                .enumerate()
                .with_min_len(planes.planes_per_task())
                .for_each(|(plane, (dx, (dy, x)))| {
                    let channel = &coefficients[plane % planes.channels];
                    for ((dx, &dy), &x) in dx.iter_mut().zip(dy).zip(x) {
                        *dx = channel.input_grad(dy, x);
                    }
                });
            let shape = grad.layout().shape().clone();
            FlexTensor::from_data(TensorData::new(output, shape))
        }
    };
    let gamma_grads = sums
        .iter()
        .zip(deviations)
        .map(|(&(_, dot), &inverse)| (dot * f64::from(inverse)) as f32)
        .collect();
    let beta_grads = sums.iter().map(|&(sum, _)| sum as f32).collect();
    (
        restore(input_grad, dtype),
        restore(per_channel(gamma_grads), dtype),
        restore(per_channel(beta_grads), dtype),
    )
}

/// One channel's terms of the input gradient.
struct Coefficients {
    mean: f32,
    k: f32,
    grad_mean: f32,
    inverse: f32,
    gamma: f32,
}

impl Coefficients {
    /// `dx` at one position from its `dy` and `x`.
    fn input_grad(&self, dy: f32, x: f32) -> f32 {
        (dy - self.grad_mean - (x - self.mean) * self.k) * self.inverse * self.gamma
    }
}

/// A `[channels]` tensor.
fn per_channel(values: Vec<f32>) -> FlexTensor {
    let channels = values.len();
    FlexTensor::from_data(TensorData::new(values, [channels]))
}

/// `Σ values` in `f64`.
fn wide_sum(values: &[f32]) -> f64 {
    let (blocks, rest) = values.as_chunks::<LANES>();
    let mut lanes = [0.0f64; LANES];
    for block in blocks {
        for lane in 0..LANES {
            lanes[lane] += f64::from(block[lane]);
        }
    }
    lanes.iter().sum::<f64>() + rest.iter().map(|&value| f64::from(value)).sum::<f64>()
}

/// `Σ (values - mean)²`, each square in `f32`, the sum in `f64`.
fn centred_squares(values: &[f32], mean: f32) -> f64 {
    let square = |value: f32| f64::from((value - mean) * (value - mean));
    let (blocks, rest) = values.as_chunks::<LANES>();
    let mut lanes = [0.0f64; LANES];
    for block in blocks {
        for lane in 0..LANES {
            lanes[lane] += square(block[lane]);
        }
    }
    lanes.iter().sum::<f64>() + rest.iter().map(|&value| square(value)).sum::<f64>()
}

/// `Σ values` over [`LANES`] `f32` partial sums.
fn lane_sum(values: &[f32]) -> f64 {
    let (blocks, rest) = values.as_chunks::<LANES>();
    let mut lanes = [0.0f32; LANES];
    for block in blocks {
        for lane in 0..LANES {
            lanes[lane] += block[lane];
        }
    }
    total(lanes, rest.iter().copied())
}

/// `Σ dy · (x - mean)` over [`LANES`] `f32` partial sums.
fn centred_products(dy: &[f32], x: &[f32], mean: f32) -> f64 {
    let (dy_blocks, dy_rest) = dy.as_chunks::<LANES>();
    let (x_blocks, x_rest) = x.as_chunks::<LANES>();
    let mut lanes = [0.0f32; LANES];
    for (dy, x) in dy_blocks.iter().zip(x_blocks) {
        for lane in 0..LANES {
            lanes[lane] += (x[lane] - mean) * dy[lane];
        }
    }
    let rest = dy_rest.iter().zip(x_rest).map(|(&dy, &x)| (x - mean) * dy);
    total(lanes, rest)
}

/// The lanes and the values left over, summed in `f32` as a vector reduction ends.
fn total(lanes: [f32; LANES], rest: impl Iterator<Item = f32>) -> f64 {
    f64::from(lanes.iter().sum::<f32>() + rest.sum::<f32>())
}

/// Backward step of [`NormKernels::norm_train_forward`].
#[derive(Debug)]
struct BatchNormBackward;

impl<B: Backend + NormKernels> Backward<B, 3> for BatchNormBackward {
    /// The checkpointed input and scale, the batch's mean and inverse deviation.
    type State = (
        NodeId,
        NodeId,
        B::FloatTensorPrimitive,
        B::FloatTensorPrimitive,
    );

    fn backward(
        self,
        ops: Ops<Self::State, 3>,
        grads: &mut Gradients,
        checkpointer: &mut Checkpointer,
    ) {
        let [node_x, node_gamma, node_beta] = ops.parents;
        let grad = grads.consume::<B>(&ops.node);
        let (x_state, gamma_state, mean, inverse_deviation) = ops.state;
        let x = checkpointer.retrieve_node_output::<B::FloatTensorPrimitive>(x_state);
        let gamma = checkpointer.retrieve_node_output::<B::FloatTensorPrimitive>(gamma_state);
        let (x_grad, gamma_grad, beta_grad) =
            B::norm_train_backward(x, gamma, mean, inverse_deviation, grad);
        for (node, grad) in [
            (node_x, x_grad),
            (node_gamma, gamma_grad),
            (node_beta, beta_grad),
        ] {
            if let Some(node) = node {
                grads.register::<B>(node.id, grad);
            }
        }
    }
}

impl<B: Backend + NormKernels, C: CheckpointStrategy> NormKernels for Autodiff<B, C> {
    fn norm_train_forward(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
    ) -> NormTrainOutput<Self> {
        let prepared = BatchNormBackward
            .prepare::<C>([x.node(), gamma.node(), beta.node()])
            .compute_bound()
            .stateful();
        let inner = |x: FloatTensor<Self>, gamma: FloatTensor<Self>| {
            B::norm_train_forward(
                x.into_primitive(),
                gamma.into_primitive(),
                beta.into_primitive(),
                epsilon,
            )
        };
        let (output, mean, variance, inverse_deviation) = match prepared {
            OpsKind::Tracked(mut prep) => {
                let x_state = prep.checkpoint(&x);
                let gamma_state = prep.checkpoint(&gamma);
                let NormTrainOutput {
                    output,
                    mean,
                    variance,
                    inverse_deviation,
                } = inner(x, gamma);
                let state = (
                    x_state,
                    gamma_state,
                    mean.clone(),
                    inverse_deviation.clone(),
                );
                (
                    prep.finish(state, output),
                    mean,
                    variance,
                    inverse_deviation,
                )
            }
            OpsKind::UnTracked(prep) => {
                let NormTrainOutput {
                    output,
                    mean,
                    variance,
                    inverse_deviation,
                } = inner(x, gamma);
                (prep.finish(output), mean, variance, inverse_deviation)
            }
        };
        let detached = <Self as AutodiffBackend>::from_inner;
        NormTrainOutput {
            output,
            mean: detached(mean),
            variance: detached(variance),
            inverse_deviation: detached(inverse_deviation),
        }
    }

    /// Only ever called inside a backward pass, so it is not differentiated itself.
    fn norm_train_backward(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        mean: FloatTensor<Self>,
        inverse_deviation: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        let (x_grad, gamma_grad, beta_grad) = B::norm_train_backward(
            x.into_primitive(),
            gamma.into_primitive(),
            mean.into_primitive(),
            inverse_deviation.into_primitive(),
            grad.into_primitive(),
        );
        let tracked = <Self as AutodiffBackend>::from_inner;
        (tracked(x_grad), tracked(gamma_grad), tracked(beta_grad))
    }
}
