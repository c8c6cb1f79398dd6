//! Adam exactly as PyTorch computes it (`torch.optim.Adam`, no weight decay), with a fused,
//! multi-threaded update for tensors in host memory.
//!
//! burn's `Adam` is written as a dozen whole-tensor operations per parameter; for the 54 M
//! parameters of `unet_256` that is a dozen passes over 200 MB each, per step. On the CPU the
//! update is memory-bound, so here it is one pass that reads the parameter, its gradient and
//! both moments once and writes them once, split across threads. On other devices (GPU) it
//! stays tensor operations, which burn's fusion turns into a single kernel there.

use std::collections::HashMap;

use burn::module::{Module, ModuleMapper, Param, ParamId};
use burn::optim::GradientsParams;
use burn::tensor::{Device, Tensor};
use rayon::prelude::*;

use crate::error::Result;
use crate::platform::device::is_host_memory;
use crate::platform::profile::{self, Kind, Operation};
use crate::platform::readback::host_values;

/// Adam's hyper-parameters other than the learning rate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamSettings {
    /// Decay of the first moment.
    pub beta1: f64,
    /// Decay of the second moment.
    pub beta2: f64,
    /// Added to the denominator.
    pub epsilon: f64,
}

/// The two moments of one parameter, kept where the update runs.
#[derive(Clone, Debug)]
#[expect(
    clippy::large_enum_variant,
    reason = "one per parameter tensor (tens of them): the padding costs nothing"
)]
pub enum Moments {
    /// Host vectors (CPU backend): updated in place by the fused loop.
    Host {
        /// First moment.
        first: Vec<f32>,
        /// Second moment.
        second: Vec<f32>,
    },
    /// Flat device tensors (GPU backend).
    Device {
        /// First moment, flattened.
        first: Tensor<1>,
        /// Second moment, flattened.
        second: Tensor<1>,
    },
}

/// Adam for one module: its step count and the moments of each of its parameters.
#[derive(Clone, Debug)]
pub struct Adam {
    settings: AdamSettings,
    steps: u64,
    moments: HashMap<ParamId, Moments>,
    host: bool,
}

/// The per-step scalars of PyTorch's update, computed once in f64 as PyTorch does.
#[derive(Clone, Copy)]
struct Coefficients {
    beta1: f32,
    beta2: f32,
    one_minus_beta1: f32,
    one_minus_beta2: f32,
    step_size: f32,
    bias_correction2_sqrt: f32,
    epsilon: f32,
}

impl Adam {
    /// A fresh optimiser for parameters living on `device`.
    pub fn new(settings: AdamSettings, device: &Device) -> Self {
        Self {
            settings,
            steps: 0,
            moments: HashMap::new(),
            host: is_host_memory(device),
        }
    }

    /// Steps taken so far.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// A host copy of one parameter's moments `(first, second)`, if it has been stepped.
    pub fn moments(&self, id: ParamId) -> Result<Option<(Vec<f32>, Vec<f32>)>> {
        let to_host = |tensor: &Tensor<1>| host_values(tensor.clone(), "optimiser state");
        match self.moments.get(&id) {
            None => Ok(None),
            Some(Moments::Host { first, second }) => Ok(Some((first.clone(), second.clone()))),
            Some(Moments::Device { first, second }) => {
                Ok(Some((to_host(first)?, to_host(second)?)))
            }
        }
    }

    /// Restores one parameter's moments (from a checkpoint), on `device`.
    pub fn set_moments(&mut self, id: ParamId, first: Vec<f32>, second: Vec<f32>, device: &Device) {
        let moments = if self.host {
            Moments::Host { first, second }
        } else {
            let upload = |values: Vec<f32>| {
                let len = values.len();
                Tensor::from_data(
                    burn::tensor::TensorData::new(values, [len]),
                    &device.clone().inner(),
                )
            };
            Moments::Device {
                first: upload(first),
                second: upload(second),
            }
        };
        self.moments.insert(id, moments);
    }

    /// Restores the step count (from a checkpoint).
    pub fn set_steps(&mut self, steps: u64) {
        self.steps = steps;
    }

    /// Takes one step on every parameter of `module` that has a gradient in `grads`.
    pub fn step<M: Module>(&mut self, learning_rate: f64, module: M, grads: GradientsParams) -> M {
        self.steps += 1;
        let step = self.steps as i32;
        let s = self.settings;
        let bias_correction1 = 1.0 - s.beta1.powi(step);
        let bias_correction2 = 1.0 - s.beta2.powi(step);
        let coefficients = Coefficients {
            beta1: s.beta1 as f32,
            beta2: s.beta2 as f32,
            one_minus_beta1: (1.0 - s.beta1) as f32,
            one_minus_beta2: (1.0 - s.beta2) as f32,
            step_size: (learning_rate / bias_correction1) as f32,
            bias_correction2_sqrt: bias_correction2.sqrt() as f32,
            epsilon: s.epsilon as f32,
        };
        let values = module.num_params();
        let mut mapper = AdamMapper {
            adam: self,
            grads,
            coefficients,
        };
        let operation = || Operation::elementwise(Kind::Adam, values);
        profile::timed(operation, || module.map(&mut mapper))
    }
}

struct AdamMapper<'a> {
    adam: &'a mut Adam,
    grads: GradientsParams,
    coefficients: Coefficients,
}

impl ModuleMapper for AdamMapper<'_> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        // Running statistics come through here too; they have no gradient and stay as they are.
        let Some(grad) = self.grads.remove::<D>(param.id) else {
            return param;
        };
        let (id, tensor, mapper) = param.consume();
        let require_grad = tensor.is_require_grad();
        let updated = if self.adam.host {
            self.update_host(id, tensor.inner(), grad)
        } else {
            self.update_device(id, tensor.inner(), grad)
        };
        let mut updated = Tensor::from_inner(updated);
        if require_grad {
            updated = updated.require_grad();
        }
        Param::from_mapped_value(id, updated, mapper)
    }
}

impl AdamMapper<'_> {
    #[allow(
        clippy::disallowed_methods,
        reason = "host memory, not a device read: the CPU backend hands its buffer over"
    )]
    fn update_host<const D: usize>(
        &mut self,
        id: ParamId,
        param: Tensor<D>,
        grad: Tensor<D>,
    ) -> Tensor<D> {
        let device = param.device();
        // Both reads are zero-copy on the CPU backend when nothing else holds the tensor.
        let mut param_data = param.into_data().convert::<f32>();
        let grad_data = grad.into_data().convert::<f32>();
        let len = param_data.num_elements();
        let moments = self
            .adam
            .moments
            .entry(id)
            .or_insert_with(|| Moments::Host {
                first: vec![0.0; len],
                second: vec![0.0; len],
            });
        if let (Moments::Host { first, second }, Ok(values), Ok(grad)) = (
            moments,
            param_data.as_mut_slice::<f32>(),
            grad_data.as_slice::<f32>(),
        ) {
            fused_update(values, grad, first, second, self.coefficients);
        }
        Tensor::from_data(param_data, &device)
    }

    fn update_device<const D: usize>(
        &mut self,
        id: ParamId,
        param: Tensor<D>,
        grad: Tensor<D>,
    ) -> Tensor<D> {
        let c = self.coefficients;
        let shape = param.shape();
        let grad: Tensor<1> = grad.reshape([shape.num_elements()]);
        let (first, second) = match self.adam.moments.remove(&id) {
            Some(Moments::Device { first, second }) => (first, second),
            _ => (grad.zeros_like(), grad.zeros_like()),
        };
        let first = first
            .mul_scalar(c.beta1)
            .add(grad.clone().mul_scalar(c.one_minus_beta1));
        let second = second
            .mul_scalar(c.beta2)
            .add(grad.square().mul_scalar(c.one_minus_beta2));
        let denominator = second
            .clone()
            .sqrt()
            .div_scalar(c.bias_correction2_sqrt)
            .add_scalar(c.epsilon);
        let delta = first.clone().div(denominator).mul_scalar(c.step_size);
        self.adam
            .moments
            .insert(id, Moments::Device { first, second });
        param.sub(delta.reshape(shape))
    }
}

/// One pass of PyTorch's Adam over a parameter: `m = b1 m + (1 - b1) g`,
/// `v = b2 v + (1 - b2) g²`, `p -= step_size · m / (√v / √(1 - b2^t) + eps)`.
fn fused_update(
    param: &mut [f32],
    grad: &[f32],
    first: &mut [f32],
    second: &mut [f32],
    c: Coefficients,
) {
    // Chunks big enough to amortise scheduling, small enough to balance two to many cores.
    const CHUNK: usize = 1 << 15;
    param
        .par_chunks_mut(CHUNK)
        .zip(grad.par_chunks(CHUNK))
        .zip(first.par_chunks_mut(CHUNK))
        .zip(second.par_chunks_mut(CHUNK))
        .for_each(|(((param, grad), first), second)| {
            for (((p, &g), m), v) in param
                .iter_mut()
                .zip(grad)
                .zip(first.iter_mut())
                .zip(second.iter_mut())
            {
                *m = c.beta1 * *m + c.one_minus_beta1 * g;
                *v = c.beta2 * *v + c.one_minus_beta2 * g * g;
                let denominator = v.sqrt() / c.bias_correction2_sqrt + c.epsilon;
                *p -= c.step_size * *m / denominator;
            }
        });
}
