//! The backward pass of the convolution kernels: each product's gradients are the other two.
//!
//! For `y = conv(x, w)`: `dx = conv_input_grad(dy, w)`, `dw = conv_weight_grad(x, dy)`.
//! For the transposed convolution `y = conv_input_grad(g, w)`: `dg = conv(dy, w)`,
//! `dw = conv_weight_grad(dy, g)`.

use burn::backend::tensor::FloatTensor;
use burn::backend::{AutodiffBackend, Backend, TensorMetadata};
use burn_autodiff::checkpoint::base::Checkpointer;
use burn_autodiff::checkpoint::strategy::CheckpointStrategy;
use burn_autodiff::grads::Gradients;
use burn_autodiff::ops::{Backward, Ops, OpsKind};
use burn_autodiff::{Autodiff, NodeId};

use super::ConvKernels;

/// Backward step of [`ConvKernels::conv_forward`].
#[derive(Debug)]
struct ConvBackward;

impl<B: Backend + ConvKernels> Backward<B, 2> for ConvBackward {
    /// Checkpointed input and weight, stride, padding.
    type State = (NodeId, NodeId, usize, usize);

    fn backward(
        self,
        ops: Ops<Self::State, 2>,
        grads: &mut Gradients,
        checkpointer: &mut Checkpointer,
    ) {
        let [node_x, node_weight] = ops.parents;
        let grad = grads.consume::<B>(&ops.node);
        let (x_state, weight_state, stride, padding) = ops.state;
        let x = checkpointer.retrieve_node_output::<B::FloatTensorPrimitive>(x_state);
        let weight = checkpointer.retrieve_node_output::<B::FloatTensorPrimitive>(weight_state);
        let x_shape = x.shape();
        let kernel = weight.shape()[2];
        if let Some(node) = node_x {
            let grad_x = B::conv_input_grad(
                grad.clone(),
                weight,
                stride,
                padding,
                x_shape[2],
                x_shape[3],
            );
            grads.register::<B>(node.id, grad_x);
        }
        if let Some(node) = node_weight {
            let grad_weight = B::conv_weight_grad(x, grad, stride, padding, kernel);
            grads.register::<B>(node.id, grad_weight);
        }
    }
}

/// Backward step of [`ConvKernels::conv_input_grad`] used as a transposed convolution.
#[derive(Debug)]
struct TransposedConvBackward;

impl<B: Backend + ConvKernels> Backward<B, 2> for TransposedConvBackward {
    /// Checkpointed input and weight, stride, padding.
    type State = (NodeId, NodeId, usize, usize);

    fn backward(
        self,
        ops: Ops<Self::State, 2>,
        grads: &mut Gradients,
        checkpointer: &mut Checkpointer,
    ) {
        let [node_input, node_weight] = ops.parents;
        let grad = grads.consume::<B>(&ops.node);
        let (input_state, weight_state, stride, padding) = ops.state;
        let input = checkpointer.retrieve_node_output::<B::FloatTensorPrimitive>(input_state);
        let weight = checkpointer.retrieve_node_output::<B::FloatTensorPrimitive>(weight_state);
        let kernel = weight.shape()[2];
        if let Some(node) = node_input {
            let grad_input = B::conv_forward(grad.clone(), weight, stride, padding);
            grads.register::<B>(node.id, grad_input);
        }
        if let Some(node) = node_weight {
            let grad_weight = B::conv_weight_grad(grad, input, stride, padding, kernel);
            grads.register::<B>(node.id, grad_weight);
        }
    }
}

impl<B: Backend + ConvKernels, C: CheckpointStrategy> ConvKernels for Autodiff<B, C> {
    fn conv_forward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        stride: usize,
        padding: usize,
    ) -> FloatTensor<Self> {
        match ConvBackward
            .prepare::<C>([x.node(), weight.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(mut prep) => {
                let x_state = prep.checkpoint(&x);
                let weight_state = prep.checkpoint(&weight);
                let output =
                    B::conv_forward(x.into_primitive(), weight.into_primitive(), stride, padding);
                prep.finish((x_state, weight_state, stride, padding), output)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::conv_forward(
                x.into_primitive(),
                weight.into_primitive(),
                stride,
                padding,
            )),
        }
    }

    fn conv_input_grad(
        grad: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        stride: usize,
        padding: usize,
        height: usize,
        width: usize,
    ) -> FloatTensor<Self> {
        match TransposedConvBackward
            .prepare::<C>([grad.node(), weight.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(mut prep) => {
                let input_state = prep.checkpoint(&grad);
                let weight_state = prep.checkpoint(&weight);
                let output = B::conv_input_grad(
                    grad.into_primitive(),
                    weight.into_primitive(),
                    stride,
                    padding,
                    height,
                    width,
                );
                prep.finish((input_state, weight_state, stride, padding), output)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::conv_input_grad(
                grad.into_primitive(),
                weight.into_primitive(),
                stride,
                padding,
                height,
                width,
            )),
        }
    }

    /// Only ever called inside a backward pass, so it is not differentiated itself.
    fn conv_weight_grad(
        x: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        stride: usize,
        padding: usize,
        kernel: usize,
    ) -> FloatTensor<Self> {
        let output = B::conv_weight_grad(
            x.into_primitive(),
            grad.into_primitive(),
            stride,
            padding,
            kernel,
        );
        <Self as AutodiffBackend>::from_inner(output)
    }
}
