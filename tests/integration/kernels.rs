//! The CPU kernels agree with burn's own operations (convolutions, BatchNorm) and PyTorch's
//! activations, forward and backward.

use burn::tensor::module::{conv_transpose2d as burn_conv_transpose2d, conv2d as burn_conv2d};
use burn::tensor::ops::{ConvOptions, ConvTransposeOptions};
use burn::tensor::{Device, Tensor};
use pix2pix_studio::platform::kernels::{conv_transpose2d, conv2d};

use crate::util::{relative_error, values};

fn random<const D: usize>(shape: [usize; D], device: &Device) -> Tensor<D> {
    crate::seeded::seeded_uniform(shape, device)
}

/// Input, weight and bias gradients of `sum(f(x, w, b) * probe)`.
fn gradients(
    f: impl Fn(Tensor<4>, Tensor<4>, Tensor<1>) -> Tensor<4>,
    x: &Tensor<4>,
    w: &Tensor<4>,
    b: &Tensor<1>,
    probe: &Tensor<4>,
) -> (Vec<f32>, Vec<f32>, Vec<f32>, Vec<f32>) {
    let x = x.clone().autodiff().require_grad();
    let w = w.clone().autodiff().require_grad();
    let b = b.clone().autodiff().require_grad();
    let y = f(x.clone(), w.clone(), b.clone());
    let output = values(y.clone().inner());
    let grads = y.mul(probe.clone().autodiff()).sum().backward();
    (
        output,
        values(x.grad(&grads).unwrap()),
        values(w.grad(&grads).unwrap()),
        values(b.grad(&grads).unwrap()),
    )
}

fn assert_close(ours: &[f32], reference: &[f32], what: &str) {
    let error = relative_error(ours, reference);
    assert!(error < 1e-5, "{what}: relative error {error:.2e}");
}

#[test]
fn convolution_matches_burn_forward_and_backward() {
    let device = Device::flex();
    // One output channel (the PatchGAN's head) takes the direct path instead of the GEMM.
    let cases = [(4, 2, 1, 16), (4, 1, 1, 9), (1, 1, 0, 7), (4, 2, 1, 2)];
    for ((kernel, stride, padding, size), out_channels) in
        cases.iter().flat_map(|&c| [(c, 5), (c, 1)])
    {
        let x = random([2, 3, size, size + 2], &device);
        let w = random([out_channels, 3, kernel, kernel], &device);
        let b = random([out_channels], &device);
        let options = ConvOptions::new([stride; 2], [padding; 2], [1, 1], 1);
        let probe = random(
            burn_conv2d(x.clone(), w.clone(), None, options.clone()).dims(),
            &device,
        );
        let ours = gradients(
            |x, w, b| conv2d(x, w, Some(b), stride, padding),
            &x,
            &w,
            &b,
            &probe,
        );
        let reference = gradients(
            |x, w, b| burn_conv2d(x, w, Some(b), options.clone()),
            &x,
            &w,
            &b,
            &probe,
        );
        let case = format!("k{kernel} s{stride} p{padding} {size}px {out_channels} out");
        assert_close(&ours.0, &reference.0, &format!("{case} output"));
        assert_close(&ours.1, &reference.1, &format!("{case} input gradient"));
        assert_close(&ours.2, &reference.2, &format!("{case} weight gradient"));
        assert_close(&ours.3, &reference.3, &format!("{case} bias gradient"));
    }
}

#[test]
fn transposed_convolution_matches_burn_forward_and_backward() {
    let device = Device::flex();
    for (size, batch) in [(8, 1), (5, 2), (1, 1)] {
        let x = random([batch, 6, size, size + 1], &device);
        let w = random([6, 4, 4, 4], &device);
        let b = random([4], &device);
        let options = ConvTransposeOptions::new([2, 2], [1, 1], [0, 0], [1, 1], 1);
        let out = burn_conv_transpose2d(x.clone(), w.clone(), None, options.clone());
        assert_eq!(out.dims(), [batch, 4, 2 * size, 2 * size + 2]);
        let probe = random(out.dims(), &device);
        let ours = gradients(
            |x, w, b| conv_transpose2d(x, w, Some(b), 2, 1),
            &x,
            &w,
            &b,
            &probe,
        );
        let reference = gradients(
            |x, w, b| burn_conv_transpose2d(x, w, Some(b), options.clone()),
            &x,
            &w,
            &b,
            &probe,
        );
        let case = format!("{batch}x{size}px");
        assert_close(&ours.0, &reference.0, &format!("{case} output"));
        assert_close(&ours.1, &reference.1, &format!("{case} input gradient"));
        assert_close(&ours.2, &reference.2, &format!("{case} weight gradient"));
        assert_close(&ours.3, &reference.3, &format!("{case} bias gradient"));
    }
}

/// Output and input gradient of `sum(f(x) * probe)`.
fn activation_gradients(
    f: impl Fn(Tensor<4>) -> Tensor<4>,
    x: &Tensor<4>,
    probe: &Tensor<4>,
) -> (Vec<f32>, Vec<f32>) {
    let x = x.clone().autodiff().require_grad();
    let y = f(x.clone());
    let output = values(y.clone().inner());
    let grads = y.mul(probe.clone().autodiff()).sum().backward();
    (output, values(x.grad(&grads).unwrap()))
}

#[test]
fn leaky_relu_and_relu_match_pytorch_forward_and_backward_including_at_zero() {
    let device = Device::flex();
    // Values in [-1, 1] with exact zeros (what dropout leaves before the up path's ReLU), and a
    // strided view, which the kernel must read through.
    let x = random([2, 3, 37, 41], &device)
        .mul_scalar(2.0)
        .sub_scalar(1.0)
        .mask_fill(random([2, 3, 37, 41], &device).lower_elem(0.2), 0.0)
        .swap_dims(2, 3);
    let probe = random(x.dims(), &device);
    let x_values = values(x.clone());
    let probe_values = values(probe.clone());
    for slope in [0.2f32, 0.0] {
        let (output, grad) = if slope == 0.0 {
            activation_gradients(pix2pix_studio::platform::kernels::relu, &x, &probe)
        } else {
            activation_gradients(
                |x| pix2pix_studio::platform::kernels::leaky_relu(x, f64::from(slope)),
                &x,
                &probe,
            )
        };
        // PyTorch: y = x > 0 ? x : slope·x; dx = x > 0 ? dy : slope·dy (0 at x = 0 for ReLU).
        for (index, &v) in x_values.iter().enumerate() {
            let factor = if v > 0.0 { 1.0 } else { slope };
            assert_eq!(output[index], v * factor, "slope {slope}: y at {index}");
            assert_eq!(
                grad[index],
                probe_values[index] * factor,
                "slope {slope}: dx at {index}"
            );
        }
        assert!(x_values.contains(&0.0), "the input has exact zeros");
    }
}

/// Output, mean, variance and the gradients of x, gamma and beta of `sum(bn(x) * probe)`.
fn batch_norm_results(
    f: impl Fn(Tensor<4>, Tensor<1>, Tensor<1>, f64) -> burn::tensor::module::BatchNormTrainOutput<4>,
    x: &Tensor<4>,
    gamma: &Tensor<1>,
    beta: &Tensor<1>,
    probe: &Tensor<4>,
) -> [Vec<f32>; 6] {
    let x = x.clone().autodiff().require_grad();
    let gamma = gamma.clone().autodiff().require_grad();
    let beta = beta.clone().autodiff().require_grad();
    let result = f(x.clone(), gamma.clone(), beta.clone(), 1e-5);
    let output = values(result.output.clone().inner());
    let grads = result.output.mul(probe.clone().autodiff()).sum().backward();
    [
        output,
        values(result.mean.inner()),
        values(result.variance.inner()),
        values(x.grad(&grads).unwrap()),
        values(gamma.grad(&grads).unwrap()),
        values(beta.grad(&grads).unwrap()),
    ]
}

#[test]
fn batch_norm_matches_burn_forward_and_backward() {
    let device = Device::flex();
    // Planes that leave a remainder after the 16-lane blocks, whole blocks at batch 1, the inner
    // layers' small planes (many channels to a task), and a strided view.
    let shapes = [[2, 3, 5, 7], [1, 8, 16, 16], [2, 40, 2, 2], [3, 6, 9, 4]];
    for (index, shape) in shapes.into_iter().enumerate() {
        let x = random(shape, &device).mul_scalar(4.0).sub_scalar(1.0);
        let x = if index == 3 { x.swap_dims(2, 3) } else { x };
        let channels = shape[1];
        let gamma = random([channels], &device).add_scalar(0.5);
        let beta = random([channels], &device);
        let probe = random(x.dims(), &device);
        let ours = batch_norm_results(
            pix2pix_studio::platform::kernels::batch_norm_train,
            &x,
            &gamma,
            &beta,
            &probe,
        );
        let reference = batch_norm_results(
            burn::tensor::module::batch_norm_train,
            &x,
            &gamma,
            &beta,
            &probe,
        );
        let names = [
            "output",
            "mean",
            "variance",
            "x gradient",
            "gamma gradient",
            "beta gradient",
        ];
        for ((ours, reference), name) in ours.iter().zip(&reference).zip(names) {
            assert_close(ours, reference, &format!("{shape:?} {name}"));
        }
    }
}

#[test]
fn a_profile_recording_names_each_product_with_its_layer_shape() {
    use pix2pix_studio::platform::profile::{Kind, Operation, Recording};

    let device = Device::flex();
    let x = random([1, 3, 16, 18], &device);
    let w = random([5, 3, 4, 4], &device);
    let b = random([5], &device);
    let probe = random([1, 5, 8, 9], &device);
    let recording = Recording::start();
    gradients(|x, w, b| conv2d(x, w, Some(b), 2, 1), &x, &w, &b, &probe);
    let entries = recording.finish();
    let shape = [3, 5, 16, 18, 4, 2, 1];
    for kind in [Kind::Conv, Kind::ConvAdjoint, Kind::WeightGrad] {
        let entry = entries
            .iter()
            .find(|entry| entry.operation == Operation::conv(kind, shape))
            .unwrap_or_else(|| panic!("no {kind:?} entry in {entries:?}"));
        assert!(entry.totals.calls >= 1 && entry.totals.secs > 0.0);
    }
}
