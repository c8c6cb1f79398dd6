//! The layers both networks are built from: 4×4 convolutions, transposed convolutions and the
//! normalisation layers, with PyTorch's weight layout and BatchNorm semantics.
//!
//! These are written here rather than taken from `burn::nn` because the reference's exact
//! behaviour is the point: PyTorch's `running_var` update uses the *unbiased* batch variance
//! (burn's `BatchNorm` stores the biased one), `num_batches_tracked` must exist for a state dict
//! to load in PyTorch, and whether a forward pass uses batch or running statistics has to be an
//! explicit argument (burn decides it from the device). The convolutions run on
//! [`crate::platform::kernels`] (fast CPU kernels, burn's own convolutions on a GPU).

use burn::module::{Module, Param, RunningState};
use burn::tensor::Tensor;
use burn::tensor::module::batch_norm;
use serde::{Deserialize, Serialize};

use super::init::WeightInit;
use crate::platform::kernels::{batch_norm_train, conv_transpose2d, conv2d};

/// Kernel size of every convolution in both networks.
pub const KERNEL: usize = 4;
/// BatchNorm / InstanceNorm epsilon (PyTorch's default).
pub const NORM_EPS: f64 = 1e-5;
/// BatchNorm momentum for the running statistics (PyTorch's default).
pub const NORM_MOMENTUM: f64 = 0.1;
/// Negative slope of every LeakyReLU in both networks.
pub const LEAKY_SLOPE: f64 = 0.2;

/// The normalisation layer the networks use (the reference's `--norm`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum NormKind {
    /// BatchNorm2d with learned scale and shift and running statistics (the reference default).
    #[default]
    Batch,
    /// InstanceNorm2d without parameters; convolutions then carry a bias, as in the reference.
    Instance,
    /// No normalisation (the reference's `none`: convolutions stay without bias).
    None,
}

impl NormKind {
    /// Whether convolutions followed by this norm have a bias: the reference's
    /// `use_bias = norm_layer == InstanceNorm2d`.
    pub fn conv_bias(self) -> bool {
        self == NormKind::Instance
    }
}

/// How BatchNorm layers normalise in one forward pass. Instance norm always uses the image's own
/// statistics and ignores this.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NormMode {
    /// A training step: batch statistics, and the running statistics move (momentum 0.1).
    Train,
    /// The batch's own statistics without touching the running ones: the reference's default
    /// behaviour at test time (it never calls `eval()` unless `--eval`).
    BatchStats,
    /// The stored running statistics: PyTorch's `eval()`, the reference's `--eval`.
    RunningStats,
}

/// A 2D convolution, weight `[out, in, k, k]` as in PyTorch (4×4 with padding 1 everywhere but
/// in PixelGAN's 1×1 layers).
#[derive(Module, Debug)]
pub struct Conv {
    /// `[out_channels, in_channels, 4, 4]`.
    pub weight: Param<Tensor<4>>,
    /// `[out_channels]`, where the reference has one.
    pub bias: Option<Param<Tensor<1>>>,
    #[module(skip)]
    stride: usize,
    #[module(skip)]
    padding: usize,
}

impl Conv {
    /// A convolution from its weights.
    pub fn new(weight: Tensor<4>, bias: Option<Tensor<1>>, stride: usize, padding: usize) -> Self {
        Self {
            weight: Param::from_tensor(weight),
            bias: bias.map(Param::from_tensor),
            stride,
            padding,
        }
    }

    /// Applies the convolution: `[B, in, H, W]` -> `[B, out, H', W']`.
    pub fn forward(&self, input: Tensor<4>) -> Tensor<4> {
        conv2d(
            input,
            self.weight.val(),
            self.bias.as_ref().map(Param::val),
            self.stride,
            self.padding,
        )
    }
}

/// A stride-2 transposed convolution with a 4×4 kernel and padding 1 (doubles H and W), weight
/// `[in, out, 4, 4]` as in PyTorch.
#[derive(Module, Debug)]
pub struct ConvTranspose {
    /// `[in_channels, out_channels, 4, 4]`.
    pub weight: Param<Tensor<4>>,
    /// `[out_channels]`, where the reference has one.
    pub bias: Option<Param<Tensor<1>>>,
}

impl ConvTranspose {
    /// A transposed convolution from its weights.
    pub fn new(weight: Tensor<4>, bias: Option<Tensor<1>>) -> Self {
        Self {
            weight: Param::from_tensor(weight),
            bias: bias.map(Param::from_tensor),
        }
    }

    /// Applies it: `[B, in, H, W]` -> `[B, out, 2H, 2W]`.
    pub fn forward(&self, input: Tensor<4>) -> Tensor<4> {
        conv_transpose2d(
            input,
            self.weight.val(),
            self.bias.as_ref().map(Param::val),
            2,
            1,
        )
    }
}

/// PyTorch's `BatchNorm2d(affine=True, track_running_stats=True)`.
#[derive(Module, Debug)]
pub struct BatchNorm2d {
    /// Scale, `weight` in PyTorch.
    pub gamma: Param<Tensor<1>>,
    /// Shift, `bias` in PyTorch.
    pub beta: Param<Tensor<1>>,
    /// Running mean.
    pub running_mean: RunningState<Tensor<1>>,
    /// Running variance (unbiased, as PyTorch stores it).
    pub running_var: RunningState<Tensor<1>>,
    /// PyTorch's `num_batches_tracked`, kept as a one-element float so it lives on the device
    /// beside the statistics and costs no read-back; written back as int64 on export.
    pub num_batches_tracked: RunningState<Tensor<1>>,
}

impl BatchNorm2d {
    /// A BatchNorm from its parameters and statistics.
    pub fn new(
        gamma: Tensor<1>,
        beta: Tensor<1>,
        running_mean: Tensor<1>,
        running_var: Tensor<1>,
        num_batches_tracked: Tensor<1>,
    ) -> Self {
        Self {
            gamma: Param::from_tensor(gamma),
            beta: Param::from_tensor(beta),
            running_mean: RunningState::new(running_mean),
            running_var: RunningState::new(running_var),
            num_batches_tracked: RunningState::new(num_batches_tracked),
        }
    }

    /// The statistics `(mean, var, num_batches_tracked)` with every pending update applied.
    ///
    /// burn's `RunningState` keeps the newest update of each thread aside until it is synced,
    /// so a plain `value()` can lag one training step behind.
    pub fn statistics(&self) -> (Tensor<1>, Tensor<1>, Tensor<1>) {
        let synced = |state: &RunningState<Tensor<1>>| Module::valid(state).value();
        (
            synced(&self.running_mean),
            synced(&self.running_var),
            synced(&self.num_batches_tracked),
        )
    }

    /// Normalises `[B, C, H, W]` per channel as `mode` says.
    pub fn forward(&self, input: Tensor<4>, mode: NormMode) -> Tensor<4> {
        let device = input.device();
        match mode {
            NormMode::RunningStats => batch_norm(
                input,
                self.gamma.val(),
                self.beta.val(),
                self.running_mean.value_sync().to_device(&device),
                self.running_var.value_sync().to_device(&device),
                NORM_EPS,
            ),
            NormMode::BatchStats => {
                batch_norm_train(input, self.gamma.val(), self.beta.val(), NORM_EPS).output
            }
            NormMode::Train => {
                let [batch, _, height, width] = input.dims();
                let samples = (batch * height * width) as f64;
                let result = batch_norm_train(input, self.gamma.val(), self.beta.val(), NORM_EPS);
                // PyTorch normalises with the biased variance but tracks the unbiased one.
                let unbiased = if samples > 1.0 {
                    samples / (samples - 1.0)
                } else {
                    1.0
                };
                let mean = self.running_mean.value_sync().to_device(&device);
                let var = self.running_var.value_sync().to_device(&device);
                let count = self.num_batches_tracked.value_sync().to_device(&device);
                let momentum = NORM_MOMENTUM;
                self.running_mean.update(
                    mean.mul_scalar(1.0 - momentum)
                        .add(result.mean.detach().mul_scalar(momentum))
                        .detach(),
                );
                self.running_var.update(
                    var.mul_scalar(1.0 - momentum)
                        .add(result.variance.detach().mul_scalar(momentum * unbiased))
                        .detach(),
                );
                self.num_batches_tracked
                    .update(count.add_scalar(1.0).detach());
                // burn keeps each thread's newest update aside, and `value_sync` folds in only
                // the reading thread's: a step on another thread of a pool read the statistics
                // from before the last step, and the two threads' updates were later averaged.
                // Folding each update in on the thread that made it keeps one sequence.
                for state in [
                    &self.running_mean,
                    &self.running_var,
                    &self.num_batches_tracked,
                ] {
                    state.value_sync();
                }
                result.output
            }
        }
    }
}

/// A normalisation layer: BatchNorm, parameter-free InstanceNorm, or nothing.
#[derive(Module, Debug)]
pub struct Norm2d {
    /// The BatchNorm, when the kind is [`NormKind::Batch`].
    pub batch: Option<BatchNorm2d>,
    #[module(skip)]
    instance: bool,
}

impl Norm2d {
    /// A freshly initialised norm of `kind` where the reference has a norm layer of `channels`
    /// (`Some`), or no layer at all (`None`).
    pub fn init(kind: NormKind, channels: Option<usize>, init: &mut WeightInit) -> Self {
        match (kind, channels) {
            (NormKind::Batch, Some(c)) => Self::batch(BatchNorm2d::new(
                init.norm_scale(c),
                init.zeros(c),
                init.zeros(c),
                init.full(c, 1.0),
                init.zeros(1),
            )),
            (NormKind::Instance, Some(_)) => Self::parameter_free(true),
            _ => Self::identity(),
        }
    }

    /// A BatchNorm layer.
    pub fn batch(batch_norm: BatchNorm2d) -> Self {
        Self {
            batch: Some(batch_norm),
            instance: false,
        }
    }

    /// InstanceNorm (`true`) or no normalisation (`false`).
    pub fn parameter_free(instance: bool) -> Self {
        Self {
            batch: None,
            instance,
        }
    }

    /// No normalisation.
    pub fn identity() -> Self {
        Self::parameter_free(false)
    }

    /// Whether this is a parameter-free InstanceNorm.
    pub fn is_instance(&self) -> bool {
        self.batch.is_none() && self.instance
    }

    /// Normalises `[B, C, H, W]` with given per-channel statistics `[C]` (mean and biased
    /// variance) instead of the input's own: BatchNorm's scale and shift follow, InstanceNorm
    /// has none, no normalisation ignores them.
    pub fn forward_with_statistics(
        &self,
        input: Tensor<4>,
        mean: Tensor<1>,
        variance: Tensor<1>,
    ) -> Tensor<4> {
        match (&self.batch, self.instance) {
            (Some(batch_norm), _) => batch_norm_eval(
                input,
                batch_norm.gamma.val(),
                batch_norm.beta.val(),
                mean,
                variance,
            ),
            (None, true) => {
                let channels = mean.dims()[0];
                let ones = Tensor::ones([channels], &input.device());
                let zeros = Tensor::zeros([channels], &input.device());
                batch_norm_eval(input, ones, zeros, mean, variance)
            }
            (None, false) => input,
        }
    }

    /// Normalises `[B, C, H, W]`.
    pub fn forward(&self, input: Tensor<4>, mode: NormMode) -> Tensor<4> {
        match (&self.batch, self.instance) {
            (Some(batch_norm), _) => batch_norm.forward(input, mode),
            (None, true) => instance_norm(input),
            (None, false) => input,
        }
    }
}

/// Normalisation with given statistics (PyTorch's BatchNorm in `eval()`).
fn batch_norm_eval(
    input: Tensor<4>,
    gamma: Tensor<1>,
    beta: Tensor<1>,
    mean: Tensor<1>,
    variance: Tensor<1>,
) -> Tensor<4> {
    batch_norm(input, gamma, beta, mean, variance, NORM_EPS)
}

/// How each norm layer of a forward pass normalises: one [`NormMode`] for all, or a caller's
/// own rule per layer (statistics shared by all the tiles of a large image).
pub trait Normaliser {
    /// Normalises `input` with `norm`; layers are visited in the order the forward pass
    /// applies them.
    fn normalise(&mut self, norm: &Norm2d, input: Tensor<4>) -> Tensor<4>;
}

impl Normaliser for NormMode {
    fn normalise(&mut self, norm: &Norm2d, input: Tensor<4>) -> Tensor<4> {
        norm.forward(input, *self)
    }
}

/// `InstanceNorm2d(affine=False)`: each image and channel normalised by its own mean and biased
/// variance.
fn instance_norm(input: Tensor<4>) -> Tensor<4> {
    let [batch, channels, height, width] = input.dims();
    let flat = input.reshape([batch, channels, height * width]); // [B, C, HW]
    let (var, mean) = flat.clone().var_mean_bias(2); // [B, C, 1] each
    flat.sub(mean)
        .div(var.add_scalar(NORM_EPS).sqrt())
        .reshape([batch, channels, height, width])
}

#[cfg(test)]
mod tests {
    use burn::tensor::TensorData;

    use super::*;
    use crate::platform::device;
    use crate::platform::readback::host_values;

    fn statistics_after_two_steps(second_step_elsewhere: bool) -> Vec<Vec<f32>> {
        let device = device::cpu().device;
        let vector = |values: [f32; 2]| {
            Tensor::<1>::from_data(TensorData::new(values.to_vec(), [2]), &device)
        };
        let norm = BatchNorm2d::new(
            vector([1.0, 1.0]),
            vector([0.0, 0.0]),
            vector([0.0, 0.0]),
            vector([1.0, 1.0]),
            Tensor::<1>::from_data(TensorData::new(vec![0.0f32], [1]), &device),
        );
        let batch = |offset: f32| {
            let values: Vec<f32> = (0..16).map(|i| (i as f32 * 0.7).sin() + offset).collect();
            Tensor::<4>::from_data(TensorData::new(values, [2, 2, 2, 2]), &device)
        };
        let _ = norm.forward(batch(1.0), NormMode::Train);
        if second_step_elsewhere {
            std::thread::scope(|scope| {
                scope.spawn(|| norm.forward(batch(3.0), NormMode::Train));
            });
        } else {
            let _ = norm.forward(batch(3.0), NormMode::Train);
        }
        let (mean, var, count) = norm.statistics();
        [mean, var, count]
            .into_iter()
            .map(|state| host_values(state, "a statistic").expect("f32 statistics"))
            .collect()
    }

    #[test]
    fn running_statistics_lost_a_step_when_steps_ran_on_different_threads() {
        // The app trains on a pool: consecutive steps may run on different threads.
        let one_thread = statistics_after_two_steps(false);
        assert_eq!(one_thread[2], [2.0], "two steps tracked");
        assert_eq!(statistics_after_two_steps(true), one_thread);
    }
}
