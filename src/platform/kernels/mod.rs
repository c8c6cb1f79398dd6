//! Fast CPU convolutions: a burn backend extension with im2col + GEMM kernels for the CPU
//! (`flex`) backend and their own backward pass.
//!
//! burn 0.22's CPU backend computes a convolution's weight gradient as another convolution
//! whose kernel is the whole output gradient: a scalar, one-channel im2col over a kernel as
//! large as the image, then thin matrix products. In a pix2pix step that took a third of the
//! time. Here all three products of a convolution (forward, input gradient, weight gradient)
//! are one `im2col`/`col2im` and one large matrix product each, and the transposed
//! convolution of the U-Net's up path reuses the same three with the roles swapped.
//!
//! LeakyReLU and ReLU get the same treatment (`activation.rs`): one pass each way instead of
//! burn's five; BatchNorm with batch statistics (`batch_norm.rs`) two parallel passes each way
//! instead of burn's chain of single-threaded operations.
//!
//! Only host-memory tensors take this path ([`conv2d`], [`conv_transpose2d`], [`leaky_relu`],
//! [`relu`], [`batch_norm_train`] check the device); on a GPU the layers call burn's own
//! operations.

mod activation;
mod autodiff;
mod batch_norm;
mod direct;
mod flex;
mod gemm;
pub mod im2col;
mod scratch;

use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, Dispatch, ExtensionType, backend_extension};
use burn::tensor::Tensor;
use burn::tensor::activation::{leaky_relu as burn_leaky_relu, relu as burn_relu};
use burn::tensor::module::{
    BatchNormTrainOutput, batch_norm_train as burn_batch_norm_train,
    conv_transpose2d as burn_conv_transpose2d, conv2d as burn_conv2d,
};
use burn::tensor::ops::{ConvOptions, ConvTransposeOptions};

use crate::platform::device::is_host_memory;

/// The three products of a square-kernel convolution `y = conv(x, w)` with `x: [B, C, H, W]`,
/// `w: [O, C, k, k]`, equal stride and zero padding on both axes.
#[backend_extension(Flex, Autodiff)]
pub trait ConvKernels: Backend {
    /// `y = conv(x, w)`: `[B, C, H, W]` to `[B, O, Ho, Wo]`.
    fn conv_forward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        stride: usize,
        padding: usize,
    ) -> FloatTensor<Self>;

    /// The adjoint in `x`: `[B, O, Ho, Wo]` to `[B, C, height, width]`. This is also the
    /// transposed convolution with weight `[O, C, k, k]` (PyTorch's `ConvTranspose2d` layout,
    /// `[in, out, k, k]`).
    fn conv_input_grad(
        grad: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        stride: usize,
        padding: usize,
        height: usize,
        width: usize,
    ) -> FloatTensor<Self>;

    /// The gradient in `w` given the input `x` and the output gradient: `[O, C, k, k]`.
    fn conv_weight_grad(
        x: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        stride: usize,
        padding: usize,
        kernel: usize,
    ) -> FloatTensor<Self>;
}

/// LeakyReLU and its gradient, each one pass (ReLU is slope 0).
#[backend_extension(Flex, Autodiff)]
pub trait ActivationKernels: Backend {
    /// `x > 0 ? x : slope·x`.
    fn leaky_relu_forward(x: FloatTensor<Self>, slope: f32) -> FloatTensor<Self>;

    /// The gradient in `x` given the output gradient: `x > 0 ? grad : slope·grad`.
    fn leaky_relu_backward(
        x: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        slope: f32,
    ) -> FloatTensor<Self>;
}

/// What [`NormKernels::norm_train_forward`] returns: the normalised output and the batch's
/// per-channel statistics `[C]`, which are not differentiated.
#[derive(ExtensionType)]
pub struct NormTrainOutput<B: Backend> {
    /// The input normalised, scaled by `gamma` and shifted by `beta`.
    pub output: FloatTensor<B>,
    /// The batch's mean.
    pub mean: FloatTensor<B>,
    /// The batch's variance, biased, as the output is normalised with it.
    pub variance: FloatTensor<B>,
    /// `1 / sqrt(variance + epsilon)` (PyTorch's `save_invstd`), what the backward pass uses.
    pub inverse_deviation: FloatTensor<B>,
}

/// BatchNorm normalising with the batch's own statistics, and its gradients.
#[backend_extension(Flex, Autodiff)]
pub trait NormKernels: Backend {
    /// `[B, C, …]` normalised per channel with the batch's mean and biased variance, then
    /// scaled by `gamma` and shifted by `beta`.
    fn norm_train_forward(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
    ) -> NormTrainOutput<Self>;

    /// The gradients `(x, gamma, beta)` given the forward's input, its statistics and the
    /// output gradient.
    fn norm_train_backward(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        mean: FloatTensor<Self>,
        inverse_deviation: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>);
}

/// burn's `batch_norm_train` (PyTorch's `BatchNorm2d` in training mode, before the running
/// statistics move): the normalised output and the batch's mean and biased variance, the
/// statistics detached.
pub fn batch_norm_train(
    x: Tensor<4>,
    gamma: Tensor<1>,
    beta: Tensor<1>,
    epsilon: f64,
) -> BatchNormTrainOutput<4> {
    if !is_host_memory(&x.device()) {
        return burn_batch_norm_train(x, gamma, beta, epsilon);
    }
    let result = <Dispatch as NormKernels>::norm_train_forward(
        x.into_dispatch(),
        gamma.into_dispatch(),
        beta.into_dispatch(),
        epsilon,
    );
    BatchNormTrainOutput {
        output: Tensor::from_dispatch(result.output),
        mean: Tensor::from_dispatch(result.mean),
        variance: Tensor::from_dispatch(result.variance),
    }
}

/// PyTorch's `LeakyReLU(slope)`: `x > 0 ? x : slope·x`, its gradient `slope` where `x <= 0`.
pub fn leaky_relu<const D: usize>(x: Tensor<D>, slope: f64) -> Tensor<D> {
    if !is_host_memory(&x.device()) {
        return burn_leaky_relu(x, slope);
    }
    Tensor::from_dispatch(<Dispatch as ActivationKernels>::leaky_relu_forward(
        x.into_dispatch(),
        slope as f32,
    ))
}

/// PyTorch's `ReLU`: `max(x, 0)`, its gradient zero where `x <= 0`.
pub fn relu<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    if !is_host_memory(&x.device()) {
        return burn_relu(x);
    }
    leaky_relu(x, 0.0)
}

/// PyTorch's `conv2d` with a square kernel, equal stride and padding: `[B, C, H, W]` with
/// weight `[O, C, k, k]` to `[B, O, Ho, Wo]`.
pub fn conv2d(
    x: Tensor<4>,
    weight: Tensor<4>,
    bias: Option<Tensor<1>>,
    stride: usize,
    padding: usize,
) -> Tensor<4> {
    if !is_host_memory(&x.device()) {
        let options = ConvOptions::new([stride; 2], [padding; 2], [1, 1], 1);
        return burn_conv2d(x, weight, bias, options);
    }
    let output = Tensor::<4>::from_dispatch(<Dispatch as ConvKernels>::conv_forward(
        x.into_dispatch(),
        weight.into_dispatch(),
        stride,
        padding,
    ));
    add_bias(output, bias)
}

/// PyTorch's `conv_transpose2d` with a square kernel, equal stride and padding and no output
/// padding: `[B, Cin, H, W]` with weight `[Cin, Cout, k, k]` to `[B, Cout, Ho, Wo]`,
/// `Ho = (H - 1)·stride - 2·padding + k`.
pub fn conv_transpose2d(
    x: Tensor<4>,
    weight: Tensor<4>,
    bias: Option<Tensor<1>>,
    stride: usize,
    padding: usize,
) -> Tensor<4> {
    if !is_host_memory(&x.device()) {
        let options = ConvTransposeOptions::new([stride; 2], [padding; 2], [0, 0], [1, 1], 1);
        return burn_conv_transpose2d(x, weight, bias, options);
    }
    let [_, _, height, width] = x.dims();
    let kernel = weight.dims()[2];
    let out = |side: usize| (side - 1) * stride + kernel - 2 * padding;
    let output = Tensor::<4>::from_dispatch(<Dispatch as ConvKernels>::conv_input_grad(
        x.into_dispatch(),
        weight.into_dispatch(),
        stride,
        padding,
        out(height),
        out(width),
    ));
    add_bias(output, bias)
}

fn add_bias(output: Tensor<4>, bias: Option<Tensor<1>>) -> Tensor<4> {
    match bias {
        Some(bias) => {
            let channels = bias.dims()[0];
            output.add(bias.reshape([1, channels, 1, 1])) // [B, C, H, W] + [1, C, 1, 1]
        }
        None => output,
    }
}
