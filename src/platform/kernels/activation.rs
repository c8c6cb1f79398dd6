//! LeakyReLU (and ReLU, its slope-0 case) in one pass forward and one pass backward on the CPU.
//!
//! burn 0.22 builds LeakyReLU from a comparison, a scaled copy and a masked select, and
//! differentiates that graph: five passes over the activation per use, forward and backward,
//! with a boolean mask and two temporaries. Here the forward is `x > 0 ? x : slope·x` and the
//! backward `x > 0 ? dy : slope·dy` (PyTorch's `leaky_relu_backward`; with slope 0 it is
//! `threshold_backward`, zero where `x <= 0`), each one parallel pass.

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

use super::ActivationKernels;
use super::flex::{as_f32, restore};
use super::scratch;
use crate::platform::profile::{self, Kind, Operation};

/// Values per parallel task: large enough that a task outweighs its scheduling.
const CHUNK: usize = 1 << 15;

impl ActivationKernels for Flex {
    fn leaky_relu_forward(x: FloatTensor<Self>, slope: f32) -> FloatTensor<Self> {
        let values = x.layout().num_elements();
        let operation = || Operation::elementwise(Kind::Activation, values);
        profile::timed(operation, || forward(x, slope))
    }

    fn leaky_relu_backward(
        x: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        slope: f32,
    ) -> FloatTensor<Self> {
        let values = x.layout().num_elements();
        let operation = || Operation::elementwise(Kind::Activation, values);
        profile::timed(operation, || backward(x, grad, slope))
    }
}

/// `max(x, 0) + slope · min(x, 0)`, in parallel over blocks.
fn forward(x: FlexTensor, slope: f32) -> FlexTensor {
    let (x, dtype) = as_f32(x);
    let shape = x.layout().shape().clone();
    let mut output = scratch::zeroed(shape.num_elements());
    output
        .par_chunks_mut(CHUNK)
        .zip(x.storage::<f32>().par_chunks(CHUNK))
        .for_each(|(out, input)| {
            out.copy_from_slice(input);
            scale_non_positive(out, input, slope);
        });
    restore(FlexTensor::from_data(TensorData::new(output, shape)), dtype)
}

/// `grad` scaled by `slope` where `x <= 0`.
fn backward(x: FlexTensor, grad: FlexTensor, slope: f32) -> FlexTensor {
    let (x, _) = as_f32(x);
    let (mut grad, dtype) = as_f32(grad);
    let scale = |input: &[f32], grad: &mut [f32]| scale_non_positive(grad, input, slope);
    // The gradient is usually this step's own buffer: scaled in place.
    if let Some(values) = grad.try_storage_mut::<f32>() {
        values
            .par_chunks_mut(CHUNK)
            .zip(x.storage::<f32>().par_chunks(CHUNK))
            .for_each(|(grad, input)| scale(input, grad));
        return restore(grad, dtype);
    }
    let shape = grad.layout().shape().clone();
    let mut output = grad.storage::<f32>().to_vec();
    output
        .par_chunks_mut(CHUNK)
        .zip(x.storage::<f32>().par_chunks(CHUNK))
        .for_each(|(grad, input)| scale(input, grad));
    restore(FlexTensor::from_data(TensorData::new(output, shape)), dtype)
}

/// Lanes the scaling loop works on at once: fixed-size blocks the compiler turns into vector
/// compares and blends (a loop over single values stayed scalar inside rayon's closures).
const LANES: usize = 16;

/// `values[i] *= slope` where `input[i] <= 0`, as a select rather than a branch (the signs are a
/// coin toss, so a branch mispredicts half the time).
fn scale_non_positive(values: &mut [f32], input: &[f32], slope: f32) {
    let mut blocks = values.chunks_exact_mut(LANES);
    let mut inputs = input.chunks_exact(LANES);
    for (block, input) in (&mut blocks).zip(&mut inputs) {
        let block: &mut [f32; LANES] = block.try_into().unwrap_or_else(|_| unreachable!());
        let input: &[f32; LANES] = input.try_into().unwrap_or_else(|_| unreachable!());
        for lane in 0..LANES {
            let factor = if input[lane] > 0.0 { 1.0 } else { slope };
            block[lane] *= factor;
        }
    }
    for (value, &x) in blocks.into_remainder().iter_mut().zip(inputs.remainder()) {
        *value *= if x > 0.0 { 1.0 } else { slope };
    }
}

/// Backward step of [`ActivationKernels::leaky_relu_forward`].
#[derive(Debug)]
struct LeakyReluBackward;

impl<B: Backend + ActivationKernels> Backward<B, 1> for LeakyReluBackward {
    /// The checkpointed input and the slope.
    type State = (NodeId, f32);

    fn backward(
        self,
        ops: Ops<Self::State, 1>,
        grads: &mut Gradients,
        checkpointer: &mut Checkpointer,
    ) {
        let [node_x] = ops.parents;
        let grad = grads.consume::<B>(&ops.node);
        let (x_state, slope) = ops.state;
        let x = checkpointer.retrieve_node_output::<B::FloatTensorPrimitive>(x_state);
        if let Some(node) = node_x {
            grads.register::<B>(node.id, B::leaky_relu_backward(x, grad, slope));
        }
    }
}

impl<B: Backend + ActivationKernels, C: CheckpointStrategy> ActivationKernels for Autodiff<B, C> {
    fn leaky_relu_forward(x: FloatTensor<Self>, slope: f32) -> FloatTensor<Self> {
        match LeakyReluBackward
            .prepare::<C>([x.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(mut prep) => {
                let x_state = prep.checkpoint(&x);
                let output = B::leaky_relu_forward(x.into_primitive(), slope);
                prep.finish((x_state, slope), output)
            }
            OpsKind::UnTracked(prep) => {
                prep.finish(B::leaky_relu_forward(x.into_primitive(), slope))
            }
        }
    }

    /// Only ever called inside a backward pass, so it is not differentiated itself.
    fn leaky_relu_backward(
        x: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        slope: f32,
    ) -> FloatTensor<Self> {
        let output = B::leaky_relu_backward(x.into_primitive(), grad.into_primitive(), slope);
        <Self as AutodiffBackend>::from_inner(output)
    }
}
